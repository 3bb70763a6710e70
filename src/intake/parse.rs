//! MIME -> [`ParsedMessage`]. Pure: no I/O. Never panics on input.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::html::html_to_text;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

use crate::intake::reply_text::extract_new_text;

/// Headers that tell a machine-sent message from a person's (RFC 3834 and friends).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AutomationHeaders {
    /// Value of `Auto-Submitted`, lowercased, when present and not `no`.
    pub auto_submitted: Option<String>,
    /// Value of `Precedence`, lowercased.
    pub precedence: Option<String>,
    pub list_id: Option<String>,
    /// `Return-Path: <>` (a bounce).
    pub empty_return_path: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub content_id: Option<String>,
    /// Shown inside the body (Content-Disposition inline with a Content-ID) rather than listed.
    pub inline: bool,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMessage {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Lowercased address.
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Decoded (encoded-words resolved), trimmed, empty when absent.
    pub subject: String,
    /// Unix milliseconds, from the Date header.
    pub date_ms: Option<i64>,
    /// Full plain text (converted from HTML when the message has only HTML).
    pub text: String,
    pub html: Option<String>,
    /// The customer's new words: quoted history and signature removed.
    pub new_text: String,
    pub attachments: Vec<Attachment>,
    pub automation: AutomationHeaders,
    /// Set when the MIME structure could not be fully understood; what could be read is still filled.
    pub parse_error: Option<String>,
}

/// Name given to a forwarded message (message/rfc822 part) that carries no file name.
const FORWARDED_FILENAME: &str = "forwarded.eml";

/// Parses raw RFC 5322 bytes.
///
/// Never panics: malformed input gives whatever could be read plus `parse_error`.
pub fn parse_message(raw: &[u8]) -> ParsedMessage {
    if raw.iter().all(|byte| byte.is_ascii_whitespace()) {
        return ParsedMessage {
            parse_error: Some("The message is empty.".to_string()),
            ..ParsedMessage::default()
        };
    }
    // mail-parser is fuzzed, but a panic on one odd message must not stop a mailbox sync.
    let mut parsed = match catch_unwind(AssertUnwindSafe(|| parse_non_empty(raw))) {
        Ok(parsed) => parsed,
        Err(_) => {
            tracing::warn!(
                len = raw.len(),
                "MIME parser panicked; keeping the raw text"
            );
            let text = latin1_if_not_utf8(raw).trim().to_string();
            ParsedMessage {
                new_text: extract_new_text(&text),
                text,
                parse_error: Some(
                    "The MIME parser failed on this message; only its raw text was kept."
                        .to_string(),
                ),
                ..ParsedMessage::default()
            }
        }
    };
    strip_nul_bytes(&mut parsed);
    parsed
}

/// NUL is never meaningful in mail text, and PostgreSQL refuses it in text columns.
fn strip_nul_bytes(parsed: &mut ParsedMessage) {
    let fields = [&mut parsed.subject, &mut parsed.text, &mut parsed.new_text]
        .into_iter()
        .chain(parsed.html.as_mut())
        .chain(parsed.from_name.as_mut());
    for field in fields {
        if field.contains('\0') {
            *field = field.replace('\0', "");
        }
    }
}

