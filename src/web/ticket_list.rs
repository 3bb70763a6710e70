//! The ticket list page: filters (a GET form), search, sort, keyset pages, one section per
//! contact with its unread count, and bulk status change or assignment (one POST).

use axum::Form;
use axum::extract::{Extension, Query, RawQuery};
use axum::response::{Html, Redirect};
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::{Access, AppState, Routes, WebError, WebResult, WebResultExt, pages};
use crate::desk::ticket_list::{
    AssigneeFilter, AutoAnswer, PresenceActivity, TicketQuery, TicketRow, TicketSort,
};
use crate::model::{Status, UiLang};
use crate::store::now_ms;
use crate::t;

pub fn routes() -> Routes {
    Routes::new().get("/tickets", Access::Employee, list).post(
        "/tickets/bulk",
        Access::Employee,
        bulk,
    )
}

/// The list's query string, as the filter form sends it (every field, empty when unused).
#[derive(Debug, Default, Deserialize)]
struct ListParams {
    /// A status, `any`, or nothing (open tickets).
    status: Option<String>,
    assignee: Option<String>,
    contact: Option<String>,
    lang: Option<String>,
    intent: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    after: Option<String>,
    limit: Option<String>,
    /// How many tickets the last bulk action changed.
    changed: Option<String>,
}

const STATUSES: [Status; 4] = [
    Status::Open,
    Status::Pending1,
    Status::Pending2,
    Status::Closed,
];

fn status_label(status: Status, lang: UiLang) -> &'static str {
    crate::i18n::text(
        lang,
        match status {
            Status::Open => "web_list.status_open",
            Status::Pending1 => "web_list.status_pending1",
            Status::Pending2 => "web_list.status_pending2",
            Status::Closed => "web_list.status_closed",
        },
    )
}

fn blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ListParams {
    /// The desk's query; a value that is none of the choices is refused, not ignored.
    fn query(&self, lang: UiLang) -> WebResult<TicketQuery> {
        let bad = |field: &str| {
            WebError::bad_request(t!(lang, "web_list.bad_filter", field = field), lang)
        };
        let status = match blank(&self.status) {
            None => Some(Status::Open),
            Some("any") => None,
            Some(name) => Some(name.parse().map_err(|_| bad("status"))?),
        };
        let assignee = match blank(&self.assignee) {
            None => AssigneeFilter::Anyone,
            Some(name) => name.parse().map_err(|_| bad("assignee"))?,
        };
        let contact = match blank(&self.contact) {
            None => None,
            Some(id) => Some(id.parse().map_err(|_| bad("contact"))?),
        };
        let sort = match blank(&self.sort) {
            None => TicketSort::Recent,
            Some(name) => name.parse().map_err(|_| bad("sort"))?,
        };
        let limit = match blank(&self.limit) {
            None => 0,
            Some(n) => n.parse().map_err(|_| bad("limit"))?,
        };
        Ok(TicketQuery {
            status,
            assignee,
            contact,
            lang: blank(&self.lang).map(str::to_string),
            intent: blank(&self.intent).map(str::to_string),
            search: blank(&self.q).map(str::to_string),
            sort,
            after: blank(&self.after).map(str::to_string),
            limit,
        })
    }

    /// This list's query string without the cursor, with `contact` replaced when given.
    fn link(&self, contact: Option<Option<i64>>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut keep = |key: &'static str, value: &Option<String>| {
            if let Some(v) = blank(value) {
                pairs.push((key, v.to_string()));
            }
        };
        keep("status", &self.status);
        keep("assignee", &self.assignee);
        keep("lang", &self.lang);
        keep("intent", &self.intent);
        keep("q", &self.q);
        keep("sort", &self.sort);
        keep("limit", &self.limit);
        match contact {
            Some(Some(id)) => pairs.push(("contact", id.to_string())),
            Some(None) => {}
            None => {
                if let Some(v) = blank(&self.contact) {
                    pairs.push(("contact", v.to_string()));
                }
            }
        }
        encode(&pairs)
    }
}

