//! The ticket page: the conversation and its timeline, the customer panel, who else is on the
//! ticket, and every action on it (status, assignment, transfers, intent, note, reply,
//! scheduled answers). Each form posts and redirects back, so the page works without
//! JavaScript; htmx only refreshes the presence line.

use axum::Extension;
use axum::extract::{Form, Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::{Access, AppState, Routes, WebError, WebResult, WebResultExt, pages};
use crate::desk::actions::{MessageAuthor, NewAttachment, ReplyOutcome, TimelineItem, seen_up_to};
use crate::desk::replies::state_label;
use crate::model::{ReplyState, Status, UiLang};
use crate::store::{Activity, EventView, ReplyView, TicketEvent};
use crate::t;

/// Largest reply with its attachments.
const REPLY_BODY_LIMIT: usize = 25 * 1024 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .get("/tickets/{number}", Access::Employee, show)
        .get("/tickets/{number}/presence", Access::Employee, presence)
        .post("/tickets/{number}/presence", Access::Employee, replying)
        .post("/tickets/{number}/status", Access::Employee, set_status)
        .post("/tickets/{number}/assign", Access::Employee, assign)
        .post("/tickets/{number}/transfer", Access::Employee, transfer)
        .post(
            "/tickets/{number}/transfer-out",
            Access::Employee,
            transfer_out,
        )
        .post("/tickets/{number}/intent", Access::Employee, correct_intent)
        .post("/tickets/{number}/note", Access::Employee, add_note)
        .post("/tickets/{number}/reply", Access::Employee, reply)
        .post(
            "/tickets/{number}/answers/{id}/{action}",
            Access::Employee,
            act_on_answer,
        )
        .with_body_limit(REPLY_BODY_LIMIT)
}

fn status_label(status: Status, lang: UiLang) -> String {
    crate::i18n::text(lang, &format!("ticket_page.status_{status}")).to_string()
}

fn activity_label(activity: Activity, lang: UiLang) -> String {
    crate::i18n::text(lang, &format!("ticket_page.activity_{activity}")).to_string()
}

