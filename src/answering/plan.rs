//! Deciding, once per customer message, whether Guichet answers it: reads what the decision
//! needs from the store, asks the pure [`replies::decide`], renders the template, and records
//! the decision with its scheduled answer in one transaction.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::model::{ReplyKind, ReplyState, Status, UiLang};
use crate::replies::templates::{
    CustomerSummary, OrderItem, OrderSummary, find_template, reply_lang,
};
use crate::replies::{
    self, AutoAnswerSettings, Decision, DecisionInput, DelayPolicy, Mode, Need, NoAutoReply,
    OrderLookup, PendingRequest, Plan, QuotaState, ReplyContext, ReplyTemplate, WhenComplete,
};
use crate::shop::Order;
use crate::shop::live::{LiveCustomer, LiveShop, ShopData};
use crate::store::{
    DecisionRecord, NewReply, PendingMessage, ReplySettings, Store, StoreError, now_ms,
};
use crate::triage::Facts;

/// A message older than this when Guichet first looks at it gets no automatic answer.
const MAX_AGE_MS: i64 = 3 * 24 * 3600 * 1000;
/// Messages decided per store round trip.
const PLAN_BATCH: i64 = 200;

/// How long an answer that needs the order waits for a failing shop platform before the
/// message goes to a person; it is tried again at each planning turn meanwhile.
pub const WAIT_FOR_SHOP_DATA_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum AnsweringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid setting: {0}")]
    Setting(String),
}

/// What planning did, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub decided: u64,
    pub scheduled: u64,
    pub shadow: u64,
    pub handed_over: u64,
}

/// What a ticket waits for after we asked the customer for information, and what they gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFile {
    /// The intent (template) that asked.
    pub intent: String,
    pub needs: Vec<Need>,
    pub missing: Vec<Need>,
    /// Order references the customer gave across the ticket.
    pub order_refs: Vec<String>,
    pub photo: bool,
    /// The customer's words since the request (an address may be in an earlier message).
    pub text: String,
    pub complete: bool,
}

/// The decision as employees see it beside the message (stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedDecision {
    #[serde(flatten)]
    pub decision: Decision,
    /// Shadow mode: decided, drafted, never sent.
    pub shadow: bool,
    pub explanation_fr: String,
    pub explanation_en: String,
}

impl RecordedDecision {
    /// Why the decision was taken, in `lang` (the record keeps one text per language, as
    /// `tickets show --json` documents).
    pub fn explanation(&self, lang: UiLang) -> &str {
        match lang {
            UiLang::Fr => &self.explanation_fr,
            UiLang::En => &self.explanation_en,
        }
    }
}

/// A shop's settings turned into the pure types, with its templates.
pub struct ShopAnswering {
    pub shop_id: i64,
    pub shop_name: String,
    pub settings: ReplySettings,
    pub answer: AutoAnswerSettings,
    pub plan: Plan,
    pub delay: DelayPolicy,
    pub templates: Vec<ReplyTemplate>,
    pub own_addresses: Vec<String>,
    /// Domain of the deterministic Message-IDs (the shop's mailbox).
    pub domain: String,
    pub default_lang: UiLang,
}

