//! Getting mail out: the MIME of a reply (pure), SMTP sending that knows whether a failure came
//! before or after the message was handed over (`smtp`), and the copy in the Sent folder.

pub mod smtp;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::intake::imap::{ImapClient, ImapError};
use crate::model::{ReplyKind, UiLang};

pub use smtp::{Refusal, SendError, SmtpSession, SmtpSettings, send};

/// Who a message speaks for. Only a machine's message says so (RFC 3834 `Auto-Submitted`,
/// Microsoft's `X-Auto-Response-Suppress`): other helpdesks must treat a person's answer as a
/// person's mail, and may stay silent to a machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// Written by Guichet itself: an automatic answer, a request for information, a notice.
    Automatic,
    /// Written by an employee.
    Employee,
}

impl Author {
    /// The author of an outbox row of this kind.
    pub fn of_kind(kind: ReplyKind) -> Author {
        match kind {
            ReplyKind::Employee => Author::Employee,
            ReplyKind::Answer | ReplyKind::Ask | ReplyKind::Notice => Author::Automatic,
        }
    }
}

/// A reply ready to be turned into MIME. `message_id`, `in_reply_to` and `references` are
/// Message-IDs without their angle brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from_name: String,
    pub from_email: String,
    pub to_name: Option<String>,
    pub to_email: String,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    /// Unix milliseconds, UTC.
    pub date_ms: i64,
    pub author: Author,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("invalid email address {address:?}")]
    InvalidAddress { address: String },
    #[error("invalid Message-ID {id:?}")]
    InvalidMessageId { id: String },
    #[error("invalid date {date_ms}")]
    InvalidDate { date_ms: i64 },
    #[error("cannot build the message: {0}")]
    Build(String),
}

impl OutboundError {
    /// The message shown to the shop, in its language.
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            OutboundError::InvalidAddress { address } => {
                crate::t!(lang, "outbound.invalid_address", address = address)
            }
            OutboundError::InvalidMessageId { id } => {
                crate::t!(lang, "outbound.invalid_message_id", id = id)
            }
            OutboundError::InvalidDate { date_ms } => {
                crate::t!(lang, "outbound.invalid_date", date_ms = date_ms)
            }
            OutboundError::Build(reason) => {
                crate::t!(lang, "outbound.build_failed", reason = reason)
            }
        }
    }
}

const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");
const AUTO_RESPONSE_SUPPRESS: HeaderName =
    HeaderName::new_from_ascii_str("X-Auto-Response-Suppress");

/// `<id>` after checking the id cannot break the header (no brackets, spaces or line breaks).
fn bracketed(id: &str) -> Result<String, OutboundError> {
    let valid = !id.is_empty()
        && id.contains('@')
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    if valid {
        Ok(format!("<{id}>"))
    } else {
        Err(OutboundError::InvalidMessageId { id: id.to_string() })
    }
}

fn mailbox(name: Option<&str>, email: &str) -> Result<Mailbox, OutboundError> {
    let address = email
        .trim()
        .parse()
        .map_err(|_| OutboundError::InvalidAddress {
            address: email.to_string(),
        })?;
    let name = name
        .map(one_line)
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.trim().to_string());
    Ok(Mailbox::new(name, address))
}

/// Header text on one line: line breaks would start a new header.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    pub filename: String,
    /// A MIME type; one that does not parse is sent as `application/octet-stream`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The message as it goes on the wire: multipart/alternative (text, then HTML) when there is
/// HTML, text/plain otherwise; 7-bit clean (quoted-printable or base64 bodies, RFC 2047 headers);
/// an automatic one is marked as such (RFC 3834) so that other robots do not answer it.
pub fn build_mime(email: &OutgoingEmail) -> Result<Vec<u8>, OutboundError> {
    build_mime_with_attachments(email, &[])
}

