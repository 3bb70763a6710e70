//! The contact form's use-case against the real Postfix and Dovecot, on both dialects: a
//! message to customer service is filed like mail (with its attachment, triaged, waiting for
//! an answer) and acknowledged with its tracking number; a message to another contact is
//! forwarded with `Reply-To` the customer; the honeypot, the fill time and the per-address rate
//! limit (shared by two nodes on one database) stop robots.

use std::path::Path;

use guichet::desk::contact_form::{ContactFormError, ContactSubmission, RATE_LIMIT};
use guichet::desk::{Desk, DeskError};
use guichet::intake::imap::Security;
use guichet::model::UiLang;
use guichet::store::{Contact, NewContact, Shop};
use mail_parser::MessageParser;

use crate::outbound::wait_for_messages;
use crate::stats::desk_at;
use crate::support::{MailServer, TestMailbox, store_tests, watched_mailbox};

pub(crate) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

fn now_ms() -> i64 {
    guichet::store::now_ms()
}

pub(crate) fn submission(contact: &Contact, customer: &str, ip: &str) -> ContactSubmission {
    ContactSubmission {
        contact_id: contact.id,
        email: customer.to_string(),
        order_reference: Some("CMD-4521".into()),
        message: "Bonjour, je n'ai pas reçu ma commande CMD-4521, pouvez-vous vérifier ?".into(),
        attachment: None,
        client_ip: ip.to_string(),
        form_rendered_at: now_ms() - 20_000,
        honeypot: String::new(),
        lang: UiLang::Fr,
    }
}

/// A shop whose mailbox sends through Dovecot's submission, with a customer-service contact
/// at the shop's address and a webmaster contact elsewhere.
pub(crate) async fn shop_with_form(
    desk: &Desk,
    server: &MailServer,
    mailbox: &TestMailbox,
    webmaster: &TestMailbox,
) -> (Shop, Contact, Contact) {
    let shop = desk.store.add_shop("Thé & Co").await.unwrap();
    let mut settings = watched_mailbox(mailbox, server.imap_port, false, &["INBOX"], &desk.key);
    settings.smtp_port = server.submission_port;
    settings.smtp_security = Security::Starttls;
    settings.accept_invalid_certs = true;
    desk.store.add_mailbox(shop.id, &settings).await.unwrap();
    let contact = |name: &str, email: &str, customer_service| NewContact {
        name: name.into(),
        email: email.into(),
        description: String::new(),
        customer_service,
    };
    let service = desk
        .store
        .add_contact(shop.id, &contact("Service client", &mailbox.email, true))
        .await
        .unwrap();
    let web = desk
        .store
        .add_contact(shop.id, &contact("Webmaster", &webmaster.email, false))
        .await
        .unwrap();
    (shop, service, web)
}

