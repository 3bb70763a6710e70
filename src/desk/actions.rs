//! What an employee does on a ticket in the back office: status, assignment, transfers (to a
//! colleague, who is told by email, or to an outside address with the conversation), private
//! notes, intent corrections, replies that are held back when someone wrote in the meantime,
//! the predefined message a reply starts from, the ticket's timeline, who else is on it, and
//! the customer panel beside it.
//!
//! Every use-case takes the employee's shop: a ticket of another shop is "no ticket", an
//! employee of another shop "no employee". Each change is recorded on the ticket's timeline in
//! the same transaction.

use std::collections::HashMap;

use serde::Serialize;

use crate::answering::send::{ShopMessage, send_shop_message};
use crate::answering::{self, AnsweringError, EmployeeReply};
use crate::model::{ReplyKind, ReplyState, Status, UiLang};
use crate::outbound::OutgoingAttachment;
use crate::replies::templates::{ReplyContext, ReplyTemplate, WhenComplete, reply_lang};
use crate::shop::live::SourceError;
use crate::shop::{Money, OrderStatus};
use crate::store::{
    Activity, EventView, MessageView, ReplyAttachment, ReplyView, Shop, StoreError, TicketEvent,
    TicketView,
};
use crate::t;

use super::tickets::TicketDetail;
use super::{Desk, DeskError, DeskResult, not_found};

/// Why an action did not happen, beyond the desk's common errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The email (to a colleague or an outside address) did not go; the reason is for people.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The ticket was given to the colleague, but the email telling them did not go.
    #[error("transferred to {name}, but not told by email: {reason}")]
    TransferredNotTold { name: String, reason: String },
}

impl ActionError {
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            ActionError::NotSent(reason) => t!(lang, "actions.not_sent", reason = reason),
            ActionError::TransferredNotTold { name, reason } => t!(
                lang,
                "actions.transferred_not_told",
                name = name,
                reason = reason
            ),
        }
    }
}

/// Who wrote a message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageAuthor {
    Customer,
    /// An employee's reply; the name when known.
    Employee {
        name: Option<String>,
    },
    /// Guichet's automatic answer or request for information.
    Automatic,
}

/// One entry of a ticket's timeline, in time order.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineItem {
    /// A message of the conversation; `reply` is the outbox row it was sent from, if any.
    Message {
        at: i64,
        author: MessageAuthor,
        message: Box<MessageView>,
        reply: Option<Box<ReplyView>>,
    },
    /// A status change, assignment, transfer, note, correction or reply.
    Event(EventView),
    /// An answer not (or not surely) in the conversation: scheduled, shadow, sending,
    /// cancelled, failed or uncertain.
    Answer { at: i64, reply: ReplyView },
}

impl TimelineItem {
    pub fn at(&self) -> i64 {
        match self {
            TimelineItem::Message { at, .. } | TimelineItem::Answer { at, .. } => *at,
            TimelineItem::Event(event) => event.at,
        }
    }

    /// Whether the item is something written by someone other than `employee_id` (the
    /// customer, a colleague, Guichet): what holds a reply back.
    fn written_by_other(&self, employee_id: i64, replier: &HashMap<i64, Option<i64>>) -> bool {
        let by_me =
            |reply: &ReplyView| replier.get(&reply.id).copied().flatten() == Some(employee_id);
        match self {
            TimelineItem::Message { reply, .. } => !reply.as_deref().is_some_and(by_me),
            TimelineItem::Event(event) => {
                matches!(event.event, TicketEvent::Note { .. })
                    && event.employee_id != Some(employee_id)
            }
            TimelineItem::Answer { reply, .. } => {
                reply.kind == ReplyKind::Employee && !by_me(reply)
            }
        }
    }
}

/// The newest time a page showing `items` has seen: what it gives back as `seen_up_to`.
pub fn seen_up_to(items: &[TimelineItem]) -> i64 {
    items.iter().map(TimelineItem::at).max().unwrap_or(0)
}

