//! Tickets: list, show with their answers and case file, status, employee replies, search,
//! deletion, and the raw message or attachment behind them.

use crate::answering::{self, AnsweringError};
use crate::model::Status;
use crate::store::{MessageView, ReplyView, Shop, StoreError, TicketView};

use super::{Desk, DeskError, DeskResult, not_found};

/// A ticket with everything `tickets show` and the ticket page display
/// (`views::TicketDetailJson` is its JSON shape).
#[derive(Debug, Clone)]
pub struct TicketDetail {
    pub ticket: TicketView,
    pub messages: Vec<MessageView>,
    pub replies: Vec<ReplyView>,
    /// Information the ticket waits for, and what the customer brought.
    pub case_file: Option<serde_json::Value>,
}

impl Desk {
    pub async fn tickets(&self, shop: Option<&Shop>) -> DeskResult<Vec<TicketView>> {
        Ok(self.store.tickets(shop.map(|s| s.id)).await?)
    }

    pub async fn ticket(&self, shop: &Shop, number: i64) -> DeskResult<TicketDetail> {
        let missing = || DeskError::NoTicket(number);
        let (ticket, messages) = self
            .store
            .ticket(shop.id, number)
            .await
            .map_err(|e| not_found(e, missing()))?;
        let (case_file, replies) = self
            .store
            .ticket_answers(shop.id, number)
            .await
            .map_err(|e| not_found(e, missing()))?;
        let case_file = match case_file {
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                DeskError::Store(StoreError::Invalid(format!(
                    "ticket {number}: unreadable case file ({e})"
                )))
            })?),
            None => None,
        };
        Ok(TicketDetail {
            ticket,
            messages,
            replies,
            case_file,
        })
    }

    pub async fn delete_ticket(&self, shop: &Shop, number: i64) -> DeskResult<()> {
        self.store
            .delete_ticket(shop.id, number)
            .await
            .map_err(|e| not_found(e, DeskError::NoTicket(number)))
    }

    pub async fn set_status(&self, shop: &Shop, number: i64, status: Status) -> DeskResult<()> {
        self.store
            .set_status(shop.id, number, status)
            .await
            .map_err(|e| not_found(e, DeskError::NoTicket(number)))
    }

    /// An employee's answer to the ticket's latest customer message, sent now; the ticket's
    /// scheduled automatic answers are cancelled. The returned row's state tells if it went.
    pub async fn reply(&self, shop: &Shop, number: i64, body: &str) -> DeskResult<ReplyView> {
        if body.trim().is_empty() {
            return Err(DeskError::EmptyText);
        }
        answering::employee_reply(
            &self.store,
            &self.key,
            shop.id,
            number,
            body,
            self.lang,
            &self.send_options(),
        )
        .await
        .map_err(|e| match e {
            AnsweringError::Store(StoreError::NotFound(_)) => DeskError::NoCustomerMessage(number),
            other => other.into(),
        })
    }

    /// The message exactly as received.
    pub async fn raw_message(&self, message_id: i64) -> DeskResult<Vec<u8>> {
        self.store
            .raw_message(message_id)
            .await
            .map_err(|e| not_found(e, DeskError::NoMessage(message_id)))
    }

    /// An attachment's bytes, by the SHA-256 that `tickets show` gives.
    pub async fn attachment(&self, sha256: &str) -> DeskResult<Vec<u8>> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(DeskError::NoAttachment(sha256.to_string()));
        }
        self.store
            .blobs()
            .get(&sha256.to_ascii_lowercase())
            .await
            .map_err(|e| not_found(e, DeskError::NoAttachment(sha256.to_string())))
    }

    /// Ticket numbers whose messages match the words of `query`.
    pub async fn search(&self, shop: &Shop, query: &str) -> DeskResult<Vec<i64>> {
        Ok(self.store.search(shop.id, query).await?)
    }
}

/// The decision recorded beside a customer's message, typed.
pub fn recorded_decision(message: &MessageView) -> Option<answering::RecordedDecision> {
    serde::Deserialize::deserialize(message.decision.as_ref()?).ok()
}
