//! Shops and their contacts (the addresses customers write to: "Service client", "Webmaster"...).

use sqlx::Row;

use super::{Result, Store, StoreError, is_unique_violation, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Shop {
    pub id: i64,
    pub name: String,
    pub retention_months: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub description: String,
    /// Messages to this contact are filed as customer-service tickets.
    pub customer_service: bool,
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub name: String,
    pub email: String,
    pub description: String,
    pub customer_service: bool,
}

/// A contact as stored: `customer_service` is 0 or 1 in both dialects.
#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    name: String,
    email: String,
    description: String,
    customer_service: i64,
}

impl From<ContactRow> for Contact {
    fn from(row: ContactRow) -> Self {
        Contact {
            id: row.id,
            name: row.name,
            email: row.email,
            description: row.description,
            customer_service: row.customer_service != 0,
        }
    }
}

impl Store {
    pub async fn add_shop(&self, name: &str) -> Result<Shop> {
        let result = sqlx::query_as::<_, Shop>(
            "INSERT INTO shops (name, created_at) VALUES ($1, $2) RETURNING id, name, retention_months, created_at",
        )
        .bind(name)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(shop) => Ok(shop),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::AlreadyExists(format!("shop {name}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn shops(&self) -> Result<Vec<Shop>> {
        Ok(
            sqlx::query_as(
                "SELECT id, name, retention_months, created_at FROM shops ORDER BY name",
            )
            .fetch_all(&self.pool)
            .await?,
        )
    }

    pub async fn shop_by_name(&self, name: &str) -> Result<Shop> {
        sqlx::query_as("SELECT id, name, retention_months, created_at FROM shops WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("shop {name}")))
    }

    /// Sets how many months tickets are kept (None: forever) and schedules the daily purge.
    pub async fn set_retention(&self, shop_id: i64, months: Option<i64>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE shops SET retention_months = $1 WHERE id = $2")
            .bind(months)
            .bind(shop_id)
            .execute(&mut *tx)
            .await?;
        if months.is_some() {
            super::jobs::schedule_unique_job_in(
                &mut tx,
                super::jobs::PURGE_RETENTION,
                shop_id,
                now_ms(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_contact(&self, shop_id: i64, contact: &NewContact) -> Result<Contact> {
        let result = sqlx::query(
            "INSERT INTO contacts (shop_id, name, email, description, customer_service) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(shop_id)
        .bind(&contact.name)
        .bind(contact.email.to_lowercase())
        .bind(&contact.description)
        .bind(contact.customer_service as i64)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => Ok(Contact {
                id: row.try_get("id")?,
                name: contact.name.clone(),
                email: contact.email.to_lowercase(),
                description: contact.description.clone(),
                customer_service: contact.customer_service,
            }),
            Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                "contact {}",
                contact.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a shop's contact; NotFound when the shop has no contact `contact_id`.
    pub async fn update_contact(
        &self,
        shop_id: i64,
        contact_id: i64,
        contact: &NewContact,
    ) -> Result<()> {
        let result = sqlx::query(
            "UPDATE contacts SET name = $1, email = $2, description = $3, customer_service = $4 WHERE id = $5 AND shop_id = $6",
        )
        .bind(&contact.name)
        .bind(contact.email.to_lowercase())
        .bind(&contact.description)
        .bind(contact.customer_service as i64)
        .bind(contact_id)
        .bind(shop_id)
        .execute(&self.pool)
        .await;
        match result {
            Ok(done) if done.rows_affected() == 0 => {
                Err(StoreError::NotFound(format!("contact {contact_id}")))
            }
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                "contact {}",
                contact.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a shop's contact; its tickets and mailboxes stay, no longer filed under it.
    pub async fn remove_contact(&self, shop_id: i64, contact_id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM contacts WHERE id = $1 AND shop_id = $2")
            .bind(contact_id)
            .bind(shop_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("contact {contact_id}")));
        }
        Ok(())
    }

    pub async fn contacts(&self, shop_id: i64) -> Result<Vec<Contact>> {
        let rows: Vec<ContactRow> = sqlx::query_as(
            "SELECT id, name, email, description, customer_service FROM contacts WHERE shop_id = $1 ORDER BY name",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Contact::from).collect())
    }
}
