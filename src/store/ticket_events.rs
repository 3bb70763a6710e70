//! What employees do to a ticket besides writing to the customer: status changes, assignments,
//! transfers, notes, intent corrections, replies. Each action changes the ticket and writes its
//! `ticket_events` row in one transaction. Also who is on a ticket right now (presence), the
//! predefined message that starts a reply, and the attachments an employee's reply carries.
//!
//! Every function takes the shop and filters on it: an employee of one shop never reaches a
//! ticket of another (it is "not found", exactly like a ticket that does not exist).

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use super::{Dialect, Result, Store, StoreError, now_ms};
use crate::model::{Status, UiLang};

/// An employee as an event remembers them: id, and name at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeRef {
    pub id: i64,
    pub name: String,
}

/// One entry of a ticket's timeline. The `kind` column holds the variant's name, the `detail`
/// column the JSON of its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TicketEvent {
    StatusChanged {
        from: Status,
        to: Status,
    },
    /// Assigned to an employee, or unassigned (`to` None).
    Assigned {
        to: Option<EmployeeRef>,
    },
    /// Handed to a colleague, who was told by email.
    Transferred {
        to: EmployeeRef,
        comment: String,
    },
    /// The conversation sent to someone outside the shop's team.
    TransferredOut {
        to: String,
        comment: String,
    },
    /// A private note: never emailed.
    Note {
        text: String,
    },
    IntentCorrected {
        from: Option<String>,
        to: String,
    },
    /// An employee's reply (the outbox row).
    Replied {
        reply_id: i64,
    },
}

/// The names the `kind` column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    StatusChanged,
    Assigned,
    Transferred,
    TransferredOut,
    Note,
    IntentCorrected,
    Replied,
}

/// What an employee is doing on a ticket right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Viewing,
    Replying,
}

crate::serde_names!(EventKind, Activity);

impl TicketEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            TicketEvent::StatusChanged { .. } => EventKind::StatusChanged,
            TicketEvent::Assigned { .. } => EventKind::Assigned,
            TicketEvent::Transferred { .. } => EventKind::Transferred,
            TicketEvent::TransferredOut { .. } => EventKind::TransferredOut,
            TicketEvent::Note { .. } => EventKind::Note,
            TicketEvent::IntentCorrected { .. } => EventKind::IntentCorrected,
            TicketEvent::Replied { .. } => EventKind::Replied,
        }
    }

    /// The `detail` column: the variant's fields, without the kind.
    fn detail(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.remove("kind");
        }
        value.to_string()
    }

    /// Back from the two columns of row `id`.
    fn decode(id: i64, kind: &str, detail: &str) -> Result<TicketEvent> {
        let kind: EventKind = super::decode_name(kind.to_string(), "kind", "ticket_events", id)?;
        let mut value: serde_json::Value =
            super::decode_json("ticket_events", id, "detail", detail)?;
        match value.as_object_mut() {
            Some(object) => {
                object.insert("kind".into(), kind.to_string().into());
            }
            None => {
                return Err(StoreError::Corrupt {
                    table: "ticket_events",
                    id,
                    column: "detail",
                    reason: "not a JSON object".into(),
                });
            }
        }
        serde_json::from_value(value).map_err(|e| StoreError::Corrupt {
            table: "ticket_events",
            id,
            column: "detail",
            reason: e.to_string(),
        })
    }
}

/// An event as read back, with who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub id: i64,
    pub at: i64,
    pub employee_id: Option<i64>,
    /// The employee's current name; None when done by Guichet or by an employee since removed.
    pub employee_name: Option<String>,
    pub event: TicketEvent,
}

/// A ticket's state as actions need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketState {
    pub id: i64,
    pub number: i64,
    pub status: Status,
    pub assignee_id: Option<i64>,
    pub intent: Option<String>,
    pub customer_email: String,
}

/// An employee of the shop, as actions need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colleague {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub lang: UiLang,
}

/// An attachment to send with an employee's reply; its bytes are in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyAttachment {
    pub blob_hash: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// How long a presence lasts unless the page renews it.
pub const PRESENCE_MS: i64 = 60_000;

fn not_found_ticket(number: i64) -> StoreError {
    StoreError::NotFound(format!("ticket {number}"))
}

fn not_found_employee(id: i64) -> StoreError {
    StoreError::NotFound(format!("employee {id}"))
}

