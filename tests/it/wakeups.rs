//! Instant wake-ups (issue 11): on PostgreSQL, work that one node commits reaches an idle node
//! in under a second (LISTEN/NOTIFY), though its polling intervals are ten minutes; on both
//! dialects an answer goes out when it falls due, not at the next tick; and without NOTIFY
//! (SQLite) polling still finds everything.

use std::path::Path;
use std::time::{Duration, Instant};

use guichet::crypto::SealingKey;
use guichet::model::{ReplyKind, ReplyState, UiLang};
use guichet::runtime::{RuntimeOptions, Supervisor};
use guichet::store::{NewReply, PURGE_RETENTION, Store, now_ms};

use crate::outbound::wait_for_messages;
use crate::support::{
    Dialect, MailServer, TestMailbox, eventually_async, on_database, sample_mail, store_tests,
    watched_mailbox,
};

/// Node A: a supervisor whose every loop polls only every `interval`.
fn node_a_options(interval: Duration) -> RuntimeOptions {
    RuntimeOptions {
        node_name: "node-a".into(),
        lang: UiLang::En,
        batch_size: 50,
        poll_interval: interval,
        idle: true,
        workers: true,
        reconcile_interval: interval,
        work_interval: interval,
        shutdown_timeout: Duration::from_secs(8),
        send: Default::default(),
        shop: Default::default(),
        leases: Default::default(),
    }
}

/// Node A running on its own store of the database at `url`, until the returned switch is
/// dropped or fired; returns once A has recorded its first heartbeat (it is up).
async fn start_node_a(
    url: &str,
    blobs: &Path,
    key: &SealingKey,
    interval: Duration,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    Store,
) {
    let store = Store::open(url, blobs).await.unwrap();
    let supervisor = Supervisor::new(store.clone(), key.clone(), node_a_options(interval));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(supervisor.run(async {
        let _ = stopped.await;
    }));
    let since = now_ms() - 1;
    let up = async || !store.nodes_seen_since(since).await.unwrap().is_empty();
    assert!(
        eventually_async(Duration::from_secs(10), up).await,
        "node A records its heartbeat"
    );
    (stop, running, store)
}

async fn stop_node(stop: tokio::sync::oneshot::Sender<()>, running: tokio::task::JoinHandle<()>) {
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("node A stops")
        .unwrap();
}