impl ShopAnswering {
    pub async fn load(
        store: &Store,
        shop_id: i64,
        default_lang: UiLang,
    ) -> Result<ShopAnswering, AnsweringError> {
        let shop = store
            .shops()
            .await?
            .into_iter()
            .find(|s| s.id == shop_id)
            .ok_or_else(|| StoreError::NotFound(format!("shop {shop_id}")))?;
        let settings = store.reply_settings(shop_id).await?;
        let disabled: HashSet<String> = store
            .shop_intents(shop_id, default_lang)
            .await?
            .into_iter()
            .filter(|i| !i.enabled)
            .map(|i| i.id)
            .collect();
        let mut answer = AutoAnswerSettings {
            mode: settings.auto_answers,
            threshold: settings.threshold as f32,
            per_intent_threshold: settings
                .intent_thresholds
                .iter()
                .map(|(intent, t)| (intent.clone(), *t as f32))
                .collect(),
            ..AutoAnswerSettings::default()
        };
        answer.automatic_intents.retain(|i| !disabled.contains(i));
        let plan = Plan::new(
            settings.plan,
            settings
                .plan_quota
                .map(|q| q.clamp(0, u32::MAX as i64) as u32),
            settings.trial_until,
        )
        .map_err(|e| AnsweringError::Setting(e.to_string()))?;
        let business_hours = settings
            .business_hours
            .as_deref()
            .map(replies::BusinessHours::parse)
            .transpose()
            .map_err(|e| AnsweringError::Setting(e.to_string()))?;
        let delay = DelayPolicy {
            delay_ms: settings.reply_delay_ms,
            spread_ms: settings.reply_spread_ms,
            business_hours,
        };
        let mut templates = replies::shipped_templates();
        for edited in store.shop_templates(shop_id).await? {
            let needs = edited
                .needs
                .iter()
                .filter_map(|n| Need::from_id(n))
                .collect();
            let when_complete = if edited.when_complete == "answer" {
                WhenComplete::Answer
            } else {
                WhenComplete::HandOver
            };
            match templates
                .iter_mut()
                .find(|t| t.intent == edited.intent && t.lang == edited.lang)
            {
                Some(template) => {
                    template.body = edited.body;
                    template.needs = needs;
                    template.when_complete = when_complete;
                }
                None => templates.push(ReplyTemplate {
                    intent: edited.intent,
                    lang: edited.lang,
                    needs,
                    when_complete,
                    needs_order_data: false,
                    body: edited.body,
                }),
            }
        }
        let own_addresses = store.own_addresses(shop_id).await?;
        let domain = store
            .mailboxes()
            .await?
            .into_iter()
            .find(|m| m.shop_id == shop_id)
            .and_then(|m| m.email.split_once('@').map(|(_, d)| d.to_string()))
            .unwrap_or_else(|| "guichet.invalid".to_string());
        Ok(ShopAnswering {
            shop_id,
            shop_name: settings.display_name.clone().unwrap_or(shop.name),
            settings,
            answer,
            plan,
            delay,
            templates,
            own_addresses,
            domain,
            default_lang,
        })
    }

    /// Mail that arrived before answers were turned on, or days ago, is never answered late.
    pub fn is_too_old(&self, message: &PendingMessage, now: i64) -> bool {
        let written = message
            .date_ms
            .unwrap_or(message.received_at)
            .min(message.received_at);
        self.settings
            .auto_answers_since
            .is_none_or(|since| message.received_at < since)
            || now - written > MAX_AGE_MS
    }

    /// The deterministic Message-ID of the answer to a message: a copy is recognisable
    /// anywhere, and intake never files it as a customer's.
    pub fn message_id(&self, message_row_id: i64) -> String {
        format!(
            "{}{}.{}@{}",
            crate::intake::sync::OWN_MESSAGE_ID_PREFIX,
            self.shop_id,
            message_row_id,
            self.domain
        )
    }
}

impl PlanSummary {
    pub fn add(&mut self, other: PlanSummary) {
        self.decided += other.decided;
        self.scheduled += other.scheduled;
        self.shadow += other.shadow;
        self.handed_over += other.handed_over;
    }
}

/// What a slice of one shop's planning did, and whether it stopped at its budget (so
/// messages may be left for the next slice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShopSlice {
    pub planned: PlanSummary,
    pub more: bool,
}

/// Decides for every customer message of the shop not decided yet.
pub async fn plan_shop(
    shops: &ShopData,
    shop_id: i64,
    default_lang: UiLang,
) -> Result<PlanSummary, AnsweringError> {
    Ok(plan_shop_slice(shops, shop_id, default_lang, u64::MAX)
        .await?
        .planned)
}

