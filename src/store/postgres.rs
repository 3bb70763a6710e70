//! What only PostgreSQL does, on a typed pool beside the portable one (sqlx's `Any` driver has
//! no LISTEN/NOTIFY and no typed advisory locks): the SQL here is PostgreSQL's alone, and the
//! rest of the store never needs it on SQLite.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{Result, Store};

/// Connections of the typed pool: a listener and the odd lock, beside the portable pool's eight.
const TYPED_CONNECTIONS: u32 = 2;

/// The typed pool for `database_url`, connecting on first use.
pub(super) fn typed_pool(database_url: &str) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(TYPED_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy(database_url)?)
}

impl Store {
    /// The typed PostgreSQL pool, None on SQLite.
    pub fn postgres(&self) -> Option<&PgPool> {
        self.postgres.as_ref()
    }
}
