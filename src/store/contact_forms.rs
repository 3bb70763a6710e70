//! A shop's public contact form: its settings, and the submissions the per-address rate limit
//! counts across nodes.

use sqlx::Row;

use super::{Result, Store, now_ms, sha256_hex};

/// Attachments accepted by default: 10 MB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: i64 = 10 * 1024 * 1024;
/// MIME types accepted by default.
pub const DEFAULT_ATTACHMENT_TYPES: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];

/// A shop's contact form settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFormSettings {
    pub enabled: bool,
    pub attachments: bool,
    pub max_attachment_bytes: i64,
    /// MIME types, lowercase.
    pub allowed_types: Vec<String>,
}

impl Default for ContactFormSettings {
    fn default() -> Self {
        ContactFormSettings {
            enabled: true,
            attachments: true,
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            allowed_types: DEFAULT_ATTACHMENT_TYPES.map(str::to_string).to_vec(),
        }
    }
}

impl Store {
    /// The shop's settings, the defaults when it never saved any.
    pub async fn contact_form_settings(&self, shop_id: i64) -> Result<ContactFormSettings> {
        let row = sqlx::query(
            "SELECT enabled, attachments, max_attachment_bytes, allowed_types FROM contact_forms WHERE shop_id = $1",
        )
        .bind(shop_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(ContactFormSettings::default());
        };
        let types: String = row.try_get("allowed_types")?;
        Ok(ContactFormSettings {
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            attachments: row.try_get::<i64, _>("attachments")? != 0,
            max_attachment_bytes: row.try_get("max_attachment_bytes")?,
            allowed_types: types
                .lines()
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
        })
    }

    pub async fn save_contact_form_settings(
        &self,
        shop_id: i64,
        settings: &ContactFormSettings,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO contact_forms (shop_id, enabled, attachments, max_attachment_bytes, allowed_types, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (shop_id) DO UPDATE SET enabled = excluded.enabled, \
             attachments = excluded.attachments, max_attachment_bytes = excluded.max_attachment_bytes, \
             allowed_types = excluded.allowed_types, updated_at = excluded.updated_at",
        )
        .bind(shop_id)
        .bind(settings.enabled as i64)
        .bind(settings.attachments as i64)
        .bind(settings.max_attachment_bytes)
        .bind(settings.allowed_types.join("\n"))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a submission from `client` (an IP address, kept only as a hash) at `at_ms` and
    /// returns how many it made in the `window_ms` up to it, this one included. Rows older than
    /// the window are dropped on the way.
    pub async fn record_contact_submission(
        &self,
        client: &str,
        at_ms: i64,
        window_ms: i64,
    ) -> Result<i64> {
        let client = sha256_hex(format!("contact-form:{client}").as_bytes());
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM contact_form_submissions WHERE at < $1")
            .bind(at_ms - window_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO contact_form_submissions (client, at) VALUES ($1, $2)")
            .bind(&client)
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM contact_form_submissions WHERE client = $1 AND at > $2",
        )
        .bind(&client)
        .bind(at_ms - window_ms)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.try_get("n")?)
    }

    /// The number of the ticket holding the message filed under `dedup_key`.
    pub async fn ticket_number_of_message(
        &self,
        shop_id: i64,
        dedup_key: &str,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.shop_id = $1 AND m.dedup_key = $2",
        )
        .bind(shop_id)
        .bind(dedup_key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| row.try_get("number"))
            .transpose()
            .map_err(Into::into)
    }
}
