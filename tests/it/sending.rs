//! Sending through the outbox against the real Postfix and Dovecot, on both store dialects:
//! who a message says it comes from (a machine's answer is marked, a person's is not) and the
//! name Guichet greets the SMTP server with.

use guichet::crypto::SealingKey;
use guichet::model::{ReplyKind, ReplyState, UiLang};
use guichet::outbound::{Refusal, SendError, SmtpSettings, send};
use guichet::store::{DecisionRecord, NewReply, Store};
use mail_parser::MessageParser;

use crate::outbound::{postfix, wait_for_messages};
use crate::support::{MailServer, TestDatabase, TestMailbox, sample_mail, watched_mailbox};

/// A shop whose mailbox is `shop` (IMAP for the Sent copies, submission to send)
/// and one customer message filed in ticket 1001. Returns (shop id, customer message).
pub(crate) async fn shop_with_customer_message(
    store: &Store,
    key: &SealingKey,
    server: &MailServer,
    shop: &TestMailbox,
    customer: &TestMailbox,
) -> (i64, guichet::store::PendingMessage) {
    let shop_id = store.add_shop("boutique").await.unwrap().id;
    let mut mailbox = watched_mailbox(shop, server.imap_port, false, &["INBOX"], key);
    // Dovecot's submission (STARTTLS, AUTH with the mailbox's password), relayed by Postfix.
    mailbox.smtp_port = server.submission_port;
    mailbox.smtp_security = guichet::intake::imap::Security::Starttls;
    mailbox.accept_invalid_certs = true;
    let mailbox_id = store.add_mailbox(shop_id, &mailbox).await.unwrap();
    let raw = sample_mail(
        &format!("Marie Dupont <{}>", customer.email),
        &shop.email,
        "Mot de passe",
        "Bonjour, je n'arrive plus à me connecter à mon compte.",
        Some("pw-1@client.example"),
        &[],
    );
    let triager = guichet::triage::Triager::default();
    let incoming = guichet::intake::sync::prepare_message(raw, store.blobs(), &triager)
        .await
        .unwrap();
    store
        .file_batch(shop_id, Some(mailbox_id), None, None, &[incoming])
        .await
        .unwrap();
    let pending = store.pending_messages(shop_id, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    (shop_id, pending.into_iter().next().unwrap())
}

fn header<'a>(message: &'a mail_parser::Message<'a>, name: &'a str) -> Option<&'a str> {
    message.header_raw(name).map(str::trim)
}

