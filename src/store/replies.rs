//! Automatic answers in the store: a shop's reply settings, its edited templates, the decisions
//! taken per customer message, and the outbox that sends each answer at most once.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;

use super::{Dialect, Result, Store, StoreError, decode_column, now_ms};
use crate::intake::parse::AutomationHeaders;
use crate::model::{ReplyKind, ReplyState, Status, UiLang};
use crate::replies::{Mode, PlanName};
use crate::triage::Triage;

/// A shop's automatic-answer settings and branding, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplySettings {
    pub auto_answers: Mode,
    pub auto_answers_since: Option<i64>,
    pub reply_delay_ms: i64,
    pub reply_spread_ms: i64,
    /// e.g. "mon-fri 09:00-18:00 Europe/Paris"; None: any time.
    pub business_hours: Option<String>,
    pub time_zone: String,
    pub threshold: f64,
    /// Per-intent thresholds that replace `threshold`.
    pub intent_thresholds: HashMap<String, f64>,
    pub plan: PlanName,
    /// Monthly automatic answers of the `custom` plan (None: unlimited).
    pub plan_quota: Option<i64>,
    pub trial_until: Option<i64>,
    pub quota_notice_month: Option<String>,
    pub display_name: Option<String>,
    pub signature: String,
    pub logo_url: Option<String>,
    pub brand_color: Option<String>,
    pub footer: String,
}

/// A customer message automatic answering has not looked at yet.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    pub id: i64,
    pub shop_id: i64,
    pub ticket_id: i64,
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub ticket_status: Status,
    /// The ticket's case file (JSON) when it waits for information.
    pub case_file: Option<String>,
    pub mailbox_id: Option<i64>,
    pub message_id: Option<String>,
    pub from_email: String,
    pub from_name: Option<String>,
    pub subject: String,
    pub date_ms: Option<i64>,
    pub received_at: i64,
    pub new_text: String,
    pub triage: Option<Triage>,
    pub automation: AutomationHeaders,
    pub has_image: bool,
}

/// A new row for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReply {
    pub shop_id: i64,
    /// None for a notice to the shop itself.
    pub ticket_id: Option<i64>,
    pub reply_to_message: Option<i64>,
    pub kind: ReplyKind,
    pub intent: Option<String>,
    pub lang: UiLang,
    /// `Scheduled`, or `Shadow` when the shop only watches what would be sent.
    pub state: ReplyState,
    pub due_at: i64,
    pub to_email: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub message_id: String,
}

/// What was decided for a message, written with its outbox row (if any) in one transaction.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub message_row_id: i64,
    pub ticket_id: i64,
    /// JSON shown to employees.
    pub decision: String,
    /// The ticket's case file after this message (None: unchanged).
    pub case_file: Option<Option<String>>,
    pub reply: Option<NewReply>,
}

/// An outbox row as read back (`views::ReplyJson` is its JSON shape).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyView {
    pub id: i64,
    pub shop: String,
    /// None for a notice to the shop itself.
    pub ticket: Option<i64>,
    pub kind: ReplyKind,
    pub intent: Option<String>,
    pub lang: UiLang,
    pub state: ReplyState,
    pub due_at: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub sent_at: Option<i64>,
    pub shop_id: i64,
    pub ticket_id: Option<i64>,
    pub reply_to_message: Option<i64>,
}

/// A node's hold on one outbox row in `sending`: the row's id and the random token written
/// with the lease. Only its holder can renew the lease or move the row on.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplyLease {
    pub id: i64,
    token: String,
}

impl std::fmt::Debug for ReplyLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyLease")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A reply taken for sending, with the lease that lets this node record what became of it.
#[derive(Debug, Clone)]
pub struct LeasedReply {
    pub reply: ReplyView,
    pub lease: ReplyLease,
}

/// What a transition of a leased reply did. `LeaseLost`: the row was no longer `sending` under
/// this lease (it ran out and was taken over), so nothing was written.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    Applied,
    LeaseLost,
}

