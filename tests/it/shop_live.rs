//! Shop data served from the store and the platforms: the short cache, the fallback on a
//! failing platform, what the store keeps of connections, webhooks and polling, on SQLite and
//! PostgreSQL. The platform here is an in-test double counting its calls: these are tests of
//! our cache, not of a platform (each platform's fake lives in `support/fakes`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use guichet::crypto::SealingKey;
use guichet::shop::connector::{ConnectorSecrets, ConnectorSettings, ShopifySettings};
use guichet::shop::live::{LiveSettings, LiveShop, ShopClients, ShopData};
use guichet::shop::platform::{
    ConnectionReport, Platform, ShopError, ShopFuture, ShopPlatform, WebhookDelivery, WebhookEvent,
    WebhookRefusal,
};
use guichet::shop::{Customer, CustomerRecord, Money, Order, OrderStatus};
use guichet::store::Store;

use crate::support::cli::{empty_shop, guichet, ok, run, with_stdin};
use crate::support::web::{TestWeb, web_tests};
use crate::support::{Dialect, open_data_dir, store_tests};

/// A platform that knows a few customers and counts every question asked of it.
struct CountingPlatform {
    customers: HashMap<String, CustomerRecord>,
    calls: AtomicUsize,
    down: AtomicBool,
}

impl CountingPlatform {
    fn new(records: Vec<CustomerRecord>) -> Arc<CountingPlatform> {
        Arc::new(CountingPlatform {
            customers: records
                .into_iter()
                .map(|r| (r.customer.as_ref().unwrap().email.clone(), r))
                .collect(),
            calls: AtomicUsize::new(0),
            down: AtomicBool::new(false),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn answer<T: Send + 'static>(&self, value: T) -> ShopFuture<'_, T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let down = self.down.load(Ordering::SeqCst);
        Box::pin(async move {
            if down {
                Err(ShopError::Unreachable {
                    platform: Platform::Shopify,
                    detail: "connection refused".into(),
                })
            } else {
                Ok(value)
            }
        })
    }
}

impl ShopPlatform for CountingPlatform {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    fn customer<'a>(&'a self, email: &'a str) -> ShopFuture<'a, CustomerRecord> {
        self.answer(self.customers.get(email).cloned().unwrap_or_default())
    }

    fn order<'a>(&'a self, reference: &'a str) -> ShopFuture<'a, Option<Order>> {
        let bare = reference.trim_start_matches('#');
        let found = self
            .customers
            .values()
            .flat_map(|r| r.orders.iter())
            .find(|o| o.reference.trim_start_matches('#') == bare)
            .cloned();
        self.answer(found)
    }

    fn order_by_platform_id<'a>(&'a self, _: &'a str) -> ShopFuture<'a, Option<Order>> {
        self.answer(None)
    }

    fn check(&self) -> ShopFuture<'_, ConnectionReport> {
        self.answer(ConnectionReport {
            platform: Platform::Shopify,
            shop_name: None,
            warnings: Vec::new(),
        })
    }

    fn changed_since(&self, since_ms: i64) -> ShopFuture<'_, Vec<Order>> {
        let changed = self
            .customers
            .values()
            .flat_map(|r| r.orders.iter())
            .filter(|o| o.updated_at.is_some_and(|at| at >= since_ms))
            .cloned()
            .collect();
        self.answer(changed)
    }

    /// Signed when `x-double-signature` says `valid`; the body is the new status of order
    /// #1042 (empty: a ping).
    fn webhook(&self, delivery: &WebhookDelivery) -> Result<WebhookEvent, WebhookRefusal> {
        match delivery.header("x-double-signature") {
            None => return Err(WebhookRefusal::Unsigned),
            Some("valid") => {}
            Some(_) => return Err(WebhookRefusal::BadSignature),
        }
        if delivery.body.is_empty() {
            return Ok(WebhookEvent::Ping);
        }
        let status = std::str::from_utf8(&delivery.body)
            .ok()
            .and_then(OrderStatus::parse)
            .ok_or_else(|| WebhookRefusal::Malformed("not a status".into()))?;
        Ok(WebhookEvent::Order {
            delivery_id: delivery
                .header("x-double-delivery")
                .unwrap_or_default()
                .into(),
            order: Box::new(Order::new("#1042", "marie@client.example", status)),
        })
    }
}

