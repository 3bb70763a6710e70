//! `GET /stats?from=&to=`: the shop's statistics over a period of its days, with SVG charts and
//! a period chooser made of links and a GET form, so it works without JavaScript.

use axum::Extension;
use axum::extract::Query;
use axum::response::Html;
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::charts::{self, ChartText};
use super::{Access, AppState, Routes, WebResult, WebResultExt, pages};
use crate::desk::stats::{DurationBucket, Durations, Preset, Stats, human_duration, today};
use crate::model::{ReplyKind, UiLang};
use crate::store::GroupCount;
use crate::t;
use crate::views::intent_label;

pub fn routes() -> Routes {
    Routes::new().get("/stats", Access::Employee, show)
}

/// The period asked for: `from` and `to` (first day after), or `until` (last day, included)
/// as the chooser's form sends it.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub until: Option<String>,
}

impl PeriodQuery {
    /// The first day after the period, from `to` or `until`.
    fn end(&self) -> Option<String> {
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        blank(&self.to).or_else(|| {
            blank(&self.until).map(|until| match until.parse::<jiff::civil::Date>() {
                Ok(day) => day.tomorrow().map_or(until, |d| d.to_string()),
                // Kept as written, so the refusal names it.
                Err(_) => until,
            })
        })
    }
}

#[derive(Serialize)]
struct Card {
    label: String,
    value: String,
    detail: Option<String>,
}

#[derive(Serialize)]
struct PresetLink {
    label: &'static str,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct Row {
    label: String,
    tickets: i64,
    replies: i64,
}

#[derive(Serialize)]
struct EmployeeRow {
    name: String,
    tickets: i64,
    replies: i64,
    assigned: i64,
}

#[derive(Serialize)]
struct ShadowIntentRow {
    label: String,
    answers: u64,
    asks: u64,
}

#[derive(Serialize)]
struct DraftRow {
    ticket: i64,
    ticket_subject: String,
    subject: String,
    intent: String,
    kind: &'static str,
    drafted: String,
}

#[derive(Serialize)]
struct DayRow {
    date: String,
    tickets: u64,
    customer_messages: u64,
    replies: u64,
}

#[derive(Serialize)]
struct StatsPage {
    from: String,
    until: String,
    period_label: String,
    error: Option<String>,
    presets: Vec<PresetLink>,
    cards: Vec<Card>,
    tickets_chart: String,
    messages_chart: String,
    first_response_chart: String,
    resolution_chart: String,
    heat_map: String,
    busiest: Option<String>,
    contacts_chart: String,
    intents_chart: String,
    employees_chart: String,
    contacts: Vec<Row>,
    intents: Vec<Row>,
    employees: Vec<EmployeeRow>,
    days: Vec<DayRow>,
    shadow_summary: String,
    shadow_intents: Vec<ShadowIntentRow>,
    drafts: Vec<DraftRow>,
}

async fn show(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Query(query): Query<PeriodQuery>,
) -> WebResult<Html<String>> {
    let desk = &state.desk;
    let now = crate::store::now_ms();
    let end = query.end();
    let (period, error) = match desk
        .stats_period(&me.shop, query.from.as_deref(), end.as_deref(), now)
        .await
    {
        Ok(period) => (period, None),
        Err(error) => {
            let message = error.localized(me.lang);
            let fallback = desk
                .stats_period(&me.shop, None, None, now)
                .await
                .web(&me)?;
            (fallback, Some(message))
        }
    };
    let stats = desk.stats(&me.shop, &period, now).await.web(&me)?;
    let view = page_view(&stats, me.lang, now, error);
    pages::page(&me, "stats", "web/stats.html", view)
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |p| format!("{p:.0} %"))
}

fn duration_card(label: String, durations: &Durations, lang: UiLang) -> Card {
    Card {
        label,
        value: durations
            .median_ms
            .map_or_else(|| "–".into(), |ms| human_duration(ms, lang)),
        detail: durations.p90_ms.map(|ms| {
            t!(
                lang,
                "stats.p90_detail",
                p90 = human_duration(ms, lang),
                count = durations.count
            )
        }),
    }
}

fn group_label(group: &GroupCount, lang: UiLang, intent: bool) -> String {
    match (&group.key, intent) {
        (Some(key), true) => intent_label(key, lang).to_string(),
        (Some(key), false) => key.clone(),
        (None, true) => t!(lang, "stats.no_intent").to_string(),
        (None, false) => t!(lang, "stats.no_contact").to_string(),
    }
}