/// Decides for the shop's oldest customer messages not decided yet, `budget` of them at the
/// most, so that a shop's backlog (a first import) lets the other shops, and the sending of
/// the answers already decided, take their turn.
pub async fn plan_shop_slice(
    shops: &ShopData,
    shop_id: i64,
    default_lang: UiLang,
    budget: u64,
) -> Result<ShopSlice, AnsweringError> {
    let store = &shops.store;
    let mut summary = PlanSummary::default();
    let done = |planned| {
        Ok(ShopSlice {
            planned,
            more: false,
        })
    };
    // With answers off nothing is decided: messages stay pending, and whatever arrived before
    // answers are turned on is then handed over as too old, never answered late.
    if store.reply_settings(shop_id).await?.auto_answers == Mode::Off {
        return done(summary);
    }
    let mut looked_at = 0u64;
    let mut loaded: Option<ShopAnswering> = None;
    let live = shops.live(shop_id).await?;
    // Messages left pending this turn because the platform failed: the next turn asks again.
    let mut waiting: HashSet<i64> = HashSet::new();
    loop {
        let pending = store.pending_messages(shop_id, PLAN_BATCH).await?;
        if pending.iter().all(|m| waiting.contains(&m.id)) {
            return done(summary);
        }
        // Loaded only when there is something to decide: `serve` asks every few seconds.
        let shop = match loaded {
            Some(ref shop) => shop,
            None => loaded.insert(ShopAnswering::load(store, shop_id, default_lang).await?),
        };
        for message in pending {
            if waiting.contains(&message.id) {
                continue;
            }
            if looked_at == budget {
                return Ok(ShopSlice {
                    planned: summary,
                    more: true,
                });
            }
            looked_at += 1;
            let now = now_ms();
            let (quota, earlier, known) = if shop.is_too_old(&message, now) {
                // Handed over whatever the rest says: skip the lookups (a first turn-on
                // meets the whole history of the mailbox).
                (
                    QuotaState::Available { left: None },
                    EarlierAnswers::default(),
                    ShopKnowledge::default(),
                )
            } else {
                let known = ShopKnowledge::of(&live, &message).await?;
                let to_sender = store
                    .auto_replies_to_since(
                        shop_id,
                        &message.from_email,
                        now - replies::safety::SENDER_WINDOW_MS,
                        message.ticket_id,
                    )
                    .await?;
                let earlier = EarlierAnswers {
                    on_ticket_ms: store.last_auto_reply_at(message.ticket_id).await?,
                    to_sender: to_sender.clamp(0, u32::MAX as i64) as u32,
                };
                (quota_now(store, shop, now).await?, earlier, known)
            };
            let draft = draft_for(shop, &message, &known, quota, earlier, now, false);
            if let Decision::HandOver {
                reason: NoAutoReply::ShopDataUnavailable,
            } = draft.decision.decision
                && now - message.received_at < WAIT_FOR_SHOP_DATA_MS
            {
                waiting.insert(message.id);
                continue;
            }
            if let Decision::HandOver {
                reason: NoAutoReply::QuotaSpent,
            } = draft.decision.decision
            {
                super::notify_quota_spent(store, shop, now).await?;
            }
            let reply = draft.reply.clone();
            let record = DecisionRecord {
                message_row_id: message.id,
                ticket_id: message.ticket_id,
                decision: serde_json::to_string(&draft.decision).unwrap_or_default(),
                case_file: draft
                    .case_file
                    .as_ref()
                    .map(|c| serde_json::to_string(c).ok()),
                reply,
            };
            if store.record_decision(&record).await? {
                summary.decided += 1;
                match &draft.reply {
                    Some(r) if r.state == ReplyState::Shadow => summary.shadow += 1,
                    Some(_) => summary.scheduled += 1,
                    None => summary.handed_over += 1,
                }
            }
        }
    }
}

async fn quota_now(
    store: &Store,
    shop: &ShopAnswering,
    now: i64,
) -> Result<QuotaState, AnsweringError> {
    let month_start = replies::month_start_ms(now, &shop.settings.time_zone);
    let used = store.auto_replies_since(shop.shop_id, month_start).await?;
    Ok(replies::quota_state(
        &shop.plan,
        used.clamp(0, u32::MAX as i64) as u32,
        now,
    ))
}