fn shipped(reference: &str, email: &str, at: i64) -> Order {
    Order {
        ordered_at: Some(at),
        raw_status: Some("FULFILLED".into()),
        partially_refunded: true,
        total: Some(Money {
            minor: 4990,
            currency: "EUR".into(),
        }),
        carrier: Some("Colissimo".into()),
        tracking_number: Some("6A12345678901".into()),
        tracking_link: Some("https://suivi.boutique.example/6A1".into()),
        platform_id: Some(format!(
            "gid://shopify/Order/{}",
            reference.trim_start_matches('#')
        )),
        updated_at: Some(at + 1),
        ..Order::new(reference, email, OrderStatus::Shipped)
    }
}

fn record(email: &str, first_name: &str, orders: Vec<Order>) -> CustomerRecord {
    CustomerRecord {
        customer: Some(Customer {
            email: email.into(),
            first_name: Some(first_name.into()),
            last_name: Some("Durand".into()),
            customer_since: Some(1_600_000_000_000),
            orders_count: Some(orders.len() as u32),
            total_spent: Some(Money {
                minor: 4990 * orders.len() as i64,
                currency: "EUR".into(),
            }),
            platform_id: Some("gid://shopify/Customer/7".into()),
        }),
        orders,
    }
}

fn settings(cache_ttl: Duration) -> LiveSettings {
    LiveSettings {
        cache_ttl,
        ..LiveSettings::default()
    }
}

async fn cache_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let platform = CountingPlatform::new(vec![
        record(
            "marie@client.example",
            "Marie",
            vec![
                shipped("#1042", "marie@client.example", 3_000),
                shipped("#1041", "marie@client.example", 1_000),
            ],
        ),
        record(
            "paul@client.example",
            "Paul",
            vec![shipped("#1050", "paul@client.example", 5_000)],
        ),
    ]);
    let live = LiveShop::new(
        &store,
        shop.id,
        Some(platform.clone()),
        settings(Duration::from_secs(300)),
    );
    let refs = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // Cold: one request for Marie, whatever the number of her messages.
    for _ in 0..5 {
        let (order, _) = live
            .find_order("marie@client.example", &refs(&["#1041"]))
            .await
            .unwrap();
        assert_eq!(order.unwrap().reference, "#1041");
    }
    assert_eq!(
        platform.calls(),
        1,
        "one request per customer, not per message"
    );

    // Warm, through another source over the same store (another message, another page): no
    // request at all.
    let again = LiveShop::new(
        &store,
        shop.id,
        Some(platform.clone()),
        settings(Duration::from_secs(300)),
    );
    let marie = again.customer("Marie@Client.example").await.unwrap();
    assert_eq!(platform.calls(), 1, "a warm cache asks nothing");
    assert_eq!(marie.source_error, None);
    let customer = marie.customer.unwrap();
    assert_eq!(customer.first_name.as_deref(), Some("Marie"));
    assert_eq!(customer.customer_since, Some(1_600_000_000_000));
    assert_eq!(customer.orders_count, Some(2));
    assert_eq!(customer.total_spent.unwrap().decimal(), "99.80");
    // What was fetched is kept whole: the common model survives the store.
    assert_eq!(
        marie.orders,
        vec![
            shipped("#1042", "marie@client.example", 3_000),
            shipped("#1041", "marie@client.example", 1_000),
        ]
    );

    // Paul quoting Marie's order never gets it: his own latest instead.
    let (paul, _) = live
        .find_order("paul@client.example", &refs(&["1042"]))
        .await
        .unwrap();
    assert_eq!(paul.unwrap().reference, "#1050");
    assert_eq!(platform.calls(), 2, "Paul's data was fetched once");
    let (stranger, _) = live
        .find_order("nobody@client.example", &refs(&["#1042"]))
        .await
        .unwrap();
    assert_eq!(stranger, None, "a reference alone discloses nothing");

    // The platform goes down with the cache expired: the store's data, and the failure.
    platform.down.store(true, Ordering::SeqCst);
    let expired = LiveShop::new(
        &store,
        shop.id,
        Some(platform.clone()),
        settings(Duration::ZERO),
    );
    let calls_before = platform.calls();
    let fallback = expired.customer("marie@client.example").await.unwrap();
    assert_eq!(platform.calls(), calls_before + 1, "asked, and failed");
    assert_eq!(
        fallback.orders.len(),
        2,
        "what the store had is still shown"
    );
    let error = fallback.source_error.expect("the failure is carried");
    assert!(matches!(error.error, ShopError::Unreachable { .. }));
    assert!(error.data_from.is_some(), "the time of the data shown");
    assert!(expired.take_failure().is_some(), "answers see the failure");
    assert_eq!(expired.take_failure(), None, "and only once");

    // A failure is kept for the next lookups of the minute, with the same data: a platform
    // that is down does not slow down every page.
    let within_minute = LiveShop::new(
        &store,
        shop.id,
        Some(platform.clone()),
        settings(Duration::from_secs(300)),
    );
    let calls_before = platform.calls();
    let cached = within_minute
        .customer("marie@client.example")
        .await
        .unwrap();
    assert_eq!(
        platform.calls(),
        calls_before,
        "not asked again within the minute"
    );
    assert!(cached.source_error.is_some());
    assert_eq!(cached.orders.len(), 2);

    // An address the platform never answered for: nothing, and the failure.
    let unknown = expired.customer("new@client.example").await.unwrap();
    assert_eq!(unknown.orders, Vec::new());
    assert_eq!(unknown.source_error.unwrap().data_from, None);
}

