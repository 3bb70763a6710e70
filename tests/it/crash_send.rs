//! Proof "at most once under crashes": the real `guichet` binary sends several hundred due
//! answers through Dovecot submission and Postfix into a customer's mailbox, and is killed
//! (SIGKILL) at random points around sending, at least 200 times, restarted each time. In the
//! end the mailbox holds no answer twice, every answer recorded `sent` arrived, and every one
//! that did not arrive is shown as `uncertain` or `failed`, none silently lost.

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use guichet::crypto::SealingKey;
use guichet::model::ReplyState;
use guichet::store::Store;
use mail_parser::MessageParser;
use rand::{Rng, SeedableRng};

use crate::cli::guichet;
use crate::outbox_lease::{due_replies, submitting_mailbox};
use crate::support::{MailServer, TestDatabase, TestMailbox};

const REPLIES: usize = 800;
/// Every so many answers go to an address Postfix refuses at RCPT TO (they end `failed`).
const REFUSED_EVERY: usize = 25;
/// A short sending lease, so that a killed run's reply becomes `uncertain` in a second.
const LEASE: &str = "1s";
const RENEW_EVERY: &str = "250ms";

/// `guichet sync --once`, which sends every due answer; with `watched`, its log (one line per
/// answer handed to SMTP) comes on a pipe.
fn sender(dir: &std::path::Path, database_url: &str, watched: bool) -> Child {
    let mut command = guichet(dir, &["--database-url", database_url, "sync", "--once"]);
    command
        .env("GUICHET_CLUSTER_LEASE", LEASE)
        .env("GUICHET_CLUSTER_RENEW_EVERY", RENEW_EVERY)
        .stdout(Stdio::null());
    if watched {
        command.env("GUICHET_LOG", "info").stderr(Stdio::piped());
    } else {
        command.stderr(Stdio::null());
    }
    command.spawn().unwrap()
}

/// Postfix has delivered everything it accepted (into Dovecot, over LMTP).
fn postfix_queue_is_empty(server: &MailServer) -> bool {
    let output = std::process::Command::new("postqueue")
        .arg("-c")
        .arg(server.dir.join("postfix/conf"))
        .arg("-p")
        .output()
        .expect("postqueue runs");
    String::from_utf8_lossy(&output.stdout).contains("Mail queue is empty")
}

