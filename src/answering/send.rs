//! Sending due answers at most once: each is leased into `sending` (committed) before any SMTP
//! traffic; a clear refusal before DATA goes back to `scheduled` with backoff, anything after
//! it becomes `uncertain` for an employee to judge; a sent answer is copied to the Sent folder.

use serde::Serialize;

use crate::crypto::SealingKey;
use crate::intake::imap::ImapClient;
use crate::intake::sync::{PASSWORD_PURPOSE, imap_settings};
use crate::model::UiLang;
use crate::outbound::{self, OutgoingEmail, SendError, SmtpSettings};
use crate::replies::templates::{Branding, quote_original, render_html};
use crate::store::{MailboxRow, ReplyView, Store, now_ms};

use super::AnsweringError;

/// How long a reply may stay in `sending` before it is taken for interrupted.
const SENDING_LEASE_MS: i64 = 5 * 60 * 1000;
/// Refusals before DATA are retried this many times (backoff 1 min doubling) before `failed`.
const MAX_ATTEMPTS: i64 = 6;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SendSummary {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub uncertain: u64,
}

/// Sends every due answer of every shop.
pub async fn send_due(
    store: &Store,
    key: &SealingKey,
    lang: UiLang,
) -> Result<SendSummary, AnsweringError> {
    let mut summary = SendSummary::default();
    let expired = store.expire_sending_replies().await?;
    summary.uncertain += expired;
    while let Some(reply) = store.lease_due_reply(SENDING_LEASE_MS).await? {
        match send_one(store, key, &reply).await {
            Ok(()) => summary.sent += 1,
            Err(Failure::Retry(error)) if reply.attempts < MAX_ATTEMPTS => {
                let delay = 60_000 * 2i64.pow(reply.attempts.clamp(0, 10) as u32);
                tracing::warn!(reply = reply.id, error = %error.localized(lang), "answer refused, will retry");
                store
                    .retry_reply(reply.id, now_ms() + delay, &error.localized(lang))
                    .await?;
                summary.retried += 1;
            }
            Err(Failure::Retry(error) | Failure::Final(error)) => {
                tracing::warn!(reply = reply.id, error = %error.localized(lang), "answer not sent");
                store
                    .close_reply(reply.id, "failed", &error.localized(lang))
                    .await?;
                summary.failed += 1;
            }
            Err(Failure::Uncertain(reason)) => {
                tracing::warn!(reply = reply.id, %reason, "answer may have been sent");
                store.close_reply(reply.id, "uncertain", &reason).await?;
                summary.uncertain += 1;
            }
            Err(Failure::Setup(reason)) => {
                store.close_reply(reply.id, "failed", &reason).await?;
                summary.failed += 1;
            }
        }
    }
    Ok(summary)
}

enum Failure {
    Retry(SendError),
    Final(SendError),
    Uncertain(String),
    /// Nothing reached any server (no mailbox, unreadable password, unbuildable message).
    Setup(String),
}

