//! What the store keeps of a shop's platform: the connection (settings as typed, secrets
//! sealed), the customers fetched, when each was last asked (the short cache), webhook
//! deliveries already applied, and the polling checkpoint.

use super::orders::upsert_orders_in;
use super::{Result, Store, StoreError, decode_json, now_ms};
use crate::shop::platform::{Platform, ShopError};
use crate::shop::{Customer, Money, Order};

/// A shop's connection as kept. The secrets stay sealed: only the desk's key opens them.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredConnection {
    pub shop_id: i64,
    pub platform: Platform,
    /// The connector's settings as JSON.
    pub settings: String,
    pub secrets_sealed: Vec<u8>,
    /// Changes whenever the connection does: the desk rebuilds its client then.
    pub updated_at: i64,
    pub last_check: Option<ConnectionCheck>,
}

impl std::fmt::Debug for StoredConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredConnection")
            .field("shop_id", &self.shop_id)
            .field("platform", &self.platform)
            .field("settings", &self.settings)
            .field("secrets_sealed", &"[sealed]")
            .field("updated_at", &self.updated_at)
            .field("last_check", &self.last_check)
            .finish()
    }
}

/// The last connection check: when, and what it found (JSON of the report or the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionCheck {
    pub checked_at: i64,
    pub ok: bool,
    pub result: String,
}

/// A customer as kept, with where and when the record came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustomer {
    pub customer: Customer,
    pub source: Platform,
    pub fetched_at: i64,
}

/// When a customer was last asked of the platform, and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFetch {
    /// The last attempt (Unix ms), successful or not.
    pub fetched_at: i64,
    /// The last attempt's failure; `None` when it succeeded.
    pub last_error: Option<ShopError>,
    /// The last success: when the data kept was true.
    pub succeeded_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    shop_id: i64,
    platform: String,
    settings: String,
    secrets_sealed: Vec<u8>,
    updated_at: i64,
    checked_at: Option<i64>,
    check_ok: Option<i64>,
    check_result: Option<String>,
}

