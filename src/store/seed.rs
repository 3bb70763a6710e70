//! Bulk loading of ready-made tickets, for benchmarks and demonstrations: tickets, their
//! messages, attachments and automatic answers go in with multi-row inserts inside one
//! transaction per call, without threading or triage. The triggers and generated columns that
//! keep search and the list's columns right run as for any message.

use std::collections::HashMap;

use sqlx::Row;

use super::tickets::IncomingAttachment;
use super::{Dialect, Result, Store};
use crate::model::{ReplyState, Status};

/// A message of a seeded ticket.
#[derive(Debug, Clone)]
pub struct SeedMessage {
    /// Ours (an employee's or an automatic answer) rather than the customer's.
    pub outgoing: bool,
    pub from_email: String,
    pub subject: String,
    pub received_at: i64,
    pub text: String,
    /// Already in the blob store.
    pub attachment: Option<IncomingAttachment>,
}

/// The automatic answer of a seeded ticket (an outbox row answering its first message).
#[derive(Debug, Clone)]
pub struct SeedReply {
    pub state: ReplyState,
    pub due_at: i64,
    pub sent_at: Option<i64>,
    pub text: String,
}

/// A ticket to load as it is; its number is the shop's next.
#[derive(Debug, Clone)]
pub struct SeedTicket {
    pub customer_email: String,
    pub customer_name: Option<String>,
    pub subject: String,
    pub contact_id: Option<i64>,
    pub language: Option<String>,
    pub intent: Option<String>,
    pub status: Status,
    pub assignee_id: Option<i64>,
    /// When an employee last opened it.
    pub seen_at: Option<i64>,
    /// At least one, oldest first.
    pub messages: Vec<SeedMessage>,
    pub auto_answer: Option<SeedReply>,
}

/// Rows per multi-row INSERT: under both dialects' limits on bound values.
const SEED_CHUNK: usize = 400;

