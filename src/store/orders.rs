//! A shop's orders, imported from CSV files or fetched from its platform: one row per
//! reference, updated when the same reference comes again.
use super::{Result, Store, StoreError, decode_json, now_ms};
use crate::shop::platform::Platform;
use crate::shop::{Money, Order, OrderStatus};

const ORDER_COLUMNS: &str = "id, reference, customer_email, status, ordered_at, items, carrier, tracking_number, \
     raw_status, partially_shipped, partially_refunded, total_minor, currency, tracking_link, platform_id, \
     platform_updated_at, source, fetched_at";

/// Writes the orders on `conn`; a known reference is updated, unless the row already holds a
/// later change from the platform (a webhook delivered late must not undo a newer state).
pub(super) async fn upsert_orders_in(
    conn: &mut sqlx::AnyConnection,
    shop_id: i64,
    source: Platform,
    orders: &[Order],
) -> Result<()> {
    let now = now_ms();
    for order in orders {
        sqlx::query(
            "INSERT INTO orders (shop_id, reference, customer_email, status, ordered_at, items, carrier, tracking_number, updated_at, \
             raw_status, partially_shipped, partially_refunded, total_minor, currency, tracking_link, platform_id, platform_updated_at, source, fetched_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (shop_id, reference) DO UPDATE SET \
             customer_email = excluded.customer_email, status = excluded.status, ordered_at = excluded.ordered_at, \
             items = excluded.items, carrier = excluded.carrier, tracking_number = excluded.tracking_number, updated_at = excluded.updated_at, \
             raw_status = excluded.raw_status, partially_shipped = excluded.partially_shipped, partially_refunded = excluded.partially_refunded, \
             total_minor = excluded.total_minor, currency = excluded.currency, tracking_link = excluded.tracking_link, \
             platform_id = excluded.platform_id, platform_updated_at = excluded.platform_updated_at, source = excluded.source, \
             fetched_at = excluded.fetched_at \
             WHERE orders.platform_updated_at IS NULL OR excluded.platform_updated_at IS NULL \
             OR excluded.platform_updated_at >= orders.platform_updated_at",
        )
        .bind(shop_id)
        .bind(&order.reference)
        .bind(order.customer_email.to_lowercase())
        .bind(order.status.as_str())
        .bind(order.ordered_at)
        .bind(serde_json::to_string(&order.items).unwrap_or_else(|_| "[]".into()))
        .bind(&order.carrier)
        .bind(&order.tracking_number)
        .bind(now)
        .bind(&order.raw_status)
        .bind(order.partially_shipped as i64)
        .bind(order.partially_refunded as i64)
        .bind(order.total.as_ref().map(|m| m.minor))
        .bind(order.total.as_ref().map(|m| m.currency.clone()))
        .bind(&order.tracking_link)
        .bind(&order.platform_id)
        .bind(order.updated_at)
        .bind(source.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Stores the orders of a CSV file in one transaction; a known reference is updated.
    /// Returns how many.
    pub async fn import_orders(&self, shop_id: i64, orders: &[Order]) -> Result<usize> {
        self.store_orders(shop_id, Platform::Csv, orders).await
    }

    /// Stores orders as `source` gave them, in one transaction. Returns how many.
    pub async fn store_orders(
        &self,
        shop_id: i64,
        source: Platform,
        orders: &[Order],
    ) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        upsert_orders_in(&mut tx, shop_id, source, orders).await?;
        tx.commit().await?;
        Ok(orders.len())
    }

    /// The customer's orders, newest first, undated ones last (SQLite and PostgreSQL place
    /// NULLs at opposite ends by themselves).
    pub async fn customer_orders(&self, shop_id: i64, customer_email: &str) -> Result<Vec<Order>> {
        Ok(self
            .customer_stored_orders(shop_id, customer_email)
            .await?
            .into_iter()
            .map(|o| o.order)
            .collect())
    }

    /// [`Store::customer_orders`] with where and when each came.
    pub async fn customer_stored_orders(
        &self,
        shop_id: i64,
        customer_email: &str,
    ) -> Result<Vec<StoredOrder>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE shop_id = $1 AND customer_email = $2 \
             ORDER BY CASE WHEN ordered_at IS NULL THEN 1 ELSE 0 END, ordered_at DESC, id DESC"
        );
        let rows: Vec<OrderRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(customer_email.trim().to_lowercase())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(OrderRecord::into_stored).collect()
    }

    /// The order with this reference, written with or without Shopify's `#` either in the
    /// file or by the customer; the exact spelling first.
    pub async fn order_by_reference(&self, shop_id: i64, reference: &str) -> Result<Option<Order>> {
        Ok(self
            .stored_order_by_reference(shop_id, reference)
            .await?
            .map(|o| o.order))
    }

    /// [`Store::order_by_reference`] with where and when it came.
    pub async fn stored_order_by_reference(
        &self,
        shop_id: i64,
        reference: &str,
    ) -> Result<Option<StoredOrder>> {
        let bare = reference.trim().trim_start_matches('#');
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE shop_id = $1 AND reference IN ($2, $3, $4) \
             ORDER BY CASE WHEN reference = $2 THEN 0 ELSE 1 END LIMIT 1"
        );
        let row: Option<OrderRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(reference.trim())
            .bind(bare)
            .bind(format!("#{bare}"))
            .fetch_optional(&self.pool)
            .await?;
        row.map(OrderRecord::into_stored).transpose()
    }

    /// The order the platform knows by this id (webhooks name orders so).
    pub async fn order_by_platform_id(
        &self,
        shop_id: i64,
        platform_id: &str,
    ) -> Result<Option<Order>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE shop_id = $1 AND platform_id = $2 LIMIT 1"
        );
        let row: Option<OrderRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(platform_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(OrderRecord::into_stored)
            .transpose()?
            .map(|o| o.order))
    }
}