/// A file an employee attaches to a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What became of a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyOutcome {
    /// Queued and sent (its state says whether it went).
    Sent(Box<ReplyView>),
    /// Not sent: the customer or a colleague wrote since the page was shown; here is what.
    HeldBack { newer: Vec<TimelineItem> },
}

/// What a transfer to a colleague did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transferred {
    pub to_name: String,
    pub to_email: String,
}

/// An order as the customer panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelOrder {
    pub reference: String,
    pub status: OrderStatus,
    /// The platform's own word for it.
    pub raw_status: Option<String>,
    pub partially_shipped: bool,
    pub partially_refunded: bool,
    pub ordered_at: Option<i64>,
    pub total: Option<Money>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
}

impl PanelOrder {
    pub fn of(order: &crate::shop::Order) -> PanelOrder {
        PanelOrder {
            reference: order.reference.clone(),
            status: order.status,
            raw_status: order.raw_status.clone(),
            partially_shipped: order.partially_shipped,
            partially_refunded: order.partially_refunded,
            ordered_at: order.ordered_at,
            total: order.total.clone(),
            carrier: order.carrier_name(),
            tracking_number: order.tracking_number.clone(),
            tracking_url: order.tracking_url(),
        }
    }
}

/// One line of a customer's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryEntry {
    Order {
        at: i64,
        reference: String,
        status: OrderStatus,
    },
    Message {
        at: i64,
        ticket: i64,
        subject: String,
        /// True for the customer's own message, false for the shop's answer.
        incoming: bool,
    },
}

impl HistoryEntry {
    pub fn at(&self) -> i64 {
        match self {
            HistoryEntry::Order { at, .. } | HistoryEntry::Message { at, .. } => *at,
        }
    }
}

/// What the ticket page shows of the customer beside the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPanel {
    pub name: Option<String>,
    pub email: String,
    /// Orders paid, in preparation, shipped or delivered: as the platform counts them, else
    /// counted from the orders kept.
    pub validated_orders: usize,
    /// As the platform sums it, else the validated orders' totals when they share a currency.
    pub total_spent: Option<Money>,
    /// The platform's account creation, else the first order or ticket.
    pub customer_since: Option<i64>,
    /// The platform failed: the data shown is what the store had.
    pub source_error: Option<SourceError>,
    /// Newest first.
    pub orders: Vec<PanelOrder>,
    /// The customer's tickets, newest first.
    pub tickets: Vec<TicketView>,
    /// Orders and messages, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// Messages of a customer's history at most.
const HISTORY_MESSAGES: i64 = 500;

fn no_ticket(number: i64) -> impl Fn(StoreError) -> DeskError {
    move |error| match error {
        StoreError::NotFound(what) if what.starts_with("employee") => {
            let id = what
                .rsplit(' ')
                .next()
                .and_then(|id| id.parse().ok())
                .unwrap_or(0);
            DeskError::NoEmployee(id)
        }
        other => not_found(other, DeskError::NoTicket(number)),
    }
}

impl Desk {
    /// Marks the ticket handled (Closed), reopens it (Open) or sets it pending; false when it
    /// already was. Closing cancels its scheduled automatic answers.
    pub async fn set_status_by(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        status: Status,
    ) -> DeskResult<bool> {
        Ok(!self
            .bulk_set_status(shop, employee_id, &[number], status)
            .await?
            .is_empty())
    }

    /// [`Desk::set_status_by`] on several tickets, all or none; returns those that changed.
    pub async fn bulk_set_status(
        &self,
        shop: &Shop,
        employee_id: i64,
        numbers: &[i64],
        status: Status,
    ) -> DeskResult<Vec<i64>> {
        self.check_employee(shop, employee_id).await?;
        let missing = numbers.first().copied().unwrap_or(0);
        self.store
            .change_status(shop.id, employee_id, numbers, status)
            .await
            .map_err(|e| match &e {
                StoreError::NotFound(what) => {
                    DeskError::NoTicket(number_in(what).unwrap_or(missing))
                }
                _ => e.into(),
            })
    }