fn encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query-string value.
fn percent(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// How long ago `at` was, shortly: "5 min", "3 h", "2 d".
fn age(now: i64, at: i64, lang: UiLang) -> String {
    let minutes = ((now - at).max(0) / 60_000).max(0);
    if minutes < 60 {
        t!(lang, "web_list.age_minutes", n = minutes.max(1))
    } else if minutes < 48 * 60 {
        t!(lang, "web_list.age_hours", n = minutes / 60)
    } else {
        t!(lang, "web_list.age_days", n = minutes / (24 * 60))
    }
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct RowView {
    number: i64,
    subject: String,
    customer: String,
    email: String,
    contact: String,
    language: String,
    status: String,
    status_label: &'static str,
    assignee: String,
    intent: String,
    message_count: i64,
    excerpt: String,
    last_at: String,
    last_ago: String,
    waiting: String,
    waiting_at: String,
    attachments: bool,
    auto_answer: String,
    auto_class: &'static str,
    presence: Vec<String>,
    unread: bool,
}

fn row_view(row: TicketRow, now: i64, lang: UiLang) -> RowView {
    let (auto_answer, auto_class) = match row.auto_answer {
        AutoAnswer::Sent { at } => (
            t!(lang, "web_list.auto_sent", ago = age(now, at, lang)),
            "auto-sent",
        ),
        AutoAnswer::Scheduled { at } => (
            t!(
                lang,
                "web_list.auto_scheduled",
                at = crate::views::rfc3339(at)
                    .replace('T', " ")
                    .chars()
                    .take(16)
                    .collect::<String>()
            ),
            "auto-scheduled",
        ),
        AutoAnswer::Shadow => (t!(lang, "web_list.auto_shadow").to_string(), "auto-shadow"),
        AutoAnswer::Uncertain => (
            t!(lang, "web_list.auto_uncertain").to_string(),
            "auto-uncertain",
        ),
        AutoAnswer::None => (String::new(), ""),
    };
    RowView {
        number: row.number,
        customer: row
            .customer_name
            .clone()
            .unwrap_or_else(|| row.customer_email.clone()),
        email: row.customer_email,
        subject: row.subject,
        contact: row.contact.unwrap_or_default(),
        language: row.language.unwrap_or_default(),
        status: row.status.to_string(),
        status_label: status_label(row.status, lang),
        assignee: row.assignee.map(|a| a.name).unwrap_or_default(),
        intent: row.intent.unwrap_or_default(),
        message_count: row.message_count,
        excerpt: row.last_message_excerpt,
        last_at: crate::views::rfc3339(row.last_message_at),
        last_ago: age(now, row.last_message_at, lang),
        waiting: row
            .waiting_since
            .map(|at| age(now, at, lang))
            .unwrap_or_default(),
        waiting_at: row
            .waiting_since
            .map(crate::views::rfc3339)
            .unwrap_or_default(),
        attachments: row.has_attachments,
        auto_answer,
        auto_class,
        presence: row
            .presence
            .into_iter()
            .map(|p| match p.activity {
                PresenceActivity::Viewing => t!(lang, "web_list.viewing", name = p.employee),
                PresenceActivity::Replying => t!(lang, "web_list.replying", name = p.employee),
            })
            .collect(),
        unread: row.unread,
    }
}

#[derive(Serialize)]
struct Section {
    name: String,
    unread: u64,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct ListPage {
    rows: Vec<RowView>,
    next_href: Option<String>,
    first_href: Option<String>,
    sections: Vec<Section>,
    all_href: String,
    all_current: bool,
    statuses: Vec<Choice>,
    legend: Vec<Choice>,
    assignees: Vec<Choice>,
    sorts: Vec<Choice>,
    bulk_actions: Vec<Choice>,
    contact: String,
    lang_filter: String,
    intent: String,
    q: String,
    back: String,
    changed: Option<String>,
}

async fn list(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Query(params): Query<ListParams>,
    RawQuery(raw): RawQuery,
) -> WebResult<Html<String>> {
    let lang = me.lang;
    let query = params.query(lang)?;
    let desk = &state.desk;
    let page = desk
        .ticket_list(&me.shop, me.employee.id, &query)
        .await
        .web(&me)?;
    let employees = desk.employees(&me.shop).await.web(&me)?;
    let now = now_ms();

    let link = params.link(None);
    let next_href = page.next.as_ref().map(|cursor| {
        format!(
            "/tickets?{}",
            join(&link, &encode(&[("after", cursor.clone())]))
        )
    });
    let first_href = query.after.as_ref().map(|_| format!("/tickets?{link}"));
    let sections = page
        .sections
        .iter()
        .filter(|s| s.contact_id.is_some())
        .map(|s| Section {
            name: s.name.clone(),
            unread: s.unread,
            href: format!("/tickets?{}", params.link(Some(s.contact_id))),
            current: s.contact_id == query.contact,
        })
        .collect();
    let choice = |value: &str, label: String, selected: bool| Choice {
        value: value.to_string(),
        label,
        selected,
    };
    let mut statuses = vec![choice(
        "any",
        t!(lang, "web_list.any_status").to_string(),
        query.status.is_none(),
    )];
    statuses.extend(STATUSES.iter().map(|&s| {
        choice(
            &s.to_string(),
            status_label(s, lang).to_string(),
            query.status == Some(s),
        )
    }));
    let legend = STATUSES
        .iter()
        .map(|&s| choice(&s.to_string(), status_label(s, lang).to_string(), false))
        .collect();
    let assignees = [
        (AssigneeFilter::Anyone, "web_list.anyone"),
        (AssigneeFilter::Mine, "web_list.mine"),
        (AssigneeFilter::Unassigned, "web_list.unassigned"),
    ]
    .iter()
    .map(|&(a, key)| {
        choice(
            &a.to_string(),
            crate::i18n::text(lang, key).to_string(),
            query.assignee == a,
        )
    })
    .collect();
    let sorts = [
        (TicketSort::Recent, "web_list.sort_recent"),
        (TicketSort::Oldest, "web_list.sort_oldest"),
        (TicketSort::WaitingLongest, "web_list.sort_waiting"),
        (TicketSort::Number, "web_list.sort_number"),
    ]
    .iter()
    .map(|&(s, key)| {
        choice(
            &s.to_string(),
            crate::i18n::text(lang, key).to_string(),
            query.sort == s,
        )
    })
    .collect();
    let mut bulk_actions: Vec<Choice> = STATUSES
        .iter()
        .map(|&s| {
            choice(
                &format!("status:{s}"),
                t!(lang, "web_list.bulk_status", status = status_label(s, lang)),
                false,
            )
        })
        .collect();
    bulk_actions.extend(employees.iter().map(|e| {
        choice(
            &format!("assign:{}", e.id),
            t!(lang, "web_list.bulk_assign", name = e.name),
            false,
        )
    }));
    bulk_actions.push(choice(
        "assign:none",
        t!(lang, "web_list.bulk_unassign").to_string(),
        false,
    ));
    let context = ListPage {
        rows: page
            .rows
            .into_iter()
            .map(|r| row_view(r, now, lang))
            .collect(),
        next_href,
        first_href,
        sections,
        all_href: format!("/tickets?{}", params.link(Some(None))),
        all_current: query.contact.is_none(),
        statuses,
        legend,
        assignees,
        sorts,
        bulk_actions,
        contact: blank(&params.contact).unwrap_or_default().to_string(),
        lang_filter: query.lang.clone().unwrap_or_default(),
        intent: query.intent.clone().unwrap_or_default(),
        q: query.search.clone().unwrap_or_default(),
        back: raw
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.starts_with("changed="))
            .collect::<Vec<_>>()
            .join("&"),
        changed: blank(&params.changed).map(str::to_string),
    };
    pages::page(&me, "tickets", "web/ticket_list.html", context)
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}&{b}"),
    }
}

