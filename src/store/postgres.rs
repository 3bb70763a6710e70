//! What only PostgreSQL does, on a typed pool beside the portable one (sqlx's `Any` driver has
//! no LISTEN/NOTIFY and no typed advisory locks): the SQL here is PostgreSQL's alone, and the
//! rest of the store never needs it on SQLite.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use super::{Result, Store};

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The advisory lock nodes take to migrate one at a time ("guichet" and 1, as a bigint).
const MIGRATION_LOCK: i64 = 0x6775_6963_6865_7401;

/// Connections of the typed pool: a listener and the odd lock, beside the portable pool's eight.
const TYPED_CONNECTIONS: u32 = 2;

/// The channel the triggers of migration 0018 notify when a change gives the nodes new work.
const WAKEUP_CHANNEL: &str = "guichet_wakeups";

/// The typed pool for `database_url`, connecting on first use.
pub(super) fn typed_pool(database_url: &str) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(TYPED_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy(database_url)?)
}

/// Runs the migrations on `pool` while holding the migration lock on a session of `typed`:
/// nodes starting together on one database migrate one at a time, and each later one finds
/// the migrations applied and applies nothing. sqlx's migrator locks too (its own key, by
/// database name); this lock does not rely on that default. The lock's session is closed
/// after, which releases it even if the migration failed; a node dying mid-migration
/// releases it with its connection.
pub(super) async fn migrate_under_lock(typed: &PgPool, pool: &sqlx::AnyPool) -> Result<()> {
    let mut session = typed.acquire().await?.detach();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut session)
        .await?;
    let migrated = POSTGRES_MIGRATIONS.run(pool).await;
    let closed = session.close().await;
    migrated?;
    closed?;
    Ok(())
}

/// Which loop a committed change gives work to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wakeup {
    /// A job was queued or rescheduled.
    Jobs,
    /// An answer was scheduled or rescheduled.
    Answers,
    /// A mailbox was added, changed or removed.
    Mailboxes,
}

impl std::str::FromStr for Wakeup {
    type Err = ();

    /// The payloads the triggers send.
    fn from_str(payload: &str) -> Result<Wakeup, ()> {
        match payload {
            "jobs" => Ok(Wakeup::Jobs),
            "answers" => Ok(Wakeup::Answers),
            "mailboxes" => Ok(Wakeup::Mailboxes),
            _ => Err(()),
        }
    }
}

/// What a [`WakeupListener`] heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    Wakeup(Wakeup),
    /// The connection dropped and is back: what was notified meanwhile is lost.
    Reconnected,
}

/// A connection of the typed pool listening for wake-ups.
pub struct WakeupListener(PgListener);

impl WakeupListener {
    /// The next wake-up. An error means the connection is gone and could not be made again.
    pub async fn next(&mut self) -> Result<Heard> {
        loop {
            let Some(notification) = self.0.try_recv().await? else {
                return Ok(Heard::Reconnected);
            };
            match notification.payload().parse() {
                Ok(wakeup) => return Ok(Heard::Wakeup(wakeup)),
                // A newer version's wake-up: this node has no loop for it.
                Err(()) => {
                    tracing::debug!(payload = notification.payload(), "unknown wake-up ignored")
                }
            }
        }
    }
}

impl Store {
    /// The typed PostgreSQL pool, None on SQLite.
    pub fn postgres(&self) -> Option<&PgPool> {
        self.postgres.as_ref()
    }

    /// Listens for the wake-ups every node's changes send; None on SQLite, which has none.
    pub async fn listen_for_wakeups(&self) -> Result<Option<WakeupListener>> {
        let Some(pool) = &self.postgres else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(WAKEUP_CHANNEL).await?;
        Ok(Some(WakeupListener(listener)))
    }
}
