//! The WooCommerce connector, opened as Guichet opens it (`open_platform`), against a local
//! server answering as WooCommerce's REST API v3 documents (`support::fakes::woocommerce`);
//! then end to end: a customer's question answered by mail from the store's live data, and
//! webhook deliveries through the real route.

use std::time::{Duration, Instant};

use guichet::model::UiLang;
use guichet::shop::OrderStatus;
use guichet::shop::connector::{
    ConnectorOptions, ConnectorSecrets, ConnectorSettings, WOOCOMMERCE_TRACKING_META,
    WooCommerceSettings, open_platform,
};
use guichet::shop::platform::{ShopError, ShopPlatform, ShopWarning, WebhookEvent, WebhookRefusal};
use mail_parser::MessageParser;
use secrecy::SecretString;

use crate::answering::{replies, shop_with_answers};
use crate::outbound::wait_for_messages;
use crate::support::MailServer;
use crate::support::cli::{
    guichet, sync_once, ticket_shown, ticket_with_subject, tickets_list, with_stdin,
};
use crate::support::fakes::woocommerce::{
    CONSUMER_KEY, CONSUMER_SECRET, FakeCustomer, FakeOrder, FakeShipment, FakeWooCommerce, Garbage,
    KeyAccess, WEBHOOK_SECRET,
};
use crate::support::web::{TestWeb, web_tests};

fn settings(url: &str) -> ConnectorSettings {
    ConnectorSettings::WooCommerce(WooCommerceSettings {
        store_url: url.to_string(),
        tracking_meta_key: WOOCOMMERCE_TRACKING_META.to_string(),
    })
}

fn secrets() -> ConnectorSecrets {
    ConnectorSecrets {
        consumer_key: Some(SecretString::from(CONSUMER_KEY)),
        consumer_secret: Some(SecretString::from(CONSUMER_SECRET)),
        webhook_secret: Some(SecretString::from(WEBHOOK_SECRET)),
        ..ConnectorSecrets::default()
    }
}

fn open_with(
    settings: &ConnectorSettings,
    secrets: &ConnectorSecrets,
    options: ConnectorOptions,
) -> Box<dyn ShopPlatform> {
    open_platform(settings, secrets, options)
        .expect("the connection opens")
        .expect("WooCommerce has a client")
}

fn client(fake: &FakeWooCommerce) -> Box<dyn ShopPlatform> {
    open_with(
        &settings(&fake.url),
        &secrets(),
        ConnectorOptions::default(),
    )
}

/// The error, and what a person reads of it in both languages, never hold the key or secret.
fn assert_no_secret(error: &ShopError) {
    for text in [
        error.to_string(),
        error.explain(UiLang::En),
        error.explain(UiLang::Fr),
        format!("{error:?}"),
    ] {
        assert!(!text.contains(CONSUMER_KEY), "{text}");
        assert!(!text.contains(CONSUMER_SECRET), "{text}");
        assert!(!text.contains(&CONSUMER_SECRET[3..]), "{text}");
    }
}

#[tokio::test]
async fn a_customer_and_every_page_of_their_orders() {
    let fake = FakeWooCommerce::start().await;
    fake.cap_page_size(2);
    fake.add_customer(FakeCustomer::new(
        26,
        "anne@client.example",
        "Anne",
        "Martin",
    ));
    fake.add_customer(FakeCustomer::new(
        27,
        "joanne@client.example",
        "Joanne",
        "Petit",
    ));
    for id in 1040..1045 {
        fake.add_order(FakeOrder::new(id, "Anne@Client.example", "completed"));
    }
    // The search for "anne@client.example" finds Joanne's orders too (LIKE '%…%').
    fake.add_order(FakeOrder::new(1050, "joanne@client.example", "processing"));
    fake.add_order(FakeOrder::new(1051, "paul@client.example", "processing"));

    let record = client(&fake).customer("anne@client.example").await.unwrap();
    let customer = record.customer.expect("Anne has an account");
    assert_eq!(customer.email, "anne@client.example");
    assert_eq!(customer.first_name.as_deref(), Some("Anne"));
    assert_eq!(customer.last_name.as_deref(), Some("Martin"));
    assert_eq!(customer.platform_id.as_deref(), Some("26"));
    assert_eq!(customer.customer_since, Some(1_711_048_274_000));
    let references: Vec<&str> = record.orders.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(
        references,
        ["1044", "1043", "1042", "1041", "1040"],
        "newest first, hers only"
    );
    assert!(
        record
            .orders
            .iter()
            .all(|o| o.customer_email == "anne@client.example")
    );

    // Six orders match the search, two a page: three pages, followed by their links.
    let order_requests: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /wp-json/wc/v3/orders"))
        .collect();
    assert_eq!(order_requests.len(), 3, "{order_requests:?}");
    assert!(order_requests[2].contains("page=3"), "{order_requests:?}");
    assert!(
        order_requests
            .iter()
            .all(|r| r.contains("search=anne%40client.example")),
        "{order_requests:?}"
    );
    assert_eq!(fake.request_count(), 4, "one customer lookup, three pages");
}