store_tests!(cache_suite => live_cache_sqlite, live_cache_postgres);

async fn webhook_and_polling_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let mut order = shipped("#1042", "marie@client.example", 3_000);
    order.status = OrderStatus::Processing;
    assert!(
        store
            .apply_webhook_order(shop.id, Platform::Shopify, "delivery-1", &order)
            .await
            .unwrap()
    );
    let mut delivered = order.clone();
    delivered.status = OrderStatus::Delivered;
    delivered.updated_at = Some(9_000);
    // The same delivery again is applied once: its content is not looked at.
    assert!(
        !store
            .apply_webhook_order(shop.id, Platform::Shopify, "delivery-1", &delivered)
            .await
            .unwrap()
    );
    assert!(
        store
            .webhook_delivery_seen(shop.id, Platform::Shopify, "delivery-1")
            .await
            .unwrap()
    );
    let kept = store
        .order_by_reference(shop.id, "1042")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, OrderStatus::Processing);
    // A new delivery with a later change applies; one delivered late with an older change
    // does not undo it.
    assert!(
        store
            .apply_webhook_order(shop.id, Platform::Shopify, "delivery-2", &delivered)
            .await
            .unwrap()
    );
    assert!(
        store
            .apply_webhook_order(shop.id, Platform::Shopify, "delivery-0", &order)
            .await
            .unwrap()
    );
    let by_id = store
        .order_by_platform_id(shop.id, "gid://shopify/Order/1042")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        by_id.status,
        OrderStatus::Delivered,
        "the later change stays"
    );

    // Polling: the orders and the checkpoint together.
    assert_eq!(store.poll_checkpoint(shop.id).await.unwrap(), None);
    store
        .store_polled_orders(
            shop.id,
            Platform::PrestaShop,
            &[shipped("2001", "paul@client.example", 4_000)],
            4_001,
        )
        .await
        .unwrap();
    assert_eq!(store.poll_checkpoint(shop.id).await.unwrap(), Some(4_001));
    let polled = store
        .customer_stored_orders(shop.id, "paul@client.example")
        .await
        .unwrap();
    assert_eq!(polled[0].source, Platform::PrestaShop);
    assert!(polled[0].fetched_at.is_some());
}

store_tests!(webhook_and_polling_suite => live_webhooks_sqlite, live_webhooks_postgres);