/// How many copies of each Message-ID the customer's INBOX holds.
fn received(server: &MailServer, customer: &TestMailbox) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for raw in server.maildir_messages(customer, "INBOX") {
        let id = MessageParser::default()
            .parse(&raw)
            .and_then(|m| m.message_id().map(str::to_string))
            .expect("every delivered answer has a Message-ID");
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

fn killed_while_sending(database_url: &str, dir: &std::path::Path, kills_wanted: usize) {
    let server = MailServer::shared();
    let (shop, customer) = (
        server.new_mailbox("crash shop"),
        server.new_mailbox("crash customer"),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(async {
        let store = Store::open(database_url, &dir.join("blobs")).await.unwrap();
        // The key file the binary opens the mailbox password with.
        let key = SealingKey::load_or_create(&dir.join("secret.key")).unwrap();
        let shop_id = store.add_shop("boutique").await.unwrap().id;
        store
            .add_mailbox(
                shop_id,
                &submitting_mailbox(&shop, server.submission_port, &key),
            )
            .await
            .unwrap();
        let refused = format!("{}@shop.test", MailServer::REFUSED_RECIPIENT);
        due_replies(&store, shop_id, REPLIES, |i| {
            if i % REFUSED_EVERY == REFUSED_EVERY - 1 {
                refused.clone()
            } else {
                customer.email.clone()
            }
        })
        .await;
        store
    });

    let seed: u64 = std::env::var("GUICHET_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let database = database_url.split(':').next().unwrap_or_default();
    eprintln!("crash_send: {database} seed {seed} (GUICHET_CRASH_SEED={seed} replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = Instant::now();
    // Each run is killed after 0 to 2 answers went out (as its log says), plus a random few
    // milliseconds: the kill falls while a reply is being leased, built, handed to SMTP,
    // recorded, or copied to the Sent folder, however fast this machine is.
    let mut kills = 0;
    while kills < kills_wanted {
        let mut child = sender(dir, database_url, true);
        let sends_before_kill = rng.random_range(0..=2);
        let pause = Duration::from_micros(rng.random_range(0..50_000));
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut sends = 0;
        while sends < sends_before_kill {
            match lines.next() {
                Some(Ok(line)) => sends += line.contains("message sent") as usize,
                _ => break,
            }
        }
        std::thread::sleep(pause);
        if child.try_wait().unwrap().is_some() {
            panic!("a run sent everything before {kills_wanted} kills: raise REPLIES");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        if kills % 25 == 0 {
            eprintln!("crash_send: {kills} kills, {:.1?}", started.elapsed());
        }
    }
    let killing = started.elapsed();

    // Runs left alone until nothing is due or in `sending` (a killed run's lease runs out).
    let unfinished = |store: &Store| {
        runtime.block_on(async {
            store
                .replies(None, None, None)
                .await
                .unwrap()
                .iter()
                .filter(|r| r.state == ReplyState::Scheduled || r.state == ReplyState::Sending)
                .count()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while unfinished(&store) > 0 {
        assert!(
            Instant::now() < deadline,
            "replies still due after a minute"
        );
        let status = sender(dir, database_url, false).wait().unwrap();
        assert!(status.code().is_some(), "the final runs are not killed");
        std::thread::sleep(Duration::from_millis(200));
    }
    let replies = runtime.block_on(store.replies(None, None, None)).unwrap();
    let count = |state: ReplyState| replies.iter().filter(|r| r.state == state).count();
    let sent = count(ReplyState::Sent);
    // Everything accepted has been delivered: the answers recorded as sent are there, and
    // Postfix holds nothing more.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut inbox = received(server, &customer);
    while inbox.len() < sent || !postfix_queue_is_empty(server) {
        assert!(
            Instant::now() < deadline,
            "Postfix did not deliver everything: {} of {sent} sent answers arrived\n{}",
            inbox.len(),
            server.postfix_log()
        );
        std::thread::sleep(Duration::from_millis(200));
        inbox = received(server, &customer);
    }
    inbox = received(server, &customer);

    let duplicates: Vec<_> = inbox.iter().filter(|(_, n)| **n > 1).collect();
    let arrived = |message_id: &str| inbox.contains_key(message_id);
    let uncertain_arrived = replies
        .iter()
        .filter(|r| r.state == ReplyState::Uncertain && arrived(&r.message_id))
        .count();
    let (uncertain, failed) = (count(ReplyState::Uncertain), count(ReplyState::Failed));
    eprintln!(
        "crash_send: {database} {REPLIES} due answers, {kills} SIGKILLs in {:.0?} (whole test {:.0?}): \
         {sent} sent, {uncertain} uncertain ({uncertain_arrived} of them arrived, {} not), {failed} failed, \
         {} duplicates; {} received",
        killing,
        started.elapsed(),
        uncertain - uncertain_arrived,
        duplicates.len(),
        inbox.values().sum::<usize>(),
    );
    assert!(duplicates.is_empty(), "received twice: {duplicates:?}");
    assert_eq!(
        sent + uncertain + failed,
        REPLIES,
        "every answer ends sent, uncertain or failed"
    );
    for reply in &replies {
        match reply.state {
            ReplyState::Sent => {
                assert!(arrived(&reply.message_id), "sent, never arrived: {reply:?}")
            }
            ReplyState::Failed => {
                assert!(!arrived(&reply.message_id), "failed, arrived: {reply:?}")
            }
            ReplyState::Uncertain => {}
            other => panic!("answer left {other}: {reply:?}"),
        }
    }
    assert!(
        inbox
            .keys()
            .all(|id| replies.iter().any(|r| &r.message_id == id)),
        "only our answers arrived"
    );
    // One reply at most is in flight when a run is killed.
    assert!(
        uncertain <= kills,
        "{uncertain} uncertain for {kills} kills"
    );
    assert!(
        uncertain >= kills_wanted / 10,
        "kills fell while answers were in flight ({uncertain} uncertain)"
    );
    assert!(
        failed >= REPLIES / REFUSED_EVERY / 2,
        "refusals ended failed"
    );
    runtime.block_on(store.close());
}

#[test]
fn killed_while_sending_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite(dir.path());
    killed_while_sending(&db.url, dir.path(), 200);
}

/// The same on PostgreSQL.
#[test]
fn killed_while_sending_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::postgres();
    killed_while_sending(&db.url, dir.path(), 200);
}
