//! Separating the new text of a reply from quoted history and signatures. Pure.
//!
//! The rules are deliberately conservative: a line is treated as the start of history only
//! when it looks unmistakably like a mail client's quote header, separator or `>` block.
//! When in doubt the text is kept, because losing a customer's words is worse than showing
//! a little history.

use std::sync::LazyLock;

use regex::Regex;

/// A regex compiled on first use from one of this file's constant patterns.
macro_rules! lazy_regex {
    ($pattern:expr) => {
        LazyLock::new(|| Regex::new($pattern).expect("valid regex"))
    };
}

/// Quote headers longer than this are sentences, not headers.
const MAX_QUOTE_HEADER_CHARS: usize = 300;
/// How many lines after "From:" the "Sent:"/"Date:" line of an Outlook block may appear.
const OUTLOOK_BLOCK_LOOKAHEAD: usize = 4;
/// Bottom-posted replies may nest a few levels; more is not worth following.
const MAX_BOTTOM_POST_DEPTH: usize = 3;

/// "On … wrote:", "Le … a écrit :", and the German, Spanish, Italian and Dutch forms.
static QUOTE_HEADER: LazyLock<Regex> = lazy_regex!(
    r"(?i)^\s*(on\s.+\swrote|le\s.+\sa\s+[ée]crit|am\s.+\sschrieb|el\s.+\sescribi[óo]|il\s.+\sha\s+scritto|op\s.+\sschreef)\s*:\s*$"
);

/// The first word of a quote header, to know when to try joining a wrapped header.
static QUOTE_HEADER_START: LazyLock<Regex> = lazy_regex!(r"(?i)^\s*(on|le|am|el|il|op)\s");

/// Outlook, AOL, Yahoo, Zimbra and forward separators in several languages.
static SEPARATOR: LazyLock<Regex> = lazy_regex!(
    r"(?i)^\s*([-–—]{2,}\s*(original message|original mail|mail original|message original|mail transféré|message d['’]origine|ursprüngliche nachricht|mensaje original|messaggio originale|forwarded message|message transféré|mensaje reenviado|weitergeleitete nachricht|messaggio inoltrato)\s*[-–—]{2,}|(begin forwarded message|début du message réexpédié)\s*:)\s*$"
);

/// A dashed title line ("----- Mail original -----", "-- Original --") above a header block.
static DASHED_TITLE: LazyLock<Regex> = lazy_regex!(r"^\s*[-–—]{2,}[^-–—]{1,40}[-–—]{2,}\s*$");

/// Outlook's `________________________________` line above a "From:" block.
static UNDERSCORE_LINE: LazyLock<Regex> = lazy_regex!(r"^\s*_{10,}\s*$");

/// First line of an Outlook header block ("From:", "De :", "*From:*" in converted HTML).
static BLOCK_FROM: LazyLock<Regex> = lazy_regex!(r"(?i)^\s*\*?(from|de|von|da)\*?\s*:\s*\*?\s*\S");

/// The "Sent:"/"Envoyé :"/"Date:" line that confirms an Outlook header block.
static BLOCK_SENT: LazyLock<Regex> = lazy_regex!(
    r"(?i)^\s*\*?(sent|date|envoyé|gesendet|datum|enviado|fecha|inviato|data)\*?\s*:\s*\*?\s*\S"
);

/// What an attribution line mentions: an address, a date (03/06/2024, 2024-06-03) or a time.
static DATE_TIME_OR_ADDRESS: LazyLock<Regex> =
    lazy_regex!(r"@|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}");

/// A line cut inside "Name <address>" or after "date,", continued on the next line.
static WRAPPED_ATTRIBUTION_END: LazyLock<Regex> = lazy_regex!(r"(<|,)\s*$");

static QUOTED_LINE: LazyLock<Regex> = lazy_regex!(r"^\s*>");

/// RFC 3676 signature delimiter ("-- "); a bare "--" is accepted as clients trim it.
static SIGNATURE_DELIMITER: LazyLock<Regex> = lazy_regex!(r"^--\s?$");

/// Device and client sign-offs added automatically under the customer's words.
static AUTOMATIC_SIGN_OFF: LazyLock<Regex> = lazy_regex!(
    r"(?i)^\s*(sent from my .{1,40}|sent from (mail|outlook|yahoo mail|gmail|samsung) .{0,40}|sent from (outlook|yahoo mail|gmail)|envoyé (de|depuis) (mon|ma) .{1,40}|envoyé depuis (outlook|yahoo mail|gmail|mail)( .{0,40})?|envoyé à partir de .{1,40}|get outlook for .{1,20}|obtenir outlook pour .{1,20}|télécharger outlook pour .{1,20}|gesendet von meinem .{1,40}|enviado desde mi .{1,40}|inviato da(l mio)? .{1,40})\s*$"
);

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

