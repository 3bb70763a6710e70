//! The runtime: `guichet serve` follows mailboxes added, changed and removed while it runs,
//! and stops cleanly on SIGTERM in the middle of an import.

use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use guichet::model::UiLang;
use guichet::runtime::{RuntimeOptions, Supervisor};

use crate::cli::{add_mailbox, filed_messages, guichet, ok};
use crate::intake::Instance;
use crate::support::cli::{empty_shop, new_shop, sync_once, tickets_json};
use crate::support::{
    MailServer, TestMailbox, eventually, eventually_async, open_data_dir, realistic_mail,
    sample_mail,
};

/// A `guichet serve` process whose log lines the test reads as they come.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Serve {
    fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Serve {
        let mut child = guichet(dir, &["serve", "--listen", "127.0.0.1:0"])
            .env("GUICHET_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Serve {
            child,
            lines,
            seen: Vec::new(),
        };
        serve.wait_for_line(&["guichet running"], Duration::from_secs(30));
        serve
    }

    /// The first log line from now on containing every one of `parts`; panics with the log
    /// read so far when none comes within `timeout`.
    fn wait_for_line(&mut self, parts: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if parts.iter().all(|part| line.contains(part)) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no log line with {parts:?} within {timeout:?}; log:\n{}",
            self.seen.join("\n")
        );
    }

    /// Sends SIGTERM and waits for the exit (15 s at most); returns the status and how long
    /// the process took to exit.
    fn terminate(&mut self) -> (ExitStatus, Duration) {
        let sent = Instant::now();
        let pid = self.child.id() as libc::pid_t;
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM sent");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let took = sent.elapsed();
                // The rest of the log, to the end of the pipe.
                self.seen.extend(self.lines.iter());
                return (status, took);
            }
            assert!(
                sent.elapsed() < Duration::from_secs(15),
                "serve still running 15 s after SIGTERM; log:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn logged(&self, parts: &[&str]) -> bool {
        self.seen
            .iter()
            .any(|line| parts.iter().all(|part| line.contains(part)))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `guichet mailbox add` of `mailbox` (IMAPS on the test server) to the shop "boutique".
fn add_watched_mailbox(dir: &std::path::Path, server: &MailServer, mailbox: &TestMailbox) {
    let output = add_mailbox(dir, mailbox, server.imaps_port, &mailbox.password, &[]);
    assert!(output.status.success(), "{output:?}");
}

fn remove_mailbox(dir: &std::path::Path, mailbox: &TestMailbox) -> std::process::Command {
    guichet(
        dir,
        &[
            "mailbox",
            "remove",
            "--shop",
            "boutique",
            "--email",
            &mailbox.email,
        ],
    )
}

#[test]
fn serve_watches_a_mailbox_added_while_it_runs_and_stops_when_it_is_removed() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("runtime-added");
    let dir = empty_shop();
    // Polling every 10 minutes: only the reconcile loop can notice the new mailbox in seconds.
    let mut serve = Serve::start(dir.path(), &[("GUICHET_SYNC_POLL_INTERVAL", "10m")]);
    server.append_mail(
        &mailbox,
        "lou@client.test",
        "Où est ma commande ?",
        "Bonjour, toujours rien reçu.",
        "added-1@client.test",
    );

    let added = Instant::now();
    add_watched_mailbox(dir.path(), server, &mailbox);
    assert!(
        eventually(Duration::from_secs(20), || tickets_json(dir.path())
            .contains("lou@client.test")),
        "the mail of a mailbox added while serve runs is filed without restart"
    );
    eprintln!("mailbox added → mail filed: {:?}", added.elapsed());
    serve.wait_for_line(
        &["watching mailbox", &mailbox.email],
        Duration::from_secs(5),
    );
    assert!(
        eventually(Duration::from_secs(5), || server.imap_connections(&mailbox)
            > 0),
        "the watcher keeps a connection open (IDLE)"
    );

    ok(remove_mailbox(dir.path(), &mailbox));
    serve.wait_for_line(
        &["stopped watching mailbox", &mailbox.email],
        Duration::from_secs(15),
    );
    assert!(
        eventually(Duration::from_secs(5), || server.imap_connections(&mailbox)
            == 0),
        "the watcher of a removed mailbox closed its connection"
    );
    assert!(serve.logged(&["mailbox removed"]));
    assert!(
        !ok(guichet(dir.path(), &["mailbox", "list", "--json"])).contains(&mailbox.email),
        "the mailbox is gone"
    );
    assert!(
        tickets_json(dir.path()).contains("lou@client.test"),
        "its tickets stay"
    );
    let again = crate::cli::run(remove_mailbox(dir.path(), &mailbox));
    assert!(
        !again.status.success() && String::from_utf8_lossy(&again.stderr).contains("no mailbox"),
        "removing an unknown mailbox says so: {again:?}"
    );

    let (status, took) = serve.terminate();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
    assert!(serve.logged(&["guichet stopped"]), "{took:?}");
}

