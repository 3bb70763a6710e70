//! Filing messages into tickets (exactly once, with the IMAP checkpoint in the same
//! transaction), reading tickets back, and deleting them with everything they own.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use super::mailboxes::{FolderPosition, extend_mailbox_lease_in};
use super::{Dialect, Result, Store, StoreError, decode_optional_json, now_ms};
use crate::intake::parse::{AutomationHeaders, ParsedMessage};
use crate::model::Status;
use crate::threading::{self, Evidence, Placement, TaggedTicket};
use crate::triage::Triage;
use crate::triage::facts::mask_ibans;

/// An attachment whose content is already in the blob store.
#[derive(Debug, Clone)]
pub struct IncomingAttachment {
    pub blob_hash: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub content_id: Option<String>,
    pub inline: bool,
    pub size: i64,
}

/// A parsed message ready to be filed.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// `mid:<Message-ID>`, or `sha256:<hash of the raw bytes>` when there is no Message-ID.
    pub dedup_key: String,
    /// The parse, without attachment bytes (those are in `attachments`).
    pub parsed: ParsedMessage,
    pub attachments: Vec<IncomingAttachment>,
    pub raw: Vec<u8>,
    /// Language, intent and facts of the customer's words.
    pub triage: Option<Triage>,
}

impl Incoming {
    fn intent(&self) -> Option<&str> {
        self.triage.as_ref().map(|t| t.intent.as_str())
    }

    fn lang(&self) -> Option<&str> {
        self.triage.as_ref().and_then(|t| t.lang.as_deref())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    pub new_messages: u64,
    pub new_tickets: u64,
    pub duplicates: u64,
}

impl std::ops::AddAssign for FileOutcome {
    fn add_assign(&mut self, other: Self) {
        self.new_messages += other.new_messages;
        self.new_tickets += other.new_tickets;
        self.duplicates += other.duplicates;
    }
}

/// A ticket as read back (`views::TicketJson` is its JSON shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    pub number: i64,
    pub shop: String,
    pub subject: String,
    pub customer_email: String,
    pub customer_name: Option<String>,
    pub status: Status,
    pub assignee: Option<String>,
    pub contact: Option<String>,
    pub language: Option<String>,
    /// Intent of the customer's latest message.
    pub intent: Option<String>,
    pub message_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentView {
    pub filename: Option<String>,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub inline: bool,
}

/// A message of a ticket as read back (`views::MessageJson` is its JSON shape).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    pub id: i64,
    pub message_id: Option<String>,
    pub direction: String,
    pub from: String,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    /// The Date header, in ms.
    pub date: Option<i64>,
    /// When Guichet filed it (or sent it), in ms: the order of the conversation.
    pub received_at: i64,
    pub subject: String,
    pub new_text: String,
    pub text: String,
    pub parse_error: Option<String>,
    pub attachments: Vec<AttachmentView>,
    /// Triage of a customer's message: language, intent, confidence, facts and why.
    pub triage: Option<Triage>,
    /// What automatic answering decided for a customer's message, and why.
    pub decision: Option<serde_json::Value>,
}

const UNKNOWN_SENDER: &str = "unknown@invalid";

pub(super) const TICKET_COLUMNS: &str = "t.id, t.number, s.name AS shop, t.subject, t.customer_email, t.customer_name, t.status, \
     t.assignee, c.name AS contact, t.language, t.intent, t.message_count, t.created_at, t.updated_at";

pub(super) fn ticket_from_row(row: &sqlx::any::AnyRow) -> Result<(i64, TicketView)> {
    Ok((
        row.try_get("id")?,
        TicketView {
            number: row.try_get("number")?,
            shop: row.try_get("shop")?,
            subject: row.try_get("subject")?,
            customer_email: row.try_get("customer_email")?,
            customer_name: row.try_get("customer_name")?,
            status: super::decode_column(
                row,
                "status",
                "ticket",
                row.try_get::<i64, _>("number")?,
            )?,
            assignee: row.try_get("assignee")?,
            contact: row.try_get("contact")?,
            language: row.try_get("language")?,
            intent: row.try_get("intent")?,
            message_count: row.try_get("message_count")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        },
    ))
}