/// An order as kept: where it came from and when it was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub order: Order,
    pub source: Platform,
    /// When it was written (Unix ms).
    pub fetched_at: Option<i64>,
}

/// An order row as the database holds it: `items` is JSON.
#[derive(sqlx::FromRow)]
struct OrderRecord {
    id: i64,
    reference: String,
    customer_email: String,
    status: String,
    ordered_at: Option<i64>,
    items: String,
    carrier: Option<String>,
    tracking_number: Option<String>,
    raw_status: Option<String>,
    partially_shipped: i64,
    partially_refunded: i64,
    total_minor: Option<i64>,
    currency: Option<String>,
    tracking_link: Option<String>,
    platform_id: Option<String>,
    platform_updated_at: Option<i64>,
    source: String,
    fetched_at: Option<i64>,
}

impl OrderRecord {
    fn into_stored(self) -> Result<StoredOrder> {
        let unknown = |column: &'static str, value: &str| StoreError::UnknownValue {
            table: "orders",
            row: self.id.to_string(),
            column,
            value: value.to_string(),
        };
        let status =
            OrderStatus::parse(&self.status).ok_or_else(|| unknown("status", &self.status))?;
        let source =
            Platform::parse(&self.source).ok_or_else(|| unknown("source", &self.source))?;
        let total = match (self.total_minor, self.currency) {
            (Some(minor), Some(currency)) => Some(Money { minor, currency }),
            _ => None,
        };
        Ok(StoredOrder {
            order: Order {
                items: decode_json("orders", self.id, "items", &self.items)?,
                ordered_at: self.ordered_at,
                carrier: self.carrier,
                tracking_number: self.tracking_number,
                raw_status: self.raw_status,
                partially_shipped: self.partially_shipped != 0,
                partially_refunded: self.partially_refunded != 0,
                total,
                tracking_link: self.tracking_link,
                platform_id: self.platform_id,
                updated_at: self.platform_updated_at,
                ..Order::new(&self.reference, &self.customer_email, status)
            },
            source,
            fetched_at: self.fetched_at,
        })
    }
}