/// Polls `check` every 10 ms for up to `timeout`; how long it took to hold, None if it never did.
async fn time_until(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// The shop mailbox (IMAP without TLS, Dovecot's submission to send) of a shop of its own.
async fn shop_with_mailbox(
    store: &Store,
    key: &SealingKey,
    server: &MailServer,
    mailbox: &TestMailbox,
) -> (i64, i64) {
    let shop_id = store.add_shop("boutique").await.unwrap().id;
    let mut new = watched_mailbox(mailbox, server.imap_port, false, &["INBOX"], key);
    new.smtp_port = server.submission_port;
    new.smtp_security = guichet::intake::imap::Security::Starttls;
    new.accept_invalid_certs = true;
    (shop_id, store.add_mailbox(shop_id, &new).await.unwrap())
}

/// An answer to `to` scheduled at `due_at`, as any node (or the back office) schedules one.
async fn schedule_answer(store: &Store, shop_id: i64, to: &TestMailbox, due_at: i64) {
    store
        .add_notice(&NewReply {
            shop_id,
            ticket_id: None,
            reply_to_message: None,
            kind: ReplyKind::Notice,
            intent: None,
            lang: UiLang::Fr,
            state: ReplyState::Scheduled,
            due_at,
            to_email: to.email.clone(),
            to_name: None,
            subject: "Votre demande".into(),
            body_text: "Bonjour, nous revenons vers vous.".into(),
            message_id: format!("guichet.wakeup.{due_at}@boutique.test"),
        })
        .await
        .unwrap();
}

/// Waits for the one answer of the shop to be sent; returns (due_at, sent_at).
async fn sent_answer(store: &Store, shop_id: i64, timeout: Duration) -> (i64, i64) {
    let sent = async || {
        store
            .replies(Some(shop_id), None, Some(ReplyState::Sent))
            .await
            .unwrap()
            .first()
            .map(|r| (r.due_at, r.sent_at.unwrap()))
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(times) = sent().await {
            return times;
        }
        assert!(
            Instant::now() < deadline,
            "the answer was not sent within {timeout:?}: {:?}",
            store.replies(Some(shop_id), None, None).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The shop's jobs are all done (the purge of a shop without retention deletes itself).
async fn jobs_done(store: &Store, shop_id: i64) -> bool {
    store.shop_jobs(shop_id).await.unwrap().is_empty()
}

const WITHIN: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_committed_on_node_b_reaches_idle_node_a_within_a_second_postgres() {
    on_database(Dialect::Postgres, async |url, blobs| {
        let server = MailServer::shared();
        let (shop_box, customer) = (server.new_mailbox("wake-shop"), server.new_mailbox("wake-customer"));
        let dir = tempfile::tempdir().unwrap();
        let key = SealingKey::load_or_create(&dir.path().join("secret.key")).unwrap();
        let node_b = Store::open(url, blobs).await.unwrap();
        let shop_id = node_b.add_shop("boutique").await.unwrap().id;
        // Ten-minute intervals: only a wake-up explains an action within the second.
        let (stop, running, node_a) = start_node_a(url, blobs, &key, Duration::from_secs(600)).await;

        // A mailbox added on node B is watched by node A (its mail filed).
        server.append(
            &shop_box,
            "INBOX",
            &sample_mail("lou@client.test", &shop_box.email, "Colis", "Toujours rien.", Some("wake-1@client.test"), &[]),
        );
        let mut mailbox = watched_mailbox(&shop_box, server.imap_port, false, &["INBOX"], &key);
        mailbox.smtp_port = server.submission_port;
        mailbox.smtp_security = guichet::intake::imap::Security::Starttls;
        mailbox.accept_invalid_certs = true;
        node_b.add_mailbox(shop_id, &mailbox).await.unwrap();
        let synced = async || node_b.mailboxes().await.unwrap()[0].last_sync_at.is_some();
        let took = time_until(Duration::from_secs(10), synced).await;
        eprintln!("mailbox added on B → synced by A: {took:?}");
        assert!(took.is_some_and(|t| t < WITHIN), "mailbox watched within 1 s: {took:?}");
        let filed = node_b.tickets(Some(shop_id)).await.unwrap();
        assert_eq!(filed.len(), 1, "its mail filed by node A");

        // A job queued on node B runs on node A.
        node_b.schedule_unique_job(PURGE_RETENTION, shop_id, now_ms()).await.unwrap();
        let took = time_until(Duration::from_secs(10), async || jobs_done(&node_b, shop_id).await).await;
        eprintln!("job queued on B → run by A: {took:?}");
        assert!(took.is_some_and(|t| t < WITHIN), "job run within 1 s: {took:?}");

        // An answer scheduled on node B for a second from now goes out from node A on time.
        let due_at = now_ms() + 1_000;
        schedule_answer(&node_b, shop_id, &customer, due_at).await;
        let (due, sent_at) = sent_answer(&node_b, shop_id, Duration::from_secs(10)).await;
        let late = sent_at - due;
        eprintln!("answer due in 1 s, scheduled on B → accepted by the SMTP server {late} ms after its due time");
        assert!((0..1_000).contains(&late), "sent within 1 s of its due time, never before: {late} ms");
        let received = wait_for_messages(server, &customer, "INBOX", 1).await;
        assert_eq!(received.len(), 1, "the customer received it once");

        // A mailbox removed on node B is let go by node A: its IMAP connection closes.
        assert!(server.imap_connections(&shop_box) > 0, "node A idles on the mailbox");
        node_b.remove_mailbox(shop_id, &shop_box.email).await.unwrap();
        let released = Instant::now();
        let closed = tokio::task::spawn_blocking(move || {
            let server = MailServer::shared();
            crate::support::eventually(Duration::from_secs(10), || server.imap_connections(&shop_box) == 0)
        });
        assert!(closed.await.unwrap(), "node A stopped watching the removed mailbox");
        let took = released.elapsed();
        eprintln!("mailbox removed on B → connection closed by A: {took:?}");
        assert!(took < Duration::from_secs(2), "let go of within the second (plus doveadm's look): {took:?}");

        stop_node(stop, running).await;
        node_a.close().await;
        node_b.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notify_polling_still_finds_new_mailboxes_and_jobs_sqlite() {
    on_database(Dialect::Sqlite, async |url, blobs| {
        let server = MailServer::shared();
        let shop_box = server.new_mailbox("poll-shop");
        let dir = tempfile::tempdir().unwrap();
        let key = SealingKey::load_or_create(&dir.path().join("secret.key")).unwrap();
        let node_b = Store::open(url, blobs).await.unwrap();
        let interval = Duration::from_millis(300);
        let (stop, running, node_a) = start_node_a(url, blobs, &key, interval).await;

        let (shop_id, _) = shop_with_mailbox(&node_b, &key, server, &shop_box).await;
        let synced = async || node_b.mailboxes().await.unwrap()[0].last_sync_at.is_some();
        let took = time_until(Duration::from_secs(10), synced).await;
        eprintln!("mailbox added on B → synced by A, polling every {interval:?}: {took:?}");
        assert!(took.is_some(), "the poll found the new mailbox");

        node_b
            .schedule_unique_job(PURGE_RETENTION, shop_id, now_ms())
            .await
            .unwrap();
        let took = time_until(Duration::from_secs(10), async || {
            jobs_done(&node_b, shop_id).await
        })
        .await;
        eprintln!("job queued on B → run by A, polling every {interval:?}: {took:?}");
        assert!(took.is_some(), "the poll found the new job");

        stop_node(stop, running).await;
        node_a.close().await;
        node_b.close().await;
    })
    .await;
}

/// An answer due in 2.5 s, known to node A before its round: A sleeps until it falls due,
/// not to its next 5-s tick.
async fn answer_goes_out_when_due_suite(url: &str, blobs: &Path) {
    let server = MailServer::shared();
    let (shop_box, customer) = (
        server.new_mailbox("due-shop"),
        server.new_mailbox("due-customer"),
    );
    let dir = tempfile::tempdir().unwrap();
    let key = SealingKey::load_or_create(&dir.path().join("secret.key")).unwrap();
    let node_b = Store::open(url, blobs).await.unwrap();
    let (shop_id, _) = shop_with_mailbox(&node_b, &key, server, &shop_box).await;
    let due_at = now_ms() + 2_500;
    schedule_answer(&node_b, shop_id, &customer, due_at).await;
    let started = now_ms();
    let (stop, running, node_a) = start_node_a(url, blobs, &key, Duration::from_secs(5)).await;

    let (due, sent_at) = sent_answer(&node_b, shop_id, Duration::from_secs(10)).await;
    let late = sent_at - due;
    eprintln!(
        "answer due in 2.5 s → sent {late} ms after its due time ({} ms after node A started)",
        sent_at - started
    );
    assert!(
        (0..1_000).contains(&late),
        "sent at its due time, not at the next tick: {late} ms late"
    );
    assert!(sent_at < started + 5_000, "before node A's next 5-s tick");
    wait_for_messages(server, &customer, "INBOX", 1).await;

    stop_node(stop, running).await;
    node_a.close().await;
    node_b.close().await;
}

store_tests!(url answer_goes_out_when_due_suite => an_answer_goes_out_when_due_not_at_the_next_tick_sqlite, an_answer_goes_out_when_due_not_at_the_next_tick_postgres);

/// Runs `sql` on the test PostgreSQL as its administrator, beside the database at `url`;
/// returns what it printed.
fn as_admin(url: &str, sql: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    let output = std::process::Command::new("psql")
        .arg(format!("{base}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .expect("psql runs (scripts/install-test-deps)");
    assert!(output.status.success(), "{sql}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_lost_its_connection_catches_up_with_one_full_round_postgres() {
    on_database(Dialect::Postgres, async |url, blobs| {
        let server = MailServer::shared();
        let shop_box = server.new_mailbox("wake-reconnect");
        let dir = tempfile::tempdir().unwrap();
        let key = SealingKey::load_or_create(&dir.path().join("secret.key")).unwrap();
        let node_b = Store::open(url, blobs).await.unwrap();
        let (stop, running, node_a) =
            start_node_a(url, blobs, &key, Duration::from_secs(600)).await;
        let database = url.rsplit_once('/').unwrap().1;
        // Node B's pool opens its connections now: it needs them while new ones are refused.
        let warm = (0..8).map(|_| node_b.mailboxes());
        for read in futures::future::join_all(warm).await {
            read.unwrap();
        }

        // Node A's listening connection is cut, and cannot come back for now: the mailbox
        // added meanwhile is notified to nobody.
        as_admin(url, &format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"));
        let cut = as_admin(
            url,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{database}' AND query LIKE 'LISTEN%'"
            ),
        );
        assert_eq!(cut.trim(), "t", "node A's one listening connection was cut");
        let (_, mailbox_id) = shop_with_mailbox(&node_b, &key, server, &shop_box).await;
        as_admin(url, &format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"));
        let allowed = Instant::now();

        // Reconnected (its retry waits a second), node A looks at everything once.
        let synced = async || node_b.mailboxes().await.unwrap()[0].last_sync_at.is_some();
        let took = time_until(Duration::from_secs(15), synced).await;
        eprintln!(
            "listener cut, mailbox {mailbox_id} added unnotified → synced {took:?} after connections came back ({:?} in all)",
            allowed.elapsed()
        );
        assert!(
            took.is_some_and(|t| t < Duration::from_secs(5)),
            "the round after reconnecting found the mailbox, not the 10-minute poll: {took:?}"
        );

        stop_node(stop, running).await;
        node_a.close().await;
        node_b.close().await;
    })
    .await;
}
