//! The `guichet` binary as a user drives it: configuration, mailbox add/test, sync, tickets
//! JSON, and a sync killed at random points.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use rand::Rng;

// Where the other modules have always found them.
#[allow(unused_imports)]
pub(crate) use crate::support::cli::{add_mailbox, add_mailbox_sending_to, guichet, ok, run};
use crate::support::cli::{
    assert_success, empty_shop, new_shop, sync_once, ticket_shown, tickets_json, tickets_list,
    with_stdin,
};
use crate::support::{MailServer, TestMailbox, eventually, guichet_cmd, open_data_dir};

#[test]
fn mailbox_add_test_sync_and_json_shapes() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("cli");
    let dir = empty_shop();

    // A wrong password is refused with a clear message, and nothing is saved.
    let add_with =
        |password: &str| add_mailbox(dir.path(), &mailbox, server.imaps_port, password, &[]);
    let refused = add_with("wrong-password");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stdout).to_string()
        + &String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.to_lowercase().contains("password") || said.to_lowercase().contains("authentication"),
        "{said}"
    );
    assert!(
        !said.contains("wrong-password"),
        "the password never appears: {said}"
    );

    assert_success(&add_with(&mailbox.password));
    let listed = ok(guichet(dir.path(), &["mailbox", "list", "--json"]));
    assert!(!listed.contains(&mailbox.password));
    let db = std::fs::read(dir.path().join("guichet.db")).unwrap();
    assert!(
        !db.windows(mailbox.password.len())
            .any(|w| w == mailbox.password.as_bytes()),
        "password sealed at rest"
    );

    let tested = ok(guichet(dir.path(), &["mailbox", "test"]));
    assert!(tested.contains(&mailbox.email), "{tested}");

    server.append_mail(
        &mailbox,
        "gina@client.test",
        "Facture commande 77",
        "Bonjour, la facture svp.",
        "g1@client.test",
    );
    let summary = sync_once(dir.path());
    assert!(
        summary.contains("new messages: 1") && summary.contains("new tickets: 1"),
        "{summary}"
    );

    let list = tickets_list(dir.path());
    let ticket = &list[0];
    let keys = "number shop subject customer_email customer_name status assignee contact \
                language message_count created_at updated_at";
    assert_has(ticket, keys, "tickets list --json");
    assert_eq!(ticket["customer_email"], "gina@client.test");
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["message_count"], 1);

    let number = ticket["number"].as_i64().unwrap().to_string();
    let shown = ticket_shown(dir.path(), &number);
    let message = &shown["messages"][0];
    let keys = "message_id from date subject new_text attachments";
    assert_has(message, keys, "tickets show --json");
    assert_eq!(message["message_id"], "g1@client.test");
    assert_eq!(message["from"], "gina@client.test");
    assert!(message["new_text"].as_str().unwrap().contains("la facture"));

    // French on request.
    let french = ok(guichet(dir.path(), &["--lang", "fr", "sync", "--once"]));
    assert!(french.contains("nouveaux messages: 0"), "{french}");
}

/// Asserts that the JSON object `value`, printed by `what`, has each of the `keys` (separated
/// by white space).
fn assert_has(value: &serde_json::Value, keys: &str, what: &str) {
    for key in keys.split_whitespace() {
        assert!(value.get(key).is_some(), "{what} has `{key}`: {value}");
    }
}

#[test]
fn mailbox_test_explains_failures_in_french_and_english() {
    let dir = empty_shop();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let nobody = TestMailbox {
        email: "nobody@boutique.test".into(),
        password: "x".into(),
    };
    let en = add_mailbox(dir.path(), &nobody, closed_port, "x", &[]);
    assert!(!en.status.success());
    let en_text = String::from_utf8_lossy(&en.stdout).to_lowercase();
    assert!(en_text.contains("refused"), "{en_text}");

    let mut cmd = guichet_cmd(dir.path());
    cmd.args([
        "--lang",
        "fr",
        "mailbox",
        "add",
        "--shop",
        "boutique",
        "--email",
        "nobody@inconnu.test",
        "--password-stdin",
    ]);
    let unknown = with_stdin(cmd, b"x\n");
    assert!(!unknown.status.success());
    let fr_text = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        fr_text.contains("fournisseur inconnu") && fr_text.contains("--imap-host"),
        "{fr_text}"
    );
}

#[test]
fn bad_configuration_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("guichet.toml");
    std::fs::write(&config, "[sync]\nbatch_size = 0\n").unwrap();
    let output = run(guichet(
        dir.path(),
        &["--config", config.to_str().unwrap(), "shop", "list"],
    ));
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("sync.batch_size"), "{err}");
}

