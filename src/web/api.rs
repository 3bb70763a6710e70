//! The JSON API under `/api/v1`: the same use-cases as the pages and the command line, called
//! with a per-employee bearer token (`Authorization: Bearer gch_…`) and confined to that
//! employee's shop. Bodies and answers are the JSON shapes of `crate::views`; errors are
//! `{"error": "..."}` in the employee's language. `/api/v1/openapi.json` describes it all
//! (`src/web/openapi.json`, checked against this router by the tests).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::{Access, AppState, Routes, WebError, WebResult};
use crate::desk::DeskResult;
use crate::desk::actions::{MessageAuthor, ReplyOutcome, TimelineItem, seen_up_to};
use crate::model::{ReplyState, Status};
use crate::store::TicketEvent;
use crate::t;
use crate::views::{self, EmployeeJson, ReplyJson, TicketDetailJson, TicketJson};

/// The OpenAPI 3.1 document of this API, written by hand beside the code it describes.
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/openapi.json", Access::Employee, openapi)
        .get("/api/v1/me", Access::Employee, me)
        .get("/api/v1/tickets", Access::Employee, tickets)
        .get("/api/v1/tickets/search", Access::Employee, search)
        .get("/api/v1/tickets/{number}", Access::Employee, ticket)
        .post("/api/v1/tickets/{number}/status", Access::Employee, status)
        .post("/api/v1/tickets/{number}/reply", Access::Employee, reply)
        .post("/api/v1/tickets/{number}/assign", Access::Employee, assign)
        .post(
            "/api/v1/tickets/{number}/transfer",
            Access::Employee,
            transfer,
        )
        .post("/api/v1/tickets/{number}/note", Access::Employee, note)
        .post(
            "/api/v1/tickets/{number}/intent",
            Access::Employee,
            correct_intent,
        )
        .get("/api/v1/replies", Access::Employee, replies)
        .post(
            "/api/v1/replies/{id}/cancel",
            Access::Employee,
            cancel_reply,
        )
        .post("/api/v1/replies/{id}/send", Access::Employee, send_reply)
        .post("/api/v1/replies/{id}/edit", Access::Employee, edit_reply)
        .get("/api/v1/statistics", Access::Employee, statistics)
}

/// A use-case's refusal as the API says it: JSON, whatever the caller authenticated with.
fn api<T>(result: DeskResult<T>, me: &SignedIn) -> WebResult<T> {
    result.map_err(|e| WebError::from_desk(e, me.lang).as_json(true))
}

/// A body or query that does not parse, said in the employee's language.
fn bad_input(me: &SignedIn) -> WebError {
    WebError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        t!(me.lang, "api.bad_input"),
        me.lang,
    )
    .as_json(true)
}

fn body<T>(me: &SignedIn, body: Result<Json<T>, JsonRejection>) -> WebResult<T> {
    body.map(|Json(value)| value).map_err(|_| bad_input(me))
}

fn query<T>(me: &SignedIn, query: Result<Query<T>, QueryRejection>) -> WebResult<T> {
    query.map(|Query(value)| value).map_err(|_| bad_input(me))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(Serialize)]
struct MeJson<'a> {
    employee: EmployeeJson<'a>,
    shop: views::ShopJson<'a>,
}

async fn me(me: SignedIn) -> Json<serde_json::Value> {
    let shape = MeJson {
        employee: (&me.employee).into(),
        shop: (&me.shop).into(),
    };
    Json(serde_json::to_value(shape).unwrap_or_default())
}