impl Store {
    /// Files a batch of messages of one shop and, in the same transaction, moves the folder's
    /// checkpoint: after a crash either both happened or neither did.
    ///
    /// Filing is the import's bottleneck and every statement is a round trip, so a batch is
    /// filed in a fixed number of statements: lookups for the whole batch, threading decided in
    /// memory, then multi-row inserts.
    pub async fn file_batch(
        &self,
        shop_id: i64,
        mailbox_id: Option<i64>,
        contact_id: Option<i64>,
        position: Option<FolderPosition<'_>>,
        batch: &[Incoming],
    ) -> Result<FileOutcome> {
        let mut tx = self.begin_write().await?;
        // Fencing: a node that lost the mailbox's lease (it ran out, another node took it)
        // commits nothing; one that holds it extends it with each batch.
        if let (Some(mailbox_id), Some(position)) = (mailbox_id, &position) {
            extend_mailbox_lease_in(&mut tx, mailbox_id, position).await?;
        }
        // The shop row is locked before anything is looked up: a batch another node is filing
        // for the same shop is then committed and visible (PostgreSQL reads committed rows per
        // statement), so its messages are found as duplicates and its tickets as threads.
        let mut numbers = TicketNumbers::reserve(&mut tx, self.dialect, shop_id).await?;
        let mut known = BatchLookups::load(&mut tx, self.dialect, shop_id, batch).await?;
        let mut outcome = FileOutcome::default();
        let mut new_tickets: Vec<NewTicket> = Vec::new();
        // Per stored ticket: messages added, latest date, latest message (its intent becomes the ticket's).
        let mut touched: HashMap<i64, (i64, i64, &Incoming)> = HashMap::new();
        let mut placed: Vec<(&Incoming, TicketRef)> = Vec::with_capacity(batch.len());
        // Two syncs of one folder may overlap (a `sync --once` beside `serve`): filing dedups
        // and the checkpoint below never moves backwards within one UIDVALIDITY.
        for incoming in batch {
            if !known.dedup_keys.insert(incoming.dedup_key.clone()) {
                outcome.duplicates += 1;
                continue;
            }
            let parsed = &incoming.parsed;
            let when = parsed.date_ms.unwrap_or_else(now_ms);
            let ticket = match threading::place(sender(parsed), &known.evidence(parsed, when)) {
                Placement::Existing { ticket_id, .. } => ticket_id,
                Placement::NewTicket => {
                    let ticket = TicketRef::New(new_tickets.len());
                    let number = numbers.take();
                    new_tickets.push(NewTicket {
                        number,
                        first: incoming,
                        latest: incoming,
                        message_count: 0,
                        last_message_at: when,
                    });
                    known
                        .tickets_by_number
                        .insert(number, (ticket, sender(parsed).to_string()));
                    ticket
                }
            };
            match ticket {
                TicketRef::New(k) => {
                    new_tickets[k].latest = incoming;
                    new_tickets[k].message_count += 1;
                    new_tickets[k].last_message_at = new_tickets[k].last_message_at.max(when);
                }
                TicketRef::Stored(id) => {
                    let entry = touched.entry(id).or_insert((0, when, incoming));
                    entry.0 += 1;
                    entry.1 = entry.1.max(when);
                    entry.2 = incoming;
                }
            }
            known.record(parsed, ticket, when);
            placed.push((incoming, ticket));
        }
        outcome.new_messages = placed.len() as u64;
        outcome.new_tickets = new_tickets.len() as u64;

        let created =
            insert_tickets(&mut tx, self.dialect, shop_id, contact_id, &new_tickets).await?;
        let ticket_id = |ticket: TicketRef| match ticket {
            TicketRef::Stored(id) => id,
            TicketRef::New(k) => created[k],
        };
        let rows: Vec<(&Incoming, i64)> = placed
            .iter()
            .map(|(incoming, t)| (*incoming, ticket_id(*t)))
            .collect();
        let filed_by = position.as_ref().map(|p| p.owner);
        insert_messages(&mut tx, self.dialect, shop_id, mailbox_id, filed_by, &rows).await?;
        numbers.save(&mut tx, shop_id).await?;
        for (ticket_id, (added, latest, message)) in touched {
            sqlx::query(
                "UPDATE tickets SET message_count = message_count + $1, updated_at = $2, \
                 last_message_at = CASE WHEN last_message_at > $3 THEN last_message_at ELSE $3 END, \
                 intent = COALESCE($4, intent), language = COALESCE(language, $5) WHERE id = $6",
            )
            .bind(added)
            .bind(now_ms())
            .bind(latest)
            .bind(message.intent().map(str::to_string))
            .bind(message.lang().map(str::to_string))
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?;
        }
        if let (
            Some(mailbox_id),
            Some(FolderPosition {
                folder, checkpoint, ..
            }),
        ) = (mailbox_id, position)
        {
            sqlx::query(
                "INSERT INTO imap_checkpoints (mailbox_id, folder, uid_validity, last_uid) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (mailbox_id, folder) DO UPDATE SET uid_validity = excluded.uid_validity, \
                 last_uid = CASE WHEN imap_checkpoints.uid_validity = excluded.uid_validity AND imap_checkpoints.last_uid > excluded.last_uid \
                 THEN imap_checkpoints.last_uid ELSE excluded.last_uid END",
            )
            .bind(mailbox_id)
            .bind(folder)
            .bind(checkpoint.uid_validity as i64)
            .bind(checkpoint.last_uid as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Tickets, most recently updated first; all shops when `shop_id` is None.
    pub async fn tickets(&self, shop_id: Option<i64>) -> Result<Vec<TicketView>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t JOIN shops s ON s.id = t.shop_id LEFT JOIN contacts c ON c.id = t.contact_id \
             WHERE ($1 IS NULL OR t.shop_id = $1) ORDER BY t.updated_at DESC, t.number DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| ticket_from_row(r).map(|(_, view)| view))
            .collect()
    }

    pub async fn ticket(
        &self,
        shop_id: i64,
        number: i64,
    ) -> Result<(TicketView, Vec<MessageView>)> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t JOIN shops s ON s.id = t.shop_id LEFT JOIN contacts c ON c.id = t.contact_id \
             WHERE t.shop_id = $1 AND t.number = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("ticket {number}")))?;
        let (ticket_id, view) = ticket_from_row(&row)?;
        let rows = sqlx::query(
            "SELECT id, message_id, direction, from_email, from_name, to_addrs, date_ms, received_at, subject, new_text, body_text, parse_error, triage, reply_decision \
             FROM messages WHERE ticket_id = $1 ORDER BY received_at, id",
        )
        .bind(ticket_id)
        .fetch_all(&self.pool)
        .await?;
        // Every attachment of the ticket in one statement, not one per message.
        let mut attachments: HashMap<i64, Vec<AttachmentView>> = HashMap::new();
        for a in sqlx::query(
            "SELECT a.message_row_id, a.filename, a.content_type, a.size, a.blob_hash, a.inline FROM attachments a \
             WHERE a.message_row_id IN (SELECT m.id FROM messages m WHERE m.ticket_id = $1) ORDER BY a.id",
        )
        .bind(ticket_id)
        .fetch_all(&self.pool)
        .await?
        {
            attachments
                .entry(a.try_get("message_row_id")?)
                .or_default()
                .push(AttachmentView {
                    filename: a.try_get("filename")?,
                    content_type: a.try_get("content_type")?,
                    size: a.try_get("size")?,
                    sha256: a.try_get("blob_hash")?,
                    inline: a.try_get::<i64, _>("inline")? != 0,
                });
        }
        let mut messages = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let attachments = attachments.remove(&id).unwrap_or_default();
            let to: String = row.try_get("to_addrs")?;
            let direction: String = row.try_get("direction")?;
            // Our own sent copies hold the marker `sent` there (so no decision is ever looked
            // for them), not a decision.
            let decision = match direction.as_str() {
                "in" => decode_optional_json(
                    "messages",
                    id,
                    "reply_decision",
                    row.try_get("reply_decision")?,
                )?,
                _ => None,
            };
            messages.push(MessageView {
                id,
                message_id: row.try_get("message_id")?,
                direction,
                from: row.try_get("from_email")?,
                from_name: row.try_get("from_name")?,
                to: to
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                date: row.try_get("date_ms")?,
                received_at: row.try_get("received_at")?,
                subject: row.try_get("subject")?,
                // IBANs never leave the store unmasked.
                new_text: mask_ibans(&row.try_get::<String, _>("new_text")?),
                text: mask_ibans(&row.try_get::<String, _>("body_text")?),
                parse_error: row.try_get("parse_error")?,
                attachments,
                triage: decode_optional_json("messages", id, "triage", row.try_get("triage")?)?,
                decision,
            });
        }
        Ok((view, messages))
    }

    /// The raw bytes of a stored message, exactly as received.
    pub async fn raw_message(&self, message_row_id: i64) -> Result<Vec<u8>> {
        let row = sqlx::query("SELECT raw FROM messages WHERE id = $1")
            .bind(message_row_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("message {message_row_id}")))?;
        Ok(row.try_get("raw")?)
    }

    /// Sets a ticket's status; closing it cancels its scheduled automatic answers at once.
    pub async fn set_status(&self, shop_id: i64, number: i64, status: Status) -> Result<()> {
        let mut tx = self.begin_write().await?;
        set_status_in(&mut tx, shop_id, number, status, now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ticket numbers whose messages match `query` (full-text, accents ignored).
    pub async fn search(&self, shop_id: i64, query: &str) -> Result<Vec<i64>> {
        let rows = match self.dialect {
            Dialect::Sqlite => {
                // Quoting each word keeps user input from being read as FTS5 syntax.
                let fts_query = query
                    .split_whitespace()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(" ");
                if fts_query.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT t.number FROM tickets t WHERE t.shop_id = $2 AND t.id IN \
                     (SELECT {} FROM message_search WHERE message_search MATCH $1) ORDER BY t.number",
                    super::ticket_list::SQLITE_SEARCH_TICKET
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(fts_query)
                    .bind(shop_id)
                    .fetch_all(&self.pool)
                    .await?
            }
            Dialect::Postgres => {
                sqlx::query(
                    "SELECT DISTINCT t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id \
                     WHERE m.search @@ plainto_tsquery('simple', $1) AND m.shop_id = $2 ORDER BY t.number",
                )
                // The indexed text is folded (migration 0009): so are the words looked for.
                .bind(super::ticket_list::pg_fold(query))
                .bind(shop_id)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(|r| Ok(r.try_get("number")?)).collect()
    }

    /// Deletes a ticket: its messages, search entries and attachments, and the blobs nothing
    /// else uses, at once.
    pub async fn delete_ticket(&self, shop_id: i64, number: i64) -> Result<()> {
        let row = sqlx::query("SELECT id FROM tickets WHERE shop_id = $1 AND number = $2")
            .bind(shop_id)
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("ticket {number}")))?;
        self.delete_tickets_by_id(&[row.try_get("id")?]).await
    }

    async fn delete_tickets_by_id(&self, ticket_ids: &[i64]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut hashes = Vec::new();
        for &ticket_id in ticket_ids {
            hashes.extend(
                attachment_blobs(
                    &mut tx,
                    "SELECT a.blob_hash, m.received_at FROM attachments a JOIN messages m ON m.id = a.message_row_id WHERE m.ticket_id = $1",
                    ticket_id,
                )
                .await?,
            );
            execute_each(
                &mut tx,
                &[
                    "DELETE FROM attachments WHERE message_row_id IN (SELECT id FROM messages WHERE ticket_id = $1)",
                    "DELETE FROM messages WHERE ticket_id = $1",
                    "DELETE FROM tickets WHERE id = $1",
                ],
                ticket_id,
            )
            .await?;
        }
        tx.commit().await?;
        self.remove_unused_blobs(hashes).await
    }

    /// Deletes one message (and its ticket when it was the last one).
    pub async fn delete_message(&self, message_row_id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT ticket_id FROM messages WHERE id = $1")
            .bind(message_row_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("message {message_row_id}")))?;
        let ticket_id: i64 = row.try_get("ticket_id")?;
        let hashes = attachment_blobs(
            &mut tx,
            "SELECT a.blob_hash, m.received_at FROM attachments a JOIN messages m ON m.id = a.message_row_id \
             WHERE a.message_row_id = $1",
            message_row_id,
        )
        .await?;
        execute_each(
            &mut tx,
            &[
                "DELETE FROM attachments WHERE message_row_id = $1",
                "DELETE FROM messages WHERE id = $1",
            ],
            message_row_id,
        )
        .await?;
        sqlx::query(
            "UPDATE tickets SET message_count = message_count - 1, updated_at = $1 WHERE id = $2",
        )
        .bind(now_ms())
        .bind(ticket_id)
        .execute(&mut *tx)
        .await?;
        execute_each(
            &mut tx,
            &["DELETE FROM tickets WHERE id = $1 AND message_count <= 0"],
            ticket_id,
        )
        .await?;
        tx.commit().await?;
        self.remove_unused_blobs(hashes).await
    }

    /// Deletes the shop's tickets not updated since `cutoff_ms`; returns how many.
    pub async fn purge_tickets_before(&self, shop_id: i64, cutoff_ms: i64) -> Result<usize> {
        let mut purged = 0;
        loop {
            let ids = sqlx::query("SELECT id FROM tickets WHERE shop_id = $1 AND updated_at < $2 ORDER BY id LIMIT 200")
                .bind(shop_id)
                .bind(cutoff_ms)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok(r.try_get::<i64, _>("id")?))
                .collect::<Result<Vec<_>>>()?;
            if ids.is_empty() {
                return Ok(purged);
            }
            purged += ids.len();
            self.delete_tickets_by_id(&ids).await?;
        }
    }

    /// Every blob an attachment or a reply's attachment references, each once, in hash order.
    pub async fn referenced_blobs(&self) -> Result<Vec<String>> {
        sqlx::query(
            "SELECT blob_hash FROM attachments UNION SELECT blob_hash FROM outbox_attachments ORDER BY blob_hash",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("blob_hash")?))
        .collect()
    }

    /// Sweeps the blobs of deleted messages (hash, when the message was filed) that nothing
    /// references any more, and those earlier sweeps could not (see [`Self::sweep_pending_blobs`]).
    /// Each is first recorded as to sweep: one the blob store fails on stays recorded, and the
    /// deletion, already committed, is not undone by it.
    async fn remove_unused_blobs(&self, hashes: Vec<(String, i64)>) -> Result<()> {
        let mut last_used: HashMap<String, i64> = HashMap::new();
        for (hash, filed_at) in hashes {
            let entry = last_used.entry(hash).or_insert(filed_at);
            *entry = (*entry).max(filed_at);
        }
        for (hash, last_used_ms) in &last_used {
            sqlx::query(
                "INSERT INTO blob_sweeps (blob_hash, last_used_at) VALUES ($1, $2) \
                 ON CONFLICT (blob_hash) DO UPDATE SET last_used_at = \
                 CASE WHEN excluded.last_used_at > blob_sweeps.last_used_at THEN excluded.last_used_at ELSE blob_sweeps.last_used_at END",
            )
            .bind(hash)
            .bind(*last_used_ms)
            .execute(&self.pool)
            .await?;
        }
        if let Err(e) = self.sweep_pending_blobs().await {
            tracing::warn!(error = %e, "blobs of deleted messages not swept yet: retried by the next deletion or purge");
        }
        Ok(())
    }

    /// Sweeps the recorded blobs (up to 500 a call) that nothing references; returns how many
    /// records are done. Stops at the blob store's first failure, the rest kept for next time.
    pub async fn sweep_pending_blobs(&self) -> Result<usize> {
        let pending = sqlx::query(
            "SELECT blob_hash, last_used_at FROM blob_sweeps ORDER BY last_used_at LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("blob_hash")?, r.try_get("last_used_at")?)))
        .collect::<Result<Vec<(String, i64)>>>()?;
        let mut done = 0;
        for (hash, last_used_ms) in pending {
            let still_used =
                sqlx::query("SELECT 1 AS one FROM attachments WHERE blob_hash = $1 UNION ALL SELECT 1 AS one FROM outbox_attachments WHERE blob_hash = $1 LIMIT 1")
                    .bind(&hash)
                    .fetch_optional(&self.pool)
                    .await?;
            if still_used.is_none() {
                self.blobs.sweep(&hash, last_used_ms).await?;
            }
            sqlx::query("DELETE FROM blob_sweeps WHERE blob_hash = $1 AND last_used_at = $2")
                .bind(&hash)
                .bind(last_used_ms)
                .execute(&self.pool)
                .await?;
            done += 1;
        }
        Ok(done)
    }
}

