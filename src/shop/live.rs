//! Shop data as answers and pages read it: from the store while what the platform said is
//! fresh, else from the platform (once per customer), written into the store, and when the
//! platform fails, what the store has with the failure beside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::connector::{ConnectorOptions, ConnectorSecrets, ConnectorSettings, open_platform};
use super::platform::{Platform, ShopError, ShopPlatform};
use super::{Customer, Order, OrderSource};
use crate::config::ShopConfig;
use crate::crypto::{CryptoError, SealingKey};
use crate::store::{Store, StoreError, StoredConnection, now_ms};

/// What the connection's secrets are sealed for: a sealed value opens only for its purpose.
pub const SECRETS_PURPOSE: &str = "shop-connection-secrets";

/// A failed fetch is not tried again before this: a platform that is down must not make every
/// page wait for its timeout.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// The first polling round looks this far back; older changes reach the store when a
/// customer is looked up.
const FIRST_POLL_LOOKBACK_MS: i64 = 24 * 3600 * 1000;

/// The cache's lifetime, each request's limit and the polling period (`[shop]` in the
/// configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSettings {
    pub cache_ttl: Duration,
    pub request_timeout: Duration,
    pub poll_interval: Duration,
}

impl LiveSettings {
    pub fn from_config(config: &ShopConfig) -> LiveSettings {
        LiveSettings {
            cache_ttl: config.cache_ttl,
            request_timeout: config.request_timeout,
            poll_interval: config.poll_interval,
        }
    }
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            cache_ttl: Duration::from_secs(300),
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(300),
        }
    }
}

/// The secrets as sealed: one JSON value, so a connection's secrets change together.
#[derive(Default, Serialize, Deserialize)]
struct SecretFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
}

impl SecretFields {
    fn of(secrets: &ConnectorSecrets) -> SecretFields {
        let exposed = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_string());
        SecretFields {
            access_token: exposed(&secrets.access_token),
            client_secret: exposed(&secrets.client_secret),
            api_key: exposed(&secrets.api_key),
            consumer_key: exposed(&secrets.consumer_key),
            consumer_secret: exposed(&secrets.consumer_secret),
            webhook_secret: exposed(&secrets.webhook_secret),
        }
    }

    /// The JSON that is sealed, itself a secret.
    fn json(&self) -> SecretString {
        SecretString::from(serde_json::to_string(self).unwrap_or_default())
    }
}

/// Seals a connection's secrets with the desk's key.
pub fn seal_secrets(key: &SealingKey, secrets: &ConnectorSecrets) -> Vec<u8> {
    key.seal(&SecretFields::of(secrets).json(), SECRETS_PURPOSE)
}

/// Whether two connections' secrets are the same values.
pub fn same_secrets(a: &ConnectorSecrets, b: &ConnectorSecrets) -> bool {
    SecretFields::of(a).json().expose_secret() == SecretFields::of(b).json().expose_secret()
}

/// Opens what [`seal_secrets`] sealed.
pub fn open_secrets(key: &SealingKey, sealed: &[u8]) -> Result<ConnectorSecrets, CryptoError> {
    let json = key.open(sealed, SECRETS_PURPOSE)?;
    let fields: SecretFields = serde_json::from_str(json.expose_secret()).unwrap_or_default();
    let secret = |s: Option<String>| s.map(SecretString::from);
    Ok(ConnectorSecrets {
        access_token: secret(fields.access_token),
        client_secret: secret(fields.client_secret),
        api_key: secret(fields.api_key),
        consumer_key: secret(fields.consumer_key),
        consumer_secret: secret(fields.consumer_secret),
        webhook_secret: secret(fields.webhook_secret),
    })
}

/// The platform clients of the shops, each kept while its connection is unchanged: Shopify's
/// client-credentials token lives in its client and is reused, not fetched again per call.
#[derive(Clone, Default)]
pub struct ShopClients {
    by_shop: Arc<Mutex<HashMap<i64, (i64, Arc<dyn ShopPlatform>)>>>,
}

impl ShopClients {
    fn cached(&self, shop_id: i64, updated_at: i64) -> Option<Arc<dyn ShopPlatform>> {
        let clients = self.by_shop.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .get(&shop_id)
            .filter(|(at, _)| *at == updated_at)
            .map(|(_, client)| client.clone())
    }

    fn keep(&self, shop_id: i64, updated_at: i64, client: Arc<dyn ShopPlatform>) {
        let mut clients = self.by_shop.lock().unwrap_or_else(|p| p.into_inner());
        clients.insert(shop_id, (updated_at, client));
    }

    /// Puts a client in place of the shop's, as if built from the connection of `updated_at`
    /// (tests give a double counting its calls).
    pub fn install(&self, shop_id: i64, updated_at: i64, client: Arc<dyn ShopPlatform>) {
        self.keep(shop_id, updated_at, client);
    }
}