impl ConnectionRow {
    fn into_connection(self) -> Result<StoredConnection> {
        let platform = Platform::parse(&self.platform).ok_or_else(|| StoreError::UnknownValue {
            table: "shop_connections",
            row: self.shop_id.to_string(),
            column: "platform",
            value: self.platform.clone(),
        })?;
        let last_check = match (self.checked_at, self.check_ok) {
            (Some(checked_at), Some(ok)) => Some(ConnectionCheck {
                checked_at,
                ok: ok != 0,
                result: self.check_result.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(StoredConnection {
            shop_id: self.shop_id,
            platform,
            settings: self.settings,
            secrets_sealed: self.secrets_sealed,
            updated_at: self.updated_at,
            last_check,
        })
    }
}

const CONNECTION_COLUMNS: &str =
    "shop_id, platform, settings, secrets_sealed, updated_at, checked_at, check_ok, check_result";

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: i64,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    customer_since: Option<i64>,
    orders_count: Option<i64>,
    total_spent_minor: Option<i64>,
    currency: Option<String>,
    platform_id: Option<String>,
    source: String,
    fetched_at: i64,
}

#[derive(sqlx::FromRow)]
struct FetchRow {
    fetched_at: i64,
    last_error: Option<String>,
    succeeded_at: Option<i64>,
}

impl Store {
    /// Connects the shop to its platform, replacing any earlier connection (and its check).
    pub async fn save_shop_connection(
        &self,
        shop_id: i64,
        platform: Platform,
        settings_json: &str,
        secrets_sealed: &[u8],
    ) -> Result<()> {
        // Strictly later than the previous one, so a client built on it is never reused.
        let mut tx = self.begin_write().await?;
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT updated_at FROM shop_connections WHERE shop_id = $1")
                .bind(shop_id)
                .fetch_optional(&mut *tx)
                .await?;
        let updated_at = now_ms().max(previous.map_or(0, |p| p + 1));
        sqlx::query(
            "INSERT INTO shop_connections (shop_id, platform, settings, secrets_sealed, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shop_id) DO UPDATE SET \
             platform = excluded.platform, settings = excluded.settings, secrets_sealed = excluded.secrets_sealed, \
             updated_at = excluded.updated_at, checked_at = NULL, check_ok = NULL, check_result = NULL",
        )
        .bind(shop_id)
        .bind(platform.as_str())
        .bind(settings_json)
        .bind(secrets_sealed)
        .bind(updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn shop_connection(&self, shop_id: i64) -> Result<Option<StoredConnection>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM shop_connections WHERE shop_id = $1");
        let row: Option<ConnectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(ConnectionRow::into_connection).transpose()
    }

    /// Every connection of the platform, for the polling job.
    pub async fn shop_connections_on(&self, platform: Platform) -> Result<Vec<StoredConnection>> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM shop_connections WHERE platform = $1 ORDER BY shop_id"
        );
        let rows: Vec<ConnectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(platform.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(ConnectionRow::into_connection)
            .collect()
    }

    /// Removes the connection; the data already fetched stays. Returns whether there was one.
    pub async fn delete_shop_connection(&self, shop_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM shop_connections WHERE shop_id = $1")
            .bind(shop_id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM shop_poll_checkpoints WHERE shop_id = $1")
            .bind(shop_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Keeps the outcome of a connection check (never a secret: the report or the error).
    pub async fn record_connection_check(
        &self,
        shop_id: i64,
        ok: bool,
        result_json: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE shop_connections SET checked_at = $1, check_ok = $2, check_result = $3 WHERE shop_id = $4",
        )
        .bind(now_ms())
        .bind(ok as i64)
        .bind(result_json)
        .bind(shop_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores customers as `source` gave them; a known address is updated.
    pub async fn store_customers(
        &self,
        shop_id: i64,
        source: Platform,
        customers: &[Customer],
    ) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        for customer in customers {
            upsert_customer_in(&mut tx, shop_id, source, customer).await?;
        }
        tx.commit().await?;
        Ok(customers.len())
    }

    pub async fn stored_customer(
        &self,
        shop_id: i64,
        email: &str,
    ) -> Result<Option<StoredCustomer>> {
        let row: Option<CustomerRow> = sqlx::query_as(
            "SELECT id, email, first_name, last_name, customer_since, orders_count, total_spent_minor, currency, \
             platform_id, source, fetched_at FROM customers WHERE shop_id = $1 AND email = $2",
        )
        .bind(shop_id)
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let source = Platform::parse(&r.source).ok_or_else(|| StoreError::UnknownValue {
                table: "customers",
                row: r.id.to_string(),
                column: "source",
                value: r.source.clone(),
            })?;
            let total_spent = match (r.total_spent_minor, r.currency) {
                (Some(minor), Some(currency)) => Some(Money { minor, currency }),
                _ => None,
            };
            Ok(StoredCustomer {
                customer: Customer {
                    email: r.email,
                    first_name: r.first_name,
                    last_name: r.last_name,
                    customer_since: r.customer_since,
                    orders_count: r.orders_count.map(|n| n.clamp(0, u32::MAX as i64) as u32),
                    total_spent,
                    platform_id: r.platform_id,
                },
                source,
                fetched_at: r.fetched_at,
            })
        })
        .transpose()
    }

    /// What the platform said of one address: the record and the orders, and the fetch
    /// noted as a success, in one transaction.
    pub async fn store_fetched_customer(
        &self,
        shop_id: i64,
        source: Platform,
        email: &str,
        customer: Option<&Customer>,
        orders: &[Order],
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if let Some(customer) = customer {
            upsert_customer_in(&mut tx, shop_id, source, customer).await?;
        }
        upsert_orders_in(&mut tx, shop_id, source, orders).await?;
        sqlx::query(
            "INSERT INTO customer_fetches (shop_id, email, fetched_at, last_error, succeeded_at) VALUES ($1, $2, $3, NULL, $3) \
             ON CONFLICT (shop_id, email) DO UPDATE SET fetched_at = excluded.fetched_at, last_error = NULL, \
             succeeded_at = excluded.succeeded_at",
        )
        .bind(shop_id)
        .bind(email.trim().to_lowercase())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes a failed fetch; the data kept and the time of the last success stay.
    pub async fn record_customer_fetch_failure(
        &self,
        shop_id: i64,
        email: &str,
        error: &ShopError,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO customer_fetches (shop_id, email, fetched_at, last_error) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (shop_id, email) DO UPDATE SET fetched_at = excluded.fetched_at, last_error = excluded.last_error",
        )
        .bind(shop_id)
        .bind(email.trim().to_lowercase())
        .bind(now_ms())
        .bind(serde_json::to_string(error).unwrap_or_default())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn customer_fetch(&self, shop_id: i64, email: &str) -> Result<Option<CustomerFetch>> {
        let row: Option<FetchRow> = sqlx::query_as(
            "SELECT fetched_at, last_error, succeeded_at FROM customer_fetches WHERE shop_id = $1 AND email = $2",
        )
        .bind(shop_id)
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(CustomerFetch {
                fetched_at: r.fetched_at,
                last_error: r
                    .last_error
                    .map(|json| decode_json("customer_fetches", shop_id, "last_error", &json))
                    .transpose()?,
                succeeded_at: r.succeeded_at,
            })
        })
        .transpose()
    }

    /// Applies a webhook's order once per delivery id: the delivery is noted in the same
    /// transaction as the order. Returns false when the delivery was already applied.
    pub async fn apply_webhook_order(
        &self,
        shop_id: i64,
        platform: Platform,
        delivery_id: &str,
        order: &Order,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let noted = sqlx::query(
            "INSERT INTO webhook_deliveries (shop_id, platform, delivery_id, received_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (shop_id, platform, delivery_id) DO NOTHING",
        )
        .bind(shop_id)
        .bind(platform.as_str())
        .bind(delivery_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if noted.rows_affected() == 0 {
            return Ok(false);
        }
        upsert_orders_in(&mut tx, shop_id, platform, std::slice::from_ref(order)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether this delivery was applied already (a repeated `FetchOrder` is not fetched again).
    pub async fn webhook_delivery_seen(
        &self,
        shop_id: i64,
        platform: Platform,
        delivery_id: &str,
    ) -> Result<bool> {
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT received_at FROM webhook_deliveries WHERE shop_id = $1 AND platform = $2 AND delivery_id = $3",
        )
        .bind(shop_id)
        .bind(platform.as_str())
        .bind(delivery_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(seen.is_some())
    }

    /// The change time polling has read up to, if it ran.
    pub async fn poll_checkpoint(&self, shop_id: i64) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar(
                "SELECT changed_since FROM shop_poll_checkpoints WHERE shop_id = $1",
            )
            .bind(shop_id)
            .fetch_optional(&self.pool)
            .await?,
        )
    }

    /// Stores polled orders and moves the checkpoint in one transaction: a crash between the
    /// two never skips a change.
    pub async fn store_polled_orders(
        &self,
        shop_id: i64,
        platform: Platform,
        orders: &[Order],
        checkpoint: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        upsert_orders_in(&mut tx, shop_id, platform, orders).await?;
        sqlx::query(
            "INSERT INTO shop_poll_checkpoints (shop_id, changed_since, polled_at) VALUES ($1, $2, $3) \
             ON CONFLICT (shop_id) DO UPDATE SET changed_since = excluded.changed_since, polled_at = excluded.polled_at",
        )
        .bind(shop_id)
        .bind(checkpoint)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn upsert_customer_in(
    conn: &mut sqlx::AnyConnection,
    shop_id: i64,
    source: Platform,
    customer: &Customer,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO customers (shop_id, email, first_name, last_name, customer_since, orders_count, total_spent_minor, \
         currency, platform_id, source, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (shop_id, email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, \
         customer_since = excluded.customer_since, orders_count = excluded.orders_count, \
         total_spent_minor = excluded.total_spent_minor, currency = excluded.currency, platform_id = excluded.platform_id, \
         source = excluded.source, fetched_at = excluded.fetched_at",
    )
    .bind(shop_id)
    .bind(customer.email.trim().to_lowercase())
    .bind(&customer.first_name)
    .bind(&customer.last_name)
    .bind(customer.customer_since)
    .bind(customer.orders_count.map(i64::from))
    .bind(customer.total_spent.as_ref().map(|m| m.minor))
    .bind(customer.total_spent.as_ref().map(|m| m.currency.clone()))
    .bind(&customer.platform_id)
    .bind(source.as_str())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
