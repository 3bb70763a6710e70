//! Why a message must never get an automatic answer.
//!
//! Answering a machine (an auto-responder, a bounce, a mailing list, a "no-reply" notifier)
//! starts mail loops and spams lists, so anything that looks automated is handed to a person.
//! The checks read only what the message says about itself (RFC 3834 `Auto-Submitted`,
//! `Precedence`, `List-Id`, the envelope sender) and the sender's address, except one: a naive
//! auto-responder says nothing of itself and writes back under a new subject, opening a new
//! ticket each time, so the number of automatic answers an address already got caps the next.

use serde::{Deserialize, Serialize};

use crate::intake::parse::AutomationHeaders;
use crate::model::UiLang;
use crate::t;

/// Why no automatic answer goes out; the ticket then waits for an employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoAutoReply {
    /// `Auto-Submitted` other than `no` (RFC 3834), or `Precedence: auto_reply`.
    AutoSubmitted,
    /// `Precedence: bulk`, `list` or `junk`.
    BulkOrList,
    /// The message came through a mailing list (`List-Id`).
    MailingList,
    /// A delivery report: empty `Return-Path`, mailer-daemon, postmaster.
    Bounce,
    /// The sender says it reads no answers (noreply, do-not-reply, notifications…).
    NoReplySender,
    /// The message has no usable sender address to answer to.
    NoSenderAddress,
    /// The sender is one of the shop's own addresses.
    OwnAddress,
    /// The ticket already got an automatic answer in the last 24 hours.
    AlreadyAnsweredToday,
    /// The sender's address already got [`MAX_AUTO_ANSWERS_PER_SENDER`] automatic answers in
    /// the last 24 hours, whatever the tickets.
    SenderAnsweredToday,
    /// This very message was already answered.
    AlreadyAnswered,
    /// Triage is not sure enough of the intent.
    LowConfidence { confidence: f32, threshold: f32 },
    /// The shop does not answer this intent automatically, or has no template for it in the
    /// customer's language.
    IntentNotAutomatic,
    /// The customer gave a reference but the shop found no such order to describe.
    OrderNotFound,
    /// The customer sent what we asked for; the case is complete for an employee to handle.
    CaseComplete,
    /// The plan's automatic answers for this month are used up.
    QuotaSpent,
    /// The trial ended and no plan was chosen yet.
    TrialOver,
    /// Automatic answers are turned off for the shop.
    Disabled,
    /// The message arrived before automatic answers were turned on, or is days old: answering
    /// it now would surprise the customer.
    TooOld,
    /// The ticket is closed: an employee decided it needs nothing more.
    TicketClosed,
    /// The shop's template failed to render; nothing half-filled is ever sent.
    TemplateFailed { error: String },
    /// The answer needs the order and the shop's platform kept failing while it waited.
    ShopDataUnavailable,
}

impl NoAutoReply {
    /// A sentence for employees saying why the ticket waits for them.
    pub fn explain(&self, lang: UiLang) -> String {
        match self {
            NoAutoReply::AutoSubmitted => t!(lang, "safety.auto_submitted").to_string(),
            NoAutoReply::BulkOrList => t!(lang, "safety.bulk_or_list").to_string(),
            NoAutoReply::MailingList => t!(lang, "safety.mailing_list").to_string(),
            NoAutoReply::Bounce => t!(lang, "safety.bounce").to_string(),
            NoAutoReply::NoReplySender => t!(lang, "safety.no_reply_sender").to_string(),
            NoAutoReply::NoSenderAddress => t!(lang, "safety.no_sender_address").to_string(),
            NoAutoReply::OwnAddress => t!(lang, "safety.own_address").to_string(),
            NoAutoReply::AlreadyAnsweredToday => {
                t!(lang, "safety.already_answered_today").to_string()
            }
            NoAutoReply::SenderAnsweredToday => t!(
                lang,
                "safety.sender_answered_today",
                most = MAX_AUTO_ANSWERS_PER_SENDER
            ),
            NoAutoReply::AlreadyAnswered => t!(lang, "safety.already_answered").to_string(),
            NoAutoReply::LowConfidence {
                confidence,
                threshold,
            } => t!(
                lang,
                "safety.low_confidence",
                confidence = percent(*confidence),
                threshold = percent(*threshold)
            ),
            NoAutoReply::IntentNotAutomatic => t!(lang, "safety.intent_not_automatic").to_string(),
            NoAutoReply::OrderNotFound => t!(lang, "safety.order_not_found").to_string(),
            NoAutoReply::CaseComplete => t!(lang, "safety.case_complete").to_string(),
            NoAutoReply::QuotaSpent => t!(lang, "safety.quota_spent").to_string(),
            NoAutoReply::TrialOver => t!(lang, "safety.trial_over").to_string(),
            NoAutoReply::Disabled => t!(lang, "safety.disabled").to_string(),
            NoAutoReply::TooOld => t!(lang, "safety.too_old").to_string(),
            NoAutoReply::TicketClosed => t!(lang, "safety.ticket_closed").to_string(),
            NoAutoReply::TemplateFailed { error } => {
                t!(lang, "safety.template_failed", error = error)
            }
            NoAutoReply::ShopDataUnavailable => t!(lang, "shop_live.data_unavailable").to_string(),
        }
    }
}

