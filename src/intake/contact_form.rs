//! The contact form's messages as real RFC 5322 mail (pure): the customer's message as it is
//! filed beside IMAP mail, and the copy forwarded to a contact that does not file in customer
//! service (from the shop's mailbox, `Reply-To` the customer).

use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::outbound::OutboundError;

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A message written in the form, addressed to one of the shop's contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormMessage<'a> {
    pub customer_email: &'a str,
    pub contact_name: &'a str,
    pub contact_email: &'a str,
    pub subject: &'a str,
    /// The customer's words, then the order reference line when one was given.
    pub text: &'a str,
    pub attachment: Option<&'a Upload>,
    /// Without angle brackets.
    pub message_id: &'a str,
    pub date_ms: i64,
}

/// How the copy for a contact that does not file in customer service is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding<'a> {
    /// The shop's mailbox, the only sender its SMTP server accepts.
    pub from_email: &'a str,
    pub from_name: &'a str,
}

fn address(name: Option<&str>, email: &str) -> Result<Mailbox, OutboundError> {
    let parsed = email
        .trim()
        .parse()
        .map_err(|_| OutboundError::InvalidAddress {
            address: email.to_string(),
        })?;
    let name = name
        .map(|n| n.split(['\r', '\n']).collect::<Vec<_>>().join(" "))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, parsed))
}

fn date(ms: i64) -> Result<std::time::SystemTime, OutboundError> {
    u64::try_from(ms)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .ok_or(OutboundError::InvalidDate { date_ms: ms })
}

fn body(
    builder: lettre::message::MessageBuilder,
    text: &str,
    attachment: Option<&Upload>,
) -> Result<Vec<u8>, OutboundError> {
    let text_part = SinglePart::builder()
        .content_type(ContentType::TEXT_PLAIN)
        .body(text.to_string());
    let message = match attachment {
        Some(upload) => {
            let content_type = ContentType::parse(&upload.content_type).unwrap_or(
                ContentType::parse("application/octet-stream")
                    .map_err(|e| OutboundError::Build(e.to_string()))?,
            );
            let filename = upload
                .filename
                .chars()
                .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
                .collect::<String>();
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(text_part)
                    .singlepart(Attachment::new(filename).body(upload.bytes.clone(), content_type)),
            )
        }
        None => builder.singlepart(text_part),
    }
    .map_err(|e| OutboundError::Build(e.to_string()))?;
    Ok(message.formatted())
}

/// The customer's message as mail from the customer to the contact, ready for intake.
pub fn customer_message(form: &FormMessage<'_>) -> Result<Vec<u8>, OutboundError> {
    let builder = lettre::Message::builder()
        .from(address(None, form.customer_email)?)
        .to(address(Some(form.contact_name), form.contact_email)?)
        .subject(one_line(form.subject))
        .date(date(form.date_ms)?)
        .message_id(Some(format!("<{}>", form.message_id)));
    body(builder, form.text, form.attachment)
}

/// The copy forwarded to the contact: from the shop's mailbox, answered to the customer.
pub fn forwarded_message(
    form: &FormMessage<'_>,
    forwarding: &Forwarding<'_>,
    intro: &str,
) -> Result<Vec<u8>, OutboundError> {
    let builder = lettre::Message::builder()
        .from(address(Some(forwarding.from_name), forwarding.from_email)?)
        .reply_to(address(None, form.customer_email)?)
        .to(address(Some(form.contact_name), form.contact_email)?)
        .subject(one_line(form.subject))
        .date(date(form.date_ms)?)
        .message_id(Some(format!("<{}>", form.message_id)));
    body(
        builder,
        &format!("{intro}\n\n{}", form.text),
        form.attachment,
    )
}

fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A fresh Message-ID (without brackets) in the domain of `address`.
pub fn new_message_id(prefix: &str, address: &str) -> String {
    let domain = address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
        .unwrap_or("guichet.invalid");
    format!("{prefix}.{:032x}@{domain}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::parse::parse_message;

    fn form<'a>(attachment: Option<&'a Upload>) -> FormMessage<'a> {
        FormMessage {
            customer_email: "marie@client.example",
            contact_name: "Service client",
            contact_email: "sav@boutique.example",
            subject: "Formulaire de contact\r\nBcc: x@evil.example",
            text: "Bonjour, où est ma commande ?\n\nCommande : ABC123",
            attachment,
            message_id: "contact-form.1@boutique.example",
            date_ms: 1_790_000_000_000,
        }
    }

    #[test]
    fn the_customer_message_parses_back_like_mail() {
        let upload = Upload {
            filename: "facture\r\n.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 test".to_vec(),
        };
        let raw = customer_message(&form(Some(&upload))).unwrap();
        let parsed = parse_message(&raw);
        assert_eq!(parsed.from_email.as_deref(), Some("marie@client.example"));
        assert_eq!(parsed.to, vec!["sav@boutique.example".to_string()]);
        assert_eq!(
            parsed.message_id.as_deref(),
            Some("contact-form.1@boutique.example")
        );
        // A line break in the subject cannot add a header.
        assert!(!String::from_utf8_lossy(&raw).contains("\r\nBcc:"));
        assert!(parsed.new_text.contains("où est ma commande"));
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].data, b"%PDF-1.4 test");
        assert_eq!(parsed.attachments[0].content_type, "application/pdf");
    }

    #[test]
    fn the_forwarded_copy_answers_to_the_customer() {
        let raw = forwarded_message(
            &form(None),
            &Forwarding {
                from_email: "boutique@boutique.example",
                from_name: "Boutique",
            },
            "Message sent from the contact form by marie@client.example:",
        )
        .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("Reply-To: marie@client.example"), "{text}");
        let parsed = parse_message(&raw);
        assert_eq!(
            parsed.from_email.as_deref(),
            Some("boutique@boutique.example")
        );
        assert!(parsed.text.contains("by marie@client.example"));
        assert!(parsed.text.contains("ABC123"));
    }

    #[test]
    fn bad_addresses_are_refused_and_ids_are_fresh() {
        let mut bad = form(None);
        bad.customer_email = "not an address";
        assert_eq!(
            customer_message(&bad),
            Err(OutboundError::InvalidAddress {
                address: "not an address".into()
            })
        );
        let a = new_message_id("contact-form", "sav@boutique.example");
        assert!(a.starts_with("contact-form.") && a.ends_with("@boutique.example"));
        assert_ne!(a, new_message_id("contact-form", "sav@boutique.example"));
        assert!(new_message_id("x", "odd@do main").ends_with("@guichet.invalid"));
    }
}