fn parse_non_empty(raw: &[u8]) -> ParsedMessage {
    let Some(message) = MessageParser::default().parse(raw) else {
        let text = latin1_if_not_utf8(raw).trim().to_string();
        return ParsedMessage {
            new_text: extract_new_text(&text),
            text,
            parse_error: Some(
                "The input is not an email message: no header or body could be read.".to_string(),
            ),
            ..ParsedMessage::default()
        };
    };

    let (from_email, from_name) = first_sender(&message);
    let mut text = body_text(&message);
    if text.trim().is_empty() {
        // With a damaged structure mail-parser may file the only text part as an attachment.
        if let Some(unnamed_text) = unnamed_text_attachment(&message) {
            text = unnamed_text;
        }
    }
    if text.trim().is_empty() {
        // A bare forward ("see below") often has no words of its own: the forwarded
        // message's text is what the customer wants us to read.
        if let Some(forwarded_text) = forwarded_messages(&message)
            .map(body_text)
            .find(|forwarded| !forwarded.trim().is_empty())
        {
            text = forwarded_text;
        }
    }
    let text = text.trim().to_string();

    ParsedMessage {
        message_id: message.message_id().and_then(clean_id),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        from_email,
        from_name,
        to: message.all_to().flat_map(addresses).collect(),
        cc: message.all_cc().flat_map(addresses).collect(),
        subject: subject(&message),
        date_ms: message
            .date()
            .filter(|date| date.is_valid())
            .map(|date| date.to_timestamp().saturating_mul(1000)),
        new_text: extract_new_text(&text),
        text,
        html: body_html(&message),
        attachments: message.attachments().map(attachment).collect(),
        automation: automation_headers(&message),
        parse_error: structure_problem(&message),
    }
}

/// The decoded subject. A raw 8-bit Latin-1 subject (no encoded-words, invalid UTF-8)
/// is read as Latin-1 rather than left with replacement characters.
fn subject(message: &Message<'_>) -> String {
    let decoded = message.subject().unwrap_or_default();
    if decoded.contains(char::REPLACEMENT_CHARACTER) {
        let raw_header = message
            .parts
            .first()
            .into_iter()
            .flat_map(|root| root.headers.iter())
            .rev()
            .find(|header| header.name == HeaderName::Subject)
            .and_then(|header| {
                message
                    .raw_message()
                    .get(header.offset_start as usize..header.offset_end as usize)
            });
        if let Some(raw_header) = raw_header.filter(|raw| std::str::from_utf8(raw).is_err()) {
            let unfolded: String = latin1_if_not_utf8(raw_header)
                .split(['\r', '\n'])
                .map(str::trim)
                .filter(|piece| !piece.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            return unfolded;
        }
    }
    decoded.trim().to_string()
}

fn first_sender(message: &Message<'_>) -> (Option<String>, Option<String>) {
    let Some(first) = message.from().and_then(|from| from.first()) else {
        return (None, None);
    };
    let email = first
        .address
        .as_deref()
        .map(|address| address.trim().to_lowercase())
        .filter(|address| !address.is_empty());
    let name = first
        .name
        .as_deref()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    (email, name)
}

fn addresses<'a>(address: &'a Address<'_>) -> impl Iterator<Item = String> + 'a {
    address
        .iter()
        .filter_map(|addr| addr.address.as_deref())
        .map(|email| email.trim().to_lowercase())
        .filter(|email| !email.is_empty())
}

/// Message ids are compared without angle brackets everywhere in Guichet.
fn clean_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty()).then(|| id.to_string())
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => clean_id(id).into_iter().collect(),
        HeaderValue::TextList(ids) => ids.iter().filter_map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    }
}

/// The plain text of the message: its text/plain bodies, or its HTML converted to text.
fn body_text(message: &Message<'_>) -> String {
    let mut pieces = Vec::new();
    for &part_id in &message.text_body {
        let Some(part) = message.parts.get(part_id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(text) => pieces.push(repair_undecodable_text(message, part, text)),
            PartType::Html(html) => pieces.push(html_to_text(html)),
            _ => {}
        }
    }
    pieces.join("\n")
}

/// The HTML bodies, only when the sender wrote HTML (not converted from text).
fn body_html(message: &Message<'_>) -> Option<String> {
    let pieces: Vec<&str> = message
        .html_body
        .iter()
        .filter_map(|&part_id| message.parts.get(part_id as usize))
        .filter_map(|part| match &part.body {
            PartType::Html(html) => Some(html.as_ref()),
            _ => None,
        })
        .collect();
    (!pieces.is_empty()).then(|| pieces.join("\n"))
}