/// A 0–1 ratio as a whole percentage, tolerant of out-of-range and NaN values.
fn percent(ratio: f32) -> i64 {
    if ratio.is_finite() {
        (ratio.clamp(0.0, 1.0) * 100.0).round() as i64
    } else {
        0
    }
}

/// Automatic answers one address may get in [`SENDER_WINDOW_MS`], across all its tickets. Two
/// lets a customer with two separate requests get both answered the same day; a responder
/// that answers every mail under a new subject gets two, then a person looks.
pub const MAX_AUTO_ANSWERS_PER_SENDER: u32 = 2;

/// The window of [`MAX_AUTO_ANSWERS_PER_SENDER`]: 24 hours.
pub const SENDER_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Why the sender must get no other automatic answer, given how many went to their address
/// (or are scheduled to go, on other tickets) in the last [`SENDER_WINDOW_MS`].
pub fn sender_refusal(recent_answers_to_sender: u32) -> Option<NoAutoReply> {
    (recent_answers_to_sender >= MAX_AUTO_ANSWERS_PER_SENDER)
        .then_some(NoAutoReply::SenderAnsweredToday)
}

/// Why a message, judged by its headers and sender alone, must not get an automatic answer.
///
/// `from_email` is the sender's address; `own_addresses` are the shop's mailboxes and contacts
/// (compared case-insensitively).
pub fn machine_refusal(
    from_email: &str,
    automation: &AutomationHeaders,
    own_addresses: &[String],
) -> Option<NoAutoReply> {
    let from = from_email.trim().to_lowercase();
    if own_addresses
        .iter()
        .any(|own| !own.trim().is_empty() && own.trim().to_lowercase() == from)
    {
        return Some(NoAutoReply::OwnAddress);
    }
    if let Some(value) = automation.auto_submitted.as_deref() {
        // The parser already drops "no"; checked again so this function is right on its own.
        if first_token(value) != "no" {
            return Some(NoAutoReply::AutoSubmitted);
        }
    }
    if let Some(value) = automation.precedence.as_deref() {
        match first_token(value).as_str() {
            "bulk" | "list" | "junk" => return Some(NoAutoReply::BulkOrList),
            // Some auto-responders say so here instead of in Auto-Submitted.
            "auto_reply" | "auto-reply" => return Some(NoAutoReply::AutoSubmitted),
            _ => {}
        }
    }
    if automation
        .list_id
        .as_deref()
        .is_some_and(|id| !id.trim().is_empty())
    {
        return Some(NoAutoReply::MailingList);
    }
    if automation.empty_return_path {
        return Some(NoAutoReply::Bounce);
    }
    let Some((local, domain)) = from.rsplit_once('@') else {
        return Some(NoAutoReply::NoSenderAddress);
    };
    if local.is_empty() || domain.is_empty() {
        return Some(NoAutoReply::NoSenderAddress);
    }
    // "jean+commandes@…" is jean: the sub-address says nothing about who reads the mail.
    let local = local.split('+').next().unwrap_or(local);
    if is_bounce_sender(local) {
        return Some(NoAutoReply::Bounce);
    }
    if is_no_reply_sender(local) {
        return Some(NoAutoReply::NoReplySender);
    }
    None
}

/// The first word of a header value, lowercased: `"bulk; charset"` gives `"bulk"`.
fn first_token(value: &str) -> String {
    value
        .split([';', ' ', '\t', ','])
        .find(|part| !part.is_empty())
        .unwrap_or_default()
        .trim()
        .to_lowercase()
}

fn is_bounce_sender(local: &str) -> bool {
    let compact = compact(local);
    matches!(
        compact.as_str(),
        "mailerdaemon" | "maildaemon" | "postmaster" | "bounce" | "bounces"
    ) || ["bounce-", "bounces-", "bounce_", "bounces_", "bounce."]
        .iter()
        .any(|prefix| local.starts_with(prefix))
}

