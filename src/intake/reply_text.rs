//! Separating the new text of a reply from quoted history and signatures. Pure.
//!
//! The rules are deliberately conservative: a line is treated as the start of history only
//! when it looks unmistakably like a mail client's quote header, separator or `>` block.
//! When in doubt the text is kept, because losing a customer's words is worse than showing
//! a little history.

use std::sync::LazyLock;

use regex::Regex;

/// Quote headers longer than this are sentences, not headers.
const MAX_QUOTE_HEADER_CHARS: usize = 300;
/// How many lines after "From:" the "Sent:"/"Date:" line of an Outlook block may appear.
const OUTLOOK_BLOCK_LOOKAHEAD: usize = 4;
/// Bottom-posted replies may nest a few levels; more is not worth following.
const MAX_BOTTOM_POST_DEPTH: usize = 3;

/// "On … wrote:", "Le … a écrit :", and the German, Spanish, Italian and Dutch forms.
static QUOTE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(on\s.+\swrote|le\s.+\sa\s+[ée]crit|am\s.+\sschrieb|el\s.+\sescribi[óo]|il\s.+\sha\s+scritto|op\s.+\sschreef)\s*:\s*$",
    )
    .expect("valid regex")
});

/// The first word of a quote header, to know when to try joining a wrapped header.
static QUOTE_HEADER_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(on|le|am|el|il|op)\s").expect("valid regex"));

/// Outlook, AOL, Yahoo and forward separators in several languages.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(-{2,}\s*(original message|message d['’]origine|ursprüngliche nachricht|mensaje original|messaggio originale|forwarded message|message transféré|mensaje reenviado|weitergeleitete nachricht|messaggio inoltrato)\s*-{2,}|(begin forwarded message|début du message réexpédié)\s*:)\s*$",
    )
    .expect("valid regex")
});

/// Outlook's `________________________________` line above a "From:" block.
static UNDERSCORE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*_{10,}\s*$").expect("valid regex"));

/// First line of an Outlook header block ("From:", "De :", "*From:*" in converted HTML).
static BLOCK_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(from|de|von|da)\*?\s*:\s*\*?\s*\S").expect("valid regex")
});

/// The "Sent:"/"Envoyé :"/"Date:" line that confirms an Outlook header block.
static BLOCK_SENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*\*?(sent|date|envoyé|gesendet|datum|enviado|fecha|inviato|data)\*?\s*:\s*\*?\s*\S",
    )
    .expect("valid regex")
});

/// What an attribution line mentions: an address, a date (03/06/2024, 2024-06-03) or a time.
static DATE_TIME_OR_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"@|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}").expect("valid regex")
});

/// A line cut inside "Name <address>" or after "date,", continued on the next line.
static WRAPPED_ATTRIBUTION_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(<|,)\s*$").expect("valid regex"));

static QUOTED_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*>").expect("valid regex"));

/// RFC 3676 signature delimiter ("-- "); a bare "--" is accepted as clients trim it.
static SIGNATURE_DELIMITER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^--\s?$").expect("valid regex"));

/// Device and client sign-offs added automatically under the customer's words.
static AUTOMATIC_SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(sent from my .{1,40}|sent from (mail|outlook|yahoo mail|gmail|samsung) .{0,40}|sent from (outlook|yahoo mail|gmail)|envoyé (de|depuis) (mon|ma) .{1,40}|envoyé depuis (outlook|yahoo mail|gmail|mail)( .{0,40})?|envoyé à partir de .{1,40}|get outlook for .{1,20}|obtenir outlook pour .{1,20}|télécharger outlook pour .{1,20}|gesendet von meinem .{1,40}|enviado desde mi .{1,40}|inviato da(l mio)? .{1,40})\s*$",
    )
    .expect("valid regex")
});

/// What kind of history starts at a line: it decides what to do when nothing precedes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HistoryKind {
    /// A quote header or `>` block: a bottom-posted reply may follow it.
    Quotation,
    /// An Outlook/forward separator: everything after it is the old message.
    Separator,
}

