//! The shop's platform connection for administrators: what it is connected to (never its
//! secrets), a form per platform, the connection test in the words of `guichet shop
//! test-connection`, and the address to paste in the platform for its webhooks.

use axum::extract::{Extension, Form};
use axum::http::HeaderMap;
use axum::response::Response;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::settings::{back, choice, filled, refused, settings_page};
use super::settings_more::public_base;
use super::{Access, AppState, Routes, WebResult, WebResultExt};
use crate::desk::DeskError;
use crate::desk::shop_connections::{ConnectionSummary, Secret, ShopConnectionError};
use crate::model::UiLang;
use crate::shop::connector::{
    ConnectorSecrets, ConnectorSettings, PrestaShopSettings, SHOPIFY_API_VERSION, ShopifySettings,
    WOOCOMMERCE_TRACKING_META, WooCommerceSettings,
};
use crate::shop::platform::{ConnectionReport, Platform, ShopError};
use crate::views::rfc3339;
use crate::{i18n, t};

pub fn routes() -> Routes {
    Routes::new()
        .get(SHOP, Access::Admin, shop_connection)
        .post(SHOP, Access::Admin, connect)
        .post("/settings/shop/test", Access::Admin, test_connection)
        .post("/settings/shop/disconnect", Access::Admin, disconnect)
}

const SHOP: &str = "/settings/shop";

/// The connection as the page shows it: settings only, the secrets stay sealed.
#[derive(Serialize)]
struct ConnectionView {
    platform: &'static str,
    platform_name: &'static str,
    store_url: Option<String>,
    api_version: Option<String>,
    client_id: Option<String>,
    tracking_meta_key: Option<String>,
    checked_at: Option<String>,
    check_ok: Option<bool>,
    check_error: Option<String>,
}

/// What each platform's form starts from: the current connection's values when it is on that
/// platform, the defaults otherwise.
#[derive(Serialize)]
struct FormValues {
    shopify_url: String,
    api_version: String,
    client_id: String,
    prestashop_url: String,
    woocommerce_url: String,
    tracking_meta_key: String,
}

#[derive(Serialize)]
struct ShopSettingsPage {
    connection: Option<ConnectionView>,
    /// Where the platform pushes its webhooks, for the platforms that push any.
    webhook_url: Option<String>,
    values: FormValues,
}

fn connection_view(summary: &ConnectionSummary, lang: UiLang) -> ConnectionView {
    let (store_url, api_version, client_id, tracking_meta_key) = match &summary.settings {
        ConnectorSettings::Csv => (None, None, None, None),
        ConnectorSettings::Shopify(s) => (
            Some(s.store_url.clone()),
            Some(s.api_version.clone()),
            s.client_id.clone(),
            None,
        ),
        ConnectorSettings::PrestaShop(s) => (Some(s.store_url.clone()), None, None, None),
        ConnectorSettings::WooCommerce(s) => (
            Some(s.store_url.clone()),
            None,
            None,
            Some(s.tracking_meta_key.clone()),
        ),
    };
    ConnectionView {
        platform: summary.platform.as_str(),
        platform_name: summary.platform.name(),
        store_url,
        api_version,
        client_id,
        tracking_meta_key,
        checked_at: summary.checked_at.map(rfc3339),
        check_ok: summary.check_ok,
        check_error: summary.check_error.as_ref().map(|e| e.explain(lang)),
    }
}

fn form_values(settings: Option<&ConnectorSettings>) -> FormValues {
    let mut values = FormValues {
        shopify_url: String::new(),
        api_version: SHOPIFY_API_VERSION.into(),
        client_id: String::new(),
        prestashop_url: String::new(),
        woocommerce_url: String::new(),
        tracking_meta_key: WOOCOMMERCE_TRACKING_META.into(),
    };
    match settings {
        None | Some(ConnectorSettings::Csv) => {}
        Some(ConnectorSettings::Shopify(s)) => {
            values.shopify_url = s.store_url.clone();
            values.api_version = s.api_version.clone();
            values.client_id = s.client_id.clone().unwrap_or_default();
        }
        Some(ConnectorSettings::PrestaShop(s)) => values.prestashop_url = s.store_url.clone(),
        Some(ConnectorSettings::WooCommerce(s)) => {
            values.woocommerce_url = s.store_url.clone();
            values.tracking_meta_key = s.tracking_meta_key.clone();
        }
    }
    values
}

/// `POST /webhooks/{platform}/{shop}` on the address the administrator reached the back
/// office at, the shop's name encoded as one path segment.
fn webhook_url(base: &str, platform: Platform, shop: &str) -> Option<String> {
    if !matches!(platform, Platform::Shopify | Platform::WooCommerce) {
        return None;
    }
    let mut url = url::Url::parse(base).ok()?;
    url.path_segments_mut()
        .ok()?
        .extend(["webhooks", platform.as_str(), shop]);
    Some(url.to_string())
}

