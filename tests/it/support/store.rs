//! Stores for the tests: a fresh one on each SQL dialect, the one of a `guichet` data dir, and
//! a sync pass over it.

use std::path::Path;

use guichet::crypto::SealingKey;
use guichet::intake::sync::{self, FolderSummary, LogProgress, SyncOptions};
use guichet::model::UiLang;
use guichet::store::Store;

use super::TestDatabase;

/// Writes `sql` on the database at `url` behind the store's back, as a person editing the
/// database (or another version of Guichet) would.
pub async fn write_behind(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// The SQL dialects the store runs on; a test that touches the store runs on both.
#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Runs `suite` on a fresh store of `dialect` (a database and a blob dir of its own), then
/// closes the store.
pub async fn on_store(dialect: Dialect, suite: impl AsyncFnOnce(Store)) {
    on_store_at(dialect, async |store, _| suite(store).await).await;
}

/// [`on_store`] for a suite that also reaches the database by its URL.
pub async fn on_store_at(dialect: Dialect, suite: impl AsyncFnOnce(Store, &str)) {
    on_database(dialect, async |url, blobs| {
        let store = Store::open(url, blobs).await.unwrap();
        suite(store.clone(), url).await;
        store.close().await;
    })
    .await;
}

/// Runs `suite(url, blobs)` on a fresh database of `dialect` and a blob dir of its own, for a
/// suite that opens its stores itself (several nodes on one database, say).
pub async fn on_database(dialect: Dialect, suite: impl AsyncFnOnce(&str, &Path)) {
    let dir = tempfile::tempdir().unwrap();
    let db = match dialect {
        Dialect::Sqlite => TestDatabase::sqlite(dir.path()),
        Dialect::Postgres => TestDatabase::postgres(),
    };
    suite(&db.url, &dir.path().join("blobs")).await;
}

/// The two tests of a store suite, one per dialect: `store_tests!(suite => name_sqlite,
/// name_postgres)` runs `suite(store)` through [`on_store`]; `store_tests!(at suite => …)`
/// runs `suite(store, url)` through [`on_store_at`]; `store_tests!(url suite => …)` runs
/// `suite(url, blobs)` through [`on_database`].
macro_rules! store_tests {
    ($suite:path => $sqlite:ident, $postgres:ident) => {
        $crate::support::store_tests!(@with on_store, $suite => $sqlite, $postgres);
    };
    (at $suite:path => $sqlite:ident, $postgres:ident) => {
        $crate::support::store_tests!(@with on_store_at, $suite => $sqlite, $postgres);
    };
    (url $suite:path => $sqlite:ident, $postgres:ident) => {
        $crate::support::store_tests!(@with on_database, $suite => $sqlite, $postgres);
    };
    (@with $runner:ident, $suite:path => $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $crate::support::$runner($crate::support::Dialect::Sqlite, $suite).await;
        }

        #[tokio::test]
        async fn $postgres() {
            $crate::support::$runner($crate::support::Dialect::Postgres, $suite).await;
        }
    };
}
pub(crate) use store_tests;

/// The URL of the SQLite database of the data dir `dir`, as `guichet` opens it.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("guichet.db").display())
}

/// The store of the data dir `dir` (its SQLite database and blobs), as `guichet` opens it.
pub async fn open_data_dir(dir: &Path) -> Store {
    Store::open(&sqlite_url(dir), &dir.join("blobs"))
        .await
        .unwrap()
}

/// One sync pass over every mailbox of `store`, as node `node_name`, in batches of
/// `batch_size`, with `attempts` tries per folder.
pub async fn sync_pass(
    store: &Store,
    key: &SealingKey,
    node_name: &str,
    batch_size: usize,
    attempts: u32,
) -> Vec<FolderSummary> {
    let options = SyncOptions {
        batch_size,
        node_name: node_name.into(),
        lang: UiLang::En,
        attempts,
        oauth: guichet::oauth::OAuthConfig::default(),
        lease: sync::ONE_OFF_LEASE,
    };
    sync::sync_all_once(store, key, &options, &LogProgress::default())
        .await
        .unwrap()
}

/// Messages filed in the tickets of shop `shop_id`.
pub async fn message_count(store: &Store, shop_id: i64) -> i64 {
    store
        .tickets(Some(shop_id))
        .await
        .unwrap()
        .iter()
        .map(|t| t.message_count)
        .sum()
}