/// Returns the new text of `text` (a plain-text body): everything before the first quote
/// header ("On … wrote:", "Le … a écrit :", "-----Original Message-----", "De : … Envoyé : …"),
/// `>`-quoted block or signature delimiter, trimmed.
///
/// When stripping would leave nothing, returns the trimmed original.
pub fn extract_new_text(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = normalized.lines().collect();
    let new_text = new_text_of_lines(&lines, 0);
    if new_text.is_empty() {
        text.trim().to_string()
    } else {
        new_text
    }
}

fn new_text_of_lines(lines: &[&str], depth: usize) -> String {
    let Some((start, kind)) = history_start(lines) else {
        return join_trimmed(without_signature(lines));
    };
    let before = without_signature(&lines[..start]);
    if !is_blank(before) {
        return join_trimmed(before);
    }
    if kind == HistoryKind::Quotation && depth < MAX_BOTTOM_POST_DEPTH {
        // Nothing above the quotation: the customer may have answered below it.
        let below = unquoted_lines(&lines[start..]);
        return new_text_of_lines(&below, depth + 1);
    }
    String::new()
}

/// The lines of `history` that are neither `>`-quoted nor part of a quote header.
fn unquoted_lines<'a>(history: &[&'a str]) -> Vec<&'a str> {
    let mut kept = Vec::new();
    let mut index = 0;
    while index < history.len() {
        if let Some(header_len) = quote_header_len(history, index) {
            index += header_len;
            continue;
        }
        if !QUOTED_LINE.is_match(history[index]) {
            kept.push(history[index]);
        }
        index += 1;
    }
    kept
}

/// The first line where quoted history starts, and its kind.
fn history_start(lines: &[&str]) -> Option<(usize, HistoryKind)> {
    for index in 0..lines.len() {
        let line = lines[index];
        if SEPARATOR.is_match(line) || is_outlook_block(lines, index) {
            return Some((index, HistoryKind::Separator));
        }
        if UNDERSCORE_LINE.is_match(line)
            && lines[index + 1..]
                .iter()
                .filter(|next| !next.trim().is_empty())
                .take(3)
                .any(|next| BLOCK_FROM.is_match(next))
        {
            return Some((index, HistoryKind::Separator));
        }
        if quote_header_len(lines, index).is_some() {
            return Some((index, HistoryKind::Quotation));
        }
        if QUOTED_LINE.is_match(line) {
            return Some((attribution_above(lines, index), HistoryKind::Quotation));
        }
    }
    None
}

/// "From: …" followed within a few lines by "Sent: …" (or the French, German… forms).
fn is_outlook_block(lines: &[&str], index: usize) -> bool {
    BLOCK_FROM.is_match(lines[index])
        && lines[index + 1..]
            .iter()
            .take(OUTLOOK_BLOCK_LOOKAHEAD)
            .any(|next| BLOCK_SENT.is_match(next))
}

/// Number of lines (1 to 3) of the quote header starting at `index`, if there is one.
/// Gmail wraps long headers ("… <\njean@example.com> wrote:"), hence the joining.
fn quote_header_len(lines: &[&str], index: usize) -> Option<usize> {
    let first = lines[index];
    if !QUOTE_HEADER_START.is_match(first) || !first.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut joined = String::new();
    for (offset, line) in lines[index..].iter().take(3).enumerate() {
        if offset > 0 {
            if line.trim().is_empty() {
                return None;
            }
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if joined.chars().count() > MAX_QUOTE_HEADER_CHARS {
            return None;
        }
        if QUOTE_HEADER.is_match(&joined) {
            return Some(offset + 1);
        }
    }
    None
}

/// Above a `>` block, an attribution line in any language ("02.04.2012 X написал:") ends
/// with a colon and names a date, a time or an address; it belongs to the history.
fn attribution_above(lines: &[&str], quoted_index: usize) -> usize {
    let mut last = quoted_index;
    while last > 0 && lines[last - 1].trim().is_empty() {
        last -= 1;
    }
    let Some(last) = last.checked_sub(1) else {
        return quoted_index;
    };
    let attribution = lines[last].trim_end();
    if !attribution.ends_with(':')
        || attribution.chars().count() > MAX_QUOTE_HEADER_CHARS
        || !DATE_TIME_OR_ADDRESS.is_match(attribution)
    {
        return quoted_index;
    }
    // A wrapped attribution: the line above ends in the middle of "Name <address>".
    match last.checked_sub(1) {
        Some(above) if WRAPPED_ATTRIBUTION_END.is_match(lines[above]) => above,
        _ => last,
    }
}

/// Cuts the signature ("-- ") and automatic sign-offs ("Sent from my iPhone").
fn without_signature<'a, 'b>(lines: &'b [&'a str]) -> &'b [&'a str] {
    let end = lines
        .iter()
        .position(|line| SIGNATURE_DELIMITER.is_match(line) || AUTOMATIC_SIGN_OFF.is_match(line))
        .unwrap_or(lines.len());
    &lines[..end]
}