/// A plain-text body split for display: the new text shown, and the rest (quoted history,
/// signature) kept for a collapsed "quoted text" block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedText {
    /// What [`extract_new_text`] returns.
    pub new: String,
    /// Everything else, trimmed: what follows the new text, or the whole message when the new
    /// text was not at its top (a bottom-posted reply). `None` when nothing was cut.
    pub quoted: Option<String>,
}

/// Splits `text` into its new text and the rest, so that nothing is lost: the new text plus
/// `quoted` always hold every word of the message.
pub fn split_quoted_text(text: &str) -> QuotedText {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let new = extract_new_text(&normalized);
    let whole = normalized.trim();
    if new == whole {
        return QuotedText { new, quoted: None };
    }
    let rest = match normalized.find(new.as_str()) {
        Some(at) if normalized[..at].trim().is_empty() => normalized[at + new.len()..].trim(),
        _ => whole,
    };
    QuotedText {
        new,
        quoted: (!rest.is_empty()).then(|| rest.to_string()),
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
        if SEPARATOR.is_match(line) {
            return Some((index, HistoryKind::Separator));
        }
        if is_outlook_block(lines, index) {
            return Some((dashed_title_above(lines, index), HistoryKind::Separator));
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

/// A header block may sit under a dashed title line in any language; the title is history too.
fn dashed_title_above(lines: &[&str], block_index: usize) -> usize {
    let mut above = block_index;
    while above > 0 && lines[above - 1].trim().is_empty() {
        above -= 1;
    }
    match above.checked_sub(1) {
        Some(title) if DASHED_TITLE.is_match(lines[title]) => title,
        _ => block_index,
    }
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
/// Then cuts a signature block typed without "-- " under the closing formula and the name
/// ("Cordialement,\nClaire Martin\nResponsable achats\n01 23 45 67 89"): the sign-off stays.
fn without_signature<'a, 'b>(lines: &'b [&'a str]) -> &'b [&'a str] {
    let end = lines
        .iter()
        .position(|line| SIGNATURE_DELIMITER.is_match(line) || AUTOMATIC_SIGN_OFF.is_match(line))
        .unwrap_or(lines.len());
    let lines = &lines[..end];
    &lines[..signature_block_start(lines).unwrap_or(lines.len())]
}

/// A signature block has at most this many lines before a confidentiality notice.
const MAX_SIGNATURE_BLOCK_LINES: usize = 12;
/// A line of this many words under the name is a sentence: the customer is still writing.
const MIN_SENTENCE_WORDS: usize = 8;
/// A name under a closing formula is short.
const MAX_NAME_CHARS: usize = 50;
const MAX_NAME_WORDS: usize = 5;

/// Closing formulas typed above the name, alone on their line, in French and English.
static CLOSING: LazyLock<Regex> = lazy_regex!(
    r"(?i)^\s*((bien |très |tres )?cordialement|bien [àa] (vous|toi)|((sinc[eè]res|meilleures|bien) )?salutations( distinguées)?|bonne (journée|soirée|fin de journée|semaine)|belle journée|(bien )?amicalement|respectueusement|[àa] bientôt|merci( beaucoup| d['’]avance| par avance| encore| pour votre aide)?|d['’]avance merci|((best|kind|warm|warmest) )?regards|best( wishes)?|(many )?thanks( again| in advance)?|thank you( very much| in advance)?|cheers|(yours )?(sincerely|faithfully|truly)|all the best)\s*[,.!]*\s*$"
);

/// What only a signature holds: a phone number or its label, an address, a web site, a postal
/// code and city, a street, a job title or a company's legal form.
static SIGNATURE_EVIDENCE: LazyLock<Regex> = lazy_regex!(
    r"(?ix)
        \+?\d[\d\ .()\-]{7,}\d
        | ^\s*(t[ée]l|tel|phone|mobile|portable|fax|mob|[tmf])\s*[.:]
        | @ | https?:// | \bwww\.
        | \b\d{4,5}\s+\p{Lu}
        | \b\d{1,4}(\s*(bis|ter))?,?\s+(rue|avenue|av\.|bd|boulevard|chemin|all[ée]e|place|impasse|route|quai|street|st\.|road|rd\.|lane|ave\.?)\b
        | \b(sarl|sas|sasu|eurl|ltd|inc|gmbh|llc|plc)\b
        | \b(directeur|directrice|responsable|g[ée]rante?|fondat(eur|rice)|manager|director|ceo|cto|founder|head\ of|assistante?|comptable|acheteur|acheteuse|buyer)\b
        "
);

/// The first line of a confidentiality notice; the notice runs to the end.
static CONFIDENTIALITY_NOTICE: LazyLock<Regex> =
    lazy_regex!(r"(?i)confidenti|intended recipient|disclaimer|avertissement|destinataire");

/// "P.S.", "PS :", "P.-S." under the name: the customer is still writing.
static POSTSCRIPT: LazyLock<Regex> = lazy_regex!(r"(?i)^\s*p\.?\s*-?\s*s\b");

/// Lower-case words a name may hold: "Anne de la Tour", "Jan van Dijk".
const NAME_PARTICLES: [&str; 10] = [
    "de", "du", "des", "la", "le", "van", "von", "der", "et", "&",
];

/// Where the block under "closing formula, name" starts, if what follows the name is a
/// signature: a few short lines, at least one holding what only a signature holds (or a
/// confidentiality notice), no sentence and no postscript. Text above the closing formula and
/// the sign-off itself are never cut.
fn signature_block_start(lines: &[&str]) -> Option<usize> {
    let closing = lines.iter().rposition(|line| CLOSING.is_match(line))?;
    let name = closing
        + 1
        + lines[closing + 1..]
            .iter()
            .position(|l| !l.trim().is_empty())?;
    if !is_name(lines[name]) {
        return None;
    }
    let mut evidence = false;
    let block = lines[name + 1..]
        .iter()
        .filter(|line| !line.trim().is_empty());
    for (count, line) in block.enumerate() {
        if CONFIDENTIALITY_NOTICE.is_match(line) {
            evidence = true;
            break;
        }
        if count >= MAX_SIGNATURE_BLOCK_LINES
            || POSTSCRIPT.is_match(line)
            || line.split_whitespace().count() >= MIN_SENTENCE_WORDS
        {
            return None;
        }
        evidence |= SIGNATURE_EVIDENCE.is_match(line);
    }
    evidence.then_some(name + 1)
}

/// A few capitalised words without sentence punctuation or digits: "Claire", "J.-P. Martin".
fn is_name(line: &str) -> bool {
    let line = line.trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    line.chars().count() <= MAX_NAME_CHARS
        && words.len() <= MAX_NAME_WORDS
        && !line
            .chars()
            .any(|c| c.is_ascii_digit() || "@?!:;,".contains(c))
        && words.iter().all(|word| {
            NAME_PARTICLES.contains(&word.to_lowercase().as_str())
                || word
                    .chars()
                    .find(|c| c.is_alphabetic())
                    .is_some_and(char::is_uppercase)
        })
        && !CLOSING.is_match(line)
}

fn is_blank(lines: &[&str]) -> bool {
    lines.iter().all(|line| line.trim().is_empty())
}

fn join_trimmed(lines: &[&str]) -> String {
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::{QuotedText, extract_new_text, split_quoted_text};

    #[test]
    fn split_keeps_the_history_for_collapsing() {
        assert_eq!(
            split_quoted_text("Merci !\r\n\r\nLe 3 juin 2024 à 10:00, Boutique <sav@b.example> a écrit :\r\n> Votre colis est parti.\r\n"),
            QuotedText {
                new: "Merci !".into(),
                quoted: Some("Le 3 juin 2024 à 10:00, Boutique <sav@b.example> a écrit :\n> Votre colis est parti.".into()),
            }
        );
        assert_eq!(
            split_quoted_text("Just this.\n"),
            QuotedText {
                new: "Just this.".into(),
                quoted: None
            }
        );
        // Bottom-posted: the new text is below the quote, so the whole message is kept.
        let bottom =
            "On Mon, 3 Jun 2024 at 10:00, Shop <s@b.example> wrote:\n> Old words\n\nMy answer.";
        assert_eq!(
            split_quoted_text(bottom),
            QuotedText {
                new: "My answer.".into(),
                quoted: Some(bottom.into())
            }
        );
        // A signature is kept in the collapsed part too.
        assert_eq!(
            split_quoted_text("Oui.\n-- \nClaire\n06 12 34 56 78")
                .quoted
                .as_deref(),
            Some("-- \nClaire\n06 12 34 56 78")
        );
    }

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

    #[test]
    fn zimbra_french_separator_is_history() {
        check(
            "Bonjour,\nmerci pour la réponse.\n\n----- Mail original -----\nDe: \"Boutique\" <contact@boutique.fr>\nÀ: \"Claire\" <claire@exemple.fr>\nEnvoyé: Lundi 3 Juin 2024 10:00:00\nObjet: Re: Commande 10452\n\nBonjour Claire,\n",
            "Bonjour,\nmerci pour la réponse.",
        );
        check(
            "Voir plus bas.\n\n----- Mail transféré -----\nDe: \"Claire\" <claire@exemple.fr>\n",
            "Voir plus bas.",
        );
        check(
            "D'accord.\n\n----- Mail original -----\n\nBonjour\n",
            "D'accord.",
        );
    }

    #[test]
    fn english_original_message_variants_are_history() {
        for separator in [
            "----- Original Message -----",
            "-------- Original Message --------",
            "-----Original Mail-----",
            "—— Original Message ——",
        ] {
            check(
                &format!(
                    "Please refund me.\n\n{separator}\nFrom: Shop <s@shop.example>\nTo: Ann <ann@example.com>\nSent: Monday, June 3, 2024 10:00 AM\nSubject: Your order\n\nHello Ann,\n"
                ),
                "Please refund me.",
            );
        }
        // A dashed title in any language above a header block goes with it.
        check(
            "Obrigado.\n\n-----Mensagem original-----\nFrom: Shop <s@shop.example>\nSent: Monday, June 3, 2024 10:00 AM\n",
            "Obrigado.",
        );
    }

    #[test]
    fn french_signature_block_under_the_name_is_removed() {
        check(
            "Bonjour,\n\nJe n'ai pas reçu mon colis.\n\nCordialement,\nClaire Martin\nResponsable achats\nFleurs & Co SARL\nTél. : 01 23 45 67 89\n12 rue des Lilas, 75011 Paris\n",
            "Bonjour,\n\nJe n'ai pas reçu mon colis.\n\nCordialement,\nClaire Martin",
        );
        check(
            "Le colis est arrivé abîmé.\n\nMerci,\nClaire\n\nCe message et ses pièces jointes sont confidentiels et destinés\nexclusivement à leurs destinataires. Si vous l'avez reçu par erreur,\nmerci de le détruire et d'en avertir l'expéditeur.\n",
            "Le colis est arrivé abîmé.\n\nMerci,\nClaire",
        );
        check(
            "Je voudrais échanger la robe.\n\nBien à vous\n\nAnne de la Tour\n06 12 34 56 78\n",
            "Je voudrais échanger la robe.\n\nBien à vous\n\nAnne de la Tour",
        );
    }

    #[test]
    fn english_signature_block_under_the_name_is_removed() {
        check(
            "Hi,\n\nThe parcel never arrived.\n\nBest regards,\nJohn Smith\nSenior Buyer | ACME Ltd\nPhone: +44 20 7946 0958\nwww.acme.example\n",
            "Hi,\n\nThe parcel never arrived.\n\nBest regards,\nJohn Smith",
        );
        check(
            "Can I change the size?\n\nThanks,\nJohn\n\nJohn Smith\nHead of Operations\n+1 555 123 4567\n",
            "Can I change the size?\n\nThanks,\nJohn",
        );
        check(
            "Please cancel order 10452.\n\nKind regards,\nMary\n\nThis email and any attachments are confidential and intended solely\nfor the addressee. If you received it in error, please delete it.\n",
            "Please cancel order 10452.\n\nKind regards,\nMary",
        );
    }

    #[test]
    fn typed_sign_off_and_the_customers_own_details_are_kept() {
        check("Merci,\nClaire\n", "Merci,\nClaire");
        check("Thanks,\nJohn\n", "Thanks,\nJohn");
        // An address and a phone number given in the message are content.
        check(
            "Pouvez-vous livrer au 12 rue des Lilas, 75011 Paris ?\nMon téléphone : 06 12 34 56 78.\n\nMerci,\nClaire\n",
            "Pouvez-vous livrer au 12 rue des Lilas, 75011 Paris ?\nMon téléphone : 06 12 34 56 78.\n\nMerci,\nClaire",
        );
        // Under the closing formula, but not a name: still the message.
        check(
            "Bonjour,\nMerci\nvoici mon numéro\n06 12 34 56 78\n",
            "Bonjour,\nMerci\nvoici mon numéro\n06 12 34 56 78",
        );
        // A postscript or a sentence under the name is the customer still writing.
        check(
            "Merci,\nClaire\n\nPS : mon numéro est le 06 12 34 56 78\n",
            "Merci,\nClaire\n\nPS : mon numéro est le 06 12 34 56 78",
        );
        check(
            "Regards,\nJohn\n\nI forgot: please call me back on +44 20 7946 0958 tomorrow morning.\n",
            "Regards,\nJohn\n\nI forgot: please call me back on +44 20 7946 0958 tomorrow morning.",
        );
        // An order reference under the name is not a signature.
        check(
            "Cordialement,\nMarie Dubois\nCommande n° 10452\n",
            "Cordialement,\nMarie Dubois\nCommande n° 10452",
        );
    }

    /// talon's signature fixtures (Apache-2.0, tests/data/replies/talon_signature): a typed
    /// sign-off, and a street address inside the message, are both the customer's words.
    #[test]
    fn talon_signature_fixtures_keep_the_message() {
        for body in [
            include_str!("../../tests/data/replies/talon_signature/short_url_body"),
            include_str!("../../tests/data/replies/talon_signature/camel_case_body"),
        ] {
            check(body, body.trim());
        }
    }
}
