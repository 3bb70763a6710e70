//! Replaying automatic answering on past mail: what would have been answered, asked or handed
//! over, with the drafts, and nothing written nor sent.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::answering::plan::{EarlierAnswers, ShopKnowledge};
use crate::answering::{self, RecordedDecision, ShopAnswering};
use crate::model::UiLang;
use crate::replies::safety::SENDER_WINDOW_MS;
use crate::replies::{Decision, QuotaState};
use crate::store::Shop;
use crate::t;
use crate::views::{intent_label, rfc3339};

use super::{Desk, DeskError, DeskResult};

/// One replayed message. Field names are a stable interface (`replay --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ReplayItem {
    pub ticket: i64,
    pub message_id: i64,
    pub from: String,
    pub subject: String,
    pub date: String,
    pub intent: String,
    pub confidence: f32,
    #[serde(flatten)]
    pub decision: RecordedDecision,
    /// The drafted email, when one would be sent.
    pub draft: Option<ReplayDraft>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplayDraft {
    pub subject: String,
    pub body: String,
    pub due_at: String,
}

#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct IntentCounts {
    pub messages: usize,
    pub answered: usize,
    pub asked: usize,
    pub handed_over: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub shop: String,
    pub since: String,
    pub messages: usize,
    pub would_send: usize,
    pub by_intent: BTreeMap<String, IntentCounts>,
    pub items: Vec<ReplayItem>,
    /// The plan's monthly quota, when the replay would spend more than it.
    #[serde(skip)]
    pub over_quota: Option<(u32, crate::replies::PlanName)>,
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant into milliseconds.
pub fn parse_date(text: &str) -> Option<i64> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    Some(
        date.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
}

impl Desk {
    /// Replays the mail since `since` (YYYY-MM-DD or RFC 3339) of the named shop (or the only
    /// one) and writes the HTML report to `html`.
    pub async fn replay_to(
        &self,
        shop: Option<&str>,
        since: &str,
        html: &std::path::Path,
    ) -> DeskResult<ReplayReport> {
        let since_ms = parse_date(since).ok_or_else(|| DeskError::BadSince(since.to_string()))?;
        let shop = self.choose_shop(shop).await?;
        let report = self.replay(&shop, since_ms).await?;
        std::fs::write(html, replay_html(&report, self.lang)?).map_err(|source| {
            DeskError::CannotWrite {
                path: html.display().to_string(),
                source,
            }
        })?;
        Ok(report)
    }