/// Everything needed to read a shop's data live: the store, the key opening the connection's
/// secrets, the clients kept, the cache settings.
#[derive(Clone)]
pub struct ShopData {
    pub store: Store,
    pub key: SealingKey,
    pub clients: ShopClients,
    pub settings: LiveSettings,
}

impl ShopData {
    /// The client of a stored connection: the one kept when the connection is unchanged,
    /// else a new one. `None` for CSV.
    pub fn client(
        &self,
        connection: &StoredConnection,
    ) -> Result<Option<Arc<dyn ShopPlatform>>, ShopError> {
        if connection.platform == Platform::Csv {
            return Ok(None);
        }
        if let Some(client) = self
            .clients
            .cached(connection.shop_id, connection.updated_at)
        {
            return Ok(Some(client));
        }
        let unreadable = |detail: String| ShopError::Malformed {
            platform: connection.platform,
            detail,
        };
        let settings: ConnectorSettings = serde_json::from_str(&connection.settings)
            .map_err(|e| unreadable(format!("stored settings: {e}")))?;
        let secrets = open_secrets(&self.key, &connection.secrets_sealed).map_err(|_| {
            ShopError::Unauthorized {
                platform: connection.platform,
                detail: "the stored credentials do not open with this desk's key".into(),
            }
        })?;
        let options = ConnectorOptions {
            timeout: self.settings.request_timeout,
            ..ConnectorOptions::default()
        };
        let Some(client) = open_platform(&settings, &secrets, options)? else {
            return Ok(None);
        };
        let client: Arc<dyn ShopPlatform> = Arc::from(client);
        self.clients
            .keep(connection.shop_id, connection.updated_at, client.clone());
        Ok(Some(client))
    }

    /// One polling round: for each shop whose platform is polled (PrestaShop), the orders
    /// changed since its checkpoint, stored with the checkpoint moved in one transaction.
    /// A shop that fails is logged and tried again next round; the others go on.
    pub async fn poll_changes(&self) -> Result<usize, StoreError> {
        let mut stored = 0;
        for connection in self.store.shop_connections_on(Platform::PrestaShop).await? {
            let client = match self.client(&connection) {
                Ok(Some(client)) => client,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(shop_id = connection.shop_id, %error, "polling: connection unusable");
                    continue;
                }
            };
            let since = match self.store.poll_checkpoint(connection.shop_id).await? {
                Some(since) => since,
                None => now_ms() - FIRST_POLL_LOOKBACK_MS,
            };
            match client.changed_since(since).await {
                Ok(orders) => {
                    // The platform's own clock, not ours: a skew never skips a change.
                    let checkpoint = orders
                        .iter()
                        .filter_map(|o| o.updated_at)
                        .fold(since, i64::max);
                    self.store
                        .store_polled_orders(
                            connection.shop_id,
                            client.platform(),
                            &orders,
                            checkpoint,
                        )
                        .await?;
                    stored += orders.len();
                }
                Err(error) => {
                    tracing::warn!(shop_id = connection.shop_id, %error, "polling failed");
                }
            }
        }
        Ok(stored)
    }

    /// The shop's data source. A connection whose client cannot be built gives the store's
    /// data with that failure.
    pub async fn live(&self, shop_id: i64) -> Result<LiveShop, StoreError> {
        let (platform, failure) = match self.store.shop_connection(shop_id).await? {
            None => (None, None),
            Some(connection) => match self.client(&connection) {
                Ok(client) => (client, None),
                Err(error) => {
                    tracing::warn!(shop_id, %error, "shop connection unusable");
                    (None, Some(error))
                }
            },
        };
        Ok(LiveShop {
            store: self.store.clone(),
            shop_id,
            platform,
            settings: self.settings,
            broken: failure.clone(),
            failure: Mutex::new(failure),
        })
    }
}

/// The platform failed; the data shown is what the store had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub error: ShopError,
    /// When the data shown was last fetched successfully (Unix ms); `None`: never.
    pub data_from: Option<i64>,
}

/// A customer as shown beside a ticket: the record when there is one, their orders newest
/// first, and the platform's failure when the data could not be refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCustomer {
    pub email: String,
    pub customer: Option<Customer>,
    pub orders: Vec<Order>,
    pub source_error: Option<SourceError>,
}

/// One shop's data, live. An [`OrderSource`], so [`super::find_order`] keeps its rule.
pub struct LiveShop {
    store: Store,
    shop_id: i64,
    platform: Option<Arc<dyn ShopPlatform>>,
    settings: LiveSettings,
    /// Why the connection gives no client, when it does not.
    broken: Option<ShopError>,
    /// The last platform failure the lookups met.
    failure: Mutex<Option<ShopError>>,
}

impl LiveShop {
    /// A shop read from the store only (CSV, or a double in tests).
    pub fn new(
        store: &Store,
        shop_id: i64,
        platform: Option<Arc<dyn ShopPlatform>>,
        settings: LiveSettings,
    ) -> LiveShop {
        LiveShop {
            store: store.clone(),
            shop_id,
            platform,
            settings,
            broken: None,
            failure: Mutex::new(None),
        }
    }

