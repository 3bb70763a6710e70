//! Whether a message gets an automatic answer, which one, and what it asks for.
//!
//! Checks, in order: a machine sent it → automatic answers are off → this message was already
//! answered → the ticket got an automatic answer in the last 24 hours → the intent is not
//! answered automatically → triage is not confident enough → the plan's quota → information
//! missing → answer. The first that applies decides, so employees see the most fundamental
//! reason. Shadow mode decides exactly the same way; the caller then records instead of sending.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::quota::QuotaState;
use super::safety::NoAutoReply;
use super::templates::{Need, ReplyTemplate, WhenComplete, missing_needs};
use crate::model::UiLang;
use crate::t;
use crate::triage::Facts;

/// At most one automatic answer per ticket in this window.
pub const ANSWER_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Confidence required by default before answering automatically.
pub const DEFAULT_THRESHOLD: f32 = 0.9;

/// Whether a shop's automatic answers go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No automatic answer.
    #[default]
    Off,
    /// Decide and record what would have been sent, send nothing: to try settings safely.
    Shadow,
    /// Send.
    On,
}

crate::serde_names!(Mode);

impl Mode {
    pub fn label(self, lang: UiLang) -> &'static str {
        match self {
            Mode::Off => t!(lang, "decision.mode_off"),
            Mode::Shadow => t!(lang, "decision.mode_shadow"),
            Mode::On => t!(lang, "decision.mode_on"),
        }
    }
}

/// A shop's automatic-answer settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoAnswerSettings {
    pub mode: Mode,
    /// Confidence required to answer, 0 to 1.
    pub threshold: f32,
    /// Stricter or looser thresholds for some intents.
    pub per_intent_threshold: HashMap<String, f32>,
    /// Intents answered automatically (each also needs a template in the customer's language).
    pub automatic_intents: HashSet<String>,
}

/// Intents that have a shipped template, answered automatically by default once a shop turns
/// automatic answers on.
pub const DEFAULT_AUTOMATIC_INTENTS: [&str; 9] = [
    "order_status",
    "return_exchange",
    "refund",
    "cancel_order",
    "change_order",
    "damaged_or_wrong_item",
    "invoice",
    "account",
    "payment_issue",
];

impl Default for AutoAnswerSettings {
    /// Off, threshold 0.9, every intent that has a shipped template.
    fn default() -> Self {
        AutoAnswerSettings {
            mode: Mode::Off,
            threshold: DEFAULT_THRESHOLD,
            per_intent_threshold: HashMap::new(),
            automatic_intents: DEFAULT_AUTOMATIC_INTENTS
                .iter()
                .map(|intent| intent.to_string())
                .collect(),
        }
    }
}

impl AutoAnswerSettings {
    /// The confidence `intent` needs.
    pub fn threshold_for(&self, intent: &str) -> f32 {
        self.per_intent_threshold
            .get(intent)
            .copied()
            .unwrap_or(self.threshold)
    }
}

/// Our last automatic answer on the ticket asked the customer for missing information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The template (intent) that asked.
    pub template: String,
    /// What it asked for.
    pub missing: Vec<Need>,
}

/// Everything the decision looks at, gathered by the caller.
#[derive(Debug, Clone)]
pub struct DecisionInput<'a> {
    pub settings: &'a AutoAnswerSettings,
    /// Triage's intent for the message.
    pub intent: &'a str,
    pub confidence: f32,
    /// Facts of the ticket's customer messages so far (all of them, so information given
    /// across several messages counts).
    pub facts: &'a Facts,
    /// The customer's words in the ticket so far (to find an address, a product name).
    pub text: &'a str,
    /// From [`machine_refusal`](super::safety::machine_refusal).
    pub machine_refusal: Option<NoAutoReply>,
    /// This message already has an answer (automatic or not).
    pub already_answered: bool,
    /// When the ticket last got an automatic answer.
    pub last_auto_answer_ms: Option<i64>,
    /// Set when that last automatic answer asked for missing information.
    pub pending_request: Option<&'a PendingRequest>,
    pub now_ms: i64,
    pub quota: QuotaState,
    /// The ticket's customer messages include an image.
    pub has_image: bool,
    /// Whether the shop found the order the customer speaks of (by reference or by their
    /// address).
    pub order: OrderLookup,
    /// The template for the intent in the answer's language, if there is one; with a
    /// `pending_request`, the template of the request's intent.
    pub template: Option<&'a ReplyTemplate>,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Send the template's answer. With `then_hand_over`, the ticket still goes to an employee
    /// afterwards (the answer acknowledged a request a person must carry out).
    Answer {
        template: String,
        then_hand_over: bool,
    },
    /// Send the template's answer asking for `missing`.
    AskForMissing {
        template: String,
        missing: Vec<Need>,
    },
    /// No automatic answer; an employee takes the ticket.
    HandOver {
        #[serde(flatten)]
        reason: NoAutoReply,
    },
}

