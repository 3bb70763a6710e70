//! Attachments in an S3-compatible bucket, against moto's real S3 server on loopback (with
//! authentication on): mail synced from Dovecot and a contact-form message keep their
//! attachments in the bucket, the back office serves them from there, and deleting the tickets
//! removes the objects; `blobs migrate` copies a local directory into the bucket and finishes
//! after being stopped half-way; a server that refuses the key and one that never answers give
//! a clear error within the bound, and the message stays unfiled for the next sync, then files.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use guichet::desk::Desk;
use guichet::intake::sync::Progress;
use guichet::store::{BlobLocation, BlobStore, sha256_hex};

use crate::contact_form::{shop_with_form, submission};
use crate::support::web::TestWeb;
use crate::support::{Dialect, MailServer, S3Server, TestMailbox, guichet_cmd, sync_pass};

/// A mail from `from` with one PDF attachment holding `content`.
fn mail_with_attachment(from: &str, to: &str, message_id: &str, content: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Facture jointe\r\nDate: {}\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour, voici la facture de ma commande.\r\n\
         --b1\r\nContent-Type: application/pdf; name=\"facture.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"facture.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {encoded}\r\n--b1--\r\n",
        crate::support::mail_date(60)
    )
    .into_bytes()
}

/// A PDF-looking content no other test files.
fn unique_pdf(label: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n% {label} {:016x}\ntrailer <<>>\n%%EOF\n",
        rand::random::<u64>()
    )
    .into_bytes()
}

/// The object key a blob has under `url` (`prefix/ab/abcdef…`).
fn object_key(url: &str, hash: &str) -> String {
    let BlobLocation::S3 { prefix, .. } = BlobLocation::parse(url).unwrap() else {
        panic!("not an S3 URL: {url}");
    };
    format!("{prefix}/{}/{hash}", &hash[..2])
}

/// A shop whose mailbox the desk syncs (and sends the form's acknowledgements from), with a
/// customer's mail waiting in it: one PDF attachment of its own content (returned).
async fn shop_with_mail(
    desk: &Desk,
    server: &MailServer,
    label: &str,
) -> (guichet::store::Shop, TestMailbox, Vec<u8>) {
    let (mailbox, webmaster, customer) = (
        server.new_mailbox(&format!("s3 {label} shop")),
        server.new_mailbox(&format!("s3 {label} webmaster")),
        server.new_mailbox(&format!("s3 {label} customer")),
    );
    let (shop, _, _) = shop_with_form(desk, server, &mailbox, &webmaster).await;
    let content = unique_pdf(label);
    let message_id = format!("s3-{label}@client.test");
    server.append(
        &mailbox,
        "INBOX",
        &mail_with_attachment(&customer.email, &mailbox.email, &message_id, &content),
    );
    (shop, customer, content)
}

