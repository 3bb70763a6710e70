//! Separating the new text of a reply from quoted history and signatures. Pure.
//!
//! The cut is made at the first line that starts the quoted history (a quote header such as
//! "On … wrote:" / "Le … a écrit :", an Outlook header block or separator, or a `>` block) or a
//! signature (`-- `, "Sent from my iPhone"...). When unsure the text is kept: losing a customer's
//! words is worse than showing a quote.

use std::sync::LazyLock;

use regex::Regex;

/// A line that opens quoted history on its own.
static QUOTE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            -{2,}\s*(?:original\ message|message\ d'origine|mensaje\ original|messaggio\ originale|ursprüngliche\ nachricht|forwarded\ message|message\ transféré|message\ transf[ée]r[ée])\s*-{2,}
          | _{10,}
          | (?:on|le|am|el|il|op)\s.{4,200}(?:wrote|a\ écrit|a\ ecrit|schrieb|escribió|escribio|ha\ scritto|schreef)\s*:?\s*$
          | (?:from|de|von|da|van)\s*:\s*.+(?:\r?\n)?
        )",
    )
    .expect("quote header regex")
});

/// The first line of a quote header that mail clients wrap over two lines ("On Mon, … at 10:00, Alice <a@x>" / "wrote:").
static WRAPPED_HEADER_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:on|le|am|el|il)\s.{4,200}$").expect("wrapped header regex")
});
static WRAPPED_HEADER_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^.{0,120}(?:wrote|a écrit|a ecrit|schrieb|escribió|ha scritto)\s*:\s*$")
        .expect("wrapped end regex")
});

/// Outlook's header block: "From:"/"De :" followed within a few lines by "Sent:"/"Envoyé :" or "Date:".
static OUTLOOK_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(?:from|de|von|da)\s*\*?\s*:\s*\S").expect("outlook from regex")
});
static OUTLOOK_NEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(?:sent|envoyé|envoye|date|gesendet|enviado|inviato|to|à|a|objet|subject)\s*\*?\s*:").expect("outlook next regex")
});

static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            --\s*$
          | (?:sent|envoyé|envoye|get\ outlook|télécharger\ outlook|obtenir\ outlook)\ (?:from|de|depuis|for|pour)\ .{0,40}$
          | envoyé\ de\ mon\ .{0,30}$
          | sent\ from\ my\ .{0,30}$
          | __\s*$
        )",
    )
    .expect("signature regex")
});

/// Returns the new text of `text` (a plain-text body): everything before the quoted history or
/// signature, trimmed. Returns the whole text when cutting would leave nothing.
pub fn extract_new_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let cut = first_history_line(&lines).unwrap_or(lines.len());
    let kept = lines[..cut].join("\n");
    let kept = kept.trim();
    if kept.is_empty() {
        text.trim().to_string()
    } else {
        kept.to_string()
    }
}

fn first_history_line(lines: &[&str]) -> Option<usize> {
    for (i, line) in lines.iter().enumerate() {
        if is_quote_start(lines, i) || SIGNATURE.is_match(line) {
            return Some(i);
        }
        if line.trim_start().starts_with('>') && quoted_block_follows(lines, i) {
            return Some(i);
        }
    }
    None
}

fn is_quote_start(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    if OUTLOOK_FROM.is_match(line) {
        // A lone "De : Marie" in a sentence is not a header: require a second header line.
        return lines[i + 1..]
            .iter()
            .take(3)
            .any(|next| OUTLOOK_NEXT.is_match(next));
    }
    if QUOTE_HEADER.is_match(line) {
        return true;
    }
    WRAPPED_HEADER_START.is_match(line)
        && lines
            .get(i + 1)
            .is_some_and(|next| WRAPPED_HEADER_END.is_match(next))
}

/// A `>` line starts history only when what follows is quotes (or blank) to the end, so a
/// customer's inline answers between quotes are kept.
fn quoted_block_follows(lines: &[&str], i: usize) -> bool {
    lines[i..]
        .iter()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('>') || SIGNATURE.is_match(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        assert_eq!(extract_new_text(text), expected, "\n--- input:\n{text}");
    }

    #[test]
    fn gmail_french_and_english() {
        check(
            "Merci, c'est reçu.\n\nLe lun. 3 juin 2024 à 10:00, Boutique <sav@shop.fr> a écrit :\n> Bonjour\n> Votre colis",
            "Merci, c'est reçu.",
        );
        check(
            "Thanks!\n\nOn Mon, Jun 3, 2024 at 10:00 AM Shop <sav@shop.com> wrote:\n> Hello",
            "Thanks!",
        );
        check(
            "Thanks!\n\nOn Mon, Jun 3, 2024 at 10:00 AM Customer Service Team of the Shop\n<sav@shop.com> wrote:\n> Hello",
            "Thanks!",
        );
    }

    #[test]
    fn outlook_blocks() {
        check(
            "Bonjour,\nvoici la photo.\nCordialement,\nMarie\n\nDe : SAV Boutique <sav@shop.fr>\nEnvoyé : lundi 3 juin 2024 10:00\nÀ : Marie\nObjet : RE: commande",
            "Bonjour,\nvoici la photo.\nCordialement,\nMarie",
        );
        check(
            "Ok pour moi.\n\n-----Original Message-----\nFrom: Shop\nSent: Monday",
            "Ok pour moi.",
        );
        check(
            "D'accord.\n-----Message d'origine-----\nDe : SAV",
            "D'accord.",
        );
        check(
            "Fine.\n________________________________\nFrom: Shop <s@x>\nSent: Monday",
            "Fine.",
        );
        check(
            "Reply here\n\nFrom: Shop <s@x>\nDate: Monday 3 June\nSubject: x\n\nold",
            "Reply here",
        );
    }

    #[test]
    fn apple_mail_and_thunderbird() {
        check(
            "Parfait merci\n\n> Le 3 juin 2024 à 10:00, SAV <sav@shop.fr> a écrit :\n> \n> Bonjour",
            "Parfait merci",
        );
        check(
            "Super.\n\nLe 03/06/2024 à 10:00, SAV a écrit :\n> Bonjour",
            "Super.",
        );
        check(
            "Great.\n\nOn Jun 3, 2024, at 10:00, Shop <s@x.com> wrote:\n\n> Hello",
            "Great.",
        );
    }

    #[test]
    fn signatures_and_mobile_footers() {
        check(
            "Où est mon colis ?\n\nEnvoyé de mon iPhone",
            "Où est mon colis ?",
        );
        check("Where is it?\n\nSent from my Galaxy", "Where is it?");
        check("Merci\n-- \nJean Dupont\n06 12 34 56 78", "Merci");
        check("Thanks\n\nGet Outlook for iOS", "Thanks");
    }

    #[test]
    fn keeps_words_that_only_look_like_headers() {
        check(
            "De : ma part, merci pour tout.\nBonne journée",
            "De : ma part, merci pour tout.\nBonne journée",
        );
        check(
            "Le colis est arrivé, il est abîmé.",
            "Le colis est arrivé, il est abîmé.",
        );
        check(
            "> quoted question\nmy answer\n> another quote\nsecond answer",
            "> quoted question\nmy answer\n> another quote\nsecond answer",
        );
        check("> everything is quoted", "> everything is quoted");
        check("", "");
    }
}