/// A ticket in a batch: already stored, or the k-th ticket the batch creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TicketRef {
    Stored(i64),
    New(usize),
}

/// A ticket the batch opens, with the counts of its messages in the batch.
struct NewTicket<'a> {
    number: i64,
    first: &'a Incoming,
    /// Its intent becomes the ticket's.
    latest: &'a Incoming,
    message_count: i64,
    last_message_at: i64,
}

/// The shop's ticket counter, read once per batch and written back at its end. The row is
/// locked for the transaction (SQLite: by `BEGIN IMMEDIATE`; PostgreSQL: `FOR UPDATE`), so two
/// batches never hand out the same number, and batches of one shop are filed one after another.
struct TicketNumbers {
    next: i64,
    first: i64,
}

impl TicketNumbers {
    async fn reserve(
        tx: &mut Transaction<'static, Any>,
        dialect: Dialect,
        shop_id: i64,
    ) -> Result<Self> {
        let sql = match dialect {
            Dialect::Sqlite => "SELECT next_ticket_number FROM shops WHERE id = $1",
            Dialect::Postgres => "SELECT next_ticket_number FROM shops WHERE id = $1 FOR UPDATE",
        };
        let next: i64 = sqlx::query(sql)
            .bind(shop_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("next_ticket_number")?;
        Ok(TicketNumbers { next, first: next })
    }

    fn take(&mut self) -> i64 {
        self.next += 1;
        self.next - 1
    }

    async fn save(&self, tx: &mut Transaction<'static, Any>, shop_id: i64) -> Result<()> {
        if self.next != self.first {
            sqlx::query("UPDATE shops SET next_ticket_number = $1 WHERE id = $2")
                .bind(self.next)
                .bind(shop_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// What a batch needs to know from the database, loaded in a few queries and kept up to date
/// as the batch's own messages are placed.
struct BatchLookups {
    dedup_keys: HashSet<String>,
    /// Message-ID -> ticket, for every id the batch refers to.
    tickets_by_message_id: HashMap<String, TicketRef>,
    /// (customer, normalized subject) -> tickets with their last message time.
    tickets_by_subject: HashMap<(String, String), Vec<(TicketRef, i64)>>,
    /// Tracking number -> (ticket, its customer), for the numbers tagged in the batch.
    tickets_by_number: HashMap<i64, (TicketRef, String)>,
}

/// Values per `IN (...)` list, well under both dialects' parameter limits.
const IN_LIST_CHUNK: usize = 400;
/// Rows per multi-row INSERT (each row binds under 20 values).
const INSERT_CHUNK: usize = 100;

/// Bind markers for `count` values numbered from `from`. SQLite gets anonymous `?`: sqlx looks
/// every numbered marker up by name, which costs time quadratic in the number of markers.
fn placeholders(dialect: Dialect, from: usize, count: usize) -> String {
    match dialect {
        Dialect::Sqlite => vec!["?"; count].join(", "),
        Dialect::Postgres => (from..from + count)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `(…), (…)` for `rows` rows of `width` values, numbered from the first.
fn value_rows(dialect: Dialect, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(dialect, 1 + r * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `<select> WHERE shop_id = … AND <column> IN (…)` over `values` in chunks.
async fn select_in<V>(
    tx: &mut Transaction<'static, Any>,
    dialect: Dialect,
    select: &str,
    column: &str,
    shop_id: i64,
    values: &[V],
) -> Result<Vec<sqlx::any::AnyRow>>
where
    V: for<'q> sqlx::Encode<'q, Any> + sqlx::Type<Any> + Clone + Send + Sync + 'static,
{
    let mut rows = Vec::new();
    for chunk in values.chunks(IN_LIST_CHUNK) {
        let sql = format!(
            "{select} WHERE shop_id = {} AND {column} IN ({})",
            placeholders(dialect, 1, 1),
            placeholders(dialect, 2, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(shop_id);
        for value in chunk {
            query = query.bind(value.clone());
        }
        rows.extend(query.fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

impl BatchLookups {
    async fn load(
        tx: &mut Transaction<'static, Any>,
        dialect: Dialect,
        shop_id: i64,
        batch: &[Incoming],
    ) -> Result<Self> {
        let mut lookups = BatchLookups {
            dedup_keys: HashSet::new(),
            tickets_by_message_id: HashMap::new(),
            tickets_by_subject: HashMap::new(),
            tickets_by_number: HashMap::new(),
        };
        let keys: Vec<String> = batch.iter().map(|i| i.dedup_key.clone()).collect();
        for row in select_in(
            tx,
            dialect,
            "SELECT dedup_key FROM messages",
            "dedup_key",
            shop_id,
            &keys,
        )
        .await?
        {
            lookups.dedup_keys.insert(row.try_get("dedup_key")?);
        }
        let mut referenced: Vec<String> = batch
            .iter()
            .flat_map(|i| {
                i.parsed
                    .in_reply_to
                    .iter()
                    .chain(i.parsed.references.iter())
            })
            .cloned()
            .collect();
        referenced.sort_unstable();
        referenced.dedup();
        let sql = "SELECT message_id, ticket_id FROM messages";
        for row in select_in(tx, dialect, sql, "message_id", shop_id, &referenced).await? {
            lookups.tickets_by_message_id.insert(
                row.try_get("message_id")?,
                TicketRef::Stored(row.try_get("ticket_id")?),
            );
        }
        let mut senders: Vec<String> = batch
            .iter()
            .map(|i| sender(&i.parsed).to_string())
            .collect();
        senders.sort_unstable();
        senders.dedup();
        let sql = "SELECT id, customer_email, normalized_subject, last_message_at FROM tickets";
        for row in select_in(tx, dialect, sql, "customer_email", shop_id, &senders).await? {
            let key = (
                row.try_get("customer_email")?,
                row.try_get("normalized_subject")?,
            );
            let ticket = (
                TicketRef::Stored(row.try_get("id")?),
                row.try_get("last_message_at")?,
            );
            lookups
                .tickets_by_subject
                .entry(key)
                .or_default()
                .push(ticket);
        }
        let mut tagged: Vec<i64> = batch
            .iter()
            .flat_map(|i| threading::tracking_tags(&i.parsed.subject))
            .collect();
        tagged.sort_unstable();
        tagged.dedup();
        let sql = "SELECT id, number, customer_email FROM tickets";
        for row in select_in(tx, dialect, sql, "number", shop_id, &tagged).await? {
            let ticket = (
                TicketRef::Stored(row.try_get("id")?),
                row.try_get("customer_email")?,
            );
            lookups
                .tickets_by_number
                .insert(row.try_get("number")?, ticket);
        }
        Ok(lookups)
    }

    fn evidence(&self, parsed: &ParsedMessage, when: i64) -> Evidence<TicketRef> {
        let tagged = threading::tracking_tags(&parsed.subject)
            .into_iter()
            .filter_map(|number| self.tickets_by_number.get(&number))
            .map(|(ticket, customer)| TaggedTicket {
                ticket_id: *ticket,
                customer_email: customer.clone(),
            })
            .collect();
        // The direct parent first, then the thread from the most recent ancestor back.
        let by_reference = parsed
            .in_reply_to
            .iter()
            .chain(parsed.references.iter().rev())
            .find_map(|id| self.tickets_by_message_id.get(id).copied());
        let normalized = threading::normalize_subject(&parsed.subject);
        let by_subject = if normalized.is_empty() {
            None
        } else {
            self.tickets_by_subject
                .get(&(sender(parsed).to_string(), normalized))
                .and_then(|tickets| {
                    tickets
                        .iter()
                        .filter(|(_, last)| (when - last).abs() <= threading::SUBJECT_WINDOW_MS)
                        .max_by_key(|(_, last)| *last)
                })
                .map(|(ticket, _)| *ticket)
        };
        Evidence {
            tagged,
            by_reference,
            by_subject,
        }
    }

    /// Makes a message just placed visible to the rest of the batch.
    fn record(&mut self, parsed: &ParsedMessage, ticket: TicketRef, when: i64) {
        if let Some(id) = &parsed.message_id {
            self.tickets_by_message_id.insert(id.clone(), ticket);
        }
        let key = (
            sender(parsed).to_string(),
            threading::normalize_subject(&parsed.subject),
        );
        let tickets = self.tickets_by_subject.entry(key).or_default();
        match tickets.iter_mut().find(|(t, _)| *t == ticket) {
            Some(entry) => entry.1 = entry.1.max(when),
            None => tickets.push((ticket, when)),
        }
    }
}

fn sender(parsed: &ParsedMessage) -> &str {
    parsed.from_email.as_deref().unwrap_or(UNKNOWN_SENDER)
}

/// Inserts the batch's new tickets; returns their ids in the same order.
async fn insert_tickets(
    tx: &mut Transaction<'static, Any>,
    dialect: Dialect,
    shop_id: i64,
    contact_id: Option<i64>,
    tickets: &[NewTicket<'_>],
) -> Result<Vec<i64>> {
    const WIDTH: usize = 14;
    let now = now_ms();
    let mut id_by_number = HashMap::new();
    for chunk in tickets.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO tickets (shop_id, number, contact_id, customer_email, customer_name, subject, normalized_subject, \
             status, message_count, created_at, updated_at, last_message_at, language, intent) VALUES {} RETURNING id, number",
            value_rows(dialect, chunk.len(), WIDTH)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ticket in chunk {
            let parsed = &ticket.first.parsed;
            let subject = if parsed.subject.is_empty() {
                "(no subject)"
            } else {
                parsed.subject.as_str()
            };
            query = query
                .bind(shop_id)
                .bind(ticket.number)
                .bind(contact_id)
                .bind(sender(parsed).to_string())
                .bind(parsed.from_name.clone())
                .bind(subject.to_string())
                .bind(threading::normalize_subject(&parsed.subject))
                .bind("open")
                .bind(ticket.message_count)
                .bind(now)
                .bind(now)
                .bind(ticket.last_message_at)
                .bind(ticket.first.lang().map(str::to_string))
                .bind(ticket.latest.intent().map(str::to_string));
        }
        for row in query.fetch_all(&mut **tx).await? {
            id_by_number.insert(
                row.try_get::<i64, _>("number")?,
                row.try_get::<i64, _>("id")?,
            );
        }
    }
    Ok(tickets.iter().map(|t| id_by_number[&t.number]).collect())
}

/// Inserts messages (with their ticket) and their attachments.
async fn insert_messages(
    tx: &mut Transaction<'static, Any>,
    dialect: Dialect,
    shop_id: i64,
    mailbox_id: Option<i64>,
    filed_by: Option<&str>,
    rows: &[(&Incoming, i64)],
) -> Result<()> {
    const WIDTH: usize = 25;
    let now = now_ms();
    let mut attachment_rows: Vec<(i64, &IncomingAttachment)> = Vec::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO messages (shop_id, ticket_id, mailbox_id, dedup_key, message_id, in_reply_to, refs, direction, \
             from_email, from_name, to_addrs, subject, date_ms, received_at, body_text, body_html, new_text, parse_error, raw, \
             lang, intent, intent_confidence, triage, automation, filed_by) VALUES {} RETURNING id, dedup_key",
            value_rows(dialect, chunk.len(), WIDTH)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (incoming, ticket_id) in chunk {
            let parsed = &incoming.parsed;
            let to: Vec<&str> = parsed
                .to
                .iter()
                .chain(parsed.cc.iter())
                .map(String::as_str)
                .collect();
            query = query
                .bind(shop_id)
                .bind(*ticket_id)
                .bind(mailbox_id)
                .bind(incoming.dedup_key.clone())
                .bind(parsed.message_id.clone())
                .bind(parsed.in_reply_to.join(" "))
                .bind(parsed.references.join(" "))
                .bind("in")
                .bind(sender(parsed).to_string())
                .bind(parsed.from_name.clone())
                .bind(to.join(","))
                .bind(parsed.subject.clone())
                .bind(parsed.date_ms)
                .bind(now)
                .bind(parsed.text.clone())
                .bind(parsed.html.clone())
                .bind(parsed.new_text.clone())
                .bind(parsed.parse_error.clone())
                .bind(incoming.raw.clone())
                .bind(incoming.lang().map(str::to_string))
                .bind(incoming.intent().map(str::to_string))
                .bind(incoming.triage.as_ref().map(|t| t.confidence as f64))
                .bind(
                    incoming
                        .triage
                        .as_ref()
                        .and_then(|t| serde_json::to_string(t).ok()),
                )
                .bind(
                    (parsed.automation != AutomationHeaders::default())
                        .then(|| serde_json::to_string(&parsed.automation).ok())
                        .flatten(),
                )
                .bind(filed_by);
        }
        let inserted = query.fetch_all(&mut **tx).await?;
        if chunk
            .iter()
            .any(|(incoming, _)| !incoming.attachments.is_empty())
        {
            let mut id_by_key = HashMap::new();
            for row in &inserted {
                id_by_key.insert(
                    row.try_get::<String, _>("dedup_key")?,
                    row.try_get::<i64, _>("id")?,
                );
            }
            for (incoming, _) in chunk {
                let id = id_by_key[&incoming.dedup_key];
                attachment_rows.extend(incoming.attachments.iter().map(|a| (id, a)));
            }
        }
    }
    const ATTACHMENT_WIDTH: usize = 7;
    for chunk in attachment_rows.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO attachments (message_row_id, blob_hash, filename, content_type, content_id, inline, size) VALUES {}",
            value_rows(dialect, chunk.len(), ATTACHMENT_WIDTH)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (message_row_id, attachment) in chunk {
            query = query
                .bind(*message_row_id)
                .bind(attachment.blob_hash.clone())
                .bind(attachment.filename.clone())
                .bind(attachment.content_type.clone())
                .bind(attachment.content_id.clone())
                .bind(attachment.inline as i64)
                .bind(attachment.size);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The blob hashes, with their message's arrival time, of the attachments that `sql` selects
/// for `id`: the blobs that deleting those messages may leave unused.
async fn attachment_blobs(
    conn: &mut sqlx::AnyConnection,
    sql: &'static str,
    id: i64,
) -> Result<Vec<(String, i64)>> {
    sqlx::query(sql)
        .bind(id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("blob_hash")?, r.try_get("received_at")?)))
        .collect()
}

/// Runs each statement of `statements`, in order, with `id` as its one parameter.
async fn execute_each(
    conn: &mut sqlx::AnyConnection,
    statements: &[&'static str],
    id: i64,
) -> Result<()> {
    for &sql in statements {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`Store::set_status`] inside a transaction (the caller records the change with it).
pub(super) async fn set_status_in(
    tx: &mut Transaction<'static, Any>,
    shop_id: i64,
    number: i64,
    status: Status,
    now: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE tickets SET status = $1, updated_at = $2 WHERE shop_id = $3 AND number = $4",
    )
    .bind(status.to_string())
    .bind(now)
    .bind(shop_id)
    .bind(number)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("ticket {number}")));
    }
    if status == Status::Closed {
        sqlx::query(
            "UPDATE outbox SET state = 'cancelled', last_error = $1, updated_at = $2 WHERE state = 'scheduled' \
             AND ticket_id = (SELECT id FROM tickets WHERE shop_id = $3 AND number = $4)",
        )
        .bind("ticket closed")
        .bind(now)
        .bind(shop_id)
        .bind(number)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
