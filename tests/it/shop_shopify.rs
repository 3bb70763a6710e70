//! The Shopify connector, opened as Guichet opens it (`open_platform`), against a local server
//! answering as Shopify documents its Admin GraphQL API (`support::fakes::shopify`).

use std::time::{Duration, Instant};

use guichet::model::UiLang;
use guichet::shop::OrderStatus;
use guichet::shop::connector::{
    ConnectorOptions, ConnectorSecrets, ConnectorSettings, ShopifySettings, open_platform,
};
use guichet::shop::platform::{
    Platform, ShopError, ShopPlatform, ShopWarning, WebhookDelivery, WebhookEvent, WebhookRefusal,
};
use mail_parser::MessageParser;
use secrecy::SecretString;

use crate::answering::shop_with_answers;
use crate::outbound::wait_for_messages;
use crate::support::cli::{
    assert_success, guichet, sync_once, ticket_shown, tickets_list, with_stdin,
};
use crate::support::fakes::shopify::{
    FakeCustomer, FakeOrder, FakeShipment, FakeShopify, days_ago, sign, webhook_headers,
};
use crate::support::web::{TestWeb, web_tests};
use crate::support::{Dialect, MailServer, TestMailbox};

const TOKEN: &str = "shpat_0123456789abcdef0123456789abcdef";
const CLIENT_ID: &str = "8f2c1a9e4b7d";
const CLIENT_SECRET: &str = "shpss_secret_of_the_app_5e6f7a8b";
const WEBHOOK_SECRET: &str = "whsec_signing_key_for_deliveries";

fn secret(text: &str) -> Option<SecretString> {
    Some(SecretString::from(text.to_string()))
}

fn settings(fake: &FakeShopify, client_id: Option<&str>) -> ConnectorSettings {
    ConnectorSettings::Shopify(ShopifySettings {
        store_url: fake.url.clone(),
        api_version: "2025-10".into(),
        client_id: client_id.map(str::to_string),
    })
}

fn open(
    settings: &ConnectorSettings,
    secrets: &ConnectorSecrets,
    options: ConnectorOptions,
) -> Box<dyn ShopPlatform> {
    open_platform(settings, secrets, options)
        .expect("the connector opens")
        .expect("Shopify has a client")
}

/// A custom app's static token.
fn with_token(fake: &FakeShopify, token: &str) -> Box<dyn ShopPlatform> {
    let secrets = ConnectorSecrets {
        access_token: secret(token),
        webhook_secret: secret(WEBHOOK_SECRET),
        ..Default::default()
    };
    open(&settings(fake, None), &secrets, ConnectorOptions::default())
}

/// A current app using the client-credentials grant.
fn with_grant(fake: &FakeShopify, client_secret: &str) -> Box<dyn ShopPlatform> {
    let secrets = ConnectorSecrets {
        client_secret: secret(client_secret),
        ..Default::default()
    };
    open(
        &settings(fake, Some(CLIENT_ID)),
        &secrets,
        ConnectorOptions::default(),
    )
}

fn marie() -> FakeCustomer {
    FakeCustomer {
        number_of_orders: 2,
        amount_spent: "99.80".into(),
        ..FakeCustomer::new(501, "marie@client.example", "Marie", "Curie")
    }
}

fn paul() -> FakeCustomer {
    FakeCustomer::new(502, "paul@client.example", "Paul", "Langevin")
}

/// A store where Marie has two orders (#1042 on its way, #1041 paid) and Paul one.
async fn store() -> FakeShopify {
    let fake = FakeShopify::start().await;
    fake.accept_token(TOKEN);
    fake.add_customer(marie());
    fake.add_customer(paul());
    fake.add_order(FakeOrder::paid(9041, "#1041", &marie(), &days_ago(10)));
    fake.add_order(FakeOrder::shipped(9042, "#1042", &marie(), "6A12345678901"));
    fake.add_order(FakeOrder::paid(9050, "#1050", &paul(), &days_ago(5)));
    fake
}

/// No secret in any rendering of the error: its text, its debug form, both languages.
fn assert_no_secret(error: &ShopError, secrets: &[&str]) {
    let renderings = [
        error.to_string(),
        format!("{error:?}"),
        error.explain(UiLang::En),
        error.explain(UiLang::Fr),
    ];
    for text in &renderings {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret in {text:?}");
        }
    }
}

