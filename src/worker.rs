//! Runs due jobs from the queue. Each kind of job has one handler here.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use crate::runtime::LeaseTimings;
use crate::runtime::lease::while_held;
use crate::store::{Job, Store, StoreError, now_ms};

/// A month counts 30 days for retention.
const MONTH_MS: i64 = 30 * 24 * 3600 * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// How long a job of a kind this node does not know waits before any node may take it again.
/// Short: in a rolling upgrade a node that knows the kind is usually running beside this one.
const UNKNOWN_KIND_PAUSE_MS: i64 = 60 * 1000;

/// Runs every job due now; returns how many ran. A job of a kind this version does not know is
/// put back in the queue untouched and not counted. Each job's lease is renewed while it runs;
/// a job whose lease is lost is stopped where it is and left to the node that took it.
pub async fn run_due_jobs(
    store: &Store,
    owner: &str,
    leases: LeaseTimings,
) -> Result<usize, StoreError> {
    let mut ran = 0;
    loop {
        let asked_at = tokio::time::Instant::now();
        let Some(job) = store.lease_due_job(owner, leases.lease_ms()).await? else {
            break;
        };
        let held = while_held(
            leases,
            asked_at,
            || store.renew_job_lease(job.id, owner, leases.lease_ms()),
            run_job(store, &job),
        )
        .await;
        let Ok(outcome) = held else {
            tracing::warn!(job = job.id, kind = %job.kind, "job lease lost: job stopped, left to the node holding it");
            continue;
        };
        if !matches!(outcome, Ok(Outcome::UnknownKind)) {
            ran += 1;
        }
        match outcome {
            Ok(Outcome::Done) => store.finish_job(job.id).await?,
            Ok(Outcome::Again(run_at)) => store.reschedule_job(job.id, run_at, None).await?,
            Ok(Outcome::UnknownKind) => {
                note_unknown_kind(&job);
                store
                    .postpone_job(job.id, now_ms() + UNKNOWN_KIND_PAUSE_MS)
                    .await?;
            }
            Err(e) => {
                // Backoff grows with the attempts, capped at a day.
                let delay = (60_000 * 2i64.pow(job.attempts.clamp(0, 10) as u32)).min(DAY_MS);
                tracing::warn!(job = job.id, kind = %job.kind, error = %e, "job failed, will retry");
                store
                    .reschedule_job(job.id, now_ms() + delay, Some(&e.to_string()))
                    .await?;
            }
        }
    }
    Ok(ran)
}

/// What a shop's model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trained {
    pub total: usize,
    pub examples: usize,
    pub corrections: usize,
}

/// Retrains a shop's intent model from the shipped corpus, its examples and corrections, and
/// saves it; the next messages filed use it.
pub async fn retrain_shop_model(store: &Store, shop_id: i64) -> Result<Trained, StoreError> {
    let examples = store.shop_examples(shop_id).await?;
    let corrections = examples.iter().filter(|e| e.correction).count();
    let own = examples.len() - corrections;
    let started = now_ms();
    // Training is seconds of CPU: keep it off the async threads.
    let (model, total) = tokio::task::spawn_blocking(move || {
        crate::triage::train_shop_model(&examples).map(|(model, total)| (model.to_bytes(), total))
    })
    .await
    .map_err(|e| StoreError::Invalid(format!("training stopped: {e}")))?
    .map_err(|e| StoreError::Invalid(e.to_string()))?;
    store
        .save_shop_model(shop_id, &model, own as i64, corrections as i64, started)
        .await?;
    tracing::info!(shop_id, own, corrections, "shop intent model retrained");
    Ok(Trained {
        total,
        examples: own,
        corrections,
    })
}

/// What became of a job this node took.
enum Outcome {
    Done,
    /// It repeats: run it again then.
    Again(i64),
    /// A newer Guichet made it: left for a node that knows it.
    UnknownKind,
}

/// Warns once per kind and process: the same job comes back every pause for as long as the
/// upgrade lasts, and one line says all there is to say.
fn note_unknown_kind(job: &Job) {
    static WARNED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
    let first = WARNED
        .lock()
        .map(|mut kinds| kinds.insert(job.kind.clone()))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            job = job.id,
            kind = %job.kind,
            "job kind unknown to this version, left for a node that knows it"
        );
    } else {
        tracing::debug!(job = job.id, kind = %job.kind, "unknown job kind left alone again");
    }
}

/// Runs one job.
async fn run_job(store: &Store, job: &Job) -> Result<Outcome, StoreError> {
    match job.kind.as_str() {
        crate::store::PURGE_RETENTION => {
            let Some(shop_id) = job.shop_id else {
                return Ok(Outcome::Done);
            };
            let Some(months) = store.shop_retention(shop_id).await? else {
                return Ok(Outcome::Done);
            };
            let purged = store
                .purge_tickets_before(shop_id, now_ms() - months * MONTH_MS)
                .await?;
            tracing::info!(shop_id, months, purged, "retention purge");
            // Blobs of earlier deletions the blob store failed on get another try.
            if let Err(e) = store.sweep_pending_blobs().await {
                tracing::warn!(error = %e, "blobs of deleted messages not swept yet");
            }
            Ok(Outcome::Again(now_ms() + DAY_MS))
        }
        crate::store::RETRAIN_INTENTS => {
            let Some(shop_id) = job.shop_id else {
                return Ok(Outcome::Done);
            };
            let started = now_ms();
            retrain_shop_model(store, shop_id).await?;
            // Corrections made while training are not in this model: train again.
            let changed = store.shop_training_changed_at(shop_id).await?;
            Ok(if changed >= started {
                Outcome::Again(now_ms())
            } else {
                Outcome::Done
            })
        }
        _ => Ok(Outcome::UnknownKind),
    }
}
