//! A shop's orders as imported (`guichet orders import`): one row per reference, updated when
//! the same reference comes again.
use super::{Result, Store, StoreError, decode_json, now_ms};
use crate::shop::{Order, OrderStatus};

const ORDER_COLUMNS: &str =
    "id, reference, customer_email, status, ordered_at, items, carrier, tracking_number";

impl Store {
    /// Stores the orders in one transaction; a known reference is updated. Returns how many.
    pub async fn import_orders(&self, shop_id: i64, orders: &[Order]) -> Result<usize> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        for order in orders {
            sqlx::query(
                "INSERT INTO orders (shop_id, reference, customer_email, status, ordered_at, items, carrier, tracking_number, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (shop_id, reference) DO UPDATE SET \
                 customer_email = excluded.customer_email, status = excluded.status, ordered_at = excluded.ordered_at, \
                 items = excluded.items, carrier = excluded.carrier, tracking_number = excluded.tracking_number, updated_at = excluded.updated_at",
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
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(orders.len())
    }

    /// The customer's orders, newest first, undated ones last (SQLite and PostgreSQL place
    /// NULLs at opposite ends by themselves).
    pub async fn customer_orders(&self, shop_id: i64, customer_email: &str) -> Result<Vec<Order>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE shop_id = $1 AND customer_email = $2 \
             ORDER BY CASE WHEN ordered_at IS NULL THEN 1 ELSE 0 END, ordered_at DESC, id DESC"
        );
        let rows: Vec<OrderRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(customer_email.to_lowercase())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(OrderRecord::into_order).collect()
    }

    /// The order with this reference, written with or without Shopify's `#` either in the
    /// file or by the customer; the exact spelling first.
    pub async fn order_by_reference(&self, shop_id: i64, reference: &str) -> Result<Option<Order>> {
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
        row.map(OrderRecord::into_order).transpose()
    }
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
}

impl OrderRecord {
    fn into_order(self) -> Result<Order> {
        let status = OrderStatus::parse(&self.status).ok_or_else(|| StoreError::UnknownValue {
            table: "orders",
            row: self.id.to_string(),
            column: "status",
            value: self.status.clone(),
        })?;
        Ok(Order {
            items: decode_json("orders", self.id, "items", &self.items)?,
            ordered_at: self.ordered_at,
            carrier: self.carrier,
            tracking_number: self.tracking_number,
            ..Order::new(&self.reference, &self.customer_email, status)
        })
    }
}
