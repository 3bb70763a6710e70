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

/// The first key of the advisory locks that say which node plans a shop's answers ("plan"); the
/// second key is the shop's id. Its two-key form never meets the migration lock's one key.
const PLANNING_LOCK: i32 = 0x706c_616e;

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

/// A database session of its own in which a node claims, one shop at a time, the planning of
/// shops' automatic answers, so that several nodes plan different shops instead of all
/// deciding the same messages (and racing over each shop's quota). A claim is a session-level
/// advisory lock: a node that dies or loses its connection releases its claims with the
/// session, and dropping the session (a pass cut short) closes its connection, releasing them
/// too. A claim only spares work: deciding a message stays once-only by itself.
pub struct PlanningClaims(Option<sqlx::PgConnection>);

impl PlanningClaims {
    /// Claims the planning of `shop_id` unless another node's session holds it: true when
    /// this session may plan the shop now. Always true on SQLite (one node).
    pub async fn claim(&mut self, shop_id: i64) -> Result<bool> {
        let Some(session) = &mut self.0 else {
            return Ok(true);
        };
        Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(PLANNING_LOCK)
            .bind(planning_key(shop_id))
            .fetch_one(session)
            .await?)
    }

    /// Gives a claimed shop back, for the next node (or this one) to plan its next messages.
    pub async fn release(&mut self, shop_id: i64) -> Result<()> {
        if let Some(session) = &mut self.0 {
            sqlx::query("SELECT pg_advisory_unlock($1, $2)")
                .bind(PLANNING_LOCK)
                .bind(planning_key(shop_id))
                .execute(session)
                .await?;
        }
        Ok(())
    }

    /// Ends the session, and with it every claim it still holds.
    pub async fn close(self) -> Result<()> {
        if let Some(session) = self.0 {
            session.close().await?;
        }
        Ok(())
    }
}

/// A shop's id as the lock's second key (ids are far below 2^31; a larger one shares a key
/// with another shop, which only makes the two shops take turns).
fn planning_key(shop_id: i64) -> i32 {
    shop_id as i32
}

impl Store {
    /// A session for [`PlanningClaims`]: its own connection on PostgreSQL (outside the pool,
    /// so a claim never stays behind on a pooled connection), nothing on SQLite.
    pub async fn planning_claims(&self) -> Result<PlanningClaims> {
        Ok(PlanningClaims(match &self.postgres {
            Some(pool) => Some(pool.acquire().await?.detach()),
            None => None,
        }))
    }

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
