//! The nodes sharing this database: each running supervisor records a heartbeat, which
//! `guichet status`, `/metrics` and the admin page read.

use super::{Result, Store, now_ms};

/// A node as last heard of.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NodeRow {
    pub name: String,
    pub version: String,
    pub started_at: i64,
    pub last_heartbeat: i64,
}

impl Store {
    /// Records that node `name` (this version, started at `started_at`) is alive now.
    pub async fn record_heartbeat(&self, name: &str, version: &str, started_at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO nodes (name, version, started_at, last_heartbeat) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
             started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat",
        )
        .bind(name)
        .bind(version)
        .bind(started_at)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The nodes heard of at or after `since` (Unix ms), by name.
    pub async fn nodes_seen_since(&self, since: i64) -> Result<Vec<NodeRow>> {
        Ok(sqlx::query_as(
            "SELECT name, version, started_at, last_heartbeat FROM nodes \
             WHERE last_heartbeat >= $1 ORDER BY name",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }
}
