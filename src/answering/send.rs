//! Sending due answers at most once: each is leased into `sending` (committed) before any SMTP
//! traffic; a clear refusal before DATA goes back to `scheduled` with backoff, anything after
//! it becomes `uncertain` for an employee to judge; a sent answer is copied to the Sent folder.

use serde::Serialize;
use std::collections::HashMap;

use crate::crypto::SealingKey;
use crate::intake::imap::ImapClient;
use crate::intake::sync::imap_settings;
use crate::model::{ReplyState, UiLang};
use crate::outbound::{self, OutgoingEmail, SendError, SmtpSession, SmtpSettings};
use crate::replies::templates::{Branding, quote_original, render_html};
use crate::runtime::LeaseTimings;
use crate::runtime::lease::while_held;
use crate::store::{
    LeaseOutcome, LeasedReply, MailboxRow, ReplyLease, ReplySettings, ReplyView, Store, now_ms,
};

use super::AnsweringError;

/// Refusals before DATA are retried this many times (backoff 1 min doubling) before `failed`.
const MAX_ATTEMPTS: i64 = 6;

/// How answers go out, from the configuration.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// The host name given in EHLO (`smtp.helo_name`); None: the sending address's domain.
    pub helo_name: Option<String>,
    /// Where OAuth mailboxes get their access tokens.
    pub oauth: crate::oauth::OAuthConfig,
    /// The sending lease and its renewal while the SMTP exchange runs (`[cluster]`).
    pub leases: LeaseTimings,
    /// This node's name, recorded on the answers it sends.
    pub node_name: String,
}

impl SendOptions {
    pub fn from_config(config: &crate::config::Config) -> SendOptions {
        SendOptions {
            helo_name: config.smtp.helo_name.clone(),
            oauth: config.oauth.clone(),
            leases: config.cluster,
            node_name: config.sync.node_name.clone(),
        }
    }
}

