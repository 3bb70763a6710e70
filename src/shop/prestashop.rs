//! PrestaShop: placeholder until its client lands (this session's work in progress).

use super::connector::{ConnectorSecrets, PrestaShopSettings};
use super::http::PlatformHttp;
use super::platform::{
    ConnectionReport, Platform, ShopError, ShopFuture, ShopPlatform, WebhookDelivery, WebhookEvent,
    WebhookRefusal,
};
use super::{CustomerRecord, Order};

pub struct PrestaShop {
    http: PlatformHttp,
}

impl PrestaShop {
    pub fn new(
        settings: &PrestaShopSettings,
        _secrets: &ConnectorSecrets,
        http: PlatformHttp,
    ) -> Result<Self, ShopError> {
        http.base_url(&settings.store_url)?;
        Ok(PrestaShop { http })
    }

    fn not_yet<T>(&self) -> Result<T, ShopError> {
        Err(ShopError::Refused {
            platform: self.http.platform(),
            status: 501,
            detail: "not built yet".into(),
        })
    }
}

impl ShopPlatform for PrestaShop {
    fn platform(&self) -> Platform {
        Platform::PrestaShop
    }
    fn customer<'a>(&'a self, _email: &'a str) -> ShopFuture<'a, CustomerRecord> {
        Box::pin(async move { self.not_yet() })
    }
    fn order<'a>(&'a self, _reference: &'a str) -> ShopFuture<'a, Option<Order>> {
        Box::pin(async move { self.not_yet() })
    }
    fn order_by_platform_id<'a>(&'a self, _id: &'a str) -> ShopFuture<'a, Option<Order>> {
        Box::pin(async move { self.not_yet() })
    }
    fn check(&self) -> ShopFuture<'_, ConnectionReport> {
        Box::pin(async move { self.not_yet() })
    }
    fn changed_since(&self, _since_ms: i64) -> ShopFuture<'_, Vec<Order>> {
        Box::pin(async move { Ok(Vec::new()) })
    }
    fn webhook(&self, _delivery: &WebhookDelivery) -> Result<WebhookEvent, WebhookRefusal> {
        Err(WebhookRefusal::NoSecret)
    }
}
