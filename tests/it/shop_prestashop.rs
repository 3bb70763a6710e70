//! The PrestaShop connector against a local server answering as the PrestaShop Webservice
//! documents it (`support::fakes::prestashop`), through `open_platform` as Guichet opens it.

use std::time::{Duration, Instant};

use guichet::model::UiLang;
use guichet::shop::connector::{
    ConnectorOptions, ConnectorSecrets, ConnectorSettings, PrestaShopSettings, open_platform,
};
use guichet::shop::platform::{
    ShopError, ShopPlatform, ShopWarning, WebhookDelivery, WebhookRefusal,
};
use guichet::shop::prestashop::PAGE_SIZE;
use guichet::shop::{Money, OrderStatus};
use secrecy::SecretString;

use mail_parser::MessageParser;

use crate::answering::shop_with_answers;
use crate::outbound::wait_for_messages;
use crate::support::cli::{
    guichet, ok, sync_once, ticket_shown, ticket_with_subject, tickets_list, with_stdin,
};
use crate::support::fakes::prestashop::{self, FakePrestaShop, KEY, OrderCarrier, Shop};
use crate::support::{MailServer, store_tests};

fn connect_with(
    fake: &FakePrestaShop,
    key: &str,
    options: ConnectorOptions,
) -> Box<dyn ShopPlatform> {
    let settings = ConnectorSettings::PrestaShop(PrestaShopSettings {
        store_url: format!("{}/", fake.url),
    });
    let secrets = ConnectorSecrets {
        api_key: Some(SecretString::from(key.to_string())),
        ..ConnectorSecrets::default()
    };
    open_platform(&settings, &secrets, options)
        .expect("a loopback shop is accepted")
        .expect("PrestaShop has a client")
}

fn connect(fake: &FakePrestaShop) -> Box<dyn ShopPlatform> {
    connect_with(fake, KEY, ConnectorOptions::default())
}

/// The error's texts, for checking nothing secret is in them.
fn texts(error: &ShopError) -> String {
    format!(
        "{error} | {} | {} | {error:?}",
        error.explain(UiLang::En),
        error.explain(UiLang::Fr)
    )
}

/// Unix ms of a Paris wall-clock time in winter (UTC+1).
fn paris_winter(y: i16, m: i8, d: i8, h: i8, min: i8) -> i64 {
    jiff::civil::date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

#[tokio::test]
async fn a_customer_with_their_orders_states_tracking_and_totals_as_the_shop_shows_them() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    let shop = connect(&fake);

    let record = shop.customer("Marie@Client.example").await.unwrap();
    let customer = record.customer.expect("Marie has an account");
    assert_eq!(customer.first_name.as_deref(), Some("Marie"));
    assert_eq!(customer.last_name.as_deref(), Some("Dupont"));
    assert_eq!(customer.email, "marie@client.example");
    assert_eq!(
        customer.customer_since,
        Some(paris_winter(2024, 1, 15, 10, 0))
    );
    // Two valid orders: 49.90 EUR, and 30.00 CHF at 1.07 (28.04 EUR); the cancelled one
    // does not count.
    assert_eq!(customer.orders_count, Some(2));
    assert_eq!(customer.total_spent, Money::parse("77.94", "EUR"));

    let references: Vec<&str> = record.orders.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(
        references,
        ["ZXCVBNMAS", "QWERTYUIO", "XKBKNABJK"],
        "newest first"
    );
    let shipped = record
        .orders
        .iter()
        .find(|o| o.reference == "XKBKNABJK")
        .unwrap();
    assert_eq!(
        shipped.status,
        OrderStatus::Shipped,
        "PS_OS_SHIPPING is state 14 here"
    );
    assert_eq!(
        shipped.raw_status.as_deref(),
        Some("Expédié"),
        "the shop's default language"
    );
    assert_eq!(shipped.platform_id.as_deref(), Some("1042"));
    assert_eq!(shipped.customer_email, "marie@client.example");
    assert_eq!(shipped.total, Money::parse("49.90", "EUR"));
    assert_eq!(shipped.items.len(), 2);
    assert_eq!(shipped.items[0].name, "Mug bleu");
    assert_eq!(shipped.items[0].quantity, 2);
    assert_eq!(shipped.carrier.as_deref(), Some("Colissimo"));
    assert_eq!(shipped.tracking_number.as_deref(), Some("6A12345678901"));
    assert_eq!(
        shipped.tracking_url().as_deref(),
        Some("https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901")
    );
    assert_eq!(shipped.updated_at, Some(paris_winter(2026, 3, 12, 14, 5)));
    let delivered = record
        .orders
        .iter()
        .find(|o| o.reference == "QWERTYUIO")
        .unwrap();
    assert_eq!(delivered.status, OrderStatus::Delivered);
    assert_eq!(delivered.total, Money::parse("30.00", "CHF"));
    assert!(delivered.partially_refunded, "a credit slip of 5 CHF");
    assert!(!shipped.partially_refunded);
    let cancelled = record
        .orders
        .iter()
        .find(|o| o.reference == "ZXCVBNMAS")
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);

    // The shop's settings are cached: another lookup costs the customer, their orders, and
    // the orders' carriers and credit slips only.
    let before = fake.request_count();
    let paul = shop.customer("paul@client.example").await.unwrap();
    assert_eq!(
        fake.request_count() - before,
        4,
        "{:?}",
        &fake.requests()[before..]
    );
    assert_eq!(paul.orders.len(), 1);
    assert_eq!(
        paul.orders[0].status,
        OrderStatus::Paid,
        "state 4 is this shop's \"Parcel packed\", not the default numbering's Shipped"
    );

    let nobody = shop.customer("inconnu@client.example").await.unwrap();
    assert!(nobody.customer.is_none() && nobody.orders.is_empty());
    let odd = shop.customer("a|b@client.example").await.unwrap();
    assert!(
        odd.customer.is_none(),
        "a filter-breaking address finds no one"
    );
}