// Two threads: the supervisor runs on with the test's blocking checks (doveadm).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_restarts_a_watcher_whose_folders_changed_and_stops_idle_at_once() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("runtime-changed");
    let mail = |id: &str, from: &str| {
        sample_mail(
            from,
            &mailbox.email,
            "Retour",
            "Je souhaite retourner un article.",
            Some(id),
            &[],
        )
    };
    server.append(
        &mailbox,
        "INBOX",
        &mail("inbox-1@client.test", "ines@client.test"),
    );
    server.append(
        &mailbox,
        "Archive",
        &mail("archive-1@client.test", "arno@client.test"),
    );
    let instance = Instance::new().await;
    let mailbox_id = instance
        .watch(&mailbox, server.imaps_port, true, &["INBOX"])
        .await;
    let options = RuntimeOptions {
        node_name: "embedded".into(),
        lang: UiLang::En,
        batch_size: 50,
        poll_interval: Duration::from_secs(600),
        idle: true,
        workers: true,
        // Only `reconcile_now` can make it look at the mailboxes again within this test.
        reconcile_interval: Duration::from_secs(3600),
        work_interval: Duration::from_secs(5),
        shutdown_timeout: Duration::from_secs(8),
        send: Default::default(),
        shop: Default::default(),
        leases: Default::default(),
    };
    let supervisor = Supervisor::new(instance.store.clone(), instance.key.clone(), options);
    let handle = supervisor.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(supervisor.run(async {
        let _ = stopped.await;
    }));

    let senders = || async {
        instance
            .store
            .tickets(None)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.customer_email)
            .collect::<HashSet<String>>()
    };
    let inbox_filed = async || senders().await.contains("ines@client.test");
    assert!(
        eventually_async(Duration::from_secs(20), inbox_filed).await,
        "INBOX filed by the supervisor"
    );
    assert!(
        !senders().await.contains("arno@client.test"),
        "Archive is not watched yet"
    );

    instance
        .store
        .set_mailbox_folders(mailbox_id, &["INBOX".into(), "Archive".into()])
        .await
        .unwrap();
    handle.reconcile_now();
    let changed = Instant::now();
    let archive_filed = async || senders().await.contains("arno@client.test");
    assert!(
        eventually_async(Duration::from_secs(15), archive_filed).await,
        "the new folder is watched after the change"
    );
    eprintln!(
        "folders changed → new folder filed: {:?}",
        changed.elapsed()
    );
    // The restarted watcher is in IDLE (10-minute poll) once its connection is open again.
    let idling = async || server.imap_connections(&mailbox) > 0;
    assert!(
        eventually_async(Duration::from_secs(5), idling).await,
        "the watcher idles on the mailbox"
    );

    let signalled = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the supervisor returns within 10 s")
        .unwrap();
    let took = signalled.elapsed();
    eprintln!("embedded supervisor stopped from IDLE in {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "IDLE and pauses end at the shutdown signal ({took:?})"
    );
    assert!(
        instance
            .store
            .lease_mailbox(mailbox_id, "another-node", 60_000)
            .await
            .unwrap(),
        "the lease was released at shutdown"
    );
}

#[tokio::test]
async fn sigterm_mid_import_exits_within_10_s_releases_the_lease_and_files_nothing_twice() {
    const MESSAGES: usize = 3000;
    let server = MailServer::shared();
    let (dir, mailbox) = new_shop(server, "runtime-sigterm");
    server.seed_maildir(&mailbox, "INBOX", (0..MESSAGES).map(realistic_mail));

    // Small batches make the import last long enough to be cut in the middle.
    let mut serve = Serve::start(dir.path(), &[("GUICHET_SYNC_BATCH_SIZE", "25")]);
    serve.wait_for_line(&["imported "], Duration::from_secs(60));
    let (status, took) = serve.terminate();
    eprintln!("serve stopped {took:?} after SIGTERM, mid-import");
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
    assert!(
        took < Duration::from_secs(10),
        "serve exits within 10 s ({took:?})"
    );
    assert!(
        serve.logged(&["stopped watching mailbox", &mailbox.email])
            && serve.logged(&["guichet stopped"]),
        "log:\n{}",
        serve.seen.join("\n")
    );

    assert!(
        serve.logged(&["import stopped after a committed batch"]),
        "the batch in flight was committed before stopping; log:\n{}",
        serve.seen.join("\n")
    );
    let filed = filed_messages(dir.path()).await.len();
    eprintln!("{filed} of {MESSAGES} messages filed when serve stopped");
    assert!(
        filed > 0 && filed < MESSAGES,
        "SIGTERM came in the middle of the import ({filed} of {MESSAGES} filed)"
    );
    let store = open_data_dir(dir.path()).await;
    let mailbox_id = store.mailboxes().await.unwrap()[0].id;
    assert!(
        store
            .lease_mailbox(mailbox_id, "another-node", 60_000)
            .await
            .unwrap(),
        "another node takes the mailbox at once"
    );
    store
        .release_mailbox(mailbox_id, "another-node")
        .await
        .unwrap();
    store.close().await;

    sync_once(dir.path());
    let filed = filed_messages(dir.path()).await;
    let distinct: HashSet<&String> = filed.iter().collect();
    assert_eq!(distinct.len(), filed.len(), "no message filed twice");
    assert_eq!(filed.len(), MESSAGES, "every message exactly once");
}
