//! What every shop platform answers (Shopify, PrestaShop, WooCommerce): the customer behind an
//! address with their orders, an order by its reference, a check of the credentials, and the
//! webhooks it signs. Each platform is one implementation of [`ShopPlatform`]; the rest of
//! Guichet never knows which one it talks to.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use super::{CustomerRecord, Order};
use crate::model::UiLang;
use crate::t;

/// The platforms Guichet reads shops from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Csv,
    Shopify,
    PrestaShop,
    WooCommerce,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Csv,
        Platform::Shopify,
        Platform::PrestaShop,
        Platform::WooCommerce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Csv => "csv",
            Platform::Shopify => "shopify",
            Platform::PrestaShop => "prestashop",
            Platform::WooCommerce => "woocommerce",
        }
    }

    pub fn parse(text: &str) -> Option<Platform> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The platform's name as its makers write it.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Csv => "CSV",
            Platform::Shopify => "Shopify",
            Platform::PrestaShop => "PrestaShop",
            Platform::WooCommerce => "WooCommerce",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a platform gave nothing. Details come from the platform's answer with credentials
/// removed: an error never carries a token, a key or a secret, nor a URL holding one.
/// Serialized so the store can keep the last failure beside the data it still shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShopError {
    /// The store URL is not one Guichet talks to (not `https://`, except on the loopback).
    #[error("{platform}: the store address {url} is refused: {reason}")]
    BadUrl {
        platform: Platform,
        url: String,
        reason: String,
    },
    /// No connection (DNS, refused, TLS).
    #[error("{platform} cannot be reached: {detail}")]
    Unreachable { platform: Platform, detail: String },
    /// Connected, but no complete answer in time.
    #[error("{platform} did not answer within {seconds} s")]
    TimedOut { platform: Platform, seconds: u64 },
    /// The platform refuses the credentials (invalid, expired, revoked).
    #[error("{platform} refuses the credentials: {detail}")]
    Unauthorized { platform: Platform, detail: String },
    /// The credentials work but lack a permission (Shopify access scope, PrestaShop
    /// Webservice resource, WooCommerce read access).
    #[error("{platform}: the credentials lack the permission {scope}")]
    MissingScope { platform: Platform, scope: String },
    /// Still throttled after the waits the platform asked for (HTTP 429, Shopify `THROTTLED`).
    #[error("{platform} is throttling requests (retry in {retry_after_secs:?} s)")]
    Throttled {
        platform: Platform,
        retry_after_secs: Option<u64>,
    },
    /// An answer that does not have the documented shape.
    #[error("{platform} answered something unreadable: {detail}")]
    Malformed { platform: Platform, detail: String },
    /// Any other refusal (HTTP 404 on the API root, 5xx...).
    #[error("{platform} answered HTTP {status}: {detail}")]
    Refused {
        platform: Platform,
        status: u16,
        detail: String,
    },
}

impl ShopError {
    pub fn platform(&self) -> Platform {
        match self {
            ShopError::BadUrl { platform, .. }
            | ShopError::Unreachable { platform, .. }
            | ShopError::TimedOut { platform, .. }
            | ShopError::Unauthorized { platform, .. }
            | ShopError::MissingScope { platform, .. }
            | ShopError::Throttled { platform, .. }
            | ShopError::Malformed { platform, .. }
            | ShopError::Refused { platform, .. } => *platform,
        }
    }

    /// The error for a person, in their language.
    pub fn explain(&self, lang: UiLang) -> String {
        let platform = self.platform().name();
        match self {
            ShopError::BadUrl { url, reason, .. } => t!(
                lang,
                "shop_error.bad_url",
                platform = platform,
                url = url,
                reason = reason
            ),
            ShopError::Unreachable { detail, .. } => t!(
                lang,
                "shop_error.unreachable",
                platform = platform,
                detail = detail
            ),
            ShopError::TimedOut { seconds, .. } => t!(
                lang,
                "shop_error.timed_out",
                platform = platform,
                seconds = seconds
            ),
            ShopError::Unauthorized { detail, .. } => t!(
                lang,
                "shop_error.unauthorized",
                platform = platform,
                detail = detail
            ),
            ShopError::MissingScope { scope, .. } => t!(
                lang,
                "shop_error.missing_scope",
                platform = platform,
                scope = scope
            ),
            ShopError::Throttled {
                retry_after_secs, ..
            } => t!(
                lang,
                "shop_error.throttled",
                platform = platform,
                seconds = retry_after_secs.map_or("?".to_string(), |s| s.to_string())
            ),
            ShopError::Malformed { detail, .. } => t!(
                lang,
                "shop_error.malformed",
                platform = platform,
                detail = detail
            ),
            ShopError::Refused { status, detail, .. } => t!(
                lang,
                "shop_error.refused",
                platform = platform,
                status = status,
                detail = detail
            ),
        }
    }
}