fn local_time(ms: i64, zone: &str) -> String {
    let zone = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(zone).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

const WEEKDAYS: [&str; 7] = [
    "stats.weekday_mon",
    "stats.weekday_tue",
    "stats.weekday_wed",
    "stats.weekday_thu",
    "stats.weekday_fri",
    "stats.weekday_sat",
    "stats.weekday_sun",
];

fn page_view(stats: &Stats, lang: UiLang, now: i64, error: Option<String>) -> StatsPage {
    let text = |key: &str| crate::i18n::text(lang, key).to_string();
    let from: jiff::civil::Date = stats.from.parse().unwrap_or_default();
    let to: jiff::civil::Date = stats.to.parse().unwrap_or_default();
    let until = to.yesterday().unwrap_or(from);
    let today = today(now, &stats.time_zone);
    let presets = Preset::ALL
        .iter()
        .map(|preset| {
            let (p_from, p_to) = preset.days(today);
            PresetLink {
                label: crate::i18n::text(lang, preset.key()),
                href: format!("/stats?from={p_from}&to={p_to}"),
                current: (p_from, p_to) == (from, to),
            }
        })
        .collect();
    let quota = match stats.quota.limit {
        Some(limit) => t!(
            lang,
            "stats.quota_value",
            used = stats.quota.used,
            limit = limit
        ),
        None => t!(lang, "stats.quota_unlimited", used = stats.quota.used),
    };
    let cards = vec![
        Card {
            label: text("stats.card_tickets"),
            value: stats.tickets.to_string(),
            detail: None,
        },
        Card {
            label: text("stats.card_messages"),
            value: stats.customer_messages.to_string(),
            detail: Some(t!(lang, "stats.replies_detail", replies = stats.replies)),
        },
        Card {
            label: text("stats.card_automatic"),
            value: percent(stats.automatic_percent()),
            detail: Some(t!(
                lang,
                "stats.automatic_detail",
                answered = stats.answered_automatically,
                messages = stats.customer_messages
            )),
        },
        duration_card(
            text("stats.card_first_response"),
            &stats.first_response,
            lang,
        ),
        duration_card(text("stats.card_resolution"), &stats.resolution, lang),
        Card {
            label: text("stats.card_reopen"),
            value: percent(stats.reopens.percent()),
            detail: Some(t!(
                lang,
                "stats.reopen_detail",
                reopened = stats.reopens.reopened,
                closed = stats.reopens.closed
            )),
        },
        Card {
            label: t!(lang, "stats.card_quota", month = stats.quota.month),
            value: quota,
            detail: stats.quota.percent().map(|p| format!("{p:.0} %")),
        },
    ];
    let per_day = |pick: fn(&crate::desk::stats::DayCounts) -> u64| -> Vec<(String, u64)> {
        stats
            .days
            .iter()
            .map(|d| (d.date.get(5..).unwrap_or(&d.date).to_string(), pick(d)))
            .collect()
    };
    let buckets = |durations: &Durations| -> Vec<(String, u64)> {
        DurationBucket::ALL
            .iter()
            .zip(durations.histogram)
            .map(|(bucket, n)| (text(bucket.key()), n))
            .collect()
    };
    let chart = |id: &str, title_key: &str, description: String| {
        (id.to_string(), text(title_key), description)
    };
    let render_bars = |(id, title, description): (String, String, String),
                       bars: Vec<(String, u64)>| {
        charts::bar_chart(
            &ChartText {
                id: &id,
                title: &title,
                description: &description,
            },
            &bars,
        )
    };
    let render_histogram = |(id, title, description): (String, String, String),
                            bars: Vec<(String, u64)>| {
        charts::histogram(
            &ChartText {
                id: &id,
                title: &title,
                description: &description,
            },
            &bars,
        )
    };
    let render_rows = |(id, title, description): (String, String, String),
                       rows: Vec<(String, u64)>| {
        charts::horizontal_bars(
            &ChartText {
                id: &id,
                title: &title,
                description: &description,
            },
            &rows,
        )
    };
    let contacts: Vec<Row> = stats
        .by_contact
        .iter()
        .map(|g| Row {
            label: group_label(g, lang, false),
            tickets: g.tickets,
            replies: g.replies,
        })
        .collect();
    let intents: Vec<Row> = stats
        .by_intent
        .iter()
        .map(|g| Row {
            label: group_label(g, lang, true),
            tickets: g.tickets,
            replies: g.replies,
        })
        .collect();
    let employees: Vec<EmployeeRow> = stats
        .by_employee
        .iter()
        .map(|e| EmployeeRow {
            name: e.name.clone(),
            tickets: e.tickets,
            replies: e.replies,
            assigned: e.assigned,
        })
        .collect();
    let weekdays: [String; 7] = WEEKDAYS.map(text);
    let busiest = stats.busiest.busiest().map(|(day, hour, count)| {
        t!(
            lang,
            "stats.busiest_slot",
            day = weekdays[day],
            hour = format!("{hour:02}"),
            count = count
        )
    });
    let period_label = t!(lang, "stats.period_label", from = from, until = until);
    let tickets_chart = render_bars(
        chart(
            "chart-tickets",
            "stats.chart_tickets",
            t!(
                lang,
                "stats.chart_tickets_desc",
                period = period_label,
                total = stats.tickets
            ),
        ),
        per_day(|d| d.tickets),
    );
    let messages_chart = render_bars(
        chart(
            "chart-messages",
            "stats.chart_messages",
            t!(
                lang,
                "stats.chart_messages_desc",
                period = period_label,
                total = stats.customer_messages
            ),
        ),
        per_day(|d| d.customer_messages),
    );
    let first_response_chart = render_histogram(
        chart(
            "chart-first-response",
            "stats.chart_first_response",
            t!(
                lang,
                "stats.chart_histogram_desc",
                count = stats.first_response.count
            ),
        ),
        buckets(&stats.first_response),
    );
    let resolution_chart = render_histogram(
        chart(
            "chart-resolution",
            "stats.chart_resolution",
            t!(
                lang,
                "stats.chart_histogram_desc",
                count = stats.resolution.count
            ),
        ),
        buckets(&stats.resolution),
    );
    let heat_title = text("stats.chart_heat");
    let heat_description = busiest.clone().unwrap_or_else(|| text("stats.nothing"));
    let heat_map = charts::heat_map(
        &ChartText {
            id: "chart-heat",
            title: &heat_title,
            description: &heat_description,
        },
        &weekdays,
        &stats.busiest.0,
    );
    let rows_of = |rows: &[Row]| {
        rows.iter()
            .map(|r| (r.label.clone(), r.tickets.max(0) as u64))
            .collect()
    };
    let contacts_chart = render_rows(
        chart(
            "chart-contacts",
            "stats.chart_contacts",
            text("stats.chart_breakdown_desc"),
        ),
        rows_of(&contacts),
    );
    let intents_chart = render_rows(
        chart(
            "chart-intents",
            "stats.chart_intents",
            text("stats.chart_breakdown_desc"),
        ),
        rows_of(&intents),
    );
    let employees_chart = render_rows(
        chart(
            "chart-employees",
            "stats.chart_employees",
            text("stats.chart_employees_desc"),
        ),
        employees
            .iter()
            .map(|e| (e.name.clone(), e.replies.max(0) as u64))
            .collect(),
    );
    let shadow = &stats.shadow;
    StatsPage {
        from: from.to_string(),
        until: until.to_string(),
        period_label: period_label.clone(),
        error,
        presets,
        cards,
        tickets_chart,
        messages_chart,
        first_response_chart,
        resolution_chart,
        heat_map,
        busiest,
        contacts_chart,
        intents_chart,
        employees_chart,
        contacts,
        intents,
        employees,
        days: stats
            .days
            .iter()
            .map(|d| DayRow {
                date: d.date.clone(),
                tickets: d.tickets,
                customer_messages: d.customer_messages,
                replies: d.replies,
            })
            .collect(),
        shadow_summary: t!(
            lang,
            "stats.shadow_summary",
            answers = shadow.would_answer,
            asks = shadow.would_ask,
            messages = shadow.customer_messages
        ),
        shadow_intents: shadow
            .by_intent
            .iter()
            .map(|(intent, counts)| ShadowIntentRow {
                label: if intent.is_empty() {
                    text("stats.no_intent")
                } else {
                    intent_label(intent, lang).to_string()
                },
                answers: counts.answers,
                asks: counts.asks,
            })
            .collect(),
        drafts: shadow
            .drafts
            .iter()
            .map(|d| DraftRow {
                ticket: d.ticket_number,
                ticket_subject: d.ticket_subject.clone(),
                subject: d.subject.clone(),
                intent: d.intent.as_deref().map_or_else(
                    || text("stats.no_intent"),
                    |i| intent_label(i, lang).to_string(),
                ),
                kind: crate::i18n::text(
                    lang,
                    if d.kind == ReplyKind::Ask {
                        "stats.draft_ask"
                    } else {
                        "stats.draft_answer"
                    },
                ),
                drafted: local_time(d.drafted_at, &stats.time_zone),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chooser_sends_the_last_day_and_links_send_the_day_after() {
        let query = PeriodQuery {
            from: Some("2026-11-01".into()),
            to: None,
            until: Some("2026-11-30".into()),
        };
        assert_eq!(query.end().as_deref(), Some("2026-12-01"));
        let query = PeriodQuery {
            to: Some("2026-11-15".into()),
            until: Some("2026-11-30".into()),
            ..PeriodQuery::default()
        };
        assert_eq!(query.end().as_deref(), Some("2026-11-15"));
        let query = PeriodQuery {
            until: Some("soon".into()),
            ..PeriodQuery::default()
        };
        assert_eq!(query.end().as_deref(), Some("soon"));
        assert_eq!(PeriodQuery::default().end(), None);
    }
}
