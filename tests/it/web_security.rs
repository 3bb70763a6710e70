//! The back office's walls, over real HTTP on both dialects: every route of the router (taken
//! from the one table the router is built from, so a new route is walked as soon as it exists)
//! gives nothing to nobody and nothing of shop A to an employee of shop B; every state change
//! made with the session cookie needs the CSRF token; sign-in is throttled; the session cookie
//! is HttpOnly, SameSite=Strict, and Secure behind TLS.

use std::collections::BTreeSet;

use axum::http::Method;
use guichet::store::{Shop, now_ms};
use guichet::web::{Access, RouteInfo, route_table};
use secrecy::ExposeSecret;

use crate::store::{incoming, parsed};
use crate::support::Dialect;
use crate::support::web::{TestEmployee, TestWeb, web_tests};

/// Words only shop A's data contains: none may reach anyone else.
pub const SECRET_SUBJECT: &str = "Confidential refund Zanzibar";
pub const SECRET_CUSTOMER: &str = "carol.secret@customer-a.example";

/// Files one customer message in `shop`, making a ticket; its number.
pub async fn ticket_in(web: &TestWeb, shop: &Shop, subject: &str, from: &str) -> i64 {
    let store = &web.desk.store;
    let id = format!("{}@{}", rand::random::<u64>(), "customer.example");
    let message = parsed(&id, from, subject, now_ms() - 60_000);
    store
        .file_batch(shop.id, None, None, None, &[incoming(store, message, &[])])
        .await
        .unwrap();
    store
        .tickets(Some(shop.id))
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.subject == subject)
        .unwrap()
        .number
}

/// The routes anyone may call: sign-in, static files, health, the public contact forms, and
/// the shop platforms' webhooks (signed with the shop's secret).
fn allowed_public(route: &RouteInfo) -> bool {
    route.path == "/sign-in"
        || route.path == "/healthz"
        || route.path.starts_with("/static/")
        || route.path.starts_with("/contact")
        || route.path.starts_with("/c/")
        || route.path.starts_with("/webhooks/")
        // The provider's redirect comes back without the SameSite=Strict session cookie; it is
        // bound to the sealed pending-connection cookie and its state instead (tests/it/oauth.rs).
        || route.path == "/oauth/callback"
}

/// `path` with each `{param}` replaced by every value `values` gives for it.
fn concrete_paths(path: &str, values: &dyn Fn(&str) -> Vec<String>) -> Vec<String> {
    let mut paths = vec![String::new()];
    for segment in path.split('/').skip(1) {
        let choices = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => values(param.trim_start_matches('*')),
            None => vec![segment.to_string()],
        };
        paths = paths
            .iter()
            .flat_map(|p| choices.iter().map(move |c| format!("{p}/{c}")))
            .collect();
    }
    paths
}