async fn automatic_and_employee_headers(store: Store, dir: &std::path::Path) {
    let server = MailServer::shared();
    let shop = server.new_mailbox("shop");
    let customer = server.new_mailbox("customer");
    let key = SealingKey::load_or_create(&dir.join("secret.key")).unwrap();
    let (shop_id, message) =
        shop_with_customer_message(&store, &key, server, &shop, &customer).await;

    // An automatic answer, as planning records it.
    let automatic_id = "guichet.auto.1@boutique.test";
    store
        .record_decision(&DecisionRecord {
            message_row_id: message.id,
            ticket_id: message.ticket_id,
            decision: "{}".into(),
            case_file: None,
            reply: Some(NewReply {
                shop_id,
                ticket_id: Some(message.ticket_id),
                reply_to_message: Some(message.id),
                kind: ReplyKind::Answer,
                intent: Some("password".into()),
                lang: guichet::model::UiLang::Fr,
                state: ReplyState::Scheduled,
                due_at: 0,
                to_email: customer.email.clone(),
                to_name: None,
                subject: "Re: [1001] Mot de passe".into(),
                body_text: "Bonjour, voici le lien pour changer votre mot de passe.".into(),
                message_id: automatic_id.into(),
            }),
        })
        .await
        .unwrap();
    let sent = guichet::answering::send::send_due(&store, &key, UiLang::En, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        sent.sent,
        1,
        "{sent:?} {:?}",
        store.replies(None, None, None).await.unwrap()
    );

    // Then an employee answers the same ticket.
    let employee = guichet::answering::employee_reply(
        &store,
        &key,
        shop_id,
        1001,
        "Bonjour Marie,\nje viens de réinitialiser votre accès.\nJulie",
        UiLang::En,
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(employee.state, ReplyState::Sent, "{employee:?}");

    let received = wait_for_messages(server, &customer, "INBOX", 2).await;
    let parsed: Vec<_> = received
        .iter()
        .map(|raw| MessageParser::default().parse(raw).unwrap())
        .collect();
    let by_id = |id: &str| {
        parsed
            .iter()
            .find(|m| m.message_id() == Some(id))
            .unwrap_or_else(|| panic!("no message {id} delivered"))
    };
    let automatic = by_id(automatic_id);
    assert_eq!(header(automatic, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header(automatic, "X-Auto-Response-Suppress"), Some("All"));
    let person = by_id(&employee.message_id);
    assert!(
        person.body_text(0).unwrap().contains("Julie"),
        "the employee's text"
    );
    assert_eq!(
        header(person, "Auto-Submitted"),
        None,
        "an employee's answer is a person's mail"
    );
    assert_eq!(header(person, "X-Auto-Response-Suppress"), None);
    assert_eq!(
        person.in_reply_to().as_text(),
        Some("pw-1@client.example"),
        "still threaded onto the customer's message"
    );
    // The Sent copies are the same messages.
    let copies = wait_for_messages(server, &shop, "Sent", 2).await;
    let person_copy = copies
        .iter()
        .map(|raw| MessageParser::default().parse(raw).unwrap())
        .find(|m| m.message_id() == Some(employee.message_id.as_str()))
        .map(|m| m.header_raw("Auto-Submitted").is_none());
    assert_eq!(person_copy, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_employee_reply_is_not_marked_automatic_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite(dir.path());
    let store = Store::open(&db.url, &dir.path().join("blobs"))
        .await
        .unwrap();
    automatic_and_employee_headers(store, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_employee_reply_is_not_marked_automatic_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::postgres();
    let store = Store::open(&db.url, &dir.path().join("blobs"))
        .await
        .unwrap();
    automatic_and_employee_headers(store.clone(), dir.path()).await;
    store.close().await;
}

/// Postfix requiring a fully qualified HELO name refuses `EHLO localhost` at RCPT TO; Guichet
/// greets with the sender's domain, or the configured `smtp.helo_name`.
#[tokio::test]
async fn the_greeting_is_a_name_a_strict_server_accepts() {
    let server = MailServer::shared();
    let shop = server.new_mailbox("helo shop");
    let customer = server.new_mailbox("helo customer");
    let strict = |helo_name: Option<&str>| SmtpSettings {
        port: server.strict_helo_port,
        helo_name: helo_name.map(str::to_string),
        ..postfix(server)
    };
    let message = |n: usize| {
        format!(
            "From: {}\r\nTo: {}\r\nSubject: greeting {n}\r\nMessage-ID: <helo-{n}@shop.test>\r\n\r\nBonjour\r\n",
            shop.email, customer.email
        )
    };
    let to = std::slice::from_ref(&customer.email);
    send(&strict(None), &shop.email, to, message(1).as_bytes())
        .await
        .expect("the sender's domain is a fully qualified name");
    send(
        &strict(Some("mx.boutique.example")),
        &shop.email,
        to,
        message(2).as_bytes(),
    )
    .await
    .expect("the configured name");
    // The configured name is the one given: a bare `localhost` is what the server refuses.
    let refused = send(
        &strict(Some("localhost")),
        &shop.email,
        to,
        message(3).as_bytes(),
    )
    .await
    .unwrap_err();
    match &refused {
        SendError::Refused {
            reason: Refusal::RecipientRefused { reply, .. },
            ..
        } => assert!(reply.contains("Helo command rejected"), "{reply}"),
        other => panic!("{other:?}"),
    }
    let delivered = wait_for_messages(server, &customer, "INBOX", 2).await;
    assert_eq!(delivered.len(), 2, "only the two greeted properly arrive");
}