/// [`build_mime`] with files: multipart/mixed, the body first, then each file (base64).
pub fn build_mime_with_attachments(
    email: &OutgoingEmail,
    attachments: &[OutgoingAttachment],
) -> Result<Vec<u8>, OutboundError> {
    let date = u64::try_from(email.date_ms)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .ok_or(OutboundError::InvalidDate {
            date_ms: email.date_ms,
        })?;
    let mut builder = lettre::Message::builder()
        .from(mailbox(Some(&email.from_name), &email.from_email)?)
        .to(mailbox(email.to_name.as_deref(), &email.to_email)?)
        .subject(one_line(&email.subject))
        .date(date)
        .message_id(Some(bracketed(&email.message_id)?));
    if email.author == Author::Automatic {
        builder = builder
            .raw_header(HeaderValue::new(AUTO_SUBMITTED, "auto-replied".into()))
            .raw_header(HeaderValue::new(AUTO_RESPONSE_SUPPRESS, "All".into()));
    }
    if let Some(parent) = &email.in_reply_to {
        builder = builder.in_reply_to(bracketed(parent)?);
    }
    if !email.references.is_empty() {
        let references = email
            .references
            .iter()
            .map(|id| bracketed(id))
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.references(references.join(" "));
    }
    let text = SinglePart::builder()
        .content_type(ContentType::TEXT_PLAIN)
        .body(email.text.clone());
    let files = || {
        attachments.iter().map(|file| {
            let content_type = ContentType::parse(&file.content_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("valid"));
            lettre::message::Attachment::new(one_line(&file.filename))
                .body(file.bytes.clone(), content_type)
        })
    };
    let message = match (&email.html, attachments.is_empty()) {
        (Some(html), true) => builder.multipart(alternative(text, html)),
        (None, true) => builder.singlepart(text),
        (Some(html), false) => builder.multipart(files().fold(
            MultiPart::mixed().multipart(alternative(text, html)),
            |m, f| m.singlepart(f),
        )),
        (None, false) => builder
            .multipart(files().fold(MultiPart::mixed().singlepart(text), |m, f| m.singlepart(f))),
    }
    .map_err(|e| OutboundError::Build(e.to_string()))?;
    Ok(message.formatted())
}

/// The text and the HTML of one message, as alternatives.
fn alternative(text: SinglePart, html: &str) -> MultiPart {
    MultiPart::alternative().singlepart(text).singlepart(
        SinglePart::builder()
            .content_type(ContentType::TEXT_HTML)
            .body(html.to_string()),
    )
}

/// Unix milliseconds now, for `OutgoingEmail::date_ms`.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Folder names mail clients commonly use for sent mail, in order of preference, when the
/// server does not mark one with the `\Sent` special use (RFC 6154).
pub const SENT_FOLDER_NAMES: &[&str] = &[
    "Sent",
    "Sent Items",
    "Sent Messages",
    "Éléments envoyés",
    "Envoyés",
    "INBOX.Sent",
    "[Gmail]/Sent Mail",
];

/// Stores a copy of a sent message, flagged \\Seen, in the mailbox's Sent folder (see
/// [`sent_folder`]). Returns the folder used (its name for people).
pub async fn append_to_sent(client: &mut ImapClient, raw: &[u8]) -> Result<String, ImapError> {
    let (name, display_name) = sent_folder(client).await?;
    client.append(&name, raw, true).await?;
    tracing::debug!(folder = %display_name, bytes = raw.len(), "copy stored in the Sent folder");
    Ok(display_name)
}