#[tokio::test]
async fn a_customer_and_their_orders_come_in_one_request() {
    let fake = store().await;
    let shopify = with_token(&fake, TOKEN);
    let record = shopify.customer("Marie@Client.example").await.unwrap();
    assert_eq!(fake.graphql_requests(), 1, "one GraphQL query");

    let customer = record.customer.expect("Marie is a customer");
    assert_eq!(customer.email, "marie@client.example");
    assert_eq!(customer.first_name.as_deref(), Some("Marie"));
    assert_eq!(customer.orders_count, Some(2));
    assert_eq!(customer.total_spent.unwrap().decimal(), "99.80");
    assert!(customer.customer_since.is_some());

    let references: Vec<&str> = record.orders.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(references, ["#1042", "#1041"], "newest first, only hers");
    let shipped = &record.orders[0];
    assert_eq!(shipped.status, OrderStatus::Shipped);
    assert_eq!(shipped.raw_status.as_deref(), Some("PAID / FULFILLED"));
    assert_eq!(shipped.carrier.as_deref(), Some("Colissimo"));
    assert_eq!(shipped.tracking_number.as_deref(), Some("6A12345678901"));
    assert_eq!(
        shipped.tracking_url().as_deref(),
        Some("https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901")
    );
    assert_eq!(shipped.items[0].name, "Mug bleu");
    assert_eq!(shipped.total.as_ref().unwrap().minor, 4990);
    assert_eq!(record.orders[1].status, OrderStatus::Paid);

    let nobody = shopify.customer("nobody@client.example").await.unwrap();
    assert_eq!(nobody.customer, None);
    assert!(nobody.orders.is_empty());
}

#[tokio::test]
async fn a_long_order_history_is_read_page_by_page() {
    let fake = store().await;
    for n in 0..5u64 {
        fake.add_order(FakeOrder::paid(
            9100 + n,
            &format!("#11{n:02}"),
            &marie(),
            &days_ago(20 + n as i64),
        ));
    }
    fake.set_page_size(2);
    let shopify = with_token(&fake, TOKEN);
    let record = shopify.customer("marie@client.example").await.unwrap();
    let references: Vec<&str> = record.orders.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(
        references,
        [
            "#1042", "#1041", "#1100", "#1101", "#1102", "#1103", "#1104"
        ],
        "every page, in order"
    );
    assert_eq!(
        fake.graphql_requests(),
        4,
        "the customer, then three more pages"
    );
}

#[tokio::test]
async fn an_order_by_its_name_or_its_id_whoever_placed_it() {
    let fake = store().await;
    let shopify = with_token(&fake, TOKEN);
    for written in ["1042", "#1042", " #1042 "] {
        let order = shopify.order(written).await.unwrap().expect(written);
        assert_eq!(order.reference, "#1042");
        assert_eq!(order.customer_email, "marie@client.example");
    }
    let pauls = shopify.order("1050").await.unwrap().unwrap();
    assert_eq!(
        pauls.customer_email, "paul@client.example",
        "the caller checks the owner"
    );
    assert_eq!(shopify.order("9999").await.unwrap(), None);
    assert_eq!(shopify.order("\"; drop").await.unwrap(), None);

    let by_id = shopify
        .order_by_platform_id("gid://shopify/Order/9042")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.reference, "#1042");
    assert_eq!(
        by_id.platform_id.as_deref(),
        Some("gid://shopify/Order/9042")
    );
    let by_number = shopify.order_by_platform_id("9042").await.unwrap().unwrap();
    assert_eq!(by_number.reference, "#1042");
    assert_eq!(shopify.order_by_platform_id("9999").await.unwrap(), None);
    assert!(
        shopify.changed_since(0).await.unwrap().is_empty(),
        "webhooks instead"
    );
}