    /// Assigns the ticket to an employee of the shop, or nobody; false when it already was.
    pub async fn assign(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        assignee: Option<i64>,
    ) -> DeskResult<bool> {
        Ok(!self
            .bulk_assign(shop, employee_id, &[number], assignee)
            .await?
            .is_empty())
    }

    /// [`Desk::assign`] on several tickets, all or none; returns those that changed.
    pub async fn bulk_assign(
        &self,
        shop: &Shop,
        employee_id: i64,
        numbers: &[i64],
        assignee: Option<i64>,
    ) -> DeskResult<Vec<i64>> {
        self.check_employee(shop, employee_id).await?;
        let missing = numbers.first().copied().unwrap_or(0);
        self.store
            .assign(shop.id, employee_id, numbers, assignee)
            .await
            .map_err(|e| match &e {
                StoreError::NotFound(what) if what.starts_with("ticket") => {
                    DeskError::NoTicket(number_in(what).unwrap_or(missing))
                }
                _ => no_ticket(missing)(e),
            })
    }

    /// Gives the ticket to a colleague and tells them by email (from the shop's mailbox, in
    /// their language, with the comment). The ticket is theirs even when the email fails:
    /// the error then says both.
    pub async fn transfer_to_employee(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        to_employee_id: i64,
        comment: &str,
    ) -> DeskResult<Transferred> {
        let by = self.check_employee(shop, employee_id).await?;
        let colleague = self
            .store
            .transfer(shop.id, employee_id, number, to_employee_id, comment.trim())
            .await
            .map_err(no_ticket(number))?;
        let (ticket, _) = self
            .store
            .ticket(shop.id, number)
            .await
            .map_err(no_ticket(number))?;
        let lang = colleague.lang;
        let customer = match &ticket.customer_name {
            Some(name) => format!("{name} <{}>", ticket.customer_email),
            None => ticket.customer_email.clone(),
        };
        let mut text = t!(
            lang,
            "actions.transfer_mail_body",
            name = colleague.name,
            by = by.name,
            number = number,
            subject = ticket.subject,
            customer = customer
        );
        if !comment.trim().is_empty() {
            text.push_str("\n\n");
            text.push_str(&t!(lang, "actions.comment_line", comment = comment.trim()));
        }
        text.push('\n');
        let message = ShopMessage {
            shop_id: shop.id,
            number,
            to_email: colleague.email.clone(),
            to_name: Some(colleague.name.clone()),
            subject: t!(
                lang,
                "actions.transfer_mail_subject",
                number = number,
                subject = ticket.subject
            ),
            text,
            attachments: Vec::new(),
        };
        send_shop_message(&self.store, &self.key, &self.send_options(), &message, lang)
            .await
            .map_err(|reason| {
                DeskError::Action(ActionError::TransferredNotTold {
                    name: colleague.name.clone(),
                    reason,
                })
            })?;
        Ok(Transferred {
            to_name: colleague.name,
            to_email: colleague.email,
        })
    }

