//! Issue 11, "failover in seconds": three real `guichet serve` processes share one PostgreSQL
//! database and watch three mailboxes of the harness's Dovecot that answer automatically, at
//! once. One node is killed (SIGKILL) early in the import, in the middle of the answers, or
//! while every mailbox waits in IDLE, and more mail arrives. Every message is filed exactly
//! once, no answer reaches a customer twice, every answer arrives or is shown as uncertain, and
//! the mail that came after the kill is filed and answered within 20 s of it. A second test
//! cuts one node's database connection (a proxy) while it holds a mailbox: another node takes
//! the mailbox over and the cut node files and sends nothing once its lease is gone. A store
//! suite checks that a job's lease is renewed only by the node holding it.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use guichet::store::Store;
use mail_parser::MessageParser;
use sqlx::Row;

use crate::cli::guichet;
use crate::support::cli::{add_mailbox_through, ok};
use crate::support::{DropProxy, MailServer, TestDatabase, TestMailbox, sample_mail};

/// Short leases keep the suite quick; the defaults (10 s renewed every 3 s) move a dead node's
/// mailboxes within 13 s by the same arithmetic.
const LEASE: &str = "4s";
const RENEW_EVERY: &str = "1s";
const LEASE_TIME: Duration = Duration::from_secs(4);
const MESSAGES_PER_MAILBOX: usize = 60;
const LATE_PER_MAILBOX: usize = 2;
/// Messages per mailbox of the import that answers go out during.
const IMPORT_PER_MAILBOX: usize = 800;
/// From the first message filed to the first answer sent, with the import under way.
const FIRST_ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// From the kill to the last answer to mail that arrived after it.
const ANSWERED_WITHIN: Duration = Duration::from_secs(20);

/// The shop, its three mailboxes and the customers' mailbox, on one PostgreSQL database.
struct Desk {
    dir: tempfile::TempDir,
    db: TestDatabase,
    shop_boxes: Vec<TestMailbox>,
    /// Every customer writes from `<local>+<n>@…` of this mailbox, so the answers all land in
    /// its INBOX and each customer is a different sender.
    customers: TestMailbox,
    store: Store,
    runtime: tokio::runtime::Runtime,
}

/// The `guichet` command on the desk's PostgreSQL database.
fn cli(dir: &Path, database_url: &str, args: &[&str]) -> Command {
    let mut command = guichet(dir, args);
    command.env("GUICHET_DATABASE_URL", database_url);
    command
}

