//! Connecting a shop to its platform: the connection saved with its secrets sealed, its check,
//! its removal, the connections the configuration file declares, and the webhooks platforms
//! push.

use serde::Serialize;

use crate::model::UiLang;
use crate::shop::connector::{
    ConnectorOptions, ConnectorSecrets, ConnectorSettings, open_platform,
};
use crate::shop::live::{open_secrets, same_secrets, seal_secrets};
use crate::shop::platform::{
    ConnectionReport, Platform, ShopError, WebhookDelivery, WebhookEvent, WebhookRefusal,
};
use crate::store::{Shop, StoredConnection};
use crate::t;

use super::{Desk, DeskError, DeskResult};

/// Why a connection use-case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ShopConnectionError {
    #[error(transparent)]
    Platform(#[from] ShopError),
    #[error("shop {0} is not connected to a platform")]
    NotConnected(String),
    #[error("shop {shop} is connected to {connected}, not {asked}")]
    OtherPlatform {
        shop: String,
        connected: Platform,
        asked: Platform,
    },
    #[error("{platform} needs the {secret:?}")]
    MissingSecret { platform: Platform, secret: Secret },
    #[error("webhook refused: {0}")]
    WebhookRefused(#[from] WebhookRefusal),
}

impl ShopConnectionError {
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            ShopConnectionError::Platform(error) => error.explain(lang),
            ShopConnectionError::NotConnected(shop) => {
                t!(lang, "shop_connect.not_connected", shop = shop)
            }
            ShopConnectionError::OtherPlatform {
                shop,
                connected,
                asked,
            } => t!(
                lang,
                "shop_connect.other_platform",
                shop = shop,
                connected = connected.name(),
                asked = asked.name()
            ),
            ShopConnectionError::MissingSecret { platform, secret } => t!(
                lang,
                "shop_connect.missing_secret",
                platform = platform.name(),
                secret = match secret {
                    Secret::AccessToken => t!(lang, "shop_connect.secret_access_token"),
                    Secret::ClientSecret => t!(lang, "shop_connect.secret_client_secret"),
                    Secret::ApiKey => t!(lang, "shop_connect.secret_api_key"),
                    Secret::ConsumerKey => t!(lang, "shop_connect.secret_consumer_key"),
                    Secret::ConsumerSecret => t!(lang, "shop_connect.secret_consumer_secret"),
                }
            ),
            ShopConnectionError::WebhookRefused(refusal) => {
                t!(lang, "shop_connect.webhook_refused", reason = refusal)
            }
        }
    }
}

/// The secrets a connection may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    AccessToken,
    ClientSecret,
    ApiKey,
    ConsumerKey,
    ConsumerSecret,
}

/// A shop's connection as shown: never its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionSummary {
    pub shop: String,
    pub platform: Platform,
    pub settings: ConnectorSettings,
    pub checked_at: Option<i64>,
    pub check_ok: Option<bool>,
    /// Why the last check failed, as the platform said it.
    pub check_error: Option<ShopError>,
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// A test delivery, answered.
    Ping,
    /// The order was stored.
    Applied,
    /// The delivery was applied before: nothing done again.
    AlreadyApplied,
    /// The order it names is unknown to the platform now.
    NoSuchOrder,
    /// A topic Guichet does not use.
    Ignored,
}

/// The secret each platform cannot do without, checked before anything is saved.
fn check_secrets(
    settings: &ConnectorSettings,
    secrets: &ConnectorSecrets,
) -> Result<(), ShopConnectionError> {
    let missing = |platform, secret| Err(ShopConnectionError::MissingSecret { platform, secret });
    match settings {
        ConnectorSettings::Csv => Ok(()),
        ConnectorSettings::Shopify(s) => match (&s.client_id, &secrets.client_secret) {
            (Some(_), None) => missing(Platform::Shopify, Secret::ClientSecret),
            (None, _) if secrets.access_token.is_none() => {
                missing(Platform::Shopify, Secret::AccessToken)
            }
            _ => Ok(()),
        },
        ConnectorSettings::PrestaShop(_) if secrets.api_key.is_none() => {
            missing(Platform::PrestaShop, Secret::ApiKey)
        }
        ConnectorSettings::WooCommerce(_) if secrets.consumer_key.is_none() => {
            missing(Platform::WooCommerce, Secret::ConsumerKey)
        }
        ConnectorSettings::WooCommerce(_) if secrets.consumer_secret.is_none() => {
            missing(Platform::WooCommerce, Secret::ConsumerSecret)
        }
        _ => Ok(()),
    }
}

