//! Wake-up latency: how long a job queued by one node waits before an idle node runs it,
//!
//! - on PostgreSQL, where the commit's NOTIFY wakes the job runner (LISTEN/NOTIFY);
//! - on SQLite, where nothing can tell the node and it polls every 5 s (the default
//!   `work_interval`, the same on PostgreSQL while its listener is disconnected).
//!
//! Each trial waits a random part of the interval first, so that it lands anywhere between two
//! polls. Prints p50, p99 and max.
//!
//! Run with `cargo bench --bench wakeups` (GUICHET_BENCH_TRIALS changes the 50 trials).

#[allow(unused_imports)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use guichet::crypto::SealingKey;
use guichet::model::UiLang;
use guichet::runtime::{RuntimeOptions, Supervisor};
use guichet::store::{PURGE_RETENTION, Store, now_ms};

const WORK_INTERVAL: Duration = Duration::from_secs(5);

fn options() -> RuntimeOptions {
    RuntimeOptions {
        node_name: "idle-node".into(),
        lang: UiLang::En,
        batch_size: 50,
        poll_interval: Duration::from_secs(600),
        idle: true,
        workers: true,
        reconcile_interval: Duration::from_secs(3),
        work_interval: WORK_INTERVAL,
        shutdown_timeout: Duration::from_secs(8),
        send: Default::default(),
        shop: Default::default(),
        leases: Default::default(),
    }
}

/// Latencies of `trials` jobs queued through a second store of the database at `url` and run
/// by an idle supervisor, each queued after a random pause below `jitter`.
async fn latencies(url: &str, trials: usize, jitter: Duration) -> Vec<Duration> {
    let blobs = tempfile::tempdir().unwrap();
    let key = SealingKey::from_hex(&"42".repeat(32)).unwrap();
    let idle_node = Store::open(url, blobs.path()).await.unwrap();
    let other_node = Store::open(url, blobs.path()).await.unwrap();
    let shop_id = other_node.add_shop("bench").await.unwrap().id;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(
        Supervisor::new(idle_node.clone(), key, options()).run(async {
            let _ = stopped.await;
        }),
    );
    // Up and past its first rounds.
    let up = now_ms() - 1;
    while idle_node.nodes_seen_since(up).await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut measured = Vec::with_capacity(trials);
    for _ in 0..trials {
        tokio::time::sleep(jitter.mul_f64(rand::random::<f64>())).await;
        let queued = Instant::now();
        // The purge of a shop without retention deletes itself once run.
        other_node
            .schedule_unique_job(PURGE_RETENTION, shop_id, now_ms())
            .await
            .unwrap();
        while !other_node.shop_jobs(shop_id).await.unwrap().is_empty() {
            assert!(queued.elapsed() < Duration::from_secs(60), "job never ran");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        measured.push(queued.elapsed());
    }
    stop.send(()).unwrap();
    running.await.unwrap();
    idle_node.close().await;
    other_node.close().await;
    measured
}

fn report(label: &str, mut measured: Vec<Duration>) {
    measured.sort();
    let at = |q: f64| {
        measured[((measured.len() as f64 * q).ceil() as usize).clamp(1, measured.len()) - 1]
    };
    println!(
        "  {label:<36} p50 {:>8.1?}  p99 {:>8.1?}  max {:>8.1?}",
        at(0.50),
        at(0.99),
        measured[measured.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let trials: usize = std::env::var("GUICHET_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let work = tempfile::tempdir().unwrap();
    let postgres = support::TestDatabase::postgres();
    let notify = latencies(&postgres.url, trials, Duration::from_millis(200)).await;
    let sqlite = support::TestDatabase::sqlite(work.path());
    let polling = latencies(&sqlite.url, trials, WORK_INTERVAL).await;
    println!("job queued by one node → run by an idle node, {trials} trials:");
    report("PostgreSQL, LISTEN/NOTIFY", notify);
    report("SQLite, polling every 5 s", polling);
}