/// Words that, spelt as a whole address part, mean nobody reads the answers.
const NO_REPLY_WORDS: [&str; 7] = [
    "noreply",
    "donotreply",
    "dontreply",
    "noanswer",
    "nepasrepondre",
    "nereponds",
    "nereplypas",
];

/// Senders that are notifiers rather than people, when they are the whole local part.
const NOTIFIER_NAMES: [&str; 4] = ["notification", "notifications", "notify", "mailer"];

/// Whether a local part (lowercase, without sub-address) is a no-reply address.
///
/// The words are matched on whole separator-delimited pieces ("no-reply", "ne.pas.repondre",
/// "shop-noreply-fr") or at the very start or end of the local part ("noreply123",
/// "infonoreply"), never inside a longer word, so "noreen" or "dinoreplyer" stay people.
fn is_no_reply_sender(local: &str) -> bool {
    let compact = compact(local);
    if NOTIFIER_NAMES.contains(&compact.as_str()) {
        return true;
    }
    if NO_REPLY_WORDS
        .iter()
        .any(|word| compact.starts_with(word) || compact.ends_with(word))
    {
        return true;
    }
    let pieces: Vec<&str> = local
        .split(|c: char| !c.is_alphanumeric())
        .filter(|piece| !piece.is_empty())
        .collect();
    (0..pieces.len()).any(|start| {
        (start + 1..=pieces.len().min(start + 4)).any(|end| {
            let joined = pieces[start..end].concat();
            NO_REPLY_WORDS.contains(&joined.as_str())
        })
    })
}