impl LeaseOutcome {
    fn from_rows(rows: u64) -> LeaseOutcome {
        if rows > 0 {
            LeaseOutcome::Applied
        } else {
            LeaseOutcome::LeaseLost
        }
    }
}

/// A template a shop edited, replacing the shipped one for its intent and language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTemplate {
    pub intent: String,
    pub lang: UiLang,
    pub body: String,
    pub needs: Vec<String>,
    pub when_complete: String,
}

const REPLY_COLUMNS: &str = "o.id, s.name AS shop, o.shop_id, o.ticket_id, t.number, o.reply_to_message, o.kind, o.intent, o.lang, \
     o.state, o.due_at, o.to_email, o.subject, o.body_text, o.message_id, o.attempts, o.last_error, o.sent_at";

fn reply_from_row(row: &sqlx::any::AnyRow) -> Result<ReplyView> {
    Ok(ReplyView {
        id: row.try_get("id")?,
        shop: row.try_get("shop")?,
        ticket: row.try_get("number")?,
        kind: decode_column(row, "kind", "reply", row.try_get::<i64, _>("id")?)?,
        intent: row.try_get("intent")?,
        lang: decode_column(row, "lang", "reply", row.try_get::<i64, _>("id")?)?,
        state: decode_column(row, "state", "reply", row.try_get::<i64, _>("id")?)?,
        due_at: row.try_get("due_at")?,
        to: row.try_get("to_email")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body_text")?,
        message_id: row.try_get("message_id")?,
        attempts: row.try_get("attempts")?,
        error: row.try_get("last_error")?,
        sent_at: row.try_get("sent_at")?,
        shop_id: row.try_get("shop_id")?,
        ticket_id: row.try_get("ticket_id")?,
        reply_to_message: row.try_get("reply_to_message")?,
    })
}

/// A text column read into its enum; a value this version does not know is an error.
/// A calendar month as text (`2026-11`), for "told once a month".
pub type MonthKey = String;