#[tokio::test]
async fn s3_keeps_serves_and_deletes_attachments_of_mail_and_forms() {
    let s3 = S3Server::shared();
    let url = s3.fresh_url();
    let web = TestWeb::start_with_env(Dialect::Sqlite, &s3.env(&url)).await;
    let desk = &web.desk;
    let server = MailServer::shared();
    // A real mail with an attachment, synced from Dovecot.
    let (shop, customer, invoice) = shop_with_mail(desk, server, "mail").await;
    let summaries = sync_pass(&desk.store, &desk.key, "node-s3", 50, 1).await;
    assert!(summaries.iter().all(|s| s.error.is_none()), "{summaries:?}");
    let (_, messages) = desk.store.ticket(shop.id, 1001).await.unwrap();
    let invoice_hash = messages[0].attachments[0].sha256.clone();
    assert_eq!(invoice_hash, sha256_hex(&invoice));

    // A contact-form message with its attachment.
    let photo = unique_pdf("form");
    let contacts = desk.store.contacts(shop.id).await.unwrap();
    let service = contacts.iter().find(|c| c.customer_service).unwrap();
    let mut form = submission(service, &customer.email, "198.51.100.7");
    form.attachment = Some(("photo.pdf".into(), "application/pdf".into(), photo.clone()));
    let receipt = desk
        .submit_contact_form(&shop, form, guichet::store::now_ms())
        .await
        .unwrap();
    let form_ticket = receipt.ticket_number.expect("filed as a ticket");
    let photo_hash = sha256_hex(&photo);

    // Both are objects in the bucket, under their hash; nothing in the local directory.
    let keys = s3.keys(&url);
    assert!(keys.contains(&object_key(&url, &invoice_hash)), "{keys:?}");
    assert!(keys.contains(&object_key(&url, &photo_hash)), "{keys:?}");
    assert!(
        !web.data_dir.join("blobs").exists(),
        "no attachment is written to the local directory"
    );

    // The back office serves them from the bucket.
    let employee = web.employee(&shop.name, "agent@s3.test", false).await;
    let (client, _) = web.signed_in(&employee).await;
    for (number, expected) in [(1001, &invoice), (form_ticket, &photo)] {
        let (_, messages) = desk.store.ticket(shop.id, number).await.unwrap();
        let response = client
            .get(web.url(&format!(
                "/tickets/{number}/messages/{}/attachments/0",
                messages[0].id
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(&response.bytes().await.unwrap().to_vec(), expected);
    }

    // Deleting the tickets removes their objects.
    desk.delete_ticket(&shop, 1001).await.unwrap();
    desk.delete_ticket(&shop, form_ticket).await.unwrap();
    let keys = s3.keys(&url);
    assert!(!keys.contains(&object_key(&url, &invoice_hash)), "{keys:?}");
    assert!(!keys.contains(&object_key(&url, &photo_hash)), "{keys:?}");
}

/// Counts the blobs a migration has done, and says when `signal_at` are.
struct Counting {
    done: AtomicU64,
    signal_at: u64,
    reached: Arc<tokio::sync::Notify>,
}

impl Progress for Counting {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, done: u64) {
        if self.done.fetch_add(done, Ordering::SeqCst) + done == self.signal_at {
            self.reached.notify_one();
        }
    }
    fn finish(&self) {}
}

#[tokio::test]
async fn s3_migration_from_a_local_directory_resumes_after_being_stopped() {
    const BLOBS: usize = 60;
    let s3 = S3Server::shared();
    let url = s3.fresh_url();
    // A desk on its local directory (the default), with the bucket's credentials configured.
    let mut env = s3.env(&url);
    env.retain(|(key, _)| *key != "GUICHET_BLOBS_URL");
    let web = TestWeb::start_with_env(Dialect::Sqlite, &env).await;
    let desk = web.desk.clone();
    let (_, contents) = shop_with_filed_mail(&desk, "migrations", BLOBS).await;
    // One referenced blob has gone from the source: reported, not fatal.
    let lost = sha256_hex(&contents[0]);
    std::fs::remove_file(desk.store.blobs().path_of(&lost).unwrap()).unwrap();

    // Stopped (its task dropped) once 10 blobs are done.
    let reached = Arc::new(tokio::sync::Notify::new());
    let progress = Arc::new(Counting {
        done: AtomicU64::new(0),
        signal_at: 10,
        reached: Arc::clone(&reached),
    });
    let first = tokio::spawn({
        let (desk, url, progress) = (desk.clone(), url.clone(), Arc::clone(&progress));
        async move { desk.migrate_blobs(None, &url, progress.as_ref()).await }
    });
    tokio::time::timeout(Duration::from_secs(60), reached.notified())
        .await
        .expect("the first run copies 10 blobs");
    first.abort();
    let _ = first.await;
    let copied_before = s3.keys(&url).len();
    assert!(
        (1..BLOBS - 1).contains(&copied_before),
        "stopped half-way: {copied_before} objects"
    );

    // The next run (through the command line) finishes the job, skipping what is there.
    let output = guichet_cmd(&web.data_dir)
        .args(["blobs", "migrate", "--json", "--to", &url])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("GUICHET_DATABASE_URL", &web.desk.config.database_url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "JSON expected: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(report["referenced"], BLOBS as u64);
    assert_eq!(report["already_there"], copied_before as u64);
    assert_eq!(report["copied"], (BLOBS - 1 - copied_before) as u64);
    assert_eq!(report["missing"], serde_json::json!([lost]));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a missing blob makes the exit code 1"
    );
    assert_eq!(s3.keys(&url).len(), BLOBS - 1);

    // A third run has nothing left to copy; the desk pointed at the bucket serves every blob.
    let quiet = Counting {
        done: AtomicU64::new(0),
        signal_at: 0,
        reached: Arc::new(tokio::sync::Notify::new()),
    };
    let again = desk.migrate_blobs(None, &url, &quiet).await.unwrap();
    assert_eq!((again.copied, again.already_there), (0, BLOBS as u64 - 1));
    let bucket = BlobStore::open(
        &BlobLocation::parse(&url).unwrap(),
        &s3.settings(Duration::from_secs(10)),
    )
    .unwrap();
    for content in &contents[1..] {
        assert_eq!(&bucket.get(&sha256_hex(content)).await.unwrap(), content);
    }
}

/// The configuration of a desk whose blob store is a loopback server that accepts connections
/// and never answers, with `timeout` as its bound.
fn hanging_env(s3: &S3Server, url: &str, timeout: &str) -> Vec<(&'static str, String)> {
    let mut env = s3.env(url);
    for (key, value) in env.iter_mut() {
        match *key {
            "GUICHET_BLOBS_ENDPOINT" => *value = hanging_server(),
            "GUICHET_BLOBS_TIMEOUT" => *value = timeout.to_string(),
            _ => {}
        }
    }
    env
}

/// A shop `name` with `count` mails filed, each with a PDF attachment of its own (returned).
async fn shop_with_filed_mail(
    desk: &Desk,
    name: &str,
    count: usize,
) -> (guichet::store::Shop, Vec<Vec<u8>>) {
    let shop = desk.add_shop(name).await.unwrap();
    let triager = desk.store.shop_triager(shop.id).await.unwrap();
    let mut contents = Vec::new();
    for i in 0..count {
        let content = unique_pdf(&format!("{name} {i}"));
        let raw = mail_with_attachment(
            &format!("c{i}@client.test"),
            &format!("sav@{name}.test"),
            &format!("{name}-{i}-{:x}@client.test", rand::random::<u32>()),
            &content,
        );
        let incoming = guichet::intake::sync::prepare_message(raw, desk.store.blobs(), &triager)
            .await
            .unwrap();
        desk.store
            .file_batch(shop.id, None, None, None, &[incoming])
            .await
            .unwrap();
        contents.push(content);
    }
    (shop, contents)
}

/// A loopback server that accepts connections and never answers.
fn hanging_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn s3_refusing_or_hanging_server_gives_a_clear_error_and_loses_no_mail() {
    let s3 = S3Server::shared();
    let url = s3.fresh_url();
    let server = MailServer::shared();
    let wrong_secret = format!("wrong-{:x}", rand::random::<u64>());
    let mut refused_env = s3.env(&url);
    for (key, value) in refused_env.iter_mut() {
        if *key == "GUICHET_BLOBS_SECRET_ACCESS_KEY" {
            *value = wrong_secret.clone();
        }
    }
    let refused = TestWeb::start_with_env(Dialect::Sqlite, &refused_env).await;
    let (shop, customer, content) = shop_with_mail(&refused.desk, server, "refused").await;

    // Wrong key: the sync says so, files nothing, keeps its checkpoint before the message.
    let summaries = sync_pass(&refused.desk.store, &refused.desk.key, "node-a", 50, 1).await;
    let error = summaries
        .iter()
        .find_map(|s| s.error.clone())
        .expect("the sync reports the refusal");
    assert!(error.contains("refused the credentials"), "{error}");
    assert!(!error.contains(&wrong_secret) && !error.contains(&s3.secret_access_key));
    assert!(has_no_ticket(&refused.desk, shop.id).await);

    // The same from the contact form: an error the page shows, no ticket half-filed.
    let service = refused
        .desk
        .store
        .contacts(shop.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.customer_service)
        .unwrap();
    let mut form = submission(&service, &customer.email, "198.51.100.8");
    form.attachment = Some(("a.pdf".into(), "application/pdf".into(), unique_pdf("form")));
    let refusal = refused
        .desk
        .submit_contact_form(&shop, form, guichet::store::now_ms())
        .await
        .expect_err("the bucket refuses");
    let text = refusal.localized(guichet::model::UiLang::En);
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(has_no_ticket(&refused.desk, shop.id).await);

    // A server that never answers: a timeout within the bound (2 s, retries included).
    let hung = desk_on(&refused, &hanging_env(s3, &url, "2s")).await;
    let started = Instant::now();
    let summaries = sync_pass(&hung.store, &hung.key, "node-b", 50, 1).await;
    let elapsed = started.elapsed();
    let error = summaries
        .iter()
        .find_map(|s| s.error.clone())
        .expect("the sync reports the timeout");
    assert!(error.contains("did not answer within 2 s"), "{error}");
    assert!(elapsed < Duration::from_secs(15), "bounded: {elapsed:?}");
    assert!(has_no_ticket(&hung, shop.id).await);

    // With the right key, the next sync files the message and its attachment: nothing lost.
    let fixed = desk_on(&refused, &s3.env(&url)).await;
    let summaries = sync_pass(&fixed.store, &fixed.key, "node-c", 50, 1).await;
    assert!(summaries.iter().all(|s| s.error.is_none()), "{summaries:?}");
    let (_, messages) = fixed.store.ticket(shop.id, 1001).await.unwrap();
    assert_eq!(messages.len(), 1);
    let hash = &messages[0].attachments[0].sha256;
    assert_eq!(&fixed.attachment(hash).await.unwrap(), &content);
}

async fn has_no_ticket(desk: &Desk, shop_id: i64) -> bool {
    desk.store.tickets(Some(shop_id)).await.unwrap().is_empty()
}

/// Another desk on the database and data dir of `web`, configured by `env`.
async fn desk_on(web: &TestWeb, env: &[(&'static str, String)]) -> Desk {
    let overrides = guichet::config::Overrides {
        data_dir: Some(web.data_dir.clone()),
        database_url: Some(web.desk.config.database_url.clone()),
    };
    let variable = |name: &str| {
        env.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    };
    let config = guichet::config::Config::load(None, variable, &overrides).unwrap();
    Desk::open(config, guichet::model::UiLang::En)
        .await
        .unwrap()
}

#[tokio::test]
async fn s3_deletion_while_the_server_hangs_sweeps_the_object_once_it_answers() {
    let s3 = S3Server::shared();
    let url = s3.fresh_url();
    let web = TestWeb::start_with_env(Dialect::Sqlite, &s3.env(&url)).await;
    let desk = &web.desk;
    let (shop, contents) = shop_with_filed_mail(desk, "sweeps", 2).await;
    let hashes: Vec<String> = contents.iter().map(|c| sha256_hex(c)).collect();
    let numbers: Vec<i64> = desk
        .store
        .tickets(Some(shop.id))
        .await
        .unwrap()
        .iter()
        .map(|t| t.number)
        .collect();
    assert_eq!(numbers.len(), 2);

    // A node whose blob store hangs deletes the first ticket: done, its object not yet swept.
    let hung = desk_on(&web, &hanging_env(s3, &url, "1s")).await;
    hung.delete_ticket(&shop, numbers[0]).await.unwrap();
    assert!(hung.store.ticket(shop.id, numbers[0]).await.is_err());
    let keys = s3.keys(&url);
    assert_eq!(keys.len(), 2, "both objects still there: {keys:?}");

    // The next deletion by a node that reaches the bucket sweeps both.
    desk.delete_ticket(&shop, numbers[1]).await.unwrap();
    let keys = s3.keys(&url);
    for hash in &hashes {
        assert!(!keys.contains(&object_key(&url, hash)), "{keys:?}");
    }
    assert_eq!(desk.store.sweep_pending_blobs().await.unwrap(), 0);
}

#[tokio::test]
async fn s3_secret_sealed_in_the_configuration_file_opens_the_bucket() {
    let s3 = S3Server::shared();
    let url = s3.fresh_url();
    // A desk of its own (its key file in the data dir) seals the secret...
    let web = TestWeb::start(Dialect::Sqlite).await;
    let sealed = web
        .desk
        .seal_blob_secret(&secrecy::SecretString::from(s3.secret_access_key.clone()));
    assert!(!sealed.contains(&s3.secret_access_key));
    // ...which a configuration file holds instead of the secret.
    let file = web.data_dir.join("guichet.toml");
    std::fs::write(
        &file,
        format!(
            "[blobs]\nurl = \"{url}\"\nendpoint = \"{}\"\nallow_http = true\n\
             access_key_id = \"{}\"\nsecret_access_key_sealed = \"{sealed}\"\n",
            s3.endpoint, s3.access_key_id
        ),
    )
    .unwrap();
    let config = guichet::config::Config::load(
        Some(&file),
        |_| None,
        &guichet::config::Overrides {
            data_dir: Some(web.data_dir.clone()),
            database_url: Some(web.desk.config.database_url.clone()),
        },
    )
    .unwrap();
    let desk = Desk::open(config, guichet::model::UiLang::En)
        .await
        .unwrap();
    let content = unique_pdf("sealed");
    let hash = desk.store.blobs().put(&content).await.unwrap();
    assert!(s3.keys(&url).contains(&object_key(&url, &hash)));
    assert_eq!(desk.store.blobs().get(&hash).await.unwrap(), content);
}
