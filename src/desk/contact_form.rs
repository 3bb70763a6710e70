//! The public contact form: what it shows, and what a submission becomes. A message to a
//! contact that files in customer service is filed like IMAP mail (triaged, threaded, answered);
//! to any other contact it is forwarded by email. Either way the customer gets an
//! acknowledgement, with the ticket's tracking number when there is one.
//!
//! Anti-spam: a filled honeypot is accepted and dropped without a word (a robot learns
//! nothing); a form sent less than [`MIN_FILL_MS`] after it was shown is refused; more than
//! [`RATE_LIMIT`] submissions per address in [`RATE_WINDOW_MS`] are refused, counted in the
//! store so every node shares the count.

use serde::Serialize;

use crate::crypto::{constant_time_eq, hmac_sha256};
use crate::intake::contact_form::{
    FormMessage, Forwarding, Upload, customer_message, forwarded_message, new_message_id,
};
use crate::intake::sync::prepare_message;
use crate::model::UiLang;
use crate::outbound::{Author, OutgoingEmail, build_mime};
use crate::store::{Contact, ContactFormSettings, MailboxRow, Shop};
use crate::t;

use super::{Desk, DeskResult};

/// The shortest time a person takes to fill the form.
pub const MIN_FILL_MS: i64 = 3_000;
/// A form older than this is shown again rather than accepted.
pub const MAX_FORM_AGE_MS: i64 = 24 * 3_600_000;
/// Submissions allowed per address within [`RATE_WINDOW_MS`].
pub const RATE_LIMIT: i64 = 5;
pub const RATE_WINDOW_MS: i64 = 10 * 60_000;
/// The longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 20_000;
/// The longest order reference accepted.
pub const MAX_ORDER_REFERENCE_CHARS: usize = 64;
/// The largest attachment a shop may allow.
pub const MAX_ATTACHMENT_LIMIT: i64 = 25 * 1024 * 1024;
/// What the form's time stamp is signed for.
const STAMP_PURPOSE: &str = "contact-form-stamp";

/// What the form sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSubmission {
    pub contact_id: i64,
    pub email: String,
    pub order_reference: Option<String>,
    pub message: String,
    /// (file name, content type, bytes).
    pub attachment: Option<(String, String, Vec<u8>)>,
    pub client_ip: String,
    /// When the form was shown (ms), from its verified stamp.
    pub form_rendered_at: i64,
    /// The field people do not see; robots fill it.
    pub honeypot: String,
    /// The language of the page the customer wrote in.
    pub lang: UiLang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContactReceipt {
    /// The ticket the message was filed in.
    pub ticket_number: Option<i64>,
    /// The message went by email to a contact outside customer service.
    pub forwarded: bool,
}

/// Why a submission was refused, for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactFormError {
    #[error("the contact form is closed")]
    Disabled,
    #[error("no such contact")]
    NoSuchContact,
    #[error("not an email address")]
    NotAnAddress,
    #[error("the message is empty")]
    EmptyMessage,
    #[error("the message is too long")]
    MessageTooLong,
    #[error("the order reference is too long")]
    OrderReferenceTooLong,
    #[error("sent too fast")]
    TooFast,
    #[error("the form is out of date")]
    Stale,
    #[error("too many messages from this address")]
    TooMany,
    #[error("attachments are not accepted")]
    AttachmentsRefused,
    #[error("the attachment is larger than {max_bytes} bytes")]
    AttachmentTooLarge { max_bytes: i64 },
    #[error("this kind of file is not accepted")]
    AttachmentType { allowed: Vec<String> },
    #[error("the shop has no mailbox to send from")]
    NoMailbox,
    #[error("the message could not be delivered")]
    NotDelivered,
}