    /// Sends the conversation (every message as text, with the customer's original
    /// attachments) and the comment to an address outside the team, then records it. Nothing
    /// is recorded when it did not go.
    pub async fn transfer_out(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        address: &str,
        comment: &str,
    ) -> DeskResult<()> {
        let by = self.check_employee(shop, employee_id).await?;
        let address = super::shops::email_address(address)?;
        let (ticket, messages) = self
            .store
            .ticket(shop.id, number)
            .await
            .map_err(no_ticket(number))?;
        let lang = by.lang;
        let time_zone = self.store.reply_settings(shop.id).await?.time_zone;
        let mut text = String::new();
        if !comment.trim().is_empty() {
            text.push_str(comment.trim());
            text.push_str("\n\n");
        }
        text.push_str(&t!(
            lang,
            "actions.forward_intro",
            by = by.name,
            number = number,
            subject = ticket.subject
        ));
        text.push('\n');
        let mut attachments = Vec::new();
        for message in &messages {
            let from = match &message.from_name {
                Some(name) => format!("{name} <{}>", message.from),
                None => message.from.clone(),
            };
            let when = crate::replies::html::format_moment(
                message.date.unwrap_or(message.received_at),
                &time_zone,
                lang,
            )
            .unwrap_or_default();
            text.push_str("\n----------------------------------------\n");
            text.push_str(&t!(lang, "actions.forward_from", from = from));
            text.push('\n');
            text.push_str(&t!(lang, "actions.forward_date", date = when));
            text.push('\n');
            text.push_str(&t!(
                lang,
                "actions.forward_subject",
                subject = message.subject
            ));
            text.push_str("\n\n");
            text.push_str(message.text.trim_end());
            text.push('\n');
            if message.direction != "in" {
                continue;
            }
            for attachment in message.attachments.iter().filter(|a| !a.inline) {
                let bytes = self.store.blobs().get(&attachment.sha256).await?;
                attachments.push(OutgoingAttachment {
                    filename: attachment
                        .filename
                        .clone()
                        .unwrap_or_else(|| format!("attachment-{}", &attachment.sha256[..12])),
                    content_type: attachment.content_type.clone(),
                    bytes,
                });
            }
        }
        let message = ShopMessage {
            shop_id: shop.id,
            number,
            to_email: address.clone(),
            to_name: None,
            subject: t!(
                lang,
                "actions.forward_subject_line",
                number = number,
                subject = ticket.subject
            ),
            text,
            attachments,
        };
        send_shop_message(&self.store, &self.key, &self.send_options(), &message, lang)
            .await
            .map_err(|reason| DeskError::Action(ActionError::NotSent(reason)))?;
        self.store
            .record_event(
                shop.id,
                employee_id,
                number,
                &TicketEvent::TransferredOut {
                    to: address,
                    comment: comment.trim().to_string(),
                },
            )
            .await
            .map_err(no_ticket(number))
    }

    /// A private note on the ticket: for the team, never emailed.
    pub async fn add_note(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        text: &str,
    ) -> DeskResult<()> {
        if text.trim().is_empty() {
            return Err(DeskError::EmptyText);
        }
        self.check_employee(shop, employee_id).await?;
        self.store
            .record_event(
                shop.id,
                employee_id,
                number,
                &TicketEvent::Note {
                    text: text.trim().to_string(),
                },
            )
            .await
            .map_err(no_ticket(number))
    }

    /// Corrects the intent of a customer message of the ticket (its latest when `message_id`
    /// is None): it feeds the shop's model like `intents correct`, and goes on the timeline.
    pub async fn correct_intent_by(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        message_id: Option<i64>,
        intent: &str,
    ) -> DeskResult<()> {
        let by = self.check_employee(shop, employee_id).await?;
        let (_, messages) = self
            .store
            .ticket(shop.id, number)
            .await
            .map_err(no_ticket(number))?;
        let mut incoming = messages.iter().filter(|m| m.direction == "in");
        let message = match message_id {
            Some(id) => incoming
                .find(|m| m.id == id)
                .ok_or(DeskError::NoShopMessage(id))?,
            None => incoming
                .next_back()
                .ok_or(DeskError::NoCustomerMessage(number))?,
        };
        let from = message.triage.as_ref().map(|t| t.intent.clone());
        self.correct_intent(shop, message.id, intent, &by.name)
            .await?;
        self.store
            .record_event(
                shop.id,
                employee_id,
                number,
                &TicketEvent::IntentCorrected {
                    from,
                    to: intent.to_string(),
                },
            )
            .await
            .map_err(no_ticket(number))
    }

    /// The ticket's conversation, events and answers in time order.
    pub async fn timeline(&self, shop: &Shop, number: i64) -> DeskResult<Vec<TimelineItem>> {
        Ok(self.ticket_with_timeline(shop, number).await?.1)
    }

    /// The ticket and its timeline, its messages read once for both (the ticket page).
    pub async fn ticket_with_timeline(
        &self,
        shop: &Shop,
        number: i64,
    ) -> DeskResult<(TicketDetail, Vec<TimelineItem>)> {
        let detail = self.ticket(shop, number).await?;
        let (items, _) = self.timeline_parts(shop, &detail).await?;
        Ok((detail, items))
    }

