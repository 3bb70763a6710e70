//! IMAP intake end to end against the real Dovecot the harness starts.

use std::collections::HashSet;

use guichet::crypto::SealingKey;
use guichet::intake::sync::FolderSummary;
use guichet::model::UiLang;
use guichet::store::{NewMailbox, Store};

use crate::support::{
    DropProxy, MailServer, TestMailbox, open_data_dir, plain_imap, sample_mail, sync_pass,
    watched_mailbox,
};

/// A Guichet instance of its own: data dir, SQLite store, one shop.
pub struct Instance {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub key: SealingKey,
    pub shop_id: i64,
}

impl Instance {
    pub async fn new() -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let store = open_data_dir(dir.path()).await;
        let key = SealingKey::load_or_create(&dir.path().join("secret.key")).unwrap();
        let shop_id = store.add_shop("boutique").await.unwrap().id;
        Instance {
            dir,
            store,
            key,
            shop_id,
        }
    }

    /// Watches `mailbox` on the test server, over `port` without TLS unless `tls`.
    pub async fn watch(
        &self,
        mailbox: &TestMailbox,
        port: u16,
        tls: bool,
        folders: &[&str],
    ) -> i64 {
        let new = watched_mailbox(mailbox, port, tls, folders, &self.key);
        self.store.add_mailbox(self.shop_id, &new).await.unwrap()
    }

    pub async fn sync(&self, attempts: u32) -> Vec<FolderSummary> {
        sync_pass(&self.store, &self.key, "test", 50, attempts).await
    }

    pub async fn message_count(&self) -> i64 {
        crate::support::message_count(&self.store, self.shop_id).await
    }
}

fn totals(summaries: &[FolderSummary]) -> (u64, u64, u64) {
    summaries.iter().fold((0, 0, 0), |acc, s| {
        (
            acc.0 + s.filed.new_messages,
            acc.1 + s.filed.new_tickets,
            acc.2 + s.filed.duplicates,
        )
    })
}

fn no_errors(summaries: &[FolderSummary]) {
    for s in summaries {
        assert!(s.error.is_none(), "sync error: {s:?}");
    }
}

fn mail(from: &str, subject: &str, id: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    sample_mail(
        from,
        "sav@boutique.test",
        subject,
        "Bonjour, où en est ma commande ?",
        Some(id),
        headers,
    )
}

#[tokio::test]
async fn threading_by_tag_reference_and_subject() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("thread");
    let app = Instance::new().await;
    app.watch(&mailbox, server.imaps_port, true, &["INBOX"])
        .await;

    server.append(
        &mailbox,
        "INBOX",
        &mail(
            "alice@client.test",
            "Ma commande 1042",
            "a1@client.test",
            &[],
        ),
    );
    let first = app.sync(1).await;
    no_errors(&first);
    assert_eq!(totals(&first), (1, 1, 0));
    let number = app.store.tickets(None).await.unwrap()[0].number;

    let tagged_subject = format!("Re: [#{number}] autre chose");
    let encoded_tag = format!(
        "=?utf-8?b?{}?=",
        base64_of(&format!("Re: [{number}] réponse encodée"))
    );
    let foreign = format!("Re: [#{number}] Ma commande 1042");
    for raw in [
        mail("alice@client.test", &tagged_subject, "a2@client.test", &[]),
        mail("alice@client.test", &encoded_tag, "a3@client.test", &[]),
        mail(
            "alice@client.test",
            "Sans rapport",
            "a4@client.test",
            &[("References", "<a1@client.test>")],
        ),
        mail(
            "alice@client.test",
            "RE : Ma commande 1042",
            "a5@client.test",
            &[],
        ),
        mail("bob@client.test", &foreign, "b1@client.test", &[]),
    ] {
        server.append(&mailbox, "INBOX", &raw);
    }
    let second = app.sync(1).await;
    no_errors(&second);
    assert_eq!(
        totals(&second),
        (5, 1, 0),
        "only Bob's message opens a ticket"
    );

    let tickets = app.store.tickets(None).await.unwrap();
    let alice = tickets
        .iter()
        .find(|t| t.customer_email == "alice@client.test")
        .unwrap();
    let bob = tickets
        .iter()
        .find(|t| t.customer_email == "bob@client.test")
        .unwrap();
    assert_eq!(alice.message_count, 5);
    assert_eq!(bob.message_count, 1);
    assert_ne!(alice.number, bob.number);
}