    /// The last platform failure met by this source's lookups since the last call, cleared:
    /// an answer waits for data when its lookup met one.
    pub fn take_failure(&self) -> Option<ShopError> {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.take().or_else(|| self.broken.clone())
    }

    fn note_failure(&self, error: &ShopError) {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
    }

    fn is_fresh(&self, fetched_at: i64, failed: bool, now: i64) -> bool {
        let lifetime = if failed {
            self.settings.cache_ttl.min(RETRY_AFTER_FAILURE)
        } else {
            self.settings.cache_ttl
        };
        now - fetched_at < lifetime.as_millis() as i64
    }

    /// The customer with this address and their orders: from the store while the last fetch
    /// is fresh, else asked of the platform once and kept; on a failure, what the store has.
    pub async fn customer(&self, email: &str) -> Result<LiveCustomer, StoreError> {
        let email = email.trim().to_lowercase();
        let source_error = match &self.platform {
            None => self.broken.clone().map(|error| SourceError {
                error,
                data_from: None,
            }),
            Some(platform) => self.refresh(platform.as_ref(), &email).await?,
        };
        if let Some(source_error) = &source_error {
            self.note_failure(&source_error.error);
        }
        Ok(LiveCustomer {
            customer: self
                .store
                .stored_customer(self.shop_id, &email)
                .await?
                .map(|c| c.customer),
            orders: self.store.customer_orders(self.shop_id, &email).await?,
            email,
            source_error,
        })
    }

    /// The order a customer's message is about ([`super::find_order`]'s rule) and the
    /// sender's data, refreshed first: their references are then found in the store, and a
    /// cold cache costs one platform request per customer, not one per reference.
    pub async fn find_order(
        &self,
        customer_email: &str,
        references: &[String],
    ) -> Result<(Option<Order>, LiveCustomer), StoreError> {
        let customer = self.customer(customer_email).await?;
        let order = super::find_order(self, customer_email, references).await?;
        Ok((order, customer))
    }

    /// Asks the platform about the address unless the last answer is fresh; the failure
    /// when it failed (now or in the last minute).
    async fn refresh(
        &self,
        platform: &dyn ShopPlatform,
        email: &str,
    ) -> Result<Option<SourceError>, StoreError> {
        let fetch = self.store.customer_fetch(self.shop_id, email).await?;
        let now = now_ms();
        if let Some(fetch) = &fetch
            && self.is_fresh(fetch.fetched_at, fetch.last_error.is_some(), now)
        {
            return Ok(fetch.last_error.clone().map(|error| SourceError {
                error,
                data_from: fetch.succeeded_at,
            }));
        }
        match platform.customer(email).await {
            Ok(record) => {
                self.store
                    .store_fetched_customer(
                        self.shop_id,
                        platform.platform(),
                        email,
                        record.customer.as_ref(),
                        &record.orders,
                    )
                    .await?;
                Ok(None)
            }
            Err(error) => {
                tracing::warn!(shop_id = self.shop_id, %error, "customer fetch failed");
                self.store
                    .record_customer_fetch_failure(self.shop_id, email, &error)
                    .await?;
                Ok(Some(SourceError {
                    error,
                    data_from: fetch.and_then(|f| f.succeeded_at),
                }))
            }
        }
    }
}

impl OrderSource for LiveShop {
    type Error = StoreError;

    async fn orders_for(&self, customer_email: &str) -> Result<Vec<Order>, StoreError> {
        Ok(self.customer(customer_email).await?.orders)
    }

    /// A stored order is refreshed with its customer when stale; an unknown reference is
    /// asked of the platform (the order may be older than what a customer fetch lists).
    async fn order(&self, reference: &str) -> Result<Option<Order>, StoreError> {
        let stored = self
            .store
            .stored_order_by_reference(self.shop_id, reference)
            .await?;
        let Some(platform) = &self.platform else {
            return Ok(stored.map(|s| s.order));
        };
        match stored {
            Some(stored)
                if stored
                    .fetched_at
                    .is_some_and(|at| self.is_fresh(at, false, now_ms())) =>
            {
                Ok(Some(stored.order))
            }
            Some(stored) => {
                self.customer(&stored.order.customer_email).await?;
                Ok(self
                    .store
                    .order_by_reference(self.shop_id, reference)
                    .await?
                    .or(Some(stored.order)))
            }
            None => match platform.order(reference).await {
                Ok(Some(order)) => {
                    self.store
                        .store_orders(
                            self.shop_id,
                            platform.platform(),
                            std::slice::from_ref(&order),
                        )
                        .await?;
                    Ok(Some(order))
                }
                Ok(None) => Ok(None),
                Err(error) => {
                    tracing::warn!(shop_id = self.shop_id, %error, "order lookup failed");
                    self.note_failure(&error);
                    Ok(None)
                }
            },
        }
    }
}
