//! The nodes table on SQLite and PostgreSQL: heartbeats are recorded and read back by age.

use guichet::store::{Store, now_ms};

use crate::support::store_tests;

async fn heartbeat_suite(store: Store) {
    let started = now_ms() - 60_000;
    store
        .record_heartbeat("node-b", "1.0.0", started)
        .await
        .unwrap();
    store
        .record_heartbeat("node-a", "1.0.0", started)
        .await
        .unwrap();
    let before_restart = now_ms();
    // A restart of the same node replaces its row rather than adding one.
    store
        .record_heartbeat("node-a", "1.1.0", before_restart)
        .await
        .unwrap();

    let nodes = store
        .nodes_seen_since(before_restart - 60_000)
        .await
        .unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["node-a", "node-b"]);
    assert_eq!(nodes[0].version, "1.1.0");
    assert_eq!(nodes[0].started_at, before_restart);
    assert!(nodes[0].last_heartbeat >= before_restart);
    assert!(
        store
            .nodes_seen_since(now_ms() + 60_000)
            .await
            .unwrap()
            .is_empty(),
        "a node not heard of since is not listed"
    );
}

store_tests!(heartbeat_suite => nodes_heartbeat_sqlite, nodes_heartbeat_postgres);
