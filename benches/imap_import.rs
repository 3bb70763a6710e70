//! Import benchmark: 10,000 realistic messages from a local Dovecot, three ways in one run:
//! - the bare network read (`UID FETCH 1:* BODY.PEEK[]`, nothing stored): the ceiling;
//! - mbsync (Debian isync) downloading the mailbox into a Maildir;
//! - Guichet: fetch, parse, thread and store durably in SQLite.
//!
//! Run with `cargo bench --bench imap_import` (GUICHET_BENCH_MESSAGES changes the count).

#[allow(unused_imports)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use guichet::crypto::SealingKey;
use guichet::intake::imap::{ImapClient, ImapSettings};
use guichet::intake::sync;

async fn bare_fetch(settings: &ImapSettings) -> (Duration, Vec<Vec<u8>>) {
    let started = Instant::now();
    let mut client = ImapClient::connect(settings).await.expect("connect");
    client.select("INBOX").await.expect("select");
    let uids = client.uids_after(0).await.expect("search");
    let fetched = client.fetch(&uids).await.expect("fetch");
    let elapsed = started.elapsed();
    client.logout().await;
    assert_eq!(fetched.len(), uids.len());
    (elapsed, fetched.into_iter().map(|m| m.raw).collect())
}

/// mbsync with its defaults (an fsync after every message) or with `FSync no`.
fn mbsync(
    server: &support::MailServer,
    mailbox: &support::TestMailbox,
    work: &std::path::Path,
    fsync: bool,
) -> Duration {
    let maildir = work.join(format!("maildir-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&maildir).unwrap();
    let config = work.join("mbsyncrc");
    std::fs::write(
        &config,
        format!(
            "FSync {}\n\nIMAPAccount bench\nHost 127.0.0.1\nPort {}\nUser {}\nPass {}\nSSLType None\nAuthMechs LOGIN\n\n\
             IMAPStore remote\nAccount bench\n\nMaildirStore local\nPath {}/\nInbox {}/INBOX\n\n\
             Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nSync Pull\nCreate Near\nSyncState *\n",
            if fsync { "yes" } else { "no" },
            server.imap_port,
            mailbox.email,
            mailbox.password,
            maildir.display(),
            maildir.display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let output = std::process::Command::new("mbsync")
        .arg("-c")
        .arg(&config)
        .arg("-a")
        .output()
        .expect("mbsync is installed (Debian isync)");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "mbsync failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let count = std::fs::read_dir(maildir.join("INBOX/cur"))
        .map(|d| d.count())
        .unwrap_or(0)
        + std::fs::read_dir(maildir.join("INBOX/new"))
            .map(|d| d.count())
            .unwrap_or(0);
    assert!(count > 0, "mbsync downloaded nothing");
    elapsed
}

async fn guichet_import(
    mailbox: &support::TestMailbox,
    server: &support::MailServer,
    messages: usize,
) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = support::open_data_dir(dir.path()).await;
    let key = SealingKey::from_hex(&"42".repeat(32)).unwrap();
    let shop = store.add_shop("bench").await.unwrap();
    let new = support::watched_mailbox(mailbox, server.imap_port, false, &["INBOX"], &key);
    store.add_mailbox(shop.id, &new).await.unwrap();
    let started = Instant::now();
    let summaries = support::sync_pass(&store, &key, "bench", 500, 1).await;
    let elapsed = started.elapsed();
    let filed: u64 = summaries
        .iter()
        .map(|s| s.filed.new_messages + s.filed.duplicates)
        .sum();
    assert!(summaries.iter().all(|s| s.error.is_none()), "{summaries:?}");
    assert_eq!(filed as usize, messages, "every message filed");
    store.close().await;
    elapsed
}

/// Parse alone, then filing alone (batches of 500 into a fresh SQLite store).
async fn stages(raws: &[Vec<u8>]) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let store = support::open_data_dir(dir.path()).await;
    let shop = store.add_shop("stages").await.unwrap();
    let triager = guichet::triage::Triager::default();
    let started = Instant::now();
    let mut prepared = Vec::with_capacity(raws.len());
    for raw in raws {
        prepared.push(
            sync::prepare_message(raw.clone(), store.blobs(), &triager)
                .await
                .unwrap(),
        );
    }
    let parse = started.elapsed();
    let started = Instant::now();
    for batch in prepared.chunks(500) {
        store
            .file_batch(shop.id, None, None, None, batch)
            .await
            .unwrap();
    }
    let file = started.elapsed();
    store.close().await;
    (parse, file)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn rate(messages: usize, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let messages: usize = std::env::var("GUICHET_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = support::MailServer::shared();
    let mailbox = server.new_mailbox("bench");
    let seeding = Instant::now();
    server.seed_maildir(
        &mailbox,
        "INBOX",
        (0..messages).map(support::realistic_mail),
    );
    let work = tempfile::tempdir().unwrap();
    let settings = support::plain_imap(server, &mailbox);
    // The first read builds Dovecot's index; it is not measured.
    let (_, raws) = bare_fetch(&settings).await;
    let bytes: usize = raws.iter().map(Vec::len).sum();
    println!(
        "mailbox: {messages} realistic messages, {:.1} MB, seeded in {:.1?}",
        bytes as f64 / 1e6,
        seeding.elapsed()
    );
    let (parse, file) = stages(&raws).await;
    println!(
        "stages alone: parse {:.0} msg/s, file into SQLite {:.0} msg/s",
        rate(messages, parse),
        rate(messages, file)
    );

    // GUICHET_BENCH_ROUNDS=0 stops after the stage figures (for profiling).
    let rounds: usize = std::env::var("GUICHET_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    if rounds == 0 {
        return;
    }
    let (mut bare, mut mbsync_runs, mut mbsync_nofsync_runs, mut guichet_runs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        bare.push(bare_fetch(&settings).await.0);
        mbsync_runs.push(mbsync(server, &mailbox, work.path(), true));
        mbsync_nofsync_runs.push(mbsync(server, &mailbox, work.path(), false));
        guichet_runs.push(guichet_import(&mailbox, server, messages).await);
    }
    let (bare, mbsync, mbsync_nofsync, guichet) = (
        median(bare),
        median(mbsync_runs),
        median(mbsync_nofsync_runs),
        median(guichet_runs),
    );
    println!("median of {rounds} rounds, plain IMAP on loopback:");
    println!(
        "  bare UID FETCH 1:* BODY.PEEK[]   {:>8.0} msg/s  ({:.2?})",
        rate(messages, bare),
        bare
    );
    println!(
        "  mbsync -> Maildir (default fsync) {:>7.0} msg/s  ({:.2?})",
        rate(messages, mbsync),
        mbsync
    );
    println!(
        "  mbsync -> Maildir (FSync no)     {:>8.0} msg/s  ({:.2?})",
        rate(messages, mbsync_nofsync),
        mbsync_nofsync
    );
    println!(
        "  guichet -> SQLite (parse+thread) {:>8.0} msg/s  ({:.2?})",
        rate(messages, guichet),
        guichet
    );
    println!(
        "  guichet / mbsync = {:.2}x (FSync no: {:.2}x)   guichet / bare fetch = {:.0}%",
        mbsync.as_secs_f64() / guichet.as_secs_f64(),
        mbsync_nofsync.as_secs_f64() / guichet.as_secs_f64(),
        100.0 * bare.as_secs_f64() / guichet.as_secs_f64()
    );
}
