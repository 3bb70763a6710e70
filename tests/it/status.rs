//! The cluster's visible state (issue 11): `guichet status` and `--json` on a store with
//! nodes, leased mailboxes, due work, uncertain sends and errors; a real sync recording each
//! folder's state; `/metrics` in the Prometheus text format behind its token; the admin page
//! isolated per shop; and safe upgrades: migrations once under the lock, unknown work kept.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use guichet::crypto::SealingKey;
use guichet::store::{NewMailbox, Store, now_ms};
use sha2::{Digest, Sha256};

use crate::support::cli::{guichet, json, run};
use crate::support::web::{TestWeb, web_tests};
use crate::support::{
    Dialect, MailServer, TestDatabase, offline_mailbox, realistic_mail, store_tests, sync_pass,
    watched_mailbox, write_behind,
};

fn mailbox_at(email: &str) -> NewMailbox {
    NewMailbox {
        email: email.into(),
        username: email.into(),
        ..offline_mailbox()
    }
}

/// Two shops, `alpha` (its mailbox held by node-a, synced) and `beta` (its mailbox failing,
/// 7 messages still to file); node-a alive and node-b silent; one job of each kind of wait
/// and one answer in each state the status counts.
async fn seed(store: &Store, url: &str) {
    let now = now_ms();
    let alpha = store.add_shop("alpha").await.unwrap().id;
    let beta = store.add_shop("beta").await.unwrap().id;
    let a = store
        .add_mailbox(alpha, &mailbox_at("sav@alpha.test"))
        .await
        .unwrap();
    let b = store
        .add_mailbox(beta, &mailbox_at("sav@beta.test"))
        .await
        .unwrap();
    assert!(store.lease_mailbox(a, "node-a", 60_000).await.unwrap());
    store
        .record_folder_sync(a, "INBOX", 1, 0, true)
        .await
        .unwrap();
    store.record_sync(a, None).await.unwrap();
    store
        .record_folder_sync(b, "INBOX", 1, 7, false)
        .await
        .unwrap();
    store.record_sync(b, Some("LOGIN refused")).await.unwrap();

    store
        .record_heartbeat("node-a", "9.9.9", now)
        .await
        .unwrap();
    store
        .record_heartbeat("node-b", "9.9.8", now)
        .await
        .unwrap();
    write_behind(
        url,
        &format!(
            "UPDATE nodes SET last_heartbeat = {} WHERE name = 'node-b'",
            now - 60_000
        ),
    )
    .await;

    store
        .schedule_unique_job("from_a_newer_version", alpha, now - 1_000)
        .await
        .unwrap();
    write_behind(
        url,
        &format!(
            "INSERT INTO jobs (kind, shop_id, payload, run_at, attempts, last_error, created_at) \
             VALUES ('purge_retention', {beta}, '{{}}', {}, 3, 'disk full', {now})",
            now + 3_600_000
        ),
    )
    .await;
    for (n, (shop, state, due, error)) in [
        (alpha, "scheduled", now - 1_000, "NULL"),
        (alpha, "scheduled", now + 3_600_000, "NULL"),
        (
            alpha,
            "uncertain",
            now - 5_000,
            "'connection lost after DATA'",
        ),
        (beta, "failed", now - 5_000, "'550 mailbox unavailable'"),
    ]
    .into_iter()
    .enumerate()
    {
        write_behind(
            url,
            &format!(
                "INSERT INTO outbox (shop_id, kind, lang, state, due_at, to_email, subject, body_text, \
                 message_id, last_error, created_at, updated_at) VALUES ({shop}, 'notice', 'en', '{state}', \
                 {due}, 'c{n}@client.test', 'Hello', 'body', 'status.{n}@guichet.test', {error}, {now}, {now})"
            ),
        )
        .await;
    }
}