#[tokio::test]
async fn an_order_by_its_reference_or_by_its_number() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    let shop = connect(&fake);
    for quoted in ["XKBKNABJK", "xkbknabjk", "#1042", " 1042 "] {
        let order = shop
            .order(quoted)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{quoted}"));
        assert_eq!(order.reference, "XKBKNABJK", "{quoted}");
        assert_eq!(order.customer_email, "marie@client.example", "{quoted}");
        assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
    }
    // PrestaShop split this order between two carriers: one part left, one is being packed.
    fake.with(|s| {
        let mut rest =
            prestashop::order(1045, "XKBKNABJK", 1, 13, "20.000000", "2026-03-12 14:05:00");
        rest.id_carrier = 5;
        s.orders.push(rest);
    });
    let split = shop.order("XKBKNABJK").await.unwrap().unwrap();
    assert_eq!(
        split.platform_id.as_deref(),
        Some("1042"),
        "the first part speaks"
    );
    assert!(split.partially_shipped);
    let record = shop.customer("marie@client.example").await.unwrap();
    let parts: Vec<_> = record
        .orders
        .iter()
        .filter(|o| o.reference == "XKBKNABJK")
        .collect();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|o| o.partially_shipped));
    assert!(
        !record
            .orders
            .iter()
            .any(|o| o.reference == "QWERTYUIO" && o.partially_shipped)
    );

    assert_eq!(shop.order("NOPENOPEN").await.unwrap(), None);
    assert_eq!(shop.order("9999").await.unwrap(), None);
    assert_eq!(shop.order("10|42").await.unwrap(), None);
    let by_id = shop.order_by_platform_id("1050").await.unwrap().unwrap();
    assert_eq!(by_id.customer_email, "paul@client.example");
}

#[tokio::test]
async fn every_page_of_a_long_history_is_read() {
    let mut data = Shop::sample();
    let many = PAGE_SIZE * 2 + 20;
    for n in 0..many as u64 {
        let id = 5000 + n;
        data.orders.push(prestashop::order(
            id,
            &format!("LONG{n:05}"),
            2,
            14,
            "10.000000",
            "2025-11-02 10:00:00",
        ));
        data.order_carriers.push(OrderCarrier {
            id: 100 + n,
            id_order: id,
            id_carrier: 3,
            tracking_number: format!("6A{:011}", n),
        });
    }
    let fake = FakePrestaShop::start(data).await;
    let record = connect(&fake)
        .customer("paul@client.example")
        .await
        .unwrap();
    assert_eq!(record.orders.len(), many + 1);
    let long: Vec<_> = record
        .orders
        .iter()
        .filter(|o| o.reference.starts_with("LONG"))
        .collect();
    assert_eq!(long.len(), many);
    assert!(
        long.iter().all(|o| o.tracking_number.is_some()),
        "every order's carrier found, whichever page"
    );
    assert_eq!(record.customer.unwrap().orders_count, Some(many as u32 + 1));
    let requests = fake.requests();
    for offset in [0, PAGE_SIZE, 2 * PAGE_SIZE] {
        let page = format!("limit={offset},{PAGE_SIZE}");
        assert!(
            requests
                .iter()
                .any(|r| r.starts_with("/api/orders?") && r.contains(&page)),
            "{page} in {requests:#?}"
        );
    }
}

