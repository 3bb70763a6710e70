//! `guichet demo`: the demo shop with its sample mail and orders, filed once, answers decided
//! in shadow mode, and an administrator to sign in to the back office with.

use secrecy::SecretString;

use crate::answering::plan::plan_shop;
use crate::replies::Mode;
use crate::store::{FileOutcome, Shop, TicketView};

use super::employees::EmployeeInput;
use super::settings::SettingsChange;
use super::{Desk, DeskError, DeskResult};

/// The demo administrator's address; the password is new at each `guichet demo`.
pub const DEMO_ADMIN: &str = "admin@boutique.example";

/// Orders the sample mail speaks of, in the CSV format `guichet orders import` reads.
const DEMO_ORDERS: &str = "reference,customer_email,status,ordered_at,items,carrier,tracking_number\n\
XKBKNABJK,marie.dupont@client.example,shipped,2026-11-09,1 x Théière en fonte,Colissimo,6A12345678901\n\
1047,john.smith@client.example,delivered,2026-11-10,2 x Blue mug,Royal Mail,RM123456789GB\n\
1049,paul.durand@client.example,delivered,2026-11-12,1 x Vase,Colissimo,6A10987654321\n\
1051,renee.martin@client.example,paid,2026-11-14,3 x Bol,,\n\
1052,emma.brown@client.example,paid,2026-11-18,1 x Teapot; 4 x Cup,,\n";

/// What the demo filed, and the demo shop's tickets afterwards.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub shop: Shop,
    pub filed: FileOutcome,
    pub orders: usize,
    /// Answers decided (in shadow mode: recorded, never sent).
    pub shadow_answers: u64,
    pub tickets: Vec<TicketView>,
    pub admin_email: String,
    pub admin_password: SecretString,
}

impl Desk {
    /// Creates the demo shop (once) and files its sample mail and orders (running it again
    /// files nothing new), decides answers in shadow mode, and gives the demo administrator
    /// a fresh password.
    pub async fn demo(&self) -> DeskResult<DemoReport> {
        let shop = crate::demo::demo_shop(&self.store).await?;
        // Shadow mode before the mail arrives, so the sample mail is answered (on paper).
        let shadow = SettingsChange {
            auto_answers: Some(Mode::Shadow),
            ..SettingsChange::default()
        };
        self.change_settings(&shop, &shadow).await?;
        let orders = self
            .import_orders(&shop, DEMO_ORDERS.as_bytes())
            .await?
            .imported;
        let filed = crate::demo::file_samples(&self.store, &shop).await?;
        let planned = plan_shop(&self.shop_data(), shop.id, self.lang).await?;
        let admin_password = SecretString::from(fresh_password());
        match self.employee_by_email(DEMO_ADMIN).await {
            Ok(admin) => {
                self.reset_password(&shop, admin.id, &admin_password)
                    .await?;
            }
            Err(DeskError::NoEmployeeNamed(_)) => {
                let input = EmployeeInput {
                    email: DEMO_ADMIN.into(),
                    name: Some("Admin".into()),
                    admin: true,
                    lang: self.lang,
                    password: admin_password.clone(),
                };
                self.add_employee(&shop, input).await?;
            }
            Err(other) => return Err(other),
        }
        let tickets = self.tickets(Some(&shop)).await?;
        Ok(DemoReport {
            shop,
            filed,
            orders,
            shadow_answers: planned.shadow,
            tickets,
            admin_email: DEMO_ADMIN.into(),
            admin_password,
        })
    }
}

/// Sixteen letters and digits from the OS's generator, without look-alikes (0/O, 1/l/I).
fn fresh_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
