//! How a shop is connected to its platform: the settings a person types (kept in the store as
//! they are), the secrets (sealed at rest, never shown back), and the client made of both.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::http::PlatformHttp;
use super::platform::{Platform, ShopError, ShopPlatform};
use super::{prestashop, shopify, woocommerce};

/// The Admin API version asked for when the shop names none: a stable release Shopify still
/// supports (each is supported for a year).
pub const SHOPIFY_API_VERSION: &str = "2025-10";
/// The order meta key the Shipment Tracking extension writes.
pub const WOOCOMMERCE_TRACKING_META: &str = "_wc_shipment_tracking_items";

/// The non-secret part of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum ConnectorSettings {
    /// Orders and customers imported from CSV files: nothing to call.
    Csv,
    Shopify(ShopifySettings),
    PrestaShop(PrestaShopSettings),
    WooCommerce(WooCommerceSettings),
}

impl ConnectorSettings {
    pub fn platform(&self) -> Platform {
        match self {
            ConnectorSettings::Csv => Platform::Csv,
            ConnectorSettings::Shopify(_) => Platform::Shopify,
            ConnectorSettings::PrestaShop(_) => Platform::PrestaShop,
            ConnectorSettings::WooCommerce(_) => Platform::WooCommerce,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifySettings {
    /// `https://NAME.myshopify.com`.
    pub store_url: String,
    /// `2025-10`, ...; [`SHOPIFY_API_VERSION`] by default.
    pub api_version: String,
    /// Set for an app using the client-credentials grant (its secret is sealed); unset for a
    /// static Admin API access token.
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrestaShopSettings {
    /// The shop's address, without `/api`.
    pub store_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WooCommerceSettings {
    /// The WordPress site's address (`https://` only), without `/wp-json`.
    pub store_url: String,
    /// [`WOOCOMMERCE_TRACKING_META`] by default.
    pub tracking_meta_key: String,
}

/// The secrets of a connection; each platform uses its own. Sealed at rest as one value.
#[derive(Debug, Clone, Default)]
pub struct ConnectorSecrets {
    /// Shopify: a custom app's static Admin API access token (`shpat_...`).
    pub access_token: Option<SecretString>,
    /// Shopify: the app's client secret for the client-credentials grant.
    pub client_secret: Option<SecretString>,
    /// PrestaShop: the Webservice key.
    pub api_key: Option<SecretString>,
    /// WooCommerce: the REST API consumer key (`ck_...`) and secret (`cs_...`).
    pub consumer_key: Option<SecretString>,
    pub consumer_secret: Option<SecretString>,
    /// The key webhooks are signed with (Shopify: the app's secret when unset).
    pub webhook_secret: Option<SecretString>,
}

/// Limits every platform client works within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectorOptions {
    /// Each request.
    pub timeout: Duration,
    /// All the waiting one throttled question may do.
    pub max_wait: Duration,
}

impl Default for ConnectorOptions {
    fn default() -> Self {
        ConnectorOptions {
            timeout: Duration::from_secs(10),
            max_wait: Duration::from_secs(5),
        }
    }
}

/// The client for a connection; `None` for CSV, whose data is already in the store.
pub fn open_platform(
    settings: &ConnectorSettings,
    secrets: &ConnectorSecrets,
    options: ConnectorOptions,
) -> Result<Option<Box<dyn ShopPlatform>>, ShopError> {
    let http = |platform| PlatformHttp::new(platform, options.timeout, options.max_wait);
    Ok(Some(match settings {
        ConnectorSettings::Csv => return Ok(None),
        ConnectorSettings::Shopify(s) => {
            Box::new(shopify::Shopify::new(s, secrets, http(Platform::Shopify)?)?)
        }
        ConnectorSettings::PrestaShop(s) => Box::new(prestashop::PrestaShop::new(
            s,
            secrets,
            http(Platform::PrestaShop)?,
        )?),
        ConnectorSettings::WooCommerce(s) => Box::new(woocommerce::WooCommerce::new(
            s,
            secrets,
            http(Platform::WooCommerce)?,
        )?),
    }))
}
