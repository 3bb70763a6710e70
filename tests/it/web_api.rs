//! The JSON API over real HTTP with bearer tokens: its OpenAPI document names exactly the
//! routes the router serves, real answers carry every field the document says they must, and
//! a token of one shop sees nothing of another.

use std::collections::BTreeSet;

use guichet::web::{api::OPENAPI, route_table};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::support::Dialect;
use crate::support::web::{TestWeb, web_tests};
use crate::web_security::{SECRET_CUSTOMER, SECRET_SUBJECT, ticket_in};

fn document() -> Value {
    serde_json::from_str(OPENAPI).unwrap()
}

#[test]
fn the_openapi_document_names_every_api_route_and_no_other() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = route_table()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served, not documented: {undocumented:?}"
    );
    assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
    // Every operation says what success and a missing token look like, and every $ref lands.
    for (method, path) in &documented {
        let operation = &document["paths"][path][method.to_lowercase()];
        for code in ["200", "401"] {
            assert!(
                operation["responses"].get(code).is_some(),
                "{method} {path} documents {code}"
            );
        }
    }
    check_refs(&document, &document);
}

fn check_refs(document: &Value, value: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                assert!(!resolve(document, target).is_null(), "{target} is defined");
            }
            map.values().for_each(|v| check_refs(document, v));
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(document, v)),
        _ => {}
    }
}

fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let mut at = document;
    for part in reference.trim_start_matches("#/").split('/') {
        at = &at[part];
    }
    at
}

fn follow<'a>(document: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(Value::String(target)) = schema.get("$ref") {
        schema = resolve(document, target);
    }
    schema
}

/// Checks `value` against `schema`: types (with null where allowed), enums, required fields,
/// properties and items, as deep as they go. `at` names the place for the message.
fn validate(document: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = follow(document, schema);
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        assert!(
            fits,
            "{at}: {actual} where {types:?} is documented: {value}"
        );
    }
    if let (Some(Value::Array(allowed)), false) = (schema.get("enum"), value.is_null()) {
        assert!(allowed.contains(value), "{at}: {value} not in {allowed:?}");
    }
    if let Value::Object(object) = value {
        for field in schema["required"].as_array().into_iter().flatten() {
            let field = field.as_str().unwrap();
            assert!(object.contains_key(field), "{at}: required {field} missing");
        }
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                if let Some(inner) = object.get(name) {
                    validate(document, property, inner, &format!("{at}.{name}"));
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(document, item_schema, item, &format!("{at}[{i}]"));
        }
    }
}