#[derive(Serialize)]
struct Choice {
    id: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct FileView {
    name: String,
    size: i64,
    /// None until the mail view serves attachments.
    href: Option<String>,
}

#[derive(Serialize)]
struct AnswerView {
    id: i64,
    state: String,
    state_label: String,
    due: String,
    body: String,
    error: Option<String>,
    editable: bool,
    can_send: bool,
    can_cancel: bool,
    /// Failed or uncertain: "send again".
    again: bool,
}

/// One entry of the page's timeline.
#[derive(Serialize)]
struct ItemView {
    /// customer, employee, automatic, note, event, answer
    kind: &'static str,
    at: String,
    author: String,
    subject: String,
    text: String,
    /// The full text when it holds more than the new part (quoted history).
    full: Option<String>,
    files: Vec<FileView>,
    html_src: Option<String>,
    /// The message's id, for its anchor and its "show remote images" link.
    message_id: Option<i64>,
    images_href: Option<String>,
    answer: Option<AnswerView>,
}

#[derive(Serialize)]
struct PanelOrderView {
    reference: String,
    status: String,
    date: String,
    tracking_number: Option<String>,
    tracking_url: Option<String>,
    carrier: Option<String>,
    /// `49.90 EUR`.
    total: Option<String>,
    /// The platform's own status and partial flags, for employees.
    raw_status: Option<String>,
    partial: Vec<String>,
}

#[derive(Serialize)]
struct PanelView {
    name: Option<String>,
    email: String,
    validated_orders: usize,
    since: String,
    total_spent: Option<String>,
    /// The platform failed: what it said and how old the data shown is.
    source_error: Option<String>,
    orders: Vec<PanelOrderView>,
    tickets: Vec<(i64, String, String)>,
    history: Vec<(String, String)>,
}

#[derive(Serialize)]
struct TicketPageView {
    number: i64,
    subject: String,
    status: String,
    status_label: String,
    customer: String,
    assignee: Option<String>,
    intent: Option<String>,
    language: Option<String>,
    items: Vec<ItemView>,
    seen: i64,
    statuses: Vec<Choice>,
    employees: Vec<Choice>,
    colleagues: Vec<Choice>,
    intents: Vec<Choice>,
    draft: String,
    presence: Vec<(String, String)>,
    prev: Option<i64>,
    next: Option<i64>,
    panel: PanelView,
    held_back: bool,
    newer: Vec<ItemView>,
}

fn moment(ms: i64, time_zone: &str, lang: UiLang) -> String {
    crate::replies::html::format_moment(ms, time_zone, lang).unwrap_or_default()
}

fn answer_view(reply: &ReplyView, time_zone: &str, lang: UiLang) -> AnswerView {
    use ReplyState::*;
    AnswerView {
        id: reply.id,
        state: reply.state.to_string(),
        state_label: state_label(reply.state, lang),
        due: moment(reply.due_at, time_zone, lang),
        body: reply.body.clone(),
        error: reply.error.clone(),
        editable: matches!(reply.state, Scheduled | Shadow | Failed | Uncertain),
        can_send: matches!(reply.state, Scheduled | Shadow),
        can_cancel: matches!(reply.state, Scheduled | Shadow),
        again: matches!(reply.state, Failed | Uncertain),
    }
}

fn event_text(event: &EventView, lang: UiLang) -> (String, &'static str) {
    let who = event
        .employee_name
        .clone()
        .unwrap_or_else(|| "Guichet".to_string());
    let text = match &event.event {
        TicketEvent::StatusChanged { from, to } => t!(
            lang,
            "ticket_page.event_status",
            who = who,
            from = status_label(*from, lang),
            to = status_label(*to, lang)
        ),
        TicketEvent::Assigned { to: Some(to) } => {
            t!(lang, "ticket_page.event_assigned", who = who, to = to.name)
        }
        TicketEvent::Assigned { to: None } => t!(lang, "ticket_page.event_unassigned", who = who),
        TicketEvent::Transferred { to, comment } => t!(
            lang,
            "ticket_page.event_transferred",
            who = who,
            to = to.name,
            comment = comment
        ),
        TicketEvent::TransferredOut { to, comment } => t!(
            lang,
            "ticket_page.event_transferred_out",
            who = who,
            to = to,
            comment = comment
        ),
        TicketEvent::Note { text } => return (text.clone(), "note"),
        TicketEvent::IntentCorrected { from, to } => t!(
            lang,
            "ticket_page.event_intent",
            who = who,
            from = from.as_deref().unwrap_or("-"),
            to = to
        ),
        TicketEvent::Replied { .. } => t!(lang, "ticket_page.event_replied", who = who),
    };
    (text, "event")
}

fn item_view(item: &TimelineItem, number: i64, time_zone: &str, lang: UiLang) -> ItemView {
    let at = moment(item.at(), time_zone, lang);
    match item {
        TimelineItem::Message {
            author,
            message,
            reply,
            ..
        } => {
            let (kind, who) = match author {
                MessageAuthor::Customer => (
                    "customer",
                    match &message.from_name {
                        Some(name) => format!("{name} <{}>", message.from),
                        None => message.from.clone(),
                    },
                ),
                MessageAuthor::Employee { name } => (
                    "employee",
                    name.clone()
                        .unwrap_or_else(|| t!(lang, "ticket_page.an_employee").to_string()),
                ),
                MessageAuthor::Automatic => {
                    ("automatic", t!(lang, "ticket_page.automatic").to_string())
                }
            };
            let text = if message.new_text.trim().is_empty() {
                message.text.clone()
            } else {
                message.new_text.clone()
            };
            let full = (message.text.trim() != text.trim()).then(|| message.text.clone());
            ItemView {
                kind,
                at,
                author: who,
                subject: message.subject.clone(),
                text,
                full,
                files: message
                    .attachments
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| !a.inline)
                    .map(|(index, a)| FileView {
                        name: a
                            .filename
                            .clone()
                            .unwrap_or_else(|| a.sha256.chars().take(12).collect()),
                        size: a.size,
                        href: Some(format!(
                            "/tickets/{number}/messages/{}/attachments/{index}",
                            message.id
                        )),
                    })
                    .collect(),
                html_src: (message.direction == "in")
                    .then(|| format!("/tickets/{number}/messages/{}/html", message.id)),
                message_id: Some(message.id),
                images_href: None,
                answer: reply.as_deref().map(|r| answer_view(r, time_zone, lang)),
            }
        }
        TimelineItem::Event(event) => {
            let (text, kind) = event_text(event, lang);
            ItemView {
                kind,
                at,
                author: event.employee_name.clone().unwrap_or_default(),
                subject: String::new(),
                text,
                full: None,
                files: Vec::new(),
                html_src: None,
                message_id: None,
                images_href: None,
                answer: None,
            }
        }
        TimelineItem::Answer { reply, .. } => ItemView {
            kind: "answer",
            at,
            author: t!(lang, "ticket_page.automatic").to_string(),
            subject: reply.subject.clone(),
            text: String::new(),
            full: None,
            files: Vec::new(),
            html_src: None,
            message_id: None,
            images_href: None,
            answer: Some(answer_view(reply, time_zone, lang)),
        },
    }
}