impl ContactFormError {
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            ContactFormError::Disabled => t!(lang, "contact_form.error_disabled").into(),
            ContactFormError::NoSuchContact => t!(lang, "contact_form.error_contact").into(),
            ContactFormError::NotAnAddress => t!(lang, "contact_form.error_email").into(),
            ContactFormError::EmptyMessage => t!(lang, "contact_form.error_empty").into(),
            ContactFormError::MessageTooLong => {
                t!(lang, "contact_form.error_too_long", max = MAX_MESSAGE_CHARS)
            }
            ContactFormError::OrderReferenceTooLong => t!(
                lang,
                "contact_form.error_order_reference",
                max = MAX_ORDER_REFERENCE_CHARS
            ),
            ContactFormError::TooFast => t!(lang, "contact_form.error_too_fast").into(),
            ContactFormError::Stale => t!(lang, "contact_form.error_stale").into(),
            ContactFormError::TooMany => t!(lang, "contact_form.error_too_many").into(),
            ContactFormError::AttachmentsRefused => {
                t!(lang, "contact_form.error_attachments").into()
            }
            ContactFormError::AttachmentTooLarge { max_bytes } => t!(
                lang,
                "contact_form.error_attachment_size",
                max = megabytes(*max_bytes)
            ),
            ContactFormError::AttachmentType { allowed } => t!(
                lang,
                "contact_form.error_attachment_type",
                allowed = allowed.join(", ")
            ),
            ContactFormError::NoMailbox | ContactFormError::NotDelivered => {
                t!(lang, "contact_form.error_not_delivered").into()
            }
        }
    }
}

/// A size in megabytes for people ("10 MB").
pub fn megabytes(bytes: i64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if (mb - mb.round()).abs() < 0.05 {
        format!("{:.0} MB", mb)
    } else {
        format!("{:.1} MB", mb)
    }
}

/// What the form page shows.
#[derive(Debug, Clone)]
pub struct ContactFormPage {
    pub shop: Shop,
    pub shop_label: String,
    pub contacts: Vec<Contact>,
    pub settings: ContactFormSettings,
}

/// The URL name of a shop: its name in lowercase ASCII letters and digits, dashes between.
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// Whether the bytes look like the type they claim, for the types whose signature is known
/// (PDF, JPEG, PNG, GIF, WebP); other types are taken at their word.
pub fn content_matches(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        _ => true,
    }
}

/// The checks on the submission's content, in the order a person fixes them. Returns the
/// trimmed message, order reference and attachment.
fn validate(
    submission: &ContactSubmission,
    settings: &ContactFormSettings,
) -> Result<(String, Option<String>, Option<Upload>), ContactFormError> {
    let email = submission.email.trim();
    let valid = crate::desk::shops::email_address(email).is_ok()
        && email.parse::<lettre::Address>().is_ok()
        && email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.'));
    if !valid {
        return Err(ContactFormError::NotAnAddress);
    }
    let message = submission.message.trim().replace("\r\n", "\n");
    if message.is_empty() {
        return Err(ContactFormError::EmptyMessage);
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ContactFormError::MessageTooLong);
    }
    let reference = submission
        .order_reference
        .as_deref()
        .map(|r| r.split(['\r', '\n']).collect::<Vec<_>>().join(" "))
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reference
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_ORDER_REFERENCE_CHARS)
    {
        return Err(ContactFormError::OrderReferenceTooLong);
    }
    let upload = match &submission.attachment {
        None => None,
        Some((_, _, bytes)) if bytes.is_empty() => None,
        Some(_) if !settings.attachments => return Err(ContactFormError::AttachmentsRefused),
        Some((_, _, bytes)) if bytes.len() as i64 > settings.max_attachment_bytes => {
            return Err(ContactFormError::AttachmentTooLarge {
                max_bytes: settings.max_attachment_bytes,
            });
        }
        Some((filename, content_type, bytes)) => {
            let content_type = content_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if !settings.allowed_types.contains(&content_type)
                || !content_matches(&content_type, bytes)
            {
                return Err(ContactFormError::AttachmentType {
                    allowed: settings.allowed_types.clone(),
                });
            }
            let filename = filename
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            Some(Upload {
                filename: if filename.is_empty() {
                    "attachment".into()
                } else {
                    filename
                },
                content_type,
                bytes: bytes.clone(),
            })
        }
    };
    Ok((message, reference, upload))
}

/// The form's time stamp: when it was shown, signed for the shop.
pub fn sign_stamp(key: &[u8; 32], shop_id: i64, rendered_at_ms: i64) -> String {
    let mac = hmac_sha256(key, format!("{shop_id}:{rendered_at_ms}").as_bytes());
    format!("{rendered_at_ms}.{}", hex::encode(mac))
}