impl Decision {
    /// Whether this decision sends something (in `Mode::On`; shadow mode records it only).
    pub fn sends_message(&self) -> bool {
        !matches!(self, Decision::HandOver { .. })
    }
}

fn hand_over(reason: NoAutoReply) -> Decision {
    Decision::HandOver { reason }
}

/// Decides what to do with a message; see the module documentation for the order of checks.
///
/// The 24-hour rule has one exception: when our last automatic answer asked for missing
/// information and the customer has now given all of it, the case goes on (an answer for a
/// template that answers once complete, a hand-over with the complete case otherwise). A
/// customer still missing something gets no second request the same day.
pub fn decide(input: &DecisionInput<'_>) -> Decision {
    if let Some(reason) = &input.machine_refusal {
        return hand_over(reason.clone());
    }
    let settings = input.settings;
    if settings.mode == Mode::Off {
        return hand_over(NoAutoReply::Disabled);
    }
    if input.already_answered {
        return hand_over(NoAutoReply::AlreadyAnswered);
    }
    let answered_recently = input
        .last_auto_answer_ms
        .is_some_and(|last| input.now_ms.saturating_sub(last) < ANSWER_WINDOW_MS);
    if let Some(request) = input.pending_request
        && let Some(template) = input.template.filter(|t| t.intent == request.template)
    {
        // A reply to our own request: the intent is the one we asked for, whatever triage
        // makes of a message that may only say "here is my order number".
        let missing = missing_for(template, input);
        if missing.is_empty() {
            return match template.when_complete {
                WhenComplete::HandOver => hand_over(NoAutoReply::CaseComplete),
                WhenComplete::Answer => answer_or_hand_over(template, input, missing),
            };
        }
    }
    if answered_recently {
        return hand_over(NoAutoReply::AlreadyAnsweredToday);
    }
    let Some(template) = input
        .template
        .filter(|_| settings.automatic_intents.contains(input.intent))
        .filter(|template| template.intent == input.intent)
    else {
        return hand_over(NoAutoReply::IntentNotAutomatic);
    };
    let threshold = settings.threshold_for(input.intent);
    // A NaN confidence (or threshold) compares as nothing, and counts as too low.
    let confident_enough = matches!(
        input.confidence.partial_cmp(&threshold),
        Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
    );
    if !confident_enough {
        return hand_over(NoAutoReply::LowConfidence {
            confidence: input.confidence,
            threshold,
        });
    }
    let missing = missing_for(template, input);
    answer_or_hand_over(template, input, missing)
}

/// The last steps: quota, then ask or answer.
fn answer_or_hand_over(
    template: &ReplyTemplate,
    input: &DecisionInput<'_>,
    missing: Vec<Need>,
) -> Decision {
    match input.quota {
        QuotaState::Available { left: Some(0) } | QuotaState::Spent => {
            return hand_over(NoAutoReply::QuotaSpent);
        }
        QuotaState::TrialOver => return hand_over(NoAutoReply::TrialOver),
        QuotaState::Available { .. } => {}
    }
    if !missing.is_empty() {
        return Decision::AskForMissing {
            template: template.intent.clone(),
            missing,
        };
    }
    match input.order {
        _ if !template.needs_order_data => {}
        OrderLookup::Found => {}
        OrderLookup::NotFound => return hand_over(NoAutoReply::OrderNotFound),
        OrderLookup::Unavailable => return hand_over(NoAutoReply::ShopDataUnavailable),
    }
    Decision::Answer {
        template: template.intent.clone(),
        then_hand_over: template.when_complete == WhenComplete::HandOver,
    }
}