#[tokio::test]
async fn a_shop_whose_json_is_broken_is_read_in_xml() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    fake.with(|s| s.json_broken = true);
    let shop = connect(&fake);
    let record = shop.customer("marie@client.example").await.unwrap();
    assert_eq!(record.customer.unwrap().orders_count, Some(2));
    let shipped = record
        .orders
        .iter()
        .find(|o| o.reference == "XKBKNABJK")
        .unwrap();
    assert_eq!(
        shipped.raw_status.as_deref(),
        Some("Expédié"),
        "languages in XML"
    );
    assert_eq!(shipped.items[1].name, "Théière en fonte", "CDATA read");
    let last = fake.requests().last().cloned().unwrap();
    assert!(!last.contains("output_format"), "XML from then on: {last}");
}

#[tokio::test]
async fn throttling_is_waited_out_within_the_bound() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    fake.with(|s| {
        s.throttle_next = 1;
        s.retry_after = "1".into();
    });
    let shop = connect(&fake);
    let started = Instant::now();
    let order = shop.order("XKBKNABJK").await.unwrap();
    assert!(order.is_some());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );

    fake.with(|s| {
        s.throttle_next = 10;
        s.retry_after = "30".into();
    });
    let started = Instant::now();
    let error = shop.order("QWERTYUIO").await.unwrap_err();
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
    assert!(started.elapsed() < Duration::from_secs(3), "no 30 s wait");
}