/// Letters and digits only, accents removed from the few French ones that appear in addresses.
fn compact(local: &str) -> String {
    local
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'à' | 'â' => 'a',
            'ô' => 'o',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> AutomationHeaders {
        AutomationHeaders::default()
    }

    fn refusal(from: &str, headers: &AutomationHeaders) -> Option<NoAutoReply> {
        machine_refusal(from, headers, &["sav@boutique.example".to_string()])
    }

    #[test]
    fn a_person_writing_normally_can_be_answered() {
        assert_eq!(refusal("marie.dupont@client.example", &person()), None);
    }

    #[test]
    fn auto_submitted_is_refused_unless_no() {
        let headers = AutomationHeaders {
            auto_submitted: Some("auto-replied".into()),
            ..person()
        };
        assert_eq!(
            refusal("marie@client.example", &headers),
            Some(NoAutoReply::AutoSubmitted)
        );
        let headers = AutomationHeaders {
            auto_submitted: Some("auto-generated; owner-email=x@y".into()),
            ..person()
        };
        assert_eq!(
            refusal("marie@client.example", &headers),
            Some(NoAutoReply::AutoSubmitted)
        );
        let headers = AutomationHeaders {
            auto_submitted: Some("No".into()),
            ..person()
        };
        assert_eq!(refusal("marie@client.example", &headers), None);
    }

    #[test]
    fn precedence_bulk_list_junk_are_refused_other_values_are_fine() {
        for value in ["bulk", "list", "junk", "Bulk ", "list; x"] {
            let headers = AutomationHeaders {
                precedence: Some(value.into()),
                ..person()
            };
            assert_eq!(
                refusal("marie@client.example", &headers),
                Some(NoAutoReply::BulkOrList),
                "{value}"
            );
        }
        let headers = AutomationHeaders {
            precedence: Some("auto_reply".into()),
            ..person()
        };
        assert_eq!(
            refusal("marie@client.example", &headers),
            Some(NoAutoReply::AutoSubmitted)
        );
        for value in ["first-class", "bulky", "normal", ""] {
            let headers = AutomationHeaders {
                precedence: Some(value.into()),
                ..person()
            };
            assert_eq!(refusal("marie@client.example", &headers), None, "{value}");
        }
    }

    #[test]
    fn list_id_is_refused() {
        let headers = AutomationHeaders {
            list_id: Some("clients.lists.example".into()),
            ..person()
        };
        assert_eq!(
            refusal("marie@client.example", &headers),
            Some(NoAutoReply::MailingList)
        );
        let headers = AutomationHeaders {
            list_id: Some("  ".into()),
            ..person()
        };
        assert_eq!(refusal("marie@client.example", &headers), None);
    }

    #[test]
    fn bounces_are_refused() {
        let headers = AutomationHeaders {
            empty_return_path: true,
            ..person()
        };
        assert_eq!(
            refusal("marie@client.example", &headers),
            Some(NoAutoReply::Bounce)
        );
        for from in [
            "MAILER-DAEMON@mx.example",
            "mailer-daemon@mx.example",
            "postmaster@client.example",
            "bounces+123@mail.example",
            "bounce-abc@mail.example",
        ] {
            assert_eq!(
                refusal(from, &person()),
                Some(NoAutoReply::Bounce),
                "{from}"
            );
        }
        for from in ["postmasters.fan@client.example", "bouncer@gym.example"] {
            assert_eq!(refusal(from, &person()), None, "{from}");
        }
    }

    #[test]
    fn no_reply_senders_are_refused() {
        for from in [
            "noreply@shop.example",
            "no-reply@shop.example",
            "No_Reply@shop.example",
            "do-not-reply@bank.example",
            "donotreply@bank.example",
            "ne-pas-repondre@banque.example",
            "nepasrepondre@banque.example",
            "notifications@github.example",
            "notification@service.example",
            "shop-noreply-fr@shop.example",
            "noreply123@shop.example",
            "info.no.reply@shop.example",
        ] {
            assert_eq!(
                refusal(from, &person()),
                Some(NoAutoReply::NoReplySender),
                "{from}"
            );
        }
    }

    #[test]
    fn people_with_look_alike_addresses_are_answered() {
        for from in [
            "noreen@client.example",
            "noreen.replyson@client.example",
            "dinoreplyer@client.example",
            "noa@client.example",
            "notif.fan.club@client.example",
            "reply.guy@client.example",
            "jean+noreply@client.example",
            "no@client.example",
        ] {
            assert_eq!(refusal(from, &person()), None, "{from}");
        }
    }

    #[test]
    fn own_addresses_are_refused_case_insensitively() {
        assert_eq!(
            refusal(" SAV@Boutique.example ", &person()),
            Some(NoAutoReply::OwnAddress)
        );
        assert_eq!(
            machine_refusal("", &person(), &[String::new()]),
            Some(NoAutoReply::NoSenderAddress)
        );
    }

    #[test]
    fn missing_sender_is_refused() {
        for from in ["", "   ", "not-an-address", "@example.com", "jean@"] {
            assert_eq!(
                refusal(from, &person()),
                Some(NoAutoReply::NoSenderAddress),
                "{from}"
            );
        }
    }

    #[test]
    fn a_sender_gets_at_most_two_automatic_answers_a_day_across_tickets() {
        assert_eq!(sender_refusal(0), None);
        assert_eq!(
            sender_refusal(1),
            None,
            "a second request is still answered"
        );
        assert_eq!(sender_refusal(2), Some(NoAutoReply::SenderAnsweredToday));
        assert_eq!(
            sender_refusal(u32::MAX),
            Some(NoAutoReply::SenderAnsweredToday)
        );
        let reason = NoAutoReply::SenderAnsweredToday;
        assert!(
            reason
                .explain(UiLang::Fr)
                .contains("2 réponses automatiques")
        );
        assert!(reason.explain(UiLang::En).contains("2 automatic answers"));
        assert_eq!(
            serde_json::to_value(&reason).unwrap()["reason"],
            "sender_answered_today"
        );
    }

    #[test]
    fn every_reason_explains_itself_in_both_languages() {
        let reasons = [
            NoAutoReply::AutoSubmitted,
            NoAutoReply::BulkOrList,
            NoAutoReply::MailingList,
            NoAutoReply::Bounce,
            NoAutoReply::NoReplySender,
            NoAutoReply::NoSenderAddress,
            NoAutoReply::OwnAddress,
            NoAutoReply::AlreadyAnsweredToday,
            NoAutoReply::SenderAnsweredToday,
            NoAutoReply::AlreadyAnswered,
            NoAutoReply::LowConfidence {
                confidence: 0.734,
                threshold: 0.9,
            },
            NoAutoReply::IntentNotAutomatic,
            NoAutoReply::OrderNotFound,
            NoAutoReply::CaseComplete,
            NoAutoReply::QuotaSpent,
            NoAutoReply::TrialOver,
            NoAutoReply::Disabled,
        ];
        for reason in reasons {
            let fr = reason.explain(UiLang::Fr);
            let en = reason.explain(UiLang::En);
            assert!(!fr.is_empty() && !en.is_empty());
            assert_ne!(fr, en, "{reason:?}");
        }
        let low = NoAutoReply::LowConfidence {
            confidence: 0.734,
            threshold: 0.9,
        };
        assert!(low.explain(UiLang::Fr).contains("73 %"));
        assert!(low.explain(UiLang::En).contains("73%"));
        assert!(low.explain(UiLang::En).contains("90%"));
        let weird = NoAutoReply::LowConfidence {
            confidence: f32::NAN,
            threshold: 7.0,
        };
        assert!(weird.explain(UiLang::En).contains("0%"));
    }
}
