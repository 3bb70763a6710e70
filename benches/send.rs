//! Sending benchmark: 10,000 due answers rendered and sent by Guichet's outbox (lease committed
//! before each SMTP transaction, sent state and ticket message after it, copy APPENDed to the
//! Sent folder) to the local mail server, against the bare SMTP ceiling: the same number of
//! already built messages sent by the same SMTP code on one connection, nothing else.
//!
//! Both go to Dovecot's submission service (STARTTLS, AUTH), which relays to Postfix: a
//! mailbox's SMTP account needs AUTH, which the bare Postfix listener does not offer.
//! Run with `cargo bench --bench send` (GUICHET_BENCH_MESSAGES changes the count).

#[allow(unused_imports)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use guichet::crypto::SealingKey;
use guichet::intake::imap::Security;
use guichet::model::{ReplyKind, ReplyState, UiLang};
use guichet::outbound::{Author, OutgoingEmail, SmtpSession, SmtpSettings, build_mime};
use guichet::store::{DecisionRecord, NewReply, Store};

fn submission(server: &support::MailServer, shop: &support::TestMailbox) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: server.submission_port,
        security: Security::Starttls,
        accept_invalid_certs: true,
        username: shop.email.clone(),
        credential: guichet::intake::imap::Credential::password(shop.password.clone()),
        helo_name: None,
    }
}

fn customer_mail(n: usize, shop: &str, customer: &str) -> Vec<u8> {
    support::sample_mail(
        &format!("Client {n} <{customer}>"),
        shop,
        &format!("Où est ma commande {} ?", 1000 + n),
        &format!(
            "Bonjour,\r\nma commande {} n'est toujours pas arrivée, pouvez-vous me dire où elle en est ?\r\nMerci",
            1000 + n
        ),
        Some(&format!("bench-{n}@client.example")),
        &[],
    )
}

/// The same SMTP code, one connection, messages built beforehand: what the server allows.
async fn bare_smtp(
    server: &support::MailServer,
    shop: &support::TestMailbox,
    customer: &support::TestMailbox,
    messages: usize,
) -> Duration {
    let raws: Vec<Vec<u8>> = (0..messages)
        .map(|n| {
            build_mime(&OutgoingEmail {
                from_name: "Boutique".into(),
                from_email: shop.email.clone(),
                to_name: None,
                to_email: customer.email.clone(),
                subject: format!("Re: [{}] Où est ma commande ?", 1001 + n),
                message_id: format!("bare-{n}@shop.test"),
                in_reply_to: Some(format!("bench-{n}@client.example")),
                references: vec![format!("bench-{n}@client.example")],
                text: "Bonjour,\n\nVotre commande est partie ce matin.\n\nL'équipe".into(),
                html: Some("<p>Bonjour,</p><p>Votre commande est partie ce matin.</p>".into()),
                date_ms: guichet::outbound::now_ms(),
                author: Author::Automatic,
            })
            .unwrap()
        })
        .collect();
    let to = [customer.email.clone()];
    let mut session = SmtpSession::new(submission(server, shop));
    let started = Instant::now();
    for raw in &raws {
        session.send(&shop.email, &to, raw).await.expect("sent");
    }
    let elapsed = started.elapsed();
    session.close().await;
    elapsed
}

/// 10,000 customer messages filed in 10,000 tickets, each with its answer due now.
async fn seed(
    store: &Store,
    key: &SealingKey,
    server: &support::MailServer,
    shop: &support::TestMailbox,
    customer: &support::TestMailbox,
    messages: usize,
) {
    let shop_id = store.add_shop("bench").await.unwrap().id;
    let mut mailbox = support::watched_mailbox(shop, server.imap_port, false, &["INBOX"], key);
    mailbox.smtp_port = server.submission_port;
    mailbox.smtp_security = guichet::intake::imap::Security::Starttls;
    mailbox.accept_invalid_certs = true;
    let mailbox_id = store.add_mailbox(shop_id, &mailbox).await.unwrap();
    let triager = guichet::triage::Triager::default();
    for chunk in (0..messages).collect::<Vec<_>>().chunks(500) {
        let mut batch = Vec::with_capacity(chunk.len());
        for &n in chunk {
            batch.push(
                guichet::intake::sync::prepare_message(
                    customer_mail(n, &shop.email, &customer.email),
                    store.blobs(),
                    &triager,
                )
                .await
                .unwrap(),
            );
        }
        store
            .file_batch(shop_id, Some(mailbox_id), None, None, &batch)
            .await
            .unwrap();
    }
    let pending = store
        .pending_messages(shop_id, messages as i64)
        .await
        .unwrap();
    assert_eq!(pending.len(), messages);
    for message in pending {
        let reply = NewReply {
            shop_id,
            ticket_id: Some(message.ticket_id),
            reply_to_message: Some(message.id),
            kind: ReplyKind::Answer,
            intent: Some("order_status".into()),
            lang: guichet::model::UiLang::Fr,
            state: ReplyState::Scheduled,
            due_at: 0,
            to_email: customer.email.clone(),
            to_name: None,
            subject: format!("Re: [{}] {}", message.ticket_number, message.subject),
            body_text: format!(
                "Bonjour,\n\nVotre commande est partie ce matin avec Colissimo (suivi 6A{:011}).\n\nL'équipe de la Boutique",
                message.id
            ),
            message_id: format!("guichet.{shop_id}.{}@shop.test", message.id),
        };
        store
            .record_decision(&DecisionRecord {
                message_row_id: message.id,
                ticket_id: message.ticket_id,
                decision: "{}".into(),
                case_file: None,
                reply: Some(reply),
            })
            .await
            .unwrap();
    }
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

    let (shop, customer) = (server.new_mailbox("bare shop"), server.new_mailbox("bare"));
    let bare = bare_smtp(server, &shop, &customer, messages).await;
    println!(
        "bare SMTP (same code, one connection): {messages} messages in {:.2} s, {:.0} msg/s",
        bare.as_secs_f64(),
        rate(messages, bare)
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("guichet.db").display()
    );
    let store = Store::open(&url, &dir.path().join("blobs")).await.unwrap();
    let key = SealingKey::from_hex(&"42".repeat(32)).unwrap();
    let (shop, customer) = (server.new_mailbox("shop"), server.new_mailbox("customer"));
    let seeding = Instant::now();
    seed(&store, &key, server, &shop, &customer, messages).await;
    println!(
        "seeded {messages} due answers in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let summary = guichet::answering::send::send_due(&store, &key, UiLang::En, &Default::default())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(summary.sent as usize, messages, "{summary:?}");
    let copies = server.maildir_messages(&shop, support::MailServer::SPECIAL_USE_SENT_UTF7);
    let copies = if copies.is_empty() {
        server.maildir_messages(&shop, "Sent")
    } else {
        copies
    };
    assert_eq!(copies.len(), messages, "every answer copied to Sent");
    println!(
        "Guichet send_due (render, lease, SMTP, sent, Sent copy): {messages} messages in {:.2} s, {:.0} msg/s ({:.0} % of bare SMTP)",
        elapsed.as_secs_f64(),
        rate(messages, elapsed),
        100.0 * bare.as_secs_f64() / elapsed.as_secs_f64()
    );
    store.close().await;
}