impl Desk {
    fn new(server: &MailServer, customer_count: usize) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDatabase::postgres();
        let shop_boxes: Vec<TestMailbox> = (0..3)
            .map(|n| server.new_mailbox(&format!("failover shop {n}")))
            .collect();
        let customers = server.new_mailbox("failover customers");
        let url = db.url.clone();
        ok(cli(dir.path(), &url, &["shop", "add", "boutique"]));
        for mailbox in &shop_boxes {
            let added = add_mailbox_through(
                |args| cli(dir.path(), &url, args),
                mailbox,
                server.imaps_port,
                &mailbox.password,
                (server.submission_port, "starttls"),
                &[],
            );
            assert!(
                added.status.success(),
                "{}",
                String::from_utf8_lossy(&added.stderr)
            );
        }
        ok(cli(
            dir.path(),
            &url,
            &[
                "shop",
                "set",
                "boutique",
                "--auto-answers",
                "on",
                "--reply-delay",
                "0s",
                "--reply-spread",
                "0s",
            ],
        ));
        let desk_orders = dir.path().join("orders.csv");
        let mut csv = std::fs::File::create(&desk_orders).unwrap();
        writeln!(
            csv,
            "reference,customer_email,status,ordered_at,items,carrier,tracking_number"
        )
        .unwrap();
        for n in 0..customer_count {
            writeln!(
                csv,
                "{},{},shipped,2026-11-20,1 x Théière,Colissimo,6A{:011}",
                order_of(n),
                Desk::customer_address(&customers, n),
                n
            )
            .unwrap();
        }
        drop(csv);
        ok(cli(
            dir.path(),
            &url,
            &["orders", "import", desk_orders.to_str().unwrap()],
        ));
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = runtime
            .block_on(Store::open(&url, &dir.path().join("blobs")))
            .unwrap();
        Desk {
            dir,
            db,
            shop_boxes,
            customers,
            store,
            runtime,
        }
    }

    /// Seeds `per_mailbox` questions into each shop mailbox: customers 0.. in the first, and
    /// so on.
    fn seed(&self, server: &MailServer, per_mailbox: usize) {
        for (k, mailbox) in self.shop_boxes.iter().enumerate() {
            let first = k * per_mailbox;
            server.seed_maildir(
                mailbox,
                "INBOX",
                (first..first + per_mailbox).map(|n| self.question(n, mailbox)),
            );
        }
    }

    fn customer_address(customers: &TestMailbox, n: usize) -> String {
        let (local, domain) = customers.email.split_once('@').unwrap();
        format!("{local}+c{n}@{domain}")
    }

    /// Customer `n`'s question about their order, as it arrives at a shop mailbox.
    fn question(&self, n: usize, to: &TestMailbox) -> Vec<u8> {
        let from = format!(
            "Client {n} <{}>",
            Desk::customer_address(&self.customers, n)
        );
        let mut raw = sample_mail(
            &from,
            &to.email,
            &format!("Où est ma commande {} ?", order_of(n)),
            &format!(
                "Bonjour,\r\nma commande {} n'est toujours pas arrivée, pouvez-vous me dire où elle en est ?\r\nMerci",
                order_of(n)
            ),
            Some(&message_id_of(n)),
            &[],
        );
        raw.extend_from_slice(b"\r\n");
        raw
    }

    fn sql(&self) -> &sqlx::PgPool {
        self.store.postgres().expect("the desk runs on PostgreSQL")
    }

    /// How many times each customer message was filed, by Message-ID.
    fn filed(&self) -> HashMap<String, i64> {
        self.runtime.block_on(async {
            sqlx::query(
                "SELECT message_id, COUNT(*) AS copies FROM messages WHERE direction = 'in' GROUP BY message_id",
            )
            .fetch_all(self.sql())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("message_id"), r.get("copies")))
            .collect()
        })
    }

    /// The automatic answers: (Message-ID answered, state, sent_at, node that sent it).
    fn answers(&self) -> Vec<Answer> {
        self.runtime.block_on(async {
            sqlx::query(
                "SELECT m.message_id, o.state, o.sent_at, o.sending_node, o.message_id AS answer_id \
                 FROM outbox o JOIN messages m ON m.id = o.reply_to_message",
            )
            .fetch_all(self.sql())
            .await
            .unwrap()
            .iter()
            .map(|r| Answer {
                to_message: r.get("message_id"),
                state: r.get("state"),
                sent_at: r.get("sent_at"),
                node: r.get("sending_node"),
                answer_id: r.get("answer_id"),
            })
            .collect()
        })
    }

    /// Who holds each shop mailbox now (an expired lease counts as none).
    fn holders(&self) -> HashMap<String, Option<String>> {
        let now = guichet::store::now_ms();
        self.runtime.block_on(async {
            sqlx::query("SELECT email, lease_owner, lease_until FROM mailboxes")
                .fetch_all(self.sql())
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    let until: Option<i64> = r.get("lease_until");
                    let owner: Option<String> = r.get("lease_owner");
                    (
                        r.get("email"),
                        owner.filter(|_| until.is_some_and(|u| u >= now)),
                    )
                })
                .collect()
        })
    }

    /// (Message-ID, node that filed it, when), of every customer message.
    fn filings(&self) -> Vec<(String, Option<String>, i64)> {
        self.runtime.block_on(async {
            sqlx::query(
                "SELECT message_id, filed_by, received_at FROM messages WHERE direction = 'in'",
            )
            .fetch_all(self.sql())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("message_id"), r.get("filed_by"), r.get("received_at")))
            .collect()
        })
    }

    /// How many copies of each answer the customers received, by the answer's Message-ID.
    fn received(&self, server: &MailServer) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for raw in server.maildir_messages(&self.customers, "INBOX") {
            let id = MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.message_id().map(str::to_string))
                .expect("every answer has a Message-ID");
            *counts.entry(id).or_insert(0) += 1;
        }
        counts
    }
}