/// Calls `method path` with `token` and checks the answer against what the document says
/// that operation answers with that status; returns the body.
async fn call(
    web: &TestWeb,
    token: &str,
    method: &str,
    path: &str,
    template: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let document = document();
    let client = web.client();
    let mut request = client
        .request(method.parse().unwrap(), web.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let value: Value = response.json().await.unwrap();
    let operation = &document["paths"][template][method.to_lowercase()];
    assert!(!operation.is_null(), "{method} {template} is documented");
    let documented = follow(&document, &operation["responses"][status.to_string()]);
    assert!(
        !documented.is_null(),
        "{method} {path} answered {status}, which is not documented: {value}"
    );
    let schema = &documented["content"]["application/json"]["schema"];
    validate(
        &document,
        schema,
        &value,
        &format!("{method} {path} {status}"),
    );
    (status, value)
}

async fn the_api_answers_as_documented(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web.employee("shop-a", "alice@shop-a.example", false).await;
    let number = ticket_in(&web, &alice.shop, SECRET_SUBJECT, SECRET_CUSTOMER).await;
    let token = web
        .desk
        .create_api_token(&alice.employee, "tests")
        .await
        .unwrap();
    let token = token.expose_secret().to_string();
    let ticket_path = format!("/api/v1/tickets/{number}");
    let status_path = format!("{ticket_path}/status");

    let (status, me) = call(&web, &token, "GET", "/api/v1/me", "/api/v1/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["employee"]["email"], "alice@shop-a.example");
    assert_eq!(me["shop"]["name"], "shop-a");

    let (status, list) = call(
        &web,
        &token,
        "GET",
        "/api/v1/tickets",
        "/api/v1/tickets",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["number"], number);
    assert_eq!(list[0]["customer_email"], SECRET_CUSTOMER);

    let (status, detail) = call(
        &web,
        &token,
        "GET",
        &ticket_path,
        "/api/v1/tickets/{number}",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(detail["ticket"]["subject"], SECRET_SUBJECT);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 1);

    let (status, found) = call(
        &web,
        &token,
        "GET",
        "/api/v1/tickets/search?q=Zanzibar",
        "/api/v1/tickets/search",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(found, serde_json::json!([number]));

    let (status, changed) = call(
        &web,
        &token,
        "POST",
        &status_path,
        "/api/v1/tickets/{number}/status",
        Some(serde_json::json!({ "status": "pending1" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        changed,
        serde_json::json!({ "number": number, "status": "pending1" })
    );
    let shown = web.desk.ticket(&alice.shop, number).await.unwrap();
    assert_eq!(shown.ticket.status, guichet::model::Status::Pending1);

    let (status, assigned) = call(
        &web,
        &token,
        "POST",
        &format!("{ticket_path}/assign"),
        "/api/v1/tickets/{number}/assign",
        Some(serde_json::json!({ "employee_id": alice.employee.id })),
    )
    .await;
    assert_eq!(
        (status, &assigned["changed"]),
        (200, &serde_json::json!(true))
    );
    let (status, _) = call(
        &web,
        &token,
        "POST",
        &format!("{ticket_path}/note"),
        "/api/v1/tickets/{number}/note",
        Some(serde_json::json!({ "text": "Called the customer back." })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &web,
        &token,
        "POST",
        &format!("{ticket_path}/intent"),
        "/api/v1/tickets/{number}/intent",
        Some(serde_json::json!({ "intent": "order_status" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &web,
        &token,
        "POST",
        &format!("{ticket_path}/transfer"),
        "/api/v1/tickets/{number}/transfer",
        Some(serde_json::json!({ "comment": "to whom?" })),
    )
    .await;
    assert_eq!(status, 422, "a transfer names a colleague or an address");
    let (status, stats) = call(
        &web,
        &token,
        "GET",
        "/api/v1/statistics",
        "/api/v1/statistics",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(stats["tickets"], 1);
    let timeline = web.desk.timeline(&alice.shop, number).await.unwrap();
    assert!(
        format!("{timeline:?}").contains("Called the customer back."),
        "the note is in the timeline"
    );

    // Refusals are documented JSON errors too.
    let (status, error) = call(
        &web,
        &token,
        "POST",
        &status_path,
        "/api/v1/tickets/{number}/status",
        Some(serde_json::json!({ "status": "someday" })),
    )
    .await;
    assert_eq!(status, 422);
    assert!(error["error"].as_str().unwrap().contains("openapi.json"));
    let (status, _) = call(
        &web,
        &token,
        "POST",
        &format!("{ticket_path}/reply"),
        "/api/v1/tickets/{number}/reply",
        Some(serde_json::json!({ "body": "   " })),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &web,
        &token,
        "GET",
        "/api/v1/tickets/999999",
        "/api/v1/tickets/{number}",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, replies) = call(
        &web,
        &token,
        "GET",
        "/api/v1/replies",
        "/api/v1/replies",
        None,
    )
    .await;
    assert_eq!((status, replies), (200, serde_json::json!([])));
    let (status, _) = call(
        &web,
        &token,
        "GET",
        "/api/v1/replies?state=bogus",
        "/api/v1/replies",
        None,
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &web,
        "gch_not-a-token",
        "GET",
        "/api/v1/tickets",
        "/api/v1/tickets",
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, document) = call(
        &web,
        &token,
        "GET",
        "/api/v1/openapi.json",
        "/api/v1/openapi.json",
        None,
    )
    .await;
    assert_eq!((status, document["openapi"].as_str()), (200, Some("3.1.0")));

    // A token of another shop: the same calls find nothing of shop A.
    let bob = web.employee("shop-b", "bob@shop-b.example", true).await;
    let bob_token = web.desk.create_api_token(&bob.employee, "b").await.unwrap();
    let bob_token = bob_token.expose_secret().to_string();
    let (status, list) = call(
        &web,
        &bob_token,
        "GET",
        "/api/v1/tickets",
        "/api/v1/tickets",
        None,
    )
    .await;
    assert_eq!((status, list), (200, serde_json::json!([])));
    let (status, _) = call(
        &web,
        &bob_token,
        "GET",
        &ticket_path,
        "/api/v1/tickets/{number}",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, found) = call(
        &web,
        &bob_token,
        "GET",
        "/api/v1/tickets/search?q=Zanzibar",
        "/api/v1/tickets/search",
        None,
    )
    .await;
    assert_eq!((status, found), (200, serde_json::json!([])));
    let (status, _) = call(
        &web,
        &bob_token,
        "POST",
        &status_path,
        "/api/v1/tickets/{number}/status",
        Some(serde_json::json!({ "status": "closed" })),
    )
    .await;
    assert_eq!(status, 404);
    let shown = web.desk.ticket(&alice.shop, number).await.unwrap();
    assert_eq!(
        shown.ticket.status,
        guichet::model::Status::Pending1,
        "unchanged"
    );
}

web_tests!(the_api_answers_as_documented => api_as_documented_sqlite, api_as_documented_postgres);

async fn tokens_and_language_from_the_account_page(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web.employee("shop-a", "alice@shop-a.example", false).await;
    let (browser, csrf) = web.signed_in(&alice).await;
    let created = browser
        .post(web.url("/account/tokens"))
        .form(&[("csrf", csrf.as_str()), ("label", "helpdesk sync")])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let page = created.text().await.unwrap();
    let start = page.find("gch_").expect("the new token is shown once");
    let token: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(token.len(), 4 + 64, "{token}");
    let me = web
        .client()
        .get(web.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let again = browser.get(web.url("/account")).send().await.unwrap();
    let again = again.text().await.unwrap();
    assert!(again.contains("helpdesk sync"), "listed by its label");
    assert!(!again.contains(&token), "never shown again");

    // The employee's own language.
    let switched = browser
        .post(web.url("/account/lang"))
        .form(&[("csrf", csrf.as_str()), ("lang", "fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 303);
    let page = browser.get(web.url("/account")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("<html lang=\"fr\"") && page.contains("Créer un jeton"),
        "{page}"
    );

    let id = web.desk.api_tokens(&alice.employee).await.unwrap()[0].id;
    let revoked = browser
        .post(web.url(&format!("/account/tokens/{id}/revoke")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 303);
    let me = web
        .client()
        .get(web.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "a revoked token opens nothing");
}

web_tests!(tokens_and_language_from_the_account_page => account_tokens_sqlite, account_tokens_postgres);

/// A ticket of `shop` whose automatic answer waits in `state`; the answer's id.
async fn ticket_with_answer(web: &TestWeb, shop_id: i64, state: guichet::model::ReplyState) -> i64 {
    use guichet::store::{SeedMessage, SeedReply, SeedTicket, now_ms};
    let at = now_ms() - 3_600_000;
    let seed = SeedTicket {
        customer_email: "dana@customer-a.example".into(),
        customer_name: Some("Dana".into()),
        subject: "Where is my teapot?".into(),
        contact_id: None,
        language: Some("en".into()),
        intent: Some("order_status".into()),
        status: guichet::model::Status::Open,
        assignee_id: None,
        seen_at: None,
        messages: vec![SeedMessage {
            outgoing: false,
            from_email: "dana@customer-a.example".into(),
            subject: "Where is my teapot?".into(),
            received_at: at,
            text: "Where is it?".into(),
            attachment: None,
        }],
        auto_answer: Some(SeedReply {
            state,
            due_at: at + 86_400_000,
            sent_at: None,
            text: "It is on its way.".into(),
        }),
    };
    let store = &web.desk.store;
    store.seed_tickets(shop_id, &[seed]).await.unwrap();
    let replies = store
        .replies(Some(shop_id), None, Some(state))
        .await
        .unwrap();
    replies[0].id
}

async fn replies_wait_for_what_is_new_and_answers_stay_in_their_shop(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web.employee("shop-a", "alice@shop-a.example", false).await;
    let colleague = web.employee("shop-a", "bruno@shop-a.example", false).await;
    let number = ticket_in(&web, &alice.shop, SECRET_SUBJECT, SECRET_CUSTOMER).await;
    let token = web
        .desk
        .create_api_token(&alice.employee, "t")
        .await
        .unwrap();
    let token = token.expose_secret().to_string();
    let ticket_path = format!("/api/v1/tickets/{number}");
    let reply_path = format!("{ticket_path}/reply");
    const REPLY: &str = "/api/v1/tickets/{number}/reply";

    let (status, detail) = call(
        &web,
        &token,
        "GET",
        &ticket_path,
        "/api/v1/tickets/{number}",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let seen = detail["seen_up_to"]
        .as_i64()
        .expect("the ticket says what it shows");
    assert!(seen > 0);

    // Written before the customer's message was read: held back, with that message.
    let (status, held) = call(
        &web,
        &token,
        "POST",
        &reply_path,
        REPLY,
        Some(serde_json::json!({ "body": "Refunded.", "seen_up_to": 0 })),
    )
    .await;
    assert_eq!(status, 409, "{held}");
    assert_eq!(held["newer"][0]["kind"], "message");
    assert_eq!(held["newer"][0]["author"], SECRET_CUSTOMER);
    assert_eq!(held["seen_up_to"], seen);
    // A colleague's note after the read holds it back too.
    web.desk
        .add_note(
            &alice.shop,
            colleague.employee.id,
            number,
            "I phoned her: wait.",
        )
        .await
        .unwrap();
    let (status, held) = call(
        &web,
        &token,
        "POST",
        &reply_path,
        REPLY,
        Some(serde_json::json!({ "body": "Refunded.", "seen_up_to": seen })),
    )
    .await;
    assert_eq!(status, 409, "{held}");
    let newer = held["newer"].as_array().unwrap();
    assert_eq!(newer.len(), 1, "{held}");
    assert_eq!(newer[0]["kind"], "note");
    assert_eq!(newer[0]["text"], "I phoned her: wait.");
    assert!(
        web.desk
            .replies(Some(&alice.shop), None)
            .await
            .unwrap()
            .is_empty(),
        "nothing was sent or queued"
    );
    let (status, _) = call(
        &web,
        &token,
        "POST",
        &reply_path,
        REPLY,
        Some(serde_json::json!({ "body": "Refunded." })),
    )
    .await;
    assert_eq!(status, 422, "seen_up_to is required");

    // Sent once read (no mailbox here, so it fails, and is kept to be sent again).
    let seen = held["seen_up_to"].as_i64().unwrap();
    let (status, sent) = call(
        &web,
        &token,
        "POST",
        &reply_path,
        REPLY,
        Some(serde_json::json!({ "body": "Refunded.", "seen_up_to": seen })),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let failed = sent["id"].as_i64().unwrap();
    assert_eq!(sent["state"], "failed", "{sent}");

    // The answers' actions: shop B's token finds none of shop A's.
    let scheduled =
        ticket_with_answer(&web, alice.shop.id, guichet::model::ReplyState::Scheduled).await;
    let bob = web.employee("shop-b", "bob@shop-b.example", true).await;
    let bob_token = web.desk.create_api_token(&bob.employee, "b").await.unwrap();
    let bob_token = bob_token.expose_secret().to_string();
    for id in [scheduled, failed] {
        for (action, body) in [
            ("cancel", None),
            ("send", None),
            ("edit", Some(serde_json::json!({ "body": "taken over" }))),
        ] {
            let (status, error) = call(
                &web,
                &bob_token,
                "POST",
                &format!("/api/v1/replies/{id}/{action}"),
                &format!("/api/v1/replies/{{id}}/{action}"),
                body,
            )
            .await;
            assert_eq!(status, 404, "{action} {id} with shop B's token");
            assert!(!error.to_string().contains("teapot"));
        }
    }
    let untouched = web.desk.reply_by_id(scheduled).await.unwrap();
    assert_eq!(untouched.state, guichet::model::ReplyState::Scheduled);
    assert_eq!(untouched.body, "It is on its way.");

    // Shop A's own token: edit, then cancel the scheduled answer; a cancelled one cannot be
    // cancelled again (409), and the failed reply can be sent again.
    let (status, edited) = call(
        &web,
        &token,
        "POST",
        &format!("/api/v1/replies/{scheduled}/edit"),
        "/api/v1/replies/{id}/edit",
        Some(serde_json::json!({ "body": "It left this morning." })),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["body"], "It left this morning.");
    let (status, cancelled) = call(
        &web,
        &token,
        "POST",
        &format!("/api/v1/replies/{scheduled}/cancel"),
        "/api/v1/replies/{id}/cancel",
        None,
    )
    .await;
    assert_eq!(
        (status, &cancelled["state"]),
        (200, &serde_json::json!("cancelled"))
    );
    assert_eq!(
        web.desk.reply_by_id(scheduled).await.unwrap().state,
        guichet::model::ReplyState::Cancelled
    );
    let (status, _) = call(
        &web,
        &token,
        "POST",
        &format!("/api/v1/replies/{scheduled}/cancel"),
        "/api/v1/replies/{id}/cancel",
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (status, again) = call(
        &web,
        &token,
        "POST",
        &format!("/api/v1/replies/{failed}/send"),
        "/api/v1/replies/{id}/send",
        None,
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], failed);
    let attempts = web.desk.reply_by_id(failed).await.unwrap().attempts;
    assert!(attempts >= 2, "sent again: {attempts} attempts");
}

web_tests!(replies_wait_for_what_is_new_and_answers_stay_in_their_shop => api_replies_sqlite, api_replies_postgres);