/// When the form of `stamp` was shown, if the stamp is the shop's and intact.
pub fn verify_stamp(key: &[u8; 32], shop_id: i64, stamp: &str) -> Option<i64> {
    let (at, mac) = stamp.trim().split_once('.')?;
    let at: i64 = at.parse().ok()?;
    let mac = hex::decode(mac).ok()?;
    let expected = hmac_sha256(key, format!("{shop_id}:{at}").as_bytes());
    constant_time_eq(&mac, &expected).then_some(at)
}

impl Desk {
    fn stamp_key(&self) -> [u8; 32] {
        self.key.derive_key(STAMP_PURPOSE)
    }

    /// The signed stamp a form shown now carries.
    pub fn contact_form_stamp(&self, shop: &Shop, now_ms: i64) -> String {
        sign_stamp(&self.stamp_key(), shop.id, now_ms)
    }

    /// When the form of `stamp` was shown; None for a forged or foreign stamp.
    pub fn verify_contact_form_stamp(&self, shop: &Shop, stamp: &str) -> Option<i64> {
        verify_stamp(&self.stamp_key(), shop.id, stamp)
    }

    /// The shop whose form lives at `/contact/{name}`: its name or its [`slug`].
    pub async fn contact_form_shop(&self, name: &str) -> DeskResult<Shop> {
        let shops = self.store.shops().await?;
        let wanted = slug(name);
        shops
            .into_iter()
            .find(|s| s.name == name || (!wanted.is_empty() && slug(&s.name) == wanted))
            .ok_or_else(|| super::DeskError::NoShopNamed(name.to_string()))
    }