/// The automatic answers already given that bear on a new one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EarlierAnswers {
    /// When the ticket last got one.
    pub on_ticket_ms: Option<i64>,
    /// How many went to the sender's address in the last 24 hours, on any ticket (with those
    /// scheduled on other tickets).
    pub to_sender: u32,
}

/// A decision with what it sends (if anything) and the ticket's new case file.
#[derive(Debug, Clone)]
pub struct Draft {
    pub decision: RecordedDecision,
    pub reply: Option<NewReply>,
    /// Some(None) clears the case file; None leaves it.
    pub case_file: Option<Option<CaseFile>>,
    pub lang: UiLang,
}

/// Decides and drafts the answer to one message. Pure given its inputs; `replay` uses it with
/// `force_on` to see what a shop with answers turned off would send.
/// What the shop knows for one message: the order it is about, the sender as a customer,
/// and whether the platform failed while asked.
#[derive(Debug, Clone, Default)]
pub struct ShopKnowledge {
    pub order: Option<Order>,
    pub customer: Option<LiveCustomer>,
    pub platform_failed: bool,
}

impl ShopKnowledge {
    /// Looks the message's order and sender up (a message without triage has no facts).
    pub async fn of(
        live: &LiveShop,
        message: &PendingMessage,
    ) -> Result<ShopKnowledge, StoreError> {
        // A failure met for an earlier message says nothing of this one.
        live.take_failure();
        let Some(triage) = &message.triage else {
            return Ok(ShopKnowledge::default());
        };
        let (order, customer) = live
            .find_order(&message.from_email, &triage.facts.order_refs)
            .await?;
        Ok(ShopKnowledge {
            platform_failed: order.is_none() && live.take_failure().is_some(),
            order,
            customer: Some(customer),
        })
    }
}