async fn connection_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    assert_eq!(store.shop_connection(shop.id).await.unwrap(), None);
    let settings = r#"{"platform":"prestashop","store_url":"https://shop.example"}"#;
    store
        .save_shop_connection(shop.id, Platform::PrestaShop, settings, b"sealed bytes")
        .await
        .unwrap();
    let first = store.shop_connection(shop.id).await.unwrap().unwrap();
    assert_eq!(first.platform, Platform::PrestaShop);
    assert_eq!(first.secrets_sealed, b"sealed bytes");
    assert!(
        !format!("{first:?}").contains("sealed bytes"),
        "Debug hides it"
    );
    store
        .record_connection_check(shop.id, false, r#"{"kind":"unauthorized"}"#)
        .await
        .unwrap();
    let checked = store.shop_connection(shop.id).await.unwrap().unwrap();
    assert!(!checked.last_check.unwrap().ok);
    assert_eq!(
        store
            .shop_connections_on(Platform::PrestaShop)
            .await
            .unwrap()
            .len(),
        1
    );

    // Saved again: a later version (the desk rebuilds its client), and the old check is gone.
    store
        .save_shop_connection(shop.id, Platform::PrestaShop, settings, b"other")
        .await
        .unwrap();
    let second = store.shop_connection(shop.id).await.unwrap().unwrap();
    assert!(second.updated_at > first.updated_at);
    assert_eq!(second.last_check, None);

    assert!(store.delete_shop_connection(shop.id).await.unwrap());
    assert!(!store.delete_shop_connection(shop.id).await.unwrap());
    assert_eq!(store.shop_connection(shop.id).await.unwrap(), None);
}

store_tests!(connection_suite => live_connections_sqlite, live_connections_postgres);