fn base64_of(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn resync_restart_copies_and_two_mailboxes_store_once() {
    let server = MailServer::shared();
    let sav = server.new_mailbox("sav");
    let contact = server.new_mailbox("contact");
    let app = Instance::new().await;
    app.watch(&sav, server.imap_port, false, &["INBOX", "Archive"])
        .await;
    app.watch(&contact, server.imaps_port, true, &["INBOX"])
        .await;

    let shared = mail(
        "carol@client.test",
        "Remboursement",
        "c1@client.test",
        &[("Cc", "contact@boutique.test")],
    );
    server.append(&sav, "INBOX", &shared);
    server.append(&sav, "Archive", &shared);
    server.append(&contact, "INBOX", &shared);
    // No Message-ID at all: the content decides.
    let anonymous = sample_mail(
        "dave@client.test",
        "sav@boutique.test",
        "Sans identifiant",
        "Bonjour",
        None,
        &[],
    );
    server.append(&sav, "INBOX", &anonymous);
    server.append(&sav, "Archive", &anonymous);

    let first = app.sync(1).await;
    no_errors(&first);
    assert_eq!(totals(&first), (2, 2, 3));

    let again = app.sync(1).await;
    assert_eq!(
        totals(&again),
        (0, 0, 0),
        "checkpoints: nothing is fetched twice"
    );

    // A restart: a new process on the same data dir.
    let reopened = open_data_dir(app.dir.path()).await;
    let after_restart = sync_pass(&reopened, &app.key, "restarted", 50, 1).await;
    assert_eq!(totals(&after_restart), (0, 0, 0));
    assert_eq!(app.message_count().await, 2);
}

#[tokio::test]
async fn uidvalidity_change_resyncs_without_duplicates() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("uidv");
    let app = Instance::new().await;
    app.watch(&mailbox, server.imap_port, false, &["INBOX"])
        .await;
    for i in 0..5 {
        server.append(
            &mailbox,
            "INBOX",
            &mail(
                "erin@client.test",
                &format!("Question {i}"),
                &format!("e{i}@client.test"),
                &[],
            ),
        );
    }
    assert_eq!(totals(&app.sync(1).await), (5, 5, 0));
    server.set_uid_validity(&mailbox, "INBOX", 424242);
    server.append(
        &mailbox,
        "INBOX",
        &mail("erin@client.test", "Question 5", "e5@client.test", &[]),
    );
    let resync = app.sync(1).await;
    no_errors(&resync);
    assert_eq!(
        totals(&resync),
        (1, 1, 5),
        "everything fetched again, only the new one filed"
    );
    assert_eq!(app.message_count().await, 6);
}

#[tokio::test]
async fn dropped_connection_resumes_from_the_checkpoint() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("drop");
    let messages: Vec<Vec<u8>> = (0..300).map(crate::support::realistic_mail).collect();
    server.seed_maildir(&mailbox, "INBOX", messages.clone());
    let proxy = DropProxy::start(server.imap_port, Some(120_000));
    let app = Instance::new().await;
    app.watch(&mailbox, proxy.port, false, &["INBOX"]).await;

    let cut = app.sync(1).await;
    assert!(
        cut[0].error.is_some(),
        "the proxy cut the connection: {cut:?}"
    );
    let partial = app.message_count().await;
    assert!(
        partial > 0 && partial < 300,
        "batches before the cut are kept: {partial}"
    );

    // The same run with retries resumes where the cut left it.
    let resumed = app.sync(20).await;
    no_errors(&resumed);
    assert_eq!(app.message_count().await, 300);
    proxy.set_cut_after(None);
    assert_eq!(totals(&app.sync(1).await), (0, 0, 0));
    let distinct: HashSet<String> = distinct_message_ids(&app).await;
    assert_eq!(distinct.len(), 300);
}

async fn distinct_message_ids(app: &Instance) -> HashSet<String> {
    let mut ids = HashSet::new();
    for ticket in app.store.tickets(None).await.unwrap() {
        let (_, messages) = app.store.ticket(app.shop_id, ticket.number).await.unwrap();
        for m in messages {
            assert!(
                ids.insert(
                    m.message_id
                        .clone()
                        .unwrap_or_else(|| format!("row{}", m.id))
                ),
                "duplicate {:?}",
                m.message_id
            );
        }
    }
    ids
}

