//! Import on a cluster: mailboxes of the harness's Dovecot (seeded straight into their
//! Maildirs) imported by one `guichet serve` node, then by three sharing one PostgreSQL
//! database, with automatic answers on: messages per second, and time from the nodes' start to
//! the first automatic answer accepted by the SMTP server. One shop per mailbox, as on a
//! hosting provider's cluster.
//!
//! Run with `cargo bench --bench cluster_import`. Knobs: GUICHET_BENCH_MAILBOXES (30),
//! GUICHET_BENCH_MESSAGES (2,000 per mailbox), GUICHET_BENCH_NODES (node counts, "1,3").

#[allow(unused_imports)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use guichet::crypto::SealingKey;
use guichet::intake::imap::{ImapClient, Security};
use guichet::model::ReplyState;
use guichet::replies::{Mode, PlanName};
use guichet::store::Store;

/// The key every node shares (mailbox passwords are sealed with it).
const KEY_HEX: &str = "4242424242424242424242424242424242424242424242424242424242424242";
/// Automatic answers per shop and month: enough to time the first, without sending thousands.
const ANSWERS_PER_SHOP: i64 = 3;
/// How long after the import the first automatic answer may still come.
const ANSWER_GRACE: Duration = Duration::from_secs(120);

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A realistic customer message dated half an hour ago: older mail is never answered.
fn fresh_mail(i: usize) -> Vec<u8> {
    let date = regex::bytes::Regex::new(r"(?m)^Date: [^\r\n]*").unwrap();
    let now = format!("Date: {}", support::mail_date(30));
    date.replace(&support::realistic_mail(i), now.as_bytes())
        .into_owned()
}

/// A `guichet serve` node on the database at `url`, stopped (SIGTERM) when dropped.
struct Node(Child);

impl Node {
    fn start(name: &str, data_dir: &std::path::Path, url: &str) -> Node {
        let child = support::guichet_cmd(data_dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("GUICHET_DATABASE_URL", url)
            .env("GUICHET_SECRET_KEY", KEY_HEX)
            .env("GUICHET_NODE_NAME", name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("guichet serve starts");
        Node(child)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// One shop per mailbox, automatic answers on at once (no delay, any hour), each mailbox
/// watched over plain IMAP and answering through Dovecot's submission. Returns the mailboxes'
/// ids.
async fn shops(
    store: &Store,
    server: &support::MailServer,
    mailboxes: &[support::TestMailbox],
) -> Vec<i64> {
    let key = SealingKey::from_hex(KEY_HEX).unwrap();
    let mut ids = Vec::new();
    for (n, mailbox) in mailboxes.iter().enumerate() {
        let shop_id = store.add_shop(&format!("shop-{n}")).await.unwrap().id;
        let mut settings = store.reply_settings(shop_id).await.unwrap();
        settings.auto_answers = Mode::On;
        settings.reply_delay_ms = 0;
        settings.reply_spread_ms = 0;
        settings.business_hours = None;
        settings.plan = PlanName::Custom;
        settings.plan_quota = Some(ANSWERS_PER_SHOP);
        store.save_reply_settings(shop_id, &settings).await.unwrap();
        let mut new = support::watched_mailbox(mailbox, server.imap_port, false, &["INBOX"], &key);
        new.smtp_port = server.submission_port;
        new.smtp_security = Security::Starttls;
        new.accept_invalid_certs = true;
        ids.push(store.add_mailbox(shop_id, &new).await.unwrap());
    }
    ids
}

struct Run {
    import: Duration,
    first_answer: Option<Duration>,
}

/// Imports every mailbox with `nodes` serve nodes on a fresh PostgreSQL database.
async fn run(
    nodes: usize,
    server: &support::MailServer,
    mailboxes: &[support::TestMailbox],
    per_mailbox: usize,
) -> Run {
    let database = support::TestDatabase::postgres();
    let work = tempfile::tempdir().unwrap();
    // Migrations run here, before the nodes race for them.
    let store = Store::open(&database.url, &work.path().join("blobs"))
        .await
        .unwrap();
    let ids = shops(&store, server, mailboxes).await;
    let total = (ids.len() * per_mailbox) as u64;

    let started = Instant::now();
    let running: Vec<Node> = (0..nodes)
        .map(|n| {
            let dir = work.path().join(format!("node-{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            Node::start(&format!("bench-{n}"), &dir, &database.url)
        })
        .collect();
    let (mut import, mut first_answer) = (None, None);
    loop {
        if import.is_none() {
            let mut imported = 0u64;
            for id in &ids {
                if let Some(checkpoint) = store.checkpoint(*id, "INBOX").await.unwrap() {
                    imported += u64::from(checkpoint.last_uid);
                }
            }
            if imported >= total {
                import = Some(started.elapsed());
            }
        }
        if first_answer.is_none()
            && !store
                .replies(None, None, Some(ReplyState::Sent))
                .await
                .unwrap()
                .is_empty()
        {
            first_answer = Some(started.elapsed());
        }
        match import {
            Some(done) if first_answer.is_some() || started.elapsed() > done + ANSWER_GRACE => {
                break;
            }
            None => assert!(
                started.elapsed() < Duration::from_secs(3600),
                "import not done within an hour"
            ),
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(running);
    store.close().await;
    Run {
        import: import.unwrap(),
        first_answer,
    }
}

#[tokio::main]
async fn main() {
    let (mailbox_count, per_mailbox) = (
        knob("GUICHET_BENCH_MAILBOXES", 30),
        knob("GUICHET_BENCH_MESSAGES", 2_000),
    );
    let node_counts: Vec<usize> = std::env::var("GUICHET_BENCH_NODES")
        .unwrap_or_else(|_| "1,3".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let server = support::MailServer::shared();
    let seeding = Instant::now();
    let mailboxes: Vec<support::TestMailbox> = (0..mailbox_count)
        .map(|n| {
            let mailbox = server.new_mailbox(&format!("cluster-{n}"));
            server.seed_maildir(&mailbox, "INBOX", (0..per_mailbox).map(fresh_mail));
            mailbox
        })
        .collect();
    // The first read builds Dovecot's indexes: not measured, and not charged to the first run.
    for mailbox in &mailboxes {
        let mut client = ImapClient::connect(&support::plain_imap(server, mailbox))
            .await
            .unwrap();
        client.select("INBOX").await.unwrap();
        assert_eq!(client.uids_after(0).await.unwrap().len(), per_mailbox);
        client.logout().await;
    }
    let total = mailbox_count * per_mailbox;
    println!(
        "{mailbox_count} mailboxes x {per_mailbox} messages ({total}), seeded and indexed in {:.1?}; load average {}",
        seeding.elapsed(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    for nodes in node_counts {
        let Run {
            import,
            first_answer,
        } = run(nodes, server, &mailboxes, per_mailbox).await;
        let answer = first_answer.map_or("none within 2 min of the import".into(), |t| {
            format!("{t:.1?}")
        });
        println!(
            "  {nodes} node(s): imported in {import:.1?} = {:>6.0} msg/s; first automatic answer sent after {answer}; load average {}",
            total as f64 / import.as_secs_f64(),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
    }
}
