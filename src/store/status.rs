//! What the cluster's state is made of, read for `guichet status`, `/metrics` and the admin
//! status page: who holds each mailbox, each folder's last sync, the depth of the queues and
//! the last errors. `shop` None reads every shop (an operator); Some reads one shop only.

use super::{Result, Store, now_ms};

/// A mailbox's lease and last sync, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MailboxLeaseRow {
    pub mailbox_id: i64,
    pub shop_name: String,
    pub email: String,
    /// The folders watched, one per line.
    pub folders: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
}

/// A folder's checkpoint with its sync state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FolderSyncRow {
    pub mailbox_id: i64,
    pub folder: String,
    pub synced_at: Option<i64>,
    pub unfiled: i64,
}

/// How many rows wait in each queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    /// Jobs whose time has come.
    pub jobs_due: i64,
    /// Jobs whose last attempt failed and that wait for a retry.
    pub jobs_retrying: i64,
    /// Answers whose time has come, not yet taken by a sender.
    pub answers_due: i64,
    /// Answers waiting for a later time.
    pub answers_scheduled: i64,
    /// Answers being sent now.
    pub answers_sending: i64,
    /// Answers that may or may not have arrived, waiting for an employee.
    pub answers_uncertain: i64,
    /// Answers refused for good.
    pub answers_failed: i64,
}

/// A job whose last attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedJobRow {
    pub id: i64,
    pub kind: String,
    pub shop_name: Option<String>,
    pub attempts: i64,
    pub run_at: i64,
    pub last_error: String,
}

/// An answer refused for good, with why.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedSendRow {
    pub id: i64,
    pub shop_name: String,
    pub to_email: String,
    pub updated_at: i64,
    pub last_error: String,
}

#[derive(sqlx::FromRow)]
struct QueueRecord {
    jobs_due: Option<i64>,
    jobs_retrying: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OutboxRecord {
    answers_due: Option<i64>,
    answers_scheduled: Option<i64>,
    answers_sending: Option<i64>,
    answers_uncertain: Option<i64>,
    answers_failed: Option<i64>,
}

impl Store {
    /// Each mailbox's lease and last sync, by shop and address.
    pub async fn mailbox_leases(&self, shop: Option<i64>) -> Result<Vec<MailboxLeaseRow>> {
        Ok(sqlx::query_as(
            "SELECT m.id AS mailbox_id, s.name AS shop_name, m.email, m.folders, m.lease_owner, \
             m.lease_until, m.last_sync_at, m.last_error FROM mailboxes m JOIN shops s ON s.id = m.shop_id \
             WHERE ($1 IS NULL OR m.shop_id = $1) ORDER BY s.name, m.email",
        )
        .bind(shop)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every folder checkpoint of the mailboxes in scope.
    pub async fn folder_syncs(&self, shop: Option<i64>) -> Result<Vec<FolderSyncRow>> {
        Ok(sqlx::query_as(
            "SELECT c.mailbox_id, c.folder, c.synced_at, c.unfiled FROM imap_checkpoints c \
             JOIN mailboxes m ON m.id = c.mailbox_id WHERE ($1 IS NULL OR m.shop_id = $1) \
             ORDER BY c.mailbox_id, c.folder",
        )
        .bind(shop)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records what a folder's sync pass found: `unfiled` messages on the server still to
    /// file, and, when the pass ended without error, that it is up to date now. The row it
    /// creates for a folder never synced holds no UID, like a folder without a checkpoint.
    pub async fn record_folder_sync(
        &self,
        mailbox_id: i64,
        folder: &str,
        uid_validity: u32,
        unfiled: u64,
        completed: bool,
    ) -> Result<()> {
        let synced_at = completed.then(now_ms);
        sqlx::query(
            "INSERT INTO imap_checkpoints (mailbox_id, folder, uid_validity, last_uid, synced_at, unfiled) \
             VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT (mailbox_id, folder) DO UPDATE SET \
             synced_at = COALESCE(excluded.synced_at, imap_checkpoints.synced_at), unfiled = excluded.unfiled",
        )
        .bind(mailbox_id)
        .bind(folder)
        .bind(uid_validity as i64)
        .bind(synced_at)
        .bind(unfiled as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many jobs and answers wait, now.
    pub async fn queue_counts(&self, shop: Option<i64>) -> Result<QueueCounts> {
        let now = now_ms();
        let jobs: QueueRecord = sqlx::query_as(
            "SELECT SUM(CASE WHEN run_at <= $2 THEN 1 ELSE 0 END) AS jobs_due, \
             SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END) AS jobs_retrying \
             FROM jobs WHERE ($1 IS NULL OR shop_id = $1)",
        )
        .bind(shop)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let outbox: OutboxRecord = sqlx::query_as(
            "SELECT SUM(CASE WHEN state = 'scheduled' AND due_at <= $2 THEN 1 ELSE 0 END) AS answers_due, \
             SUM(CASE WHEN state = 'scheduled' AND due_at > $2 THEN 1 ELSE 0 END) AS answers_scheduled, \
             SUM(CASE WHEN state = 'sending' THEN 1 ELSE 0 END) AS answers_sending, \
             SUM(CASE WHEN state = 'uncertain' THEN 1 ELSE 0 END) AS answers_uncertain, \
             SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS answers_failed \
             FROM outbox WHERE ($1 IS NULL OR shop_id = $1)",
        )
        .bind(shop)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueCounts {
            jobs_due: jobs.jobs_due.unwrap_or(0),
            jobs_retrying: jobs.jobs_retrying.unwrap_or(0),
            answers_due: outbox.answers_due.unwrap_or(0),
            answers_scheduled: outbox.answers_scheduled.unwrap_or(0),
            answers_sending: outbox.answers_sending.unwrap_or(0),
            answers_uncertain: outbox.answers_uncertain.unwrap_or(0),
            answers_failed: outbox.answers_failed.unwrap_or(0),
        })
    }

    /// The `limit` jobs failed most recently (they wait for a retry); shop-less jobs only
    /// when reading every shop.
    pub async fn failed_jobs(&self, shop: Option<i64>, limit: i64) -> Result<Vec<FailedJobRow>> {
        Ok(sqlx::query_as(
            "SELECT j.id, j.kind, s.name AS shop_name, j.attempts, j.run_at, j.last_error \
             FROM jobs j LEFT JOIN shops s ON s.id = j.shop_id \
             WHERE j.last_error IS NOT NULL AND ($1 IS NULL OR j.shop_id = $1) \
             ORDER BY j.run_at DESC, j.id DESC LIMIT $2",
        )
        .bind(shop)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The `limit` answers refused for good most recently.
    pub async fn failed_sends(&self, shop: Option<i64>, limit: i64) -> Result<Vec<FailedSendRow>> {
        Ok(sqlx::query_as(
            "SELECT o.id, s.name AS shop_name, o.to_email, o.updated_at, COALESCE(o.last_error, '') AS last_error \
             FROM outbox o JOIN shops s ON s.id = o.shop_id \
             WHERE o.state = 'failed' AND ($1 IS NULL OR o.shop_id = $1) \
             ORDER BY o.updated_at DESC, o.id DESC LIMIT $2",
        )
        .bind(shop)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