/// The mailbox's Sent folder: the one LIST marks `\\Sent`, else the first of
/// [`SENT_FOLDER_NAMES`] that exists, else a new "Sent". Returns its name as IMAP spells it
/// and as people read it.
pub async fn sent_folder(client: &mut ImapClient) -> Result<(String, String), ImapError> {
    let folders = client.list_folders().await?;
    let selectable = |f: &&crate::intake::imap::ListedFolder| !f.has_attribute("\\Noselect");
    let by_special_use = folders
        .iter()
        .filter(selectable)
        .find(|f| f.has_attribute("\\Sent"));
    let by_name = || {
        SENT_FOLDER_NAMES.iter().find_map(|wanted| {
            folders
                .iter()
                .filter(selectable)
                .find(|f| f.display_name.eq_ignore_ascii_case(wanted))
        })
    };
    match by_special_use.or_else(by_name) {
        Some(folder) => Ok((folder.name.clone(), folder.display_name.clone())),
        None => {
            tracing::info!("no Sent folder on the server: creating \"Sent\"");
            client.create_folder("Sent").await?;
            Ok(("Sent".to_string(), "Sent".to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{HeaderValue as ParsedValue, MessageParser, MimeHeaders};

    fn reply() -> OutgoingEmail {
        OutgoingEmail {
            from_name: "Boutique Éléonore".into(),
            from_email: "sav@eleonore.example".into(),
            to_name: Some("Marie Dupont".into()),
            to_email: "marie.dupont@client.example".into(),
            subject: "Re: Où est ma commande XKBKNABJK ? [#1001]".into(),
            message_id: "guichet-1001-3@eleonore.example".into(),
            in_reply_to: Some("demo-1@client.example".into()),
            references: vec![
                "demo-0@client.example".into(),
                "demo-1@client.example".into(),
            ],
            text: "Bonjour Marie,\n\nVotre commande est partie ce matin : voilà le suivi.\n\nÀ bientôt,\nÉléonore"
                .into(),
            html: Some(
                "<p>Bonjour Marie,</p><p>Votre commande est partie ce matin : voilà le suivi.</p><p>À bientôt,<br>Éléonore</p>"
                    .into(),
            ),
            date_ms: 1_795_000_000_123,
            author: Author::Automatic,
        }
    }

    fn header_text<'a>(message: &'a mail_parser::Message<'a>, name: &'a str) -> Option<&'a str> {
        message.header(name).and_then(|value| value.as_text())
    }

    #[test]
    fn every_header_reads_back() {
        let raw = build_mime(&reply()).unwrap();
        assert!(raw.is_ascii(), "7-bit clean on the wire");
        let message = MessageParser::default().parse(&raw).unwrap();

        let from = message.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Boutique Éléonore"));
        assert_eq!(from.address(), Some("sav@eleonore.example"));
        let to = message.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Marie Dupont"));
        assert_eq!(to.address(), Some("marie.dupont@client.example"));
        assert_eq!(
            message.subject(),
            Some("Re: Où est ma commande XKBKNABJK ? [#1001]")
        );
        assert_eq!(
            message.date().unwrap().to_timestamp(),
            1_795_000_000,
            "Date to the second"
        );
        assert_eq!(
            message.message_id(),
            Some("guichet-1001-3@eleonore.example")
        );
        assert_eq!(
            message.in_reply_to().as_text(),
            Some("demo-1@client.example")
        );
        match message.references() {
            ParsedValue::TextList(ids) => {
                assert_eq!(ids, &["demo-0@client.example", "demo-1@client.example"])
            }
            other => panic!("References: {other:?}"),
        }
        assert_eq!(header_text(&message, "MIME-Version"), Some("1.0"));
        assert_eq!(
            header_text(&message, "Auto-Submitted"),
            Some("auto-replied")
        );
        assert_eq!(
            header_text(&message, "X-Auto-Response-Suppress"),
            Some("All")
        );

        // The raw headers: non-ASCII words encoded (RFC 2047), nothing in 8 bits.
        let head = String::from_utf8_lossy(&raw);
        let head = &head[..head.find("\r\n\r\n").unwrap()];
        let from_line = head.lines().find(|l| l.starts_with("From: ")).unwrap();
        assert!(from_line.contains("=?utf-8?"), "{from_line}");
        let subject_line = head.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(subject_line.contains("=?utf-8?"), "{subject_line}");
        assert!(head.contains("Message-ID: <guichet-1001-3@eleonore.example>"));
    }

    #[test]
    fn both_bodies_read_back_with_their_accents() {
        let email = reply();
        let raw = build_mime(&email).unwrap();
        let message = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            message.content_type().map(|c| (c.ctype(), c.subtype())),
            Some(("multipart", Some("alternative")))
        );
        assert_eq!(message.text_body.len(), 1);
        assert_eq!(message.html_body.len(), 1);
        assert_eq!(
            message.body_text(0).unwrap().replace("\r\n", "\n"),
            email.text
        );
        assert_eq!(
            message.body_html(0).unwrap().replace("\r\n", "\n"),
            email.html.unwrap()
        );
        let text_part = message.part(message.text_body[0]).unwrap();
        assert_eq!(
            text_part
                .content_type()
                .and_then(|c| c.attribute("charset")),
            Some("utf-8")
        );
    }

    #[test]
    fn text_only_long_lines_and_no_display_names() {
        let long_line = "Très long paragraphe sans retour à la ligne, ".repeat(40);
        let email = OutgoingEmail {
            html: None,
            to_name: None,
            in_reply_to: None,
            references: vec![],
            text: format!("{long_line}\nfin\n"),
            subject: format!("Réponse{}", " à une question très très longue".repeat(5)),
            ..reply()
        };
        let raw = build_mime(&email).unwrap();
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(
            text.lines().all(|line| line.len() <= 998),
            "no line over the SMTP limit"
        );
        let message = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            message.content_type().map(|c| (c.ctype(), c.subtype())),
            Some(("text", Some("plain")))
        );
        // The transfer adds a line break after the last line; the text is otherwise intact.
        assert_eq!(
            message
                .body_text(0)
                .unwrap()
                .replace("\r\n", "\n")
                .trim_end(),
            email.text.trim_end()
        );
        assert_eq!(message.subject(), Some(email.subject.as_str()));
        let to = message.to().unwrap().first().unwrap();
        assert_eq!(to.name(), None);
        assert!(message.header("In-Reply-To").is_none());
        assert!(message.header("References").is_none());
        assert_eq!(
            header_text(&message, "Auto-Submitted"),
            Some("auto-replied")
        );
    }

    #[test]
    fn only_automatic_messages_say_they_are_automatic() {
        let raw = build_mime(&OutgoingEmail {
            author: Author::Employee,
            ..reply()
        })
        .unwrap();
        let message = MessageParser::default().parse(&raw).unwrap();
        assert!(message.header("Auto-Submitted").is_none());
        assert!(message.header("X-Auto-Response-Suppress").is_none());
        assert_eq!(
            message.message_id(),
            Some("guichet-1001-3@eleonore.example")
        );
        assert_eq!(Author::of_kind(ReplyKind::Employee), Author::Employee);
        for kind in [ReplyKind::Answer, ReplyKind::Ask, ReplyKind::Notice] {
            assert_eq!(Author::of_kind(kind), Author::Automatic);
        }
    }

    #[test]
    fn attachments_follow_the_body_and_read_back() {
        let files = [
            OutgoingAttachment {
                filename: "facture n°12.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4 fake".to_vec(),
            },
            OutgoingAttachment {
                filename: "photo.jpg".into(),
                content_type: "not a type".into(),
                bytes: vec![0xff, 0xd8, 0xff, 0x00, 0x10],
            },
        ];
        for html in [true, false] {
            let email = OutgoingEmail {
                html: html.then(|| "<p>Bonjour</p>".to_string()),
                ..reply()
            };
            let raw = build_mime_with_attachments(&email, &files).unwrap();
            assert!(raw.is_ascii());
            let message = MessageParser::default().parse(&raw).unwrap();
            assert_eq!(
                message.content_type().map(|c| (c.ctype(), c.subtype())),
                Some(("multipart", Some("mixed")))
            );
            assert!(message.body_text(0).unwrap().contains("Votre commande"));
            let parts: Vec<_> = message.attachments().collect();
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0].attachment_name(), Some("facture n°12.pdf"));
            assert_eq!(parts[0].contents(), b"%PDF-1.4 fake");
            assert_eq!(
                parts[1].content_type().map(|c| c.ctype()),
                Some("application")
            );
            assert_eq!(parts[1].contents(), &[0xff, 0xd8, 0xff, 0x00, 0x10]);
        }
    }

    #[test]
    fn header_injection_and_bad_values_are_refused() {
        let raw = build_mime(&OutgoingEmail {
            subject: "Bonjour\r\nBcc: victim@example.com".into(),
            from_name: "Shop\nBcc: x@example.com".into(),
            ..reply()
        })
        .unwrap();
        let message = MessageParser::default().parse(&raw).unwrap();
        assert!(message.header("Bcc").is_none());
        assert_eq!(message.subject(), Some("Bonjour Bcc: victim@example.com"));

        let bad_address = OutgoingEmail {
            to_email: "not an address".into(),
            ..reply()
        };
        assert!(matches!(
            build_mime(&bad_address),
            Err(OutboundError::InvalidAddress { .. })
        ));
        let bad_id = OutgoingEmail {
            message_id: "<x@y>\r\nBcc: z@w".into(),
            ..reply()
        };
        assert!(matches!(
            build_mime(&bad_id),
            Err(OutboundError::InvalidMessageId { .. })
        ));
        let bad_date = OutgoingEmail {
            date_ms: -1,
            ..reply()
        };
        assert!(matches!(
            build_mime(&bad_date),
            Err(OutboundError::InvalidDate { .. })
        ));
        for error in [
            OutboundError::InvalidAddress {
                address: "x".into(),
            },
            OutboundError::InvalidMessageId { id: "x".into() },
            OutboundError::InvalidDate { date_ms: -1 },
            OutboundError::Build("x".into()),
        ] {
            assert_ne!(error.localized(UiLang::Fr), error.localized(UiLang::En));
        }
    }
}