/// A body with every field a state-changing route may read, pointing at shop A's things.
fn hostile_fields(a_ticket: i64, a_employee: i64) -> Vec<(String, String)> {
    [
        ("status", "closed".to_string()),
        ("body", "taken over".to_string()),
        ("text", "taken over".to_string()),
        ("comment", "taken over".to_string()),
        ("email", "mallory@evil.example".to_string()),
        ("name", "Mallory".to_string()),
        ("password", "mallory-password-123".to_string()),
        ("label", "mallory".to_string()),
        ("lang", "fr".to_string()),
        ("intent", "order_status".to_string()),
        ("number", a_ticket.to_string()),
        ("numbers", a_ticket.to_string()),
        ("employee_id", a_employee.to_string()),
        ("assignee", a_employee.to_string()),
        ("to_employee_id", a_employee.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn json_of(fields: &[(String, String)]) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (k, v) in fields {
        let value = match v.parse::<i64>() {
            Ok(n) => serde_json::json!(n),
            Err(_) => serde_json::json!(v),
        };
        object.insert(k.clone(), value);
    }
    serde_json::Value::Object(object)
}

fn method_of(route: &RouteInfo) -> reqwest::Method {
    reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap()
}

/// What shop A has, for the walk to aim at.
struct ShopA {
    alice: TestEmployee,
    number: i64,
    token_id: i64,
}

async fn shop_a(web: &TestWeb) -> ShopA {
    let alice = web.employee("shop-a", "alice@shop-a.example", true).await;
    let number = ticket_in(web, &alice.shop, SECRET_SUBJECT, SECRET_CUSTOMER).await;
    web.desk
        .create_api_token(&alice.employee, "alice's integration")
        .await
        .unwrap();
    let token_id = web.desk.api_tokens(&alice.employee).await.unwrap()[0].id;
    ShopA {
        alice,
        number,
        token_id,
    }
}

/// Asserts the answer to a stranger carries nothing of shop A.
async fn assert_nothing_of_a(response: reqwest::Response, what: &str, alice_email: &str) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    for secret in [
        SECRET_SUBJECT,
        SECRET_CUSTOMER,
        alice_email,
        "alice&#x27;s",
        "alice's",
    ] {
        assert!(
            !text.contains(secret),
            "{what} ({status}) shows shop A's {secret}:\n{text}"
        );
    }
}

async fn every_route_gives_nothing_to_strangers(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let a = shop_a(&web).await;
    let bob = web.employee("shop-b", "bob@shop-b.example", true).await;
    let (as_bob, bob_csrf) = web.signed_in(&bob).await;
    let bob_token = web
        .desk
        .create_api_token(&bob.employee, "bob's script")
        .await
        .unwrap();
    let bob_token = bob_token.expose_secret().to_string();
    let before = web.desk.ticket(&a.alice.shop, a.number).await.unwrap();

    let ids: Vec<String> = BTreeSet::from([a.alice.employee.id, a.token_id, a.number, 1])
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    let values = |param: &str| match param {
        "number" => vec![a.number.to_string()],
        "file" => vec!["app.js".to_string()],
        _ => ids.clone(),
    };
    let fields = hostile_fields(a.number, a.alice.employee.id);

    let table = route_table();
    assert!(
        table.iter().any(|r| r.path.starts_with("/api/v1/")),
        "the API is in the table"
    );
    let mut walked = 0;
    for route in &table {
        if route.access == Access::Public {
            assert!(
                allowed_public(route),
                "{} {} answers without a session",
                route.method,
                route.path
            );
            continue;
        }
        for path in concrete_paths(route.path, &values) {
            let what = format!("{} {path}", route.method);
            let url = web.url(&path);
            let method = method_of(route);
            let is_api = path.starts_with("/api/");

            // Nobody: sent to sign in, or refused.
            let response = web
                .client()
                .request(method.clone(), &url)
                .form(&fields)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            if status == 303 {
                let location = response.headers()["location"].to_str().unwrap();
                assert!(
                    location.starts_with("/sign-in"),
                    "{what} as nobody goes to {location}"
                );
            } else {
                assert!(
                    matches!(status, 401 | 403),
                    "{what} as nobody answers {status}"
                );
            }
            if is_api {
                assert_eq!(status, 401, "{what} as nobody on the API");
            }
            assert_nothing_of_a(
                response,
                &format!("{what} as nobody"),
                &a.alice.employee.email,
            )
            .await;

            // An administrator of shop B with a valid session and CSRF token: past every
            // gate but the shop's (signing out would only end the walk's own session).
            if path == "/sign-out" {
                continue;
            }
            let mut request = as_bob
                .request(method.clone(), &url)
                .header("x-csrf-token", &bob_csrf);
            request = if is_api {
                request.json(&json_of(&fields))
            } else {
                request.form(&fields)
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            assert!(status < 500, "{what} as shop B answers {status}");
            assert_nothing_of_a(
                response,
                &format!("{what} as shop B"),
                &a.alice.employee.email,
            )
            .await;

            // The same employee of shop B with an API token.
            let response = web
                .client()
                .request(method.clone(), &url)
                .bearer_auth(&bob_token)
                .json(&json_of(&fields))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(status < 500, "{what} with shop B's token answers {status}");
            assert_nothing_of_a(
                response,
                &format!("{what} with shop B's token"),
                &a.alice.employee.email,
            )
            .await;
            walked += 1;
        }
    }
    assert!(walked >= table.len() / 2, "walked {walked} paths");

    // Nothing of shop A changed: its ticket, its employee's password and token.
    let after = web.desk.ticket(&a.alice.shop, a.number).await.unwrap();
    assert_eq!(after.ticket.status, before.ticket.status);
    assert_eq!(after.ticket.assignee, before.ticket.assignee);
    assert_eq!(after.messages.len(), before.messages.len());
    assert_eq!(after.replies.len(), before.replies.len());
    let alice_now = web
        .desk
        .employee(&a.alice.shop, a.alice.employee.id)
        .await
        .unwrap();
    assert_eq!(
        (alice_now.name, alice_now.lang, alice_now.role),
        (
            a.alice.employee.name.clone(),
            a.alice.employee.lang,
            a.alice.employee.role
        )
    );
    assert_eq!(
        web.desk.api_tokens(&a.alice.employee).await.unwrap().len(),
        1
    );
    assert_eq!(web.desk.employees(&a.alice.shop).await.unwrap().len(), 1);
    web.signed_in(&a.alice).await;
}

async fn state_changes_need_the_csrf_token(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let a = shop_a(&web).await;
    let (as_alice, csrf) = web.signed_in(&a.alice).await;
    let values = |param: &str| match param {
        "number" => vec![a.number.to_string()],
        "file" => vec!["app.js".to_string()],
        _ => vec![a.alice.employee.id.to_string()],
    };
    let fields = hostile_fields(a.number, a.alice.employee.id);
    let mut checked = 0;
    for route in route_table() {
        if route.access == Access::Public || route.method == Method::GET {
            continue;
        }
        for path in concrete_paths(route.path, &values) {
            let what = format!("{} {path}", route.method);
            let url = web.url(&path);
            let method = method_of(&route);
            let missing = as_alice
                .request(method.clone(), &url)
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(missing.status(), 403, "{what} without the token");
            let wrong = as_alice
                .request(method.clone(), &url)
                .header("x-csrf-token", "0".repeat(csrf.len()))
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(wrong.status(), 403, "{what} with a wrong token");
            let mut with_wrong_field = fields.clone();
            with_wrong_field.push(("csrf".into(), "1".repeat(csrf.len())));
            let wrong_field = as_alice
                .request(method.clone(), &url)
                .form(&with_wrong_field)
                .send()
                .await
                .unwrap();
            assert_eq!(wrong_field.status(), 403, "{what} with a wrong csrf field");
            let cross_site = as_alice
                .request(method.clone(), &url)
                .header("x-csrf-token", &csrf)
                .header("sec-fetch-site", "cross-site")
                .header("origin", "http://evil.example")
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(cross_site.status(), 403, "{what} from another site");
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "sign-out and more are state changes: {checked}"
    );
    // None of it happened.
    let after = web.desk.ticket(&a.alice.shop, a.number).await.unwrap();
    assert_eq!(after.ticket.status, guichet::model::Status::Open);
    assert_eq!(
        as_alice
            .get(web.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still signed in"
    );
}

async fn sign_in_is_throttled_over_http(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web.employee("shop-a", "alice@shop-a.example", false).await;
    let client = web.client();
    let attempt = |password: String| {
        let client = client.clone();
        let url = web.url("/sign-in");
        let email = alice.employee.email.clone();
        async move {
            client
                .post(url)
                .form(&[("email", email), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    };
    for n in 0..5 {
        let refused = attempt(format!("wrong password {n}")).await;
        assert_eq!(refused.status(), 401, "attempt {n}");
        assert!(refused.headers().get("set-cookie").is_none());
    }
    let throttled = attempt(alice.password.clone()).await;
    assert_eq!(throttled.status(), 429, "the right password waits too");
    assert!(throttled.headers().get("set-cookie").is_none());
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    let page = throttled.text().await.unwrap();
    assert!(page.contains("Too many failed sign-ins"), "{page}");
}

async fn the_session_cookie_is_locked_down(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let alice = web.employee("shop-a", "alice@shop-a.example", false).await;
    let sign_in = |https: bool| {
        let mut request = web.client().post(web.url("/sign-in")).form(&[
            ("email", alice.employee.email.as_str()),
            ("password", alice.password.as_str()),
        ]);
        if https {
            request = request.header("x-forwarded-proto", "https");
        }
        request.send()
    };
    for https in [false, true] {
        let response = sign_in(https).await.unwrap();
        assert_eq!(response.status(), 303);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
        assert!(attributes.contains(&"HttpOnly"), "{cookie}");
        assert!(attributes.contains(&"SameSite=Strict"), "{cookie}");
        assert!(attributes.contains(&"Path=/"), "{cookie}");
        assert!(
            attributes
                .iter()
                .any(|a| a.strip_prefix("Max-Age=").is_some_and(|s| s == "604800")),
            "kept no longer than the session lives: {cookie}"
        );
        assert_eq!(attributes.contains(&"Secure"), https, "{cookie}");
        let value = attributes[0].split_once('=').unwrap().1;
        assert!(value.len() >= 64, "{cookie}");
    }
}

web_tests!(every_route_gives_nothing_to_strangers => route_walk_sqlite, route_walk_postgres);
web_tests!(state_changes_need_the_csrf_token => csrf_everywhere_sqlite, csrf_everywhere_postgres);
web_tests!(sign_in_is_throttled_over_http => http_throttling_sqlite, http_throttling_postgres);
web_tests!(the_session_cookie_is_locked_down => cookie_flags_sqlite, cookie_flags_postgres);