/// The bulk form: `ticket` once per checked row, `action` (`status:<name>`, `assign:<id>`,
/// `assign:none`), `back` (the list's query string to return to).
async fn bulk(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> WebResult<Redirect> {
    let lang = me.lang;
    let bad =
        |field: &str| WebError::bad_request(t!(lang, "web_list.bad_filter", field = field), lang);
    let mut numbers = Vec::new();
    let mut action = None;
    let mut back = String::new();
    for (key, value) in &fields {
        match key.as_str() {
            "ticket" => numbers.push(value.parse::<i64>().map_err(|_| bad("ticket"))?),
            "action" => action = Some(value.as_str()),
            "back" => back = value.clone(),
            _ => {}
        }
    }
    if numbers.is_empty() {
        return Err(WebError::bad_request(t!(lang, "web_list.bulk_none"), lang));
    }
    let desk = &state.desk;
    let changed = match action.and_then(|a| a.split_once(':')) {
        Some(("status", name)) => {
            let status: Status = name.parse().map_err(|_| bad("action"))?;
            desk.bulk_set_status(&me.shop, me.employee.id, &numbers, status)
                .await
                .web(&me)?
        }
        Some(("assign", "none")) => desk
            .bulk_assign(&me.shop, me.employee.id, &numbers, None)
            .await
            .web(&me)?,
        Some(("assign", id)) => {
            let id: i64 = id.parse().map_err(|_| bad("action"))?;
            desk.bulk_assign(&me.shop, me.employee.id, &numbers, Some(id))
                .await
                .web(&me)?
        }
        _ => return Err(bad("action")),
    };
    // Back to the same list: only a query string, never another address.
    let back: String = back
        .chars()
        .filter(|c| !c.is_control() && *c != '#')
        .collect();
    let back = back.trim_start_matches('?');
    Ok(Redirect::to(&format!(
        "/tickets?{}",
        join(back, &format!("changed={}", changed.len()))
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        let now = 10 * 24 * 3600 * 1000;
        assert_eq!(age(now, now - 30_000, UiLang::En), "1 min");
        assert_eq!(age(now, now - 3 * 3600 * 1000, UiLang::En), "3 h");
        assert_eq!(age(now, now - 3 * 24 * 3600 * 1000, UiLang::Fr), "3 j");
    }

    #[test]
    fn links_keep_filters_and_encode_values() {
        let params = ListParams {
            status: Some("any".into()),
            q: Some("a&b é".into()),
            contact: Some("4".into()),
            after: Some("r1.2.3".into()),
            ..Default::default()
        };
        assert_eq!(params.link(None), "status=any&q=a%26b%20%C3%A9&contact=4");
        assert_eq!(
            params.link(Some(Some(7))),
            "status=any&q=a%26b%20%C3%A9&contact=7"
        );
        assert_eq!(params.link(Some(None)), "status=any&q=a%26b%20%C3%A9");
    }

    #[test]
    fn unknown_filter_values_are_refused() {
        let params = ListParams {
            status: Some("lost".into()),
            ..Default::default()
        };
        assert!(params.query(UiLang::En).is_err());
        let defaults = ListParams::default().query(UiLang::En).unwrap();
        assert_eq!(defaults.status, Some(Status::Open));
        assert_eq!(defaults.sort, TicketSort::Recent);
    }
}
