//! The job queue: everything that happens later is a row with a `run_at`, leased by a worker.
//! A crash loses no job (the lease expires and another worker takes it); several nodes share it.

use sqlx::Row;

use super::{Dialect, Result, Store, now_ms};

/// Deletes a shop's tickets older than its retention, then runs again a day later.
pub const PURGE_RETENTION: &str = "purge_retention";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub shop_id: Option<i64>,
    pub payload: String,
    pub attempts: i64,
}

/// A job as it waits in the queue, for display and checks.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueuedJob {
    pub id: i64,
    pub kind: String,
    pub run_at: i64,
    pub attempts: i64,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

/// Schedules the one job of `kind` for a shop, unless it already exists, on `conn`: inside a
/// transaction, the job exists exactly when the change that needs it is committed.
pub(super) async fn schedule_unique_job_in(
    conn: &mut sqlx::AnyConnection,
    kind: &str,
    shop_id: i64,
    run_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, shop_id, unique_key, run_at, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (kind, unique_key) DO NOTHING",
    )
    .bind(kind)
    .bind(shop_id)
    .bind(format!("shop:{shop_id}"))
    .bind(run_at)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Schedules the one job of `kind` for a shop, unless it already exists.
    pub async fn schedule_unique_job(&self, kind: &str, shop_id: i64, run_at: i64) -> Result<()> {
        schedule_unique_job_in(&mut *self.pool.acquire().await?, kind, shop_id, run_at).await
    }

    /// Leases the most overdue job for `lease_ms`, if any is due.
    pub async fn lease_due_job(&self, owner: &str, lease_ms: i64) -> Result<Option<Job>> {
        let now = now_ms();
        let sql = match self.dialect {
            // One writer at a time on SQLite, so a plain sub-select cannot hand a job out twice.
            Dialect::Sqlite => {
                "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 WHERE id = (\
                 SELECT id FROM jobs WHERE run_at <= $3 AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at LIMIT 1) \
                 RETURNING id, kind, shop_id, payload, attempts"
            }
            Dialect::Postgres => {
                "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 WHERE id = (\
                 SELECT id FROM jobs WHERE run_at <= $3 AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at LIMIT 1 \
                 FOR UPDATE SKIP LOCKED) RETURNING id, kind, shop_id, payload, attempts"
            }
        };
        let mut tx = self.begin_write().await?;
        let job = sqlx::query_as(sql)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(job)
    }

    /// When the job runner next has something to do (Unix ms; None for an empty queue): the
    /// soonest `run_at`, or the end of the lease another worker holds on it.
    pub async fn next_job_due(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN lease_until > run_at THEN lease_until ELSE run_at END) AS due FROM jobs",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("due")?)
    }

    /// Extends `owner`'s lease on a job it runs by `lease_ms` from now; false when the job is
    /// no longer leased to it (its lease ran out and another node took it, or it was deleted).
    pub async fn renew_job_lease(&self, id: i64, owner: &str, lease_ms: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3")
                .bind(now_ms() + lease_ms)
                .bind(id)
                .bind(owner)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn finish_job(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Releases the job to run again at `run_at`, keeping `error` (if any) for display.
    pub async fn reschedule_job(&self, id: i64, run_at: i64, error: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE jobs SET run_at = $1, lease_owner = NULL, lease_until = NULL, last_error = $2 WHERE id = $3")
            .bind(run_at)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A shop's jobs, soonest first.
    pub async fn shop_jobs(&self, shop_id: i64) -> Result<Vec<QueuedJob>> {
        Ok(sqlx::query_as(
            "SELECT id, kind, run_at, attempts, lease_owner, last_error FROM jobs WHERE shop_id = $1 ORDER BY run_at, id",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Puts a job back untouched for `run_at`: its lease is released and the attempt the lease
    /// counted is taken back, as nothing was tried.
    pub async fn postpone_job(&self, id: i64, run_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET run_at = $1, lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 WHERE id = $2",
        )
        .bind(run_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn shop_retention(&self, shop_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT retention_months FROM shops WHERE id = $1")
            .bind(shop_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("retention_months")?,
            None => None,
        })
    }
}
