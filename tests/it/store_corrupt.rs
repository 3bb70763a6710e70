//! A JSON column that does not decode is a typed error naming the row, on both dialects: never
//! an empty value that would silently stand for "no triage", "no automation headers" or "no
//! items".

use guichet::shop::{Order, OrderItem, OrderStatus};
use guichet::store::{Store, StoreError};
use sqlx::any::AnyPoolOptions;

use crate::store::{incoming, parsed};
use crate::support::store_tests;

const T0: i64 = 1_790_000_000_000;

/// Asserts `result` is the corrupt-row error for `table`.`column` of row `id`.
fn assert_corrupt<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    table: &str,
    id: i64,
    column: &str,
) {
    match result {
        Err(StoreError::Corrupt {
            table: t,
            id: i,
            column: c,
            reason,
        }) => {
            assert_eq!((t, i, c), (table, id, column), "names the row");
            assert!(!reason.is_empty(), "says why");
        }
        other => panic!("expected corrupt {table}.{column} of row {id}, got {other:?}"),
    }
}

async fn corrupt_rows_are_named(store: Store, url: &str) {
    sqlx::any::install_default_drivers();
    let raw = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    let shop = store.add_shop("boutique").await.unwrap();
    let mut message = parsed("m1@client.test", "ann@client.test", "Ma commande", T0);
    message.automation.precedence = Some("bulk".into());
    let batch = [incoming(&store, message, &[])];
    store
        .file_batch(shop.id, None, None, None, &batch)
        .await
        .unwrap();
    let number = store.tickets(Some(shop.id)).await.unwrap()[0].number;
    let (ticket, messages) = store.ticket(shop.id, number).await.unwrap();
    let id = messages[0].id;
    assert!(messages[0].triage.is_some(), "a sound row decodes");
    assert_eq!(store.pending_messages(shop.id, 10).await.unwrap().len(), 1);

    for column in ["triage", "reply_decision", "automation"] {
        let sql = format!("UPDATE messages SET {column} = '{{\"cut'");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&raw)
            .await
            .unwrap();
        if column != "automation" {
            assert_corrupt(
                store.ticket(shop.id, ticket.number).await,
                "messages",
                id,
                column,
            );
        }
        if column != "reply_decision" {
            assert_corrupt(
                store.pending_messages(shop.id, 10).await,
                "messages",
                id,
                column,
            );
        }
        if column == "triage" {
            assert_corrupt(
                store
                    .correct_intent(shop.id, id, "order_status", "claire")
                    .await,
                "messages",
                id,
                column,
            );
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET {column} = NULL"
        )))
        .execute(&raw)
        .await
        .unwrap();
    }
    assert!(
        store.ticket(shop.id, ticket.number).await.is_ok(),
        "NULL is no value, not a corrupt one"
    );

    let order = Order {
        ordered_at: Some(T0),
        items: vec![OrderItem {
            name: "Robe".into(),
            quantity: 1,
        }],
        ..Order::new("10452", "ann@client.test", OrderStatus::Shipped)
    };
    store.import_orders(shop.id, &[order]).await.unwrap();
    assert_eq!(
        store
            .customer_orders(shop.id, "ann@client.test")
            .await
            .unwrap()[0]
            .items
            .len(),
        1
    );
    sqlx::query("UPDATE orders SET items = 'not json'")
        .execute(&raw)
        .await
        .unwrap();
    let order_id: i64 = sqlx::Row::get(
        &sqlx::query("SELECT id FROM orders")
            .fetch_one(&raw)
            .await
            .unwrap(),
        "id",
    );
    assert_corrupt(
        store.customer_orders(shop.id, "ann@client.test").await,
        "orders",
        order_id,
        "items",
    );
    assert_corrupt(
        store.order_by_reference(shop.id, "10452").await,
        "orders",
        order_id,
        "items",
    );
    raw.close().await;
}

store_tests!(at corrupt_rows_are_named =>
    corrupt_json_columns_are_named_errors_sqlite, corrupt_json_columns_are_named_errors_postgres);
