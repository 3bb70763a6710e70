//! The subject of our answers: one `Re:` and the ticket's tag, whatever the customer's mail
//! client piled up before.

use std::sync::LazyLock;

use regex::Regex;

/// Reply and forward prefixes of common mail clients: English, French (with or without the
/// space before the colon, accented or not, "Rép." of some French webmails), German (AW, WG),
/// Nordic (SV, VS), Dutch (Antw, Doorst), Italian (R, RIF, I), Spanish and Portuguese (RV, ENC),
/// Polish (ODP), optionally numbered ("Re[2]:", "Re(2):").
static REPLY_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:re|ré|r|rép\.?|rep\.?|aw|sv|vs|antw|doorst|rif|ref|réf|i|tr|trs|fw|fwd|wg|enc|rv|odp)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*",
    )
    .expect("reply prefix regex")
});

/// A ticket tag as threading reads it (`[1527]` or `[#1527]`). Every such tag is removed, not
/// only ours: threading would read a stranger's tag in our subject as a claim on another ticket.
static TICKET_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[#?\d{1,12}\]").expect("ticket tag regex"));

/// The subject of our answer on ticket `ticket_number`: `Re: [1527] original subject`.
///
/// Leading reply/forward prefixes and ticket tags (in any order and number) are removed, so
/// answers never read "Re: Re: [1527] [1527] …"; line breaks and control characters become
/// spaces so the subject cannot break the header it goes into.
pub fn reply_subject(ticket_number: i64, original: &str) -> String {
    let one_line: String = original
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let without_tags = TICKET_TAG.replace_all(&one_line, " ");
    let mut rest: &str = &without_tags;
    loop {
        let trimmed = rest.trim_start();
        match REPLY_PREFIX.find(trimmed) {
            Some(prefix) => rest = &trimmed[prefix.end()..],
            None => {
                rest = trimmed;
                break;
            }
        }
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    if words.is_empty() {
        format!("Re: [{ticket_number}]")
    } else {
        format!("Re: [{ticket_number}] {}", words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_prefix_and_tag_to_a_plain_subject() {
        assert_eq!(
            reply_subject(1527, "Où est ma commande ?"),
            "Re: [1527] Où est ma commande ?"
        );
    }

    #[test]
    fn strips_prefixes_of_many_languages_and_spacings() {
        for original in [
            "Re: Ma commande",
            "RE : Ma commande",
            "re:Ma commande",
            "Ré : Ma commande",
            "RÉ: Ma commande",
            "TR: Ma commande",
            "TR : RE : Ma commande",
            "Fwd: Ma commande",
            "FW: Ma commande",
            "Fw : Ma commande",
            "AW: Ma commande",
            "WG: AW: Ma commande",
            "SV: Ma commande",
            "Antw: Ma commande",
            "R: Ma commande",
            "RIF: Ma commande",
            "Rép. : Ma commande",
            "Rép.: Ma commande",
            "Re[2]: Ma commande",
            "Re(3) : Ma commande",
            "Re\u{a0}: Ma commande",
            "Re\u{202f}: Ma commande",
            "  Re: Re: Re:   Ma   commande  ",
        ] {
            assert_eq!(
                reply_subject(1527, original),
                "Re: [1527] Ma commande",
                "{original:?}"
            );
        }
    }

    #[test]
    fn strips_existing_tags_wherever_they_are() {
        for original in [
            "Re: [1527] Ma commande",
            "Re: [#1527] Ma commande",
            "[#1527] Re: Ma commande",
            "RE: [#1527] RE: [1527] Ma commande",
            "Ma commande [#1527]",
            "Re: [#999] Ma commande",
        ] {
            assert_eq!(
                reply_subject(1527, original),
                "Re: [1527] Ma commande",
                "{original:?}"
            );
        }
    }

    #[test]
    fn keeps_words_that_only_look_like_prefixes() {
        assert_eq!(
            reply_subject(1001, "Retour produit"),
            "Re: [1001] Retour produit"
        );
        assert_eq!(
            reply_subject(1001, "Irene: question"),
            "Re: [1001] Irene: question"
        );
        assert_eq!(
            reply_subject(1001, "Commande #1527 (2 articles)"),
            "Re: [1001] Commande #1527 (2 articles)"
        );
        assert_eq!(
            reply_subject(1001, "Refund please"),
            "Re: [1001] Refund please"
        );
    }

    #[test]
    fn empty_or_prefix_only_subject_gives_the_tag_alone() {
        assert_eq!(reply_subject(1527, ""), "Re: [1527]");
        assert_eq!(reply_subject(1527, "   "), "Re: [1527]");
        assert_eq!(reply_subject(1527, "Re:"), "Re: [1527]");
        assert_eq!(reply_subject(1527, "RE: [#1527]"), "Re: [1527]");
    }

    #[test]
    fn line_breaks_cannot_reach_the_header() {
        let subject = reply_subject(7, "Bonjour\r\nBcc: victim@example.com");
        assert!(!subject.contains('\r') && !subject.contains('\n'));
        assert_eq!(subject, "Re: [7] Bonjour Bcc: victim@example.com");
    }
}