impl Desk {
    /// Connects the shop to its platform, replacing its connection. The settings are checked
    /// (the address, the secrets each platform needs) before anything is saved; the secrets
    /// are sealed with the desk's key.
    pub async fn connect_shop(
        &self,
        shop: &Shop,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> DeskResult<()> {
        check_secrets(settings, secrets)?;
        open_platform(settings, secrets, ConnectorOptions::default())
            .map_err(ShopConnectionError::from)?;
        let settings_json = serde_json::to_string(settings).unwrap_or_default();
        self.store
            .save_shop_connection(
                shop.id,
                settings.platform(),
                &settings_json,
                &seal_secrets(&self.key, secrets),
            )
            .await?;
        tracing::info!(shop = %shop.name, platform = %settings.platform(), "shop connected");
        Ok(())
    }

    /// Connects as [`Desk::connect_shop`] does, except that a secret left out keeps the one
    /// stored when the shop stays on the same platform: the settings page never shows a secret
    /// back, so an administrator who changes only the address types none again.
    pub async fn update_shop_connection(
        &self,
        shop: &Shop,
        settings: &ConnectorSettings,
        typed: ConnectorSecrets,
    ) -> DeskResult<()> {
        let stored = self.store.shop_connection(shop.id).await?;
        let secrets = match stored {
            Some(stored) if stored.platform == settings.platform() => {
                let kept = open_secrets(&self.key, &stored.secrets_sealed)?;
                ConnectorSecrets {
                    access_token: typed.access_token.or(kept.access_token),
                    client_secret: typed.client_secret.or(kept.client_secret),
                    api_key: typed.api_key.or(kept.api_key),
                    consumer_key: typed.consumer_key.or(kept.consumer_key),
                    consumer_secret: typed.consumer_secret.or(kept.consumer_secret),
                    webhook_secret: typed.webhook_secret.or(kept.webhook_secret),
                }
            }
            _ => typed,
        };
        self.connect_shop(shop, settings, &secrets).await
    }

    /// Removes the shop's connection; the data fetched stays. Errors when there was none.
    pub async fn disconnect_shop(&self, shop: &Shop) -> DeskResult<()> {
        if !self.store.delete_shop_connection(shop.id).await? {
            return Err(ShopConnectionError::NotConnected(shop.name.clone()).into());
        }
        Ok(())
    }

    /// The shop's connection, without its secrets.
    pub async fn shop_connection(&self, shop: &Shop) -> DeskResult<Option<ConnectionSummary>> {
        let Some(stored) = self.store.shop_connection(shop.id).await? else {
            return Ok(None);
        };
        Ok(Some(ConnectionSummary {
            shop: shop.name.clone(),
            platform: stored.platform,
            settings: settings_of(&stored)?,
            checked_at: stored.last_check.as_ref().map(|c| c.checked_at),
            check_ok: stored.last_check.as_ref().map(|c| c.ok),
            check_error: stored
                .last_check
                .as_ref()
                .filter(|c| !c.ok)
                .and_then(|c| serde_json::from_str(&c.result).ok()),
        }))
    }

    /// Asks the platform whether the address and credentials work; the outcome is kept
    /// (without secrets). `Ok(Err(..))`: the platform refused, which the caller shows.
    pub async fn test_shop_connection(
        &self,
        shop: &Shop,
    ) -> DeskResult<Result<ConnectionReport, ShopError>> {
        let stored = self.connection_of(shop).await?;
        let outcome = match self.shop_data().client(&stored) {
            Err(error) => Err(error),
            Ok(None) => Ok(ConnectionReport {
                platform: Platform::Csv,
                shop_name: None,
                warnings: Vec::new(),
            }),
            Ok(Some(client)) => client.check().await,
        };
        let result = match &outcome {
            Ok(report) => serde_json::to_string(report),
            Err(error) => serde_json::to_string(error),
        }
        .unwrap_or_default();
        self.store
            .record_connection_check(shop.id, outcome.is_ok(), &result)
            .await?;
        Ok(outcome)
    }

    async fn connection_of(&self, shop: &Shop) -> DeskResult<StoredConnection> {
        self.store
            .shop_connection(shop.id)
            .await?
            .ok_or_else(|| ShopConnectionError::NotConnected(shop.name.clone()).into())
    }

    /// Saves the connections the configuration file declares, leaving alone those already
    /// saved as declared (their client and its token are kept). A shop not created yet is
    /// skipped with a warning: `shops add` must work before the shop exists.
    pub(super) async fn apply_configured_connections(&self) -> DeskResult<()> {
        for declared in &self.config.shop.connections {
            let shop = match self.shop_named(&declared.shop).await {
                Ok(shop) => shop,
                Err(DeskError::NoShopNamed(_)) => {
                    tracing::warn!(shop = %declared.shop, "configured connection for an unknown shop");
                    continue;
                }
                Err(other) => return Err(other),
            };
            if let Some(stored) = self.store.shop_connection(shop.id).await?
                && settings_of(&stored).ok().as_ref() == Some(&declared.settings)
                && open_secrets(&self.key, &stored.secrets_sealed)
                    .is_ok_and(|kept| same_secrets(&kept, &declared.secrets))
            {
                continue;
            }
            self.connect_shop(&shop, &declared.settings, &declared.secrets)
                .await?;
        }
        Ok(())
    }

    /// A delivery pushed to `POST /webhooks/{platform}/{shop}`: verified with the shop's
    /// webhook secret, then applied once per delivery id. A refusal changes nothing.
    pub async fn receive_webhook(
        &self,
        shop_name: &str,
        platform: Platform,
        delivery: &WebhookDelivery,
    ) -> DeskResult<WebhookOutcome> {
        let shop = self.shop_named(shop_name).await?;
        let stored = self.connection_of(&shop).await?;
        if stored.platform != platform {
            return Err(ShopConnectionError::OtherPlatform {
                shop: shop.name,
                connected: stored.platform,
                asked: platform,
            }
            .into());
        }
        let Some(client) = self
            .shop_data()
            .client(&stored)
            .map_err(ShopConnectionError::from)?
        else {
            return Err(ShopConnectionError::WebhookRefused(WebhookRefusal::NoSecret).into());
        };
        let event = client
            .webhook(delivery)
            .map_err(ShopConnectionError::from)?;
        let (delivery_id, order) = match event {
            WebhookEvent::Ping => return Ok(WebhookOutcome::Ping),
            WebhookEvent::Ignored { delivery_id, topic } => {
                tracing::debug!(shop = %shop.name, %delivery_id, %topic, "webhook topic ignored");
                return Ok(WebhookOutcome::Ignored);
            }
            WebhookEvent::Order { delivery_id, order } => (delivery_id, *order),
            WebhookEvent::FetchOrder {
                delivery_id,
                platform_id,
            } => {
                if self
                    .store
                    .webhook_delivery_seen(shop.id, platform, &delivery_id)
                    .await?
                {
                    return Ok(WebhookOutcome::AlreadyApplied);
                }
                match client
                    .order_by_platform_id(&platform_id)
                    .await
                    .map_err(ShopConnectionError::from)?
                {
                    Some(order) => (delivery_id, order),
                    None => return Ok(WebhookOutcome::NoSuchOrder),
                }
            }
        };
        Ok(
            if self
                .store
                .apply_webhook_order(shop.id, platform, &delivery_id, &order)
                .await?
            {
                WebhookOutcome::Applied
            } else {
                WebhookOutcome::AlreadyApplied
            },
        )
    }
}

fn settings_of(stored: &StoredConnection) -> DeskResult<ConnectorSettings> {
    serde_json::from_str(&stored.settings).map_err(|e| {
        DeskError::Store(crate::store::StoreError::Corrupt {
            table: "shop_connections",
            id: stored.shop_id,
            column: "settings",
            reason: e.to_string(),
        })
    })
}