    /// What the shop's form shows.
    pub async fn contact_form(&self, shop: &Shop) -> DeskResult<ContactFormPage> {
        let settings = self.store.contact_form_settings(shop.id).await?;
        let reply = self.store.reply_settings(shop.id).await?;
        Ok(ContactFormPage {
            shop_label: reply
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| shop.name.clone()),
            shop: shop.clone(),
            contacts: self.store.contacts(shop.id).await?,
            settings,
        })
    }

    pub async fn contact_form_settings(&self, shop: &Shop) -> DeskResult<ContactFormSettings> {
        Ok(self.store.contact_form_settings(shop.id).await?)
    }

    pub async fn save_contact_form_settings(
        &self,
        shop: &Shop,
        settings: &ContactFormSettings,
    ) -> DeskResult<()> {
        let mut settings = settings.clone();
        settings.max_attachment_bytes =
            settings.max_attachment_bytes.clamp(1, MAX_ATTACHMENT_LIMIT);
        settings.allowed_types = settings
            .allowed_types
            .iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        Ok(self
            .store
            .save_contact_form_settings(shop.id, &settings)
            .await?)
    }

    /// Takes a submission of the shop's form at `now_ms`.
    pub async fn submit_contact_form(
        &self,
        shop: &Shop,
        submission: ContactSubmission,
        now_ms: i64,
    ) -> DeskResult<ContactReceipt> {
        let page = self.contact_form(shop).await?;
        if !page.settings.enabled {
            return Err(ContactFormError::Disabled.into());
        }
        if !submission.honeypot.trim().is_empty() {
            tracing::info!(shop = %shop.name, "contact form: honeypot filled, submission dropped");
            return Ok(ContactReceipt {
                ticket_number: None,
                forwarded: false,
            });
        }
        let age = now_ms - submission.form_rendered_at;
        if age < MIN_FILL_MS {
            return Err(ContactFormError::TooFast.into());
        }
        if age > MAX_FORM_AGE_MS {
            return Err(ContactFormError::Stale.into());
        }
        let contact = page
            .contacts
            .iter()
            .find(|c| c.id == submission.contact_id)
            .ok_or(ContactFormError::NoSuchContact)?;
        let (message, reference, upload) = validate(&submission, &page.settings)?;
        let customer = submission.email.trim().to_lowercase();
        let own = self.store.own_addresses(shop.id).await?;
        if own.contains(&customer)
            || page
                .contacts
                .iter()
                .any(|c| c.email.eq_ignore_ascii_case(&customer))
        {
            // The shop writing to itself would start a loop of acknowledgements.
            return Err(ContactFormError::NotAnAddress.into());
        }
        let sent = self
            .store
            .record_contact_submission(&submission.client_ip, now_ms, RATE_WINDOW_MS)
            .await?;
        if sent > RATE_LIMIT {
            return Err(ContactFormError::TooMany.into());
        }
        let lang = submission.lang;
        let mut text = message.clone();
        if let Some(reference) = &reference {
            text.push_str("\n\n");
            text.push_str(&t!(
                lang,
                "contact_form.order_reference_line",
                reference = reference
            ));
        }
        let subject = t!(lang, "contact_form.subject", contact = contact.name);
        let form = FormMessage {
            customer_email: &customer,
            contact_name: &contact.name,
            contact_email: &contact.email,
            subject: &subject,
            text: &text,
            attachment: upload.as_ref(),
            message_id: &new_message_id("contact-form", &contact.email),
            date_ms: now_ms,
        };
        let mailbox = self.sending_mailbox(shop, contact).await?;
        let (receipt, ack_lang, in_reply_to) = if contact.customer_service {
            let raw = customer_message(&form).map_err(|_| ContactFormError::NotAnAddress)?;
            let triager = self.store.shop_triager(shop.id).await?;
            let incoming = prepare_message(raw, self.store.blobs(), &triager).await?;
            let ack_lang = incoming
                .triage
                .as_ref()
                .and_then(|t| t.lang.as_deref())
                .and_then(|code| code.parse::<UiLang>().ok())
                .unwrap_or(lang);
            let dedup_key = incoming.dedup_key.clone();
            self.store
                .file_batch(shop.id, None, Some(contact.id), None, &[incoming])
                .await?;
            let number = self
                .store
                .ticket_number_of_message(shop.id, &dedup_key)
                .await?;
            tracing::info!(shop = %shop.name, ticket = ?number, "contact form message filed");
            (
                ContactReceipt {
                    ticket_number: number,
                    forwarded: false,
                },
                ack_lang,
                Some(form.message_id.to_string()),
            )
        } else {
            let mailbox = mailbox.as_ref().ok_or(ContactFormError::NoMailbox)?;
            let intro = t!(lang, "contact_form.forward_intro", email = customer);
            let from_name = t!(lang, "contact_form.forward_from", shop = page.shop_label);
            let raw = forwarded_message(
                &form,
                &Forwarding {
                    from_email: &mailbox.email,
                    from_name: &from_name,
                },
                &intro,
            )
            .map_err(|_| ContactFormError::NotAnAddress)?;
            if let Err(error) = self
                .send_from(mailbox, std::slice::from_ref(&contact.email), &raw)
                .await
            {
                tracing::warn!(shop = %shop.name, %error, "contact form: forwarding failed");
                return Err(ContactFormError::NotDelivered.into());
            }
            (
                ContactReceipt {
                    ticket_number: None,
                    forwarded: true,
                },
                lang,
                None,
            )
        };
        match &mailbox {
            Some(mailbox) => {
                let ack = acknowledgement(
                    &page.shop_label,
                    &mailbox.email,
                    &customer,
                    receipt.ticket_number,
                    &message,
                    in_reply_to,
                    ack_lang,
                    now_ms,
                );
                let sent = match build_mime(&ack) {
                    Ok(raw) => self
                        .send_from(mailbox, std::slice::from_ref(&customer), &raw)
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(error) = sent {
                    // The message itself is filed: the team answers it even without the receipt.
                    tracing::warn!(shop = %shop.name, %error, "contact form: acknowledgement not sent");
                }
            }
            None => {
                tracing::warn!(shop = %shop.name, "contact form: no mailbox to acknowledge from")
            }
        }
        Ok(receipt)
    }

    /// The mailbox that writes for `contact`: the one linked to it, else the shop's first.
    async fn sending_mailbox(
        &self,
        shop: &Shop,
        contact: &Contact,
    ) -> DeskResult<Option<MailboxRow>> {
        let mailboxes: Vec<MailboxRow> = self
            .store
            .mailboxes()
            .await?
            .into_iter()
            .filter(|m| m.shop_id == shop.id)
            .collect();
        Ok(mailboxes
            .iter()
            .find(|m| m.contact_id == Some(contact.id))
            .or(mailboxes.first())
            .cloned())
    }

    async fn send_from(
        &self,
        mailbox: &MailboxRow,
        to: &[String],
        raw: &[u8],
    ) -> Result<(), String> {
        let settings = crate::answering::send::smtp_settings(
            &self.store,
            mailbox,
            &self.key,
            &self.send_options(),
        )
        .await
        .map_err(|e| e.localized(UiLang::En))?;
        crate::outbound::send(&settings, &mailbox.email, to, raw)
            .await
            .map_err(|e| e.localized(UiLang::En))
    }
}