/// Where and how `mailbox` sends: its SMTP server, signed in with its password or with an
/// access token fresh enough for this connection.
pub async fn smtp_settings(
    store: &Store,
    mailbox: &MailboxRow,
    key: &SealingKey,
    options: &SendOptions,
) -> Result<SmtpSettings, crate::oauth::OAuthError> {
    Ok(SmtpSettings {
        host: mailbox.smtp_host.clone(),
        port: mailbox.smtp_port,
        security: mailbox.smtp_security,
        accept_invalid_certs: mailbox.accept_invalid_certs,
        username: mailbox.username.clone(),
        credential: crate::oauth::mailbox_credential(store, mailbox, key, &options.oauth).await?,
        helo_name: options.helo_name.clone(),
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SendSummary {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub uncertain: u64,
    /// Replies whose lease ran out and was taken over before this node could record them: left
    /// as the node that took them over made them.
    pub lease_lost: u64,
}

/// Sends every due answer of every shop. Each is leased for [`SendOptions::leases`], renewed
/// while its SMTP exchange runs, and its outcome is recorded under that lease only: a node
/// whose lease was lost, or could not confirm it before its local deadline, aborts the
/// exchange (before the end of DATA, so the server discards the message) and writes nothing.
pub async fn send_due(
    store: &Store,
    key: &SealingKey,
    lang: UiLang,
    options: &SendOptions,
) -> Result<SendSummary, AnsweringError> {
    let mut summary = SendSummary::default();
    let expired = store.expire_sending_replies().await?;
    summary.uncertain += expired;
    let mut pass = Pass::new(store, key, options);
    let leases = options.leases;
    loop {
        let asked_at = tokio::time::Instant::now();
        let Some(LeasedReply { reply, lease }) = store
            .lease_due_reply(&options.node_name, leases.lease_ms())
            .await?
        else {
            break;
        };
        let attempt = while_held(
            leases,
            asked_at,
            || renewed(store, &lease, leases),
            pass.send_one(&reply),
        )
        .await
        .ok();
        let outcome = match attempt {
            None => {
                // The exchange was cut wherever it was, possibly inside DATA: that connection
                // must never carry another message.
                pass.drop_smtp_connections();
                LeaseOutcome::LeaseLost
            }
            Some(Ok(sent)) => {
                // Recorded as sent before the Sent-folder copy: a failing copy must never
                // cause a resend.
                match store
                    .mark_reply_sent(&lease, &reply, &sent.mailbox.email, &sent.raw)
                    .await
                {
                    Ok(LeaseOutcome::Applied) => {
                        summary.sent += 1;
                        if let Err(error) = pass.copy_to_sent(&sent.mailbox, &sent.raw).await {
                            tracing::warn!(reply = reply.id, %error, "answer sent, but not copied to the Sent folder");
                        }
                        LeaseOutcome::Applied
                    }
                    Ok(LeaseOutcome::LeaseLost) => LeaseOutcome::LeaseLost,
                    Err(error) => {
                        tracing::warn!(reply = reply.id, %error, "answer sent but not recorded");
                        summary.uncertain += 1;
                        store
                            .close_reply(&lease, ReplyState::Uncertain, &error.to_string())
                            .await?
                    }
                }
            }
            Some(Err(Failure::Retry(error))) if reply.attempts < MAX_ATTEMPTS => {
                let delay = 60_000 * 2i64.pow(reply.attempts.clamp(0, 10) as u32);
                tracing::warn!(reply = reply.id, error = %error.localized(lang), "answer refused, will retry");
                summary.retried += 1;
                store
                    .retry_reply(&lease, now_ms() + delay, &error.localized(lang))
                    .await?
            }
            Some(Err(Failure::Retry(error) | Failure::Final(error))) => {
                tracing::warn!(reply = reply.id, error = %error.localized(lang), "answer not sent");
                summary.failed += 1;
                store
                    .close_reply(&lease, ReplyState::Failed, &error.localized(lang))
                    .await?
            }
            Some(Err(Failure::Uncertain(reason))) => {
                tracing::warn!(reply = reply.id, %reason, "answer may have been sent");
                summary.uncertain += 1;
                store
                    .close_reply(&lease, ReplyState::Uncertain, &reason)
                    .await?
            }
            Some(Err(Failure::Setup(reason))) => {
                summary.failed += 1;
                store
                    .close_reply(&lease, ReplyState::Failed, &reason)
                    .await?
            }
        };
        if outcome == LeaseOutcome::LeaseLost {
            tracing::warn!(
                reply = reply.id,
                "sending lease lost (it ran out and was taken over): outcome not recorded"
            );
            summary.lease_lost += 1;
        }
    }
    pass.close().await;
    Ok(summary)
}

/// Renews a reply's sending lease: true while it is still this node's.
async fn renewed(
    store: &Store,
    lease: &ReplyLease,
    leases: LeaseTimings,
) -> Result<bool, crate::store::StoreError> {
    Ok(store.renew_reply_lease(lease, leases.lease_ms()).await? == LeaseOutcome::Applied)
}

/// What went out: the message as sent and the mailbox it went from.
struct Sent {
    mailbox: MailboxRow,
    raw: Vec<u8>,
}

enum Failure {
    Retry(SendError),
    Final(SendError),
    Uncertain(String),
    /// Nothing reached any server (no mailbox, unreadable password, unbuildable message).
    Setup(String),
}

/// What a sending pass keeps from one answer to the next: the mailboxes and shop settings read
/// once, one SMTP connection per mailbox, one IMAP session per mailbox for the Sent copies.
/// Each answer is still leased (`sending`, committed) before its own SMTP transaction.
struct Pass<'a> {
    store: &'a Store,
    key: &'a SealingKey,
    options: &'a SendOptions,
    mailboxes: Option<Vec<MailboxRow>>,
    shops: HashMap<i64, ShopSending>,
    smtp: HashMap<i64, SmtpSession>,
    sent_copies: HashMap<i64, SentCopies>,
}

/// A shop's settings as sending needs them.
struct ShopSending {
    settings: ReplySettings,
    shop_name: String,
    remove_guichet_mention: bool,
}

/// An IMAP session on a mailbox and the folder its Sent copies go to.
struct SentCopies {
    client: ImapClient,
    folder: String,
}

impl<'a> Pass<'a> {
    fn new(store: &'a Store, key: &'a SealingKey, options: &'a SendOptions) -> Pass<'a> {
        Pass {
            store,
            key,
            options,
            mailboxes: None,
            shops: HashMap::new(),
            smtp: HashMap::new(),
            sent_copies: HashMap::new(),
        }
    }

    async fn shop(&mut self, reply: &ReplyView) -> Result<&ShopSending, AnsweringError> {
        if !self.shops.contains_key(&reply.shop_id) {
            let settings = self.store.reply_settings(reply.shop_id).await?;
            let plan = crate::replies::Plan::new(
                settings.plan,
                settings
                    .plan_quota
                    .map(|q| q.clamp(0, u32::MAX as i64) as u32),
                settings.trial_until,
            )
            .ok();
            let shop = ShopSending {
                shop_name: settings
                    .display_name
                    .clone()
                    .unwrap_or_else(|| reply.shop.clone()),
                remove_guichet_mention: plan.is_some_and(|p| p.advanced_branding()),
                settings,
            };
            self.shops.insert(reply.shop_id, shop);
        }
        Ok(&self.shops[&reply.shop_id])
    }

    /// The mailbox the customer wrote to, else the shop's first.
    async fn sending_mailbox(&mut self, reply: &ReplyView) -> Result<MailboxRow, AnsweringError> {
        let preferred = match reply.reply_to_message {
            Some(id) => self.store.message_mailbox(id).await?,
            None => None,
        };
        if self.mailboxes.is_none() {
            self.mailboxes = Some(self.store.mailboxes().await?);
        }
        let of_shop = || {
            self.mailboxes
                .iter()
                .flatten()
                .filter(|m| m.shop_id == reply.shop_id)
        };
        of_shop()
            .find(|m| Some(m.id) == preferred)
            .or_else(|| of_shop().next())
            .cloned()
            .ok_or_else(|| {
                AnsweringError::Setting(
                    "the shop has no mailbox to send from (guichet mailbox add)".into(),
                )
            })
    }

    /// The mailbox's SMTP connection, opened by the first message sent through it.
    async fn smtp(&mut self, mailbox: &MailboxRow) -> Result<&mut SmtpSession, Failure> {
        if !self.smtp.contains_key(&mailbox.id) {
            let settings = smtp_settings(self.store, mailbox, self.key, self.options)
                .await
                .map_err(|e| Failure::Setup(e.to_string()))?;
            self.smtp.insert(mailbox.id, SmtpSession::new(settings));
        }
        Ok(self.smtp.get_mut(&mailbox.id).expect("inserted just above"))
    }

    /// Renders and sends one leased answer; recording the outcome is the caller's, under the lease.
    async fn send_one(&mut self, reply: &ReplyView) -> Result<Sent, Failure> {
        let setup = |e: &dyn std::fmt::Display| Failure::Setup(e.to_string());
        let mailbox = self.sending_mailbox(reply).await.map_err(|e| setup(&e))?;
        let raw = self.render(reply, &mailbox).await?;
        let lang = reply.lang;
        let session = self.smtp(&mailbox).await?;
        match session
            .send(&mailbox.email, std::slice::from_ref(&reply.to), &raw)
            .await
        {
            Ok(()) => {}
            Err(
                error @ SendError::Refused {
                    permanent: false, ..
                },
            ) => return Err(Failure::Retry(error)),
            Err(error @ SendError::Refused { .. }) => return Err(Failure::Final(error)),
            Err(SendError::Uncertain { .. }) => {
                return Err(Failure::Uncertain(
                    crate::t!(lang, "send.uncertain").to_string(),
                ));
            }
        }
        Ok(Sent { mailbox, raw })
    }

    /// The answer as it goes on the wire: the text with the customer's message quoted, the
    /// shop's branding, threading headers, and who it speaks for.
    async fn render(
        &mut self,
        reply: &ReplyView,
        mailbox: &MailboxRow,
    ) -> Result<Vec<u8>, Failure> {
        let setup = |e: &dyn std::fmt::Display| Failure::Setup(e.to_string());
        let lang = reply.lang;
        let original = match reply.reply_to_message {
            Some(id) => self
                .store
                .original_for_reply(id)
                .await
                .map_err(|e| setup(&e))?,
            None => None,
        };
        let shop = self.shop(reply).await.map_err(|e| setup(&e))?;
        let settings = &shop.settings;
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
        let html = render_html(
            &text,
            &Branding {
                lang,
                shop_name: shop.shop_name.clone(),
                logo_url: settings.logo_url.clone(),
                brand_colour: settings.brand_color.clone(),
                footer: Some(settings.footer.clone()).filter(|f| !f.is_empty()),
                remove_guichet_mention: shop.remove_guichet_mention,
            },
        );
        let email = OutgoingEmail {
            from_name: shop.shop_name.clone(),
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
            author: outbound::Author::of_kind(reply.kind),
        };
        let mut files = Vec::new();
        for attachment in self
            .store
            .reply_attachments(reply.id)
            .await
            .map_err(|e| setup(&e))?
        {
            files.push(outbound::OutgoingAttachment {
                bytes: self
                    .store
                    .blobs()
                    .get(&attachment.blob_hash)
                    .await
                    .map_err(|e| setup(&e))?,
                filename: attachment.filename,
                content_type: attachment.content_type,
            });
        }
        outbound::build_mime_with_attachments(&email, &files)
            .map_err(|e| Failure::Setup(e.localized(lang)))
    }

    /// APPENDs the copy on the mailbox's IMAP session, opened (and its Sent folder found) by
    /// the first copy; a session that fails is dropped and opened again by the next copy.
    async fn copy_to_sent(&mut self, mailbox: &MailboxRow, raw: &[u8]) -> Result<(), String> {
        let copies = match self.sent_copies.remove(&mailbox.id) {
            Some(copies) => copies,
            None => {
                let settings = imap_settings(self.store, mailbox, self.key, &self.options.oauth)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut client = ImapClient::connect(&settings)
                    .await
                    .map_err(|e| e.to_string())?;
                let (folder, _) = outbound::sent_folder(&mut client)
                    .await
                    .map_err(|e| e.to_string())?;
                SentCopies { client, folder }
            }
        };
        let SentCopies { mut client, folder } = copies;
        match client.append(&folder, raw, true).await {
            Ok(()) => {
                self.sent_copies
                    .insert(mailbox.id, SentCopies { client, folder });
                Ok(())
            }
            Err(error) => {
                client.logout().await;
                Err(error.to_string())
            }
        }
    }

    /// Closes the SMTP connections without a word: the server discards a transaction left
    /// unfinished.
    fn drop_smtp_connections(&mut self) {
        self.smtp.clear();
    }

    /// Says goodbye to every server.
    async fn close(self) {
        for (_, session) in self.smtp {
            session.close().await;
        }
        for (_, copies) in self.sent_copies {
            copies.client.logout().await;
        }
    }
}

/// A message from the shop's mailbox to someone other than the ticket's customer: a
/// colleague told of a transfer, an outside address the conversation is sent to. It is a
/// person's mail (no `Auto-Submitted`) and goes at once; the caller records it.
#[derive(Debug, Clone)]
pub struct ShopMessage {
    pub shop_id: i64,
    /// Ticket the message is about, for its Message-ID.
    pub number: i64,
    pub to_email: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<outbound::OutgoingAttachment>,
}

/// Sends `message` now through the shop's first mailbox that can still sign in (an OAuth
/// mailbox waiting to be reconnected cannot); the error is for a person, in `lang`.
pub async fn send_shop_message(
    store: &Store,
    key: &SealingKey,
    options: &SendOptions,
    message: &ShopMessage,
    lang: UiLang,
) -> Result<(), String> {
    let mailbox = store
        .mailboxes()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|m| m.shop_id == message.shop_id && !m.reconnect_notice.needs_reconnect())
        .ok_or_else(|| crate::t!(lang, "actions.no_mailbox").to_string())?;
    let settings = store
        .reply_settings(message.shop_id)
        .await
        .map_err(|e| e.to_string())?;
    let shop_name = match settings.display_name {
        Some(name) => name,
        None => store
            .shops()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|s| s.id == message.shop_id)
            .map(|s| s.name)
            .unwrap_or_default(),
    };
    let domain = mailbox
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| "guichet.invalid".into());
    let email = OutgoingEmail {
        from_name: shop_name,
        from_email: mailbox.email.clone(),
        to_name: message.to_name.clone(),
        to_email: message.to_email.clone(),
        subject: message.subject.clone(),
        message_id: format!(
            "{}{}.t{}.f{}.{}@{domain}",
            crate::intake::sync::OWN_MESSAGE_ID_PREFIX,
            message.shop_id,
            message.number,
            now_ms(),
            rand::random::<u32>()
        ),
        in_reply_to: None,
        references: Vec::new(),
        text: message.text.clone(),
        html: None,
        date_ms: now_ms(),
        author: outbound::Author::Employee,
    };
    let raw = outbound::build_mime_with_attachments(&email, &message.attachments)
        .map_err(|e| e.localized(lang))?;
    let settings = smtp_settings(store, &mailbox, key, options)
        .await
        .map_err(|e| e.localized(lang))?;
    let mut session = SmtpSession::new(settings);
    let sent = session
        .send(
            &mailbox.email,
            std::slice::from_ref(&message.to_email),
            &raw,
        )
        .await;
    session.close().await;
    sent.map_err(|e| e.localized(lang))
}