/// Every file of the SQLite database (its write-ahead log included), as bytes.
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("guichet.db"))
        })
        .flat_map(|path| std::fs::read(path).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn a_connection_keeps_its_secrets_sealed_and_out_of_every_output() {
    let dir = empty_shop();
    const KEY: &str = "WSKEY-4f9a1c7e-never-shown";
    // The loopback port 9 refuses connections: the check fails, and must not say the key.
    let connect = with_stdin(
        guichet(
            dir.path(),
            &[
                "shop",
                "connect",
                "boutique",
                "prestashop",
                "--store-url",
                "http://127.0.0.1:9",
                "--key-stdin",
            ],
        ),
        format!("{KEY}\n").as_bytes(),
    );
    let out = String::from_utf8_lossy(&connect.stdout).to_string()
        + &String::from_utf8_lossy(&connect.stderr);
    assert_eq!(connect.status.code(), Some(0), "{out}");
    assert!(
        out.contains("Shop boutique connected to PrestaShop"),
        "{out}"
    );

    for args in [
        &["shop", "test-connection", "boutique"][..],
        &["shop", "test-connection", "boutique", "--json"][..],
        &["--lang", "fr", "shop", "test-connection", "boutique"][..],
    ] {
        let tested = run(guichet(dir.path(), args));
        let out = String::from_utf8_lossy(&tested.stdout).to_string()
            + &String::from_utf8_lossy(&tested.stderr);
        assert_eq!(
            tested.status.code(),
            Some(1),
            "a failed check exits 1: {out}"
        );
        assert!(!out.contains(KEY), "the key is never printed: {out}");
        assert!(
            out.contains("PrestaShop"),
            "the failure names the platform: {out}"
        );
        if args.contains(&"--json") {
            let json: serde_json::Value =
                serde_json::from_str(&String::from_utf8_lossy(&tested.stdout)).unwrap();
            assert_eq!(json["ok"], false);
            assert_eq!(json["error"]["platform"], "prestashop");
        }
        if args.contains(&"fr") {
            assert!(out.contains("La connexion ne fonctionne pas"), "{out}");
        }
    }
    let bytes = database_bytes(dir.path());
    assert!(!bytes.is_empty());
    assert!(
        !contains(&bytes, KEY),
        "the database holds the key sealed only"
    );
    let store = open_data_dir(dir.path()).await;
    let shop = store.shop_by_name("boutique").await.unwrap();
    let stored = store.shop_connection(shop.id).await.unwrap().unwrap();
    assert_eq!(stored.platform, Platform::PrestaShop);
    let check = stored.last_check.expect("the check is kept");
    assert!(!check.ok);
    assert!(!check.result.contains(KEY));
    store.close().await;

    // A secret the platform needs and that is not given: refused before anything is saved.
    let refused = with_stdin(
        guichet(
            dir.path(),
            &[
                "shop",
                "connect",
                "boutique",
                "woocommerce",
                "--store-url",
                "https://boutique.example",
                "--consumer-key-stdin",
            ],
        ),
        b"ck_1234\n",
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("consumer secret"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // An empty line is no secret.
    let empty = with_stdin(
        guichet(
            dir.path(),
            &[
                "shop",
                "connect",
                "boutique",
                "prestashop",
                "--store-url",
                "https://b.example",
                "--key-stdin",
            ],
        ),
        b"\n",
    );
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("standard input"));

    ok(guichet(dir.path(), &["shop", "disconnect", "boutique"]));
    let again = run(guichet(dir.path(), &["shop", "disconnect", "boutique"]));
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not connected"));
}

#[tokio::test]
async fn shop_import_reads_customers_and_orders_and_names_bad_rows() {
    let dir = empty_shop();
    let customers = dir.path().join("customers.csv");
    std::fs::write(
        &customers,
        "email,first_name,last_name,created_at,newsletter\n\
         Marie@Client.example,Marie,Durand,2024-03-01,yes\n\
         not-an-address,Paul,Martin,2024-03-02,no\n",
    )
    .unwrap();
    let orders = dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        "reference,customer_email,created_at,status,total,currency,carrier,tracking_number,tracking_url\n\
         1042,marie@client.example,2026-11-20,shipped,49.90,EUR,Colissimo,6A12345678901,https://suivi.boutique.example/6A1\n\
         1043,marie@client.example,2026-11-21,paid,douze,EUR,,,\n",
    )
    .unwrap();
    let output = run(guichet(
        dir.path(),
        &[
            "shop",
            "import",
            "--shop",
            "boutique",
            "--customers",
            customers.to_str().unwrap(),
            "--orders",
            orders.to_str().unwrap(),
        ],
    ));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Customers imported: 1"), "{stdout}");
    assert!(stdout.contains("Orders imported: 1"), "{stdout}");
    assert!(stderr.contains("customers.csv: line 3"), "{stderr}");
    assert!(stderr.contains("orders.csv: line 3"), "{stderr}");
    assert!(stderr.contains("douze"), "{stderr}");

    let store = open_data_dir(dir.path()).await;
    let shop = store.shop_by_name("boutique").await.unwrap();
    let marie = store
        .stored_customer(shop.id, "marie@client.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(marie.customer.first_name.as_deref(), Some("Marie"));
    assert!(marie.customer.customer_since.is_some());
    assert_eq!(marie.source, Platform::Csv);
    let order = store
        .order_by_reference(shop.id, "1042")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        order.total.as_ref().map(Money::decimal).as_deref(),
        Some("49.90")
    );
    assert_eq!(
        order.tracking_url().as_deref(),
        Some("https://suivi.boutique.example/6A1")
    );
    assert!(order.ordered_at.is_some());
    store.close().await;

    // Importing again updates, never duplicates.
    let again = run(guichet(
        dir.path(),
        &[
            "shop",
            "import",
            "--shop",
            "boutique",
            "--orders",
            orders.to_str().unwrap(),
        ],
    ));
    assert_eq!(again.status.code(), Some(1));
    let store = open_data_dir(dir.path()).await;
    assert_eq!(
        store
            .customer_orders(shop.id, "marie@client.example")
            .await
            .unwrap()
            .len(),
        1
    );
    store.close().await;
}

async fn webhook_route_suite(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let shop = web.desk.add_shop("boutique").await.unwrap();
    web.desk
        .connect_shop(
            &shop,
            &ConnectorSettings::Shopify(ShopifySettings {
                store_url: "https://boutique.myshopify.com".into(),
                api_version: "2025-10".into(),
                client_id: None,
            }),
            &ConnectorSecrets {
                access_token: Some("shpat_test".into()),
                ..ConnectorSecrets::default()
            },
        )
        .await
        .unwrap();
    let connection = web
        .desk
        .store
        .shop_connection(shop.id)
        .await
        .unwrap()
        .unwrap();
    // The double stands for the shop's client: the route's own behaviour is under test, each
    // platform's signatures are tested with its fake.
    web.desk.shop_clients.install(
        shop.id,
        connection.updated_at,
        CountingPlatform::new(Vec::new()),
    );
    let client = web.client();
    let post = |path: &'static str,
                signature: Option<&'static str>,
                delivery: &'static str,
                body: &'static str| {
        let mut request = client
            .post(web.url(path))
            .header("x-double-delivery", delivery)
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-double-signature", signature);
        }
        request.send()
    };
    let stored_status = async || {
        web.desk
            .store
            .order_by_reference(shop.id, "#1042")
            .await
            .unwrap()
            .map(|o| o.status)
    };

    for (signature, why) in [(None, "unsigned"), (Some("forged"), "bad signature")] {
        let refused = post("/webhooks/shopify/boutique", signature, "d-1", "shipped")
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{why}");
        assert_eq!(stored_status().await, None, "{why}: nothing changed");
    }
    let applied = post(
        "/webhooks/shopify/boutique",
        Some("valid"),
        "d-1",
        "shipped",
    )
    .await
    .unwrap();
    assert_eq!(applied.status(), 200);
    assert_eq!(
        applied.json::<serde_json::Value>().await.unwrap()["outcome"],
        "applied"
    );
    assert_eq!(stored_status().await, Some(OrderStatus::Shipped));
    // The same delivery again: acknowledged, applied once.
    let repeated = post(
        "/webhooks/shopify/boutique",
        Some("valid"),
        "d-1",
        "delivered",
    )
    .await
    .unwrap();
    assert_eq!(repeated.status(), 200);
    assert_eq!(
        repeated.json::<serde_json::Value>().await.unwrap()["outcome"],
        "already_applied"
    );
    assert_eq!(stored_status().await, Some(OrderStatus::Shipped));
    let next = post(
        "/webhooks/shopify/boutique",
        Some("valid"),
        "d-2",
        "delivered",
    )
    .await
    .unwrap();
    assert_eq!(next.status(), 200);
    assert_eq!(stored_status().await, Some(OrderStatus::Delivered));
    let ping = post("/webhooks/shopify/boutique", Some("valid"), "d-3", "")
        .await
        .unwrap();
    assert_eq!(
        ping.json::<serde_json::Value>().await.unwrap()["outcome"],
        "ping"
    );

    // Another shop, another platform than the shop's, no platform: not found.
    for path in [
        "/webhooks/shopify/nowhere",
        "/webhooks/woocommerce/boutique",
        "/webhooks/csv/boutique",
    ] {
        let missing = post(path, Some("valid"), "d-9", "refunded").await.unwrap();
        assert_eq!(missing.status(), 404, "{path}");
    }
    assert_eq!(stored_status().await, Some(OrderStatus::Delivered));
}