async fn page_view(
    state: &AppState,
    me: &SignedIn,
    number: i64,
    draft: Option<String>,
    newer: Option<Vec<TimelineItem>>,
    images: Option<i64>,
) -> WebResult<TicketPageView> {
    let desk = &state.desk;
    let shop = &me.shop;
    let lang = me.lang;
    let (detail, items) = desk.ticket_with_timeline(shop, number).await.web(me)?;
    let ticket_state = desk
        .store
        .ticket_state(shop.id, number)
        .await
        .map_err(|e| WebError::from_desk(e.into(), lang))?;
    let time_zone = desk
        .store
        .reply_settings(shop.id)
        .await
        .map_err(|e| WebError::from_desk(e.into(), lang))?
        .time_zone;
    desk.touch_presence(shop, me.employee.id, number, Activity::Viewing)
        .await
        .web(me)?;
    let presence = desk
        .presence(shop, me.employee.id, number)
        .await
        .web(me)?
        .into_iter()
        .map(|(name, activity)| (name, activity_label(activity, lang)))
        .collect();
    let employees = desk
        .store
        .employees_of_shop(shop.id)
        .await
        .map_err(|e| WebError::from_desk(e.into(), lang))?;
    let intents = desk
        .store
        .shop_intents(shop.id, lang)
        .await
        .map_err(|e| WebError::from_desk(e.into(), lang))?;
    let draft = match draft {
        Some(draft) => draft,
        None => desk
            .reply_prefill_for(shop, &detail)
            .await
            .unwrap_or_default(),
    };
    let (prev, next) = desk.neighbour_tickets(shop, number).await.web(me)?;
    let panel = desk
        .customer_panel(shop, &detail.ticket.customer_email)
        .await
        .web(me)?;
    let view = |item: &TimelineItem| {
        let mut view = item_view(item, number, &time_zone, lang);
        // The frame cannot ask for its own remote images (a sandboxed document sends no
        // cookie): the page links to itself with that frame showing them.
        if let (Some(id), Some(src)) = (view.message_id, view.html_src.as_mut()) {
            if images == Some(id) {
                *src = super::mail_view::show_images_src(number, id);
            } else {
                view.images_href = Some(format!("/tickets/{number}?images={id}#message-{id}"));
            }
        }
        view
    };
    let ticket = &detail.ticket;
    Ok(TicketPageView {
        number,
        subject: ticket.subject.clone(),
        status: ticket.status.to_string(),
        status_label: status_label(ticket.status, lang),
        customer: match &ticket.customer_name {
            Some(name) => format!("{name} <{}>", ticket.customer_email),
            None => ticket.customer_email.clone(),
        },
        assignee: ticket.assignee.clone(),
        intent: ticket.intent.clone(),
        language: ticket.language.clone(),
        seen: seen_up_to(&items),
        items: items.iter().map(view).collect(),
        statuses: [
            Status::Open,
            Status::Pending1,
            Status::Pending2,
            Status::Closed,
        ]
        .into_iter()
        .map(|s| Choice {
            id: s.to_string(),
            label: status_label(s, lang),
            selected: s == ticket.status,
        })
        .collect(),
        colleagues: employees
            .iter()
            .filter(|e| e.id != me.employee.id)
            .map(|e| Choice {
                id: e.id.to_string(),
                label: e.name.clone(),
                selected: false,
            })
            .collect(),
        employees: employees
            .iter()
            .map(|e| Choice {
                id: e.id.to_string(),
                label: e.name.clone(),
                selected: Some(e.id) == ticket_state.assignee_id,
            })
            .collect(),
        intents: intents
            .into_iter()
            .filter(|i| i.enabled)
            .map(|i| Choice {
                selected: Some(&i.id) == ticket.intent.as_ref(),
                id: i.id,
                label: i.label,
            })
            .collect(),
        draft,
        presence,
        prev,
        next,
        panel: PanelView {
            name: panel.name.clone(),
            email: panel.email.clone(),
            validated_orders: panel.validated_orders,
            since: panel
                .customer_since
                .map(|ms| moment(ms, &time_zone, lang))
                .unwrap_or_default(),
            total_spent: panel
                .total_spent
                .as_ref()
                .map(|m| format!("{} {}", m.decimal(), m.currency)),
            source_error: panel.source_error.as_ref().map(|e| {
                let error = e.error.explain(lang);
                match e.data_from {
                    Some(at) => t!(
                        lang,
                        "shop_live.stale",
                        error = error,
                        since = moment(at, &time_zone, lang)
                    ),
                    None => t!(lang, "shop_live.stale_never", error = error),
                }
            }),
            orders: panel
                .orders
                .iter()
                .map(|o| PanelOrderView {
                    reference: o.reference.clone(),
                    status: o.status.label(lang).to_string(),
                    date: o
                        .ordered_at
                        .and_then(|ms| crate::replies::html::format_day(ms, &time_zone, lang))
                        .unwrap_or_default(),
                    tracking_number: o.tracking_number.clone(),
                    tracking_url: o.tracking_url.clone(),
                    carrier: o.carrier.clone(),
                    total: o
                        .total
                        .as_ref()
                        .map(|m| format!("{} {}", m.decimal(), m.currency)),
                    raw_status: o.raw_status.clone(),
                    partial: [
                        (o.partially_shipped, t!(lang, "shop_live.partially_shipped")),
                        (
                            o.partially_refunded,
                            t!(lang, "shop_live.partially_refunded"),
                        ),
                    ]
                    .into_iter()
                    .filter(|(flag, _)| *flag)
                    .map(|(_, label)| label.to_string())
                    .collect(),
                })
                .collect(),
            tickets: panel
                .tickets
                .iter()
                .filter(|t| t.number != number)
                .map(|t| (t.number, t.subject.clone(), status_label(t.status, lang)))
                .collect(),
            history: panel
                .history
                .iter()
                .map(|entry| match entry {
                    crate::desk::actions::HistoryEntry::Order {
                        at,
                        reference,
                        status,
                    } => (
                        moment(*at, &time_zone, lang),
                        t!(
                            lang,
                            "ticket_page.history_order",
                            reference = reference,
                            status = status.label(lang)
                        ),
                    ),
                    crate::desk::actions::HistoryEntry::Message {
                        at,
                        ticket,
                        subject,
                        incoming,
                    } => (
                        moment(*at, &time_zone, lang),
                        if *incoming {
                            t!(
                                lang,
                                "ticket_page.history_in",
                                number = ticket,
                                subject = subject
                            )
                        } else {
                            t!(
                                lang,
                                "ticket_page.history_out",
                                number = ticket,
                                subject = subject
                            )
                        },
                    ),
                })
                .collect(),
        },
        held_back: newer.is_some(),
        newer: newer.iter().flatten().map(view).collect(),
    })
}

