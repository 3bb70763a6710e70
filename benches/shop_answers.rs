//! What live Shopify data costs an automatic answer: with a warm cache, the order lookup and
//! the `order_status` answer rendered from it, per message (goal: under 1 ms added); with a
//! cold cache, the platform requests made for many tickets of several messages each (goal: one
//! per ticket, never one per message). The platform is the Shopify-format server of the
//! integration tests, on the loopback, counting the GraphQL requests it answers.
//!
//! `cargo bench --bench shop_answers` (figures printed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use guichet::answering::plan::order_summary;
use guichet::model::UiLang;
use guichet::replies::templates::find_template;
use guichet::replies::{ReplyContext, render, shipped_templates};
use guichet::shop::connector::{
    ConnectorOptions, ConnectorSecrets, ConnectorSettings, ShopifySettings, open_platform,
};
use guichet::shop::live::{LiveSettings, LiveShop};
use guichet::store::Store;
use secrecy::SecretString;

// The same server the connector's tests talk to: one fake, not a twin.
#[allow(dead_code)]
#[path = "../tests/it/support/fakes/shopify.rs"]
mod fake;

use fake::{FakeCustomer, FakeOrder, FakeShopify};

const TOKEN: &str = "shpat_bench_token_0123456789abcdef";
const TICKETS: u64 = 50;
const MESSAGES_PER_TICKET: usize = 5;

#[tokio::main]
async fn main() {
    let shopify = FakeShopify::start().await;
    shopify.accept_token(TOKEN);
    for n in 0..TICKETS {
        let customer = FakeCustomer::new(
            1000 + n,
            &format!("client{n}@client.example"),
            "Marie",
            "Curie",
        );
        shopify.add_order(FakeOrder::shipped(
            5000 + n,
            &format!("#{}", 2000 + n),
            &customer,
            "6A12345678901",
        ));
        shopify.add_customer(customer);
    }

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("guichet.db").display()
    );
    let store = Store::open(&url, &dir.path().join("blobs")).await.unwrap();
    let shop_id = store.add_shop("boutique").await.unwrap().id;
    let settings = ConnectorSettings::Shopify(ShopifySettings {
        store_url: shopify.url.clone(),
        api_version: "2025-10".into(),
        client_id: None,
    });
    let secrets = ConnectorSecrets {
        access_token: Some(SecretString::from(TOKEN.to_string())),
        ..Default::default()
    };
    let client = open_platform(&settings, &secrets, ConnectorOptions::default())
        .unwrap()
        .unwrap();
    let live = LiveShop::new(
        &store,
        shop_id,
        Some(Arc::from(client)),
        LiveSettings::default(),
    );
    let templates = shipped_templates();
    let template = find_template(&templates, "order_status", UiLang::Fr).unwrap();

    let answer = |n: u64| {
        let live = &live;
        async move {
            let email = format!("client{n}@client.example");
            let order = live
                .find_order(&email, &[format!("#{}", 2000 + n)])
                .await
                .unwrap()
                .0
                .expect("the customer's order");
            let context = ReplyContext {
                ticket_number: n as i64,
                shop_name: "Boutique".into(),
                order: Some(order_summary(&order, UiLang::Fr, "Europe/Paris")),
                order_reference: order.reference.clone(),
                ..ReplyContext::default()
            };
            render(template, &context).unwrap()
        }
    };

    // Cold: every ticket's customer is unknown to the cache; each message is answered.
    let started = Instant::now();
    for n in 0..TICKETS {
        for _ in 0..MESSAGES_PER_TICKET {
            assert!(answer(n).await.contains("6A12345678901"));
        }
    }
    let cold = started.elapsed();
    let requests = shopify.graphql_requests();
    // Answers Shopify throttled (its cost bucket, emptied by this burst) were asked again.
    let questions = requests - shopify.throttled_answers();
    println!(
        "cold cache: {TICKETS} tickets × {MESSAGES_PER_TICKET} messages, {questions} Shopify \
         questions ({:.2} per ticket; {requests} requests with the throttled retries), {:.2} ms \
         per message",
        questions as f64 / TICKETS as f64,
        per_message(cold, TICKETS as usize * MESSAGES_PER_TICKET)
    );

    // Warm: the same tickets again, within the cache's lifetime.
    let rounds: usize = 4;
    let started = Instant::now();
    for _ in 0..rounds {
        for n in 0..TICKETS {
            answer(n).await;
        }
    }
    let warm = started.elapsed();
    let answers = rounds * TICKETS as usize;

    // The same answers rendered from orders already in hand: what the lookup adds is the rest.
    let order = live
        .find_order("client0@client.example", &["#2000".to_string()])
        .await
        .unwrap()
        .0
        .unwrap();
    let started = Instant::now();
    for n in 0..answers {
        let context = ReplyContext {
            ticket_number: n as i64,
            shop_name: "Boutique".into(),
            order: Some(order_summary(&order, UiLang::Fr, "Europe/Paris")),
            order_reference: order.reference.clone(),
            ..ReplyContext::default()
        };
        render(template, &context).unwrap();
    }
    let rendering = started.elapsed();
    println!(
        "warm cache: {answers} answers, {} more Shopify requests, {:.3} ms per message in all, \
         of which the live lookup adds {:.3} ms (rendering alone {:.3} ms)",
        shopify.graphql_requests() - requests,
        per_message(warm, answers),
        per_message(warm.saturating_sub(rendering), answers),
        per_message(rendering, answers)
    );
}

fn per_message(elapsed: Duration, messages: usize) -> f64 {
    elapsed.as_secs_f64() * 1000.0 / messages as f64
}