/// When a text part did not decode (unknown charset, 8-bit bytes with no charset),
/// mail-parser leaves replacement characters. Customers' words matter more than the
/// label: re-read the raw bytes as Latin-1, which maps every byte to a character.
fn repair_undecodable_text(message: &Message<'_>, part: &MessagePart<'_>, text: &str) -> String {
    if !text.contains(char::REPLACEMENT_CHARACTER) {
        return text.to_string();
    }
    let raw = message.raw_message();
    let Some(encoded) = raw.get(part.offset_body as usize..part.offset_end as usize) else {
        return text.to_string();
    };
    let transfer_encoding = part
        .content_transfer_encoding()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let decoded = match transfer_encoding.as_str() {
        "quoted-printable" => quoted_printable_decode(encoded),
        "base64" => base64_decode(encoded),
        _ => Some(encoded.to_vec()),
    };
    match decoded {
        Some(bytes) if std::str::from_utf8(&bytes).is_err() => latin1_if_not_utf8(&bytes),
        _ => text.to_string(),
    }
}

fn latin1_if_not_utf8(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&byte| char::from(byte)).collect(),
    }
}

/// The first text part filed among attachments that has no file name (not a real attachment).
fn unnamed_text_attachment(message: &Message<'_>) -> Option<String> {
    message
        .attachments()
        .filter(|part| part.attachment_name().is_none())
        .find_map(|part| match &part.body {
            PartType::Text(text) if !text.trim().is_empty() => {
                Some(repair_undecodable_text(message, part, text))
            }
            PartType::Html(html) if !html.trim().is_empty() => Some(html_to_text(html)),
            _ => None,
        })
}

fn forwarded_messages<'a>(message: &'a Message<'a>) -> impl Iterator<Item = &'a Message<'a>> {
    message.attachments().filter_map(|part| part.message())
}

fn attachment(part: &MessagePart<'_>) -> Attachment {
    let is_forwarded_message = matches!(part.body, PartType::Message(_));
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
            None => ct.ctype().to_string(),
        })
        .map(|ct| ct.trim().to_ascii_lowercase())
        .filter(|ct| !ct.is_empty())
        .unwrap_or_else(|| {
            if is_forwarded_message {
                "message/rfc822".to_string()
            } else {
                "application/octet-stream".to_string()
            }
        });
    let filename = part
        .attachment_name()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| is_forwarded_message.then(|| FORWARDED_FILENAME.to_string()));
    let content_id = part.content_id().and_then(clean_id);
    let disposition_is_attachment = part
        .content_disposition()
        .is_some_and(|disposition| disposition.is_attachment());
    Attachment {
        filename,
        content_type,
        inline: content_id.is_some() && !disposition_is_attachment,
        content_id,
        data: part.contents().to_vec(),
    }
}