web_tests!(webhook_route_suite => webhook_route_sqlite, webhook_route_postgres);

async fn polling_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let settings = r#"{"platform":"prestashop","store_url":"https://shop.example"}"#;
    store
        .save_shop_connection(
            shop.id,
            Platform::PrestaShop,
            settings,
            b"not opened: the client is kept",
        )
        .await
        .unwrap();
    let connection = store.shop_connection(shop.id).await.unwrap().unwrap();
    let platform = CountingPlatform::new(vec![record(
        "marie@client.example",
        "Marie",
        vec![
            shipped("2001", "marie@client.example", 10_000),
            shipped("2002", "marie@client.example", 20_000),
        ],
    )]);
    let shops = ShopData {
        store: store.clone(),
        key: SealingKey::from_hex(&"ab".repeat(32)).unwrap(),
        clients: ShopClients::default(),
        settings: LiveSettings::default(),
    };
    shops
        .clients
        .install(shop.id, connection.updated_at, platform.clone());
    store
        .store_polled_orders(shop.id, Platform::PrestaShop, &[], 15_000)
        .await
        .unwrap();

    assert_eq!(
        shops.poll_changes().await.unwrap(),
        1,
        "only the change after the checkpoint"
    );
    assert_eq!(store.poll_checkpoint(shop.id).await.unwrap(), Some(20_001));
    assert!(
        store
            .order_by_reference(shop.id, "2002")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .order_by_reference(shop.id, "2001")
            .await
            .unwrap()
            .is_none()
    );

    // The platform fails: the checkpoint stays where it was, nothing is lost.
    platform.down.store(true, Ordering::SeqCst);
    assert_eq!(shops.poll_changes().await.unwrap(), 0);
    assert_eq!(store.poll_checkpoint(shop.id).await.unwrap(), Some(20_001));
}

store_tests!(polling_suite => polling_sqlite, polling_postgres);