#[tokio::test]
async fn a_guest_checkout_has_orders_and_no_record() {
    let fake = FakeWooCommerce::start().await;
    fake.add_order(FakeOrder::new(1042, "guest@client.example", "on-hold"));
    let record = client(&fake)
        .customer("GUEST@client.example")
        .await
        .unwrap();
    assert_eq!(record.customer, None);
    assert_eq!(record.orders.len(), 1);
    assert_eq!(record.orders[0].status, OrderStatus::Pending);
    assert_eq!(record.orders[0].raw_status.as_deref(), Some("on-hold"));

    let nobody = client(&fake)
        .customer("nobody@client.example")
        .await
        .unwrap();
    assert_eq!(nobody.customer, None);
    assert!(nobody.orders.is_empty());
}

#[tokio::test]
async fn an_order_by_its_number_with_the_live_status_and_tracking() {
    let fake = FakeWooCommerce::start().await;
    fake.add_order(
        FakeOrder::new(1042, "marie@client.example", "completed")
            .shipped_with("colissimo", "6A12345678901"),
    );
    // A numbering plugin: order 3001 is shown to customers as 1050.
    let mut renumbered = FakeOrder::new(3001, "paul@client.example", "processing");
    renumbered.number = "1050".into();
    fake.add_order(renumbered);
    let shop = client(&fake);

    let order = shop.order("#1042").await.unwrap().expect("order 1042");
    assert_eq!(order.reference, "1042");
    assert_eq!(order.customer_email, "marie@client.example");
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.raw_status.as_deref(), Some("completed"));
    assert_eq!(order.carrier.as_deref(), Some("Colissimo"));
    assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
    assert!(order.tracking_url().unwrap().contains("laposte.fr"));
    assert_eq!(order.total.as_ref().map(|t| t.minor), Some(4990));
    assert_eq!(order.items[0].name, "Mug bleu");
    assert_eq!(order.items[0].quantity, 2);
    assert_eq!(
        fake.request_count(),
        1,
        "one request when the number is the id"
    );

    let renumbered = shop
        .order("1050")
        .await
        .unwrap()
        .expect("found by its number");
    assert_eq!(renumbered.reference, "1050");
    assert_eq!(renumbered.platform_id.as_deref(), Some("3001"));
    assert_eq!(
        shop.order("3001").await.unwrap(),
        None,
        "3001 is not its number"
    );
    assert_eq!(shop.order("9999").await.unwrap(), None);
    assert_eq!(shop.order("").await.unwrap(), None);

    let by_id = shop.order_by_platform_id("3001").await.unwrap().unwrap();
    assert_eq!(by_id.reference, "1050");
    assert_eq!(
        shop.order_by_platform_id("../customers").await.unwrap(),
        None
    );
    assert!(
        shop.changed_since(0).await.unwrap().is_empty(),
        "webhooks instead"
    );

    // The status is read live: the admin completes order 3001.
    fake.update_order(3001, |o| o.status = "refunded".into());
    let refunded = shop.order("1050").await.unwrap().unwrap();
    assert_eq!(refunded.status, OrderStatus::Refunded);
}

