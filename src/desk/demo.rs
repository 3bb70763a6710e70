//! `guichet demo`: the demo shop with its sample mail, filed once, and what it now holds.

use crate::store::{FileOutcome, Shop, TicketView};

use super::{Desk, DeskResult};

/// What the demo filed, and the demo shop's tickets afterwards.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub shop: Shop,
    pub filed: FileOutcome,
    pub tickets: Vec<TicketView>,
}

impl Desk {
    /// Creates the demo shop (once) and files its sample mail; running it again files nothing.
    pub async fn demo(&self) -> DeskResult<DemoReport> {
        let (shop, filed) = crate::demo::load_demo(&self.store).await?;
        let tickets = self.tickets(Some(&shop)).await?;
        Ok(DemoReport {
            shop,
            filed,
            tickets,
        })
    }
}