    /// The timeline, and who wrote each employee reply (outbox id -> employee id).
    async fn timeline_parts(
        &self,
        shop: &Shop,
        detail: &TicketDetail,
    ) -> DeskResult<(Vec<TimelineItem>, HashMap<i64, Option<i64>>)> {
        let number = detail.ticket.number;
        let events = self
            .store
            .ticket_events(shop.id, number)
            .await
            .map_err(no_ticket(number))?;
        let state = self
            .store
            .ticket_state(shop.id, number)
            .await
            .map_err(no_ticket(number))?;
        let times: HashMap<i64, (i64, i64)> = self
            .store
            .outbox_times(shop.id, state.id)
            .await?
            .into_iter()
            .map(|(id, created, updated)| (id, (created, updated)))
            .collect();
        let mut replier: HashMap<i64, Option<i64>> = HashMap::new();
        let mut replier_name: HashMap<i64, Option<String>> = HashMap::new();
        for event in &events {
            if let TicketEvent::Replied { reply_id } = event.event {
                replier.insert(reply_id, event.employee_id);
                replier_name.insert(reply_id, event.employee_name.clone());
            }
        }
        let by_message_id: HashMap<&str, &ReplyView> = detail
            .replies
            .iter()
            .map(|r| (r.message_id.as_str(), r))
            .collect();
        let mut items = Vec::new();
        let mut shown = std::collections::HashSet::new();
        for message in &detail.messages {
            let reply = message
                .message_id
                .as_deref()
                .and_then(|id| by_message_id.get(id).copied());
            let author = match (message.direction.as_str(), reply) {
                ("in", _) => MessageAuthor::Customer,
                (_, Some(reply)) if reply.kind != ReplyKind::Employee => MessageAuthor::Automatic,
                (_, Some(reply)) => MessageAuthor::Employee {
                    name: replier_name.get(&reply.id).cloned().flatten(),
                },
                (_, None) => MessageAuthor::Employee { name: None },
            };
            if let Some(reply) = reply {
                shown.insert(reply.id);
            }
            items.push(TimelineItem::Message {
                at: message.received_at,
                author,
                message: Box::new(message.clone()),
                reply: reply.cloned().map(Box::new),
            });
        }
        for reply in &detail.replies {
            if shown.contains(&reply.id) {
                continue;
            }
            let (created, updated) = times
                .get(&reply.id)
                .copied()
                .unwrap_or((reply.due_at, reply.due_at));
            let at = match reply.state {
                ReplyState::Scheduled | ReplyState::Shadow => reply.due_at.max(created),
                ReplyState::Sent => reply.sent_at.unwrap_or(updated),
                _ => updated,
            };
            items.push(TimelineItem::Answer {
                at,
                reply: reply.clone(),
            });
        }
        items.extend(events.into_iter().map(TimelineItem::Event));
        // Stable: at equal times, messages, then answers, then events, each in its own order.
        items.sort_by_key(TimelineItem::at);
        Ok((items, replier))
    }

    /// The tickets before and after this one in the list's default order: (previous, next).
    pub async fn neighbour_tickets(
        &self,
        shop: &Shop,
        number: i64,
    ) -> DeskResult<(Option<i64>, Option<i64>)> {
        self.store
            .neighbour_tickets(shop.id, number)
            .await
            .map_err(no_ticket(number))
    }

    /// Says the employee is viewing or replying to the ticket, for a minute.
    pub async fn touch_presence(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        activity: Activity,
    ) -> DeskResult<()> {
        self.store
            .touch_presence(shop.id, employee_id, number, activity)
            .await
            .map_err(no_ticket(number))
    }

    /// Who else is on the ticket now, with what they do.
    pub async fn presence(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
    ) -> DeskResult<Vec<(String, Activity)>> {
        self.store
            .presence(shop.id, employee_id, number)
            .await
            .map_err(no_ticket(number))
    }