#[tokio::test]
async fn a_custom_carrier_and_a_configured_meta_key() {
    let fake = FakeWooCommerce::start().await;
    fake.set_tracking_meta_key("_boutique_suivi");
    let mut order = FakeOrder::new(1042, "marie@client.example", "processing");
    order.shipments.push(FakeShipment {
        provider: String::new(),
        custom_provider: "Transports Dupont".into(),
        custom_link: "https://suivi.dupont.example/XY778899".into(),
        number: "XY778899".into(),
        date_shipped: 1_795_000_000,
    });
    fake.add_order(order);

    let default_key = client(&fake).order("1042").await.unwrap().unwrap();
    assert_eq!(default_key.tracking_number, None);
    assert_eq!(default_key.status, OrderStatus::Processing);

    let configured = ConnectorSettings::WooCommerce(WooCommerceSettings {
        store_url: fake.url.clone(),
        tracking_meta_key: "_boutique_suivi".into(),
    });
    let shop = open_with(&configured, &secrets(), ConnectorOptions::default());
    let order = shop.order("1042").await.unwrap().unwrap();
    assert_eq!(
        order.status,
        OrderStatus::Shipped,
        "processing with a parcel"
    );
    assert_eq!(order.carrier.as_deref(), Some("Transports Dupont"));
    assert_eq!(
        order.tracking_url().as_deref(),
        Some("https://suivi.dupont.example/XY778899")
    );
}

