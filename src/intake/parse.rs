//! MIME -> [`ParsedMessage`]. Pure: no I/O. Never panics on input.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

use crate::intake::reply_text::extract_new_text;

/// Headers that tell a machine-sent message from a person's (RFC 3834 and friends).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// Parses raw RFC 5322 bytes. Whatever the input, returns a message; problems go to `parse_error`.
pub fn parse_message(raw: &[u8]) -> ParsedMessage {
    match std::panic::catch_unwind(|| parse_unguarded(raw)) {
        Ok(parsed) => parsed,
        Err(_) => ParsedMessage {
            subject: String::new(),
            text: String::from_utf8_lossy(raw).replace('\0', ""),
            parse_error: Some("the MIME parser failed on this message; it is kept raw".into()),
            ..Default::default()
        },
    }
}

fn parse_unguarded(raw: &[u8]) -> ParsedMessage {
    let Some(message) = MessageParser::default().parse(raw) else {
        let text = String::from_utf8_lossy(raw)
            .replace('\0', "")
            .trim()
            .to_string();
        return ParsedMessage {
            new_text: text.clone(),
            text,
            parse_error: Some("no mail headers found; the message is kept raw".into()),
            ..Default::default()
        };
    };
    let mut parsed = ParsedMessage {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        subject: message
            .subject()
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        date_ms: message.date().map(|d| d.to_timestamp() * 1000),
        ..Default::default()
    };
    if let Some(from) = message.from().and_then(Address::first) {
        parsed.from_email = from
            .address()
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty());
        parsed.from_name = from
            .name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
    }
    parsed.to = addresses(message.to());
    parsed.cc = addresses(message.cc());

    let texts: Vec<String> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i).map(|t| t.into_owned()))
        .collect();
    parsed.text = texts.join("\n\n").trim().to_string();
    parsed.html = (message.html_body_count() > 0)
        .then(|| message.body_html(0).map(|h| h.into_owned()))
        .flatten()
        .filter(|h| message.html_part(0).is_some_and(|p| p.is_text_html()) && !h.trim().is_empty());

    let mut unreadable_structure = None;
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_lowercase(),
                None => ct.ctype().to_lowercase(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        let disposition_inline = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
        let (data, default_name, forwarded_text) = match &part.body {
            PartType::Message(inner) => {
                let text = inner.body_text(0).map(|t| t.into_owned());
                (
                    inner.raw_message().to_vec(),
                    Some("forwarded.eml".to_string()),
                    text,
                )
            }
            _ => (part.contents().to_vec(), None, None),
        };
        if let Some(text) = forwarded_text.filter(|_| parsed.text.is_empty()) {
            parsed.text = text.trim().to_string();
        }
        if content_type.starts_with("multipart/") {
            // A multipart whose boundary never appears comes back as one opaque part.
            unreadable_structure = Some(String::from_utf8_lossy(&data).trim().to_string());
            continue;
        }
        parsed.attachments.push(Attachment {
            filename: part.attachment_name().map(str::to_string).or(default_name),
            content_type,
            content_id: part.content_id().map(clean_id),
            inline: matches!(part.body, PartType::InlineBinary(_))
                || (disposition_inline && part.content_id().is_some()),
            data,
        });
    }

    parsed.automation = AutomationHeaders {
        auto_submitted: header_text(&message, "Auto-Submitted").filter(|v| v != "no"),
        precedence: header_text(&message, "Precedence"),
        list_id: message
            .header_raw("List-Id")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        empty_return_path: message
            .header_raw("Return-Path")
            .is_some_and(|v| v.trim() == "<>"),
    };

    let problems = message
        .parts
        .iter()
        .filter(|p| p.is_encoding_problem)
        .count();
    let raw_body = unreadable_structure.unwrap_or_else(|| raw_body_text(raw));
    if parsed.text.is_empty() && parsed.attachments.is_empty() && !raw_body.is_empty() {
        // Typically a multipart whose boundary never appears: show the body as it came.
        parsed.text = raw_body;
        parsed.parse_error =
            Some("the MIME structure could not be read; the body is shown as received".into());
    } else if problems > 0 {
        parsed.parse_error = Some(format!(
            "{problems} MIME part(s) could not be decoded; the raw message is kept"
        ));
    } else if parsed.from_email.is_none() && parsed.subject.is_empty() && parsed.text.is_empty() {
        parsed.parse_error = Some("no sender, subject or text could be read".into());
    }
    strip_nul_bytes(&mut parsed);
    parsed.new_text = extract_new_text(&parsed.text);
    parsed
}

/// NUL is never meaningful in mail text, and PostgreSQL refuses it in text columns.
fn strip_nul_bytes(parsed: &mut ParsedMessage) {
    let fields = [&mut parsed.subject, &mut parsed.text]
        .into_iter()
        .chain(parsed.html.as_mut())
        .chain(parsed.from_name.as_mut());
    for field in fields {
        if field.contains('\0') {
            *field = field.replace('\0', "");
        }
    }
}

/// The bytes after the header block, as text.
fn raw_body_text(raw: &[u8]) -> String {
    let start = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2));
    start
        .map(|s| String::from_utf8_lossy(&raw[s..]).trim().to_string())
        .unwrap_or_default()
}

fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn id_list(value: &HeaderValue) -> Vec<String> {
    let ids: Vec<String> = match value {
        HeaderValue::Text(id) => vec![clean_id(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    };
    ids.into_iter().filter(|id| !id.is_empty()).collect()
}

fn addresses(address: Option<&Address>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|addr| addr.address())
                .map(|a| a.trim().to_lowercase())
                .filter(|a| !a.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn header_text(message: &mail_parser::Message, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_french_mail() {
        let raw = "From: =?utf-8?q?Ren=C3=A9e?= <Renee@Client.Test>\r\nTo: sav@shop.test, b@x.test\r\nCc: c@x.test\r\nSubject: =?iso-8859-1?q?Re=3A_=5B=231527=5D_Ma_commande_r=E9gl=E9e?=\r\nDate: Tue, 17 Nov 2026 08:05:00 +0100\r\nMessage-ID: <abc@client.test>\r\nIn-Reply-To: <q1@shop.test>\r\nReferences: <q0@shop.test> <q1@shop.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMerci beaucoup !\r\n\r\nLe lun. 16 nov. 2026 à 10:00, SAV <sav@shop.test> a écrit :\r\n> Bonjour\r\n";
        let p = parse_message(raw.as_bytes());
        assert_eq!(p.subject, "Re: [#1527] Ma commande réglée");
        assert_eq!(p.from_email.as_deref(), Some("renee@client.test"));
        assert_eq!(p.from_name.as_deref(), Some("Renée"));
        assert_eq!(p.to, vec!["sav@shop.test", "b@x.test"]);
        assert_eq!(p.cc, vec!["c@x.test"]);
        assert_eq!(p.message_id.as_deref(), Some("abc@client.test"));
        assert_eq!(p.in_reply_to, vec!["q1@shop.test"]);
        assert_eq!(p.references, vec!["q0@shop.test", "q1@shop.test"]);
        assert_eq!(p.date_ms, Some(1_794_899_100_000));
        assert_eq!(p.new_text, "Merci beaucoup !");
        assert!(p.parse_error.is_none());
    }

    #[test]
    fn html_only_gets_a_text_version() {
        let raw = "From: a@b.test\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Bonjour,</p><p>ma commande <b>#1052</b> svp</p></body></html>\r\n";
        let p = parse_message(raw.as_bytes());
        assert!(p.text.contains("ma commande #1052 svp"), "{}", p.text);
        assert!(p.html.unwrap().contains("<b>#1052</b>"));
    }

    #[test]
    fn attachments_inline_images_and_forwarded_messages() {
        let raw = "From: a@b.test\r\nSubject: Fwd: x\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/html\r\n\r\n<p>voir <img src=\"cid:img1@x\"></p>\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <img1@x>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--r--\r\n--o\r\nContent-Type: application/pdf; name=\"facture.pdf\"\r\nContent-Disposition: attachment; filename=\"facture.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.test\r\nSubject: original\r\n\r\nle message transféré\r\n--o--\r\n";
        let p = parse_message(raw.as_bytes());
        let names: Vec<_> = p
            .attachments
            .iter()
            .map(|a| (a.filename.clone(), a.content_type.clone(), a.inline))
            .collect();
        assert!(
            names.contains(&(Some("facture.pdf".into()), "application/pdf".into(), false)),
            "{names:?}"
        );
        let image = p
            .attachments
            .iter()
            .find(|a| a.content_type == "image/png")
            .expect("inline image");
        assert!(image.inline);
        assert_eq!(image.content_id.as_deref(), Some("img1@x"));
        assert_eq!(image.data, b"hello");
        let forwarded = p
            .attachments
            .iter()
            .find(|a| a.content_type == "message/rfc822")
            .expect("forwarded");
        assert_eq!(forwarded.filename.as_deref(), Some("forwarded.eml"));
        assert!(String::from_utf8_lossy(&forwarded.data).contains("le message transféré"));
    }

    #[test]
    fn automation_headers() {
        let raw = "From: MAILER-DAEMON@x.test\r\nReturn-Path: <>\r\nAuto-Submitted: auto-replied\r\nPrecedence: Bulk\r\nList-Id: <news.x.test>\r\nSubject: x\r\n\r\nbody\r\n";
        let a = parse_message(raw.as_bytes()).automation;
        assert_eq!(a.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(a.precedence.as_deref(), Some("bulk"));
        assert!(a.list_id.unwrap().contains("news.x.test"));
        assert!(a.empty_return_path);
        let human =
            parse_message(b"From: a@b.test\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nbody\r\n")
                .automation;
        assert_eq!(human, AutomationHeaders::default());
    }

    #[test]
    fn garbage_and_edge_input_never_panics() {
        for raw in [
            &b""[..],
            b"\x00\xff\xfe",
            b"no headers at all",
            b"Subject: =?x-unknown?q?caf=E9?=\r\n\r\n\xe9t\xe9",
            b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--",
        ] {
            let p = parse_message(raw);
            assert!(
                p.parse_error.is_some() || !p.subject.is_empty() || !p.text.is_empty(),
                "{raw:?} -> {p:?}"
            );
        }
        assert!(parse_message(b"").parse_error.is_some());
    }
}