impl Store {
    pub async fn reply_settings(&self, shop_id: i64) -> Result<ReplySettings> {
        let row = sqlx::query(
            "SELECT auto_answers, auto_answers_since, reply_delay_ms, reply_spread_ms, business_hours, time_zone, threshold, \
             plan, plan_quota, trial_until, created_at, quota_notice_month, display_name, signature, logo_url, brand_color, footer \
             FROM shops WHERE id = $1",
        )
        .bind(shop_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("shop {shop_id}")))?;
        let intent_thresholds = sqlx::query(
            "SELECT intent, threshold FROM shop_intents WHERE shop_id = $1 AND threshold IS NOT NULL",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("intent")?, r.try_get("threshold")?)))
        .collect::<Result<_>>()?;
        let created_at: i64 = row.try_get("created_at")?;
        Ok(ReplySettings {
            auto_answers: decode_column(&row, "auto_answers", "shop", shop_id)?,
            auto_answers_since: row.try_get("auto_answers_since")?,
            reply_delay_ms: row.try_get("reply_delay_ms")?,
            reply_spread_ms: row.try_get("reply_spread_ms")?,
            business_hours: row.try_get("business_hours")?,
            time_zone: row.try_get("time_zone")?,
            threshold: row.try_get("threshold")?,
            intent_thresholds,
            plan: decode_column(&row, "plan", "shop", shop_id)?,
            plan_quota: row.try_get("plan_quota")?,
            // A shop created before plans existed starts its trial on its creation.
            trial_until: Some(
                row.try_get::<Option<i64>, _>("trial_until")?
                    .unwrap_or(created_at + TRIAL_MS),
            ),
            quota_notice_month: row.try_get("quota_notice_month")?,
            display_name: row.try_get("display_name")?,
            signature: row.try_get("signature")?,
            logo_url: row.try_get("logo_url")?,
            brand_color: row.try_get("brand_color")?,
            footer: row.try_get("footer")?,
        })
    }

    /// Saves every setting; turning automatic answers on (or to shadow) from off starts them
    /// for messages filed from now on only.
    pub async fn save_reply_settings(&self, shop_id: i64, settings: &ReplySettings) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE shops SET auto_answers = $1, auto_answers_since = CASE WHEN $1 = 'off' THEN NULL \
             WHEN auto_answers = 'off' OR auto_answers_since IS NULL THEN $2 ELSE auto_answers_since END, \
             reply_delay_ms = $3, reply_spread_ms = $4, business_hours = $5, time_zone = $6, threshold = $7, plan = $8, \
             plan_quota = $9, trial_until = $10, display_name = $11, signature = $12, logo_url = $13, brand_color = $14, \
             footer = $15 WHERE id = $16",
        )
        .bind(settings.auto_answers.to_string())
        .bind(now_ms())
        .bind(settings.reply_delay_ms)
        .bind(settings.reply_spread_ms)
        .bind(&settings.business_hours)
        .bind(&settings.time_zone)
        .bind(settings.threshold)
        .bind(settings.plan.to_string())
        .bind(settings.plan_quota)
        .bind(settings.trial_until)
        .bind(&settings.display_name)
        .bind(&settings.signature)
        .bind(&settings.logo_url)
        .bind(&settings.brand_color)
        .bind(&settings.footer)
        .bind(shop_id)
        .execute(&mut *tx)
        .await?;
        for (intent, threshold) in &settings.intent_thresholds {
            sqlx::query(
                "INSERT INTO shop_intents (shop_id, intent, threshold, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (shop_id, intent) DO UPDATE SET threshold = excluded.threshold",
            )
            .bind(shop_id)
            .bind(intent)
            .bind(*threshold)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Customer messages no decision was taken for yet, oldest first.
    pub async fn pending_messages(&self, shop_id: i64, limit: i64) -> Result<Vec<PendingMessage>> {
        let sql = format!(
            "{PENDING_SELECT} WHERE m.shop_id = $1 AND m.direction = 'in' AND m.reply_decision IS NULL \
             ORDER BY m.received_at, m.id LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(pending_from_row)
            .collect()
    }

    /// Records a decision: cancels the ticket's scheduled answers (the customer wrote again),
    /// adds the new answer if any, and updates the case file, in one transaction. A message
    /// already decided is left alone, so two nodes never answer it twice.
    pub async fn record_decision(&self, record: &DecisionRecord) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE messages SET reply_decision = $1 WHERE id = $2 AND reply_decision IS NULL",
        )
        .bind(&record.decision)
        .bind(record.message_row_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE outbox SET state = 'cancelled', last_error = $1, updated_at = $2 WHERE ticket_id = $3 AND state = 'scheduled'",
        )
        .bind("customer wrote again")
        .bind(now)
        .bind(record.ticket_id)
        .execute(&mut *tx)
        .await?;
        if let Some(case_file) = &record.case_file {
            sqlx::query("UPDATE tickets SET case_file = $1 WHERE id = $2")
                .bind(case_file)
                .bind(record.ticket_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(reply) = &record.reply {
            insert_reply(&mut tx, reply, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// An employee's answer: queued to go now, and the ticket's scheduled automatic answers are
    /// cancelled in the same transaction (the employee has taken over).
    pub async fn queue_employee_reply(&self, reply: &NewReply) -> Result<i64> {
        self.queue_employee_reply_by(reply, None, &[]).await
    }

    /// [`Store::queue_employee_reply`] by the shop's employee `employee_id` (the reply is
    /// recorded on the ticket's timeline, and the employee takes the ticket when nobody has
    /// it), with attachments whose bytes are in the blob store, in the same transaction.
    pub async fn queue_employee_reply_by(
        &self,
        reply: &NewReply,
        employee_id: Option<i64>,
        attachments: &[super::ReplyAttachment],
    ) -> Result<i64> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET state = 'cancelled', last_error = $1, updated_at = $2 WHERE ticket_id = $3 AND state = 'scheduled' \
             AND kind IN ('answer', 'ask')",
        )
        .bind("an employee answered")
        .bind(now)
        .bind(reply.ticket_id)
        .execute(&mut *tx)
        .await?;
        insert_reply(&mut tx, reply, now).await?;
        let id: i64 = sqlx::query("SELECT id FROM outbox WHERE message_id = $1")
            .bind(&reply.message_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
        if let Some(ticket_id) = reply.ticket_id {
            super::ticket_events::record_employee_reply(
                &mut tx,
                reply.shop_id,
                ticket_id,
                id,
                employee_id,
                attachments,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The latest customer message of a ticket, which an employee's answer replies to.
    pub async fn latest_customer_message(
        &self,
        shop_id: i64,
        number: i64,
    ) -> Result<PendingMessage> {
        let sql = format!(
            "{PENDING_SELECT} WHERE m.shop_id = $1 AND t.number = $2 AND m.direction = 'in' \
             ORDER BY m.received_at DESC, m.id DESC LIMIT 1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(pending_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("ticket {number}")))
    }

    /// Queues a message to the shop itself (quota spent...), once per `message_id`.
    pub async fn add_notice(&self, reply: &NewReply) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_reply(&mut tx, reply, now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// When the ticket last got an automatic answer (or one that may have gone). Scheduled
    /// ones do not count: the new customer message that asks cancels them.
    pub async fn last_auto_reply_at(&self, ticket_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MAX(COALESCE(sent_at, updated_at)) AS at FROM outbox WHERE ticket_id = $1 \
             AND kind IN ('answer', 'ask') AND state IN ('sending', 'sent', 'uncertain')",
        )
        .bind(ticket_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("at")?)
    }

    /// Automatic answers sent (or being sent) since `since_ms`, for the monthly quota.
    pub async fn auto_replies_since(&self, shop_id: i64, since_ms: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox WHERE shop_id = $1 AND kind IN ('answer', 'ask') \
             AND ((state IN ('sent', 'uncertain') AND COALESCE(sent_at, updated_at) >= $2) OR state IN ('scheduled', 'sending'))",
        )
        .bind(shop_id)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Remembers that the shop was told its quota is spent this month; false if it already was.
    pub async fn claim_quota_notice(&self, shop_id: i64, month: &MonthKey) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE shops SET quota_notice_month = $1 WHERE id = $2 AND (quota_notice_month IS NULL OR quota_notice_month <> $1)",
        )
        .bind(month)
        .bind(shop_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Rows left in `sending` whose lease ran out (a crash, or a node that stopped renewing):
    /// they may have reached the customer, so they become `uncertain` and wait for an
    /// employee. The lease goes with them: the node that held it can no longer move the row.
    pub async fn expire_sending_replies(&self) -> Result<u64> {
        let now = now_ms();
        Ok(sqlx::query(
            "UPDATE outbox SET state = 'uncertain', last_error = $1, updated_at = $2, lease_owner = NULL \
             WHERE state = 'sending' AND lease_until < $2",
        )
        .bind("interrupted while sending: it may have been delivered")
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// When the soonest scheduled answer falls due (Unix ms), None when none waits.
    pub async fn next_answer_due(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(due_at) AS due FROM outbox WHERE state = 'scheduled'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("due")?)
    }

    /// Takes the most overdue scheduled answer and moves it to `sending` under a fresh lease
    /// of `lease_ms`, committed before any SMTP traffic: after a crash it is found there and
    /// never sent again by itself. Only the returned lease can move the row on. `node` is
    /// recorded as the row's sender (`sending_node`).
    pub async fn lease_due_reply(&self, node: &str, lease_ms: i64) -> Result<Option<LeasedReply>> {
        let now = now_ms();
        let lock = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let token = format!("{:032x}", rand::random::<u128>());
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE outbox SET state = 'sending', lease_until = $1, lease_owner = $3, sending_node = $4, attempts = attempts + 1, \
             updated_at = $2 WHERE id = (SELECT id FROM outbox WHERE state = 'scheduled' AND due_at <= $2 ORDER BY due_at LIMIT 1 {lock}) \
             RETURNING id"
        );
        let leased: Option<i64> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now + lease_ms)
            .bind(now)
            .bind(&token)
            .bind(node)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("id"))
            .transpose()?;
        tx.commit().await?;
        match leased {
            Some(id) => Ok(Some(LeasedReply {
                reply: self.reply(id).await?,
                lease: ReplyLease { id, token },
            })),
            None => Ok(None),
        }
    }

    /// Extends a lease by `lease_ms` from now, while the SMTP exchange goes on.
    /// [`LeaseOutcome::LeaseLost`] when the row is no longer `sending` under this lease.
    pub async fn renew_reply_lease(
        &self,
        lease: &ReplyLease,
        lease_ms: i64,
    ) -> Result<LeaseOutcome> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND state = 'sending' AND lease_owner = $3",
        )
        .bind(now + lease_ms)
        .bind(lease.id)
        .bind(&lease.token)
        .execute(&self.pool)
        .await?;
        Ok(LeaseOutcome::from_rows(done.rows_affected()))
    }

    /// The answer went out: the outbox row is `sent` and the ticket shows it as an outgoing
    /// message (same Message-ID, so the customer's reply threads onto it). Nothing is written
    /// when the lease was lost: the row belongs to whoever took it over.
    pub async fn mark_reply_sent(
        &self,
        lease: &ReplyLease,
        reply: &ReplyView,
        from_email: &str,
        raw: &[u8],
    ) -> Result<LeaseOutcome> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, updated_at = $1, last_error = NULL, lease_until = NULL, \
             lease_owner = NULL WHERE id = $2 AND state = 'sending' AND lease_owner = $3",
        )
        .bind(now)
        .bind(lease.id)
        .bind(&lease.token)
        .execute(&mut *tx)
        .await?;
        let outcome = LeaseOutcome::from_rows(moved.rows_affected());
        let Some(ticket_id) = reply.ticket_id.filter(|_| outcome == LeaseOutcome::Applied) else {
            tx.commit().await?;
            return Ok(outcome);
        };
        sqlx::query(
            "INSERT INTO messages (shop_id, ticket_id, dedup_key, message_id, direction, from_email, to_addrs, subject, \
             received_at, date_ms, body_text, new_text, raw, reply_decision) VALUES ($1, $2, $3, $4, 'out', $5, $6, $7, $8, $8, $9, $9, $10, 'sent') \
             ON CONFLICT (shop_id, dedup_key) DO NOTHING",
        )
        .bind(reply.shop_id)
        .bind(ticket_id)
        .bind(format!("mid:{}", reply.message_id))
        .bind(&reply.message_id)
        .bind(from_email)
        .bind(&reply.to)
        .bind(&reply.subject)
        .bind(now)
        .bind(&reply.body)
        .bind(raw.to_vec())
        .execute(&mut *tx)
        .await?;
        // What the reply carried shows with it in the conversation.
        sqlx::query(
            "INSERT INTO attachments (message_row_id, blob_hash, filename, content_type, inline, size) \
             SELECT m.id, a.blob_hash, a.filename, a.content_type, 0, a.size FROM outbox_attachments a \
             JOIN messages m ON m.shop_id = $1 AND m.dedup_key = $2 WHERE a.outbox_id = $3 \
             AND NOT EXISTS (SELECT 1 FROM attachments x WHERE x.message_row_id = m.id) ORDER BY a.id",
        )
        .bind(reply.shop_id)
        .bind(format!("mid:{}", reply.message_id))
        .bind(reply.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE tickets SET message_count = message_count + 1, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(ticket_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// A refusal before DATA that may pass later: back to `scheduled` at `due_at`, unless the
    /// lease was lost.
    pub async fn retry_reply(
        &self,
        lease: &ReplyLease,
        due_at: i64,
        error: &str,
    ) -> Result<LeaseOutcome> {
        self.leave_sending(lease, ReplyState::Scheduled, Some(due_at), error)
            .await
    }

    /// Ends a leased reply in `failed`, `uncertain` or `cancelled`, with the reason shown to
    /// employees, unless the lease was lost.
    pub async fn close_reply(
        &self,
        lease: &ReplyLease,
        state: ReplyState,
        reason: &str,
    ) -> Result<LeaseOutcome> {
        self.leave_sending(lease, state, None, reason).await
    }

    /// Moves a row out of `sending` (to `state`, due again at `due_at` when given) if it is
    /// still under `lease`.
    async fn leave_sending(
        &self,
        lease: &ReplyLease,
        state: ReplyState,
        due_at: Option<i64>,
        reason: &str,
    ) -> Result<LeaseOutcome> {
        let done = sqlx::query(
            "UPDATE outbox SET state = $1, due_at = COALESCE($2, due_at), last_error = $3, lease_until = NULL, \
             lease_owner = NULL, updated_at = $4 WHERE id = $5 AND state = 'sending' AND lease_owner = $6",
        )
        .bind(state.to_string())
        .bind(due_at)
        .bind(reason)
        .bind(now_ms())
        .bind(lease.id)
        .bind(&lease.token)
        .execute(&self.pool)
        .await?;
        Ok(LeaseOutcome::from_rows(done.rows_affected()))
    }

    pub async fn reply(&self, id: i64) -> Result<ReplyView> {
        let sql = format!(
            "SELECT {REPLY_COLUMNS} FROM outbox o JOIN shops s ON s.id = o.shop_id LEFT JOIN tickets t ON t.id = o.ticket_id WHERE o.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("reply {id}")))?;
        reply_from_row(&row)
    }

    /// Replies of a shop (all shops when None), or of one ticket, newest first.
    pub async fn replies(
        &self,
        shop_id: Option<i64>,
        ticket_id: Option<i64>,
        state: Option<ReplyState>,
    ) -> Result<Vec<ReplyView>> {
        // Only the filters given are written: `$2 IS NULL OR o.ticket_id = $2` reads no index,
        // and a ticket page would scan the whole outbox.
        let mut filters = Vec::new();
        if shop_id.is_some() {
            filters.push(format!("o.shop_id = ${}", filters.len() + 1));
        }
        if ticket_id.is_some() {
            filters.push(format!("o.ticket_id = ${}", filters.len() + 1));
        }
        if state.is_some() {
            filters.push(format!("o.state = ${}", filters.len() + 1));
        }
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let sql = format!(
            "SELECT {REPLY_COLUMNS} FROM outbox o JOIN shops s ON s.id = o.shop_id LEFT JOIN tickets t ON t.id = o.ticket_id \
             {filter} ORDER BY o.due_at DESC, o.id DESC"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in [shop_id, ticket_id].into_iter().flatten() {
            query = query.bind(id);
        }
        if let Some(state) = state {
            query = query.bind(state.to_string());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(reply_from_row)
            .collect()
    }

    /// An employee's action on a reply: edit its text, send it now, send it again (uncertain
    /// or failed), or cancel it. Returns false when the reply is not in a state that allows it.
    pub async fn act_on_reply(&self, id: i64, action: ReplyAction<'_>) -> Result<bool> {
        let now = now_ms();
        let query = match action {
            ReplyAction::Edit(body) => sqlx::query(
                "UPDATE outbox SET body_text = $1, updated_at = $2 WHERE id = $3 AND state IN ('scheduled', 'shadow', 'failed', 'uncertain')",
            )
            .bind(body.to_string()),
            ReplyAction::SendNow => sqlx::query(
                "UPDATE outbox SET state = 'scheduled', due_at = $1, updated_at = $2 WHERE id = $3 \
                 AND state IN ('scheduled', 'shadow', 'failed', 'uncertain', 'cancelled')",
            )
            .bind(now),
            ReplyAction::Cancel => sqlx::query(
                "UPDATE outbox SET state = 'cancelled', last_error = $1, updated_at = $2 WHERE id = $3 AND state IN ('scheduled', 'shadow')",
            )
            .bind("cancelled by an employee"),
        };
        Ok(query
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    pub async fn shop_templates(&self, shop_id: i64) -> Result<Vec<StoredTemplate>> {
        sqlx::query("SELECT intent, lang, body, needs, when_complete FROM reply_templates WHERE shop_id = $1 ORDER BY intent, lang")
            .bind(shop_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let intent: String = row.try_get("intent")?;
                Ok(StoredTemplate {
                    lang: decode_column(row, "lang", "reply template", &intent)?,
                    intent,
                    body: row.try_get("body")?,
                    needs: row
                        .try_get::<String, _>("needs")?
                        .lines()
                        .map(str::to_string)
                        .collect(),
                    when_complete: row.try_get("when_complete")?,
                })
            })
            .collect()
    }

    pub async fn save_template(&self, shop_id: i64, template: &StoredTemplate) -> Result<()> {
        sqlx::query(
            "INSERT INTO reply_templates (shop_id, intent, lang, body, needs, when_complete, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (shop_id, intent, lang) DO UPDATE SET body = excluded.body, needs = excluded.needs, \
             when_complete = excluded.when_complete, updated_at = excluded.updated_at",
        )
        .bind(shop_id)
        .bind(&template.intent)
        .bind(template.lang.code())
        .bind(&template.body)
        .bind(template.needs.join("\n"))
        .bind(&template.when_complete)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Back to the shipped template; false when the shop had not edited it.
    pub async fn reset_template(&self, shop_id: i64, intent: &str, lang: &str) -> Result<bool> {
        Ok(sqlx::query(
            "DELETE FROM reply_templates WHERE shop_id = $1 AND intent = $2 AND lang = $3",
        )
        .bind(shop_id)
        .bind(intent)
        .bind(lang)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// Customer messages dated since `since_ms` with their triage, for `replay`.
    pub async fn messages_since(&self, shop_id: i64, since_ms: i64) -> Result<Vec<PendingMessage>> {
        let sql = format!(
            "{PENDING_SELECT} WHERE m.shop_id = $1 AND m.direction = 'in' AND COALESCE(m.date_ms, m.received_at) >= $2 \
             ORDER BY COALESCE(m.date_ms, m.received_at), m.id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(pending_from_row)
            .collect()
    }
}

const PENDING_SELECT: &str = "SELECT m.id, m.shop_id, m.ticket_id, t.number, t.subject AS ticket_subject, t.status, t.case_file, \
     m.mailbox_id, m.message_id, m.from_email, m.from_name, m.subject, m.date_ms, m.received_at, m.new_text, m.triage, m.automation, \
     (SELECT COUNT(*) FROM attachments a WHERE a.message_row_id = m.id AND a.content_type LIKE 'image/%') AS images \
     FROM messages m JOIN tickets t ON t.id = m.ticket_id";

/// An employee's action on an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction<'a> {
    Edit(&'a str),
    SendNow,
    Cancel,
}

/// 14 days of trial for a new shop.
pub const TRIAL_MS: i64 = 14 * 24 * 3600 * 1000;

async fn insert_reply(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    reply: &NewReply,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (shop_id, ticket_id, reply_to_message, kind, intent, lang, state, due_at, to_email, to_name, subject, \
         body_text, message_id, created_at, updated_at) \
         VALUES ($13, $14, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) ON CONFLICT DO NOTHING",
    )
    .bind(reply.reply_to_message)
    .bind(reply.kind.to_string())
    .bind(&reply.intent)
    .bind(reply.lang.code())
    .bind(reply.state.to_string())
    .bind(reply.due_at)
    .bind(&reply.to_email)
    .bind(&reply.to_name)
    .bind(&reply.subject)
    .bind(&reply.body_text)
    .bind(&reply.message_id)
    .bind(now)
    .bind(reply.shop_id)
    .bind(reply.ticket_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn pending_from_row(row: &sqlx::any::AnyRow) -> Result<PendingMessage> {
    Ok(PendingMessage {
        id: row.try_get("id")?,
        shop_id: row.try_get("shop_id")?,
        ticket_id: row.try_get("ticket_id")?,
        ticket_number: row.try_get("number")?,
        ticket_subject: row.try_get("ticket_subject")?,
        ticket_status: decode_column(row, "status", "ticket", row.try_get::<i64, _>("number")?)?,
        case_file: row.try_get("case_file")?,
        mailbox_id: row.try_get("mailbox_id")?,
        message_id: row.try_get("message_id")?,
        from_email: row.try_get("from_email")?,
        from_name: row.try_get("from_name")?,
        subject: row.try_get("subject")?,
        date_ms: row.try_get("date_ms")?,
        received_at: row.try_get("received_at")?,
        new_text: row.try_get("new_text")?,
        triage: super::decode_optional_json(
            "messages",
            row.try_get("id")?,
            "triage",
            row.try_get("triage")?,
        )?,
        automation: super::decode_optional_json(
            "messages",
            row.try_get("id")?,
            "automation",
            row.try_get("automation")?,
        )?
        .unwrap_or_default(),
        has_image: row.try_get::<i64, _>("images")? > 0,
    })
}

/// What an answer quotes and threads onto: the customer's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalMessage {
    pub from_email: String,
    pub from_name: Option<String>,
    pub text: String,
    pub date_ms: i64,
    pub message_id: Option<String>,
    pub references: Vec<String>,
}

impl Store {
    pub async fn original_for_reply(&self, message_row_id: i64) -> Result<Option<OriginalMessage>> {
        sqlx::query(
            "SELECT from_email, from_name, body_text, date_ms, received_at, message_id, refs FROM messages WHERE id = $1",
        )
        .bind(message_row_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| {
            Ok(OriginalMessage {
                from_email: row.try_get("from_email")?,
                from_name: row.try_get("from_name")?,
                text: row.try_get("body_text")?,
                date_ms: row
                    .try_get::<Option<i64>, _>("date_ms")?
                    .unwrap_or(row.try_get("received_at")?),
                message_id: row.try_get("message_id")?,
                references: row
                    .try_get::<String, _>("refs")?
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            })
        })
        .transpose()
    }

    /// A ticket's case file (JSON) and its automatic answers, for `tickets show`.
    pub async fn ticket_answers(
        &self,
        shop_id: i64,
        number: i64,
    ) -> Result<(Option<String>, Vec<ReplyView>)> {
        let row =
            sqlx::query("SELECT id, case_file FROM tickets WHERE shop_id = $1 AND number = $2")
                .bind(shop_id)
                .bind(number)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("ticket {number}")))?;
        let mut replies = self
            .replies(Some(shop_id), Some(row.try_get("id")?), None)
            .await?;
        replies.reverse();
        Ok((row.try_get("case_file")?, replies))
    }

    /// The mailbox a message came in through.
    pub async fn message_mailbox(&self, message_row_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query("SELECT mailbox_id FROM messages WHERE id = $1")
            .bind(message_row_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get::<Option<i64>, _>("mailbox_id"))
            .transpose()?
            .flatten())
    }

    /// Automatic answers to `email` (any case) that went since `since_ms` or are going now,
    /// on any ticket of the shop, with those scheduled on other tickets than `ticket_id` (a
    /// scheduled one on that ticket is cancelled by the message being decided).
    pub async fn auto_replies_to_since(
        &self,
        shop_id: i64,
        email: &str,
        since_ms: i64,
        ticket_id: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox WHERE shop_id = $1 AND LOWER(to_email) = $2 \
             AND kind IN ('answer', 'ask') AND ((state IN ('sent', 'uncertain') AND COALESCE(sent_at, updated_at) >= $3) \
             OR state = 'sending' OR (state = 'scheduled' AND ticket_id <> $4))",
        )
        .bind(shop_id)
        .bind(email.trim().to_lowercase())
        .bind(since_ms)
        .bind(ticket_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }
}