/// What a connection check found beside "it works".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShopWarning {
    /// A permission Guichet would use is missing; what still works is said by the text.
    MissingScope { scope: String },
    /// Shopify without `read_all_orders`: orders older than 60 days are invisible.
    OldOrdersHidden,
}

impl ShopWarning {
    pub fn explain(&self, lang: UiLang) -> String {
        match self {
            ShopWarning::MissingScope { scope } => {
                t!(lang, "shop_error.warning_missing_scope", scope = scope)
            }
            ShopWarning::OldOrdersHidden => t!(lang, "shop_error.warning_old_orders").to_string(),
        }
    }
}

/// A successful connection check: what the platform says the shop is, and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionReport {
    pub platform: Platform,
    /// The shop's name or domain as the platform gives it.
    pub shop_name: Option<String>,
    pub warnings: Vec<ShopWarning>,
}

/// A webhook delivery as it came: header names in lower case, the body untouched (signatures
/// are computed over its exact bytes).
#[derive(Debug, Clone, Default)]
pub struct WebhookDelivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookDelivery {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a verified delivery means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    /// WooCommerce's unsigned test when a webhook is created: answered 200, nothing applied.
    Ping,
    /// The order as the delivery carries it.
    Order {
        delivery_id: String,
        order: Box<Order>,
    },
    /// The delivery names an order without carrying it whole (Shopify `fulfillments/create`):
    /// fetch it by the platform's id.
    FetchOrder {
        delivery_id: String,
        platform_id: String,
    },
    /// A topic Guichet does not use: acknowledged, nothing applied.
    Ignored { delivery_id: String, topic: String },
}

/// Why a delivery is refused (HTTP 401, nothing applied).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRefusal {
    #[error("the delivery has no signature")]
    Unsigned,
    #[error("the signature does not match")]
    BadSignature,
    #[error("no webhook secret is configured for this shop")]
    NoSecret,
    #[error("the signed body is not the documented shape: {0}")]
    Malformed(String),
}

/// The futures of [`ShopPlatform`]: boxed, so a shop's connector is chosen at run time.
pub type ShopFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ShopError>> + Send + 'a>>;

/// One shop platform's API. Every method is one logical question; implementations follow
/// pagination and honour throttling themselves, and map each platform's error shapes onto
/// [`ShopError`].
pub trait ShopPlatform: Send + Sync {
    fn platform(&self) -> Platform;

    /// The customer with this address (any case) and their orders, newest first, in as few
    /// requests as the platform allows (one GraphQL query on Shopify). No customer record
    /// and no orders is `Ok` with both empty.
    fn customer<'a>(&'a self, email: &'a str) -> ShopFuture<'a, CustomerRecord>;

    /// The order with this reference as a customer writes it (`#1042`, `1042`), whoever
    /// placed it: the caller checks it belongs to the sender.
    fn order<'a>(&'a self, reference: &'a str) -> ShopFuture<'a, Option<Order>>;

    /// The order with the platform's own id (from a webhook).
    fn order_by_platform_id<'a>(&'a self, platform_id: &'a str) -> ShopFuture<'a, Option<Order>>;

    /// Checks the address and credentials with a cheap request: what `shop test-connection`
    /// and the settings page show.
    fn check(&self) -> ShopFuture<'_, ConnectionReport>;

    /// Orders changed since this time (Unix ms), oldest change first, for platforms polled
    /// instead of pushing webhooks (PrestaShop's `date_upd`). Others answer an empty list.
    fn changed_since(&self, since_ms: i64) -> ShopFuture<'_, Vec<Order>>;

    /// Verifies a webhook delivery's signature against the shop's webhook secret and reads
    /// it. Platforms without webhooks refuse every delivery.
    fn webhook(&self, delivery: &WebhookDelivery) -> Result<WebhookEvent, WebhookRefusal>;
}