fn automation_headers(message: &Message<'_>) -> AutomationHeaders {
    let raw_value = |name: &str| {
        message
            .header_raw(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let auto_submitted = raw_value("Auto-Submitted")
        .map(|value| value.to_ascii_lowercase())
        // RFC 3834: "no" means a person sent it.
        .filter(|value| value.split(';').next().unwrap_or_default().trim() != "no");
    let precedence = raw_value("Precedence").map(|value| value.to_ascii_lowercase());
    let list_id = raw_value("List-Id").map(|value| list_identifier(&value));
    let empty_return_path = message
        .header_raw("Return-Path")
        .is_some_and(|value| value.split_whitespace().collect::<String>() == "<>");
    AutomationHeaders {
        auto_submitted,
        precedence,
        list_id,
        empty_return_path,
    }
}

/// `List-Id: Shop news <news.shop.example>` -> `news.shop.example` (RFC 2919 identifier).
fn list_identifier(value: &str) -> String {
    match (value.rfind('<'), value.rfind('>')) {
        (Some(start), Some(end)) if start < end => value[start + 1..end].trim().to_string(),
        _ => value.to_string(),
    }
}

/// A multipart whose boundary never occurs: mail-parser then reads the whole body as one
/// part, which keeps the text but hides that the structure was not understood.
fn missing_multipart_boundary(message: &Message<'_>) -> Option<String> {
    let raw = message.raw_message();
    message.parts.iter().find_map(|part| {
        let content_type = part.content_type()?;
        if !content_type.ctype().eq_ignore_ascii_case("multipart") {
            return None;
        }
        let Some(boundary) = content_type.attribute("boundary") else {
            return Some("A multipart section declares no boundary.".to_string());
        };
        let body = raw.get(part.offset_body as usize..)?;
        let delimiter = format!("--{boundary}");
        let found = body
            .windows(delimiter.len())
            .any(|window| window == delimiter.as_bytes());
        (!found).then(|| {
            format!(
                "The multipart boundary \"{boundary}\" never appears in the message; \
                 its body was read as a single part."
            )
        })
    })
}

fn structure_problem(message: &Message<'_>) -> Option<String> {
    if message
        .parts
        .first()
        .is_none_or(|root| root.headers.is_empty())
    {
        return Some(
            "No email header was found: the input does not look like an email message.".to_string(),
        );
    }
    if let Some(problem) = missing_multipart_boundary(message) {
        return Some(problem);
    }
    let broken_parts = message
        .parts
        .iter()
        .filter(|part| part.is_encoding_problem)
        .count();
    (broken_parts > 0).then(|| {
        format!(
            "The MIME structure is damaged ({broken_parts} part(s) with a missing boundary or \
             undecodable content); the readable parts were kept."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE_REPLY: &[u8] = b"Return-Path: <marie@exemple.fr>\r\n\
From: =?UTF-8?Q?Marie_H=C3=A9bert?= <Marie.Hebert@Exemple.FR>\r\n\
To: Support <support@boutique.fr>, autre@boutique.fr\r\n\
Cc: Paul <PAUL@exemple.fr>\r\n\
Subject: =?UTF-8?Q?Re=3A_=5B=231527=5D_Commande_non_re=C3=A7ue?=\r\n\
Date: Mon, 03 Jun 2024 10:00:00 +0200\r\n\
Message-ID: <abc123@mail.exemple.fr>\r\n\
In-Reply-To: <ticket-1527@boutique.fr>\r\n\
References: <first@boutique.fr> <ticket-1527@boutique.fr>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Toujours rien re\xc3\xa7u.\r\n\
\r\n\
Le lun. 3 juin 2024 \xc3\xa0 09:00, Boutique <support@boutique.fr> a \xc3\xa9crit :\r\n\
> Votre colis est parti.\r\n";

    #[test]
    fn simple_reply_headers_and_text() {
        let parsed = parse_message(SIMPLE_REPLY);
        assert_eq!(parsed.parse_error, None);
        assert_eq!(parsed.subject, "Re: [#1527] Commande non reçue");
        assert_eq!(
            parsed.from_email.as_deref(),
            Some("marie.hebert@exemple.fr")
        );
        assert_eq!(parsed.from_name.as_deref(), Some("Marie Hébert"));
        assert_eq!(parsed.to, ["support@boutique.fr", "autre@boutique.fr"]);
        assert_eq!(parsed.cc, ["paul@exemple.fr"]);
        assert_eq!(parsed.message_id.as_deref(), Some("abc123@mail.exemple.fr"));
        assert_eq!(parsed.in_reply_to, ["ticket-1527@boutique.fr"]);
        assert_eq!(
            parsed.references,
            ["first@boutique.fr", "ticket-1527@boutique.fr"]
        );
        // 2024-06-03T08:00:00Z
        assert_eq!(parsed.date_ms, Some(1_717_401_600_000));
        assert!(parsed.text.starts_with("Toujours rien reçu."));
        assert!(parsed.text.contains("> Votre colis"));
        assert_eq!(parsed.new_text, "Toujours rien reçu.");
        assert_eq!(parsed.html, None);
        assert!(parsed.attachments.is_empty());
        assert_eq!(parsed.automation, AutomationHeaders::default());
    }

    #[test]
    fn multipart_alternative_prefers_text_and_keeps_html() {
        let raw = b"From: a@b.example\r\nSubject: Alt\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=XX\r\n\r\n\
--XX\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nPlain words\r\n\
--XX\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>Html <b>words</b></p>\r\n\
--XX--\r\n";
        let parsed = parse_message(raw);
        assert_eq!(parsed.parse_error, None);
        assert_eq!(parsed.text, "Plain words");
        assert_eq!(
            parsed.html.as_deref().map(str::trim),
            Some("<p>Html <b>words</b></p>")
        );
    }

    #[test]
    fn html_only_gets_readable_text() {
        let raw =
            b"From: a@b.example\r\nSubject: Html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><p>Bonjour,</p><p>O&ugrave; est mon colis&nbsp;?</p></body></html>\r\n";
        let parsed = parse_message(raw);
        assert!(parsed.html.is_some());
        assert!(parsed.text.contains("Bonjour,"), "{}", parsed.text);
        assert!(parsed.text.contains("Où est mon colis"), "{}", parsed.text);
        assert!(!parsed.text.contains('<'));
    }

    #[test]
    fn attachments_and_inline_images() {
        let raw = b"From: a@b.example\r\nSubject: Photos\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=OUT\r\n\r\n\
--OUT\r\nContent-Type: multipart/related; boundary=REL\r\n\r\n\
--REL\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Voir <img src=\"cid:img1@x\"></p>\r\n\
--REL\r\nContent-Type: image/png\r\nContent-ID: <img1@x>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n\
--REL--\r\n\
--OUT\r\nContent-Type: application/pdf; name=\"facture.pdf\"\r\nContent-Disposition: attachment; filename=\"facture.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n\
--OUT--\r\n";
        let parsed = parse_message(raw);
        assert_eq!(parsed.parse_error, None);
        assert_eq!(parsed.attachments.len(), 2, "{:?}", parsed.attachments);
        let image = &parsed.attachments[0];
        assert_eq!(image.content_type, "image/png");
        assert_eq!(image.content_id.as_deref(), Some("img1@x"));
        assert!(image.inline);
        assert_eq!(image.data, b"hello");
        let pdf = &parsed.attachments[1];
        assert_eq!(pdf.filename.as_deref(), Some("facture.pdf"));
        assert_eq!(pdf.content_type, "application/pdf");
        assert!(!pdf.inline);
        assert_eq!(pdf.data, b"%PDF");
    }

    #[test]
    fn forwarded_message_is_attachment_and_gives_text_when_none_of_its_own() {
        let raw = b"From: client@exemple.fr\r\nSubject: Fwd: Commande\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=B\r\n\r\n\
--B\r\nContent-Type: message/rfc822\r\n\r\n\
From: livreur@transport.example\r\nSubject: Livraison impossible\r\n\r\nNous n'avons pas pu livrer votre colis.\r\n\
--B--\r\n";
        let parsed = parse_message(raw);
        assert_eq!(parsed.attachments.len(), 1);
        let forwarded = &parsed.attachments[0];
        assert_eq!(forwarded.filename.as_deref(), Some("forwarded.eml"));
        assert_eq!(forwarded.content_type, "message/rfc822");
        assert!(String::from_utf8_lossy(&forwarded.data).contains("Livraison impossible"));
        assert_eq!(parsed.text, "Nous n'avons pas pu livrer votre colis.");
        assert_eq!(parsed.new_text, parsed.text);
    }

    #[test]
    fn forwarded_message_does_not_replace_own_text() {
        let raw = b"From: client@exemple.fr\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=B\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nVoir ci-joint.\r\n\
--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\nSubject: Old\r\n\r\nOld text\r\n\
--B--\r\n";
        let parsed = parse_message(raw);
        assert_eq!(parsed.text, "Voir ci-joint.");
        assert_eq!(parsed.attachments.len(), 1);
    }

    #[test]
    fn automation_headers() {
        let raw = b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example\r\nAuto-Submitted: Auto-Replied\r\n\
Precedence: Bulk\r\nList-Id: Shop news <news.shop.example>\r\nSubject: Undelivered\r\n\r\nbody\r\n";
        let parsed = parse_message(raw);
        assert_eq!(
            parsed.automation,
            AutomationHeaders {
                auto_submitted: Some("auto-replied".into()),
                precedence: Some("bulk".into()),
                list_id: Some("news.shop.example".into()),
                empty_return_path: true,
            }
        );
    }

    #[test]
    fn auto_submitted_no_is_ignored() {
        let raw = b"From: a@b.example\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(parse_message(raw).automation.auto_submitted, None);
    }

    #[test]
    fn latin1_body_without_charset_keeps_accents() {
        let raw = b"From: a@b.example\r\nSubject: accents\r\nContent-Type: text/plain\r\n\r\nCommande re\xe7ue ab\xeem\xe9e\r\n";
        let parsed = parse_message(raw);
        assert_eq!(parsed.text, "Commande reçue abîmée");
    }

    #[test]
    fn raw_latin1_subject_keeps_accents() {
        let raw =
            b"From: a@b.example\r\nSubject: Re: [#1527] Probl\xe8me de livraison\r\n\r\nbody\r\n";
        assert_eq!(
            parse_message(raw).subject,
            "Re: [#1527] Problème de livraison"
        );
    }

    #[test]
    fn unknown_charset_keeps_text() {
        let raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nD\xe9j\xe0 pay\xe9\r\n";
        assert_eq!(parse_message(raw).text, "Déjà payé");
        let utf8 = "From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nDéjà payé\r\n";
        assert_eq!(parse_message(utf8.as_bytes()).text, "Déjà payé");
    }

    #[test]
    fn empty_and_garbage_input_report_an_error() {
        for raw in [
            &b""[..],
            b"   \r\n",
            b"\x00\x01\x02\xff\xfe",
            b"just some words without headers",
        ] {
            let parsed = parse_message(raw);
            assert!(parsed.parse_error.is_some(), "{raw:?} -> {parsed:?}");
        }
    }

    #[test]
    fn broken_multipart_reports_error_and_keeps_text() {
        let raw = b"From: a@b.example\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=NEVER\r\n\r\n\
--NEVER\r\nContent-Type: text/plain\r\n\r\nMon texte est l\xc3\xa0\r\n";
        let parsed = parse_message(raw);
        assert_eq!(parsed.subject, "broken");
        assert!(parsed.text.contains("Mon texte est là"), "{parsed:?}");
        assert!(parsed.parse_error.is_some());
    }

    #[test]
    fn no_message_id_and_no_date() {
        let parsed = parse_message(b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n");
        assert_eq!(parsed.message_id, None);
        assert_eq!(parsed.date_ms, None);
        assert_eq!(parsed.text, "hello");
        assert_eq!(parsed.parse_error, None);
    }

    #[test]
    fn truncated_inputs_never_panic() {
        for end in 0..SIMPLE_REPLY.len() {
            let _ = parse_message(&SIMPLE_REPLY[..end]);
        }
    }

    /// Deterministic mutations (byte flips, cuts, duplicated slices) of real-looking
    /// messages: the parser must always return, whatever the damage.
    #[test]
    fn mutated_inputs_never_panic() {
        let multipart = b"From: a@b.example\r\nSubject: =?utf-8?q?x?=\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n\
\x1b$B$3$s\x1b(B\r\n--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.example\r\n\r\nold\r\n--B--\r\n";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in [SIMPLE_REPLY, &multipart[..]] {
            for _ in 0..1500 {
                let mut mutated = seed.to_vec();
                for _ in 0..(next() % 8 + 1) {
                    let len = mutated.len().max(1);
                    let at = (next() as usize) % len;
                    match next() % 4 {
                        0 => {
                            if let Some(byte) = mutated.get_mut(at) {
                                *byte = next() as u8;
                            }
                        }
                        1 => mutated.truncate(at),
                        2 => {
                            let end = (at + (next() as usize % 40)).min(mutated.len());
                            let slice = mutated[at.min(end)..end].to_vec();
                            mutated.splice(at.min(mutated.len())..at.min(mutated.len()), slice);
                        }
                        _ => mutated
                            .insert(at.min(mutated.len()), b"\r\n-=<>\"\\"[next() as usize % 8]),
                    }
                }
                let _ = parse_message(&mutated);
            }
        }
    }
}