fn markers(dialect: Dialect, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (0..width)
                .map(|c| match dialect {
                    Dialect::Sqlite => "?".to_string(),
                    Dialect::Postgres => format!("${}", r * width + c + 1),
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Loads `tickets` into the shop in one transaction; returns their numbers, in order.
    pub async fn seed_tickets(&self, shop_id: i64, tickets: &[SeedTicket]) -> Result<Vec<i64>> {
        let mut tx = self.begin_write().await?;
        let lock = match self.dialect {
            Dialect::Sqlite => "SELECT next_ticket_number FROM shops WHERE id = $1",
            Dialect::Postgres => "SELECT next_ticket_number FROM shops WHERE id = $1 FOR UPDATE",
        };
        let first: i64 = sqlx::query(lock)
            .bind(shop_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("next_ticket_number")?;
        let numbers: Vec<i64> = (first..first + tickets.len() as i64).collect();
        let mut ids: HashMap<i64, i64> = HashMap::with_capacity(tickets.len());
        const TICKET_WIDTH: usize = 16;
        for (chunk_no, chunk) in tickets.chunks(SEED_CHUNK).enumerate() {
            let sql = format!(
                "INSERT INTO tickets (shop_id, number, contact_id, customer_email, customer_name, subject, normalized_subject, \
                 status, assignee_id, message_count, created_at, updated_at, last_message_at, language, intent, seen_at) \
                 VALUES {} RETURNING id, number",
                markers(self.dialect, chunk.len(), TICKET_WIDTH)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, ticket) in chunk.iter().enumerate() {
                let created = ticket.messages.first().map_or(0, |m| m.received_at);
                let last = ticket
                    .messages
                    .iter()
                    .filter(|m| !m.outgoing)
                    .map(|m| m.received_at)
                    .max()
                    .unwrap_or(created);
                let updated = ticket
                    .messages
                    .iter()
                    .map(|m| m.received_at)
                    .max()
                    .unwrap_or(created);
                query = query
                    .bind(shop_id)
                    .bind(numbers[chunk_no * SEED_CHUNK + i])
                    .bind(ticket.contact_id)
                    .bind(ticket.customer_email.clone())
                    .bind(ticket.customer_name.clone())
                    .bind(ticket.subject.clone())
                    .bind(crate::threading::normalize_subject(&ticket.subject))
                    .bind(ticket.status.to_string())
                    .bind(ticket.assignee_id)
                    .bind(ticket.messages.len() as i64)
                    .bind(created)
                    .bind(updated)
                    .bind(last)
                    .bind(ticket.language.clone())
                    .bind(ticket.intent.clone())
                    .bind(ticket.seen_at);
            }
            for row in query.fetch_all(&mut *tx).await? {
                ids.insert(row.try_get("number")?, row.try_get("id")?);
            }
        }

        // Messages, with a key that names them so their ids can be found for attachments.
        let mut messages: Vec<(i64, String, &SeedMessage)> = Vec::new();
        for (ticket, number) in tickets.iter().zip(&numbers) {
            for (k, message) in ticket.messages.iter().enumerate() {
                messages.push((ids[number], format!("seed:{shop_id}:{number}:{k}"), message));
            }
        }
        let mut message_ids: HashMap<String, i64> = HashMap::new();
        const MESSAGE_WIDTH: usize = 12;
        for chunk in messages.chunks(SEED_CHUNK) {
            let sql = format!(
                "INSERT INTO messages (shop_id, ticket_id, dedup_key, message_id, direction, from_email, subject, date_ms, \
                 received_at, body_text, new_text, raw) VALUES {} RETURNING id, dedup_key",
                markers(self.dialect, chunk.len(), MESSAGE_WIDTH)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (ticket_id, key, message) in chunk {
                query = query
                    .bind(shop_id)
                    .bind(*ticket_id)
                    .bind(key.clone())
                    .bind(format!("{}@seed.invalid", key.replace(':', ".")))
                    .bind(if message.outgoing { "out" } else { "in" })
                    .bind(message.from_email.clone())
                    .bind(message.subject.clone())
                    .bind(message.received_at)
                    .bind(message.received_at)
                    .bind(message.text.clone())
                    .bind(message.text.clone())
                    .bind(b"seeded".to_vec());
            }
            let needs_ids = chunk.iter().any(|(_, _, m)| m.attachment.is_some());
            for row in query.fetch_all(&mut *tx).await? {
                if needs_ids {
                    message_ids.insert(row.try_get("dedup_key")?, row.try_get("id")?);
                }
            }
        }
        let attachments: Vec<(i64, &IncomingAttachment)> = messages
            .iter()
            .filter_map(|(_, key, m)| Some((*message_ids.get(key)?, m.attachment.as_ref()?)))
            .collect();
        const ATTACHMENT_WIDTH: usize = 7;
        for chunk in attachments.chunks(SEED_CHUNK) {
            let sql = format!(
                "INSERT INTO attachments (message_row_id, blob_hash, filename, content_type, content_id, inline, size) VALUES {}",
                markers(self.dialect, chunk.len(), ATTACHMENT_WIDTH)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (message_id, a) in chunk {
                query = query
                    .bind(*message_id)
                    .bind(a.blob_hash.clone())
                    .bind(a.filename.clone())
                    .bind(a.content_type.clone())
                    .bind(a.content_id.clone())
                    .bind(a.inline as i64)
                    .bind(a.size);
            }
            query.execute(&mut *tx).await?;
        }

        let replies: Vec<(i64, i64, &SeedTicket, &SeedReply)> = tickets
            .iter()
            .zip(&numbers)
            .filter_map(|(t, n)| Some((ids[n], *n, t, t.auto_answer.as_ref()?)))
            .collect();
        const REPLY_WIDTH: usize = 14;
        for chunk in replies.chunks(SEED_CHUNK) {
            let sql = format!(
                "INSERT INTO outbox (shop_id, ticket_id, kind, intent, lang, state, due_at, to_email, subject, body_text, \
                 message_id, created_at, updated_at, sent_at) VALUES {}",
                markers(self.dialect, chunk.len(), REPLY_WIDTH)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (ticket_id, number, ticket, reply) in chunk {
                let created = ticket.messages.first().map_or(0, |m| m.received_at);
                query = query
                    .bind(shop_id)
                    .bind(*ticket_id)
                    .bind("answer")
                    .bind(ticket.intent.clone())
                    .bind(ticket.language.clone().unwrap_or_else(|| "fr".into()))
                    .bind(reply.state.to_string())
                    .bind(reply.due_at)
                    .bind(ticket.customer_email.clone())
                    .bind(format!("Re: {} [{number}]", ticket.subject))
                    .bind(reply.text.clone())
                    .bind(format!("answer.{shop_id}.{number}@seed.invalid"))
                    .bind(created)
                    .bind(created)
                    .bind(reply.sent_at);
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE shops SET next_ticket_number = $1 WHERE id = $2")
            .bind(first + tickets.len() as i64)
            .bind(shop_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(numbers)
    }

    /// How many messages the shop holds (what a load put in, when the shop is reused).
    pub async fn count_messages(&self, shop_id: i64) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE shop_id = $1")
                .bind(shop_id)
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?,
        )
    }

    /// Refreshes the query planner's statistics after a bulk load (on PostgreSQL, also clears
    /// the row versions the load's updates left behind).
    pub async fn analyze(&self) -> Result<()> {
        let sql = match self.dialect {
            Dialect::Sqlite => "ANALYZE",
            Dialect::Postgres => "VACUUM ANALYZE",
        };
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }
}