#[derive(Debug, Clone)]
struct Answer {
    to_message: String,
    state: String,
    sent_at: Option<i64>,
    node: Option<String>,
    answer_id: String,
}

fn order_of(n: usize) -> usize {
    3000 + n
}

fn message_id_of(n: usize) -> String {
    format!("failover-{n}@client.example")
}

/// A `guichet serve` node, its log collected as it comes.
struct Node {
    name: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Node {
    fn start(desk: &Desk, name: &str, database_url: &str) -> Node {
        Node::start_with(desk, name, database_url, &[])
    }

    /// [`Node::start`] with `env` added to (or replacing) the test's settings.
    fn start_with(desk: &Desk, name: &str, database_url: &str, env: &[(&str, &str)]) -> Node {
        let mut command = cli(
            desk.dir.path(),
            database_url,
            &["serve", "--listen", "127.0.0.1:0"],
        );
        command
            .env("GUICHET_NODE_NAME", name)
            .env("GUICHET_CLUSTER_LEASE", LEASE)
            .env("GUICHET_CLUSTER_RENEW_EVERY", RENEW_EVERY)
            .env("GUICHET_SYNC_BATCH_SIZE", "10")
            .env("GUICHET_LOG", "info")
            .env("NO_COLOR", "1");
        let mut child = command
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let collected = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        Node {
            name: name.to_string(),
            child,
            log,
        }
    }

    fn logged(&self, part: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(part))
    }

    fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (polling) until `check` gives Some, at most `timeout`; panics with `what` otherwise.
fn wait_for<T>(timeout: Duration, what: &str, check: impl FnMut() -> Option<T>) -> T {
    wait_or_explain(timeout, what, check, String::new)
}

/// [`wait_for`], panicking with what `explain` says of the state.
fn wait_or_explain<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    explain: impl FnOnce() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {timeout:?}. {}",
            explain()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// Some messages filed, not all.
    EarlyImport,
    /// A third of the answers sent.
    MidAnswers,
    /// Everything filed and answered: every mailbox waits in IDLE.
    Idle,
}

fn postfix_queue_is_empty(server: &MailServer) -> bool {
    let output = Command::new("postqueue")
        .arg("-c")
        .arg(server.dir.join("postfix/conf"))
        .arg("-p")
        .output()
        .expect("postqueue runs");
    String::from_utf8_lossy(&output.stdout).contains("Mail queue is empty")
}