fn is_blank(lines: &[&str]) -> bool {
    lines.iter().all(|line| line.trim().is_empty())
}

fn join_trimmed(lines: &[&str]) -> String {
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::extract_new_text;

    fn check(input: &str, expected: &str) {
        assert_eq!(extract_new_text(input), expected, "input:\n{input}");
    }

    #[test]
    fn plain_message_is_kept_whole() {
        check(
            "Bonjour,\n\nJe n'ai pas reçu ma commande n°10452.\n\nCordialement,\nMarie Dubois\n",
            "Bonjour,\n\nJe n'ai pas reçu ma commande n°10452.\n\nCordialement,\nMarie Dubois",
        );
    }

    #[test]
    fn gmail_english_header() {
        check(
            "Thanks, it arrived today.\n\nOn Mon, 3 Jun 2024 at 10:00, Shop Support <support@shop.example> wrote:\n> Your parcel has shipped.\n",
            "Thanks, it arrived today.",
        );
    }

    #[test]
    fn gmail_english_header_wrapped_over_two_lines() {
        check(
            "Still nothing in my letterbox.\n\nOn Mon, 3 Jun 2024 at 10:00, Shop Support <\nsupport@shop.example> wrote:\n\n> Your parcel has shipped.\n",
            "Still nothing in my letterbox.",
        );
    }

    #[test]
    fn gmail_french_header() {
        check(
            "Merci beaucoup, c'est parfait.\n\nLe lun. 3 juin 2024 à 10:00, Service client <support@boutique.fr> a écrit :\n> Votre colis est parti.\n",
            "Merci beaucoup, c'est parfait.",
        );
    }

    #[test]
    fn gmail_french_header_wrapped_before_ecrit() {
        check(
            "Bonjour,\nle colis est arrivé abîmé.\n\nLe lun. 3 juin 2024 à 10:00, Service client <support@boutique.fr> a\nécrit :\n\n> Bonjour Madame,\n",
            "Bonjour,\nle colis est arrivé abîmé.",
        );
    }

    #[test]
    fn gmail_french_header_with_non_breaking_space() {
        check(
            "D'accord.\n\nLe mar. 4 juin 2024 à 09:12, Boutique <contact@boutique.fr> a écrit\u{a0}:\n> Bonjour\n",
            "D'accord.",
        );
    }

    #[test]
    fn apple_mail_french_and_english() {
        check(
            "Je confirme l'adresse.\n\n> Le 3 juin 2024 à 10:00, Boutique <contact@boutique.fr> a écrit :\n>\n> Pouvez-vous confirmer ?\n",
            "Je confirme l'adresse.",
        );
        check(
            "Yes please.\n\nLe 3 juin 2024 à 10:00, Boutique a écrit :\n\n> Souhaitez-vous un échange ?\n",
            "Yes please.",
        );
        check(
            "Yes, exchange it.\n\nOn Jun 3, 2024, at 10:00, Shop wrote:\n\n> Would you like an exchange?\n",
            "Yes, exchange it.",
        );
    }

    #[test]
    fn thunderbird_french_header() {
        check(
            "Voici la photo demandée.\n\nLe 03/06/2024 à 10:00, Service client a écrit :\n> Pouvez-vous nous envoyer une photo ?\n",
            "Voici la photo demandée.",
        );
    }

    #[test]
    fn outlook_original_message_separators() {
        check(
            "Please cancel the order.\n\n-----Original Message-----\nFrom: Shop <support@shop.example>\nSent: Monday, June 3, 2024 10:00 AM\nSubject: Your order\n\nThank you for your order.\n",
            "Please cancel the order.",
        );
        check(
            "Merci d'annuler la commande.\n\n-----Message d'origine-----\nDe : Boutique <contact@boutique.fr>\nEnvoyé : lundi 3 juin 2024 10:00\nObjet : Votre commande\n",
            "Merci d'annuler la commande.",
        );
    }

    #[test]
    fn outlook_header_block_french_with_underscores() {
        check(
            "Bonjour,\n\nToujours rien reçu.\n\nBien à vous,\nPaul\n\n________________________________\nDe : Boutique <contact@boutique.fr>\nEnvoyé : lundi 3 juin 2024 10:00\nÀ : Paul Martin <paul@exemple.fr>\nObjet : RE: Commande 10452\n\nBonjour Paul,\n",
            "Bonjour,\n\nToujours rien reçu.\n\nBien à vous,\nPaul",
        );
    }

    #[test]
    fn outlook_header_block_english_without_separator() {
        check(
            "Hi, the tracking link does not work.\n\nFrom: Shop Support <support@shop.example>\nSent: Monday, June 3, 2024 10:00\nTo: Ann <ann@example.com>\nSubject: Shipped\n\nHello Ann,\n",
            "Hi, the tracking link does not work.",
        );
        check(
            "Got it.\n\n*From:* Shop Support <support@shop.example>\n*Sent:* Monday, June 3, 2024 10:00\n",
            "Got it.",
        );
    }

    #[test]
    fn quoted_block_after_text() {
        check(
            "Yes, size M please.\n\n> Which size would you like?\n> The shop team\n",
            "Yes, size M please.",
        );
    }

    #[test]
    fn bottom_posted_reply_is_found_below_the_quote() {
        check(
            "On 04/02/2012 06:26 PM, Shop wrote:\n> Which size?\nSize M.\n",
            "Size M.",
        );
    }

    #[test]
    fn attribution_in_another_language_above_quote() {
        check(
            "Hello\n02.04.2012 14:20 пользователь \"bob@example.org\" <\nbob@example.org> написал:\n\n> Hi\n",
            "Hello",
        );
    }

    #[test]
    fn colon_line_without_date_before_quote_is_kept() {
        check(
            "Here is what you told me:\n> Delivery in 3 days\nIt has been two weeks.\n",
            "Here is what you told me:",
        );
    }

    #[test]
    fn signature_delimiter_is_removed() {
        check(
            "Where is my parcel?\n\n-- \nJohn Smith\nACME Ltd\n",
            "Where is my parcel?",
        );
    }

    #[test]
    fn device_sign_offs_are_removed() {
        check("Merci !\n\nEnvoyé de mon iPhone\n", "Merci !");
        check(
            "Thanks!\n\nSent from my iPhone\n\nOn Jun 3, 2024, at 10:00, Shop <s@shop.example> wrote:\n> Hi\n",
            "Thanks!",
        );
        check("Ok pour moi.\n\nEnvoyé depuis Outlook\n", "Ok pour moi.");
        check("Ok.\n\nGet Outlook for iOS\n", "Ok.");
        check("D'accord.\n\nObtenir Outlook pour Android\n", "D'accord.");
    }

    #[test]
    fn polite_closing_is_kept() {
        check(
            "Bonjour,\nje voudrais un remboursement.\nCordialement,\nMarie\n\nLe 3 juin 2024 à 10:00, Boutique a écrit :\n> Bonjour\n",
            "Bonjour,\nje voudrais un remboursement.\nCordialement,\nMarie",
        );
    }

    #[test]
    fn french_sentence_starting_with_le_is_not_a_header() {
        check(
            "Le colis est arrivé le 3 juin mais la boîte était ouverte.\nLe livreur a écrit sur le bon : colis abîmé.\n",
            "Le colis est arrivé le 3 juin mais la boîte était ouverte.\nLe livreur a écrit sur le bon : colis abîmé.",
        );
    }

    #[test]
    fn german_spanish_italian_headers() {
        check(
            "Danke.\n\nAm 03.06.2024 um 10:00 schrieb Shop <s@shop.example>:\n> Hallo\n",
            "Danke.",
        );
        check(
            "Gracias.\n\nEl lun, 3 jun 2024 a las 10:00, Shop (<s@shop.example>) escribió:\n> Hola\n",
            "Gracias.",
        );
        check(
            "Grazie.\n\nIl giorno lun 3 giu 2024 alle ore 10:00 Shop <s@shop.example> ha scritto:\n> Ciao\n",
            "Grazie.",
        );
    }

    #[test]
    fn forwarded_message_separator() {
        check(
            "See below, I never got an answer.\n\n---------- Forwarded message ---------\nFrom: Me <me@example.com>\nDate: Mon, 3 Jun 2024\n",
            "See below, I never got an answer.",
        );
        check(
            "Voir ci-dessous.\n\n-------- Message transféré --------\nSujet : Commande\n",
            "Voir ci-dessous.",
        );
    }

    #[test]
    fn everything_stripped_returns_trimmed_original() {
        check(
            "-----Original Message-----\nFrom: a@b.c\nSent: today\n\nHello\n",
            "-----Original Message-----\nFrom: a@b.c\nSent: today\n\nHello",
        );
        check("  \n", "");
        check("", "");
    }

    #[test]
    fn crlf_line_endings() {
        check(
            "Merci.\r\n\r\nLe 3 juin 2024 à 10:00, Boutique a écrit :\r\n> Bonjour\r\n",
            "Merci.",
        );
    }

    #[test]
    fn from_line_in_a_sentence_is_kept() {
        check(
            "From: my account page, the order shows as delivered.\nBut I have nothing.\n",
            "From: my account page, the order shows as delivered.\nBut I have nothing.",
        );
        check(
            "De : votre part, aucune nouvelle depuis une semaine.\nMerci de me répondre.\n",
            "De : votre part, aucune nouvelle depuis une semaine.\nMerci de me répondre.",
        );
    }

    #[test]
    fn hotmail_quoted_headers() {
        check(
            "Hello, any news?\n\n> Subject: Test\n> From: support@shop.example\n> Date: Mon, 2 Apr 2012 17:44:22 +0400\n>\n> Hi\n",
            "Hello, any news?",
        );
    }

    #[test]
    fn outlook_english_with_underscore_separator() {
        check(
            "I would like a refund instead.\n\nBest regards,\nTom\n________________________________\nFrom: Shop Support <support@shop.example>\nSent: Tuesday, June 4, 2024 3:12 PM\nTo: Tom <tom@example.com>\nSubject: RE: Exchange\n",
            "I would like a refund instead.\n\nBest regards,\nTom",
        );
    }

    #[test]
    fn header_with_text_after_colon_is_not_a_quote_header() {
        check(
            "Le 3 juin, le livreur a écrit : « destinataire absent ».\nOr j'étais chez moi.\n",
            "Le 3 juin, le livreur a écrit : « destinataire absent ».\nOr j'étais chez moi.",
        );
    }

    #[test]
    fn underscore_line_without_header_block_is_kept() {
        check(
            "Commande :\n__________\nRobe rouge, taille 38\n",
            "Commande :\n__________\nRobe rouge, taille 38",
        );
    }

    #[test]
    fn nested_bottom_posting_stops_safely() {
        check("> a\n> b\n", "> a\n> b");
        check(
            "On Mon, Jun 3, 2024 at 10:00 AM, X <x@y.example> wrote:\n",
            "On Mon, Jun 3, 2024 at 10:00 AM, X <x@y.example> wrote:",
        );
    }
}
