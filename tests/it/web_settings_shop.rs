//! The shop's platform settings page over real HTTP against the WooCommerce fake: connect, test
//! (working, then refused with the platform's own words), a secret left empty kept, disconnect;
//! no secret in any page; employees who are not admins and requests without the CSRF token
//! change nothing.

use guichet::shop::platform::Platform;

use crate::support::Dialect;
use crate::support::fakes::shopify::FakeShopify;
use crate::support::fakes::woocommerce::{CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce};
use crate::support::web::{TestWeb, web_tests};

/// Alphanumeric, so that a leak is found whatever the page's HTML escaping.
const WEBHOOK_SECRET: &str = "whsecSettingsPage7f3a9c";
const WRONG_SECRET: &str = "cs_1111111111111111111111111111111111111111";
const SHOPIFY_CLIENT_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const SHOPIFY_CLIENT_SECRET: &str = "shpssSettingsPage0c1d2e3f4a5b6c7d";

/// Posts `fields` with the CSRF token, expects 303 to the page, and returns the page it leads
/// to with its flash message.
async fn post_and_follow(
    web: &TestWeb,
    client: &reqwest::Client,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> String {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", csrf));
    let response = client.post(web.url(path)).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303, "POST {path}");
    assert_eq!(response.headers()["location"], "/settings/shop");
    let page = client.get(web.url("/settings/shop")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

fn flash(page: &str) -> (bool, String) {
    let start = page
        .find("class=\"flash ")
        .unwrap_or_else(|| panic!("no flash message in {page}"));
    let rest = &page[start..];
    let ok = rest.starts_with("class=\"flash ok\"");
    let text = &rest[rest.find('>').unwrap() + 1..];
    (ok, text[..text.find("</p>").unwrap()].to_string())
}

fn assert_no_secret(page: &str) {
    for secret in [
        CONSUMER_KEY,
        CONSUMER_SECRET,
        WEBHOOK_SECRET,
        WRONG_SECRET,
        SHOPIFY_CLIENT_SECRET,
    ] {
        assert!(!page.contains(secret), "a secret in the page: {page}");
    }
}

fn woocommerce_form<'a>(
    url: &'a str,
    key: &'a str,
    secret: &'a str,
    webhook: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("platform", "woocommerce"),
        ("store_url", url),
        ("consumer_key", key),
        ("consumer_secret", secret),
        ("tracking_meta_key", ""),
        ("webhook_secret", webhook),
    ]
}

async fn the_shop_is_connected_tested_and_disconnected_from_the_page(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let fake = FakeWooCommerce::start().await;
    let admin = web
        .employee("boutique", "admin@boutique.example", true)
        .await;
    let (client, csrf) = web.signed_in(&admin).await;
    let mut pages = Vec::new();

    let index = client.get(web.url("/settings")).send().await.unwrap();
    assert!(
        index
            .text()
            .await
            .unwrap()
            .contains("href=\"/settings/shop\"")
    );
    let empty = client.get(web.url("/settings/shop")).send().await.unwrap();
    assert_eq!(empty.status(), 200);
    let empty = empty.text().await.unwrap();
    assert!(empty.contains("not connected to a platform"), "{empty}");
    for platform in ["shopify", "prestashop", "woocommerce", "csv"] {
        assert!(empty.contains(&format!("name=\"platform\" value=\"{platform}\"")));
    }

    // Connected with the key, its secret and a webhook secret.
    let store_url = format!("{}/", fake.url);
    let form = woocommerce_form(&store_url, CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET);
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop", &form).await;
    assert_eq!(
        flash(&page),
        (true, "Shop boutique connected to WooCommerce.".into())
    );
    let shown_url = fake.url.replace('/', "&#x2f;");
    assert!(page.contains(&format!("<dd>{shown_url}</dd>")), "{page}");
    assert!(
        page.contains("_wc_shipment_tracking_items"),
        "the default key"
    );
    let webhook = web
        .url("/webhooks/woocommerce/boutique")
        .replace('/', "&#x2f;");
    assert!(page.contains(&webhook), "the webhook address: {page}");
    assert!(page.contains("not tested yet"));
    pages.push(page);
    let summary = web
        .desk
        .shop_connection(&admin.shop)
        .await
        .unwrap()
        .expect("connected");
    assert_eq!(summary.platform, Platform::WooCommerce);
    assert_eq!(summary.check_ok, None);

    // The test asks the platform and says what it found.
    let asked = fake.request_count();
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop/test", &[]).await;
    assert!(fake.request_count() > asked, "the platform was asked");
    let (ok, text) = flash(&page);
    assert!(ok, "{text}");
    assert!(
        text.contains("WooCommerce answers: the connection works."),
        "{text}"
    );
    assert!(page.contains("class=\"last-check\">working"), "{page}");
    pages.push(page);

    // A wrong secret typed, the key left empty: the key is kept, the platform refuses.
    let form = woocommerce_form(&fake.url, "", WRONG_SECRET, "");
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop", &form).await;
    assert!(flash(&page).0, "{}", flash(&page).1);
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop/test", &[]).await;
    let (ok, text) = flash(&page);
    assert!(!ok);
    assert!(
        text.contains("WooCommerce refuses the credentials")
            && text.contains("Consumer secret is invalid."),
        "{text}"
    );
    assert!(page.contains("class=\"last-check\">failed"), "{page}");
    assert!(
        page.contains("class=\"check-error\">WooCommerce refuses the credentials"),
        "the last failure stays on the page: {page}"
    );
    pages.push(page);
    assert_eq!(
        web.desk
            .shop_connection(&admin.shop)
            .await
            .unwrap()
            .unwrap()
            .check_ok,
        Some(false)
    );

    // The right secret again, still without the key: working, so the key was kept.
    let form = woocommerce_form(&fake.url, "", CONSUMER_SECRET, "");
    post_and_follow(&web, &client, &csrf, "/settings/shop", &form).await;
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop/test", &[]).await;
    assert!(flash(&page).0, "{}", flash(&page).1);
    pages.push(page);

    // Disconnected: the page says so, and a second time is refused.
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop/disconnect", &[]).await;
    assert_eq!(
        flash(&page),
        (
            true,
            "Shop boutique disconnected; the data already fetched stays.".into()
        )
    );
    assert!(page.contains("not connected to a platform"));
    assert!(
        web.desk
            .shop_connection(&admin.shop)
            .await
            .unwrap()
            .is_none()
    );
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop/disconnect", &[]).await;
    assert!(!flash(&page).0);
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop/test", &[]).await;
    assert!(!flash(&page).0);

    // Nothing stored to keep now: the missing key is named as the form names it.
    let form = woocommerce_form(&fake.url, "", CONSUMER_SECRET, "");
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop", &form).await;
    assert_eq!(
        flash(&page),
        (
            false,
            "WooCommerce needs this field: Consumer key (ck_…).".into()
        )
    );
    assert!(
        web.desk
            .shop_connection(&admin.shop)
            .await
            .unwrap()
            .is_none()
    );
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/shop",
        &[("platform", "magento")],
    )
    .await;
    assert!(!flash(&page).0 && flash(&page).1.contains("magento"));
    pages.push(page);

    for page in &pages {
        assert_no_secret(page);
    }
}