#[tokio::test]
async fn awkward_messages_are_all_filed() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("awkward");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mime/awkward");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "awkward corpus present: {files:?}");
    let mut raws: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    raws.push(huge_attachment_mail(20 * 1024 * 1024));
    raws.push(b"\x00\xff garbage that is not a mail at all \r\n\r\n".to_vec());
    server.seed_maildir(&mailbox, "INBOX", raws.clone());

    let app = Instance::new().await;
    app.watch(&mailbox, server.imap_port, false, &["INBOX"])
        .await;
    let summaries = app.sync(1).await;
    no_errors(&summaries);
    let (new, _, duplicates) = totals(&summaries);
    assert_eq!(
        new + duplicates,
        raws.len() as u64,
        "every message filed (identical ones once)"
    );

    let mut found_big = false;
    for ticket in app.store.tickets(None).await.unwrap() {
        let (_, messages) = app.store.ticket(app.shop_id, ticket.number).await.unwrap();
        for m in messages {
            found_big |= m.attachments.iter().any(|a| a.size >= 20 * 1024 * 1024);
        }
    }
    assert!(found_big, "the 20 MB attachment is stored");
}

fn huge_attachment_mail(size: usize) -> Vec<u8> {
    let mut body = String::with_capacity(size * 4 / 3 + 1024);
    body.push_str("From: Big Sender <big@client.test>\r\nTo: sav@boutique.test\r\nSubject: Photos du colis\r\nMessage-ID: <big@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nVoici les photos.\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"photos.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    // All zero bytes encode to 'A'; 76-char lines of 57 bytes each.
    let full_lines = size / 57;
    for _ in 0..full_lines {
        body.push_str(&"A".repeat(76));
        body.push_str("\r\n");
    }
    let rest = size % 57;
    if rest > 0 {
        let mut tail = "A".repeat(rest.div_ceil(3) * 4);
        let pad = (3 - rest % 3) % 3;
        tail.truncate(tail.len() - pad);
        tail.push_str(&"=".repeat(pad));
        body.push_str(&tail);
        body.push_str("\r\n");
    }
    body.push_str("--XX--\r\n");
    body.into_bytes()
}

#[tokio::test]
async fn own_mail_is_never_a_customer_message() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("own");
    let app = Instance::new().await;
    app.watch(&mailbox, server.imap_port, false, &["INBOX"])
        .await;
    server.append(
        &mailbox,
        "INBOX",
        &sample_mail(
            &mailbox.email,
            "x@client.test",
            "Re: votre commande",
            "Réponse",
            Some("ours@boutique.test"),
            &[],
        ),
    );
    server.append(
        &mailbox,
        "INBOX",
        &sample_mail(
            "x@shop.test",
            "sav@boutique.test",
            "Re: x",
            "Réponse",
            Some("guichet.1.abc@boutique.test"),
            &[],
        ),
    );
    server.append(
        &mailbox,
        "INBOX",
        &mail("frank@client.test", "Question", "f1@client.test", &[]),
    );
    let summaries = app.sync(1).await;
    no_errors(&summaries);
    assert_eq!(summaries[0].own_skipped, 2);
    assert_eq!(totals(&summaries), (1, 1, 0));
}

#[tokio::test]
async fn one_failing_mailbox_does_not_stop_the_others() {
    let server = MailServer::shared();
    let good = server.new_mailbox("good");
    let bad = TestMailbox {
        email: "nobody@shop.test".into(),
        password: "not-the-password".into(),
    };
    let app = Instance::new().await;
    app.watch(&bad, server.imap_port, false, &["INBOX"]).await;
    app.watch(&good, server.imap_port, false, &["INBOX"]).await;
    server.append(
        &good,
        "INBOX",
        &mail("hugo@client.test", "Retour", "h1@client.test", &[]),
    );
    let summaries = app.sync(1).await;
    let failed: Vec<_> = summaries.iter().filter(|s| s.error.is_some()).collect();
    assert_eq!(failed.len(), 1, "{summaries:?}");
    assert_eq!(failed[0].mailbox, bad.email);
    assert!(
        !failed[0]
            .error
            .as_ref()
            .unwrap()
            .contains("not-the-password")
    );
    assert_eq!(totals(&summaries).0, 1, "the good mailbox was synced");
    let listed = app.store.mailboxes().await.unwrap();
    assert!(
        listed
            .iter()
            .find(|m| m.email == bad.email)
            .unwrap()
            .last_error
            .is_some()
    );
    assert!(
        listed
            .iter()
            .find(|m| m.email == good.email)
            .unwrap()
            .last_error
            .is_none()
    );
}