async fn send_one(store: &Store, key: &SealingKey, reply: &ReplyView) -> Result<(), Failure> {
    let setup = |e: &dyn std::fmt::Display| Failure::Setup(e.to_string());
    let lang = reply.lang;
    let mailbox = sending_mailbox(store, reply).await.map_err(|e| setup(&e))?;
    let settings = store
        .reply_settings(reply.shop_id)
        .await
        .map_err(|e| setup(&e))?;
    let shop_name = match &settings.display_name {
        Some(name) => name.clone(),
        None => reply.shop.clone(),
    };
    let original = match reply.reply_to_message {
        Some(id) => store.original_for_reply(id).await.map_err(|e| setup(&e))?,
        None => None,
    };
    let mut text = reply.body.clone();
    let (mut in_reply_to, mut references) = (None, Vec::new());
    if let Some(original) = &original {
        let from = match &original.from_name {
            Some(name) => format!("{name} <{}>", original.from_email),
            None => original.from_email.clone(),
        };
        text.push_str("\n\n");
        text.push_str(&quote_original(
            &original.text,
            &from,
            original.date_ms,
            lang,
            &settings.time_zone,
        ));
        in_reply_to = original.message_id.clone();
        references = original.references.clone();
        references.extend(original.message_id.clone());
    }
    let plan = crate::replies::Plan::new(
        settings.plan,
        settings
            .plan_quota
            .map(|q| q.clamp(0, u32::MAX as i64) as u32),
        settings.trial_until,
    )
    .ok();
    let html = render_html(
        &text,
        &Branding {
            lang,
            shop_name: shop_name.clone(),
            logo_url: settings.logo_url.clone(),
            brand_colour: settings.brand_color.clone(),
            footer: Some(settings.footer.clone()).filter(|f| !f.is_empty()),
            remove_guichet_mention: plan.is_some_and(|p| p.advanced_branding()),
        },
    );
    let email = OutgoingEmail {
        from_name: shop_name,
        from_email: mailbox.email.clone(),
        to_name: None,
        to_email: reply.to.clone(),
        subject: reply.subject.clone(),
        message_id: reply.message_id.clone(),
        in_reply_to,
        references,
        text,
        html: Some(html),
        date_ms: now_ms(),
    };
    let raw = outbound::build_mime(&email).map_err(|e| Failure::Setup(e.localized(lang)))?;
    let password = key
        .open(&mailbox.password_sealed, PASSWORD_PURPOSE)
        .map_err(|e| setup(&e))?;
    let smtp = SmtpSettings {
        host: mailbox.smtp_host.clone(),
        port: mailbox.smtp_port,
        security: mailbox.smtp_security,
        accept_invalid_certs: mailbox.accept_invalid_certs,
        username: mailbox.username.clone(),
        password,
    };
    match outbound::send(&smtp, &mailbox.email, std::slice::from_ref(&reply.to), &raw).await {
        Ok(()) => {}
        Err(
            error @ SendError::Refused {
                permanent: false, ..
            },
        ) => return Err(Failure::Retry(error)),
        Err(error @ SendError::Refused { .. }) => return Err(Failure::Final(error)),
        Err(SendError::Uncertain { .. }) => {
            return Err(Failure::Uncertain(
                lang.pick(
                    "la connexion s'est interrompue pendant l'envoi : le message a peut-être été reçu, vérifiez avant de le renvoyer",
                    "the connection broke while sending: the message may have arrived, check before sending it again",
                )
                .to_string(),
            ));
        }
    }
    // Recorded as sent before the Sent-folder copy: a failing copy must never cause a resend.
    store
        .mark_reply_sent(reply, &mailbox.email, &raw)
        .await
        .map_err(|e| Failure::Uncertain(e.to_string()))?;
    if let Err(error) = copy_to_sent(&mailbox, key, &raw).await {
        tracing::warn!(reply = reply.id, %error, "answer sent, but not copied to the Sent folder");
    }
    Ok(())
}

/// The mailbox the customer wrote to, else the shop's first.
async fn sending_mailbox(store: &Store, reply: &ReplyView) -> Result<MailboxRow, AnsweringError> {
    let preferred = match reply.reply_to_message {
        Some(id) => store.message_mailbox(id).await?,
        None => None,
    };
    let mailboxes: Vec<MailboxRow> = store
        .mailboxes()
        .await?
        .into_iter()
        .filter(|m| m.shop_id == reply.shop_id)
        .collect();
    mailboxes
        .iter()
        .find(|m| Some(m.id) == preferred)
        .or(mailboxes.first())
        .cloned()
        .ok_or_else(|| {
            AnsweringError::Setting(
                "the shop has no mailbox to send from (guichet mailbox add)".into(),
            )
        })
}

async fn copy_to_sent(
    mailbox: &MailboxRow,
    key: &SealingKey,
    raw: &[u8],
) -> Result<String, String> {
    let settings = imap_settings(mailbox, key).map_err(|e| e.to_string())?;
    let mut client = ImapClient::connect(&settings)
        .await
        .map_err(|e| e.to_string())?;
    let folder = outbound::append_to_sent(&mut client, raw)
        .await
        .map_err(|e| e.to_string())?;
    client.logout().await;
    Ok(folder)
}
