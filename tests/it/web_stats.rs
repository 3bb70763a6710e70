//! The statistics page and the public contact form over real HTTP, on both dialects: the page
//! with its charts for the signed-in employee's shop only; the form embeddable, refusing a
//! form sent too fast, a forged stamp and a cross-site post, and taking a submission with an
//! attachment whose acknowledgement is read at the real SMTP server.

use guichet::store::ContactFormSettings;
use mail_parser::MessageParser;
use reqwest::multipart::{Form, Part};

use crate::contact_form::{PDF, shop_with_form};
use crate::outbound::wait_for_messages;
use crate::store::{incoming, parsed};
use crate::support::web::{TestWeb, web_tests};
use crate::support::{Dialect, MailServer};

async fn statistics_page(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web
        .employee("boutique", "alice@boutique.example", false)
        .await;
    let bob = web.employee("autre", "bob@autre.example", false).await;
    let now = guichet::store::now_ms();
    let batch: Vec<_> = (0..3)
        .map(|i| {
            let message = parsed(
                &format!("s{i}@c.test"),
                &format!("c{i}@c.test"),
                "Colis",
                now - i * 3_600_000,
            );
            incoming(&web.desk.store, message, &[])
        })
        .collect();
    web.desk
        .store
        .file_batch(alice.shop.id, None, None, None, &batch)
        .await
        .unwrap();

    let anonymous = web.client();
    let redirect = anonymous.get(web.url("/stats")).send().await.unwrap();
    assert_eq!(redirect.status(), 303, "no statistics without a session");

    let (client, _) = web.signed_in(&alice).await;
    let page = client.get(web.url("/stats")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Statistics</h1>"), "{html}");
    // Per-day tickets and messages, two histograms, the heat map, three breakdowns.
    assert_eq!(html.matches("<svg ").count(), 8, "{html}");
    assert_eq!(html.matches("role=\"img\"").count(), 8);
    assert!(!html.contains("<script>"), "no inline script");
    assert!(
        html.contains("aria-current=\"true\">Last 30 days"),
        "the default period is marked"
    );
    assert!(html.contains(">3</div>"), "three new tickets: {html}");
    assert_eq!(html.matches("class=\"cell\"").count(), 168);

    // A chosen period, with the chooser's inclusive last day; a bad date is said, not a 500.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date();
    let url = format!("/stats?from={}&until={today}", today.yesterday().unwrap());
    let chosen = web.page(&client, &url).await;
    assert!(chosen.contains(&format!("to {today}")), "{chosen}");
    let bad = client
        .get(web.url("/stats?from=tomorrowish"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 200);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("`tomorrowish` is not a date"), "{bad}");

    // Another shop's employee sees their own (empty) shop.
    let (other, _) = web.signed_in(&bob).await;
    let theirs = web.page(&other, "/stats").await;
    assert!(theirs.contains(">0</div>"));
    assert!(!theirs.contains(">3</div>"));
}

web_tests!(statistics_page => stats_page_sqlite, stats_page_postgres);

fn stamp_of(html: &str) -> String {
    let start = html.find("name=\"stamp\" value=\"").expect("a stamp") + 20;
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

async fn contact_form_over_http(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let server = MailServer::shared();
    let (mailbox, webmaster, customer) = (
        server.new_mailbox("http form shop"),
        server.new_mailbox("http form webmaster"),
        server.new_mailbox("http form customer"),
    );
    let (shop, service, _) = shop_with_form(&web.desk, server, &mailbox, &webmaster).await;
    let client = web.client();

    // The shop's name or its slug; French from the query; embeddable anywhere.
    let page = client
        .get(web.url("/contact/the-co?lang=fr"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(page.headers().get("x-frame-options").is_none());
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Contacter Th"), "{html}");
    assert!(html.contains("name=\"website\""), "the honeypot");
    assert!(html.contains("PDF, JPEG, PNG, jusqu"), "{html}");
    assert!(html.contains("10 MB"), "{html}");
    let fresh = stamp_of(&html);
    let english = client
        .get(web.url("/contact/Th%C3%A9%20%26%20Co"))
        .header("accept-language", "en-GB,en;q=0.8")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<h1>Contact Th"), "{english}");
    assert_eq!(
        client
            .get(web.url("/contact/nobody"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let form = |stamp: &str, attachment: Option<Part>| {
        let mut form = Form::new()
            .text("stamp", stamp.to_string())
            .text("contact", service.id.to_string())
            .text("email", customer.email.clone())
            .text("order_reference", "CMD-77")
            .text(
                "message",
                "Bonjour, le colis de ma commande CMD-77 est arrivé abîmé.",
            )
            .text("website", "");
        if let Some(part) = attachment {
            form = form.part("attachment", part);
        }
        form
    };
    let pdf = || {
        Part::bytes(PDF.to_vec())
            .file_name("photo colis.pdf")
            .mime_str("application/pdf")
            .unwrap()
    };
    let post = |form: Form| {
        client
            .post(web.url("/contact/the-co?lang=fr"))
            .multipart(form)
            .send()
    };

    // Sent at once after the page was shown: refused, in French, with what was typed.
    let fast = post(form(&fresh, None)).await.unwrap();
    assert_eq!(fast.status(), 422);
    let fast = fast.text().await.unwrap();
    assert!(fast.contains("envoyé trop vite"), "{fast}");
    assert!(fast.contains("CMD-77"), "what was typed is kept");
    // A forged stamp, and a post from another site.
    let forged = post(form("1.00ff", None)).await.unwrap();
    assert_eq!(forged.status(), 403);
    let cross = client
        .post(web.url("/contact/the-co"))
        .header("origin", "http://evil.example")
        .multipart(form(&fresh, None))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);

    // The form as a person sends it, ten seconds after it was shown, with an attachment.
    let earlier = web
        .desk
        .contact_form_stamp(&shop, guichet::store::now_ms() - 10_000);
    let sent = post(form(&earlier, Some(pdf()))).await.unwrap();
    assert_eq!(sent.status(), 303, "{}", sent.text().await.unwrap());
    let location = sent.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/contact/the-co/thanks?lang=fr&ticket=1001");
    let thanks = client.get(web.url(&location)).send().await.unwrap();
    assert!(
        thanks.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors *")
    );
    let thanks = thanks.text().await.unwrap();
    assert!(
        thanks.contains("Votre numéro de suivi est 1001."),
        "{thanks}"
    );

    let (_, messages) = web.desk.store.ticket(shop.id, 1001).await.unwrap();
    assert_eq!(messages[0].attachments.len(), 1);
    assert_eq!(
        messages[0].attachments[0].filename.as_deref(),
        Some("photo colis.pdf")
    );
    let acks = wait_for_messages(server, &customer, "INBOX", 1).await;
    let ack = MessageParser::default().parse(&acks[0]).unwrap();
    assert!(
        ack.subject().unwrap().starts_with("[1001] "),
        "{:?}",
        ack.subject()
    );
    assert!(
        ack.body_text(0)
            .unwrap()
            .contains("colis de ma commande CMD-77")
    );

    // A smaller limit: the attachment is refused with the limit said, nothing filed.
    web.desk
        .save_contact_form_settings(
            &shop,
            &ContactFormSettings {
                max_attachment_bytes: 16,
                ..ContactFormSettings::default()
            },
        )
        .await
        .unwrap();
    let big = post(form(&earlier, Some(pdf()))).await.unwrap();
    assert_eq!(big.status(), 413);
    assert!(big.text().await.unwrap().contains("trop lourde"));
    assert_eq!(
        web.desk.store.tickets(Some(shop.id)).await.unwrap().len(),
        1
    );
}

web_tests!(contact_form_over_http => contact_form_http_sqlite, contact_form_http_postgres);