#[derive(Deserialize)]
struct ShowQuery {
    /// The message whose frame shows its remote images.
    images: Option<i64>,
}

async fn show(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    Query(query): Query<ShowQuery>,
) -> WebResult<Html<String>> {
    let view = page_view(&state, &me, number, None, None, query.images).await?;
    pages::page(&me, "tickets", "web/ticket_page.html", view)
}

#[derive(Serialize)]
struct PresenceView {
    number: i64,
    presence: Vec<(String, String)>,
}

/// The presence line, for htmx polling: renews the caller's own presence too.
async fn presence(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
) -> WebResult<Html<String>> {
    let desk = &state.desk;
    desk.touch_presence(&me.shop, me.employee.id, number, Activity::Viewing)
        .await
        .web(&me)?;
    let presence = desk
        .presence(&me.shop, me.employee.id, number)
        .await
        .web(&me)?
        .into_iter()
        .map(|(name, activity)| (name, activity_label(activity, me.lang)))
        .collect();
    crate::render::render(
        "web/ticket_presence.html",
        me.lang,
        &PresenceView { number, presence },
    )
    .map(Html)
    .map_err(|e| WebError::from_desk(e.into(), me.lang))
}

/// The reply box says its employee is writing (htmx, on typing); answered with no content.
async fn replying(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
) -> WebResult<StatusCode> {
    state
        .desk
        .touch_presence(&me.shop, me.employee.id, number, Activity::Replying)
        .await
        .web(&me)?;
    Ok(StatusCode::NO_CONTENT)
}

fn back(number: i64) -> Redirect {
    Redirect::to(&format!("/tickets/{number}"))
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
}

async fn set_status(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    Form(form): Form<StatusForm>,
) -> WebResult<Redirect> {
    let status: Status = form
        .status
        .parse()
        .map_err(|_| WebError::bad_request(t!(me.lang, "ticket_page.bad_status"), me.lang))?;
    state
        .desk
        .set_status_by(&me.shop, me.employee.id, number, status)
        .await
        .web(&me)?;
    Ok(back(number))
}

#[derive(Deserialize)]
struct AssignForm {
    /// Empty: nobody.
    assignee: String,
}

