//! An employee's day in a real headless Chromium against the real server, mail going through
//! the real Postfix and Dovecot: sign in, search, open a ticket, transfer it to a colleague,
//! reply, add a note, mark it handled; a customer writes through the contact form with an
//! attachment; the reply, the colleague's notice and the acknowledgement are read at the
//! mail server. Screenshots of the list, the ticket page and the statistics, on a desktop and
//! a phone, are kept under target/artefacts/screenshots.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use guichet::desk::shops::ContactInput;
use mail_parser::MessageParser;

use crate::outbound::wait_for_messages;
use crate::support::browser::Browser;
use crate::support::web::TestWeb;
use crate::support::{Dialect, MailServer};

async fn fill(browser: &Browser, css: &str, text: &str) {
    let field = browser.wait_for(css).await;
    field.clear().await.ok();
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Clicks `css` and waits for the page it leads to.
async fn click(browser: &Browser, css: &str) {
    let target = browser.wait_for(css).await;
    leave_page(browser, async || {
        target
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    })
    .await;
}

/// Runs `act`, which leaves the page, and waits until the next page has loaded: a marker set
/// on the current document is gone, and the new one is complete.
async fn leave_page(browser: &Browser, act: impl AsyncFnOnce()) {
    browser
        .script("window.__tourPage = true; return true")
        .await;
    act().await;
    let deadline = Instant::now() + crate::support::browser::PAGE_TIMEOUT;
    loop {
        let arrived = browser
            .client
            .execute(
                "return window.__tourPage === undefined && document.readyState === 'complete'",
                Vec::new(),
            )
            .await;
        if matches!(arrived, Ok(serde_json::Value::Bool(true))) {
            break;
        }
        assert!(Instant::now() < deadline, "no new page after the action");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.wait_loaded().await;
}

async fn page_text(browser: &Browser) -> String {
    browser
        .client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn current_path(browser: &Browser) -> String {
    browser
        .client
        .current_url()
        .await
        .unwrap()
        .path()
        .to_string()
}

/// Desktop and phone screenshots of the page `path`.
async fn screenshots(browser: &Browser, web: &TestWeb, path: &str, name: &str) {
    for (size, label) in [(false, "desktop"), (true, "phone")] {
        if size {
            browser.phone().await;
        } else {
            browser.desktop().await;
        }
        browser.goto(&web.url(path)).await;
        let file = browser.screenshot(&format!("{name}-{label}")).await;
        assert!(std::fs::metadata(&file).unwrap().len() > 1000, "{file:?}");
        if size {
            let overflow = browser
                .script("return document.documentElement.scrollWidth - window.innerWidth")
                .await;
            assert!(
                overflow.as_i64().unwrap_or(0) <= 1,
                "{path} scrolls sideways on a phone by {overflow} px"
            );
        }
    }
    browser.desktop().await;
}

fn subjects(messages: &[Vec<u8>]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|raw| MessageParser::default().parse(raw))
        .map(|m| m.subject().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employees_day_in_the_browser() {
    let web = TestWeb::start(Dialect::Sqlite).await;
    let server = MailServer::shared();
    let shop_box = server.new_mailbox("tour shop");
    let customer = server.new_mailbox("tour customer");
    let colleague_box = server.new_mailbox("tour colleague");
    let form_customer = server.new_mailbox("tour form customer");
    crate::sending::shop_with_customer_message(
        &web.desk.store,
        &web.desk.key,
        server,
        &shop_box,
        &customer,
    )
    .await;
    let julie = web.employee("boutique", "julie@boutique.test", true).await;
    let paul = web.employee("boutique", &colleague_box.email, false).await;
    web.desk
        .add_contact(
            &julie.shop,
            ContactInput {
                name: "Service client".into(),
                email: shop_box.email.clone(),
                description: "Commandes, livraisons, retours".into(),
                customer_service: true,
            },
        )
        .await
        .unwrap();

    let browser = Browser::start().await;
    // Sign in.
    browser.goto(&web.url("/tickets")).await;
    assert_eq!(current_path(&browser).await, "/sign-in");
    fill(&browser, "input[name=email]", &julie.employee.email).await;
    fill(&browser, "input[name=password]", &julie.password).await;
    click(&browser, "form.sign-in button[type=submit]").await;
    assert_eq!(current_path(&browser).await, "/tickets");
    assert!(page_text(&browser).await.contains("Mot de passe"));

    // Search: a word of the customer's message finds the ticket.
    fill(&browser, "input[name=q]", "connecter").await;
    let search = browser.wait_for("input[name=q]").await;
    leave_page(&browser, async || {
        search.send_keys("\u{E007}").await.unwrap()
    })
    .await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("q=connecter")
    );
    click(&browser, "a[href=\"/tickets/1001\"]").await;
    assert_eq!(current_path(&browser).await, "/tickets/1001");
    assert!(page_text(&browser).await.contains("Mot de passe"));
    browser.wait_for("iframe[sandbox]").await;

    // Transfer to Paul with a comment: he is told by email.
    let transfer = "form[action=\"/tickets/1001/transfer\"]";
    browser
        .wait_for(&format!(
            "{transfer} select[name=to] option[value=\"{}\"]",
            paul.employee.id
        ))
        .await
        .click()
        .await
        .unwrap();
    fill(
        &browser,
        &format!("{transfer} input[name=comment]"),
        "Peux-tu regarder ?",
    )
    .await;
    click(&browser, &format!("{transfer} button[type=submit]")).await;
    assert_eq!(current_path(&browser).await, "/tickets/1001");

    // A reply, from the page.
    let reply = "form[action^=\"/tickets/1001/reply\"]";
    fill(
        &browser,
        &format!("{reply} textarea[name=body]"),
        "Bonjour Marie,\nvoici un lien pour changer de mot de passe.\nJulie",
    )
    .await;
    click(&browser, &format!("{reply} button[type=submit]")).await;
    assert_eq!(current_path(&browser).await, "/tickets/1001");

    // A private note.
    let note = "form[action=\"/tickets/1001/note\"]";
    fill(
        &browser,
        &format!("{note} textarea[name=text]"),
        "Cliente fidèle, geste commercial possible",
    )
    .await;
    click(&browser, &format!("{note} button[type=submit]")).await;
    assert!(page_text(&browser).await.contains("Cliente fidèle"));

    // Handled.
    click(
        &browser,
        "form[action=\"/tickets/1001/status\"]:has(input[value=closed]) button",
    )
    .await;
    let detail = web.desk.ticket(&julie.shop, 1001).await.unwrap();
    assert_eq!(detail.ticket.status, guichet::model::Status::Closed);

    // The reply reached the customer with the ticket's tag; Paul got the transfer notice.
    let received = wait_for_messages(server, &customer, "INBOX", 1).await;
    assert!(
        subjects(&received).iter().any(|s| s.contains("[1001]")),
        "{:?}",
        subjects(&received)
    );
    let told = wait_for_messages(server, &colleague_box, "INBOX", 1).await;
    assert!(
        told.iter()
            .any(|raw| String::from_utf8_lossy(raw).contains("Peux-tu regarder")),
        "the transfer notice carries the comment"
    );

    // Screenshots of the list, the ticket page and the statistics.
    screenshots(&browser, &web, "/tickets", "list").await;
    screenshots(&browser, &web, "/tickets/1001", "ticket").await;
    screenshots(&browser, &web, "/stats", "stats").await;

    // A customer writes through the contact form, with an attachment.
    let attachment = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(attachment.path(), b"%PDF-1.4\n% facture\n").unwrap();
    browser.client.delete_all_cookies().await.unwrap();
    let opened = Instant::now();
    browser.goto(&web.url("/contact/boutique?lang=fr")).await;
    fill(&browser, "input[name=email]", &form_customer.email).await;
    fill(&browser, "input[name=order_reference]", "10482").await;
    fill(
        &browser,
        "textarea[name=message]",
        "Bonjour, le colis de ma commande 10482 est arrivé abîmé, photo et facture jointes.",
    )
    .await;
    browser
        .wait_for("input[type=file][name=attachment]")
        .await
        .send_keys(attachment.path().to_str().unwrap())
        .await
        .unwrap();
    // The form refuses what is filled faster than a person can (3 s).
    let minimum = Duration::from_millis(3500);
    if let Some(rest) = minimum.checked_sub(opened.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    click(
        &browser,
        "form[enctype=\"multipart/form-data\"] button[type=submit]",
    )
    .await;
    let thanks = page_text(&browser).await;
    let number: i64 = thanks
        .split('[')
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the thank-you page gives the tracking number: {thanks}"));
    let filed = web.desk.ticket(&julie.shop, number).await.unwrap();
    assert!(
        filed.messages[0]
            .attachments
            .iter()
            .any(|a| a.content_type == "application/pdf")
    );
    let ack = wait_for_messages(server, &form_customer, "INBOX", 1).await;
    assert!(
        subjects(&ack)
            .iter()
            .any(|s| s.contains(&format!("[{number}]"))),
        "acknowledgement with the tracking number: {:?}",
        subjects(&ack)
    );
}
