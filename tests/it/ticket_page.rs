//! The ticket page over real HTTP, on both dialects: the conversation with notes and events,
//! the presence line, the action forms posting and redirecting back, a reply held back with the
//! customer's new message shown, a failed send offered again, CSRF and another shop refused.

use guichet::store::Store;

use crate::support::web::{TestWeb, web_tests};
use crate::support::{Dialect, sample_mail};

async fn file(store: &Store, shop_id: i64, subject: &str, body: &str, id: &str) {
    let triager = guichet::triage::Triager::default();
    let raw = sample_mail(
        "Marie Dupont <marie@client.example>",
        "sav@boutique.example",
        subject,
        body,
        Some(id),
        &[("In-Reply-To", "<first@client.example>")],
    );
    let incoming = guichet::intake::sync::prepare_message(raw, store.blobs(), &triager)
        .await
        .unwrap();
    store
        .file_batch(shop_id, None, None, None, &[incoming])
        .await
        .unwrap();
}

fn seen_of(page: &str) -> String {
    let marker = "name=\"seen\" value=\"";
    let start = page.find(marker).expect("the reply form says what it saw") + marker.len();
    let end = page[start..].find('"').unwrap();
    page[start..start + end].to_string()
}

async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn the_ticket_page_and_its_forms(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web
        .employee("boutique", "alice@boutique.example", false)
        .await;
    let bob = web
        .employee("boutique", "bob@boutique.example", false)
        .await;
    let eve = web
        .employee("ailleurs", "eve@ailleurs.example", false)
        .await;
    let store = &web.desk.store;
    file(
        store,
        alice.shop.id,
        "Colis abîmé",
        "Bonjour, mon colis est arrivé abîmé.\n\n> Le 3 déc., Boutique a écrit :\n> Votre commande est partie.",
        "first@client.example",
    )
    .await;
    let (as_alice, csrf) = web.signed_in(&alice).await;
    let (as_bob, _) = web.signed_in(&bob).await;
    let (as_eve, eve_csrf) = web.signed_in(&eve).await;
    let page_url = web.url("/tickets/1001");

    // Bob is on the ticket: Alice sees him, and he sees her.
    let (status, _) = text(as_bob.get(&page_url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, page) = text(as_alice.get(&page_url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(page.contains("Colis abîmé"));
    assert!(page.contains("mon colis est arrivé abîmé"));
    // The message is shown in its sandboxed frame, its quoted history collapsed there.
    let frame = page
        .split("class=\"mail-html\" sandbox src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the message's frame")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let (status, framed) = text(as_alice.get(web.url(&frame)).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(
        framed.contains("<details"),
        "quoted history collapsed: {framed}"
    );
    assert!(
        framed.contains("Votre commande est partie"),
        "collapsed, not deleted"
    );
    assert!(
        page.contains(&format!("{} is viewing", bob.employee.name)),
        "{page}"
    );
    assert!(page.contains("hx-trigger=\"every 15s\""));
    assert!(page.contains("entry-customer"));
    assert!(
        page.contains("Bonjour Marie Dupont,"),
        "the reply starts from the predefined message"
    );
    assert!(page.contains(&format!("action=\"/tickets/1001/reply?csrf={csrf}\"")));
    let (_, presence) = text(
        as_bob
            .get(web.url("/tickets/1001/presence"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        presence.contains(&format!("{} is viewing", alice.employee.name)),
        "{presence}"
    );
    // Typing in the reply box says so.
    let typing = as_alice
        .post(web.url("/tickets/1001/presence"))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(typing.status(), 204);
    let (_, presence) = text(
        as_bob
            .get(web.url("/tickets/1001/presence"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        presence.contains(&format!("{} is replying", alice.employee.name)),
        "{presence}"
    );

    // Forms post and come back to the page.
    let post = |client: &reqwest::Client, path: &str, form: Vec<(&str, String)>| {
        client.post(web.url(path)).form(&form).send()
    };
    let note = post(
        &as_alice,
        "/tickets/1001/note",
        vec![
            ("csrf", csrf.clone()),
            ("text", "Rembourser sans attendre le retour".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(note.status(), 303);
    assert_eq!(note.headers()["location"], "/tickets/1001");
    for (path, form) in [
        (
            "/tickets/1001/status",
            vec![("status", "pending1".to_string())],
        ),
        (
            "/tickets/1001/assign",
            vec![("assignee", bob.employee.id.to_string())],
        ),
        (
            "/tickets/1001/intent",
            vec![("intent", "damaged_or_wrong_item".to_string())],
        ),
    ] {
        let mut form = form;
        form.push(("csrf", csrf.clone()));
        let response = post(&as_alice, path, form).await.unwrap();
        assert_eq!(
            response.status(),
            303,
            "{path}: {}",
            response.text().await.unwrap()
        );
    }
    let (_, page) = text(as_alice.get(&page_url).send().await.unwrap()).await;
    assert!(page.contains("entry-note"));
    assert!(page.contains("Rembourser sans attendre le retour"));
    assert!(
        page.contains("changed the status from Open to Pending 1"),
        "{page}"
    );
    assert!(page.contains(&format!("assigned the ticket to {}", bob.employee.name)));
    assert!(page.contains("status-pending1"));

    // Without the token, or from another shop: nothing.
    let forged = as_alice
        .post(web.url("/tickets/1001/note"))
        .form(&[("text", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let (status, _) = text(as_eve.get(&page_url).send().await.unwrap()).await;
    assert_eq!(status, 404);
    let foreign = post(
        &as_eve,
        "/tickets/1001/note",
        vec![
            ("csrf", eve_csrf.clone()),
            ("text", "from elsewhere".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(foreign.status(), 404);
    let foreign = post(
        &as_eve,
        "/tickets/1001/status",
        vec![("csrf", eve_csrf.clone()), ("status", "closed".into())],
    )
    .await
    .unwrap();
    assert_eq!(foreign.status(), 404);
    let (_, page) = text(as_alice.get(&page_url).send().await.unwrap()).await;
    assert!(!page.contains("forged") && !page.contains("from elsewhere"));
    assert!(page.contains("status-pending1"), "still pending");

    // A reply written before the customer's new message is held back, with the message.
    let seen = seen_of(&page);
    file(
        store,
        alice.shop.id,
        "Re: Colis abîmé",
        "J'ajoute une photo du carton.",
        "second@client.example",
    )
    .await;
    let reply = |seen: String| {
        let form = reqwest::multipart::Form::new()
            .text("body", "Bonjour Marie, nous vous remboursons.")
            .text("seen", seen)
            .part(
                "files",
                reqwest::multipart::Part::bytes(b"bon de retour".to_vec())
                    .file_name("retour.txt")
                    .mime_str("text/plain")
                    .unwrap(),
            );
        as_alice
            .post(web.url(&format!("/tickets/1001/reply?csrf={csrf}")))
            .multipart(form)
            .send()
    };
    let (status, held) = text(reply(seen).await.unwrap()).await;
    assert_eq!(status, 409, "{held}");
    assert!(held.contains("Not sent: someone wrote"));
    assert!(
        held.contains("J&#x27;ajoute une photo du carton.")
            || held.contains("J'ajoute une photo du carton.")
    );
    assert!(held.contains("nous vous remboursons"), "the text is kept");
    // Sent once seen: the shop has no mailbox here, so it fails and is offered again.
    let seen = seen_of(&held);
    let sent = reply(seen).await.unwrap();
    assert_eq!(sent.status(), 303);
    let (_, page) = text(as_alice.get(&page_url).send().await.unwrap()).await;
    assert!(page.contains("Send again"), "{page}");
    assert!(page.contains("nous vous remboursons"));
    let replies = store
        .replies(Some(alice.shop.id), None, None)
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    let again = post(
        &as_eve,
        &format!("/tickets/1001/answers/{}/send", replies[0].id),
        vec![("csrf", eve_csrf)],
    )
    .await
    .unwrap();
    assert_eq!(
        again.status(),
        404,
        "another shop's employee cannot resend it"
    );
}

web_tests!(the_ticket_page_and_its_forms => ticket_page_sqlite, ticket_page_postgres);
