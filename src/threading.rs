//! Which ticket a message belongs to. Pure: the store gathers the evidence, this decides.
//!
//! Order of precedence: our tracking tag in the subject (only when the sender is the ticket's
//! customer), then In-Reply-To/References to a known message, then the same customer writing with
//! the same normalized subject within [`SUBJECT_WINDOW_MS`], otherwise a new ticket.

use std::sync::LazyLock;

use regex::Regex;

/// How long a bare subject match may join a ticket: 14 days.
pub const SUBJECT_WINDOW_MS: i64 = 14 * 24 * 3600 * 1000;

static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[#?(\d{1,12})\]").expect("tag regex"));

static REPLY_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    // Reply and forward prefixes of common clients in French, English, German, Spanish,
    // Italian, Dutch, with optional counters ("Re[2]:") and the French space before the colon.
    Regex::new(
        r"(?i)^\s*(?:re|r|aw|sv|vs|antw|rif|ref|tr|trs|fw|fwd|wg|enc|rv|i|doorst)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*",
    )
    .expect("prefix regex")
});

/// Tracking numbers tagged in a subject, in order: `[#1527]` or `[1527]`.
pub fn tracking_tags(subject: &str) -> Vec<i64> {
    TAG.captures_iter(subject)
        .filter_map(|c| c[1].parse().ok())
        .collect()
}

/// The subject without reply/forward prefixes, tracking tags or case and spacing differences.
pub fn normalize_subject(subject: &str) -> String {
    let without_tags = TAG.replace_all(subject, " ");
    let mut rest: &str = &without_tags;
    loop {
        let trimmed = rest.trim_start();
        match REPLY_PREFIX.find(trimmed) {
            Some(m) => rest = &trimmed[m.end()..],
            None => break,
        }
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A ticket found by its tracking tag. `T` identifies a ticket: a database id, or a ticket
/// still being created in the same batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedTicket<T = i64> {
    pub ticket_id: T,
    pub customer_email: String,
}

/// What the store found about a message's possible ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence<T = i64> {
    pub tagged: Vec<TaggedTicket<T>>,
    /// Ticket of the first In-Reply-To/References id known in this shop.
    pub by_reference: Option<T>,
    /// Most recent ticket of the same customer with the same normalized subject within the window.
    pub by_subject: Option<T>,
}

impl<T> Default for Evidence<T> {
    fn default() -> Self {
        Evidence {
            tagged: Vec::new(),
            by_reference: None,
            by_subject: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Tag,
    Reference,
    Subject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement<T = i64> {
    Existing { ticket_id: T, reason: Reason },
    NewTicket,
}

/// Decides where a message from `from_email` goes.
pub fn place<T: Copy>(from_email: &str, evidence: &Evidence<T>) -> Placement<T> {
    let tagged_by_customer = evidence
        .tagged
        .iter()
        .find(|t| t.customer_email.eq_ignore_ascii_case(from_email));
    if let Some(t) = tagged_by_customer {
        return Placement::Existing {
            ticket_id: t.ticket_id,
            reason: Reason::Tag,
        };
    }
    if let Some(ticket_id) = evidence.by_reference {
        return Placement::Existing {
            ticket_id,
            reason: Reason::Reference,
        };
    }
    if let Some(ticket_id) = evidence.by_subject {
        return Placement::Existing {
            ticket_id,
            reason: Reason::Subject,
        };
    }
    Placement::NewTicket
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tags_with_and_without_hash() {
        assert_eq!(tracking_tags("Re: [#1527] Ma commande"), vec![1527]);
        assert_eq!(tracking_tags("Re: [1527] Ma commande"), vec![1527]);
        assert_eq!(tracking_tags("[12] et [#34]"), vec![12, 34]);
        assert!(tracking_tags("Commande #1527 (2 articles)").is_empty());
        assert!(tracking_tags("[abc] [#] []").is_empty());
    }

    #[test]
    fn normalizes_prefixes_of_many_clients() {
        for subject in [
            "Re: Ma commande",
            "RE : Ma commande",
            "TR: Ma commande",
            "Fwd: Re: Ma  commande",
            "AW: WG: ma commande",
            "Re[2]: Ma commande",
            "re: [#1001] Ma commande",
            "Réf : Ma commande",
        ] {
            let normalized = normalize_subject(subject);
            if subject.starts_with("Réf") {
                // Not a prefix we strip: accented forms are rare and ambiguous with real words.
                assert_ne!(normalized, "ma commande");
            } else {
                assert_eq!(normalized, "ma commande", "{subject}");
            }
        }
        assert_eq!(normalize_subject("Retour produit"), "retour produit");
        assert_eq!(normalize_subject("Irene: question"), "irene: question");
        assert_eq!(normalize_subject(""), "");
    }

    fn tagged(id: i64, email: &str) -> TaggedTicket {
        TaggedTicket {
            ticket_id: id,
            customer_email: email.into(),
        }
    }

    #[test]
    fn tag_from_the_customer_wins() {
        let evidence = Evidence {
            tagged: vec![tagged(7, "Alice@Example.com")],
            by_reference: Some(3),
            by_subject: Some(4),
        };
        assert_eq!(
            place("alice@example.com", &evidence),
            Placement::Existing {
                ticket_id: 7,
                reason: Reason::Tag
            }
        );
    }

    #[test]
    fn tag_from_another_sender_is_ignored() {
        let evidence = Evidence {
            tagged: vec![tagged(7, "alice@example.com")],
            ..Default::default()
        };
        assert_eq!(
            place("mallory@example.com", &evidence),
            Placement::NewTicket
        );
        let with_subject = Evidence {
            by_subject: Some(9),
            ..evidence
        };
        assert_eq!(
            place("mallory@example.com", &with_subject),
            Placement::Existing {
                ticket_id: 9,
                reason: Reason::Subject
            }
        );
    }

    #[test]
    fn references_before_subject() {
        let evidence = Evidence {
            by_reference: Some(3),
            by_subject: Some(4),
            ..Default::default()
        };
        assert_eq!(
            place("bob@example.com", &evidence),
            Placement::Existing {
                ticket_id: 3,
                reason: Reason::Reference
            }
        );
    }
}