fn one_node_killed(kill_point: KillPoint) {
    let server = MailServer::shared();
    let seeded = 3 * MESSAGES_PER_MAILBOX;
    let total = seeded + 3 * LATE_PER_MAILBOX;
    let desk = Desk::new(server, total);
    desk.seed(server, MESSAGES_PER_MAILBOX);
    let started = Instant::now();
    let mut nodes: Vec<Node> = ["node-a", "node-b", "node-c"]
        .iter()
        .map(|name| Node::start(&desk, name, &desk.db.url))
        .collect();

    let victim = match kill_point {
        KillPoint::EarlyImport => wait_for(Duration::from_secs(60), "a partial import", || {
            let filed = desk.filed().len();
            if filed == 0 || filed >= seeded {
                return None;
            }
            // A node holding a mailbox whose import is under way.
            desk.holders().into_values().flatten().next()
        }),
        KillPoint::MidAnswers => {
            wait_for(Duration::from_secs(90), "a third of the answers", || {
                let answers = desk.answers();
                let sent = answers.iter().filter(|a| a.state == "sent").count();
                (sent >= seeded / 3).then(|| {
                    answers
                        .iter()
                        .find(|a| a.state == "sending")
                        .or_else(|| answers.iter().rev().find(|a| a.state == "sent"))
                        .and_then(|a| a.node.clone())
                })?
            })
        }
        KillPoint::Idle => wait_for(Duration::from_secs(90), "every answer sent", || {
            let answers = desk.answers();
            let sent = answers.iter().filter(|a| a.state == "sent").count();
            if sent < seeded {
                return None;
            }
            desk.holders().into_values().flatten().next()
        }),
    };
    let victim_index = nodes.iter().position(|n| n.name == victim).unwrap();
    nodes[victim_index].kill();
    let killed_at = Instant::now();
    eprintln!(
        "failover {kill_point:?}: {victim} killed {:.1?} after the start, {} filed, {} answers sent",
        started.elapsed(),
        desk.filed().len(),
        desk.answers().iter().filter(|a| a.state == "sent").count()
    );
    // More mail arrives, in every mailbox (the dead node's among them).
    let late: Vec<String> = (seeded..total).map(message_id_of).collect();
    for (k, mailbox) in desk.shop_boxes.iter().enumerate() {
        for j in 0..LATE_PER_MAILBOX {
            server.append(
                mailbox,
                "INBOX",
                &desk.question(seeded + k * LATE_PER_MAILBOX + j, mailbox),
            );
        }
    }

    // The mail that came after the kill is filed and answered within 20 s of it.
    let explain = || {
        let (answers, filed) = (desk.answers(), desk.filed());
        let missing: Vec<_> = late
            .iter()
            .filter(|id| {
                !answers
                    .iter()
                    .any(|a| &a.to_message == *id && a.state == "sent")
            })
            .map(|id| {
                (
                    id,
                    filed.get(id.as_str()).copied(),
                    answers.iter().find(|a| &a.to_message == id).cloned(),
                )
            })
            .collect();
        format!(
            "holders {:?}; late mail not answered (id, filed, answer): {missing:?}; logs:\n{}",
            desk.holders(),
            nodes
                .iter()
                .filter(|n| n.name != victim)
                .map(|n| n.log_text())
                .collect::<Vec<_>>()
                .join("\n----\n")
        )
    };
    let answered_late = wait_or_explain(
        ANSWERED_WITHIN + Duration::from_secs(40),
        "answers to the late mail",
        || {
            let answers = desk.answers();
            late.iter()
                .all(|id| {
                    answers
                        .iter()
                        .any(|a| &a.to_message == id && a.state == "sent")
                })
                .then(|| killed_at.elapsed())
        },
        explain,
    );
    let survivors: Vec<&Node> = nodes.iter().filter(|n| n.name != victim).collect();
    assert!(
        answered_late <= ANSWERED_WITHIN,
        "late mail answered {answered_late:?} after the kill of {victim}; logs:\n{}",
        survivors
            .iter()
            .map(|n| n.log_text())
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
    // The dead node's mailboxes are held by the others now.
    let holders = desk.holders();
    assert!(
        holders
            .values()
            .all(|h| h.as_ref().is_some_and(|h| *h != victim)),
        "{holders:?}"
    );
    if let KillPoint::Idle = kill_point {
        // The dead node comes back under its name: it takes no unexpired lease, and the live
        // holders keep their mailboxes (no back and forth).
        let since = guichet::store::now_ms();
        nodes[victim_index] = Node::start(&desk, &victim, &desk.db.url);
        wait_for(
            Duration::from_secs(30),
            "the restarted node's watchers",
            || {
                let comeback = &nodes[victim_index];
                let heard = desk
                    .runtime
                    .block_on(desk.store.nodes_seen_since(since))
                    .unwrap()
                    .iter()
                    .any(|n| n.name == victim);
                (heard && comeback.logged("watching mailbox")).then_some(())
            },
        );
        std::thread::sleep(LEASE_TIME * 2);
        assert_eq!(
            desk.holders(),
            holders,
            "the mailboxes stayed where they were"
        );
    }

    // Everything settles: nothing left scheduled or in `sending`, Postfix has delivered.
    let answers = wait_for(Duration::from_secs(60), "every answer settled", || {
        let answers = desk.answers();
        (answers.len() >= total
            && answers
                .iter()
                .all(|a| a.state != "scheduled" && a.state != "sending"))
        .then_some(answers)
    });
    wait_for(Duration::from_secs(30), "Postfix's queue empty", || {
        postfix_queue_is_empty(server).then_some(())
    });

    // Every message filed exactly once.
    let filed = desk.filed();
    assert_eq!(filed.len(), total, "every message filed");
    let twice: Vec<_> = filed.iter().filter(|(_, copies)| **copies != 1).collect();
    assert!(twice.is_empty(), "filed more than once: {twice:?}");
    // One answer per message; none received twice; each received or shown as uncertain.
    let mut per_message: HashMap<&str, usize> = HashMap::new();
    for answer in &answers {
        *per_message.entry(&answer.to_message).or_default() += 1;
    }
    assert_eq!(per_message.len(), total, "every message has its answer");
    assert!(per_message.values().all(|n| *n == 1), "{per_message:?}");
    let received = wait_for(
        Duration::from_secs(30),
        "every sent answer delivered",
        || {
            let received = desk.received(server);
            answers
                .iter()
                .filter(|a| a.state == "sent")
                .all(|a| received.contains_key(&a.answer_id))
                .then_some(received)
        },
    );
    let duplicates: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "answers received twice: {duplicates:?}"
    );
    for answer in &answers {
        assert!(
            answer.state == "sent" || answer.state == "uncertain",
            "{answer:?}"
        );
    }
    let uncertain = answers.iter().filter(|a| a.state == "uncertain").count();
    eprintln!(
        "failover {kill_point:?}: late mail answered {answered_late:.1?} after the kill; {uncertain} uncertain; total {:.1?}",
        started.elapsed()
    );
}