async fn tickets(
    Extension(state): Extension<AppState>,
    me: SignedIn,
) -> WebResult<Json<serde_json::Value>> {
    let tickets = api(state.desk.tickets(Some(&me.shop)).await, &me)?;
    Ok(Json(to_json(&views::list::<_, TicketJson>(&tickets))))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

async fn search(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    asked: Result<Query<SearchQuery>, QueryRejection>,
) -> WebResult<Json<Vec<i64>>> {
    let asked = query(&me, asked)?;
    Ok(Json(api(state.desk.search(&me.shop, &asked.q).await, &me)?))
}

/// The ticket, plus `seen_up_to`: what a reply sends back so that it is held when someone
/// wrote since.
async fn ticket(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(number): Path<i64>,
) -> WebResult<Json<serde_json::Value>> {
    let detail = api(state.desk.ticket(&me.shop, number).await, &me)?;
    let customer = api(
        state
            .desk
            .customer_panel(&me.shop, &detail.ticket.customer_email)
            .await,
        &me,
    )?;
    let timeline = api(state.desk.timeline(&me.shop, number).await, &me)?;
    let mut shape = to_json(&TicketDetailJson::new(&detail, &customer, me.lang));
    if let Some(object) = shape.as_object_mut() {
        object.insert("seen_up_to".into(), seen_up_to(&timeline).into());
    }
    Ok(Json(shape))
}

#[derive(Deserialize)]
struct StatusBody {
    status: Status,
}

#[derive(Serialize)]
struct StatusJson {
    number: i64,
    status: Status,
}

async fn status(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(number): Path<i64>,
    asked: Result<Json<StatusBody>, JsonRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = body(&me, asked)?;
    api(
        state.desk.set_status(&me.shop, number, asked.status).await,
        &me,
    )?;
    Ok(Json(to_json(&StatusJson {
        number,
        status: asked.status,
    })))
}

#[derive(Deserialize)]
struct ReplyBody {
    body: String,
    /// The `seen_up_to` of the ticket as the caller last read it (Unix ms).
    seen_up_to: i64,
}

/// What was written since the caller's `seen_up_to`, for a reply held back.
#[derive(Serialize)]
struct NewerJson {
    kind: &'static str,
    at: String,
    at_ms: i64,
    /// Who wrote it: the customer's address, the colleague's name, or null for Guichet.
    author: Option<String>,
    text: String,
}

impl From<&TimelineItem> for NewerJson {
    fn from(item: &TimelineItem) -> Self {
        let at_ms = item.at();
        let (kind, author, text) = match item {
            TimelineItem::Message {
                author, message, ..
            } => {
                let who = match author {
                    MessageAuthor::Customer => Some(message.from.clone()),
                    MessageAuthor::Employee { name } => name.clone(),
                    MessageAuthor::Automatic => None,
                };
                ("message", who, message.new_text.clone())
            }
            TimelineItem::Event(event) => {
                let text = match &event.event {
                    TicketEvent::Note { text } => text.clone(),
                    _ => String::new(),
                };
                ("note", event.employee_name.clone(), text)
            }
            TimelineItem::Answer { reply, .. } => ("reply", None, reply.body.clone()),
        };
        NewerJson {
            kind,
            at: views::rfc3339(at_ms),
            at_ms,
            author,
            text,
        }
    }
}

#[derive(Serialize)]
struct HeldBackJson {
    error: String,
    /// What the caller had not seen, oldest first.
    newer: Vec<NewerJson>,
    /// To send again once what is new has been read.
    seen_up_to: i64,
}

/// A reply to the ticket's customer, sent unless the customer or a colleague wrote since the
/// caller's `seen_up_to`: then 409 with what is new, and nothing sent.
async fn reply(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(number): Path<i64>,
    asked: Result<Json<ReplyBody>, JsonRejection>,
) -> WebResult<Response> {
    let asked = body(&me, asked)?;
    let outcome = state
        .desk
        .reply_checked(
            &me.shop,
            me.employee.id,
            number,
            &asked.body,
            &[],
            asked.seen_up_to,
        )
        .await;
    Ok(match api(outcome, &me)? {
        ReplyOutcome::Sent(sent) => Json(to_json(&ReplyJson::from(sent.as_ref()))).into_response(),
        ReplyOutcome::HeldBack { newer } => {
            let held = HeldBackJson {
                error: t!(me.lang, "web_settings_more.conflict").to_string(),
                seen_up_to: seen_up_to(&newer).max(asked.seen_up_to),
                newer: newer.iter().map(NewerJson::from).collect(),
            };
            (StatusCode::CONFLICT, Json(to_json(&held))).into_response()
        }
    })
}

/// The reply `id` of the caller's shop, acted on by `act`; the row afterwards.
async fn on_reply<F, Fut>(
    state: &AppState,
    me: &SignedIn,
    id: i64,
    act: F,
) -> WebResult<Json<serde_json::Value>>
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = DeskResult<()>>,
{
    let desk = &state.desk;
    api(desk.reply_of_shop(&me.shop, id).await, me)?;
    api(act(id).await, me)?;
    let after = api(desk.reply_of_shop(&me.shop, id).await, me)?;
    Ok(Json(to_json(&ReplyJson::from(&after))))
}

/// Cancels a scheduled (or shadow) automatic answer.
async fn cancel_reply(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> WebResult<Json<serde_json::Value>> {
    let desk = state.desk.clone();
    on_reply(
        &state,
        &me,
        id,
        |id| async move { desk.cancel_reply(id).await },
    )
    .await
}

/// Sends a scheduled answer now, or again one that failed or whose send is uncertain.
async fn send_reply(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> WebResult<Json<serde_json::Value>> {
    let desk = state.desk.clone();
    on_reply(&state, &me, id, |id| async move {
        desk.send_reply_now(id).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
struct EditBody {
    body: String,
}

/// Replaces the text of an answer not sent yet.
async fn edit_reply(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    asked: Result<Json<EditBody>, JsonRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = body(&me, asked)?;
    let desk = state.desk.clone();
    on_reply(&state, &me, id, |id| async move {
        desk.edit_reply(id, &asked.body).await
    })
    .await
}

#[derive(Deserialize)]
struct RepliesQuery {
    state: Option<ReplyState>,
}

async fn replies(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    asked: Result<Query<RepliesQuery>, QueryRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = query(&me, asked)?;
    let replies = api(state.desk.replies(Some(&me.shop), asked.state).await, &me)?;
    Ok(Json(to_json(&views::list::<_, ReplyJson>(&replies))))
}

#[derive(Deserialize)]
struct AssignBody {
    /// None: nobody.
    employee_id: Option<i64>,
}

#[derive(Serialize)]
struct ChangedJson {
    number: i64,
    /// False when the ticket already was so.
    changed: bool,
}

async fn assign(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(number): Path<i64>,
    asked: Result<Json<AssignBody>, JsonRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = body(&me, asked)?;
    let changed = api(
        state
            .desk
            .assign(&me.shop, me.employee.id, number, asked.employee_id)
            .await,
        &me,
    )?;
    Ok(Json(to_json(&ChangedJson { number, changed })))
}

#[derive(Deserialize)]
struct TransferBody {
    /// A colleague of the shop, told by email...
    employee_id: Option<i64>,
    /// ...or someone outside, sent the conversation.
    email: Option<String>,
    #[serde(default)]
    comment: String,
}

#[derive(Serialize)]
struct TransferredJson {
    number: i64,
    to: String,
}

async fn transfer(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(number): Path<i64>,
    asked: Result<Json<TransferBody>, JsonRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = body(&me, asked)?;
    let desk = &state.desk;
    let to = match (asked.employee_id, asked.email) {
        (Some(colleague), None) => {
            let done = desk
                .transfer_to_employee(&me.shop, me.employee.id, number, colleague, &asked.comment)
                .await;
            api(done, &me)?.to_email
        }
        (None, Some(address)) => {
            let done = desk
                .transfer_out(&me.shop, me.employee.id, number, &address, &asked.comment)
                .await;
            api(done, &me)?;
            address.trim().to_lowercase()
        }
        _ => return Err(bad_input(&me)),
    };
    Ok(Json(to_json(&TransferredJson { number, to })))
}

#[derive(Deserialize)]
struct NoteBody {
    text: String,
}

async fn note(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(number): Path<i64>,
    asked: Result<Json<NoteBody>, JsonRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = body(&me, asked)?;
    let done = state
        .desk
        .add_note(&me.shop, me.employee.id, number, &asked.text)
        .await;
    api(done, &me)?;
    Ok(Json(to_json(&ChangedJson {
        number,
        changed: true,
    })))
}

#[derive(Deserialize)]
struct IntentBody {
    /// The customer message to correct (default: the latest).
    message_id: Option<i64>,
    intent: String,
}

async fn correct_intent(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(number): Path<i64>,
    asked: Result<Json<IntentBody>, JsonRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = body(&me, asked)?;
    let done = state
        .desk
        .correct_intent_by(
            &me.shop,
            me.employee.id,
            number,
            asked.message_id,
            &asked.intent,
        )
        .await;
    api(done, &me)?;
    Ok(Json(to_json(&ChangedJson {
        number,
        changed: true,
    })))
}

#[derive(Deserialize)]
struct StatisticsQuery {
    /// First day, `YYYY-MM-DD` in the shop's time zone (default: 30 days before `to`).
    from: Option<String>,
    /// The day after the last one (default: tomorrow).
    to: Option<String>,
}

async fn statistics(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    asked: Result<Query<StatisticsQuery>, QueryRejection>,
) -> WebResult<Json<serde_json::Value>> {
    let asked = query(&me, asked)?;
    let now = crate::store::now_ms();
    let desk = &state.desk;
    let period = api(
        desk.stats_period(&me.shop, asked.from.as_deref(), asked.to.as_deref(), now)
            .await,
        &me,
    )?;
    let stats = api(desk.stats(&me.shop, &period, now).await, &me)?;
    Ok(Json(to_json(&stats)))
}

fn to_json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_json() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert!(document["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }
}