#[tokio::test]
async fn invalid_deactivated_and_limited_keys_each_say_what_is_wrong() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    let wrong_key = "WRONGKEYWRONGKEYWRONGKEYWRONGKEY";
    let error = connect_with(&fake, wrong_key, ConnectorOptions::default())
        .customer("marie@client.example")
        .await
        .unwrap_err();
    assert!(matches!(error, ShopError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("not active"), "{error}");
    assert!(!texts(&error).contains(wrong_key));

    let short_key = "abc123-not-a-key";
    let error = connect_with(&fake, short_key, ConnectorOptions::default())
        .check()
        .await
        .unwrap_err();
    assert!(matches!(error, ShopError::Unauthorized { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("Invalid authentication key format"),
        "{error}"
    );
    assert!(!texts(&error).contains(short_key));

    // A key deactivated in the back office: PrestaShop's keys stop working this way.
    fake.with(|s| s.key_disabled = true);
    let shop = connect(&fake);
    let error = shop.order("XKBKNABJK").await.unwrap_err();
    assert!(matches!(error, ShopError::Unauthorized { .. }), "{error:?}");
    assert!(!texts(&error).contains(KEY));
    fake.with(|s| s.key_disabled = false);

    fake.with(|s| s.denied.insert("orders".into()));
    let error = shop.customer("marie@client.example").await.unwrap_err();
    assert_eq!(
        error,
        ShopError::MissingScope {
            platform: guichet::shop::platform::Platform::PrestaShop,
            scope: "orders".into()
        }
    );
    let error = shop.check().await.unwrap_err();
    assert!(
        matches!(&error, ShopError::MissingScope { scope, .. } if scope == "orders"),
        "{error:?}"
    );
    assert!(!texts(&error).contains(KEY));

    // Without carriers, orders still come, without the carrier's name and link; the
    // connection check says what is missing.
    fake.with(|s| {
        s.denied.clear();
        s.denied.insert("carriers".into());
    });
    let shop = connect(&fake);
    let report = shop.check().await.unwrap();
    assert_eq!(report.shop_name.as_deref(), Some("Boutique Marie"));
    assert_eq!(
        report.warnings,
        [ShopWarning::MissingScope {
            scope: "carriers".into()
        }]
    );
    let order = shop.order("XKBKNABJK").await.unwrap().unwrap();
    assert_eq!(order.carrier, None);
    assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
}

#[tokio::test]
async fn a_disabled_webservice_and_a_failing_shop_are_told_apart() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    let shop = connect(&fake);
    let report = shop.check().await.unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    fake.with(|s| s.webservice_disabled = true);
    let error = shop.check().await.unwrap_err();
    assert!(
        matches!(error, ShopError::Refused { status: 503, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("webservice is disabled"),
        "{error}"
    );

    fake.with(|s| {
        s.webservice_disabled = false;
        s.server_error = true;
    });
    let error = shop.customer("marie@client.example").await.unwrap_err();
    assert!(
        matches!(error, ShopError::Refused { status: 500, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("memory size exhausted"),
        "{error}"
    );
    assert!(!texts(&error).contains(KEY));
}

#[tokio::test]
async fn a_shop_that_hangs_times_out_quickly() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    fake.with(|s| s.hang = true);
    let options = ConnectorOptions {
        timeout: Duration::from_millis(400),
        max_wait: Duration::from_secs(1),
    };
    let shop = connect_with(&fake, KEY, options);
    let started = Instant::now();
    let error = shop.customer("marie@client.example").await.unwrap_err();
    assert!(matches!(error, ShopError::TimedOut { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.request_count(), 1, "the request did arrive");
}

#[tokio::test]
async fn unreadable_answers_are_malformed_not_a_panic() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    fake.with(|s| s.truncated = true);
    let shop = connect(&fake);
    for error in [
        shop.customer("marie@client.example").await.unwrap_err(),
        shop.order("XKBKNABJK").await.unwrap_err(),
        shop.check().await.unwrap_err(),
        shop.changed_since(0).await.unwrap_err(),
    ] {
        assert!(matches!(error, ShopError::Malformed { .. }), "{error:?}");
        assert!(!texts(&error).contains(KEY));
    }
}

#[tokio::test]
async fn orders_changed_since_a_checkpoint_oldest_change_first() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    let shop = connect(&fake);
    // 10:30 in Paris on 1 March: the 11:00 order and the 12 March one changed after it.
    let since = paris_winter(2026, 3, 1, 10, 30);
    let changed = shop.changed_since(since).await.unwrap();
    let references: Vec<&str> = changed.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(references, ["PLMOKNIJB", "XKBKNABJK"]);
    assert_eq!(changed[0].customer_email, "paul@client.example");
    assert_eq!(changed[1].tracking_number.as_deref(), Some("6A12345678901"));
    let requests = fake.requests();
    let asked = requests
        .iter()
        .find(|r| r.contains("filter[date_upd]"))
        .expect("a date_upd filter");
    assert!(
        asked.contains("filter[date_upd]=[2026-03-01 10:30:00,"),
        "the shop's local time: {asked}"
    );
    assert!(asked.contains("date=1"), "{asked}");
    assert!(asked.contains("sort=[date_upd_ASC"), "{asked}");
    assert!(
        shop.changed_since(paris_winter(2026, 3, 13, 0, 0))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn prestashop_sends_no_webhooks_so_every_delivery_is_refused() {
    let fake = FakePrestaShop::start(Shop::sample()).await;
    let shop = connect(&fake);
    let delivery = WebhookDelivery {
        headers: vec![("x-signature".into(), "sha256=abc".into())],
        body: br#"{"id_order":1042,"current_state":15}"#.to_vec(),
    };
    assert_eq!(shop.webhook(&delivery), Err(WebhookRefusal::NoSecret));
    assert_eq!(
        shop.webhook(&WebhookDelivery::default()),
        Err(WebhookRefusal::NoSecret)
    );
    assert_eq!(
        fake.request_count(),
        0,
        "nothing fetched for a refused delivery"
    );
}

/// End to end: the shop connected with `guichet shop connect`, customers writing through
/// IMAP, answers read from the fake PrestaShop and delivered through Postfix.
#[tokio::test(flavor = "multi_thread")]
async fn a_customer_asking_where_1042_is_gets_the_live_status_and_another_gets_nothing_of_it() {
    let server = MailServer::shared();
    let dir = tempfile::tempdir().unwrap();
    let mailbox = shop_with_answers(server, dir.path(), "0s");
    let marie = server.new_mailbox("customer");
    let paul = server.new_mailbox("customer");
    let mut data = Shop::sample();
    data.customers[0].email = marie.email.clone();
    data.customers[1].email = paul.email.clone();
    // Paul has no order of his own: only Marie's 1042 could be told, and must not be.
    data.orders.retain(|o| o.id_customer == 1);
    let fake = FakePrestaShop::start(data).await;

    let connected = with_stdin(
        guichet(
            dir.path(),
            &[
                "shop",
                "connect",
                "boutique",
                "prestashop",
                "--store-url",
                &fake.url,
                "--key-stdin",
            ],
        ),
        format!("{KEY}\n").as_bytes(),
    );
    let said = String::from_utf8_lossy(&connected.stdout).to_string()
        + &String::from_utf8_lossy(&connected.stderr);
    assert!(connected.status.success(), "{said}");
    assert!(!said.contains(KEY), "{said}");
    let tested = ok(guichet(
        dir.path(),
        &["shop", "test-connection", "boutique"],
    ));
    assert!(tested.contains("Boutique Marie"), "{tested}");

    server.append_mail(
        &mailbox,
        &format!("Marie Dupont <{}>", marie.email),
        "Où est ma commande ?",
        "Bonjour,\r\noù en est ma commande n° 1042 ? Elle n'est pas encore arrivée.\r\nMarie",
        "where-1042@client.example",
    );
    server.append_mail(
        &mailbox,
        &format!("Paul Martin <{}>", paul.email),
        "Commande 1042",
        "Bonjour,\r\noù en est la commande 1042 ? Merci de me donner le suivi.\r\nPaul",
        "other-1042@client.example",
    );
    sync_once(dir.path());

    let received = wait_for_messages(server, &marie, "INBOX", 1).await;
    let answer = MessageParser::default().parse(&received[0]).unwrap();
    let text = answer.body_text(0).unwrap().to_string();
    for expected in [
        "6A12345678901",
        "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",
        "Colissimo",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        fake.requests().iter().any(|r| r.contains(&marie.email)),
        "the order came from the platform: {:?}",
        fake.requests()
    );

    // Paul's ticket was decided (the positive signal); whatever reached him says nothing
    // of Marie's order.
    let tickets = tickets_list(dir.path());
    let number = ticket_with_subject(&tickets, "Commande 1042")["number"]
        .as_i64()
        .unwrap()
        .to_string();
    let shown = ticket_shown(dir.path(), &number);
    assert!(
        shown["messages"][0]["decision"]["decision"].is_string(),
        "{}",
        shown["messages"][0]
    );
    let shown_text = shown.to_string();
    for secret in ["6A12345678901", "XKBKNABJK", "laposte.fr"] {
        assert!(
            !shown_text.contains(secret),
            "{secret} on Paul's ticket: {shown_text}"
        );
    }
    let sent_to_paul = shown["replies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "sent")
        .count();
    if sent_to_paul > 0 {
        for mail in wait_for_messages(server, &paul, "INBOX", sent_to_paul).await {
            let mail = MessageParser::default().parse(&mail).unwrap();
            let text = mail.body_text(0).unwrap().to_string();
            for secret in ["6A12345678901", "XKBKNABJK", "laposte.fr", "Colissimo"] {
                assert!(!text.contains(secret), "{secret} told to Paul:\n{text}");
            }
        }
    }
}

/// Polling, PrestaShop's way of telling changes: shopcore's polling round reads the fake
/// through this client and stores what changed, moving the checkpoint; a shop that fails
/// leaves the checkpoint and the stored orders as they were.
async fn polling_suite(store: guichet::store::Store) {
    use guichet::crypto::SealingKey;
    use guichet::shop::live::{LiveSettings, ShopClients, ShopData, seal_secrets};
    use guichet::shop::platform::Platform;

    let fake = FakePrestaShop::start(Shop::sample()).await;
    let shop = store.add_shop("boutique").await.unwrap();
    let key = SealingKey::from_hex(&"cd".repeat(32)).unwrap();
    let secrets = ConnectorSecrets {
        api_key: Some(SecretString::from(KEY.to_string())),
        ..ConnectorSecrets::default()
    };
    let settings = serde_json::to_string(&ConnectorSettings::PrestaShop(PrestaShopSettings {
        store_url: fake.url.clone(),
    }))
    .unwrap();
    store
        .save_shop_connection(
            shop.id,
            Platform::PrestaShop,
            &settings,
            &seal_secrets(&key, &secrets),
        )
        .await
        .unwrap();
    let since = paris_winter(2026, 3, 1, 10, 30);
    store
        .store_polled_orders(shop.id, Platform::PrestaShop, &[], since)
        .await
        .unwrap();
    let shops = ShopData {
        store: store.clone(),
        key,
        clients: ShopClients::default(),
        settings: LiveSettings::default(),
    };

    assert_eq!(
        shops.poll_changes().await.unwrap(),
        2,
        "{:?}",
        fake.requests()
    );
    assert_eq!(
        store.poll_checkpoint(shop.id).await.unwrap(),
        Some(paris_winter(2026, 3, 12, 14, 5))
    );
    let stored = store
        .order_by_reference(shop.id, "XKBKNABJK")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Shipped);
    assert_eq!(stored.tracking_number.as_deref(), Some("6A12345678901"));
    assert!(
        store
            .order_by_reference(shop.id, "QWERTYUIO")
            .await
            .unwrap()
            .is_none(),
        "changed before the checkpoint: not asked for"
    );

    // Delivered the next morning: the next round brings it.
    fake.with(|s| {
        let order = s.orders.iter_mut().find(|o| o.id == 1042).unwrap();
        order.current_state = 15;
        order.date_upd = "2026-03-13 09:00:00".into();
    });
    assert!(shops.poll_changes().await.unwrap() >= 1);
    let stored = store
        .order_by_reference(shop.id, "XKBKNABJK")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Delivered);
    let checkpoint = paris_winter(2026, 3, 13, 9, 0);
    assert_eq!(
        store.poll_checkpoint(shop.id).await.unwrap(),
        Some(checkpoint)
    );

    // The Webservice switched off: the round asked and failed; nothing moved.
    fake.with(|s| s.webservice_disabled = true);
    let asked = fake.request_count();
    assert_eq!(shops.poll_changes().await.unwrap(), 0);
    assert!(fake.request_count() > asked, "the round did ask");
    assert_eq!(
        store.poll_checkpoint(shop.id).await.unwrap(),
        Some(checkpoint)
    );
    let stored = store
        .order_by_reference(shop.id, "XKBKNABJK")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Delivered);
}

store_tests!(polling_suite => prestashop_polling_sqlite, prestashop_polling_postgres);

/// PrestaShop pushes no webhooks: a delivery to its route, signed or not, is refused and
/// changes nothing stored.
async fn webhook_route_suite(dialect: crate::support::Dialect) {
    use crate::support::web::TestWeb;
    use guichet::shop::platform::Platform;

    let fake = FakePrestaShop::start(Shop::sample()).await;
    let web = TestWeb::start(dialect).await;
    let shop = web.desk.add_shop("boutique").await.unwrap();
    web.desk
        .connect_shop(
            &shop,
            &ConnectorSettings::PrestaShop(PrestaShopSettings {
                store_url: fake.url.clone(),
            }),
            &ConnectorSecrets {
                api_key: Some(SecretString::from(KEY.to_string())),
                ..ConnectorSecrets::default()
            },
        )
        .await
        .unwrap();
    let order = connect(&fake).order("XKBKNABJK").await.unwrap().unwrap();
    web.desk
        .store
        .store_polled_orders(shop.id, Platform::PrestaShop, &[order], 1)
        .await
        .unwrap();
    let stored_status = async || {
        web.desk
            .store
            .order_by_reference(shop.id, "XKBKNABJK")
            .await
            .unwrap()
            .map(|o| o.status)
    };
    assert_eq!(stored_status().await, Some(OrderStatus::Shipped));
    let asked = fake.request_count();
    let client = web.client();
    for signature in [None, Some("sha256=3f0c9a")] {
        let mut request = client
            .post(web.url("/webhooks/prestashop/boutique"))
            .body(r#"{"order":{"id":1042,"reference":"XKBKNABJK","current_state":17}}"#);
        if let Some(signature) = signature {
            request = request.header("x-signature", signature);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), 401, "{signature:?}");
        assert_eq!(
            stored_status().await,
            Some(OrderStatus::Shipped),
            "nothing changed"
        );
    }
    assert_eq!(
        fake.request_count(),
        asked,
        "a refused delivery fetches nothing"
    );
}

crate::support::web::web_tests!(webhook_route_suite => prestashop_webhook_route_sqlite, prestashop_webhook_route_postgres);
