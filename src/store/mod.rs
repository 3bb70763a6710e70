//! The only code that writes SQL. One [`Store`] over SQLite (default) or PostgreSQL, with the same
//! portable SQL for both (`$1` placeholders, `RETURNING`, `ON CONFLICT`); what differs per dialect
//! (migrations, full-text search, job leasing) is chosen from [`Dialect`].

mod blobs;
mod contact_forms;
mod employees;
mod jobs;
mod mailboxes;
mod message_sources;
mod nodes;
mod orders;
mod postgres;
mod replies;
mod seed;
mod shop_data;
mod shops;
mod stats;
mod status;
mod ticket_events;
mod ticket_list;
mod tickets;
mod triage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use blobs::{
    BLOB_SWEEP_GRACE, BlobLocation, BlobStore, DEFAULT_BLOB_TIMEOUT, ObjectFailure, S3Settings,
    sha256_hex,
};
pub use contact_forms::{
    ContactFormSettings, DEFAULT_ATTACHMENT_TYPES, DEFAULT_MAX_ATTACHMENT_BYTES,
};
pub use employees::{
    ApiTokenInfo, Employee, NewEmployee, StoredApiToken, StoredSession, TeamChange,
};
pub use jobs::{Job, PURGE_RETENTION, QueuedJob};
pub use mailboxes::{Checkpoint, FolderPosition, MailboxRow, NewMailbox, ReconnectNotice};
pub use message_sources::MessageAttachment;
pub use nodes::NodeRow;
pub use orders::StoredOrder;
pub use postgres::{Heard, PlanningClaims, Wakeup, WakeupListener};
pub use replies::{
    DecisionRecord, LeaseOutcome, LeasedReply, MonthKey, NewReply, OriginalMessage, PendingMessage,
    ReplyAction, ReplyLease, ReplySettings, ReplyView, StoredTemplate, TRIAL_MS,
};
pub use seed::{SeedMessage, SeedReply, SeedTicket};
pub use shop_data::{ConnectionCheck, CustomerFetch, StoredConnection, StoredCustomer};
pub use shops::{Contact, NewContact, Shop};
pub use stats::{
    Counted, EmployeeActivity, GroupCount, GroupedBy, QUARTER_MS, QuarterCount, ShadowCount,
    ShadowDraft, StatusEntry, TicketTimes, TimedStatus,
};
pub use status::{FailedJobRow, FailedSendRow, FolderSyncRow, MailboxLeaseRow, QueueCounts};
pub use ticket_events::{
    Activity, Colleague, EmployeeRef, EventKind, EventView, PRESENCE_MS, ReplyAttachment,
    TicketEvent, TicketState,
};
pub use ticket_list::{
    Assignee, AssigneeMatch, AutoAnswer, ContactSection, EXCERPT_CHARS, ListCursor, ListPage,
    ListRequest, MAX_SEARCH_WORDS, Presence, PresenceActivity, TicketRow, TicketSort, search_words,
};
pub use tickets::{
    AttachmentView, FileOutcome, Incoming, IncomingAttachment, MessageView, TicketView,
};
pub use triage::{IntentSetting, RETRAIN_INTENTS, ShopModelInfo};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("blob storage error at {path}: {source}")]
    Blob {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The S3-compatible blob store failed; the text never holds a credential.
    #[error("blob store {location}: {failure}")]
    ObjectStore {
        location: String,
        failure: ObjectFailure,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    Invalid(String),
    /// The lease the work was done under is another node's now: nothing was written.
    #[error("lease on {0} lost to another node")]
    LeaseLost(String),
    /// A stored value that does not decode: the row is named so it can be repaired.
    #[error("corrupt {column} in {table} row {id}: {reason}")]
    Corrupt {
        table: &'static str,
        id: i64,
        column: &'static str,
        reason: String,
    },
    /// A column holds a value this version does not know (written by hand, or by a newer one).
    #[error("{table} {row}: unknown {column} \"{value}\"")]
    UnknownValue {
        table: &'static str,
        row: String,
        column: &'static str,
        value: String,
    },
}

/// Reads a column holding one of an enum's names, decoded once here: an unknown value is an
/// error naming the row, never a silent default.
pub(crate) fn decode_column<T: std::str::FromStr>(
    row: &sqlx::any::AnyRow,
    column: &'static str,
    table: &'static str,
    row_name: impl std::fmt::Display,
) -> Result<T> {
    use sqlx::Row;
    decode_name(row.try_get(column)?, column, table, row_name)
}

/// One of an enum's names read from `column` of the row named `row_name`.
pub(crate) fn decode_name<T: std::str::FromStr>(
    value: String,
    column: &'static str,
    table: &'static str,
    row_name: impl std::fmt::Display,
) -> Result<T> {
    value.parse().map_err(|_| StoreError::UnknownValue {
        table,
        row: row_name.to_string(),
        column,
        value,
    })
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    blobs: BlobStore,
    triagers: triage::TriagerCache,
    /// The typed pool of what only PostgreSQL does (see `postgres.rs`); None on SQLite.
    postgres: Option<sqlx::PgPool>,
}

/// Milliseconds since the Unix epoch, the store's only time format.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl Store {
    /// Answers when the database does (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Connects, runs the migrations of the dialect, and uses `blob_dir` for attachments.
    pub async fn open(database_url: &str, blob_dir: &Path) -> Result<Store> {
        Self::open_with_blobs(database_url, BlobStore::new(blob_dir.to_path_buf())).await
    }

    /// Connects, runs the migrations of the dialect, and keeps attachments in `blobs`.
    pub async fn open_with_blobs(database_url: &str, blobs: BlobStore) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = if database_url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        };
        if let Some(dir) = sqlite_file(database_url).as_deref().and_then(Path::parent) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Blob {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let options: AnyConnectOptions = database_url.parse()?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30));
        let pool = match dialect {
            Dialect::Sqlite => {
                pool_options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the single writer; NORMAL keeps every
                            // commit through a process crash; the timeout makes writers queue.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 15000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Dialect::Postgres => pool_options.connect_with(options).await?,
        };
        let postgres = match dialect {
            Dialect::Sqlite => {
                // SQLite's own file lock serialises the migrations of several processes.
                SQLITE_MIGRATIONS.run(&pool).await?;
                None
            }
            Dialect::Postgres => {
                let typed = postgres::typed_pool(database_url)?;
                postgres::migrate_under_lock(&typed, &pool).await?;
                Some(typed)
            }
        };
        Ok(Store {
            pool,
            dialect,
            blobs,
            triagers: Default::default(),
            postgres,
        })
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// A write transaction. On SQLite it takes the write lock at once, so two writers queue on
    /// the busy timeout instead of failing when one upgrades a stale read snapshot.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(typed) = &self.postgres {
            typed.close().await;
        }
    }
}

fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Decodes a JSON column of row `id`; a value that does not decode is [`StoreError::Corrupt`],
/// never an empty value.
fn decode_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    id: i64,
    column: &'static str,
    json: &str,
) -> Result<T> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        table,
        id,
        column,
        reason: e.to_string(),
    })
}

/// [`decode_json`] for a nullable column: NULL is `None`.
fn decode_optional_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    id: i64,
    column: &'static str,
    json: Option<String>,
) -> Result<Option<T>> {
    json.map(|json| decode_json(table, id, column, &json))
        .transpose()
}

/// True when the error is a unique-constraint violation (both dialects).
fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}