async fn shop_connection(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let summary = state.desk.shop_connection(&me.shop).await.web(&me)?;
    let context = ShopSettingsPage {
        webhook_url: summary
            .as_ref()
            .and_then(|s| webhook_url(&public_base(&headers), s.platform, &me.shop.name)),
        values: form_values(summary.as_ref().map(|s| &s.settings)),
        connection: summary.as_ref().map(|s| connection_view(s, me.lang)),
    };
    settings_page(&me, &headers, "web/settings_shop.html", context)
}

/// One form per platform, each sending the fields it has; a secret left empty is "keep the
/// stored one".
#[derive(Deserialize)]
struct ConnectForm {
    platform: Option<String>,
    store_url: Option<String>,
    api_version: Option<String>,
    client_id: Option<String>,
    tracking_meta_key: Option<String>,
    access_token: Option<String>,
    client_secret: Option<String>,
    api_key: Option<String>,
    consumer_key: Option<String>,
    consumer_secret: Option<String>,
    webhook_secret: Option<String>,
}

fn secret(value: &Option<String>) -> Option<SecretString> {
    filled(value).map(SecretString::from)
}

fn settings_and_secrets(
    form: &ConnectForm,
    lang: UiLang,
) -> Result<(ConnectorSettings, ConnectorSecrets), String> {
    let platform = choice::<PlatformChoice>(&form.platform, "platform", lang)?
        .map(|choice| choice.0)
        .ok_or_else(|| {
            t!(
                lang,
                "web_settings.bad_choice",
                field = "platform",
                value = ""
            )
        })?;
    let store_url = filled(&form.store_url)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let webhook_secret = secret(&form.webhook_secret);
    Ok(match platform {
        Platform::Csv => (ConnectorSettings::Csv, ConnectorSecrets::default()),
        Platform::Shopify => (
            ConnectorSettings::Shopify(ShopifySettings {
                store_url,
                api_version: filled(&form.api_version)
                    .unwrap_or_else(|| SHOPIFY_API_VERSION.into()),
                client_id: filled(&form.client_id),
            }),
            ConnectorSecrets {
                access_token: secret(&form.access_token),
                client_secret: secret(&form.client_secret),
                webhook_secret,
                ..ConnectorSecrets::default()
            },
        ),
        Platform::PrestaShop => (
            ConnectorSettings::PrestaShop(PrestaShopSettings { store_url }),
            ConnectorSecrets {
                api_key: secret(&form.api_key),
                ..ConnectorSecrets::default()
            },
        ),
        Platform::WooCommerce => (
            ConnectorSettings::WooCommerce(WooCommerceSettings {
                store_url,
                tracking_meta_key: filled(&form.tracking_meta_key)
                    .unwrap_or_else(|| WOOCOMMERCE_TRACKING_META.into()),
            }),
            ConnectorSecrets {
                consumer_key: secret(&form.consumer_key),
                consumer_secret: secret(&form.consumer_secret),
                webhook_secret,
                ..ConnectorSecrets::default()
            },
        ),
    })
}

/// [`Platform`] as a form field names it (`shopify`, `prestashop`, ...).
struct PlatformChoice(Platform);

impl std::str::FromStr for PlatformChoice {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        Platform::parse(text).map(PlatformChoice).ok_or(())
    }
}

/// The form's name for a secret: the desk's own words name the command line's flags.
fn secret_label(secret: Secret, lang: UiLang) -> &'static str {
    i18n::text(
        lang,
        match secret {
            Secret::AccessToken => "web_settings_shop.access_token",
            Secret::ClientSecret => "web_settings_shop.client_secret",
            Secret::ApiKey => "web_settings_shop.api_key",
            Secret::ConsumerKey => "web_settings_shop.consumer_key",
            Secret::ConsumerSecret => "web_settings_shop.consumer_secret",
        },
    )
}

async fn connect(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(form): Form<ConnectForm>,
) -> Response {
    let lang = me.lang;
    let (settings, secrets) = match settings_and_secrets(&form, lang) {
        Ok(parsed) => parsed,
        Err(text) => return back(SHOP, false, &text),
    };
    match state
        .desk
        .update_shop_connection(&me.shop, &settings, secrets)
        .await
    {
        Ok(()) => back(
            SHOP,
            true,
            &t!(
                lang,
                "shop_connect.connected",
                shop = me.shop.name,
                platform = settings.platform().name()
            ),
        ),
        Err(DeskError::ShopConnection(ShopConnectionError::MissingSecret { platform, secret })) => {
            let text = t!(
                lang,
                "web_settings_shop.secret_needed",
                platform = platform.name(),
                secret = secret_label(secret, lang)
            );
            back(SHOP, false, &text)
        }
        Err(error) => refused(SHOP, error, lang),
    }
}

