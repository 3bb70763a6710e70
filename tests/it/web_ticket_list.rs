//! The ticket list page over real HTTP on both dialects: rows, filters, search, the next page,
//! sections, bulk actions (with their CSRF check) and another shop's tickets never shown.

use guichet::model::Status;
use guichet::store::{SeedMessage, SeedTicket, now_ms};

use crate::support::Dialect;
use crate::support::web::{TestWeb, web_tests};

fn seed(customer: &str, at: i64, text: &str) -> SeedTicket {
    SeedTicket {
        customer_email: format!("{customer}@client.test"),
        customer_name: Some(customer.to_string()),
        subject: format!("Question de {customer}"),
        contact_id: None,
        language: Some("fr".into()),
        intent: Some("order_status".into()),
        status: Status::Open,
        assignee_id: None,
        seen_at: None,
        messages: vec![SeedMessage {
            outgoing: false,
            from_email: format!("{customer}@client.test"),
            subject: format!("Question de {customer}"),
            received_at: at,
            text: text.into(),
            attachment: None,
        }],
        auto_answer: None,
    }
}

fn href_of(page: &str, rel: &str) -> Option<String> {
    let at = page.find(&format!("rel=\"{rel}\" href=\""))?;
    let rest = &page[at + rel.len() + 13..];
    Some(
        rest[..rest.find('"')?]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

async fn ticket_list_page(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web
        .employee("boutique", "alice@boutique.example", false)
        .await;
    let bruno = web
        .employee("boutique", "bruno@boutique.example", false)
        .await;
    let intruder = web.employee("autre", "eve@autre.example", false).await;
    let store = &web.desk.store;
    let t0 = now_ms() - 100 * 3600 * 1000;
    let seeds: Vec<SeedTicket> = (0..60)
        .map(|i| {
            seed(
                &format!("client{i}"),
                t0 + i * 60_000,
                "Où est ma théière ?",
            )
        })
        .collect();
    store.seed_tickets(alice.shop.id, &seeds).await.unwrap();
    store
        .seed_tickets(intruder.shop.id, &[seed("secret", t0, "Confidentiel")])
        .await
        .unwrap();

    let (client, csrf) = web.signed_in(&alice).await;
    let get = async |path: &str| {
        let response = client.get(web.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let (status, page) = get("/tickets").await;
    assert_eq!(status, 200);
    assert!(page.contains("client59@client.test"), "the latest first");
    assert!(!page.contains("client9@client.test"), "50 per page");
    assert!(!page.contains("secret@client.test"), "never another shop's");
    assert!(
        page.contains("status-open") && page.contains("Pending 2"),
        "the legend"
    );
    assert!(page.contains("id=\"ticket-search\""));
    assert!(!page.contains("<script>"), "no inline script");
    // The next page has the rest, and only the rest.
    let next = href_of(&page, "next").expect("a next page link");
    assert!(
        next.starts_with("/tickets?") && next.contains("after="),
        "{next}"
    );
    let (status, second) = get(&next).await;
    assert_eq!(status, 200);
    assert!(second.contains("client9@client.test") && second.contains("client0@client.test"));
    assert!(!second.contains("client10@client.test"));
    assert!(href_of(&second, "next").is_none());

    // Search and filters in the query string; bad values are refused.
    let (_, found) = get("/tickets?q=client7%40client.test&status=any").await;
    assert!(found.contains("client7@client.test") && !found.contains("client8@client.test"));
    let (_, found) = get("/tickets?q=theiere&sort=number&limit=5").await;
    assert_eq!(found.matches("class=\"ticket-row").count(), 5);
    assert_eq!(get("/tickets?status=lost").await.0, 400);
    assert_eq!(get("/tickets?after=r1.2").await.0, 422);
    let (_, hostile) = get("/tickets?q=%22%20NEAR%20*%20%3A").await;
    assert!(hostile.contains("No ticket matches."));

    // Bulk: without the CSRF token, refused; with it, done and recorded.
    let refused = client
        .post(web.url("/tickets/bulk"))
        .form(&[("ticket", "1001"), ("action", "status:closed")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let done = client
        .post(web.url("/tickets/bulk"))
        .header("origin", web.base.as_str())
        .form(&[
            ("csrf", csrf.as_str()),
            ("ticket", "1001"),
            ("ticket", "1002"),
            ("action", "status:closed"),
            ("back", "status=any&sort=number"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"],
        "/tickets?status=any&sort=number&changed=2"
    );
    let (_, closed) = get("/tickets?status=closed").await;
    assert_eq!(closed.matches("class=\"ticket-row").count(), 2);
    let assign = format!("assign:{}", bruno.employee.id);
    let done = client
        .post(web.url("/tickets/bulk"))
        .header("origin", web.base.as_str())
        .form(&[
            ("csrf", csrf.as_str()),
            ("ticket", "1003"),
            ("action", assign.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let (_, nobody) = get("/tickets?assignee=unassigned").await;
    assert!(!nobody.contains("client2@client.test"), "1003 is Bruno's");
    let events = store
        .ticket_list(alice.shop.id, &Default::default(), now_ms())
        .await
        .unwrap();
    assert!(!events.rows.is_empty());
    // Another shop's ticket cannot be changed through the list.
    let (eve, eve_csrf) = web.signed_in(&intruder).await;
    let foreign = eve
        .post(web.url("/tickets/bulk"))
        .header("origin", web.base.as_str())
        .form(&[
            ("csrf", eve_csrf.as_str()),
            ("ticket", "1004"),
            ("action", "status:closed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    let (_, still) = get("/tickets?status=closed").await;
    assert_eq!(still.matches("class=\"ticket-row").count(), 2);
    // Nobody signed in: sent to sign in.
    let anonymous = web.client().get(web.url("/tickets")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
}

web_tests!(ticket_list_page => web_ticket_list_sqlite, web_ticket_list_postgres);
