//! Bulk status change and assignment from the ticket list, recorded with who did it.
//!
//! A minimal version until the ticket actions (`desk::actions`) land with the same signatures:
//! this file and `store/bulk.rs` then go.

use crate::model::Status;
use crate::store::{Shop, StoreError};

use super::{Desk, DeskError, DeskResult};

fn refusal(error: StoreError) -> DeskError {
    match error {
        StoreError::NotFound(what) => {
            let id = what
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if what.starts_with("employee") {
                DeskError::NoEmployee(id)
            } else {
                DeskError::NoTicket(id)
            }
        }
        other => other.into(),
    }
}

impl Desk {
    /// Sets the status of several tickets of the shop, all or none; returns those that changed.
    pub async fn bulk_set_status(
        &self,
        shop: &Shop,
        employee_id: i64,
        numbers: &[i64],
        status: Status,
    ) -> DeskResult<Vec<i64>> {
        self.store
            .bulk_status(shop.id, employee_id, numbers, status)
            .await
            .map_err(refusal)
    }

    /// Assigns several tickets of the shop to one of its employees, or to nobody, all or none;
    /// returns those that changed.
    pub async fn bulk_assign(
        &self,
        shop: &Shop,
        employee_id: i64,
        numbers: &[i64],
        assignee: Option<i64>,
    ) -> DeskResult<Vec<i64>> {
        self.store
            .bulk_assign(shop.id, employee_id, numbers, assignee)
            .await
            .map_err(refusal)
    }
}