    /// An employee's reply, unless the customer or a colleague wrote since `seen_up_to` (the
    /// newest time the page showed, [`seen_up_to`]): then it is held back with what is new.
    /// Otherwise it goes like [`Desk::reply`] (the `[N]` tag, scheduled automatic answers
    /// cancelled), with its attachments, is recorded on the timeline, and the employee takes
    /// the ticket when nobody had it.
    pub async fn reply_checked(
        &self,
        shop: &Shop,
        employee_id: i64,
        number: i64,
        body: &str,
        attachments: &[NewAttachment],
        seen_up_to: i64,
    ) -> DeskResult<ReplyOutcome> {
        if body.trim().is_empty() {
            return Err(DeskError::EmptyText);
        }
        self.check_employee(shop, employee_id).await?;
        let detail = self.ticket(shop, number).await?;
        let (items, replier) = self.timeline_parts(shop, &detail).await?;
        let newer: Vec<TimelineItem> = items
            .into_iter()
            .filter(|item| item.at() > seen_up_to && item.written_by_other(employee_id, &replier))
            .collect();
        if !newer.is_empty() {
            return Ok(ReplyOutcome::HeldBack { newer });
        }
        let mut stored = Vec::with_capacity(attachments.len());
        for file in attachments {
            stored.push(ReplyAttachment {
                blob_hash: self.store.blobs().put(&file.bytes).await?,
                filename: file.filename.clone(),
                content_type: file.content_type.clone(),
                size: file.bytes.len() as i64,
            });
        }
        let reply = EmployeeReply {
            shop_id: shop.id,
            number,
            body,
            employee_id: Some(employee_id),
            attachments: &stored,
        };
        let sent = answering::employee_reply_by(
            &self.store,
            &self.key,
            &reply,
            self.lang,
            &self.send_options(),
        )
        .await
        .map_err(|e| match e {
            AnsweringError::Store(StoreError::NotFound(_)) => DeskError::NoCustomerMessage(number),
            other => other.into(),
        })?;
        Ok(ReplyOutcome::Sent(Box::new(sent)))
    }

    /// The shop's predefined message in `lang` (its own, else the default), as a template.
    pub async fn predefined_message(&self, shop: &Shop, lang: UiLang) -> DeskResult<String> {
        Ok(match self.store.predefined_message(shop.id, lang).await? {
            Some(body) => body,
            None => t!(lang, "actions.predefined_default").to_string(),
        })
    }

    /// Saves the shop's predefined message in `lang` once it renders on the sample tickets;
    /// an empty text goes back to the default.
    pub async fn set_predefined_message(
        &self,
        shop: &Shop,
        lang: UiLang,
        body: &str,
    ) -> DeskResult<()> {
        if body.trim().is_empty() {
            self.store
                .set_predefined_message(shop.id, lang, None)
                .await?;
            return Ok(());
        }
        crate::replies::templates::check_template(&predefined_template(lang, body))
            .map_err(super::templates::TemplateRefusal::Invalid)?;
        self.store
            .set_predefined_message(shop.id, lang, Some(body))
            .await?;
        Ok(())
    }

    /// The text a reply to the ticket starts from: the predefined message in the customer's
    /// language, with the ticket's and its order's variables.
    pub async fn reply_prefill(&self, shop: &Shop, number: i64) -> DeskResult<String> {
        let (lang, context) = self.prefill_context(shop, number, None).await?;
        let body = self.predefined_message(shop, lang).await?;
        render_predefined(lang, &body, &context)
    }

    /// `body` rendered as the predefined message in `lang` would start a reply to ticket
    /// `number` of the shop (its customer, their order, the shop's signature). Nothing is
    /// saved.
    pub async fn preview_predefined_message(
        &self,
        shop: &Shop,
        number: i64,
        lang: UiLang,
        body: &str,
    ) -> DeskResult<String> {
        let (lang, context) = self.prefill_context(shop, number, Some(lang)).await?;
        render_predefined(lang, body, &context)
    }

