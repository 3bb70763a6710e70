//! What a filed message is made of, its raw source and its attachments, reached only through
//! the shop's ticket that holds it: a message id alone never opens another shop's mail.

use sqlx::Row;

use super::{Result, Store, StoreError};

/// An attachment of a message, as filed (its bytes are in the blob store under `blob_hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttachment {
    pub filename: Option<String>,
    pub content_type: String,
    /// Without angle brackets.
    pub content_id: Option<String>,
    pub inline: bool,
    pub size: i64,
    pub blob_hash: String,
}

impl Store {
    /// The raw bytes of message `message_row_id`, when it belongs to ticket `number` of shop
    /// `shop_id`; `NotFound` otherwise.
    pub async fn ticket_message_raw(
        &self,
        shop_id: i64,
        number: i64,
        message_row_id: i64,
    ) -> Result<Vec<u8>> {
        let row = sqlx::query(
            "SELECT m.raw FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE t.shop_id = $1 AND t.number = $2 AND m.id = $3",
        )
        .bind(shop_id)
        .bind(number)
        .bind(message_row_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("message {message_row_id}")))?;
        Ok(row.try_get("raw")?)
    }

    /// The attachments of message `message_row_id` in filing order, when it belongs to ticket
    /// `number` of shop `shop_id`; `NotFound` otherwise.
    pub async fn ticket_message_attachments(
        &self,
        shop_id: i64,
        number: i64,
        message_row_id: i64,
    ) -> Result<Vec<MessageAttachment>> {
        let owned = sqlx::query(
            "SELECT 1 FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE t.shop_id = $1 AND t.number = $2 AND m.id = $3",
        )
        .bind(shop_id)
        .bind(number)
        .bind(message_row_id)
        .fetch_optional(&self.pool)
        .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound(format!("message {message_row_id}")));
        }
        let rows = sqlx::query(
            "SELECT filename, content_type, content_id, inline, size, blob_hash FROM attachments \
             WHERE message_row_id = $1 ORDER BY id",
        )
        .bind(message_row_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MessageAttachment {
                    filename: row.try_get("filename")?,
                    content_type: row.try_get("content_type")?,
                    content_id: row.try_get("content_id")?,
                    inline: row.try_get::<i64, _>("inline")? != 0,
                    size: row.try_get("size")?,
                    blob_hash: row.try_get("blob_hash")?,
                })
            })
            .collect()
    }
}