pub fn draft_for(
    shop: &ShopAnswering,
    message: &PendingMessage,
    known: &ShopKnowledge,
    quota: QuotaState,
    earlier: EarlierAnswers,
    now: i64,
    force_on: bool,
) -> Draft {
    let triage = message.triage.as_ref();
    let lang = reply_lang(triage.and_then(|t| t.lang.as_deref()), shop.default_lang);
    let order = known.order.as_ref();
    let previous: Option<CaseFile> = message
        .case_file
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok());
    // The customer's information adds up over the ticket since we asked for it.
    let mut facts: Facts = triage.map(|t| t.facts.clone()).unwrap_or_default();
    let mut text = message.new_text.clone();
    let mut has_image = message.has_image;
    if let Some(case) = previous.as_ref().filter(|c| !c.complete) {
        for reference in &case.order_refs {
            if !facts.order_refs.contains(reference) {
                facts.order_refs.push(reference.clone());
            }
        }
        has_image |= case.photo;
        text = format!("{}\n{}", case.text, text);
    }
    let pending_request = previous
        .as_ref()
        .filter(|c| !c.complete)
        .map(|c| PendingRequest {
            template: c.intent.clone(),
            missing: c.missing.clone(),
        });
    let intent = triage.map(|t| t.intent.as_str()).unwrap_or("other");
    let template_intent = pending_request
        .as_ref()
        .map(|r| r.template.as_str())
        .unwrap_or(intent);
    let template = find_template(&shop.templates, template_intent, lang);
    let mut settings = shop.answer.clone();
    if force_on {
        settings.mode = Mode::On;
    }
    let too_old = !force_on && shop.is_too_old(message, now);
    let machine = replies::machine_refusal(
        &message.from_email,
        &message.automation,
        &shop.own_addresses,
    )
    .or((message.ticket_status == Status::Closed).then_some(NoAutoReply::TicketClosed))
    .or((too_old && settings.mode != Mode::Off).then_some(NoAutoReply::TooOld))
    .or(replies::sender_refusal(earlier.to_sender));
    let decision = replies::decide(&DecisionInput {
        settings: &settings,
        intent,
        confidence: triage.map_or(0.0, |t| t.confidence),
        facts: &facts,
        text: &text,
        machine_refusal: machine,
        already_answered: false,
        last_auto_answer_ms: earlier.on_ticket_ms,
        pending_request: pending_request.as_ref(),
        now_ms: now,
        quota,
        has_image,
        order: match (order, known.platform_failed) {
            (Some(_), _) => OrderLookup::Found,
            (None, true) => OrderLookup::Unavailable,
            (None, false) => OrderLookup::NotFound,
        },
        template,
    });
    let shadow = settings.mode == Mode::Shadow;
    let (decision, body) = match (&decision, template) {
        (Decision::Answer { .. } | Decision::AskForMissing { .. }, Some(template)) => {
            let missing = match &decision {
                Decision::AskForMissing { missing, .. } => missing.clone(),
                _ => Vec::new(),
            };
            let context = ReplyContext {
                customer_name: message.from_name.clone().unwrap_or_default(),
                ticket_number: message.ticket_number,
                shop_name: shop.shop_name.clone(),
                signature: shop.settings.signature.clone(),
                order: order.map(|o| order_summary(o, lang, &shop.settings.time_zone)),
                order_reference: order
                    .map(|o| o.reference.clone())
                    .or_else(|| facts.order_refs.first().cloned())
                    .unwrap_or_default(),
                missing,
                customer: known
                    .customer
                    .as_ref()
                    .and_then(|c| customer_summary(c, lang, &shop.settings.time_zone)),
            };
            match replies::render(template, &context) {
                Ok(body) => (decision, Some(body)),
                Err(error) => (
                    Decision::HandOver {
                        reason: NoAutoReply::TemplateFailed {
                            error: error.explain(lang),
                        },
                    },
                    None,
                ),
            }
        }
        _ => (decision, None),
    };
    let case_file = match &decision {
        Decision::AskForMissing { template, missing } => Some(Some(CaseFile {
            intent: template.clone(),
            needs: find_template(&shop.templates, template, lang)
                .map(|t| t.needs.clone())
                .unwrap_or_default(),
            missing: missing.clone(),
            order_refs: facts.order_refs.clone(),
            photo: has_image,
            text: truncate(&text, 4000),
            complete: false,
        })),
        Decision::HandOver {
            reason: NoAutoReply::CaseComplete,
        }
        | Decision::Answer { .. }
            if previous.as_ref().is_some_and(|c| !c.complete) =>
        {
            previous.clone().map(|mut case| {
                case.order_refs = facts.order_refs.clone();
                case.photo = has_image;
                case.text = truncate(&text, 4000);
                case.missing.clear();
                case.complete = true;
                Some(case)
            })
        }
        _ => None,
    };
    let reply = body.map(|body| NewReply {
        shop_id: shop.shop_id,
        ticket_id: Some(message.ticket_id),
        reply_to_message: Some(message.id),
        kind: if matches!(decision, Decision::AskForMissing { .. }) {
            ReplyKind::Ask
        } else {
            ReplyKind::Answer
        },
        intent: Some(template_intent.to_string()),
        lang,
        state: if shadow {
            ReplyState::Shadow
        } else {
            ReplyState::Scheduled
        },
        due_at: replies::due_at(
            message
                .received_at
                .max(message.date_ms.unwrap_or(0))
                .min(now),
            &shop.delay,
            message.id as u64 ^ 0x9E37_79B9_7F4A_7C15,
        ),
        to_email: message.from_email.clone(),
        to_name: message.from_name.clone(),
        subject: replies::reply_subject(message.ticket_number, &message.ticket_subject),
        body_text: body,
        message_id: shop.message_id(message.id),
    });
    Draft {
        decision: RecordedDecision {
            explanation_fr: explain(&decision, UiLang::Fr),
            explanation_en: explain(&decision, UiLang::En),
            decision,
            shadow,
        },
        reply,
        case_file,
        lang,
    }
}

