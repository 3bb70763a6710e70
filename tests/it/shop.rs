//! Orders: `guichet orders import` as a user runs it on a spreadsheet's export, and the store's
//! order lookups that answers read, on SQLite and PostgreSQL.

use guichet::shop::live::{LiveSettings, LiveShop};
use guichet::shop::{Order, OrderStatus, find_order};
use guichet::store::Store;

use crate::cli::{guichet, run};
use crate::support::cli::empty_shop;
use crate::support::{open_data_dir, store_tests};

#[tokio::test]
async fn a_french_spreadsheet_export_imports_its_good_rows_and_names_the_bad_ones() {
    let dir = empty_shop();
    let file = dir.path().join("commandes.csv");
    // What a French spreadsheet writes: a byte order mark, `;`, CRLF, its own column names
    // and order, a quoted value holding the separator, an extra column, blank rows at the end.
    std::fs::write(
        &file,
        "\u{feff}Référence interne;Reference;Customer Email;Status;Items;Ordered At\r\n\
         A-1;1042;Marie@Client.example;shipped;\"2 x Mug, bleu; 1 x Théière\";20/11/2026\r\n\
         A-2;1043;paul@client.example;shipped;1 x Mug;hier\r\n\
         A-3;1044;marie@client.example;delivered;;2026-11-02\r\n\
         ;;;;;\r\n",
    )
    .unwrap();
    let output = run(guichet(
        dir.path(),
        &["orders", "import", file.to_str().unwrap()],
    ));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Orders imported: 2"), "{stdout}");
    assert!(
        stderr.contains("commandes.csv: line 3: unreadable date \"hier\""),
        "{stderr}"
    );
    assert!(stderr.contains("1 row(s) skipped"), "{stderr}");

    // The same rejection in French; importing again updates, never duplicates.
    let french = run(guichet(
        dir.path(),
        &["--lang", "fr", "orders", "import", file.to_str().unwrap()],
    ));
    let stderr = String::from_utf8_lossy(&french.stderr);
    assert!(
        stderr.contains("ligne 3 : date « hier » illisible"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&french.stdout).contains("Commandes importées : 2"));

    let store = open_data_dir(dir.path()).await;
    let shop = store.shop_by_name("boutique").await.unwrap();
    let orders = store
        .customer_orders(shop.id, "marie@client.example")
        .await
        .unwrap();
    let references: Vec<&str> = orders.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(references, ["1042", "1044"], "newest first, each once");
    assert_eq!(orders[0].items[0].name, "Mug, bleu");
    assert!(
        store
            .customer_orders(shop.id, "paul@client.example")
            .await
            .unwrap()
            .is_empty()
    );

    // A file without a required column is refused whole, with nothing imported.
    std::fs::write(&file, "reference;status\n2001;paid\n").unwrap();
    let refused = run(guichet(
        dir.path(),
        &["orders", "import", file.to_str().unwrap()],
    ));
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("missing column customer_email"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        store
            .order_by_reference(shop.id, "2001")
            .await
            .unwrap()
            .is_none()
    );
    store.close().await;
}

fn order(reference: &str, email: &str, ordered_at: Option<i64>) -> Order {
    Order {
        ordered_at,
        ..Order::new(reference, email, OrderStatus::Shipped)
    }
}

async fn lookups_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let other = store.add_shop("autre").await.unwrap();
    store
        .import_orders(
            shop.id,
            &[
                order("#1041", "marie@client.example", Some(1_000)),
                order("1042", "marie@client.example", Some(3_000)),
                order("1040", "marie@client.example", None),
                order("1043", "paul@client.example", Some(2_000)),
            ],
        )
        .await
        .unwrap();
    store
        .import_orders(
            other.id,
            &[order("1050", "marie@client.example", Some(9_000))],
        )
        .await
        .unwrap();

    // Newest first and undated last, on both dialects (they sort NULLs at opposite ends).
    let orders = store
        .customer_orders(shop.id, "Marie@Client.example")
        .await
        .unwrap();
    let references: Vec<&str> = orders.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(references, ["1042", "#1041", "1040"]);

    // A reference written with or without Shopify's `#`, by the file or by the customer.
    for written in ["1041", "#1041", " #1041 "] {
        let found = store.order_by_reference(shop.id, written).await.unwrap();
        assert_eq!(found.map(|o| o.reference).as_deref(), Some("#1041"));
    }
    assert!(
        store
            .order_by_reference(shop.id, "1050")
            .await
            .unwrap()
            .is_none()
    );

    // Answers find the customer's own order only.
    let source = &LiveShop::new(&store, shop.id, None, LiveSettings::default());
    let find = |email: &'static str, refs: &'static [&'static str]| {
        let refs: Vec<String> = refs.iter().map(|r| r.to_string()).collect();
        async move {
            find_order(source, email, &refs)
                .await
                .unwrap()
                .map(|o| o.reference)
        }
    };
    assert_eq!(
        find("marie@client.example", &["#1041"]).await.as_deref(),
        Some("#1041")
    );
    assert_eq!(
        find("marie@client.example", &["1043"]).await.as_deref(),
        Some("1042"),
        "Paul's order is not shown to Marie: her latest instead"
    );
    assert_eq!(find("nobody@client.example", &["1042"]).await, None);

    // Importing again updates the row.
    let mut delivered = order("1042", "marie@client.example", Some(3_000));
    delivered.status = OrderStatus::Delivered;
    store.import_orders(shop.id, &[delivered]).await.unwrap();
    let again = store
        .order_by_reference(shop.id, "1042")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, OrderStatus::Delivered);
    assert_eq!(
        store
            .customer_orders(shop.id, "marie@client.example")
            .await
            .unwrap()
            .len(),
        3
    );
}

store_tests!(lookups_suite => order_lookups_sqlite, order_lookups_postgres);