#[test]
fn demo_files_sample_mail_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok(guichet(dir.path(), &["demo", "--no-serve"]));
    assert!(first.contains("7 messages filed"), "{first}");
    let second = ok(guichet(dir.path(), &["demo", "--no-serve"]));
    assert!(
        second.contains("0 messages filed") && second.contains("7 duplicates skipped"),
        "{second}"
    );
    let list = tickets_list(dir.path());
    let counts: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["message_count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<i64>(), 7);
    assert_eq!(
        counts.len(),
        5,
        "Marie and John each have a two-message thread: {list}"
    );

    // Status, raw message and attachment of the demo tickets.
    ok(guichet(
        dir.path(),
        &["tickets", "status", "1001", "pending1"],
    ));
    let shown = ticket_shown(dir.path(), "1001");
    assert_eq!(shown["ticket"]["status"], "pending1");
    let message_id = shown["messages"][0]["id"].as_i64().unwrap().to_string();
    let raw = run(guichet(dir.path(), &["tickets", "raw", &message_id]));
    assert!(String::from_utf8_lossy(&raw.stdout).contains("Message-ID: <demo-1@client.example>"));
    let mug = ticket_shown(dir.path(), "1002");
    let sha256 = mug["messages"][0]["attachments"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let png = run(guichet(dir.path(), &["tickets", "attachment", &sha256]));
    assert!(
        png.stdout.starts_with(b"\x89PNG"),
        "the photo comes back as stored"
    );
    let missing = run(guichet(
        dir.path(),
        &["--lang", "fr", "tickets", "attachment", &"0".repeat(64)],
    ));
    assert!(
        !missing.status.success()
            && String::from_utf8_lossy(&missing.stderr).contains("pas de pièce jointe")
    );
}

#[test]
fn sync_killed_at_random_points_loses_and_duplicates_nothing() {
    const MESSAGES: usize = 2000;
    let server = MailServer::shared();
    let (dir, mailbox) = new_shop(server, "crash");
    server.seed_maildir(
        &mailbox,
        "INBOX",
        (0..MESSAGES).map(crate::support::realistic_mail),
    );

    // Kill a running import at random points until one run gets to the end by itself. The
    // moment is picked from the import's own progress lines (one per committed batch of 25),
    // plus a random few milliseconds, so it falls anywhere in fetching, parsing or committing
    // the next batch, however fast or slow this machine is.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let count_filed = || runtime.block_on(async { filed_messages(dir.path()).await.len() });
    let (mut kills, mut mid_import_kills) = (0, 0);
    for _ in 0..200 {
        let mut child = guichet(dir.path(), &["sync", "--once"])
            .env("GUICHET_SYNC_BATCH_SIZE", "25")
            .env("GUICHET_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let batches_before_kill = rand::rng().random_range(1..=6);
        let mut progress_lines = 0;
        let mut lines =
            std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
        while progress_lines < batches_before_kill {
            match lines.next() {
                Some(Ok(line)) => progress_lines += line.contains("imported ") as usize,
                _ => break,
            }
        }
        std::thread::sleep(Duration::from_micros(rand::rng().random_range(0..8_000)));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let filed = count_filed();
        mid_import_kills += (filed > 0 && filed < MESSAGES) as usize;
    }
    eprintln!("crash test: {kills} SIGKILLs, {mid_import_kills} of them with a partial import");
    assert!(
        kills >= 5 && mid_import_kills >= 5,
        "the import was interrupted several times ({kills} kills, {mid_import_kills} with a partial import)"
    );
    sync_once(dir.path());

    let filed = runtime.block_on(filed_messages(dir.path()));
    let distinct: HashSet<&String> = filed.iter().collect();
    assert_eq!(distinct.len(), filed.len(), "no message filed twice");
    assert_eq!(
        filed.len(),
        MESSAGES,
        "every message exactly once after {kills} kills"
    );
}

#[test]
fn serve_files_new_mail_through_idle_quickly() {
    let server = MailServer::shared();
    let (dir, mailbox) = new_shop(server, "idle");

    // Polling every 10 minutes: only IDLE can bring the mail in within seconds.
    let mut serve = guichet(dir.path(), &["serve", "--listen", "127.0.0.1:0"])
        .env("GUICHET_SYNC_POLL_INTERVAL", "10m")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    server.append_mail(
        &mailbox,
        "jade@client.test",
        "Colis abîmé",
        "Le carton est écrasé.",
        "j1@client.test",
    );
    let filed = eventually(Duration::from_secs(10), || {
        tickets_json(dir.path()).contains("jade@client.test")
    });
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert!(filed, "serve filed the new message within 10 s");
}

/// The messages filed in the data dir's store: (Message-ID or content) for each.
pub(crate) async fn filed_messages(data_dir: &std::path::Path) -> Vec<String> {
    let store = open_data_dir(data_dir).await;
    let mut filed = Vec::new();
    for ticket in store.tickets(None).await.unwrap() {
        let shop = store.shop_by_name(&ticket.shop).await.unwrap();
        let (_, messages) = store.ticket(shop.id, ticket.number).await.unwrap();
        for m in messages {
            filed.push(
                m.message_id
                    .clone()
                    .unwrap_or_else(|| format!("{}|{}|{}", m.from, m.subject, m.text)),
            );
        }
    }
    store.close().await;
    filed
}
