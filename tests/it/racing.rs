//! Two nodes filing for one shop at the same time: two `Store`s on one database, each filing
//! batches in its own task. Each round, node A files a new message of thread `a<k>` and the
//! customer's reply to node B's new message of the same round; node B does the mirror image; in
//! one round in four both also file the same shared message (two syncs of one folder
//! overlapping). Every reply carries In-Reply-To/References and the same customer and subject as its original, so in whichever
//! order the two batches commit, the second must find the first: each thread ends in exactly one
//! ticket, no batch fails and no message is stored twice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use guichet::store::{FileOutcome, Incoming, Store};
use tokio::sync::Barrier;

use crate::store::{incoming, parsed};
use crate::support::TestDatabase;

const ROUNDS: usize = 40;
const T0: i64 = 1_790_000_000_000;

fn original(store: &Store, thread: &str, round: usize) -> Incoming {
    let message = parsed(
        &format!("{thread}@race.test"),
        &format!("{thread}@client.test"),
        &format!("Question {thread}"),
        T0 + round as i64 * 1000,
    );
    incoming(store, message, &[])
}

fn reply(store: &Store, thread: &str, round: usize) -> Incoming {
    let mut message = parsed(
        &format!("{thread}-reply@race.test"),
        &format!("{thread}@client.test"),
        &format!("Re: Question {thread}"),
        T0 + round as i64 * 1000 + 500,
    );
    message.in_reply_to = vec![format!("{thread}@race.test")];
    message.references = vec![format!("{thread}@race.test")];
    incoming(store, message, &[])
}

fn shared(store: &Store, round: usize) -> Incoming {
    let thread = format!("s{round}");
    let message = parsed(
        &format!("{thread}@race.test"),
        &format!("{thread}@client.test"),
        &format!("Commande {thread}"),
        T0 + round as i64 * 1000 + 100,
    );
    incoming(store, message, &[])
}

/// One round in four also files a shared message on both nodes (a batch failing on it would
/// hide the mis-threading of its other messages).
fn has_shared(round: usize) -> bool {
    round % 4 == 3
}

/// Node `me` files, each round, its own new message, the reply to the other node's one and the
/// shared message, in an order that varies with the round.
async fn node(
    store: Store,
    shop_id: i64,
    me: &'static str,
    other: &'static str,
    barrier: Arc<Barrier>,
) -> (FileOutcome, Vec<String>) {
    let mut total = FileOutcome::default();
    // A failed batch is recorded, not returned: the other node must not wait at the barrier.
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let mut batch = vec![
            original(&store, &format!("{me}{round}"), round),
            reply(&store, &format!("{other}{round}"), round),
        ];
        if has_shared(round) {
            batch.push(shared(&store, round));
        }
        let len = batch.len();
        batch.rotate_left(round % len);
        barrier.wait().await;
        match store.file_batch(shop_id, None, None, None, &batch).await {
            Ok(outcome) => total += outcome,
            Err(e) => failures.push(format!("node {me}, round {round}: {e}")),
        }
    }
    (total, failures)
}

async fn race(url: &str, blobs: &std::path::Path) {
    let first = Store::open(url, blobs).await.unwrap();
    let second = Store::open(url, blobs).await.unwrap();
    let shop = first.add_shop("boutique").await.unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let a = tokio::spawn(node(first.clone(), shop.id, "a", "b", barrier.clone()));
    let b = tokio::spawn(node(second.clone(), shop.id, "b", "a", barrier));
    let ((a, a_failures), (b, b_failures)) = (a.await.unwrap(), b.await.unwrap());

    // Message-ID -> its thread, for every message the test files.
    let mut thread_of: HashMap<String, String> = HashMap::new();
    for round in 0..ROUNDS {
        for thread in [format!("a{round}"), format!("b{round}")] {
            thread_of.insert(format!("{thread}@race.test"), thread.clone());
            thread_of.insert(format!("{thread}-reply@race.test"), thread.clone());
        }
        if has_shared(round) {
            let thread = format!("s{round}");
            thread_of.insert(format!("{thread}@race.test"), thread);
        }
    }

    let thread_count = thread_of.values().collect::<HashSet<_>>().len();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut tickets_of: HashMap<String, HashSet<i64>> = HashMap::new();
    let tickets = first.tickets(Some(shop.id)).await.unwrap();
    for ticket in &tickets {
        let (_, messages) = first.ticket(shop.id, ticket.number).await.unwrap();
        for message in messages {
            let id = message.message_id.expect("every message has an id");
            *seen.entry(id.clone()).or_default() += 1;
            let thread = thread_of[&id].clone();
            tickets_of.entry(thread).or_default().insert(ticket.number);
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    let lost: Vec<_> = thread_of
        .keys()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    let split: Vec<_> = tickets_of.iter().filter(|(_, t)| t.len() > 1).collect();
    // All three at once: before the fix, a lost batch hides nothing of the mis-threading.
    assert!(
        a_failures.is_empty() && b_failures.is_empty() && twice.is_empty() && split.is_empty(),
        "failed batches: {a_failures:?} {b_failures:?}\nstored twice: {twice:?}\n\
         threads split over several tickets: {split:?}"
    );
    assert!(lost.is_empty(), "messages lost: {lost:?}");
    assert_eq!(
        a.new_messages + b.new_messages,
        thread_of.len() as u64,
        "every message is filed once"
    );
    assert_eq!(
        a.duplicates + b.duplicates,
        (0..ROUNDS).filter(|r| has_shared(*r)).count() as u64,
        "the shared message is a duplicate for one of the two nodes"
    );
    assert_eq!(
        tickets.len(),
        thread_count,
        "one ticket per thread, no more"
    );
    assert_eq!(
        a.new_tickets + b.new_tickets,
        thread_count as u64,
        "the outcomes count the tickets opened"
    );
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_nodes_thread_and_dedup_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::postgres();
    race(&db.url, &dir.path().join("blobs")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_nodes_thread_and_dedup_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite(dir.path());
    race(&db.url, &dir.path().join("blobs")).await;
}