fn employee_id(text: &str, lang: UiLang) -> WebResult<i64> {
    text.trim()
        .parse()
        .map_err(|_| WebError::bad_request(t!(lang, "ticket_page.bad_employee"), lang))
}

async fn assign(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    Form(form): Form<AssignForm>,
) -> WebResult<Redirect> {
    let assignee = match form.assignee.trim() {
        "" => None,
        id => Some(employee_id(id, me.lang)?),
    };
    state
        .desk
        .assign(&me.shop, me.employee.id, number, assignee)
        .await
        .web(&me)?;
    Ok(back(number))
}

#[derive(Deserialize)]
struct TransferForm {
    to: String,
    #[serde(default)]
    comment: String,
}

async fn transfer(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    Form(form): Form<TransferForm>,
) -> WebResult<Redirect> {
    let to = employee_id(&form.to, me.lang)?;
    state
        .desk
        .transfer_to_employee(&me.shop, me.employee.id, number, to, &form.comment)
        .await
        .web(&me)?;
    Ok(back(number))
}

#[derive(Deserialize)]
struct TransferOutForm {
    address: String,
    #[serde(default)]
    comment: String,
}

async fn transfer_out(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    Form(form): Form<TransferOutForm>,
) -> WebResult<Redirect> {
    state
        .desk
        .transfer_out(
            &me.shop,
            me.employee.id,
            number,
            &form.address,
            &form.comment,
        )
        .await
        .web(&me)?;
    Ok(back(number))
}

#[derive(Deserialize)]
struct IntentForm {
    intent: String,
}

async fn correct_intent(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    Form(form): Form<IntentForm>,
) -> WebResult<Redirect> {
    state
        .desk
        .correct_intent_by(&me.shop, me.employee.id, number, None, form.intent.trim())
        .await
        .web(&me)?;
    Ok(back(number))
}

#[derive(Deserialize)]
struct NoteForm {
    text: String,
}

async fn add_note(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    Form(form): Form<NoteForm>,
) -> WebResult<Redirect> {
    state
        .desk
        .add_note(&me.shop, me.employee.id, number, &form.text)
        .await
        .web(&me)?;
    Ok(back(number))
}

/// The reply form (multipart: text, what the page had seen, files). Held back, it shows the
/// page again with what is new and the text kept, answered 409.
async fn reply(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(number): Path<i64>,
    mut multipart: Multipart,
) -> WebResult<Response> {
    let lang = me.lang;
    let bad = |_| WebError::bad_request(t!(lang, "ticket_page.bad_form"), lang);
    let (mut body, mut seen, mut files) = (String::new(), 0i64, Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "body" => body = field.text().await.map_err(bad)?,
            "seen" => seen = field.text().await.map_err(bad)?.trim().parse().unwrap_or(0),
            "files" => {
                let filename = field.file_name().unwrap_or_default().trim().to_string();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                let bytes = field.bytes().await.map_err(bad)?;
                if !filename.is_empty() && !bytes.is_empty() {
                    files.push(NewAttachment {
                        filename,
                        content_type,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            _ => {}
        }
    }
    let outcome = state
        .desk
        .reply_checked(&me.shop, me.employee.id, number, &body, &files, seen)
        .await
        .web(&me)?;
    match outcome {
        ReplyOutcome::Sent(_) => Ok(back(number).into_response()),
        ReplyOutcome::HeldBack { newer } => {
            let view = page_view(&state, &me, number, Some(body), Some(newer), None).await?;
            let page = pages::page(&me, "tickets", "web/ticket_page.html", view)?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    body: String,
}

/// Edit, send now (or again) or cancel one of the ticket's answers.
async fn act_on_answer(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path((number, id, action)): Path<(i64, i64, String)>,
    Form(form): Form<AnswerForm>,
) -> WebResult<Redirect> {
    let desk = &state.desk;
    // Only an answer of this ticket of this shop.
    let detail = desk.ticket(&me.shop, number).await.web(&me)?;
    if !detail.replies.iter().any(|r| r.id == id) {
        return Err(WebError::from_desk(
            crate::desk::DeskError::NoReply(id),
            me.lang,
        ));
    }
    match action.as_str() {
        "edit" => desk.edit_reply(id, &form.body).await.web(&me)?,
        "send" => {
            desk.send_reply_now(id).await.web(&me)?;
        }
        "cancel" => desk.cancel_reply(id).await.web(&me)?,
        _ => {
            return Err(WebError::from_desk(
                crate::desk::DeskError::NoReply(id),
                me.lang,
            ));
        }
    }
    Ok(back(number))
}