web_tests!(the_shop_is_connected_tested_and_disconnected_from_the_page
    => connect_test_disconnect_sqlite, connect_test_disconnect_postgres);

async fn only_admins_with_the_token_change_the_connection(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let fake = FakeWooCommerce::start().await;
    let admin = web
        .employee("boutique", "admin@boutique.example", true)
        .await;
    let clerk = web
        .employee("boutique", "clerk@boutique.example", false)
        .await;
    let form = woocommerce_form(&fake.url, CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET);

    let (as_clerk, clerk_csrf) = web.signed_in(&clerk).await;
    let page = as_clerk
        .get(web.url("/settings/shop"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 403);
    for path in [
        "/settings/shop",
        "/settings/shop/test",
        "/settings/shop/disconnect",
    ] {
        let mut fields = form.clone();
        fields.push(("csrf", &clerk_csrf));
        let response = as_clerk
            .post(web.url(path))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }

    let (as_admin, csrf) = web.signed_in(&admin).await;
    let without = as_admin
        .post(web.url("/settings/shop"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403, "no CSRF field");
    let mut wrong = form.clone();
    let forged = "0".repeat(csrf.len());
    wrong.push(("csrf", &forged));
    let response = as_admin
        .post(web.url("/settings/shop"))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "a wrong CSRF field");
    assert_no_secret(&response.text().await.unwrap());
    assert!(
        web.desk
            .shop_connection(&admin.shop)
            .await
            .unwrap()
            .is_none(),
        "nothing was connected"
    );
    assert_eq!(fake.request_count(), 0, "the platform was never asked");

    // The same form with the token works: the refusals above were the checks, not the form.
    let mut fields = form.clone();
    fields.push(("csrf", &csrf));
    let response = as_admin
        .post(web.url("/settings/shop"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(
        web.desk
            .shop_connection(&admin.shop)
            .await
            .unwrap()
            .is_some()
    );
    let response = as_clerk
        .post(web.url("/settings/shop/disconnect"))
        .form(&[("csrf", &clerk_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        web.desk
            .shop_connection(&admin.shop)
            .await
            .unwrap()
            .is_some(),
        "the employee did not disconnect it"
    );
}

web_tests!(only_admins_with_the_token_change_the_connection
    => admins_only_sqlite, admins_only_postgres);

/// Shopify through the page: an app's client credentials, and the test's warning when the app
/// lacks `read_all_orders`.
async fn the_shopify_test_shows_its_warnings(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let fake = FakeShopify::start().await;
    fake.install_app(SHOPIFY_CLIENT_ID, SHOPIFY_CLIENT_SECRET);
    fake.set_scopes(&["read_orders", "read_customers"]);
    let admin = web
        .employee("La Boutique", "admin@boutique.example", true)
        .await;
    let (client, csrf) = web.signed_in(&admin).await;
    let form = [
        ("platform", "shopify"),
        ("store_url", fake.url.as_str()),
        ("api_version", ""),
        ("access_token", ""),
        ("client_id", SHOPIFY_CLIENT_ID),
        ("client_secret", SHOPIFY_CLIENT_SECRET),
        ("webhook_secret", ""),
    ];
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop", &form).await;
    assert!(flash(&page).0, "{}", flash(&page).1);
    assert!(page.contains("<dd>2025-10</dd>"), "the default version");
    assert!(page.contains(&format!("<dd>{SHOPIFY_CLIENT_ID}</dd>")));
    let webhook = web
        .url("/webhooks/shopify/La%20Boutique")
        .replace('/', "&#x2f;");
    assert!(page.contains(&webhook), "the webhook address: {page}");
    let page = post_and_follow(&web, &client, &csrf, "/settings/shop/test", &[]).await;
    let (ok, text) = flash(&page);
    assert!(ok, "{text}");
    assert!(fake.token_requests() >= 1, "the grant was used");
    assert!(
        text.contains("Shopify answers: the connection works.")
            && text.contains("Warning: without the read_all_orders permission"),
        "{text}"
    );
    assert_no_secret(&page);
}

web_tests!(the_shopify_test_shows_its_warnings => shopify_warnings_sqlite, shopify_warnings_postgres);
