//! Automatic answering at the edges: [`plan`] decides once per customer message (store in,
//! pure `replies` decision, store out) and schedules the answer; `send` delivers due answers
//! at most once (outbox, SMTP, Sent folder). The rules themselves live in `replies`.

pub mod notices;
pub mod plan;
pub mod send;

use crate::model::{ReplyKind, ReplyState, UiLang};
use crate::shop::live::ShopData;
use crate::store::{NewReply, Store};
pub use plan::{AnsweringError, CaseFile, PlanSummary, RecordedDecision, ShopAnswering, plan_shop};

/// One round of automatic answering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AnswerRun {
    pub planned: PlanSummary,
    pub sent: send::SendSummary,
}

/// Decides for new customer messages, then sends the answers that are due.
pub async fn run(
    shops: &ShopData,
    lang: UiLang,
    options: &send::SendOptions,
) -> Result<AnswerRun, AnsweringError> {
    Ok(AnswerRun {
        planned: plan_all(shops, lang).await?,
        sent: send::send_due(&shops.store, &shops.key, lang, options).await?,
    })
}

/// Messages a shop may have decided in one [`plan_pass`] before the next shop's turn.
pub const PLAN_SLICE: u64 = 100;

/// What one [`plan_pass`] did, and whether it left messages behind (a shop's slice ran out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanPass {
    pub planned: PlanSummary,
    pub more: bool,
}

/// Plans every shop's new customer messages, pass after pass until none is left.
pub async fn plan_all(
    shops: &ShopData,
    default_lang: UiLang,
) -> Result<PlanSummary, AnsweringError> {
    let mut total = PlanSummary::default();
    loop {
        let pass = plan_pass(shops, default_lang).await?;
        total.add(pass.planned);
        if !pass.more {
            return Ok(total);
        }
    }
}

/// One turn of every shop: the oldest [`PLAN_SLICE`] undecided messages of each, so that the
/// shops' first answers are decided early whatever their backlogs, and the caller can send
/// them between passes. On PostgreSQL a shop another node is planning is left to it (see
/// [`crate::store::PlanningClaims`]): nodes spread the shops among themselves instead of all
/// deciding the same messages and racing over the same quota.
pub async fn plan_pass(shops: &ShopData, default_lang: UiLang) -> Result<PlanPass, AnsweringError> {
    let mut claims = shops.store.planning_claims().await?;
    let mut pass = PlanPass::default();
    for shop in shops.store.shops().await? {
        if !claims.claim(shop.id).await? {
            tracing::debug!(shop_id = shop.id, "another node plans this shop");
            continue;
        }
        let slice = plan::plan_shop_slice(shops, shop.id, default_lang, PLAN_SLICE).await;
        // An error drops the session below, which releases the claim all the same.
        let slice = slice?;
        claims.release(shop.id).await?;
        pass.planned.add(slice.planned);
        pass.more |= slice.more;
    }
    claims.close().await?;
    Ok(pass)
}

/// Queues an employee's answer to a ticket's latest customer message and sends it at once.
/// Returns the outbox row, whose state tells whether it went.
pub async fn employee_reply(
    store: &Store,
    key: &crate::crypto::SealingKey,
    shop_id: i64,
    number: i64,
    body: &str,
    lang: UiLang,
    options: &send::SendOptions,
) -> Result<crate::store::ReplyView, AnsweringError> {
    let reply = EmployeeReply {
        shop_id,
        number,
        body,
        employee_id: None,
        attachments: &[],
    };
    employee_reply_by(store, key, &reply, lang, options).await
}

/// An employee's answer: to which ticket, by whom (None: from the command line), what it
/// says and carries.
#[derive(Debug, Clone, Copy)]
pub struct EmployeeReply<'a> {
    pub shop_id: i64,
    pub number: i64,
    pub body: &'a str,
    pub employee_id: Option<i64>,
    /// Files already in the blob store.
    pub attachments: &'a [crate::store::ReplyAttachment],
}

/// [`employee_reply`] by a known employee (recorded on the ticket, who takes it when nobody
/// had it), with attachments.
pub async fn employee_reply_by(
    store: &Store,
    key: &crate::crypto::SealingKey,
    reply: &EmployeeReply<'_>,
    lang: UiLang,
    options: &send::SendOptions,
) -> Result<crate::store::ReplyView, AnsweringError> {
    let EmployeeReply {
        shop_id,
        number,
        body,
        ..
    } = *reply;
    let shop = ShopAnswering::load(store, shop_id, lang).await?;
    let message = store.latest_customer_message(shop_id, number).await?;
    let reply_lang = crate::replies::templates::reply_lang(
        message.triage.as_ref().and_then(|t| t.lang.as_deref()),
        lang,
    );
    let new_reply = NewReply {
        shop_id,
        ticket_id: Some(message.ticket_id),
        reply_to_message: Some(message.id),
        kind: ReplyKind::Employee,
        intent: None,
        lang: reply_lang,
        state: ReplyState::Scheduled,
        due_at: crate::store::now_ms(),
        to_email: message.from_email.clone(),
        to_name: message.from_name.clone(),
        subject: crate::replies::reply_subject(number, &message.ticket_subject),
        body_text: body.to_string(),
        // Unique per answer; the prefix still marks it as ours everywhere.
        message_id: format!(
            "{}{}.{}.e{}@{}",
            crate::intake::sync::OWN_MESSAGE_ID_PREFIX,
            shop_id,
            message.id,
            crate::store::now_ms(),
            shop.domain
        ),
    };
    let id = store
        .queue_employee_reply_by(&new_reply, reply.employee_id, reply.attachments)
        .await?;
    send::send_due(store, key, lang, options).await?;
    Ok(store.reply(id).await?)
}

/// Tells the shop, once a month, that its automatic answers stopped: an email to its own
/// address, sent through the outbox like any answer.
async fn notify_quota_spent(
    store: &Store,
    shop: &ShopAnswering,
    now: i64,
) -> Result<(), AnsweringError> {
    let month = crate::replies::quota::month_key(now, &shop.settings.time_zone);
    if !store.claim_quota_notice(shop.shop_id, &month).await? {
        return Ok(());
    }
    let Some(address) = shop.own_addresses.first() else {
        return Ok(());
    };
    let lang = shop.default_lang;
    let quota = shop.plan.monthly_quota().unwrap_or(0);
    let body = crate::t!(
        lang,
        "quota_notice.body",
        quota = quota,
        name = shop.shop_name
    );
    store
        .add_notice(&NewReply {
            shop_id: shop.shop_id,
            ticket_id: None,
            reply_to_message: None,
            kind: ReplyKind::Notice,
            intent: None,
            lang,
            state: ReplyState::Scheduled,
            due_at: now,
            to_email: address.clone(),
            to_name: Some(shop.shop_name.clone()),
            subject: crate::t!(lang, "quota_notice.subject").into(),
            body_text: body,
            message_id: format!(
                "{}{}.quota.{month}@{}",
                crate::intake::sync::OWN_MESSAGE_ID_PREFIX,
                shop.shop_id,
                shop.domain
            ),
        })
        .await?;
    Ok(())
}