    /// The variables a reply to ticket `number` sees, in `lang` (default: the language of the
    /// customer's latest message).
    async fn prefill_context(
        &self,
        shop: &Shop,
        number: i64,
        lang: Option<UiLang>,
    ) -> DeskResult<(UiLang, ReplyContext)> {
        let message = self
            .store
            .latest_customer_message(shop.id, number)
            .await
            .map_err(|e| not_found(e, DeskError::NoCustomerMessage(number)))?;
        self.reply_context(
            shop,
            number,
            &message.from_email,
            message.from_name.as_deref(),
            message.triage.as_ref(),
            lang,
        )
        .await
    }

    /// [`Desk::reply_prefill`] from a ticket already read: its latest customer message is
    /// among the detail's messages, so it is not read again.
    pub async fn reply_prefill_for(
        &self,
        shop: &Shop,
        detail: &TicketDetail,
    ) -> DeskResult<String> {
        let number = detail.ticket.number;
        // The messages come in conversation order (received time, then id): the last one
        // from the customer is the one `latest_customer_message` picks.
        let message = detail
            .messages
            .iter()
            .rev()
            .find(|m| m.direction == "in")
            .ok_or(DeskError::NoCustomerMessage(number))?;
        let (lang, context) = self
            .reply_context(
                shop,
                number,
                &message.from,
                message.from_name.as_deref(),
                message.triage.as_ref(),
                None,
            )
            .await?;
        let body = self.predefined_message(shop, lang).await?;
        render_predefined(lang, &body, &context)
    }

    async fn reply_context(
        &self,
        shop: &Shop,
        number: i64,
        from_email: &str,
        from_name: Option<&str>,
        triage: Option<&crate::triage::Triage>,
        lang: Option<UiLang>,
    ) -> DeskResult<(UiLang, ReplyContext)> {
        let settings = self.store.reply_settings(shop.id).await?;
        let lang =
            lang.unwrap_or_else(|| reply_lang(triage.and_then(|t| t.lang.as_deref()), self.lang));
        let refs = triage
            .map(|t| t.facts.order_refs.clone())
            .unwrap_or_default();
        let live = self.live_shop(shop.id).await?;
        let (order, known) = live.find_order(from_email, &refs).await?;
        let context = ReplyContext {
            customer_name: from_name.unwrap_or_default().to_string(),
            ticket_number: number,
            shop_name: settings.display_name.clone().unwrap_or(shop.name.clone()),
            signature: settings.signature.clone(),
            order: order
                .as_ref()
                .map(|o| answering::plan::order_summary(o, lang, &settings.time_zone)),
            order_reference: order
                .as_ref()
                .map(|o| o.reference.clone())
                .or_else(|| refs.first().cloned())
                .unwrap_or_default(),
            missing: Vec::new(),
            customer: answering::plan::customer_summary(&known, lang, &settings.time_zone),
        };
        Ok((lang, context))
    }

