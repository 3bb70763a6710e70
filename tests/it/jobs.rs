//! The job queue on SQLite and PostgreSQL: what a node does with jobs, including kinds it does
//! not know.

use guichet::store::{Store, now_ms};

use crate::support::TestDatabase;

/// A kind only a newer Guichet knows, as an older node meets it during a rolling upgrade.
const NEWER_KIND: &str = "from_a_newer_version";

async fn unknown_kind_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let before = now_ms();
    store
        .schedule_unique_job(NEWER_KIND, shop.id, before)
        .await
        .unwrap();
    // A known job due at the same time runs in the same pass: the unknown one blocks nothing.
    store.set_retention(shop.id, Some(12)).await.unwrap();

    let ran = guichet::worker::run_due_jobs(&store, "old-node")
        .await
        .unwrap();
    assert_eq!(ran, 1, "only the purge ran");

    let jobs = store.shop_jobs(shop.id).await.unwrap();
    let newer = jobs
        .iter()
        .find(|j| j.kind == NEWER_KIND)
        .expect("the unknown job is kept for a node that knows it");
    assert_eq!(newer.lease_owner, None, "its lease is released");
    assert_eq!(newer.attempts, 0, "leaving it alone is no failed attempt");
    assert_eq!(newer.last_error, None);
    assert!(
        newer.run_at > before && newer.run_at <= now_ms() + 5 * 60 * 1000,
        "pushed back a little, not forever: {} vs {before}",
        newer.run_at
    );
    assert!(
        jobs.iter()
            .any(|j| j.kind == guichet::store::PURGE_RETENTION)
    );

    // Pushed back, it is not due again in the next pass.
    assert_eq!(
        guichet::worker::run_due_jobs(&store, "old-node")
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.shop_jobs(shop.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn unknown_job_kind_is_left_for_another_node_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite(dir.path());
    let store = Store::open(&db.url, &dir.path().join("blobs"))
        .await
        .unwrap();
    unknown_kind_suite(store).await;
}

#[tokio::test]
async fn unknown_job_kind_is_left_for_another_node_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::postgres();
    let store = Store::open(&db.url, &dir.path().join("blobs"))
        .await
        .unwrap();
    unknown_kind_suite(store.clone()).await;
    store.close().await;
}
