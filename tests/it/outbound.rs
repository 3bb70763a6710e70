//! Outbound mail against the real Postfix and Dovecot the harness starts: what a customer
//! receives, submission with STARTTLS and AUTH, refusals before DATA, a connection cut during
//! DATA, and the copy in the Sent folder.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use guichet::intake::imap::{Credential, ImapClient, Security};
use guichet::model::UiLang;
use guichet::outbound::{
    Author, OutgoingEmail, Refusal, SendError, SmtpSettings, append_to_sent, build_mime, send,
};
use mail_parser::MessageParser;

use crate::support::{MailServer, TestMailbox, plain_imap};

/// Asserts that `error` is a refusal, permanent or not, whose reason matches the pattern.
macro_rules! assert_refused {
    ($error:expr, permanent: $permanent:literal, $reason:pat) => {
        assert!(
            matches!(
                $error,
                SendError::Refused {
                    permanent: $permanent,
                    reason: $reason
                }
            ),
            "{:?}",
            $error
        )
    };
}

/// A shop's mailbox and a customer's, on the test server.
fn shop_and_customer(server: &MailServer, purpose: &str) -> (TestMailbox, TestMailbox) {
    (
        server.new_mailbox(&format!("{purpose} shop")),
        server.new_mailbox(&format!("{purpose} customer")),
    )
}

/// Sends `raw` from `from` to the one recipient `to`.
async fn send_one(
    settings: &SmtpSettings,
    from: &TestMailbox,
    to: &str,
    raw: &[u8],
) -> Result<(), SendError> {
    send(settings, &from.email, &[to.to_string()], raw).await
}

async fn imap_login(server: &MailServer, mailbox: &TestMailbox) -> ImapClient {
    ImapClient::connect(&plain_imap(server, mailbox))
        .await
        .expect("IMAP login")
}

/// Postfix on its plain port: no TLS, no AUTH.
pub(crate) fn postfix(server: &MailServer) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: server.smtp_port,
        security: Security::None,
        accept_invalid_certs: false,
        username: String::new(),
        credential: Credential::password(""),
        helo_name: None,
    }
}

/// Dovecot submission: STARTTLS with the harness's self-signed certificate, then AUTH.
fn submission(server: &MailServer, account: &TestMailbox, password: &str) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: server.submission_port,
        security: Security::Starttls,
        accept_invalid_certs: true,
        username: account.email.clone(),
        credential: Credential::password(password),
        helo_name: None,
    }
}

fn reply(shop: &TestMailbox, customer: &TestMailbox, id: &str) -> OutgoingEmail {
    OutgoingEmail {
        from_name: "Boutique Éléonore".into(),
        from_email: shop.email.clone(),
        to_name: Some("Hélène Dupré".into()),
        to_email: customer.email.clone(),
        subject: "Re: Où est ma commande ? [#1001]".into(),
        message_id: format!("{id}@guichet.test"),
        in_reply_to: Some("question-1@client.test".into()),
        references: vec!["question-1@client.test".into()],
        text: format!(
            "Bonjour Hélène,\n\nVotre colis est parti ce matin, voilà le suivi.\n{}\nÀ bientôt,\nÉléonore\n",
            "Une ligne très longue pour vérifier le transport. ".repeat(30)
        ),
        html: Some(
            "<p>Bonjour Hélène,</p><p>Votre colis est parti ce matin, voilà le suivi.</p><p>À bientôt,<br>Éléonore</p>"
                .into(),
        ),
        date_ms: 1_795_000_000_000,
        author: Author::Automatic,
    }
}

