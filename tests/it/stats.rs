//! Statistics over a period, on both dialects: volumes per day and per hour of the week in the
//! shop's zone, the share answered automatically, first response and resolution times, the
//! reopen rate from the timeline and from customer mail on closed tickets, the breakdowns, the
//! quota and the shadow-mode report.

use std::path::Path;

use guichet::config::{Config, Overrides};
use guichet::desk::Desk;
use guichet::desk::stats::Period;
use guichet::model::{ReplyKind, UiLang};
use guichet::store::{GroupCount, NewContact};
use jiff::civil::date;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::store::{incoming, parsed};
use crate::support::store_tests;

const HOUR: i64 = 3_600_000;

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

pub(crate) async fn desk_at(url: &str, blobs: &Path) -> Desk {
    let data_dir = blobs.parent().unwrap().to_path_buf();
    let config = Config::load(
        None,
        |_| None,
        &Overrides {
            data_dir: Some(data_dir),
            database_url: Some(url.to_string()),
        },
    )
    .unwrap();
    Desk::open(config, UiLang::En).await.unwrap()
}

pub(crate) async fn raw_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}

async fn exec(pool: &AnyPool, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn id_of(pool: &AnyPool, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .try_get(0)
        .unwrap()
}

async fn outbox(
    pool: &AnyPool,
    (shop, ticket, message): (i64, i64, i64),
    kind: &str,
    state: &str,
    sent_at: Option<i64>,
    n: usize,
) {
    let sent = sent_at.map_or("NULL".to_string(), |at| at.to_string());
    let created = sent_at.unwrap_or(ms("2026-11-03T12:00:00Z"));
    let reply_to = if kind == "employee" {
        "NULL".to_string()
    } else {
        message.to_string()
    };
    exec(
        pool,
        &format!(
            "INSERT INTO outbox (shop_id, ticket_id, reply_to_message, kind, intent, lang, state, due_at, to_email, subject, \
             body_text, message_id, created_at, updated_at, sent_at) VALUES ({shop}, {ticket}, {reply_to}, '{kind}', 'where_is_my_order', \
             'fr', '{state}', 0, 'c@client.test', 'Re: x', 'body', 'guichet.{n}@b.test', {created}, {created}, {sent})"
        ),
    )
    .await;
    if state == "sent" {
        let at = sent_at.unwrap();
        exec(
            pool,
            &format!(
                "INSERT INTO messages (shop_id, ticket_id, dedup_key, message_id, direction, from_email, subject, received_at, \
                 date_ms, body_text, new_text, raw) VALUES ({shop}, {ticket}, 'mid:guichet.{n}@b.test', 'guichet.{n}@b.test', 'out', \
                 'sav@b.test', 'Re: x', {at}, {at}, 'body', 'body', 'raw')"
            ),
        )
        .await;
    }
}

async fn event(
    pool: &AnyPool,
    shop: i64,
    ticket: i64,
    employee: Option<i64>,
    kind: &str,
    detail: &str,
    at: i64,
) {
    let employee = employee.map_or("NULL".to_string(), |e| e.to_string());
    exec(
        pool,
        &format!(
            "INSERT INTO ticket_events (shop_id, ticket_id, employee_id, kind, detail, at) \
             VALUES ({shop}, {ticket}, {employee}, '{kind}', '{detail}', {at})"
        ),
    )
    .await;
}

async fn statistics_over_a_period(url: &str, blobs: &Path) {
    let desk = desk_at(url, blobs).await;
    let store = &desk.store;
    let pool = raw_pool(url).await;
    let shop = store.add_shop("boutique").await.unwrap();
    // New York, on winter time (UTC-5) since 1 November 2026.
    exec(
        &pool,
        &format!(
            "UPDATE shops SET time_zone = 'America/New_York', plan = 'basic' WHERE id = {}",
            shop.id
        ),
    )
    .await;
    let service = store
        .add_contact(
            shop.id,
            &NewContact {
                name: "Service client".into(),
                email: "sav@b.test".into(),
                description: String::new(),
                customer_service: true,
            },
        )
        .await
        .unwrap();

    // Monday 2 to Wednesday 4 November 2026 in New York (EST, UTC-5).
    let day = |d: u32, hh: i64, mm: i64| {
        ms(&format!("2026-11-{d:02}T00:00:00Z")) + (hh + 5) * HOUR + mm * 60_000
    };
    let mails = [
        (
            "a1@c.test",
            "ann@c.test",
            "Commande",
            day(2, 9, 10),
            Some(service.id),
        ),
        (
            "b1@c.test",
            "bob@c.test",
            "Colis",
            day(2, 9, 40),
            Some(service.id),
        ),
        ("c1@c.test", "cat@c.test", "Facture", day(3, 23, 50), None),
        // Tuesday 3 November 23:50 in New York is already the 4th in UTC: it stays on the 3rd.
        (
            "d1@c.test",
            "dan@c.test",
            "Avant",
            ms("2026-10-20T12:00:00Z"),
            None,
        ),
    ];
    for (id, from, subject, at, contact) in mails {
        let batch = [incoming(store, parsed(id, from, subject, at), &[])];
        store
            .file_batch(shop.id, None, contact, None, &batch)
            .await
            .unwrap();
        // Tickets are created when filed; place them when their mail came.
        exec(
            &pool,
            &format!("UPDATE tickets SET created_at = {at} WHERE customer_email = '{from}'"),
        )
        .await;
    }
    let ticket = |from: &'static str| {
        let pool = pool.clone();
        async move {
            id_of(
                &pool,
                &format!("SELECT id FROM tickets WHERE customer_email = '{from}'"),
            )
            .await
        }
    };
    let message = |from: &'static str| {
        let pool = pool.clone();
        async move {
            id_of(
                &pool,
                &format!("SELECT id FROM messages WHERE from_email = '{from}'"),
            )
            .await
        }
    };
    let (ann, bob, cat) = (
        ticket("ann@c.test").await,
        ticket("bob@c.test").await,
        ticket("cat@c.test").await,
    );
    // Ann: answered automatically 30 min later. Bob: an employee's answer after 5 h.
    // Cat: only a shadow draft.
    outbox(
        &pool,
        (shop.id, ann, message("ann@c.test").await),
        "answer",
        "sent",
        Some(day(2, 9, 40)),
        1,
    )
    .await;
    outbox(
        &pool,
        (shop.id, bob, message("bob@c.test").await),
        "employee",
        "sent",
        Some(day(2, 14, 40)),
        2,
    )
    .await;
    outbox(
        &pool,
        (shop.id, cat, message("cat@c.test").await),
        "answer",
        "shadow",
        None,
        3,
    )
    .await;

    // Ann's ticket closed after 2 h then reopened by an employee; Bob's closed after 30 h, then
    // Bob wrote again on the closed ticket.
    let employee = id_of(
        &pool,
        &format!(
            "INSERT INTO employees (shop_id, email, name, role, lang, password_hash, created_at) \
             VALUES ({}, 'eve@b.test', 'Eve', 'employee', 'fr', 'x', 0) RETURNING id",
            shop.id
        ),
    )
    .await;
    exec(&pool, &format!("INSERT INTO employees (shop_id, email, name, role, lang, password_hash, created_at) VALUES ({}, 'zoe@b.test', 'Zoé', 'admin', 'en', 'x', 0)", shop.id)).await;
    exec(
        &pool,
        &format!("UPDATE tickets SET assignee_id = {employee} WHERE id = {bob}"),
    )
    .await;
    let closed = r#"{"from":"open","to":"closed"}"#;
    let reopened = r#"{"from":"closed","to":"open"}"#;
    event(
        &pool,
        shop.id,
        ann,
        Some(employee),
        "status_changed",
        closed,
        day(2, 11, 10),
    )
    .await;
    event(
        &pool,
        shop.id,
        ann,
        Some(employee),
        "status_changed",
        reopened,
        day(2, 12, 0),
    )
    .await;
    event(
        &pool,
        shop.id,
        bob,
        Some(employee),
        "replied",
        "{}",
        day(2, 14, 40),
    )
    .await;
    event(
        &pool,
        shop.id,
        bob,
        Some(employee),
        "status_changed",
        closed,
        day(3, 15, 40),
    )
    .await;
    let later = incoming(
        store,
        parsed("b2@c.test", "bob@c.test", "Re: Colis", day(3, 18, 0)),
        &[],
    );
    store
        .file_batch(shop.id, None, Some(service.id), None, &[later])
        .await
        .unwrap();
    exec(
        &pool,
        &format!(
            "UPDATE messages SET received_at = {} WHERE message_id = 'b2@c.test'",
            day(3, 18, 0)
        ),
    )
    .await;

    let period = Period::new(date(2026, 11, 2), date(2026, 11, 5), "America/New_York").unwrap();
    assert_eq!(period.from_ms, ms("2026-11-02T05:00:00Z"));
    let now = ms("2026-11-04T12:00:00Z");
    let stats = desk.stats(&shop, &period, now).await.unwrap();

    let per_day: Vec<(u64, u64, u64)> = stats
        .days
        .iter()
        .map(|d| (d.tickets, d.customer_messages, d.replies))
        .collect();
    assert_eq!(
        per_day,
        vec![(2, 2, 2), (1, 2, 0), (0, 0, 0)],
        "{:?}",
        stats.days
    );
    assert_eq!(stats.days[0].date, "2026-11-02");
    assert_eq!(
        (stats.tickets, stats.customer_messages, stats.replies),
        (3, 4, 2)
    );
    assert_eq!(stats.answered_automatically, 1);
    assert_eq!(stats.automatic_percent(), Some(25.0));

    // First responses: 30 min and 5 h; resolutions: 2 h (Ann, first close) and 30 h (Bob).
    assert_eq!(stats.first_response.count, 2);
    assert_eq!(stats.first_response.median_ms, Some(30 * 60_000));
    assert_eq!(stats.first_response.p90_ms, Some(5 * HOUR));
    assert_eq!(stats.first_response.histogram, [1, 0, 1, 0, 0]);
    assert_eq!(stats.resolution.histogram, [0, 1, 0, 1, 0]);
    // Both closed tickets were reopened: Ann by an employee, Bob by writing again.
    assert_eq!((stats.reopens.closed, stats.reopens.reopened), (2, 2));

    // Busiest: Monday 09:00 in New York (two messages), whatever UTC says.
    assert_eq!(stats.busiest.0[0][9], 2);
    assert_eq!(stats.busiest.0[1][23], 1);
    assert_eq!(stats.busiest.busiest(), Some((0, 9, 2)));

    assert_eq!(
        stats.by_contact,
        vec![
            GroupCount {
                key: Some("Service client".into()),
                tickets: 2,
                replies: 2
            },
            GroupCount {
                key: None,
                tickets: 1,
                replies: 0
            },
        ]
    );
    let employees: Vec<(&str, i64, i64, i64)> = stats
        .by_employee
        .iter()
        .map(|e| (e.name.as_str(), e.tickets, e.replies, e.assigned))
        .collect();
    assert_eq!(employees, vec![("Eve", 1, 1, 1), ("Zoé", 0, 0, 0)]);
    assert_eq!(stats.by_intent.iter().map(|g| g.tickets).sum::<i64>(), 3);

    // Basic plan: one automatic answer this month of 150.
    assert_eq!((stats.quota.used, stats.quota.limit), (1, Some(150)));
    assert_eq!(stats.quota.month, "2026-11");

    assert_eq!((stats.shadow.would_answer, stats.shadow.would_ask), (1, 0));
    assert_eq!(stats.shadow.drafts.len(), 1);
    assert_eq!(stats.shadow.drafts[0].kind, ReplyKind::Answer);
    assert_eq!(stats.shadow.by_intent["where_is_my_order"].answers, 1);

    // Another shop sees none of it.
    let other = store.add_shop("autre").await.unwrap();
    let empty = desk.stats(&other, &period, now).await.unwrap();
    assert_eq!(
        (empty.tickets, empty.customer_messages, empty.replies),
        (0, 0, 0)
    );
    assert_eq!(empty.reopens.closed, 0);
    assert!(empty.by_employee.is_empty() && empty.shadow.drafts.is_empty());
    assert_eq!(empty.first_response.median_ms, None);

    // A period before everything is empty; JSON has the documented fields.
    let before = Period::new(date(2026, 10, 1), date(2026, 10, 8), "America/New_York").unwrap();
    let old = desk.stats(&shop, &before, now).await.unwrap();
    assert_eq!(old.days.len(), 7);
    assert_eq!(old.tickets, 0);
    let json = serde_json::to_value(&stats).unwrap();
    for field in [
        "days",
        "first_response",
        "reopens",
        "busiest",
        "quota",
        "shadow",
        "by_employee",
    ] {
        assert!(json.get(field).is_some(), "{field}");
    }
    desk.store.close().await;
}

store_tests!(url statistics_over_a_period => statistics_sqlite, statistics_postgres);
