//! The job queue on SQLite and PostgreSQL: what a node does with jobs, including kinds it does
//! not know.

use guichet::store::{RETRAIN_INTENTS, Store, now_ms};

use crate::store::{incoming, parsed};
use crate::support::store_tests;

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

    let ran = guichet::worker::run_due_jobs(&store, "old-node", Default::default())
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
        guichet::worker::run_due_jobs(&store, "old-node", Default::default())
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.shop_jobs(shop.id).await.unwrap().len(), 2);
}

store_tests!(unknown_kind_suite =>
    unknown_job_kind_is_left_for_another_node_sqlite,
    unknown_job_kind_is_left_for_another_node_postgres);

/// Makes every new job fail to insert, as a crash or a lost connection would between two
/// statements: what must happen together then visibly happens together or not at all.
async fn refuse_new_jobs(url: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let statements: &[&'static str] = if url.starts_with("sqlite:") {
        &[
            "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'no new jobs'); END",
        ]
    } else {
        &[
            "CREATE FUNCTION refuse_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no new jobs'; END $$",
            "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_jobs()",
        ]
    };
    for statement in statements {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

async fn retraining_suite(store: Store, url: &str) {
    let shop = store.add_shop("boutique").await.unwrap();
    let message = incoming(
        &store,
        parsed("c1@client", "alice@client.test", "Ma commande", now_ms()),
        &[],
    );
    store
        .file_batch(shop.id, None, None, None, &[message])
        .await
        .unwrap();
    let message_id = store.ticket(shop.id, 1001).await.unwrap().1[0].id;
    let retrain_jobs = |store: Store| async move {
        store
            .shop_jobs(shop.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == RETRAIN_INTENTS)
            .collect::<Vec<_>>()
    };

    // The store call alone leaves the retraining behind: no caller has to remember it.
    store
        .correct_intent(shop.id, message_id, "refund", "Julie")
        .await
        .unwrap();
    let jobs = retrain_jobs(store.clone()).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    store.finish_job(jobs[0].id).await.unwrap();

    // When the job cannot be written, neither is the correction: a crash between the two can
    // no longer keep a correction that no retraining will ever learn.
    refuse_new_jobs(url).await;
    assert!(
        store
            .correct_intent(shop.id, message_id, "invoice", "Paul")
            .await
            .is_err()
    );
    let (ticket, messages) = store.ticket(shop.id, 1001).await.unwrap();
    assert_eq!(messages[0].triage.as_ref().unwrap().intent, "refund");
    assert_eq!(ticket.intent.as_deref(), Some("refund"));
    let examples = store.shop_examples(shop.id).await.unwrap();
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0].intent, "refund");

    // The same for a new intent and its examples.
    let lines: Vec<String> = (1..=5)
        .map(|i| format!("tarif de gros pour {i}00 pièces"))
        .collect();
    assert!(
        store
            .add_custom_intent(shop.id, "wholesale", "Vente en gros", "Wholesale", &lines)
            .await
            .is_err()
    );
    let intents = store
        .shop_intents(shop.id, guichet::model::UiLang::En)
        .await
        .unwrap();
    assert!(intents.iter().all(|i| i.id != "wholesale"));
    assert_eq!(store.shop_examples(shop.id).await.unwrap().len(), 1);
    assert!(retrain_jobs(store.clone()).await.is_empty());
}

store_tests!(at retraining_suite =>
    retraining_is_scheduled_with_the_correction_sqlite,
    retraining_is_scheduled_with_the_correction_postgres);