/// A connection test in the words of `guichet shop test-connection`.
fn test_text(outcome: &Result<ConnectionReport, ShopError>, lang: UiLang) -> String {
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            return t!(
                lang,
                "shop_connect.check_failed",
                error = error.explain(lang)
            );
        }
    };
    let mut lines = vec![t!(
        lang,
        "shop_connect.check_ok",
        platform = report.platform.name()
    )];
    if let Some(name) = &report.shop_name {
        lines.push(t!(lang, "shop_connect.check_shop_name", name = name));
    }
    lines.extend(report.warnings.iter().map(|warning| {
        t!(
            lang,
            "shop_connect.check_warning",
            warning = warning.explain(lang)
        )
    }));
    lines.join("\n")
}

async fn test_connection(me: SignedIn, Extension(state): Extension<AppState>) -> Response {
    match state.desk.test_shop_connection(&me.shop).await {
        Ok(outcome) => back(SHOP, outcome.is_ok(), &test_text(&outcome, me.lang)),
        Err(error) => refused(SHOP, error, me.lang),
    }
}

async fn disconnect(me: SignedIn, Extension(state): Extension<AppState>) -> Response {
    match state.desk.disconnect_shop(&me.shop).await {
        Ok(()) => back(
            SHOP,
            true,
            &t!(me.lang, "shop_connect.disconnected", shop = me.shop.name),
        ),
        Err(error) => refused(SHOP, error, me.lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_url_is_one_segment_per_part() {
        assert_eq!(
            webhook_url(
                "https://desk.example",
                Platform::Shopify,
                "La Boutique/Café"
            )
            .as_deref(),
            Some("https://desk.example/webhooks/shopify/La%20Boutique%2FCaf%C3%A9")
        );
        assert_eq!(
            webhook_url("http://127.0.0.1:8080", Platform::WooCommerce, "boutique").as_deref(),
            Some("http://127.0.0.1:8080/webhooks/woocommerce/boutique")
        );
        assert_eq!(
            webhook_url("https://desk.example", Platform::PrestaShop, "b"),
            None
        );
    }

    #[test]
    fn each_platform_reads_its_own_fields() {
        let form = ConnectForm {
            platform: Some("woocommerce".into()),
            store_url: Some(" https://shop.example/ ".into()),
            api_version: Some("2024-01".into()),
            client_id: None,
            tracking_meta_key: Some(String::new()),
            access_token: Some("shpat_not_for_woo".into()),
            client_secret: None,
            api_key: None,
            consumer_key: Some("ck_1".into()),
            consumer_secret: Some("".into()),
            webhook_secret: Some("wh".into()),
        };
        let (settings, secrets) = settings_and_secrets(&form, UiLang::En).unwrap();
        assert_eq!(
            settings,
            ConnectorSettings::WooCommerce(WooCommerceSettings {
                store_url: "https://shop.example".into(),
                tracking_meta_key: WOOCOMMERCE_TRACKING_META.into(),
            })
        );
        assert!(secrets.access_token.is_none(), "another platform's field");
        assert!(secrets.consumer_key.is_some());
        assert!(
            secrets.consumer_secret.is_none(),
            "empty keeps the stored one"
        );
        assert!(secrets.webhook_secret.is_some());
        let unknown = ConnectForm {
            platform: Some("magento".into()),
            ..form
        };
        let refused = settings_and_secrets(&unknown, UiLang::Fr).unwrap_err();
        assert!(refused.contains("magento"), "{refused}");
    }

    #[test]
    fn the_page_renders_in_both_languages_without_secrets() {
        let context = super::super::settings::page_context(
            "refused <b>",
            serde_json::json!({
                "connection": { "platform": "woocommerce", "platform_name": "WooCommerce",
                  "store_url": "https://shop.example", "api_version": null, "client_id": null,
                  "tracking_meta_key": "_wc_shipment_tracking_items",
                  "checked_at": "2026-12-04T10:00:00Z", "check_ok": false,
                  "check_error": "WooCommerce refuses <the> credentials" },
                "webhook_url": "https://desk.example/webhooks/woocommerce/Boutique",
                "values": { "shopify_url": "", "api_version": "2025-10", "client_id": "",
                  "prestashop_url": "", "woocommerce_url": "https://shop.example",
                  "tracking_meta_key": "_wc_shipment_tracking_items" },
            }),
        );
        for lang in [UiLang::Fr, UiLang::En] {
            let html = crate::render::render("web/settings_shop.html", lang, &context).unwrap();
            for shown in [
                "refused &lt;b&gt;",
                "https:&#x2f;&#x2f;desk.example&#x2f;webhooks&#x2f;woocommerce&#x2f;Boutique",
                "2026-12-04T10:00:00Z",
                "WooCommerce refuses &lt;the&gt; credentials",
                "action=\"/settings/shop/test\"",
                "action=\"/settings/shop/disconnect\"",
                "value=\"prestashop\"",
                "type=\"password\" name=\"consumer_secret\"",
            ] {
                assert!(html.contains(shown), "{lang:?} shows {shown}: {html}");
            }
            assert!(!html.contains("web_settings"), "a key without text: {html}");
        }
    }
}