/// Reads the ticket `number` of the shop, locked for the transaction on PostgreSQL (SQLite's
/// `BEGIN IMMEDIATE` already holds the write lock).
async fn lock_ticket(
    tx: &mut Transaction<'static, Any>,
    dialect: Dialect,
    shop_id: i64,
    number: i64,
) -> Result<TicketState> {
    let sql = match dialect {
        Dialect::Sqlite => {
            "SELECT id, number, status, assignee_id, intent, customer_email FROM tickets WHERE shop_id = $1 AND number = $2"
        }
        Dialect::Postgres => {
            "SELECT id, number, status, assignee_id, intent, customer_email FROM tickets WHERE shop_id = $1 AND number = $2 FOR UPDATE"
        }
    };
    let row = sqlx::query(sql)
        .bind(shop_id)
        .bind(number)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| not_found_ticket(number))?;
    ticket_state(&row)
}

fn ticket_state(row: &sqlx::any::AnyRow) -> Result<TicketState> {
    let number: i64 = row.try_get("number")?;
    Ok(TicketState {
        id: row.try_get("id")?,
        number,
        status: super::decode_column(row, "status", "ticket", number)?,
        assignee_id: row.try_get("assignee_id")?,
        intent: row.try_get("intent")?,
        customer_email: row.try_get("customer_email")?,
    })
}

async fn colleague_in(
    conn: &mut sqlx::AnyConnection,
    shop_id: i64,
    employee_id: i64,
) -> Result<Colleague> {
    let row =
        sqlx::query("SELECT id, name, email, lang FROM employees WHERE id = $1 AND shop_id = $2")
            .bind(employee_id)
            .bind(shop_id)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| not_found_employee(employee_id))?;
    Ok(Colleague {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        lang: super::decode_column(&row, "lang", "employee", employee_id)?,
    })
}

