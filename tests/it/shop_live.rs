//! Shop data served from the store and the platforms: the short cache, the fallback on a
//! failing platform, what the store keeps of connections, webhooks and polling, on SQLite and
//! PostgreSQL. The platform here is an in-test double counting its calls: these are tests of
//! our cache, not of a platform (each platform's fake lives in `support/fakes`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use guichet::shop::live::{LiveSettings, LiveShop};
use guichet::shop::platform::{
    ConnectionReport, Platform, ShopError, ShopFuture, ShopPlatform, WebhookDelivery, WebhookEvent,
    WebhookRefusal,
};
use guichet::shop::{Customer, CustomerRecord, Money, Order, OrderStatus};
use guichet::store::Store;

use crate::support::store_tests;

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

    fn changed_since(&self, _: i64) -> ShopFuture<'_, Vec<Order>> {
        self.answer(Vec::new())
    }

    fn webhook(&self, _: &WebhookDelivery) -> Result<WebhookEvent, WebhookRefusal> {
        Err(WebhookRefusal::Unsigned)
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
        request_timeout: Duration::from_secs(10),
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
        let order = live
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
    let paul = live
        .find_order("paul@client.example", &refs(&["1042"]))
        .await
        .unwrap();
    assert_eq!(paul.unwrap().reference, "#1050");
    assert_eq!(platform.calls(), 2, "Paul's data was fetched once");
    let stranger = live
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