#[tokio::test]
async fn mark_as_read_and_delete_after_import_act_only_on_filed_mail() {
    let server = MailServer::shared();
    let read = server.new_mailbox("markread");
    let delete = server.new_mailbox("delete");
    let app = Instance::new().await;
    for (mailbox, delete_after_import) in [(&read, false), (&delete, true)] {
        let new = NewMailbox {
            delete_after_import,
            mark_as_read: !delete_after_import,
            ..watched_mailbox(mailbox, server.imap_port, false, &["INBOX"], &app.key)
        };
        app.store.add_mailbox(app.shop_id, &new).await.unwrap();
        for i in 0..3 {
            server.append(
                mailbox,
                "INBOX",
                &mail(
                    "ines@client.test",
                    &format!("Q{i} {}", mailbox.email),
                    &format!("i{i}-{}", mailbox.email),
                    &[],
                ),
            );
        }
    }
    no_errors(&app.sync(1).await);
    assert_eq!(app.message_count().await, 6);

    let mut client = guichet::intake::imap::ImapClient::connect(&plain_imap(server, &read))
        .await
        .unwrap();
    let state = client.select("INBOX").await.unwrap();
    assert_eq!(state.exists, 3, "mark-as-read keeps the messages");
    client.logout().await;
    assert_eq!(server.unseen_count(&read, "INBOX"), 0, "all marked read");

    let mut client = guichet::intake::imap::ImapClient::connect(&plain_imap(server, &delete))
        .await
        .unwrap();
    assert_eq!(
        client.select("INBOX").await.unwrap().exists,
        0,
        "filed messages deleted from the server"
    );
    client.logout().await;
}

#[tokio::test]
async fn connection_problems_are_told_apart() {
    use guichet::intake::imap::{ImapClient, ImapError, Security};
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("errors");
    let base = plain_imap(server, &mailbox);

    let starttls = guichet::intake::imap::ImapSettings {
        security: Security::Starttls,
        accept_invalid_certs: true,
        ..base.clone()
    };
    let mut client = ImapClient::connect(&starttls)
        .await
        .expect("STARTTLS with the self-signed certificate accepted");
    assert!(client.supports_idle());
    let raw = sample_mail(
        "kim@client.test",
        &mailbox.email,
        "Appended",
        "via APPEND",
        Some("k1@client.test"),
        &[],
    );
    client
        .append("INBOX", &raw, true)
        .await
        .expect("APPEND over STARTTLS");
    assert_eq!(client.select("INBOX").await.unwrap().exists, 1);
    let uids = client.uids_after(0).await.unwrap();
    assert_eq!(
        client.fetch(&uids).await.unwrap()[0].raw,
        raw,
        "fetched byte for byte"
    );
    assert!(
        client.uids_up_to(uids[0], true).await.unwrap().is_empty(),
        "appended as read"
    );
    assert!(matches!(
        client.select("Nonexistent").await,
        Err(ImapError::FolderMissing { .. })
    ));
    client.logout().await;

    let validated = guichet::intake::imap::ImapSettings {
        port: server.imaps_port,
        security: Security::Tls,
        ..base.clone()
    };
    let error = ImapClient::connect(&validated)
        .await
        .err()
        .expect("self-signed certificate refused");
    assert!(matches!(error, ImapError::Certificate { .. }), "{error:?}");
    assert!(
        error
            .localized(UiLang::Fr)
            .contains("--accept-invalid-certs")
    );

    let wrong_password = guichet::intake::imap::ImapSettings {
        credential: guichet::intake::imap::Credential::password("nope"),
        ..base.clone()
    };
    let error = ImapClient::connect(&wrong_password)
        .await
        .err()
        .expect("wrong password refused");
    assert!(
        matches!(error, ImapError::AuthenticationFailed { .. }),
        "{error:?}"
    );

    let unknown_host = guichet::intake::imap::ImapSettings {
        host: "imap.nonexistent.invalid".into(),
        ..base.clone()
    };
    let error = ImapClient::connect(&unknown_host)
        .await
        .err()
        .expect("unknown host");
    assert!(matches!(error, ImapError::Dns { .. }), "{error:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = guichet::intake::imap::ImapSettings {
        port: closed,
        ..base
    };
    let error = ImapClient::connect(&refused)
        .await
        .err()
        .expect("closed port");
    assert!(
        matches!(error, ImapError::ConnectionRefused { .. }),
        "{error:?}"
    );
    assert!(error.localized(UiLang::Fr).contains("Connexion refusée"));
}