    /// Who the customer is to the shop: orders, tickets and their history.
    pub async fn customer_panel(&self, shop: &Shop, email: &str) -> DeskResult<CustomerPanel> {
        let email = email.trim().to_lowercase();
        let live = self.live_shop(shop.id).await?.customer(&email).await?;
        let orders = live.orders;
        let record = live.customer;
        let tickets = self.store.customer_tickets(shop.id, &email).await?;
        let messages = self
            .store
            .customer_messages(shop.id, &email, HISTORY_MESSAGES)
            .await?;
        let mut history: Vec<HistoryEntry> = orders
            .iter()
            .filter_map(|o| {
                Some(HistoryEntry::Order {
                    at: o.ordered_at?,
                    reference: o.reference.clone(),
                    status: o.status,
                })
            })
            .chain(messages.into_iter().map(|(at, ticket, subject, incoming)| {
                HistoryEntry::Message {
                    at,
                    ticket,
                    subject,
                    incoming,
                }
            }))
            .collect();
        history.sort_by_key(HistoryEntry::at);
        let customer_since = record.as_ref().and_then(|c| c.customer_since).or_else(|| {
            orders
                .iter()
                .filter_map(|o| o.ordered_at)
                .chain(tickets.iter().map(|t| t.created_at))
                .min()
        });
        let name = record
            .as_ref()
            .map(|c| {
                [c.first_name.as_deref(), c.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter(|part| !part.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|name| !name.is_empty())
            .or_else(|| tickets.iter().find_map(|t| t.customer_name.clone()));
        let validated: Vec<&crate::shop::Order> =
            orders.iter().filter(|o| o.status.is_validated()).collect();
        Ok(CustomerPanel {
            name,
            validated_orders: record
                .as_ref()
                .and_then(|c| c.orders_count)
                .map_or(validated.len(), |n| n as usize),
            total_spent: record
                .as_ref()
                .and_then(|c| c.total_spent.clone())
                .or_else(|| Money::sum(validated.iter().map(|o| o.total.as_ref()))),
            customer_since,
            source_error: live.source_error,
            orders: orders.iter().map(PanelOrder::of).collect(),
            tickets,
            history,
            email,
        })
    }

    /// The shop's employee, or "no employee" (one of another shop included).
    async fn check_employee(
        &self,
        shop: &Shop,
        employee_id: i64,
    ) -> DeskResult<crate::store::Colleague> {
        self.store
            .colleague(shop.id, employee_id)
            .await
            .map_err(|e| not_found(e, DeskError::NoEmployee(employee_id)))
    }
}

fn render_predefined(lang: UiLang, body: &str, context: &ReplyContext) -> DeskResult<String> {
    crate::replies::templates::render(&predefined_template(lang, body), context)
        .map_err(|e| DeskError::Template(super::templates::TemplateRefusal::Invalid(e)))
}

/// The predefined message as a template of the reply-template engine (same variables, same
/// sandbox).
fn predefined_template(lang: UiLang, body: &str) -> ReplyTemplate {
    ReplyTemplate {
        intent: "predefined".into(),
        lang,
        needs: Vec::new(),
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: body.to_string(),
    }
}

/// The number in a store's "ticket N" not-found text.
fn number_in(what: &str) -> Option<i64> {
    what.strip_prefix("ticket ")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replies::templates::{render, sample_contexts};

    #[test]
    fn the_default_predefined_messages_render_in_both_languages() {
        for &lang in UiLang::ALL {
            let template = predefined_template(lang, t!(lang, "actions.predefined_default"));
            for context in sample_contexts(lang) {
                let text = render(&template, &context).unwrap();
                assert!(text.contains(&context.shop_name) || !context.signature.is_empty());
            }
            let named = ReplyContext {
                customer_name: "Marie".into(),
                shop_name: "Boutique".into(),
                ..Default::default()
            };
            let text = render(&template, &named).unwrap();
            assert!(text.contains("Marie,"), "{text}");
            assert!(text.trim_end().ends_with("Boutique"), "{text}");
        }
    }

    #[test]
    fn a_reply_is_held_back_only_by_what_others_wrote() {
        let event = |employee_id, event| {
            TimelineItem::Event(EventView {
                id: 1,
                at: 10,
                employee_id: Some(employee_id),
                employee_name: None,
                event,
            })
        };
        let note = |text: &str| TicketEvent::Note { text: text.into() };
        let replier = HashMap::new();
        assert!(event(2, note("x")).written_by_other(1, &replier));
        assert!(!event(1, note("x")).written_by_other(1, &replier));
        assert!(
            !event(2, TicketEvent::Assigned { to: None }).written_by_other(1, &replier),
            "an assignment is not writing"
        );
        assert_eq!(seen_up_to(&[event(2, note("x"))]), 10);
        assert_eq!(seen_up_to(&[]), 0);
    }

    #[test]
    fn action_errors_read_in_both_languages() {
        for error in [
            ActionError::NotSent("refused".into()),
            ActionError::TransferredNotTold {
                name: "Paul".into(),
                reason: "refused".into(),
            },
        ] {
            assert_ne!(error.localized(UiLang::Fr), error.localized(UiLang::En));
        }
        assert_eq!(number_in("ticket 1042"), Some(1042));
    }
}