/// Waits until `folder` of `mailbox` holds at least `count` messages, read over IMAP.
pub(crate) async fn wait_for_messages(
    server: &MailServer,
    mailbox: &TestMailbox,
    folder: &str,
    count: usize,
) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut client = imap_login(server, mailbox).await;
        if client.select(folder).await.is_ok() {
            let uids = client.uids_after(0).await.unwrap();
            if uids.len() >= count {
                let messages = client.fetch(&uids).await.unwrap();
                client.logout().await;
                return messages.into_iter().map(|m| m.raw).collect();
            }
        }
        client.logout().await;
        assert!(
            Instant::now() < deadline,
            "{count} message(s) not delivered to {} {folder} in time; Postfix log:\n{}",
            mailbox.email,
            server.postfix_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_reply_through_postfix_reaches_the_customer_intact() {
    let server = MailServer::shared();
    let (shop, customer) = shop_and_customer(server, "outbound");
    let email = reply(&shop, &customer, "postfix-reply");
    let raw = build_mime(&email).unwrap();
    send_one(&postfix(server), &shop, &customer.email, &raw)
        .await
        .expect("Postfix accepts the reply");

    let delivered = wait_for_messages(server, &customer, "INBOX", 1).await;
    assert_eq!(delivered.len(), 1, "delivered exactly once");
    let message = MessageParser::default().parse(&delivered[0]).unwrap();
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Boutique Éléonore"));
    assert_eq!(from.address(), Some(shop.email.as_str()));
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Hélène Dupré"));
    assert_eq!(to.address(), Some(customer.email.as_str()));
    assert_eq!(message.subject(), Some("Re: Où est ma commande ? [#1001]"));
    assert_eq!(message.message_id(), Some("postfix-reply@guichet.test"));
    assert_eq!(
        message.in_reply_to().as_text(),
        Some("question-1@client.test")
    );
    assert_eq!(
        message.references().as_text(),
        Some("question-1@client.test")
    );
    assert_eq!(message.date().unwrap().to_timestamp(), 1_795_000_000);
    assert_eq!(
        message.header("Auto-Submitted").and_then(|v| v.as_text()),
        Some("auto-replied")
    );
    assert_eq!(
        message
            .header("X-Auto-Response-Suppress")
            .and_then(|v| v.as_text()),
        Some("All")
    );
    let html = email.html.unwrap();
    for (received, sent) in [
        (message.body_text(0), email.text),
        (message.body_html(0), html),
    ] {
        assert_eq!(received.unwrap().replace("\r\n", "\n"), sent);
    }
    // Postfix added its trace: the message really went through it.
    assert!(message.header("Received").is_some());
}

#[tokio::test]
async fn submission_with_starttls_and_auth_sends_and_a_wrong_password_is_refused() {
    let server = MailServer::shared();
    let (shop, customer) = shop_and_customer(server, "submission");
    let raw = build_mime(&reply(&shop, &customer, "submission-reply")).unwrap();
    let own_login = submission(server, &shop, &shop.password);
    send_one(&own_login, &shop, &customer.email, &raw)
        .await
        .expect("submission accepts the shop's own login");
    let delivered = wait_for_messages(server, &customer, "INBOX", 1).await;
    let message = MessageParser::default().parse(&delivered[0]).unwrap();
    assert_eq!(message.message_id(), Some("submission-reply@guichet.test"));

    let wrong_password = "Wr0ng-P4ssw0rd-d0-not-leak";
    let wrong_login = submission(server, &shop, wrong_password);
    let error = send_one(&wrong_login, &shop, &customer.email, &raw)
        .await
        .unwrap_err();
    assert_refused!(error, permanent: true, Refusal::AuthenticationFailed { .. });
    for text in [
        error.to_string(),
        format!("{error:?}"),
        error.localized(UiLang::Fr),
        error.localized(UiLang::En),
    ] {
        assert!(!text.contains(wrong_password), "password leaked: {text}");
    }
    assert!(error.localized(UiLang::Fr).contains("mot de passe"));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_certificate_the_shop_did_not_accept_is_refused_before_sending() {
    let server = MailServer::shared();
    let shop = server.new_mailbox("submission certificate");
    let strict = SmtpSettings {
        accept_invalid_certs: false,
        ..submission(server, &shop, &shop.password)
    };
    let error = send_one(&strict, &shop, &shop.email, b"Subject: x\r\n\r\nx\r\n")
        .await
        .unwrap_err();
    assert_refused!(error, permanent: true, Refusal::Certificate { .. });
    assert!(
        error
            .localized(UiLang::En)
            .contains("--accept-invalid-certs")
    );
}

#[tokio::test]
async fn recipients_the_server_rejects_are_refused_before_data() {
    let server = MailServer::shared();
    let (shop, customer) = shop_and_customer(server, "rejected");
    let raw = build_mime(&reply(&shop, &customer, "rejected")).unwrap();
    let refused = format!("{}@shop.test", MailServer::REFUSED_RECIPIENT);
    let error = send_one(&postfix(server), &shop, &refused, &raw)
        .await
        .unwrap_err();
    match &error {
        SendError::Refused {
            permanent: true,
            reason: Refusal::RecipientRefused { address, reply },
        } => {
            assert_eq!(address, &refused);
            assert!(reply.starts_with("550"), "{reply}");
        }
        other => panic!("expected a permanent refusal of the recipient, got {other:?}"),
    }
    assert!(error.localized(UiLang::Fr).contains(&refused));

    let busy = format!("{}@shop.test", MailServer::DEFERRED_RECIPIENT);
    let error = send_one(&postfix(server), &shop, &busy, &raw)
        .await
        .unwrap_err();
    assert_refused!(error, permanent: false, Refusal::RecipientRefused { .. });
    assert!(error.is_retryable());

    // One refused recipient stops the whole transaction: the good one gets nothing either.
    let error = send(
        &postfix(server),
        &shop.email,
        &[customer.email.clone(), refused],
        &raw,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, SendError::Refused { .. }), "{error:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut client = imap_login(server, &customer).await;
    client.select("INBOX").await.unwrap();
    assert!(client.uids_after(0).await.unwrap().is_empty());
    client.logout().await;
}

#[tokio::test]
async fn a_closed_port_is_a_temporary_refusal() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = SmtpSettings {
        port,
        ..postfix(MailServer::shared())
    };
    let error = send(&settings, "a@shop.test", &["b@shop.test".into()], b"x")
        .await
        .unwrap_err();
    assert_refused!(error, permanent: false, Refusal::ConnectionRefused { .. });
}

/// A fake SMTP server that accepts everything up to DATA, reads part of the message, then
/// drops the connection: a network failure in the middle of the transfer.
fn cut_during_data() -> (u16, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        writer.write_all(b"220 fake.test ESMTP\r\n").unwrap();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return 0;
            }
            let command = line.to_ascii_uppercase();
            if command.starts_with("EHLO") {
                writer
                    .write_all(b"250-fake.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n")
                    .unwrap();
            } else if command.starts_with("DATA") {
                writer.write_all(b"354 go ahead\r\n").unwrap();
                let mut chunk = [0u8; 200];
                let n = reader.read(&mut chunk).unwrap_or(0);
                // Gone without a final reply, as when a link drops.
                drop(reader);
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return n;
            } else if command.starts_with("QUIT") {
                let _ = writer.write_all(b"221 bye\r\n");
                return 0;
            } else {
                writer.write_all(b"250 ok\r\n").unwrap();
            }
        }
    });
    (port, handle)
}