/// The cluster import bench in small (issue 11): three nodes import three mailboxes of
/// hundreds of messages each, answers on at once. The first answers go out while the import is
/// still under way, within seconds of the first message filed: sending does not wait for every
/// filed message to be decided, and the nodes do not all decide the same messages.
#[test]
fn answers_go_out_while_three_nodes_still_import() {
    let server = MailServer::shared();
    let per_mailbox = IMPORT_PER_MAILBOX;
    let seeded = 3 * per_mailbox;
    let desk = Desk::new(server, seeded);
    desk.seed(server, per_mailbox);
    let nodes: Vec<Node> = ["node-a", "node-b", "node-c"]
        .iter()
        .map(|name| {
            Node::start_with(
                &desk,
                name,
                &desk.db.url,
                &[("GUICHET_SYNC_BATCH_SIZE", "50")],
            )
        })
        .collect();
    let logs = || {
        nodes
            .iter()
            .map(|n| format!("{}:\n{}", n.name, n.log_text()))
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let first_sent = wait_or_explain(
        Duration::from_secs(180),
        "a first automatic answer",
        || {
            desk.answers()
                .iter()
                .filter_map(|a| a.sent_at.filter(|_| a.state == "sent"))
                .min()
        },
        logs,
    );
    wait_for(Duration::from_secs(180), "every message filed", || {
        (desk.filed().len() >= seeded).then_some(())
    });
    let filings = desk.filings();
    let first_filed = filings.iter().map(|f| f.2).min().unwrap();
    let last_filed = filings.iter().map(|f| f.2).max().unwrap();
    eprintln!(
        "cluster import: {seeded} messages filed in {} ms; first answer sent {} ms after the first filing",
        last_filed - first_filed,
        first_sent - first_filed
    );
    assert!(
        first_sent < last_filed,
        "the first answer went out {} ms after the import's last filing (import took {} ms)",
        first_sent - last_filed,
        last_filed - first_filed
    );
    assert!(
        first_sent - first_filed <= FIRST_ANSWER_WITHIN.as_millis() as i64,
        "first answer {} ms after the first filing",
        first_sent - first_filed
    );
}

#[test]
fn a_node_killed_early_in_the_import_loses_nothing() {
    one_node_killed(KillPoint::EarlyImport);
}

#[test]
fn a_node_killed_mid_answers_sends_nothing_twice() {
    one_node_killed(KillPoint::MidAnswers);
}

#[test]
fn a_node_killed_in_idle_has_its_mailboxes_taken_over() {
    one_node_killed(KillPoint::Idle);
}

/// The database URL with its host and port replaced by the proxy's.
fn through_proxy(database_url: &str, proxy: &DropProxy) -> String {
    let (scheme, rest) = database_url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"));
    format!(
        "{scheme}://{}127.0.0.1:{}/{path}",
        user.unwrap_or_default(),
        proxy.port
    )
}

fn database_port(database_url: &str) -> u16 {
    let rest = database_url.split_once("://").unwrap().1;
    let authority = rest.split_once('/').unwrap().0;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(5432)
}

#[test]
fn a_node_cut_from_the_database_stops_acting_and_another_takes_over() {
    let server = MailServer::shared();
    let seeded = 3 * 20;
    let late_count = 6;
    let total = seeded + late_count;
    let desk = Desk::new(server, total);
    desk.seed(server, 20);
    let proxy = DropProxy::start(database_port(&desk.db.url), None);
    // The node behind the proxy starts alone: it takes every mailbox.
    let mut cut = Node::start(&desk, "node-cut", &through_proxy(&desk.db.url, &proxy));
    wait_for(
        Duration::from_secs(60),
        "node-cut holding every mailbox",
        || {
            desk.holders()
                .values()
                .all(|h| h.as_deref() == Some("node-cut"))
                .then_some(())
        },
    );
    let other = Node::start(&desk, "node-ok", &desk.db.url);
    wait_for(Duration::from_secs(60), "node-ok running", || {
        other.logged("guichet running").then_some(())
    });
    // Cut while node-cut holds the mailboxes (and may be importing or answering).
    proxy.cut_now();
    let cut_at_ms = guichet::store::now_ms();
    let cut_at = Instant::now();
    for j in 0..late_count {
        let mailbox = &desk.shop_boxes[j % 3];
        server.append(mailbox, "INBOX", &desk.question(seeded + j, mailbox));
    }
    wait_for(
        Duration::from_secs(30),
        "node-ok taking every mailbox over",
        || {
            desk.holders()
                .values()
                .all(|h| h.as_deref() == Some("node-ok"))
                .then_some(())
        },
    );
    let taken_over = cut_at.elapsed();
    let late: Vec<String> = (seeded..total).map(message_id_of).collect();
    wait_for(
        Duration::from_secs(60),
        "every message answered by node-ok",
        || {
            let answers = desk.answers();
            (answers.len() >= total
                && answers
                    .iter()
                    .all(|a| a.state == "sent" || a.state == "uncertain"))
            .then_some(())
        },
    );
    // The cut node gets its database back: it must not act on what it no longer holds.
    proxy.heal();
    wait_for(
        Duration::from_secs(30),
        "node-cut back on the database",
        || {
            let seen = desk
                .runtime
                .block_on(desk.store.nodes_seen_since(guichet::store::now_ms() - 500));
            seen.unwrap()
                .iter()
                .any(|n| n.name == "node-cut")
                .then_some(())
        },
    );
    std::thread::sleep(LEASE_TIME);
    let lease_ms = LEASE_TIME.as_millis() as i64;
    for (id, by, at) in desk.filings() {
        if by.as_deref() == Some("node-cut") {
            assert!(
                at <= cut_at_ms + lease_ms,
                "{id} filed by the cut node {} ms after the cut; log:\n{}",
                at - cut_at_ms,
                cut.log_text()
            );
            assert!(!late.contains(&id), "late mail {id} filed by the cut node");
        }
    }
    let answers = desk.answers();
    for answer in &answers {
        if answer.node.as_deref() == Some("node-cut") && answer.state == "sent" {
            let at = answer.sent_at.unwrap();
            assert!(
                at <= cut_at_ms + lease_ms,
                "{answer:?} sent by the cut node {} ms after the cut",
                at - cut_at_ms
            );
        }
    }
    // Mail sent after the cut has exactly one answer, received once.
    let filed = desk.filed();
    assert!(filed.values().all(|n| *n == 1), "{filed:?}");
    let received = wait_for(Duration::from_secs(30), "late answers delivered", || {
        let received = desk.received(server);
        late.iter()
            .all(|id| {
                answers
                    .iter()
                    .filter(|a| &a.to_message == id)
                    .all(|a| received.contains_key(&a.answer_id))
            })
            .then_some(received)
    });
    for id in &late {
        let of_message: Vec<&Answer> = answers.iter().filter(|a| &a.to_message == id).collect();
        assert_eq!(of_message.len(), 1, "{id}: {of_message:?}");
        assert_eq!(of_message[0].state, "sent", "{of_message:?}");
        assert_eq!(received[&of_message[0].answer_id], 1);
    }
    assert!(
        received.values().all(|n| *n == 1),
        "an answer received twice"
    );
    // Back on the database, the cut node does not fight for the mailboxes it lost.
    assert!(
        desk.holders()
            .values()
            .all(|h| h.as_deref() == Some("node-ok")),
        "{:?}",
        desk.holders()
    );
    cut.kill();
    eprintln!("cut node's mailboxes taken over {taken_over:.1?} after the cut");
}

/// A job's lease is renewed only by the node running it: once it ran out and another node
/// took the job, the first node's renewal says so (and its runner stops the job).
async fn job_lease_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let now = guichet::store::now_ms();
    store
        .schedule_unique_job(guichet::store::PURGE_RETENTION, shop.id, now)
        .await
        .unwrap();
    // Node A takes it under a lease already run out (a node that stopped renewing).
    let job = store.lease_due_job("node-a", -1).await.unwrap().unwrap();
    assert!(store.renew_job_lease(job.id, "node-a", -1).await.unwrap());
    let taken = store
        .lease_due_job("node-b", 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.id, job.id, "node B takes the job whose lease ran out");
    assert!(
        !store
            .renew_job_lease(job.id, "node-a", 60_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .renew_job_lease(job.id, "node-b", 60_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_due_job("node-a", 60_000)
            .await
            .unwrap()
            .is_none(),
        "an unexpired lease is never taken"
    );
}

crate::support::store_tests!(job_lease_suite =>
    a_job_lease_is_renewed_only_by_its_holder_sqlite,
    a_job_lease_is_renewed_only_by_its_holder_postgres);

/// Planning claims spread the shops among nodes: on PostgreSQL a shop claimed in one session
/// is refused to another until released, or until the claiming session ends (a node that died
/// mid-pass); on SQLite, one node, every claim is granted.
async fn planning_claims_suite(store: Store) {
    let (shop, other) = (
        store.add_shop("boutique").await.unwrap().id,
        store.add_shop("atelier").await.unwrap().id,
    );
    let mut node_a = store.planning_claims().await.unwrap();
    let mut node_b = store.planning_claims().await.unwrap();
    assert!(node_a.claim(shop).await.unwrap());
    let exclusive = store.postgres().is_some();
    assert_eq!(
        node_b.claim(shop).await.unwrap(),
        !exclusive,
        "a shop claimed by node A is left to it on PostgreSQL"
    );
    assert!(node_b.claim(other).await.unwrap(), "another shop is free");
    node_a.release(shop).await.unwrap();
    assert!(
        node_b.claim(shop).await.unwrap(),
        "released, node B may plan it"
    );
    // Node B's session ends without releasing (a pass cut short): its claims go with it.
    drop(node_b);
    let freed = async {
        while !node_a.claim(shop).await.unwrap() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), freed)
        .await
        .expect("a dropped session's claims are released");
    assert!(node_a.claim(other).await.unwrap());
    node_a.close().await.unwrap();
}

crate::support::store_tests!(planning_claims_suite =>
    planning_claims_spread_shops_among_nodes_sqlite,
    planning_claims_spread_shops_among_nodes_postgres);