/// Why the decision was taken, in `lang`: one text per language for the stored record.
fn explain(decision: &Decision, lang: UiLang) -> String {
    match decision {
        Decision::HandOver { reason } => reason.explain(lang),
        Decision::Answer {
            then_hand_over: true,
            ..
        } => crate::t!(lang, "explanation.holding_answer").into(),
        Decision::Answer { .. } => crate::t!(lang, "explanation.answer").into(),
        Decision::AskForMissing { missing, .. } => {
            let missing = missing
                .iter()
                .map(|n| n.label(lang))
                .collect::<Vec<_>>()
                .join(", ");
            crate::t!(lang, "explanation.asking_for", missing = missing)
        }
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().collect::<Vec<_>>()[text.chars().count().saturating_sub(max_chars)..]
        .iter()
        .collect()
}

/// An order as templates see it, in the answer's language.
pub fn order_summary(order: &Order, lang: UiLang, time_zone: &str) -> OrderSummary {
    OrderSummary {
        reference: order.reference.clone(),
        status_label: order.status.label(lang).to_string(),
        status: order.status.to_string(),
        // The day is what a customer knows of an order; the hour would only puzzle.
        date: order
            .ordered_at
            .and_then(|ms| replies::html::format_day(ms, time_zone, lang))
            .unwrap_or_default(),
        items: order
            .items
            .iter()
            .map(|item| OrderItem {
                name: item.name.clone(),
                quantity: item.quantity.clamp(0, u32::MAX as i64) as u32,
            })
            .collect(),
        carrier: order.carrier_name(),
        tracking_number: order.tracking_number.clone(),
        tracking_url: order.tracking_url(),
        total: order.total.as_ref().map(|m| m.decimal()),
        currency: order.total.as_ref().map(|m| m.currency.clone()),
    }
}

/// The customer as templates see them: the platform's record, else what the orders say.
pub fn customer_summary(
    customer: &crate::shop::live::LiveCustomer,
    lang: UiLang,
    time_zone: &str,
) -> Option<CustomerSummary> {
    let record = customer.customer.as_ref();
    if record.is_none() && customer.orders.is_empty() {
        return None;
    }
    let validated: Vec<&Order> = customer
        .orders
        .iter()
        .filter(|o| o.status.is_validated())
        .collect();
    let total_spent = record
        .and_then(|c| c.total_spent.clone())
        .or_else(|| crate::shop::Money::sum(validated.iter().map(|o| o.total.as_ref())));
    Some(CustomerSummary {
        first_name: record.and_then(|c| c.first_name.clone()),
        last_name: record.and_then(|c| c.last_name.clone()),
        orders_count: record
            .and_then(|c| c.orders_count)
            .unwrap_or(validated.len() as u32),
        total_spent: total_spent.as_ref().map(|m| m.decimal()),
        currency: total_spent.map(|m| m.currency),
        customer_since: record
            .and_then(|c| c.customer_since)
            .and_then(|ms| replies::html::format_day(ms, time_zone, lang))
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order's day in the shop's time zone, without the hour, in both languages: 23:30 UTC
    /// on 23 November is already the 24th in Paris.
    #[test]
    fn order_summary_gives_the_local_day_without_the_hour() {
        let order = Order {
            ordered_at: Some(1_763_940_600_000), // 2025-11-23T23:30:00Z
            ..Order::new("A-1", "marie@example.com", crate::shop::OrderStatus::Paid)
        };
        assert_eq!(
            order_summary(&order, UiLang::Fr, "Europe/Paris").date,
            "24 nov. 2025"
        );
        assert_eq!(
            order_summary(&order, UiLang::En, "Europe/Paris").date,
            "24 Nov 2025"
        );
        assert_eq!(order_summary(&order, UiLang::En, "UTC").date, "23 Nov 2025");
    }

    /// Each language's explanation comes from its own catalogue text.
    #[test]
    fn explanations_exist_in_every_language() {
        let decision = Decision::Answer {
            template: "order_status".into(),
            then_hand_over: true,
        };
        assert_eq!(
            explain(&decision, UiLang::Fr),
            "Réponse automatique d'attente, puis le ticket revient à l'équipe."
        );
        assert_eq!(
            explain(&decision, UiLang::En),
            "Automatic holding answer, then the ticket goes to the team."
        );
    }

    #[test]
    fn truncate_keeps_the_end() {
        assert_eq!(truncate("abcdef", 3), "def");
        assert_eq!(truncate("é", 3), "é");
    }
}