fn header(raw: &[u8], name: &str) -> String {
    let message = MessageParser::default().parse(raw).unwrap();
    message
        .header_raw(name)
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn form_files_forwards_and_acknowledges(url: &str, blobs: &Path) {
    let desk = desk_at(url, blobs).await;
    let server = MailServer::shared();
    let (mailbox, webmaster, customer) = (
        server.new_mailbox("contact form shop"),
        server.new_mailbox("contact form webmaster"),
        server.new_mailbox("contact form customer"),
    );
    let (shop, service, web) = shop_with_form(&desk, server, &mailbox, &webmaster).await;

    // To customer service, with an attachment: filed, triaged, waiting for an answer.
    let mut to_service = submission(&service, &customer.email, "198.51.100.1");
    to_service.attachment = Some((
        "bon de commande.pdf".into(),
        "application/pdf".into(),
        PDF.to_vec(),
    ));
    let receipt = desk
        .submit_contact_form(&shop, to_service, now_ms())
        .await
        .unwrap();
    assert_eq!(receipt.ticket_number, Some(1001));
    assert!(!receipt.forwarded);
    let (ticket, messages) = desk.store.ticket(shop.id, 1001).await.unwrap();
    assert_eq!(ticket.contact.as_deref(), Some("Service client"));
    assert_eq!(ticket.customer_email, customer.email);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].new_text.contains("CMD-4521"));
    assert_eq!(messages[0].attachments.len(), 1);
    assert_eq!(
        messages[0].attachments[0].filename.as_deref(),
        Some("bon de commande.pdf")
    );
    let triage = messages[0].triage.as_ref().expect("triaged like mail");
    assert_eq!(triage.lang.as_deref(), Some("fr"));
    assert!(
        messages[0]
            .new_text
            .contains("Référence de commande : CMD-4521")
    );
    assert!(!triage.intent.is_empty());
    let pending = desk.store.pending_messages(shop.id, 10).await.unwrap();
    assert_eq!(pending.len(), 1, "automatic answering sees it like mail");

    // The acknowledgement carries the tracking number, in French, marked automatic.
    let received = wait_for_messages(server, &customer, "INBOX", 1).await;
    let ack = &received[0];
    let subject = MessageParser::default()
        .parse(ack)
        .unwrap()
        .subject()
        .unwrap_or_default()
        .to_string();
    assert!(subject.starts_with("[1001]"), "{subject}");
    assert!(subject.contains("Nous avons bien reçu"), "{subject}");
    assert_eq!(header(ack, "Auto-Submitted"), "auto-replied");
    assert!(header(ack, "From").contains(&mailbox.email));

    // The customer answers the acknowledgement: the tag threads it into the same ticket.
    // (Threading is intake's; here the form again, same customer, same contact.)
    let again = desk
        .submit_contact_form(
            &shop,
            submission(&service, &customer.email, "198.51.100.1"),
            now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(
        again.ticket_number,
        Some(1001),
        "joins the customer's ticket"
    );

    // To the webmaster: forwarded by email, answered to the customer, with the attachment.
    let mut to_web = submission(&web, &customer.email, "198.51.100.1");
    to_web.lang = UiLang::En;
    to_web.order_reference = None;
    to_web.message = "Your site shows an error on the checkout page.".into();
    to_web.attachment = Some((
        "capture.png".into(),
        "image/png".into(),
        b"\x89PNG\r\n\x1a\nfake".to_vec(),
    ));
    let receipt = desk
        .submit_contact_form(&shop, to_web, now_ms())
        .await
        .unwrap();
    assert_eq!(receipt.ticket_number, None);
    assert!(receipt.forwarded);
    let forwarded = wait_for_messages(server, &webmaster, "INBOX", 1).await;
    let copy = MessageParser::default().parse(&forwarded[0]).unwrap();
    assert!(header(&forwarded[0], "Reply-To").contains(&customer.email));
    assert!(header(&forwarded[0], "From").contains(&mailbox.email));
    assert!(copy.body_text(0).unwrap().contains("checkout page"));
    assert_eq!(copy.attachment_count(), 1);
    assert_eq!(
        desk.store.tickets(Some(shop.id)).await.unwrap().len(),
        1,
        "nothing filed"
    );
    let acks = wait_for_messages(server, &customer, "INBOX", 3).await;
    let english = acks
        .iter()
        .map(|raw| {
            MessageParser::default()
                .parse(raw)
                .unwrap()
                .subject()
                .unwrap_or_default()
                .to_string()
        })
        .find(|s| s == "We received your message");
    assert!(
        english.is_some(),
        "the forwarded message is acknowledged, without a number"
    );

    // A robot fills the honeypot: accepted, dropped, nothing sent.
    let mut robot = submission(&service, "bot@spam.example", "192.0.2.66");
    robot.honeypot = "http://spam.example".into();
    let receipt = desk
        .submit_contact_form(&shop, robot, now_ms())
        .await
        .unwrap();
    assert_eq!((receipt.ticket_number, receipt.forwarded), (None, false));
    assert_eq!(
        desk.store
            .pending_messages(shop.id, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // Too fast, out of date, another shop's contact, the shop's own address.
    let mut fast = submission(&service, &customer.email, "192.0.2.67");
    fast.form_rendered_at = now_ms() - 1_000;
    let refused = |result: Result<_, DeskError>| match result {
        Err(DeskError::ContactForm(error)) => error,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(desk.submit_contact_form(&shop, fast, now_ms()).await),
        ContactFormError::TooFast
    );
    let mut stale = submission(&service, &customer.email, "192.0.2.67");
    stale.form_rendered_at = now_ms() - 3 * 24 * 3_600_000;
    assert_eq!(
        refused(desk.submit_contact_form(&shop, stale, now_ms()).await),
        ContactFormError::Stale
    );
    let other = desk.store.add_shop("autre").await.unwrap();
    assert_eq!(
        refused(
            desk.submit_contact_form(
                &other,
                submission(&service, &customer.email, "192.0.2.67"),
                now_ms()
            )
            .await
        ),
        ContactFormError::NoSuchContact
    );
    assert_eq!(
        refused(
            desk.submit_contact_form(
                &shop,
                submission(&service, &mailbox.email, "192.0.2.67"),
                now_ms()
            )
            .await
        ),
        ContactFormError::NotAnAddress
    );
    desk.store.close().await;
}

store_tests!(url form_files_forwards_and_acknowledges => contact_form_sqlite, contact_form_postgres);

/// More than [`RATE_LIMIT`] submissions from one address within ten minutes are refused, and
/// the count is the database's: a second node refuses too.
async fn rate_limit_is_shared_by_nodes(url: &str, blobs: &Path) {
    let desk = desk_at(url, blobs).await;
    let other_node = desk_at(url, blobs).await;
    // No mailbox: messages are filed, no acknowledgement can go (logged), nothing else needed.
    let shop = desk.store.add_shop("boutique").await.unwrap();
    let service = desk
        .store
        .add_contact(
            shop.id,
            &NewContact {
                name: "SAV".into(),
                email: "sav@boutique.test".into(),
                description: String::new(),
                customer_service: true,
            },
        )
        .await
        .unwrap();
    for i in 0..RATE_LIMIT {
        let customer = format!("client{i}@client.test");
        let receipt = desk
            .submit_contact_form(
                &shop,
                submission(&service, &customer, "203.0.113.9"),
                now_ms(),
            )
            .await
            .unwrap();
        assert!(receipt.ticket_number.is_some());
    }
    let result = other_node
        .submit_contact_form(
            &shop,
            submission(&service, "late@client.test", "203.0.113.9"),
            now_ms(),
        )
        .await;
    assert!(
        matches!(
            result,
            Err(DeskError::ContactForm(ContactFormError::TooMany))
        ),
        "{result:?}"
    );
    // Another address is not concerned; the refused one is free again after the window.
    other_node
        .submit_contact_form(
            &shop,
            submission(&service, "else@client.test", "203.0.113.10"),
            now_ms(),
        )
        .await
        .unwrap();
    let later = now_ms() + 11 * 60_000;
    let mut fresh = submission(&service, "late@client.test", "203.0.113.9");
    fresh.form_rendered_at = later - 10_000;
    desk.submit_contact_form(&shop, fresh, later).await.unwrap();
    assert_eq!(
        desk.store.tickets(Some(shop.id)).await.unwrap().len(),
        RATE_LIMIT as usize + 2
    );
    // The stored rows keep no address in clear.
    let pool = crate::stats::raw_pool(url).await;
    let clear: i64 = sqlx::Row::try_get(
        &sqlx::query(
            "SELECT COUNT(*) FROM contact_form_submissions WHERE client LIKE '%203.0.113%'",
        )
        .fetch_one(&pool)
        .await
        .unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(clear, 0);
    other_node.store.close().await;
    desk.store.close().await;
}

store_tests!(url rate_limit_is_shared_by_nodes => contact_form_rate_limit_sqlite, contact_form_rate_limit_postgres);