/// `guichet status ARGS` on the database `url`, in `lang`, from a data dir of its own.
fn status_command(dir: &Path, url: &str, lang: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--database-url", url, "status"];
    all.extend_from_slice(args);
    let mut cmd = guichet(dir, &all);
    cmd.env("GUICHET_LANG", lang);
    run(cmd)
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

async fn status_command_suite(store: Store, url: &str) {
    seed(&store, url).await;
    let dir = tempfile::tempdir().unwrap();

    let output = status_command(dir.path(), url, "en", &["--json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status = json(&stdout(&output));
    assert_eq!(status["nodes_alive"], 1);
    let nodes: Vec<(&str, &str)> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap(), n["liveness"].as_str().unwrap()))
        .collect();
    assert_eq!(nodes, [("node-a", "alive"), ("node-b", "silent")]);
    assert_eq!(status["nodes"][0]["version"], "9.9.9");

    let mailboxes = status["mailboxes"].as_array().unwrap();
    assert_eq!(mailboxes.len(), 2);
    let alpha = &mailboxes[0];
    assert_eq!(alpha["shop"], "alpha");
    assert_eq!(alpha["lease"]["state"], "held");
    assert_eq!(alpha["lease"]["owner"], "node-a");
    assert!(alpha["lease"]["until"].as_i64().unwrap() > status["now"].as_i64().unwrap());
    assert_eq!(alpha["folders"][0]["name"], "INBOX");
    assert_eq!(alpha["folders"][0]["lag"]["state"], "up_to_date");
    assert_eq!(alpha["folders"][0]["unfiled"], 0);
    let beta = &mailboxes[1];
    assert_eq!(beta["lease"]["state"], "free");
    assert_eq!(beta["last_error"], "LOGIN refused");
    assert_eq!(beta["folders"][0]["lag"]["state"], "never");
    assert_eq!(beta["folders"][0]["unfiled"], 7);

    let queues = &status["queues"];
    for (name, expected) in [
        ("jobs_due", 1),
        ("jobs_retrying", 1),
        ("answers_due", 1),
        ("answers_scheduled", 1),
        ("answers_sending", 0),
        ("answers_uncertain", 1),
        ("answers_failed", 1),
    ] {
        assert_eq!(queues[name], expected, "{name}");
    }
    let sources: BTreeMap<&str, &str> = status["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["source"].as_str().unwrap(), e["error"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sources,
        BTreeMap::from([
            ("job", "disk full"),
            ("mailbox", "LOGIN refused"),
            ("send", "550 mailbox unavailable")
        ])
    );

    let output = status_command(dir.path(), url, "en", &[]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for expected in [
        "node-a",
        "alive",
        "silent",
        "1 of 2 nodes alive.",
        "node-a until",
        "up to date",
        "never synced",
        "LOGIN refused",
        "disk full",
        "550 mailbox unavailable",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let uncertain = text
        .lines()
        .find(|l| l.contains("Uncertain sends"))
        .unwrap_or_else(|| panic!("no uncertain line in:\n{text}"));
    assert!(uncertain.trim_end().ends_with(" 1"), "{uncertain}");

    let text = stdout(&status_command(dir.path(), url, "fr", &[]));
    for expected in ["Nœuds", "en marche", "muet", "Envois incertains"] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }

    // Once every node is silent, the exit code says so and the table explains it.
    write_behind(
        url,
        &format!("UPDATE nodes SET last_heartbeat = {}", now_ms() - 60_000),
    )
    .await;
    let output = status_command(dir.path(), url, "en", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("No node is alive"));
    let output = status_command(dir.path(), url, "en", &["--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&stdout(&output))["nodes_alive"], 0);
}

store_tests!(at status_command_suite => status_command_sqlite, status_command_postgres);

/// A real sync pass records each folder's completion and what it left to file.
async fn sync_records_folder_state(store: Store) {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("status: folder sync state");
    for i in 0..3 {
        server.append(&mailbox, "INBOX", &realistic_mail(i));
    }
    let dir = tempfile::tempdir().unwrap();
    let key = SealingKey::load_or_create(&dir.path().join("secret.key")).unwrap();
    let shop = store.add_shop("boutique").await.unwrap().id;
    let before = now_ms();
    store
        .add_mailbox(
            shop,
            &watched_mailbox(&mailbox, server.imap_port, false, &["INBOX"], &key),
        )
        .await
        .unwrap();
    for summary in sync_pass(&store, &key, "node-a", 2, 1).await {
        assert!(summary.error.is_none(), "{summary:?}");
    }
    let folders = store.folder_syncs(Some(shop)).await.unwrap();
    assert_eq!(folders.len(), 1);
    assert_eq!(folders[0].folder, "INBOX");
    assert_eq!(folders[0].unfiled, 0);
    assert!(folders[0].synced_at.unwrap() >= before);
}

store_tests!(sync_records_folder_state => status_sync_sqlite, status_sync_postgres);

// ---- /metrics and the admin page. ----

const METRICS_TOKEN: &str = "metrics-token-for-the-test";

/// Checks the Prometheus text exposition format: every line a HELP, a TYPE or a valid sample;
/// every sample's family has HELP and TYPE before it. Returns the samples by name and labels.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut helped = BTreeSet::new();
    let mut typed = BTreeSet::new();
    let mut samples = BTreeMap::new();
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(is_name(name), "bad HELP line {line:?}");
            assert!(helped.insert(name.to_string()), "HELP twice: {line:?}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(is_name(name), "bad TYPE line {line:?}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line:?}"
            );
            assert!(typed.insert(name.to_string()), "TYPE twice: {line:?}");
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(is_name(name), "bad name: {line:?}");
        assert!(
            helped.contains(name) && typed.contains(name),
            "no HELP/TYPE before {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            check_labels(labels, line);
        }
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "sample twice: {line:?}"
        );
    }
    samples
}

