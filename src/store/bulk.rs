//! Status changes and assignments of several tickets at once, each recorded in the ticket's
//! timeline with who did it, all in one transaction.
//!
//! A minimal version for the ticket list's bulk actions; the ticket actions (`desk::actions`)
//! bring the full one with the same desk signatures: this file then goes.

use sqlx::Row;

use super::{Result, Store, StoreError, now_ms};
use crate::model::Status;

impl Store {
    /// Sets the status of the shop's tickets `numbers` (all, or none when one is not the
    /// shop's); returns those that changed. Closing cancels their scheduled automatic answers.
    pub async fn bulk_status(
        &self,
        shop_id: i64,
        employee_id: i64,
        numbers: &[i64],
        status: Status,
    ) -> Result<Vec<i64>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let mut changed = Vec::new();
        for &number in numbers {
            let row =
                sqlx::query("SELECT id, status FROM tickets WHERE shop_id = $1 AND number = $2")
                    .bind(shop_id)
                    .bind(number)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("ticket {number}")))?;
            let id: i64 = row.try_get("id")?;
            let from: Status = super::decode_column(&row, "status", "ticket", number)?;
            if from == status {
                continue;
            }
            sqlx::query("UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status.to_string())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if status == Status::Closed {
                sqlx::query(
                    "UPDATE outbox SET state = 'cancelled', last_error = $1, updated_at = $2 \
                     WHERE state = 'scheduled' AND ticket_id = $3",
                )
                .bind("ticket closed")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            let detail = serde_json::json!({ "from": from, "to": status }).to_string();
            record_event(
                &mut tx,
                shop_id,
                id,
                employee_id,
                "status_changed",
                &detail,
                now,
            )
            .await?;
            changed.push(number);
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Assigns the shop's tickets `numbers` to `assignee` (an employee of the shop) or to
    /// nobody; returns those that changed.
    pub async fn bulk_assign(
        &self,
        shop_id: i64,
        employee_id: i64,
        numbers: &[i64],
        assignee: Option<i64>,
    ) -> Result<Vec<i64>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let to = match assignee {
            Some(id) => {
                let name: String =
                    sqlx::query("SELECT name FROM employees WHERE id = $1 AND shop_id = $2")
                        .bind(id)
                        .bind(shop_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("employee {id}")))?
                        .try_get("name")?;
                serde_json::json!({ "id": id, "name": name })
            }
            None => serde_json::Value::Null,
        };
        let detail = serde_json::json!({ "to": to }).to_string();
        let mut changed = Vec::new();
        for &number in numbers {
            let row = sqlx::query(
                "SELECT id, assignee_id FROM tickets WHERE shop_id = $1 AND number = $2",
            )
            .bind(shop_id)
            .bind(number)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("ticket {number}")))?;
            let id: i64 = row.try_get("id")?;
            if row.try_get::<Option<i64>, _>("assignee_id")? == assignee {
                continue;
            }
            sqlx::query("UPDATE tickets SET assignee_id = $1, updated_at = $2 WHERE id = $3")
                .bind(assignee)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            record_event(&mut tx, shop_id, id, employee_id, "assigned", &detail, now).await?;
            changed.push(number);
        }
        tx.commit().await?;
        Ok(changed)
    }
}

async fn record_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    shop_id: i64,
    ticket_id: i64,
    employee_id: i64,
    kind: &str,
    detail: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ticket_events (shop_id, ticket_id, employee_id, kind, detail, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(shop_id)
    .bind(ticket_id)
    .bind(employee_id)
    .bind(kind)
    .bind(detail)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