#[tokio::test]
async fn the_cost_bucket_is_given_the_time_it_needs() {
    let fake = store().await;
    let shopify = with_token(&fake, TOKEN);
    // Empty, refilling 250 points a second: a 50-point query can run in 0.2 s.
    fake.drain_bucket(250.0);
    let started = Instant::now();
    let record = shopify.customer("marie@client.example").await.unwrap();
    assert_eq!(record.orders.len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        fake.throttled_answers(),
        1,
        "retried once the bucket could pay, not before"
    );
    assert_eq!(fake.graphql_requests(), 2);

    // A bucket that needs longer than the question may wait: said, not waited.
    fake.drain_bucket(1.0);
    let started = Instant::now();
    let error = shopify.customer("marie@client.example").await.unwrap_err();
    assert_eq!(
        error,
        ShopError::Throttled {
            platform: Platform::Shopify,
            retry_after_secs: Some(50)
        }
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn http_429_is_waited_out_as_retry_after_asks() {
    let fake = store().await;
    let shopify = with_token(&fake, TOKEN);
    fake.throttle_http(1, "0.5");
    let started = Instant::now();
    let order = shopify.order("1042").await.unwrap();
    assert!(order.is_some());
    assert!(started.elapsed() >= Duration::from_millis(490));
    assert_eq!(fake.graphql_requests(), 2);

    fake.throttle_http(10, "30");
    let started = Instant::now();
    let error = shopify.order("1042").await.unwrap_err();
    assert_eq!(
        error,
        ShopError::Throttled {
            platform: Platform::Shopify,
            retry_after_secs: Some(30)
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not waited past the bound"
    );
}

#[tokio::test]
async fn an_invalid_static_token_is_refused_in_shopifys_words() {
    let fake = store().await;
    let wrong = "shpat_ffffffffffffffffffffffffffffffff";
    let shopify = with_token(&fake, wrong);
    let error = shopify.customer("marie@client.example").await.unwrap_err();
    let ShopError::Unauthorized { detail, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        detail.contains("Invalid API key or access token"),
        "{detail}"
    );
    assert_no_secret(&error, &[wrong, WEBHOOK_SECRET]);
    assert!(matches!(
        shopify.check().await,
        Err(ShopError::Unauthorized { .. })
    ));
    assert_eq!(
        fake.token_requests(),
        0,
        "a static token is never exchanged"
    );
}

#[tokio::test]
async fn an_expired_granted_token_is_renewed_once() {
    let fake = store().await;
    fake.install_app(CLIENT_ID, CLIENT_SECRET);
    let shopify = with_grant(&fake, CLIENT_SECRET);
    assert!(shopify.order("1042").await.unwrap().is_some());
    assert!(shopify.order("1041").await.unwrap().is_some());
    assert_eq!(
        fake.token_requests(),
        1,
        "the token is kept between questions"
    );

    fake.expire_granted_tokens();
    assert!(shopify.order("1042").await.unwrap().is_some());
    assert_eq!(fake.unauthorized_answers(), 1);
    assert_eq!(fake.token_requests(), 2, "renewed once after the 401");

    // The app's secret rotated: the renewal is refused, and said so without the secret.
    fake.expire_granted_tokens();
    fake.install_app(CLIENT_ID, "shpss_the_new_secret");
    let error = shopify.order("1042").await.unwrap_err();
    let ShopError::Unauthorized { detail, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("Client authentication failed"), "{detail}");
    assert_no_secret(&error, &[CLIENT_SECRET]);
    assert_eq!(fake.token_requests(), 3, "one renewal, not a loop");
}

#[tokio::test]
async fn a_granted_token_is_renewed_shortly_before_it_expires() {
    let fake = store().await;
    fake.install_app(CLIENT_ID, CLIENT_SECRET);
    fake.set_token_lifetime(1);
    let shopify = with_grant(&fake, CLIENT_SECRET);
    assert!(shopify.order("1042").await.unwrap().is_some());
    // Time for the token's life to run out: what is tested is the passing of time.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(shopify.order("1042").await.unwrap().is_some());
    assert_eq!(fake.token_requests(), 2);
    assert_eq!(
        fake.unauthorized_answers(),
        0,
        "renewed before, not after a refusal"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused() {
    let fake = store().await;
    fake.install_app(CLIENT_ID, CLIENT_SECRET);
    let wrong = "shpss_not_the_secret_at_all_1234";
    let shopify = with_grant(&fake, wrong);
    let error = shopify.customer("marie@client.example").await.unwrap_err();
    assert!(matches!(error, ShopError::Unauthorized { .. }), "{error:?}");
    assert_no_secret(&error, &[wrong, CLIENT_SECRET]);
    assert_eq!(fake.graphql_requests(), 0, "no query without a token");
}

#[tokio::test]
async fn a_missing_scope_is_named() {
    let fake = store().await;
    let shopify = with_token(&fake, TOKEN);
    fake.set_scopes(&["read_orders"]);
    assert_eq!(
        shopify.customer("marie@client.example").await.unwrap_err(),
        ShopError::MissingScope {
            platform: Platform::Shopify,
            scope: "read_customers".into()
        }
    );
    assert!(
        shopify.order("1042").await.unwrap().is_some(),
        "an order by its reference needs only read_orders"
    );
    fake.set_scopes(&["read_customers"]);
    assert_eq!(
        shopify.order("1042").await.unwrap_err(),
        ShopError::MissingScope {
            platform: Platform::Shopify,
            scope: "read_orders".into()
        }
    );
    let report = shopify.check().await.unwrap();
    assert!(report.warnings.contains(&ShopWarning::MissingScope {
        scope: "read_orders".into()
    }));
}

#[tokio::test]
async fn check_names_the_shop_and_warns_that_old_orders_are_hidden() {
    let fake = store().await;
    fake.add_order(FakeOrder::paid(9001, "#1001", &marie(), &days_ago(90)));
    let shopify = with_token(&fake, TOKEN);
    let report = shopify.check().await.unwrap();
    assert_eq!(report.shop_name.as_deref(), Some("Boutique Marie"));
    assert_eq!(report.warnings, vec![]);
    assert!(shopify.order("1001").await.unwrap().is_some());

    fake.set_scopes(&["read_orders", "read_customers"]);
    let report = shopify.check().await.unwrap();
    assert_eq!(report.warnings, vec![ShopWarning::OldOrdersHidden]);
    assert!(
        ShopWarning::OldOrdersHidden
            .explain(UiLang::En)
            .contains("60")
    );
    assert_eq!(
        shopify.order("1001").await.unwrap(),
        None,
        "what the warning is about"
    );
}

#[tokio::test]
async fn a_shop_that_never_answers_times_out_quickly() {
    let fake = store().await;
    fake.hang();
    let secrets = ConnectorSecrets {
        access_token: secret(TOKEN),
        ..Default::default()
    };
    let options = ConnectorOptions {
        timeout: Duration::from_millis(300),
        ..ConnectorOptions::default()
    };
    let shopify = open(&settings(&fake, None), &secrets, options);
    let started = Instant::now();
    let error = shopify.customer("marie@client.example").await.unwrap_err();
    assert!(matches!(error, ShopError::TimedOut { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.graphql_requests(), 1, "the request did arrive");
    assert_no_secret(&error, &[TOKEN]);
}

#[tokio::test]
async fn malformed_answers_are_errors_not_panics() {
    let bodies = [
        "<html><body>Service unavailable</body></html>",
        r#"{"data":{"customers":{"nodes":[{"id":5}]}}"#,
        r#"{"data":{"customers":{"nodes":[{"id":"gid://shopify/Customer/1","orders":"none"}]}}}"#,
        r#"{"data":null}"#,
        "[]",
        "",
    ];
    for body in bodies {
        let fake = store().await;
        fake.answer_malformed(body);
        let shopify = with_token(&fake, TOKEN);
        let error = shopify.customer("marie@client.example").await.unwrap_err();
        assert!(
            matches!(error, ShopError::Malformed { .. }),
            "{body}: {error:?}"
        );
        assert!(matches!(
            shopify.order("1042").await,
            Err(ShopError::Malformed { .. })
        ));
    }
}

#[tokio::test]
async fn addresses_and_credentials_are_checked_when_opening() {
    let secrets = ConnectorSecrets {
        access_token: secret(TOKEN),
        ..Default::default()
    };
    let plain = ConnectorSettings::Shopify(ShopifySettings {
        store_url: "http://boutique.myshopify.com".into(),
        api_version: "2025-10".into(),
        client_id: None,
    });
    assert!(matches!(
        open_platform(&plain, &secrets, ConnectorOptions::default()),
        Err(ShopError::BadUrl { .. })
    ));
    let fake = FakeShopify::start().await;
    assert!(matches!(
        open_platform(
            &settings(&fake, None),
            &ConnectorSecrets::default(),
            ConnectorOptions::default()
        ),
        Err(ShopError::Unauthorized { .. })
    ));
    assert!(matches!(
        open_platform(
            &settings(&fake, Some(CLIENT_ID)),
            &secrets,
            ConnectorOptions::default()
        ),
        Err(ShopError::Unauthorized { .. })
    ));
}

fn delivery(topic: &str, id: &str, body: &str, signature: Option<String>) -> WebhookDelivery {
    WebhookDelivery {
        headers: webhook_headers(topic, id, signature.as_deref()),
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn a_signed_order_update_carries_the_order() {
    let fake = store().await;
    let shopify = with_token(&fake, TOKEN);
    let mut order = FakeOrder::shipped(9042, "#1042", &marie(), "6A12345678901");
    order.shipments[0].display_status = "DELIVERED".into();
    let body = order.rest_json();
    let event = shopify
        .webhook(&delivery(
            "orders/updated",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            &body,
            Some(sign(WEBHOOK_SECRET, body.as_bytes())),
        ))
        .unwrap();
    let WebhookEvent::Order { delivery_id, order } = event else {
        panic!("{event:?}");
    };
    assert_eq!(delivery_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    assert_eq!(order.reference, "#1042");
    assert_eq!(order.customer_email, "marie@client.example");
    assert_eq!(order.status, OrderStatus::Delivered);
    assert_eq!(
        order.platform_id.as_deref(),
        Some("gid://shopify/Order/9042")
    );
    assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));

    let fulfillment = r#"{"id":255858046,"order_id":9042,"status":"success",
        "tracking_company":"Colissimo","tracking_number":"6A12345678901"}"#;
    assert_eq!(
        shopify
            .webhook(&delivery(
                "fulfillments/create",
                "d-2",
                fulfillment,
                Some(sign(WEBHOOK_SECRET, fulfillment.as_bytes()))
            ))
            .unwrap(),
        WebhookEvent::FetchOrder {
            delivery_id: "d-2".into(),
            platform_id: "gid://shopify/Order/9042".into()
        }
    );
    let product = r#"{"id":1,"title":"Mug"}"#;
    assert_eq!(
        shopify
            .webhook(&delivery(
                "products/update",
                "d-3",
                product,
                Some(sign(WEBHOOK_SECRET, product.as_bytes()))
            ))
            .unwrap(),
        WebhookEvent::Ignored {
            delivery_id: "d-3".into(),
            topic: "products/update".into()
        }
    );
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_refused() {
    let fake = store().await;
    let shopify = with_token(&fake, TOKEN);
    let body = FakeOrder::shipped(9042, "#1042", &marie(), "6A12345678901").rest_json();
    let refused = |signature: Option<String>, body: &str| {
        shopify
            .webhook(&delivery("orders/updated", "d-1", body, signature))
            .unwrap_err()
    };
    assert_eq!(refused(None, &body), WebhookRefusal::Unsigned);
    assert_eq!(
        refused(Some(sign("another secret", body.as_bytes())), &body),
        WebhookRefusal::BadSignature
    );
    assert_eq!(
        refused(Some("not base64 at all!".into()), &body),
        WebhookRefusal::BadSignature
    );
    let tampered = body
        .replace("\"PAID\"", "\"REFUNDED\"")
        .replace("paid", "refunded");
    assert_eq!(
        refused(Some(sign(WEBHOOK_SECRET, body.as_bytes())), &tampered),
        WebhookRefusal::BadSignature,
        "the signature covers the exact body"
    );
    let garbage = "{not json";
    assert!(matches!(
        refused(Some(sign(WEBHOOK_SECRET, garbage.as_bytes())), garbage),
        WebhookRefusal::Malformed(_)
    ));
}

#[tokio::test]
async fn without_a_webhook_secret_the_apps_secret_signs() {
    let fake = store().await;
    fake.install_app(CLIENT_ID, CLIENT_SECRET);
    let shopify = with_grant(&fake, CLIENT_SECRET);
    let body = FakeOrder::shipped(9042, "#1042", &marie(), "6A12345678901").rest_json();
    let signed = delivery(
        "orders/updated",
        "d-1",
        &body,
        Some(sign(CLIENT_SECRET, body.as_bytes())),
    );
    assert!(matches!(
        shopify.webhook(&signed),
        Ok(WebhookEvent::Order { .. })
    ));

    let token_only = open(
        &settings(&fake, None),
        &ConnectorSecrets {
            access_token: secret(TOKEN),
            ..Default::default()
        },
        ConnectorOptions::default(),
    );
    assert_eq!(
        token_only.webhook(&signed).unwrap_err(),
        WebhookRefusal::NoSecret
    );
}

// ---------------------------------------------------------------------------------------------
// End to end: the desk, its route and its automatic answers, with Shopify as the shop's platform.

/// `POST /webhooks/shopify/boutique` as Shopify would call it.
async fn deliver(
    web: &TestWeb,
    topic: &str,
    delivery_id: &str,
    body: &str,
    signature: Option<String>,
) -> (u16, serde_json::Value) {
    let mut request = web
        .client()
        .post(web.url("/webhooks/shopify/boutique"))
        .body(body.to_string());
    for (name, value) in webhook_headers(topic, delivery_id, signature.as_deref()) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn webhooks_through_the_route(dialect: Dialect) {
    let fake = store().await;
    let web = TestWeb::start(dialect).await;
    let shop = web
        .employee("boutique", "admin@boutique.example", true)
        .await
        .shop;
    let secrets = ConnectorSecrets {
        access_token: secret(TOKEN),
        webhook_secret: secret(WEBHOOK_SECRET),
        ..Default::default()
    };
    web.desk
        .connect_shop(&shop, &settings(&fake, None), &secrets)
        .await
        .unwrap();
    let stored = || async {
        web.desk
            .store
            .order_by_reference(shop.id, "#1042")
            .await
            .unwrap()
    };

    let mut order = FakeOrder::shipped(9042, "#1042", &marie(), "6A12345678901");
    let shipped = order.rest_json();
    let (status, said) = deliver(
        &web,
        "orders/updated",
        "delivery-1",
        &shipped,
        Some(sign(WEBHOOK_SECRET, shipped.as_bytes())),
    )
    .await;
    assert_eq!(
        (status, said["outcome"].as_str()),
        (200, Some("applied")),
        "{said}"
    );
    let first = stored().await.expect("the order is stored");
    assert_eq!(first.status, OrderStatus::Shipped);
    assert_eq!(first.tracking_number.as_deref(), Some("6A12345678901"));

    // Delivered, but signed with another key, or not signed: refused, nothing changed.
    order.shipments[0].display_status = "DELIVERED".into();
    order.updated_at = days_ago(0);
    let delivered = order.rest_json();
    for signature in [Some(sign("not the secret", delivered.as_bytes())), None] {
        let (status, _) =
            deliver(&web, "orders/updated", "delivery-2", &delivered, signature).await;
        assert_eq!(status, 401);
        assert_eq!(stored().await.unwrap(), first, "nothing changed");
    }

    // Signed: applied; delivered again (Shopify retries): applied once.
    let signed = Some(sign(WEBHOOK_SECRET, delivered.as_bytes()));
    let (status, said) = deliver(
        &web,
        "orders/updated",
        "delivery-2",
        &delivered,
        signed.clone(),
    )
    .await;
    assert_eq!(
        (status, said["outcome"].as_str()),
        (200, Some("applied")),
        "{said}"
    );
    assert_eq!(stored().await.unwrap().status, OrderStatus::Delivered);
    let (status, said) = deliver(&web, "orders/updated", "delivery-2", &delivered, signed).await;
    assert_eq!(
        (status, said["outcome"].as_str()),
        (200, Some("already_applied")),
        "{said}"
    );

    // A new shipment names the order: fetched from Shopify by its id.
    let mut reshipped = order.clone();
    reshipped.updated_at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    reshipped.shipments.push(FakeShipment {
        display_status: "IN_TRANSIT".into(),
        created_at: reshipped.updated_at.clone(),
        company: Some("Chronopost".into()),
        number: Some("XY123456789FR".into()),
        url: Some(
            "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT=XY123456789FR"
                .into(),
        ),
    });
    reshipped.fulfillment = "FULFILLED".into();
    fake.update_order(reshipped);
    let before = fake.graphql_requests();
    let fulfillment = r#"{"id":255858047,"order_id":9042,"status":"success"}"#;
    let (status, said) = deliver(
        &web,
        "fulfillments/create",
        "delivery-3",
        fulfillment,
        Some(sign(WEBHOOK_SECRET, fulfillment.as_bytes())),
    )
    .await;
    assert_eq!(
        (status, said["outcome"].as_str()),
        (200, Some("applied")),
        "{said}"
    );
    assert_eq!(
        fake.graphql_requests(),
        before + 1,
        "the order asked for by its id"
    );
    assert_eq!(
        stored().await.unwrap().tracking_number.as_deref(),
        Some("XY123456789FR")
    );
}

web_tests!(webhooks_through_the_route => shopify_webhooks_sqlite, shopify_webhooks_postgres);

#[tokio::test(flavor = "multi_thread")]
async fn where_is_1042_is_answered_from_shopify_and_only_to_its_customer() {
    let server = MailServer::shared();
    let dir = tempfile::tempdir().unwrap();
    let shop_box = shop_with_answers(server, dir.path(), "0s");
    let marie_box = server.new_mailbox("marie");
    let paul_box = server.new_mailbox("paul");

    let fake = FakeShopify::start().await;
    fake.accept_token(TOKEN);
    let marie = FakeCustomer {
        email: marie_box.email.clone(),
        ..marie()
    };
    fake.add_customer(marie.clone());
    fake.add_customer(FakeCustomer {
        email: paul_box.email.clone(),
        ..paul()
    });
    fake.add_order(FakeOrder::shipped(9042, "#1042", &marie, "6A12345678901"));
    let connected = with_stdin(
        guichet(
            dir.path(),
            &[
                "shop",
                "connect",
                "boutique",
                "shopify",
                "--store-url",
                &fake.url,
                "--token-stdin",
            ],
        ),
        format!("{TOKEN}\n").as_bytes(),
    );
    assert_success(&connected);

    let asks = |mailbox: &TestMailbox, name: &str, id: &str| {
        server.append_mail(
            &shop_box,
            &format!("{name} <{}>", mailbox.email),
            "Où est ma commande ?",
            "Bonjour,\r\nma commande #1042 n'est toujours pas arrivée, pouvez-vous me dire où \
             elle en est ?\r\nMerci",
            id,
        );
    };
    asks(&marie_box, "Marie Curie", "where-1@client.example");
    sync_once(dir.path());
    let received = wait_for_messages(server, &marie_box, "INBOX", 1).await;
    let answer = MessageParser::default().parse(&received[0]).unwrap();
    let text = answer.body_text(0).unwrap().to_string();
    assert!(text.contains("#1042"), "{text}");
    assert!(text.contains("expédiée"), "the live status: {text}");
    assert!(text.contains("6A12345678901"), "{text}");
    assert!(
        text.contains("https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"),
        "Shopify's own tracking link: {text}"
    );
    let asked = fake.graphql_requests();
    assert!(asked >= 1, "the data came from Shopify");

    // Paul quotes the same number: Shopify is asked, the order is not his, he learns nothing.
    asks(&paul_box, "Paul Langevin", "where-2@client.example");
    sync_once(dir.path());
    assert!(fake.graphql_requests() > asked, "Paul's data was asked for");
    let tickets = tickets_list(dir.path());
    let pauls = tickets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t.to_string().contains(&paul_box.email))
        .expect("Paul's ticket")["number"]
        .as_i64()
        .unwrap()
        .to_string();
    let show = ticket_shown(dir.path(), &pauls);
    let decision = &show["messages"][0]["decision"];
    assert!(decision.is_object(), "Paul's message was decided: {show}");
    let shown = show.to_string();
    assert!(!shown.contains("6A12345678901"), "{shown}");
    assert!(!shown.contains("9042"), "{shown}");
    if decision["decision"] == "answer" {
        let received = wait_for_messages(server, &paul_box, "INBOX", 1).await;
        let text = String::from_utf8_lossy(&received[0]).to_string();
        assert!(!text.contains("6A12345678901"), "{text}");
        assert!(!text.contains("expédiée"), "{text}");
    }
}
