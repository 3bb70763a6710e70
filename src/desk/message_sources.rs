//! A message's source, its HTML part with the images it embeds, and its attachments, for the
//! ticket page's message frame and download links. Always through the shop's ticket: a message
//! or attachment of another shop is "not found".

use crate::intake::parse::parse_message;
use crate::store::{MessageAttachment, Shop};

use super::{Desk, DeskError, DeskResult, not_found};

/// An image a message embeds by `cid:` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// Without `cid:` and angle brackets.
    pub content_id: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// The HTML part of a message as received (not yet sanitised), and the parts it may embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHtml {
    pub html: String,
    pub inline_images: Vec<InlineImage>,
}

impl Desk {
    /// The message exactly as received, when it belongs to ticket `number` of `shop`.
    pub async fn ticket_message_raw(
        &self,
        shop: &Shop,
        number: i64,
        message_id: i64,
    ) -> DeskResult<Vec<u8>> {
        self.store
            .ticket_message_raw(shop.id, number, message_id)
            .await
            .map_err(|e| not_found(e, DeskError::NoMessage(message_id)))
    }

    /// The HTML part of a message of ticket `number`, with the parts that carry a Content-ID;
    /// `None` when the message has no HTML part.
    pub async fn ticket_message_html(
        &self,
        shop: &Shop,
        number: i64,
        message_id: i64,
    ) -> DeskResult<Option<MessageHtml>> {
        let raw = self.ticket_message_raw(shop, number, message_id).await?;
        let parsed = parse_message(&raw);
        Ok(parsed.html.map(|html| MessageHtml {
            html,
            inline_images: parsed
                .attachments
                .into_iter()
                .filter_map(|attachment| {
                    Some(InlineImage {
                        content_id: attachment.content_id?,
                        content_type: attachment.content_type,
                        data: attachment.data,
                    })
                })
                .collect(),
        }))
    }

    /// The `index`-th attachment (in filing order, from 0) of a message of ticket `number`, with
    /// its bytes.
    pub async fn ticket_message_attachment(
        &self,
        shop: &Shop,
        number: i64,
        message_id: i64,
        index: usize,
    ) -> DeskResult<(MessageAttachment, Vec<u8>)> {
        let attachments = self
            .store
            .ticket_message_attachments(shop.id, number, message_id)
            .await
            .map_err(|e| not_found(e, DeskError::NoMessage(message_id)))?;
        let missing = || DeskError::NoAttachment(format!("{message_id}/{index}"));
        let attachment = attachments.into_iter().nth(index).ok_or_else(missing)?;
        let data = self
            .store
            .blobs()
            .get(&attachment.blob_hash)
            .await
            .map_err(|e| not_found(e, missing()))?;
        Ok((attachment, data))
    }
}