/// The acknowledgement the customer gets, with the tracking number when the message was filed.
#[allow(clippy::too_many_arguments)]
pub fn acknowledgement(
    shop_label: &str,
    from_email: &str,
    customer: &str,
    ticket_number: Option<i64>,
    message: &str,
    in_reply_to: Option<String>,
    lang: UiLang,
    now_ms: i64,
) -> OutgoingEmail {
    let quoted: String = message.lines().map(|line| format!("> {line}\n")).collect();
    let (subject, text) = match ticket_number {
        Some(number) => (
            t!(lang, "contact_form.ack_subject_ticket", number = number),
            t!(
                lang,
                "contact_form.ack_body_ticket",
                number = number,
                shop = shop_label,
                message = quoted
            ),
        ),
        None => (
            t!(lang, "contact_form.ack_subject").to_string(),
            t!(
                lang,
                "contact_form.ack_body",
                shop = shop_label,
                message = quoted
            ),
        ),
    };
    OutgoingEmail {
        from_name: shop_label.to_string(),
        from_email: from_email.to_string(),
        to_name: None,
        to_email: customer.to_string(),
        subject,
        message_id: new_message_id(
            &format!("{}contact-ack", crate::intake::sync::OWN_MESSAGE_ID_PREFIX),
            from_email,
        ),
        references: in_reply_to.iter().cloned().collect(),
        in_reply_to,
        text,
        html: None,
        date_ms: now_ms,
        author: Author::Automatic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission() -> ContactSubmission {
        ContactSubmission {
            contact_id: 1,
            email: " Marie@Client.example ".into(),
            order_reference: Some(" ABC123\r\n".into()),
            message: "  Bonjour\r\nma commande ?  ".into(),
            attachment: None,
            client_ip: "192.0.2.1".into(),
            form_rendered_at: 0,
            honeypot: String::new(),
            lang: UiLang::Fr,
        }
    }

    #[test]
    fn submissions_are_cleaned_and_checked() {
        let settings = ContactFormSettings::default();
        let (message, reference, upload) = validate(&submission(), &settings).unwrap();
        assert_eq!(message, "Bonjour\nma commande ?");
        assert_eq!(reference.as_deref(), Some("ABC123"));
        assert_eq!(upload, None);

        let with = |change: &dyn Fn(&mut ContactSubmission)| {
            let mut s = submission();
            change(&mut s);
            validate(&s, &settings).map(|_| ())
        };
        assert_eq!(
            with(&|s| s.email = "nobody".into()),
            Err(ContactFormError::NotAnAddress)
        );
        assert_eq!(
            with(&|s| s.message = " \n ".into()),
            Err(ContactFormError::EmptyMessage)
        );
        assert_eq!(
            with(&|s| s.message = "x".repeat(MAX_MESSAGE_CHARS + 1)),
            Err(ContactFormError::MessageTooLong)
        );
        assert_eq!(
            with(&|s| s.order_reference = Some("9".repeat(65))),
            Err(ContactFormError::OrderReferenceTooLong)
        );
        let pdf = b"%PDF-1.7 hello".to_vec();
        assert_eq!(
            with(&|s| s.attachment =
                Some(("../../f.pdf".into(), "application/pdf".into(), pdf.clone()))),
            Ok(())
        );
        let mut s = submission();
        s.attachment = Some((
            "C:\\docs\\f.pdf".into(),
            "Application/PDF; x=y".into(),
            pdf.clone(),
        ));
        let upload = validate(&s, &settings).unwrap().2.unwrap();
        assert_eq!(
            (upload.filename.as_str(), upload.content_type.as_str()),
            ("f.pdf", "application/pdf")
        );
        assert!(matches!(
            with(&|s| s.attachment = Some((
                "a.exe".into(),
                "application/x-msdownload".into(),
                b"MZ".to_vec()
            ))),
            Err(ContactFormError::AttachmentType { .. })
        ));
        // A PNG that is not one.
        assert!(matches!(
            with(&|s| s.attachment = Some(("a.png".into(), "image/png".into(), b"<html>".to_vec()))),
            Err(ContactFormError::AttachmentType { .. })
        ));
        let small = ContactFormSettings {
            max_attachment_bytes: 4,
            ..ContactFormSettings::default()
        };
        let mut s = submission();
        s.attachment = Some(("f.pdf".into(), "application/pdf".into(), pdf.clone()));
        assert_eq!(
            validate(&s, &small).map(|_| ()),
            Err(ContactFormError::AttachmentTooLarge { max_bytes: 4 })
        );
        let none = ContactFormSettings {
            attachments: false,
            ..ContactFormSettings::default()
        };
        assert_eq!(
            validate(&s, &none).map(|_| ()),
            Err(ContactFormError::AttachmentsRefused)
        );
        // An empty file input sends an empty part: no attachment.
        s.attachment = Some((String::new(), "application/octet-stream".into(), Vec::new()));
        assert_eq!(validate(&s, &none).unwrap().2, None);
    }

    #[test]
    fn stamps_cannot_be_forged_or_moved_to_another_shop() {
        let key = [7u8; 32];
        let stamp = sign_stamp(&key, 3, 1_000);
        assert_eq!(verify_stamp(&key, 3, &stamp), Some(1_000));
        assert_eq!(verify_stamp(&key, 4, &stamp), None);
        assert_eq!(verify_stamp(&[8u8; 32], 3, &stamp), None);
        let (_, mac) = stamp.split_once('.').unwrap();
        assert_eq!(verify_stamp(&key, 3, &format!("1.{mac}")), None);
        assert_eq!(verify_stamp(&key, 3, "1000"), None);
        assert_eq!(verify_stamp(&key, 3, "x.zz"), None);
    }

    #[test]
    fn slugs_and_sizes_read_well() {
        assert_eq!(slug("Thé & Café"), "the-cafe");
        assert_eq!(slug("  boutique  "), "boutique");
        assert_eq!(slug("Ma Boutique N°1"), "ma-boutique-n-1");
        assert_eq!(megabytes(10 * 1024 * 1024), "10 MB");
        assert_eq!(megabytes(1536 * 1024), "1.5 MB");
        assert!(content_matches("image/png", b"\x89PNG\r\n\x1a\nrest"));
        assert!(!content_matches("image/jpeg", b"GIF89a"));
    }

    #[test]
    fn the_acknowledgement_carries_the_tracking_number_and_is_automatic() {
        for lang in UiLang::ALL {
            let ack = acknowledgement(
                "Boutique",
                "sav@boutique.example",
                "marie@client.example",
                Some(1042),
                "Bonjour\nma commande ?",
                Some("contact-form.1@boutique.example".into()),
                *lang,
                1_790_000_000_000,
            );
            assert!(ack.subject.contains("[1042]"), "{}", ack.subject);
            assert!(ack.text.contains("> ma commande ?"), "{}", ack.text);
            assert_eq!(ack.author, Author::Automatic);
            assert!(ack.message_id.starts_with("guichet.contact-ack."));
            let raw = build_mime(&ack).unwrap();
            assert!(String::from_utf8_lossy(&raw).contains("Auto-Submitted: auto-replied"));
            let forwarded = acknowledgement(
                "Boutique",
                "sav@boutique.example",
                "marie@client.example",
                None,
                "x",
                None,
                *lang,
                0,
            );
            assert!(!forwarded.subject.contains('['));
        }
    }
}