#[tokio::test]
async fn throttling_is_waited_out_within_the_bound() {
    let fake = FakeWooCommerce::start().await;
    fake.add_order(FakeOrder::new(1042, "marie@client.example", "processing"));
    fake.throttle(2, "1");
    let started = Instant::now();
    let order = client(&fake).order("1042").await.unwrap();
    assert!(order.is_some());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited as asked"
    );
    assert_eq!(fake.request_count(), 3, "two refusals, then the answer");

    fake.throttle(10, "30");
    let started = Instant::now();
    let error = client(&fake).order("1042").await.unwrap_err();
    assert!(
        matches!(
            error,
            ShopError::Throttled {
                retry_after_secs: Some(30),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no 30 s wait over the bound"
    );
}

#[tokio::test]
async fn refused_credentials_say_which_refusal() {
    let fake = FakeWooCommerce::start().await;
    fake.add_order(FakeOrder::new(1042, "marie@client.example", "processing"));
    let shop = client(&fake);
    let report = shop.check().await.unwrap();
    assert_eq!(report.shop_name.as_deref(), Some("La Boutique & Cie"));
    assert!(report.warnings.is_empty());

    // A user who may read orders but not list users: the customers are said missing.
    fake.user_cannot_list_users();
    let report = shop.check().await.unwrap();
    assert!(matches!(
        report.warnings.as_slice(),
        [ShopWarning::MissingScope { scope }] if scope.contains("list_users")
    ));
    let record = shop.customer("marie@client.example").await.unwrap();
    assert_eq!(record.orders.len(), 1, "orders still come");

    fake.set_access(KeyAccess::Write);
    let error = shop.order("1042").await.unwrap_err();
    assert!(
        matches!(&error, ShopError::MissingScope { scope, .. } if scope == "read"),
        "{error:?}"
    );
    assert_no_secret(&error);
    fake.set_access(KeyAccess::ReadWrite);
    assert!(shop.order("1042").await.unwrap().is_some());

    fake.user_cannot_read_orders();
    let error = shop.customer("marie@client.example").await.unwrap_err();
    assert!(matches!(error, ShopError::MissingScope { .. }), "{error:?}");
    assert_no_secret(&error);

    fake.change_secret();
    let error = shop.check().await.unwrap_err();
    assert!(
        matches!(&error, ShopError::Unauthorized { detail, .. } if detail.contains("Consumer secret is invalid")),
        "{error:?}"
    );
    assert_no_secret(&error);

    // Revoked: the key itself is unknown now.
    fake.revoke_key();
    for error in [
        shop.order("1042").await.unwrap_err(),
        shop.customer("marie@client.example").await.unwrap_err(),
        shop.check().await.unwrap_err(),
    ] {
        assert!(
            matches!(&error, ShopError::Unauthorized { detail, .. } if detail.contains("Consumer key is invalid")),
            "{error:?}"
        );
        assert!(error.explain(UiLang::Fr).contains("WooCommerce"));
        assert_no_secret(&error);
    }
}

#[tokio::test]
async fn a_hanging_store_times_out_quickly() {
    let fake = FakeWooCommerce::start().await;
    fake.hang();
    let options = ConnectorOptions {
        timeout: Duration::from_millis(300),
        ..ConnectorOptions::default()
    };
    let shop = open_with(&settings(&fake.url), &secrets(), options);
    let started = Instant::now();
    let error = shop.order("1042").await.unwrap_err();
    assert!(matches!(error, ShopError::TimedOut { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.request_count(), 1, "the request did reach the store");
    assert_no_secret(&error);
}

#[tokio::test]
async fn malformed_answers_are_errors_never_panics() {
    let fake = FakeWooCommerce::start().await;
    fake.add_order(FakeOrder::new(1042, "marie@client.example", "processing"));
    let shop = client(&fake);
    for garbage in [
        Garbage::CriticalErrorPage,
        Garbage::HtmlWith200,
        Garbage::Truncated,
    ] {
        fake.send_garbage(Some(garbage));
        for error in [
            shop.order("1042").await.unwrap_err(),
            shop.customer("marie@client.example").await.unwrap_err(),
            shop.check().await.unwrap_err(),
        ] {
            assert!(
                matches!(error, ShopError::Malformed { .. }),
                "{garbage:?}: {error:?}"
            );
            assert_no_secret(&error);
        }
    }
    fake.send_garbage(None);
    assert!(shop.order("1042").await.unwrap().is_some(), "fine again");
}

#[tokio::test]
async fn a_site_without_woocommerce_is_said_so() {
    let fake = FakeWooCommerce::start().await;
    fake.deactivate_woocommerce();
    let shop = client(&fake);
    let error = shop.check().await.unwrap_err();
    assert!(
        matches!(&error, ShopError::Refused { status: 404, detail, .. } if detail.contains("WooCommerce is not active")),
        "{error:?}"
    );
    let error = shop.order("1042").await.unwrap_err();
    assert!(
        matches!(&error, ShopError::Refused { status: 404, detail, .. } if detail.contains("permalinks")),
        "{error:?}"
    );
}

#[tokio::test]
async fn plain_http_stores_and_missing_keys_are_refused_before_any_request() {
    let error = open_platform(
        &settings("http://boutique.example"),
        &secrets(),
        ConnectorOptions::default(),
    )
    .err()
    .expect("http:// is refused");
    assert!(
        matches!(&error, ShopError::BadUrl { reason, .. } if reason.contains("https://") && reason.contains("OAuth")),
        "{error:?}"
    );
    assert!(
        error
            .explain(UiLang::Fr)
            .contains("http://boutique.example")
    );

    let fake = FakeWooCommerce::start().await;
    let without_secret = ConnectorSecrets {
        consumer_secret: None,
        ..secrets()
    };
    let error = open_platform(
        &settings(&fake.url),
        &without_secret,
        ConnectorOptions::default(),
    )
    .err()
    .expect("a key without its secret is refused");
    assert!(matches!(error, ShopError::Unauthorized { .. }), "{error:?}");
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn webhooks_are_verified_and_pings_answered() {
    let fake = FakeWooCommerce::start().await;
    fake.add_order(
        FakeOrder::new(1042, "marie@client.example", "completed")
            .shipped_with("chronopost", "XY123456789FR"),
    );
    let shop = client(&fake);

    let delivery = fake.delivery(1042, "order.updated", WEBHOOK_SECRET);
    match shop.webhook(&delivery).unwrap() {
        WebhookEvent::Order { delivery_id, order } => {
            assert_eq!(
                Some(delivery_id.as_str()),
                delivery.header("x-wc-webhook-delivery-id")
            );
            assert_eq!(order.reference, "1042");
            assert_eq!(order.status, OrderStatus::Shipped);
            assert_eq!(order.carrier.as_deref(), Some("Chronopost"));
            assert_eq!(order.platform_id.as_deref(), Some("1042"));
        }
        other => panic!("{other:?}"),
    }

    assert_eq!(
        shop.webhook(&fake.delivery(1042, "order.updated", "another secret")),
        Err(WebhookRefusal::BadSignature)
    );
    let mut altered = fake.delivery(1042, "order.updated", WEBHOOK_SECRET);
    altered.body = String::from_utf8(altered.body)
        .unwrap()
        .replace("completed", "cancelled")
        .into_bytes();
    assert_eq!(shop.webhook(&altered), Err(WebhookRefusal::BadSignature));
    let mut unsigned = fake.delivery(1042, "order.updated", WEBHOOK_SECRET);
    unsigned
        .headers
        .retain(|(name, _)| name != "x-wc-webhook-signature");
    assert_eq!(shop.webhook(&unsigned), Err(WebhookRefusal::Unsigned));

    assert_eq!(shop.webhook(&fake.ping()), Ok(WebhookEvent::Ping));
    assert!(matches!(
        shop.webhook(&fake.delivery(1042, "product.updated", WEBHOOK_SECRET)),
        Ok(WebhookEvent::Ignored { topic, .. }) if topic == "product.updated"
    ));

    let no_webhook_secret = ConnectorSecrets {
        webhook_secret: None,
        ..secrets()
    };
    let shop = open_with(
        &settings(&fake.url),
        &no_webhook_secret,
        ConnectorOptions::default(),
    );
    assert_eq!(
        shop.webhook(&fake.delivery(1042, "order.updated", WEBHOOK_SECRET)),
        Err(WebhookRefusal::NoSecret)
    );
    assert_eq!(fake.request_count(), 0, "verifying asks the store nothing");
}

/// `guichet shop connect boutique woocommerce` to the fake store, the key, its secret and the
/// webhook secret given on standard input.
fn connect_from_the_command_line(dir: &std::path::Path, fake: &FakeWooCommerce) {
    let connected = with_stdin(
        guichet(
            dir,
            &[
                "shop",
                "connect",
                "boutique",
                "woocommerce",
                "--store-url",
                &fake.url,
                "--consumer-key-stdin",
                "--consumer-secret-stdin",
                "--webhook-secret-stdin",
            ],
        ),
        format!("{CONSUMER_KEY}\n{CONSUMER_SECRET}\n{WEBHOOK_SECRET}\n").as_bytes(),
    );
    let said = String::from_utf8_lossy(&connected.stdout).to_string()
        + &String::from_utf8_lossy(&connected.stderr);
    assert!(connected.status.success(), "{said}");
    assert!(!said.contains(CONSUMER_SECRET), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn where_is_order_1042_is_answered_from_the_store_and_only_to_its_customer() {
    let server = MailServer::shared();
    let dir = tempfile::tempdir().unwrap();
    let shop = shop_with_answers(server, dir.path(), "0s");
    let marie = server.new_mailbox("customer");
    let paul = server.new_mailbox("customer");
    let fake = FakeWooCommerce::start().await;
    fake.add_customer(FakeCustomer::new(26, &marie.email, "Marie", "Dupont"));
    fake.add_order(
        FakeOrder::new(1042, &marie.email, "completed").shipped_with("colissimo", "6A12345678901"),
    );
    connect_from_the_command_line(dir.path(), &fake);

    server.append_mail(
        &shop,
        &format!("Marie Dupont <{}>", marie.email),
        "Où est ma commande ?",
        "Bonjour,\r\nma commande 1042 n'est toujours pas arrivée, pouvez-vous me dire où elle en est ?\r\nMerci,\r\nMarie",
        "wc-question-1@client.example",
    );
    sync_once(dir.path());
    let received = wait_for_messages(server, &marie, "INBOX", 1).await;
    let answer = MessageParser::default().parse(&received[0]).unwrap();
    let text = answer.body_text(0).unwrap();
    for expected in [
        "1042",
        "expédiée",
        "Colissimo",
        "6A12345678901",
        "laposte.fr",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("GET /wp-json/wc/v3/orders")),
        "the order came from the store: {:?}",
        fake.requests()
    );

    // Paul quotes Marie's number: his message is decided, and nothing of her order reaches him.
    server.append_mail(
        &shop,
        &format!("Paul Martin <{}>", paul.email),
        "Ma commande",
        "Bonjour,\r\noù en est ma commande 1042 ? Elle n'est pas arrivée.\r\nPaul",
        "wc-question-2@client.example",
    );
    sync_once(dir.path());
    let number = ticket_with_subject(&tickets_list(dir.path()), "Ma commande")["number"].clone();
    let shown = ticket_shown(dir.path(), &number.to_string());
    assert!(
        shown["messages"][0]["decision"]["decision"].is_string(),
        "Paul's message went through answering: {shown}"
    );
    let shown_text = shown["customer"].to_string() + &shown["replies"].to_string();
    for secret in ["6A12345678901", "Colissimo", "Marie"] {
        assert!(!shown_text.contains(secret), "{secret} in {shown_text}");
    }
    for reply in replies(dir.path()).iter().filter(|r| r["ticket"] == number) {
        let body = reply["body"].as_str().unwrap_or_default();
        assert!(!body.contains("6A12345678901"), "{body}");
        assert!(!body.contains("Colissimo"), "{body}");
    }
}

/// Deliveries posted to `POST /webhooks/woocommerce/boutique` as WooCommerce posts them.
async fn webhook_route_suite(dialect: crate::support::Dialect) {
    let web = TestWeb::start(dialect).await;
    let fake = FakeWooCommerce::start().await;
    fake.add_order(FakeOrder::new(1042, "marie@client.example", "processing"));
    let shop = web.desk.add_shop("boutique").await.unwrap();
    web.desk
        .connect_shop(&shop, &settings(&fake.url), &secrets())
        .await
        .unwrap();
    let client = web.client();
    let post = |delivery: guichet::shop::platform::WebhookDelivery| {
        let mut request = client.post(web.url("/webhooks/woocommerce/boutique"));
        for (name, value) in &delivery.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request.body(delivery.body).send()
    };
    let stored = async || {
        web.desk
            .store
            .order_by_reference(shop.id, "1042")
            .await
            .unwrap()
            .map(|o| (o.status, o.tracking_number))
    };

    // The ping WooCommerce sends when the webhook is saved: 200, nothing applied.
    let ping = post(fake.ping()).await.unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(
        ping.json::<serde_json::Value>().await.unwrap()["outcome"],
        "ping"
    );
    assert_eq!(stored().await, None);

    let first = fake.delivery(1042, "order.updated", WEBHOOK_SECRET);
    let mut forged = fake.delivery(1042, "order.updated", "not the secret");
    let mut unsigned = fake.delivery(1042, "order.updated", WEBHOOK_SECRET);
    unsigned
        .headers
        .retain(|(name, _)| name != "x-wc-webhook-signature");
    for (refused, why) in [
        (forged.clone(), "wrong signature"),
        (unsigned, "no signature"),
    ] {
        let answer = post(refused).await.unwrap();
        assert_eq!(answer.status(), 401, "{why}");
        assert_eq!(stored().await, None, "{why}: nothing changed");
    }

    let applied = post(first.clone()).await.unwrap();
    assert_eq!(applied.status(), 200);
    assert_eq!(
        applied.json::<serde_json::Value>().await.unwrap()["outcome"],
        "applied"
    );
    assert_eq!(stored().await, Some((OrderStatus::Processing, None)));

    // The parcel leaves: WooCommerce sends the updated order.
    fake.update_order(1042, |order| {
        order.status = "completed".into();
        order.modified_gmt = "2026-11-30T16:00:00".into();
        order.shipments.push(FakeShipment {
            provider: "colissimo".into(),
            custom_provider: String::new(),
            custom_link: String::new(),
            number: "6A12345678901".into(),
            date_shipped: 1_795_000_000,
        });
    });
    let shipped = post(fake.delivery(1042, "order.updated", WEBHOOK_SECRET))
        .await
        .unwrap();
    assert_eq!(shipped.status(), 200);
    let expected = Some((OrderStatus::Shipped, Some("6A12345678901".to_string())));
    assert_eq!(stored().await, expected);

    // The first delivery again (a retry): acknowledged, not applied a second time.
    let repeated = post(first).await.unwrap();
    assert_eq!(repeated.status(), 200);
    assert_eq!(
        repeated.json::<serde_json::Value>().await.unwrap()["outcome"],
        "already_applied"
    );
    assert_eq!(stored().await, expected);

    // A forged cancellation changes nothing either.
    fake.update_order(1042, |order| order.status = "cancelled".into());
    forged = fake.delivery(1042, "order.updated", "not the secret");
    assert_eq!(post(forged).await.unwrap().status(), 401);
    assert_eq!(stored().await, expected);
    assert_eq!(
        fake.request_count(),
        0,
        "deliveries carry the order: nothing fetched"
    );
}

web_tests!(webhook_route_suite => webhook_route_sqlite, webhook_route_postgres);