    /// Runs the decision on the shop's mail since `since_ms` as if answers had been on.
    pub async fn replay(&self, shop: &Shop, since_ms: i64) -> DeskResult<ReplayReport> {
        let answering = ShopAnswering::load(&self.store, shop.id, self.lang).await?;
        let messages = self.store.messages_since(shop.id, since_ms).await?;
        let mut items = Vec::with_capacity(messages.len());
        let mut by_intent: BTreeMap<String, IntentCounts> = BTreeMap::new();
        // Each ticket's answers within the replay, for the 24-hour rule.
        let mut last_answer: HashMap<i64, i64> = HashMap::new();
        // Each address's answers within the replay, for the per-sender cap across tickets.
        let mut answers_to: HashMap<String, Vec<i64>> = HashMap::new();
        let live = self.live_shop(shop.id).await?;
        for message in &messages {
            let moment = message.date_ms.unwrap_or(message.received_at);
            let known = ShopKnowledge::of(&live, message).await?;
            let sender = message.from_email.trim().to_lowercase();
            let earlier = EarlierAnswers {
                on_ticket_ms: last_answer.get(&message.ticket_id).copied(),
                to_sender: answers_to.get(&sender).map_or(0, |times| {
                    times
                        .iter()
                        .filter(|&&at| at > moment - SENDER_WINDOW_MS)
                        .count() as u32
                }),
            };
            let draft = answering::plan::draft_for(
                &answering,
                message,
                &known,
                QuotaState::Available { left: None },
                earlier,
                moment,
                true,
            );
            let intent = message
                .triage
                .as_ref()
                .map(|t| t.intent.clone())
                .unwrap_or_else(|| crate::triage::OTHER.into());
            let counts = by_intent.entry(intent.clone()).or_default();
            counts.messages += 1;
            match &draft.decision.decision {
                Decision::Answer { .. } => counts.answered += 1,
                Decision::AskForMissing { .. } => counts.asked += 1,
                Decision::HandOver { .. } => counts.handed_over += 1,
            }
            if let Some(reply) = &draft.reply {
                last_answer.insert(message.ticket_id, reply.due_at);
                answers_to.entry(sender).or_default().push(reply.due_at);
            }
            items.push(ReplayItem {
                ticket: message.ticket_number,
                message_id: message.id,
                from: message.from_email.clone(),
                subject: message.subject.clone(),
                date: rfc3339(moment),
                intent,
                confidence: message.triage.as_ref().map_or(0.0, |t| t.confidence),
                draft: draft.reply.as_ref().map(|r| ReplayDraft {
                    subject: r.subject.clone(),
                    body: r.body_text.clone(),
                    due_at: rfc3339(r.due_at),
                }),
                decision: draft.decision,
            });
        }
        let would_send = items.iter().filter(|i| i.draft.is_some()).count();
        let over_quota = answering
            .plan
            .monthly_quota()
            .filter(|quota| would_send > *quota as usize)
            .map(|quota| (quota, answering.plan.name()));
        Ok(ReplayReport {
            shop: shop.name.clone(),
            since: rfc3339(since_ms),
            messages: items.len(),
            would_send,
            by_intent,
            items,
            over_quota,
        })
    }
}

#[derive(Serialize)]
struct IntentRow<'a> {
    label: &'a str,
    counts: IntentCounts,
}

#[derive(Serialize)]
struct ItemView<'a> {
    ticket: i64,
    subject: &'a str,
    from: &'a str,
    date: &'a str,
    intent_label: &'a str,
    confidence_percent: String,
    why: &'a str,
    draft: Option<&'a ReplayDraft>,
}

#[derive(Serialize)]
struct ReportView<'a> {
    title: String,
    summary: String,
    intents: Vec<IntentRow<'a>>,
    items: Vec<ItemView<'a>>,
}

/// The report as a standalone HTML page.
pub fn replay_html(
    report: &ReplayReport,
    lang: UiLang,
) -> Result<String, crate::render::RenderError> {
    let view = ReportView {
        title: t!(lang, "replay.title", shop = report.shop),
        summary: t!(
            lang,
            "replay.summary",
            messages = report.messages,
            since = report.since,
            would_send = report.would_send
        ),
        intents: report
            .by_intent
            .iter()
            .map(|(intent, counts)| IntentRow {
                label: intent_label(intent, lang),
                counts: *counts,
            })
            .collect(),
        items: report
            .items
            .iter()
            .map(|item| ItemView {
                ticket: item.ticket,
                subject: &item.subject,
                from: &item.from,
                date: &item.date,
                intent_label: intent_label(&item.intent, lang),
                confidence_percent: format!("{:.0}", item.confidence * 100.0),
                why: item.decision.explanation(lang),
                draft: item.draft.as_ref(),
            })
            .collect(),
    };
    crate::render::render("replay.html", lang, &view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants_are_read() {
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_date("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn the_report_page_escapes_what_mail_brought() {
        let report = ReplayReport {
            shop: "Thé & Co".into(),
            since: "2026-11-01T00:00:00Z".into(),
            messages: 0,
            would_send: 0,
            by_intent: BTreeMap::new(),
            items: Vec::new(),
            over_quota: None,
        };
        for lang in [UiLang::Fr, UiLang::En] {
            let html = replay_html(&report, lang).unwrap();
            assert!(html.contains("Thé &amp; Co"), "{html}");
            assert!(html.contains(&format!("lang=\"{}\"", lang.code())));
        }
    }
}