async fn insert_event(
    tx: &mut Transaction<'static, Any>,
    shop_id: i64,
    ticket_id: i64,
    employee_id: Option<i64>,
    event: &TicketEvent,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ticket_events (shop_id, ticket_id, employee_id, kind, detail, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(shop_id)
    .bind(ticket_id)
    .bind(employee_id)
    .bind(event.kind().to_string())
    .bind(event.detail())
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the assignee (id and the name shown in lists) of a locked ticket.
async fn set_assignee(
    tx: &mut Transaction<'static, Any>,
    ticket_id: i64,
    assignee: Option<&Colleague>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET assignee_id = $1, assignee = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(assignee.map(|a| a.id))
    .bind(assignee.map(|a| a.name.clone()))
    .bind(now)
    .bind(ticket_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The ticket's state, if the shop has that ticket.
    pub async fn ticket_state(&self, shop_id: i64, number: i64) -> Result<TicketState> {
        let row = sqlx::query(
            "SELECT id, number, status, assignee_id, intent, customer_email FROM tickets WHERE shop_id = $1 AND number = $2",
        )
        .bind(shop_id)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| not_found_ticket(number))?;
        ticket_state(&row)
    }

    /// The shop's employee `employee_id`; not found when they belong to another shop.
    pub async fn colleague(&self, shop_id: i64, employee_id: i64) -> Result<Colleague> {
        let mut conn = self.pool.acquire().await?;
        colleague_in(&mut conn, shop_id, employee_id).await
    }

    /// Sets the status of each ticket, all or none: a number the shop does not have fails the
    /// whole call. Each change is recorded with who made it; a ticket already in that status
    /// is left as it is. Closing cancels the ticket's scheduled automatic answers. Returns the
    /// tickets that changed.
    pub async fn change_status(
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
            let ticket = lock_ticket(&mut tx, self.dialect, shop_id, number).await?;
            if ticket.status == status {
                continue;
            }
            super::tickets::set_status_in(&mut tx, shop_id, number, status, now).await?;
            insert_event(
                &mut tx,
                shop_id,
                ticket.id,
                Some(employee_id),
                &TicketEvent::StatusChanged {
                    from: ticket.status,
                    to: status,
                },
                now,
            )
            .await?;
            changed.push(number);
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Assigns each ticket to `assignee` (an employee of the same shop), or unassigns it; all
    /// or none. Returns the tickets whose assignee changed.
    pub async fn assign(
        &self,
        shop_id: i64,
        employee_id: i64,
        numbers: &[i64],
        assignee: Option<i64>,
    ) -> Result<Vec<i64>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let assignee = match assignee {
            Some(id) => Some(colleague_in(&mut tx, shop_id, id).await?),
            None => None,
        };
        let mut changed = Vec::new();
        for &number in numbers {
            let ticket = lock_ticket(&mut tx, self.dialect, shop_id, number).await?;
            if ticket.assignee_id == assignee.as_ref().map(|a| a.id) {
                continue;
            }
            set_assignee(&mut tx, ticket.id, assignee.as_ref(), now).await?;
            let to = assignee.as_ref().map(|a| EmployeeRef {
                id: a.id,
                name: a.name.clone(),
            });
            insert_event(
                &mut tx,
                shop_id,
                ticket.id,
                Some(employee_id),
                &TicketEvent::Assigned { to },
                now,
            )
            .await?;
            changed.push(number);
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Gives the ticket to a colleague with a comment; returns the colleague (to tell them).
    pub async fn transfer(
        &self,
        shop_id: i64,
        employee_id: i64,
        number: i64,
        to_employee_id: i64,
        comment: &str,
    ) -> Result<Colleague> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let colleague = colleague_in(&mut tx, shop_id, to_employee_id).await?;
        let ticket = lock_ticket(&mut tx, self.dialect, shop_id, number).await?;
        set_assignee(&mut tx, ticket.id, Some(&colleague), now).await?;
        insert_event(
            &mut tx,
            shop_id,
            ticket.id,
            Some(employee_id),
            &TicketEvent::Transferred {
                to: EmployeeRef {
                    id: colleague.id,
                    name: colleague.name.clone(),
                },
                comment: comment.to_string(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(colleague)
    }

    /// Records an event that changes nothing else on the ticket (a note, a transfer out, an
    /// intent correction); the ticket counts as updated.
    pub async fn record_event(
        &self,
        shop_id: i64,
        employee_id: i64,
        number: i64,
        event: &TicketEvent,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let ticket = lock_ticket(&mut tx, self.dialect, shop_id, number).await?;
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(ticket.id)
            .execute(&mut *tx)
            .await?;
        insert_event(&mut tx, shop_id, ticket.id, Some(employee_id), event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The ticket's events, oldest first.
    pub async fn ticket_events(&self, shop_id: i64, number: i64) -> Result<Vec<EventView>> {
        let ticket = self.ticket_state(shop_id, number).await?;
        let rows = sqlx::query(
            "SELECT ev.id, ev.at, ev.employee_id, e.name, ev.kind, ev.detail FROM ticket_events ev \
             LEFT JOIN employees e ON e.id = ev.employee_id WHERE ev.ticket_id = $1 AND ev.shop_id = $2 ORDER BY ev.at, ev.id",
        )
        .bind(ticket.id)
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let kind: String = row.try_get("kind")?;
                let detail: String = row.try_get("detail")?;
                Ok(EventView {
                    id,
                    at: row.try_get("at")?,
                    employee_id: row.try_get("employee_id")?,
                    employee_name: row.try_get("name")?,
                    event: TicketEvent::decode(id, &kind, &detail)?,
                })
            })
            .collect()
    }

    /// When each of the ticket's outbox rows was created and last changed: (id, created,
    /// updated), for the timeline.
    pub async fn outbox_times(&self, shop_id: i64, ticket_id: i64) -> Result<Vec<(i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT id, created_at, updated_at FROM outbox WHERE shop_id = $1 AND ticket_id = $2",
        )
        .bind(shop_id)
        .bind(ticket_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("created_at")?,
                    r.try_get("updated_at")?,
                ))
            })
            .collect()
    }

    /// Says that the employee is on the ticket, for [`PRESENCE_MS`] from now.
    pub async fn touch_presence(
        &self,
        shop_id: i64,
        employee_id: i64,
        number: i64,
        activity: Activity,
    ) -> Result<()> {
        let ticket = self.ticket_state(shop_id, number).await?;
        let mut conn = self.pool.acquire().await?;
        colleague_in(&mut conn, shop_id, employee_id).await?;
        sqlx::query(
            "INSERT INTO ticket_presence (ticket_id, employee_id, activity, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ticket_id, employee_id) DO UPDATE SET activity = excluded.activity, expires_at = excluded.expires_at",
        )
        .bind(ticket.id)
        .bind(employee_id)
        .bind(activity.to_string())
        .bind(now_ms() + PRESENCE_MS)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Who else is on the ticket now: (name, activity), by name.
    pub async fn presence(
        &self,
        shop_id: i64,
        employee_id: i64,
        number: i64,
    ) -> Result<Vec<(String, Activity)>> {
        let ticket = self.ticket_state(shop_id, number).await?;
        let rows = sqlx::query(
            "SELECT e.id, e.name, p.activity FROM ticket_presence p JOIN employees e ON e.id = p.employee_id \
             WHERE p.ticket_id = $1 AND e.shop_id = $2 AND p.employee_id <> $3 AND p.expires_at > $4 ORDER BY e.name, e.id",
        )
        .bind(ticket.id)
        .bind(shop_id)
        .bind(employee_id)
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                Ok((
                    row.try_get("name")?,
                    super::decode_column(row, "activity", "ticket_presence", id)?,
                ))
            })
            .collect()
    }

    /// The shop's own predefined message in `lang`, if it wrote one.
    pub async fn predefined_message(&self, shop_id: i64, lang: UiLang) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT body FROM predefined_messages WHERE shop_id = $1 AND lang = $2")
                .bind(shop_id)
                .bind(lang.code())
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get("body"))
                .transpose()?,
        )
    }

    /// Saves the shop's predefined message in `lang`; None goes back to the default.
    pub async fn set_predefined_message(
        &self,
        shop_id: i64,
        lang: UiLang,
        body: Option<&str>,
    ) -> Result<()> {
        let query = match body {
            Some(body) => sqlx::query(
                "INSERT INTO predefined_messages (shop_id, lang, body, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (shop_id, lang) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            )
            .bind(shop_id)
            .bind(lang.code())
            .bind(body.to_string())
            .bind(now_ms()),
            None => sqlx::query("DELETE FROM predefined_messages WHERE shop_id = $1 AND lang = $2")
                .bind(shop_id)
                .bind(lang.code()),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// The tickets before and after `number` in the list's default order (most recently
    /// updated first): (previous, next). Two index lookups, whatever the number of tickets.
    pub async fn neighbour_tickets(
        &self,
        shop_id: i64,
        number: i64,
    ) -> Result<(Option<i64>, Option<i64>)> {
        let row = sqlx::query("SELECT updated_at FROM tickets WHERE shop_id = $1 AND number = $2")
            .bind(shop_id)
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| not_found_ticket(number))?;
        let updated: i64 = row.try_get("updated_at")?;
        // The plain bound on `updated_at` is what lets both dialects start the index scan at
        // this ticket; the OR alone made PostgreSQL read the shop's tickets up to it.
        let neighbour = |sql: &'static str| {
            sqlx::query(sql)
                .bind(shop_id)
                .bind(updated)
                .bind(number)
                .fetch_optional(&self.pool)
        };
        let previous = neighbour(
            "SELECT number FROM tickets WHERE shop_id = $1 AND updated_at >= $2 AND (updated_at > $2 OR number > $3) \
             ORDER BY updated_at, number LIMIT 1",
        )
        .await?;
        let next = neighbour(
            "SELECT number FROM tickets WHERE shop_id = $1 AND updated_at <= $2 AND (updated_at < $2 OR number < $3) \
             ORDER BY updated_at DESC, number DESC LIMIT 1",
        )
        .await?;
        Ok((
            previous.map(|r| r.try_get("number")).transpose()?,
            next.map(|r| r.try_get("number")).transpose()?,
        ))
    }

    /// The customer's tickets in the shop, newest first.
    pub async fn customer_tickets(
        &self,
        shop_id: i64,
        email: &str,
    ) -> Result<Vec<super::TicketView>> {
        let sql = format!(
            "SELECT {} FROM tickets t JOIN shops s ON s.id = t.shop_id LEFT JOIN contacts c ON c.id = t.contact_id \
             WHERE t.shop_id = $1 AND LOWER(t.customer_email) = $2 ORDER BY t.created_at DESC, t.number DESC",
            super::tickets::TICKET_COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(email.trim().to_lowercase())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| super::tickets::ticket_from_row(r).map(|(_, view)| view))
            .collect()
    }

    /// The latest `limit` messages of the customer's tickets, oldest first: (time, ticket
    /// number, subject, whether the customer wrote it).
    pub async fn customer_messages(
        &self,
        shop_id: i64,
        email: &str,
        limit: i64,
    ) -> Result<Vec<(i64, i64, String, bool)>> {
        let rows = sqlx::query(
            // The customer's few tickets first, then their messages: CROSS JOIN keeps SQLite
            // from walking every message of the shop by date until it has found `limit`.
            "SELECT m.received_at, t.number, m.subject, m.direction FROM tickets t CROSS JOIN messages m \
             WHERE m.ticket_id = t.id AND t.shop_id = $1 AND LOWER(t.customer_email) = $2 \
             ORDER BY m.received_at DESC, m.id DESC LIMIT $3",
        )
        .bind(shop_id)
        .bind(email.trim().to_lowercase())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut messages = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("received_at")?,
                    r.try_get("number")?,
                    r.try_get("subject")?,
                    r.try_get::<String, _>("direction")? == "in",
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// The attachments queued with an outbox row, in the order given.
    pub async fn reply_attachments(&self, reply_id: i64) -> Result<Vec<ReplyAttachment>> {
        let rows = sqlx::query(
            "SELECT blob_hash, filename, content_type, size FROM outbox_attachments WHERE outbox_id = $1 ORDER BY id",
        )
        .bind(reply_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReplyAttachment {
                    blob_hash: row.try_get("blob_hash")?,
                    filename: row.try_get("filename")?,
                    content_type: row.try_get("content_type")?,
                    size: row.try_get("size")?,
                })
            })
            .collect()
    }
}