/// What looking for the customer's order gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderLookup {
    Found,
    NotFound,
    /// The shop's platform failed: whether there is an order is not known.
    Unavailable,
}

/// The template's needs the customer has not given; a found order gives the reference.
fn missing_for(template: &ReplyTemplate, input: &DecisionInput<'_>) -> Vec<Need> {
    missing_needs(&template.needs, input.facts, input.has_image, input.text)
        .into_iter()
        .filter(|need| !(input.order == OrderLookup::Found && *need == Need::OrderRef))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replies::templates::{find_template, shipped_templates};

    const NOW: i64 = 1_800_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn settings(mode: Mode) -> AutoAnswerSettings {
        AutoAnswerSettings {
            mode,
            ..AutoAnswerSettings::default()
        }
    }

    fn facts_with_order() -> Facts {
        Facts {
            order_refs: vec!["10482".into()],
            ..Facts::default()
        }
    }

    /// A confident order-status message with its order found, in a shop with answers on.
    fn input<'a>(
        settings: &'a AutoAnswerSettings,
        templates: &'a [ReplyTemplate],
        intent: &'a str,
        facts: &'a Facts,
    ) -> DecisionInput<'a> {
        DecisionInput {
            settings,
            intent,
            confidence: 0.97,
            facts,
            text: "Bonjour, où en est ma commande 10482 ?",
            machine_refusal: None,
            already_answered: false,
            last_auto_answer_ms: None,
            pending_request: None,
            now_ms: NOW,
            quota: QuotaState::Available { left: Some(10) },
            has_image: false,
            order: OrderLookup::Found,
            template: find_template(templates, intent, UiLang::Fr),
        }
    }

    #[test]
    fn answers_when_everything_is_there() {
        let (settings, templates, facts) =
            (settings(Mode::On), shipped_templates(), facts_with_order());
        let decision = decide(&input(&settings, &templates, "order_status", &facts));
        assert_eq!(
            decision,
            Decision::Answer {
                template: "order_status".into(),
                then_hand_over: false
            }
        );
        assert!(decision.sends_message());
    }

    #[test]
    fn shadow_mode_decides_the_same_way() {
        let templates = shipped_templates();
        let facts = facts_with_order();
        let (on, shadow) = (settings(Mode::On), settings(Mode::Shadow));
        assert_eq!(
            decide(&input(&on, &templates, "order_status", &facts)),
            decide(&input(&shadow, &templates, "order_status", &facts))
        );
    }

    #[test]
    fn a_machine_is_never_answered_even_when_answers_are_off() {
        let (settings, templates, facts) =
            (settings(Mode::Off), shipped_templates(), facts_with_order());
        let decision = decide(&DecisionInput {
            machine_refusal: Some(NoAutoReply::Bounce),
            already_answered: true,
            ..input(&settings, &templates, "order_status", &facts)
        });
        assert_eq!(decision, hand_over(NoAutoReply::Bounce));
        assert!(!decision.sends_message());
    }

    #[test]
    fn mode_off_disables() {
        let (settings, templates, facts) =
            (settings(Mode::Off), shipped_templates(), facts_with_order());
        assert_eq!(
            decide(&DecisionInput {
                already_answered: true,
                ..input(&settings, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::Disabled)
        );
    }

    #[test]
    fn a_message_is_never_answered_twice() {
        let (settings, templates, facts) =
            (settings(Mode::On), shipped_templates(), facts_with_order());
        assert_eq!(
            decide(&DecisionInput {
                already_answered: true,
                last_auto_answer_ms: Some(NOW - HOUR),
                ..input(&settings, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::AlreadyAnswered)
        );
    }

    #[test]
    fn one_automatic_answer_per_ticket_per_day() {
        let (settings, templates, facts) =
            (settings(Mode::On), shipped_templates(), facts_with_order());
        assert_eq!(
            decide(&DecisionInput {
                last_auto_answer_ms: Some(NOW - 23 * HOUR),
                confidence: 0.1,
                ..input(&settings, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::AlreadyAnsweredToday)
        );
        assert!(matches!(
            decide(&DecisionInput {
                last_auto_answer_ms: Some(NOW - 24 * HOUR),
                ..input(&settings, &templates, "order_status", &facts)
            }),
            Decision::Answer { .. }
        ));
        // A clock gone backwards still counts as recent.
        assert_eq!(
            decide(&DecisionInput {
                last_auto_answer_ms: Some(NOW + HOUR),
                ..input(&settings, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::AlreadyAnsweredToday)
        );
    }

    #[test]
    fn intents_without_automation_or_template_are_handed_over() {
        let templates = shipped_templates();
        let facts = facts_with_order();
        let on = settings(Mode::On);
        for intent in ["product_question", "complaint", "other"] {
            assert_eq!(
                decide(&input(&on, &templates, intent, &facts)),
                hand_over(NoAutoReply::IntentNotAutomatic),
                "{intent}"
            );
        }
        let mut not_automatic = settings(Mode::On);
        not_automatic.automatic_intents.remove("order_status");
        assert_eq!(
            decide(&input(&not_automatic, &templates, "order_status", &facts)),
            hand_over(NoAutoReply::IntentNotAutomatic)
        );
        // Automatic, but no template in the customer's language.
        assert_eq!(
            decide(&DecisionInput {
                template: None,
                ..input(&on, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::IntentNotAutomatic)
        );
    }

    #[test]
    fn low_confidence_is_handed_over_with_the_threshold_used() {
        let templates = shipped_templates();
        let facts = facts_with_order();
        let mut on = settings(Mode::On);
        assert_eq!(
            decide(&DecisionInput {
                confidence: 0.85,
                ..input(&on, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::LowConfidence {
                confidence: 0.85,
                threshold: 0.9
            })
        );
        on.per_intent_threshold.insert("order_status".into(), 0.8);
        assert!(matches!(
            decide(&DecisionInput {
                confidence: 0.85,
                ..input(&on, &templates, "order_status", &facts)
            }),
            Decision::Answer { .. }
        ));
        assert!(matches!(
            decide(&DecisionInput {
                confidence: f32::NAN,
                ..input(&on, &templates, "order_status", &facts)
            }),
            Decision::HandOver {
                reason: NoAutoReply::LowConfidence { .. }
            }
        ));
    }

    #[test]
    fn quota_and_trial_stop_answers() {
        let (settings, templates, facts) =
            (settings(Mode::On), shipped_templates(), facts_with_order());
        for (quota, reason) in [
            (QuotaState::Spent, NoAutoReply::QuotaSpent),
            (
                QuotaState::Available { left: Some(0) },
                NoAutoReply::QuotaSpent,
            ),
            (QuotaState::TrialOver, NoAutoReply::TrialOver),
        ] {
            assert_eq!(
                decide(&DecisionInput {
                    quota,
                    ..input(&settings, &templates, "order_status", &facts)
                }),
                hand_over(reason)
            );
        }
        assert!(matches!(
            decide(&DecisionInput {
                quota: QuotaState::Available { left: None },
                ..input(&settings, &templates, "order_status", &facts)
            }),
            Decision::Answer { .. }
        ));
    }

    #[test]
    fn missing_information_is_asked_for() {
        let (settings, templates) = (settings(Mode::On), shipped_templates());
        let nothing = Facts::default();
        assert_eq!(
            decide(&DecisionInput {
                order: OrderLookup::NotFound,
                text: "Mon colis est arrivé cassé !",
                ..input(&settings, &templates, "damaged_or_wrong_item", &nothing)
            }),
            Decision::AskForMissing {
                template: "damaged_or_wrong_item".into(),
                missing: vec![Need::OrderRef, Need::Photo]
            }
        );
        // The shop found the order by the customer's address: only the photo is missing.
        assert_eq!(
            decide(&DecisionInput {
                order: OrderLookup::Found,
                ..input(&settings, &templates, "damaged_or_wrong_item", &nothing)
            }),
            Decision::AskForMissing {
                template: "damaged_or_wrong_item".into(),
                missing: vec![Need::Photo]
            }
        );
    }

    #[test]
    fn a_complete_request_for_a_person_is_answered_then_handed_over() {
        let (settings, templates, facts) =
            (settings(Mode::On), shipped_templates(), facts_with_order());
        assert_eq!(
            decide(&DecisionInput {
                has_image: true,
                ..input(&settings, &templates, "damaged_or_wrong_item", &facts)
            }),
            Decision::Answer {
                template: "damaged_or_wrong_item".into(),
                then_hand_over: true
            }
        );
    }

    #[test]
    fn an_order_reference_matching_no_order_goes_to_a_person() {
        let (settings, templates, facts) =
            (settings(Mode::On), shipped_templates(), facts_with_order());
        assert_eq!(
            decide(&DecisionInput {
                order: OrderLookup::NotFound,
                ..input(&settings, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::OrderNotFound)
        );
        // A platform that failed is not "no such order": the reason says so, and answers that
        // need no order are not held back by it.
        assert_eq!(
            decide(&DecisionInput {
                order: OrderLookup::Unavailable,
                ..input(&settings, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::ShopDataUnavailable)
        );
        assert!(!matches!(
            decide(&DecisionInput {
                order: OrderLookup::Unavailable,
                ..input(&settings, &templates, "invoice", &facts)
            }),
            Decision::HandOver {
                reason: NoAutoReply::ShopDataUnavailable
            }
        ));
    }

    #[test]
    fn the_customer_completing_our_request_continues_the_case_within_the_day() {
        let (settings, templates, facts) =
            (settings(Mode::On), shipped_templates(), facts_with_order());
        let asked_photo = PendingRequest {
            template: "damaged_or_wrong_item".into(),
            missing: vec![Need::Photo],
        };
        // Photo now sent: the complete case goes to a person, without a second message.
        assert_eq!(
            decide(&DecisionInput {
                has_image: true,
                confidence: 0.3,
                last_auto_answer_ms: Some(NOW - HOUR),
                pending_request: Some(&asked_photo),
                template: find_template(&templates, "damaged_or_wrong_item", UiLang::Fr),
                ..input(&settings, &templates, "other", &facts)
            }),
            hand_over(NoAutoReply::CaseComplete)
        );
        // Still no photo: no second request the same day.
        assert_eq!(
            decide(&DecisionInput {
                has_image: false,
                last_auto_answer_ms: Some(NOW - HOUR),
                pending_request: Some(&asked_photo),
                template: find_template(&templates, "damaged_or_wrong_item", UiLang::Fr),
                ..input(&settings, &templates, "damaged_or_wrong_item", &facts)
            }),
            hand_over(NoAutoReply::AlreadyAnsweredToday)
        );
        // An order-status request completed by the order number is answered again.
        let asked_ref = PendingRequest {
            template: "order_status".into(),
            missing: vec![Need::OrderRef],
        };
        assert_eq!(
            decide(&DecisionInput {
                last_auto_answer_ms: Some(NOW - HOUR),
                pending_request: Some(&asked_ref),
                ..input(&settings, &templates, "order_status", &facts)
            }),
            Decision::Answer {
                template: "order_status".into(),
                then_hand_over: false
            }
        );
        // …but not past a spent quota.
        assert_eq!(
            decide(&DecisionInput {
                last_auto_answer_ms: Some(NOW - HOUR),
                pending_request: Some(&asked_ref),
                quota: QuotaState::Spent,
                ..input(&settings, &templates, "order_status", &facts)
            }),
            hand_over(NoAutoReply::QuotaSpent)
        );
    }

    #[test]
    fn mode_parses_and_labels() {
        for mode in [Mode::Off, Mode::Shadow, Mode::On] {
            assert_eq!(mode.to_string().parse::<Mode>(), Ok(mode));
            assert_ne!(mode.label(UiLang::Fr), mode.label(UiLang::En));
        }
        assert_eq!(" ON ".parse::<Mode>(), Ok(Mode::On));
        assert!("yes".parse::<Mode>().is_err());
    }
}