#[tokio::test]
async fn a_connection_cut_during_data_is_uncertain() {
    let (port, server) = cut_during_data();
    let settings = SmtpSettings {
        port,
        ..postfix(MailServer::shared())
    };
    let shop = TestMailbox {
        email: "sav@shop.test".into(),
        password: String::new(),
    };
    let customer = TestMailbox {
        email: "client@client.test".into(),
        password: String::new(),
    };
    let raw = build_mime(&reply(&shop, &customer, "cut")).unwrap();
    let error = send_one(&settings, &shop, &customer.email, &raw)
        .await
        .unwrap_err();
    assert!(
        matches!(error, SendError::Uncertain { .. }),
        "a cut during DATA may have delivered: {error:?}"
    );
    assert!(!error.is_retryable());
    assert!(error.localized(UiLang::Fr).contains("ne le renverra pas"));
    assert!(
        server.join().unwrap() > 0,
        "the fake server received part of the message"
    );
}

#[tokio::test]
async fn the_copy_goes_to_sent_created_when_missing_and_found_again() {
    let server = MailServer::shared();
    let (shop, customer) = shop_and_customer(server, "sent folder");
    let first = build_mime(&reply(&shop, &customer, "sent-copy-1")).unwrap();
    let second = build_mime(&reply(&shop, &customer, "sent-copy-2")).unwrap();

    let mut client = imap_login(server, &shop).await;
    assert!(
        !client
            .list_folders()
            .await
            .unwrap()
            .iter()
            .any(|f| f.name == "Sent"),
        "a fresh mailbox has no Sent folder"
    );
    assert_eq!(append_to_sent(&mut client, &first).await.unwrap(), "Sent");
    assert_eq!(append_to_sent(&mut client, &second).await.unwrap(), "Sent");
    let folders = client.list_folders().await.unwrap();
    assert_eq!(
        folders.iter().filter(|f| f.name == "Sent").count(),
        1,
        "created once, then found: {folders:?}"
    );
    client.logout().await;

    let stored = wait_for_messages(server, &shop, "Sent", 2).await;
    let ids: Vec<String> = stored
        .iter()
        .map(|raw| {
            MessageParser::default()
                .parse(raw)
                .unwrap()
                .message_id()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        ids,
        ["sent-copy-1@guichet.test", "sent-copy-2@guichet.test"]
    );
    assert_eq!(stored[0], first, "stored byte for byte");
    assert_eq!(server.unseen_count(&shop, "Sent"), 0, "marked \\Seen");
}

#[tokio::test]
async fn the_folder_marked_sent_is_preferred_over_common_names() {
    let server = MailServer::shared();
    let (shop, customer) = shop_and_customer(server, "special-use");
    // The harness's Dovecot marks "Messages envoyés" \Sent (RFC 6154); "Sent Items" is only a
    // common name.
    let mut client = imap_login(server, &shop).await;
    client.create_folder("Sent Items").await.unwrap();
    client
        .create_folder(MailServer::SPECIAL_USE_SENT_UTF7)
        .await
        .unwrap();
    let raw = build_mime(&reply(&shop, &customer, "special-use")).unwrap();
    assert_eq!(
        append_to_sent(&mut client, &raw).await.unwrap(),
        "Messages envoyés"
    );
    client.logout().await;
    let stored = wait_for_messages(server, &shop, MailServer::SPECIAL_USE_SENT_UTF7, 1).await;
    assert_eq!(stored[0], raw);
}