/// In the transaction that queues an employee's reply: its attachments, the `replied` event,
/// and the ticket taken by the replier when nobody had it.
pub(super) async fn record_employee_reply(
    tx: &mut Transaction<'static, Any>,
    shop_id: i64,
    ticket_id: i64,
    reply_id: i64,
    employee_id: Option<i64>,
    attachments: &[ReplyAttachment],
    now: i64,
) -> Result<()> {
    for attachment in attachments {
        sqlx::query(
            "INSERT INTO outbox_attachments (outbox_id, blob_hash, filename, content_type, size) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(reply_id)
        .bind(&attachment.blob_hash)
        .bind(&attachment.filename)
        .bind(&attachment.content_type)
        .bind(attachment.size)
        .execute(&mut **tx)
        .await?;
    }
    let Some(employee_id) = employee_id else {
        return Ok(());
    };
    let replier = colleague_in(tx, shop_id, employee_id).await?;
    insert_event(
        tx,
        shop_id,
        ticket_id,
        Some(employee_id),
        &TicketEvent::Replied { reply_id },
        now,
    )
    .await?;
    let taken = sqlx::query(
        "UPDATE tickets SET assignee_id = $1, assignee = $2 WHERE id = $3 AND shop_id = $4 AND assignee_id IS NULL",
    )
    .bind(replier.id)
    .bind(&replier.name)
    .bind(ticket_id)
    .bind(shop_id)
    .execute(&mut **tx)
    .await?;
    if taken.rows_affected() > 0 {
        insert_event(
            tx,
            shop_id,
            ticket_id,
            Some(employee_id),
            &TicketEvent::Assigned {
                to: Some(EmployeeRef {
                    id: replier.id,
                    name: replier.name,
                }),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_two_columns() {
        let events = [
            TicketEvent::StatusChanged {
                from: Status::Open,
                to: Status::Closed,
            },
            TicketEvent::Assigned { to: None },
            TicketEvent::Assigned {
                to: Some(EmployeeRef {
                    id: 3,
                    name: "Julie".into(),
                }),
            },
            TicketEvent::Transferred {
                to: EmployeeRef {
                    id: 4,
                    name: "Paul".into(),
                },
                comment: "il connaît ce client".into(),
            },
            TicketEvent::TransferredOut {
                to: "compta@example.com".into(),
                comment: "facture".into(),
            },
            TicketEvent::Note {
                text: "rappeler demain".into(),
            },
            TicketEvent::IntentCorrected {
                from: Some("other".into()),
                to: "refund".into(),
            },
            TicketEvent::Replied { reply_id: 12 },
        ];
        for event in events {
            let kind = event.kind().to_string();
            let detail = event.detail();
            assert!(!detail.contains("\"kind\""), "{detail}");
            assert_eq!(TicketEvent::decode(1, &kind, &detail).unwrap(), event);
        }
        assert_eq!(
            TicketEvent::Replied { reply_id: 1 }.kind().to_string(),
            "replied"
        );
        assert!(matches!(
            TicketEvent::decode(7, "exploded", "{}"),
            Err(StoreError::UnknownValue { .. })
        ));
        assert!(matches!(
            TicketEvent::decode(7, "note", "[]"),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!("replying".parse::<Activity>(), Ok(Activity::Replying));
    }
}