/// `{k="v",...}`: names valid, values quoted with only `\\`, `\"` and `\n` escapes.
fn check_labels(labels: &str, line: &str) {
    let inner = labels
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("bad labels: {line:?}"));
    let mut chars = inner.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad label name in {line:?}"
        );
        assert_eq!(chars.next(), Some('"'), "unquoted label in {line:?}");
        loop {
            match chars.next() {
                Some('\\') => assert!(
                    matches!(chars.next(), Some('\\' | '"' | 'n')),
                    "bad escape in {line:?}"
                ),
                Some('"') => break,
                Some('\n') | None => panic!("unterminated label in {line:?}"),
                Some(_) => {}
            }
        }
        match chars.next() {
            Some(',') => continue,
            None => break,
            Some(other) => panic!("unexpected {other:?} in {line:?}"),
        }
    }
}

async fn metrics_and_status_page(dialect: Dialect) {
    let digest = hex::encode(Sha256::digest(METRICS_TOKEN.as_bytes()));
    let web = TestWeb::start_with_env(dialect, &[("GUICHET_METRICS_TOKEN_SHA256", digest)]).await;
    let store = &web.desk.store;
    let alpha_admin = web.employee("alpha", "admin@alpha.test", true).await;
    let beta_admin = web
        .employee("beta \"quoted\"", "admin@beta.test", true)
        .await;
    let a = store
        .add_mailbox(alpha_admin.shop.id, &mailbox_at("sav@alpha.test"))
        .await
        .unwrap();
    let b = store
        .add_mailbox(beta_admin.shop.id, &mailbox_at("sav@beta.test"))
        .await
        .unwrap();
    assert!(store.lease_mailbox(a, "node-a", 60_000).await.unwrap());
    store
        .record_folder_sync(a, "INBOX", 1, 0, true)
        .await
        .unwrap();
    store
        .record_folder_sync(b, "INBOX", 1, 4, false)
        .await
        .unwrap();
    store.record_sync(b, Some("LOGIN refused")).await.unwrap();
    store
        .record_heartbeat("node-a", "9.9.9", now_ms())
        .await
        .unwrap();

    // Refused without the token, with a wrong one, and to a shop administrator's session.
    let client = web.client();
    let refused = client.get(web.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));
    assert!(!refused.text().await.unwrap().contains("sav@"));
    let wrong = client
        .get(web.url("/metrics"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let (alpha_client, _) = web.signed_in(&alpha_admin).await;
    let as_admin = alpha_client.get(web.url("/metrics")).send().await.unwrap();
    assert_eq!(as_admin.status(), 401);

    let response = client
        .get(web.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let samples = parse_exposition(&response.text().await.unwrap());
    assert_eq!(samples["guichet_nodes_alive"], 1.0);
    assert_eq!(
        samples[r#"guichet_node_up{node="node-a",version="9.9.9"}"#],
        1.0
    );
    assert_eq!(
        samples[r#"guichet_mailbox_leased{shop="alpha",mailbox="sav@alpha.test",owner="node-a"}"#],
        1.0
    );
    assert_eq!(
        samples[r#"guichet_mailbox_sync_failing{shop="beta \"quoted\"",mailbox="sav@beta.test"}"#],
        1.0
    );
    assert_eq!(
        samples[r#"guichet_folder_unfiled_messages{shop="beta \"quoted\"",mailbox="sav@beta.test",folder="INBOX"}"#],
        4.0
    );
    assert_eq!(
        samples[r#"guichet_folder_late{shop="alpha",mailbox="sav@alpha.test",folder="INBOX"}"#],
        0.0
    );
    assert!(samples.contains_key(
        r#"guichet_folder_sync_age_seconds{shop="alpha",mailbox="sav@alpha.test",folder="INBOX"}"#
    ));
    assert_eq!(samples["guichet_answers_uncertain"], 0.0);

    // The admin page: this shop's mailboxes and the nodes, never another shop's mailbox.
    let page = alpha_client
        .get(web.url("/settings/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for expected in [
        "Cluster status",
        "node-a",
        "9.9.9",
        "sav@alpha.test",
        "up to date",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} missing from the page"
        );
    }
    assert!(
        !page.contains("sav@beta.test"),
        "shop beta's mailbox shown to alpha"
    );
    assert!(
        !page.contains("LOGIN refused"),
        "shop beta's error shown to alpha"
    );
    let (beta_client, _) = web.signed_in(&beta_admin).await;
    let page = web.page(&beta_client, "/settings/status").await;
    assert!(page.contains("sav@beta.test") && page.contains("LOGIN refused"));
    assert!(
        !page.contains("sav@alpha.test"),
        "shop alpha's mailbox shown to beta"
    );
    let index = web.page(&beta_client, "/settings").await;
    assert!(index.contains("href=\"/settings/status\""));

    // An employee who is not an administrator gets nothing.
    let clerk = web.employee("alpha", "clerk@alpha.test", false).await;
    let (clerk_client, _) = web.signed_in(&clerk).await;
    let page = clerk_client
        .get(web.url("/settings/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 403);
}

web_tests!(metrics_and_status_page => status_web_sqlite, status_web_postgres);

// ---- Safe upgrades. ----

/// Several nodes starting at once on a fresh PostgreSQL database: every open succeeds and each
/// migration is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_migrate_once_under_the_lock() {
    let db = TestDatabase::postgres();
    let dir = tempfile::tempdir().unwrap();
    let opens = (0..5).map(|n| {
        let url = db.url.clone();
        let blobs = dir.path().join(format!("blobs{n}"));
        tokio::spawn(async move { Store::open(&url, &blobs).await })
    });
    let stores: Vec<Store> = futures::future::join_all(opens)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().expect("every node opens the store"))
        .collect();
    for store in &stores {
        store.close().await;
    }
    let migrations = std::fs::read_dir("migrations/postgres").unwrap().count() as i64;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let (rows, versions, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT version), \
         COALESCE(SUM(CASE WHEN success THEN 0 ELSE 1 END), 0) FROM _sqlx_migrations",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!((rows, versions, failed), (migrations, migrations, 0));
}

/// Work this version does not know (a job kind, an outbox state from a newer version) stays
/// in the database through the job runner and the sender's passes.
async fn unknown_work_is_kept(store: Store, url: &str) {
    let now = now_ms();
    let shop = store.add_shop("boutique").await.unwrap().id;
    store
        .schedule_unique_job("from_a_newer_version", shop, now - 1_000)
        .await
        .unwrap();
    write_behind(
        url,
        &format!(
            "INSERT INTO outbox (shop_id, kind, lang, state, due_at, to_email, subject, body_text, \
             message_id, created_at, updated_at) VALUES ({shop}, 'notice', 'en', 'held_for_review', \
             {}, 'c@client.test', 'Hello', 'body', 'newer.1@guichet.test', {now}, {now})",
            now - 1_000
        ),
    )
    .await;
    assert_eq!(
        guichet::worker::run_due_jobs(&store, "old-node", Default::default())
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .lease_due_reply("old-node", 60_000)
            .await
            .unwrap()
            .is_none()
    );
    store.expire_sending_replies().await.unwrap();
    let jobs = store.shop_jobs(shop).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, "from_a_newer_version");
    assert_eq!(jobs[0].attempts, 0, "the attempt was given back");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let (state,): (String,) =
        sqlx::query_as("SELECT state FROM outbox WHERE message_id = 'newer.1@guichet.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(state, "held_for_review");
}

store_tests!(at unknown_work_is_kept => status_unknown_work_sqlite, status_unknown_work_postgres);
