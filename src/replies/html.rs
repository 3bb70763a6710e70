//! The HTML alternative of an answer, built from its plain text, and the quoted original.
//!
//! The HTML is derived from the text rather than written separately so both parts always say
//! the same thing; every piece of text is escaped, and only http(s) links become clickable.

use std::fmt::Write as _;
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::model::UiLang;
use crate::t;

/// Colour used when the shop has none (or an invalid one).
pub const DEFAULT_BRAND_COLOUR: &str = "#2f5d8a";

/// How a shop's answers look in HTML.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// Language of the answer (for `lang` and the Guichet mention).
    pub lang: UiLang,
    pub shop_name: String,
    /// An http(s) URL of the shop's logo; anything else is ignored.
    pub logo_url: Option<String>,
    /// `#rgb` or `#rrggbb`; anything else gives [`DEFAULT_BRAND_COLOUR`].
    pub brand_colour: Option<String>,
    /// Small print under the answer (address, legal mentions).
    pub footer: Option<String>,
    /// Leave out "Sent with Guichet" (advanced branding, see `Plan::advanced_branding`).
    pub remove_guichet_mention: bool,
}

/// Links in text: http(s) URLs and bare `www.` addresses.
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\b(?:https?://|www\.)[^\s<>"'«»]+"#).expect("link regex"));

static HEX_COLOUR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$").expect("colour regex"));

/// Escapes text for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Escaped text with its links made clickable.
fn linkify(text: &str, colour: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for found in LINK.find_iter(text) {
        let url = trim_link(found.as_str());
        let start = found.start();
        let end = start + url.len();
        out.push_str(&escape_html(&text[last..start]));
        let href = if url.to_ascii_lowercase().starts_with("www.") {
            format!("https://{url}")
        } else {
            url.to_string()
        };
        let _ = write!(
            out,
            r#"<a href="{}" style="color:{colour};">{}</a>"#,
            escape_html(&href),
            escape_html(url)
        );
        last = end;
    }
    out.push_str(&escape_html(&text[last..]));
    out
}

/// A link without the punctuation that ends the sentence around it ("…ici : https://x.fr/a.")
/// or a closing parenthesis that belongs to the text, not the URL.
fn trim_link(url: &str) -> &str {
    let mut url = url;
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?', ']', '}']);
        let trimmed = if trimmed.ends_with(')')
            && trimmed.matches('(').count() < trimmed.matches(')').count()
        {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if trimmed.len() == url.len() {
            return url;
        }
        url = trimmed;
    }
}

/// One block of the body.
enum Block<'a> {
    Paragraph(Vec<&'a str>),
    Bullets(Vec<&'a str>),
    Numbered(Vec<&'a str>),
    Quote(Vec<&'a str>),
}

fn bullet(line: &str) -> Option<&str> {
    line.strip_prefix("- ")
        .or_else(|| line.strip_prefix("• "))
        .or_else(|| line.strip_prefix("* "))
}

fn numbered(line: &str) -> Option<&str> {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 2 {
        return None;
    }
    line[digits..]
        .strip_prefix(". ")
        .or_else(|| line[digits..].strip_prefix(") "))
}

fn quoted(line: &str) -> Option<&str> {
    line.strip_prefix("> ").or_else(|| line.strip_prefix('>'))
}

/// Splits text into paragraphs, lists and quotes: blank lines separate paragraphs; "- " and
/// "1. " lines make lists; "> " lines are the quoted original.
fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut blocks: Vec<Block<'_>> = Vec::new();
    let mut previous_blank = true;
    for raw in text.lines() {
        let line = raw.trim_end();
        if let Some(inner) = quoted(line) {
            match blocks.last_mut() {
                Some(Block::Quote(lines)) => lines.push(inner),
                _ => blocks.push(Block::Quote(vec![inner])),
            }
            previous_blank = false;
            continue;
        }
        if line.trim().is_empty() {
            previous_blank = true;
            continue;
        }
        let kind_continues = |block: Option<&Block<'_>>| match block {
            Some(Block::Bullets(_)) => bullet(line).is_some(),
            Some(Block::Numbered(_)) => numbered(line).is_some(),
            Some(Block::Paragraph(_)) => bullet(line).is_none() && numbered(line).is_none(),
            _ => false,
        };
        if !previous_blank && kind_continues(blocks.last()) {
            match blocks.last_mut() {
                Some(Block::Bullets(items)) => items.push(bullet(line).unwrap_or(line)),
                Some(Block::Numbered(items)) => items.push(numbered(line).unwrap_or(line)),
                Some(Block::Paragraph(lines)) => lines.push(line),
                _ => {}
            }
        } else if let Some(item) = bullet(line) {
            blocks.push(Block::Bullets(vec![item]));
        } else if let Some(item) = numbered(line) {
            blocks.push(Block::Numbered(vec![item]));
        } else {
            blocks.push(Block::Paragraph(vec![line]));
        }
        previous_blank = false;
    }
    blocks
}

/// One block of the body as the email template sees it: the kind (`paragraph`, `quote`, or the
/// list tags `ul`/`ol`) and its lines, already escaped and linkified.
#[derive(Serialize)]
struct BlockView {
    kind: &'static str,
    lines: Vec<String>,
}

#[derive(Serialize)]
struct EmailView<'a> {
    shop_name: &'a str,
    colour: &'a str,
    /// Escaped here like the text: minijinja would also escape the URL's slashes.
    logo_url: Option<String>,
    blocks: Vec<BlockView>,
    footer_lines: Vec<String>,
    guichet_mention: bool,
}

/// The HTML alternative of a plain-text answer: escaped paragraphs and lists, clickable links,
/// the quoted original in a block quote, the shop's logo, colour and footer, and a small
/// "Sent with Guichet" unless the shop's plan removes it. The layout is the `email.html`
/// template.
pub fn render_html(text: &str, branding: &Branding) -> String {
    let colour = branding
        .brand_colour
        .as_deref()
        .map(str::trim)
        .filter(|colour| HEX_COLOUR.is_match(colour))
        .unwrap_or(DEFAULT_BRAND_COLOUR);
    let linked = |lines: Vec<&str>| lines.iter().map(|l| linkify(l, colour)).collect();
    let blocks = blocks(text)
        .into_iter()
        .filter_map(|block| {
            let (kind, lines) = match block {
                Block::Paragraph(lines) => ("paragraph", lines),
                Block::Quote(lines) => ("quote", lines),
                Block::Bullets(items) | Block::Numbered(items) if items.is_empty() => return None,
                Block::Bullets(items) => ("ul", items),
                Block::Numbered(items) => ("ol", items),
            };
            Some(BlockView {
                kind,
                lines: linked(lines),
            })
        })
        .collect();
    let footer_lines = branding
        .footer
        .as_deref()
        .map(str::trim)
        .filter(|footer| !footer.is_empty())
        .map(|footer| {
            footer
                .lines()
                .map(|l| linkify(l.trim_end(), colour))
                .collect()
        })
        .unwrap_or_default();
    let view = EmailView {
        shop_name: branding.shop_name.trim(),
        colour,
        logo_url: branding
            .logo_url
            .as_deref()
            .map(str::trim)
            .filter(|url| is_web_url(url))
            .map(escape_html),
        blocks,
        footer_lines,
        guichet_mention: !branding.remove_guichet_mention,
    };
    // The template is embedded and rendered by the tests; its only inputs are escaped strings.
    crate::render::render("email.html", branding.lang, &view).unwrap_or_else(|error| {
        tracing::error!(%error, "email template failed; sending the text alone as HTML");
        format!("<pre>{}</pre>", escape_html(text))
    })
}

fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A moment as customers read it: "24 nov. 2026 à 10:00" / "24 Nov 2026 at 10:00", in
/// `time_zone` (UTC when unknown). None for a time outside the calendar.
pub fn format_moment(ms: i64, time_zone: &str, lang: UiLang) -> Option<String> {
    let local = local_time(ms, time_zone)?;
    Some(t!(
        lang,
        "html.moment",
        date = format_date(local.date(), lang)?,
        time = format!("{:02}:{:02}", local.hour(), local.minute())
    ))
}

/// The day of a moment as customers read it, in `time_zone` (UTC when unknown): "24 nov. 2026"
/// / "24 Nov 2026". None for a time outside the calendar.
pub fn format_day(ms: i64, time_zone: &str, lang: UiLang) -> Option<String> {
    format_date(local_time(ms, time_zone)?.date(), lang)
}

fn local_time(ms: i64, time_zone: &str) -> Option<jiff::Zoned> {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    Some(Timestamp::from_millisecond(ms).ok()?.to_zoned(zone))
}

/// A day as customers read it: "24 nov. 2026" / "24 Nov 2026".
pub fn format_date(date: jiff::civil::Date, lang: UiLang) -> Option<String> {
    let month = usize::try_from(date.month() - 1).ok()?;
    let month = t!(lang, "html.months").split_whitespace().nth(month)?;
    Some(t!(
        lang,
        "html.date",
        day = date.day(),
        month = month,
        year = date.year()
    ))
}

/// The customer's message quoted under our answer:
/// "Le 24 nov. 2026 à 10:00, Marie <marie@x> a écrit :" then each line behind "> ".
///
/// `from` is shown as given ("Marie <marie@x>"); `time_zone` is the shop's (UTC when unknown).
pub fn quote_original(
    text: &str,
    from: &str,
    date_ms: i64,
    lang: UiLang,
    time_zone: &str,
) -> String {
    let from: String = from
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let from = from.trim();
    let moment = format_moment(date_ms, time_zone, lang);
    let header = match (moment, from.is_empty()) {
        (Some(moment), false) => t!(lang, "html.wrote_on", moment = moment, from = from),
        (Some(moment), true) => t!(lang, "html.you_wrote_on", moment = moment),
        (None, false) => t!(lang, "html.wrote", from = from),
        (None, true) => t!(lang, "html.you_wrote").to_string(),
    };
    let mut quoted = header;
    quoted.push('\n');
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.trim_end().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            quoted.push_str(">\n");
        } else if line.starts_with('>') {
            // Already quoted by the customer's client: one more level, without a space, as
            // mail clients do.
            quoted.push('>');
            quoted.push_str(line);
            quoted.push('\n');
        } else {
            quoted.push_str("> ");
            quoted.push_str(line);
            quoted.push('\n');
        }
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branding() -> Branding {
        Branding {
            lang: UiLang::Fr,
            shop_name: "Ma Boutique".into(),
            logo_url: Some("https://boutique.example/logo.png".into()),
            brand_colour: Some("#aa3300".into()),
            footer: Some(
                "Ma Boutique — 1 place du Marché, 13001 Marseille\nhttps://boutique.example".into(),
            ),
            remove_guichet_mention: false,
        }
    }

    #[test]
    fn every_language_names_twelve_months() {
        for lang in [UiLang::Fr, UiLang::En] {
            assert_eq!(t!(lang, "html.months").split_whitespace().count(), 12);
        }
        let date = jiff::civil::date(2026, 11, 12);
        assert_eq!(
            format_date(date, UiLang::Fr).as_deref(),
            Some("12 nov. 2026")
        );
        assert_eq!(
            format_date(date, UiLang::En).as_deref(),
            Some("12 Nov 2026")
        );
    }

    #[test]
    fn html_escapes_everything_the_text_contains() {
        let html = render_html(
            "Bonjour <script>alert('x')</script> & \"vous\",\n\n<img src=x onerror=alert(1)>",
            &branding(),
        );
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img src=x"));
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;vous&quot;")
        );
    }

    #[test]
    fn html_has_paragraphs_lists_links_and_branding() {
        let text = "Bonjour Marie,\n\nPourriez-vous nous indiquer :\n- le numéro\n- une photo\n\n1. un\n2. deux\n\nSuivi : https://suivi.example/a?b=1&c=2.\nOu www.boutique.example (page d'aide).\n\nBien cordialement,\nL'équipe\n";
        let html = render_html(text, &branding());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"fr\">"));
        assert!(html.contains("<p style=\"margin:0 0 1em 0;\">Pourriez-vous nous indiquer :</p>"));
        assert!(html.contains("<li>le numéro</li>\n<li>une photo</li>"));
        assert!(html.contains("<ol"));
        assert!(html.contains("<li>deux</li>"));
        assert!(html.contains(
            r#"<a href="https://suivi.example/a?b=1&amp;c=2" style="color:#aa3300;">https://suivi.example/a?b=1&amp;c=2</a>."#
        ));
        assert!(html.contains(r#"<a href="https://www.boutique.example" style="color:#aa3300;">www.boutique.example</a> (page"#));
        assert!(html.contains("Bien cordialement,<br>\nL&#39;équipe"));
        assert!(html.contains(r#"<img src="https://boutique.example/logo.png" alt="Ma Boutique""#));
        assert!(html.contains("border-top:4px solid #aa3300"));
        assert!(html.contains("13001 Marseille<br>"));
        assert!(html.contains("Envoyé avec Guichet"));
    }

    #[test]
    fn advanced_branding_removes_the_mention_and_bad_settings_are_ignored() {
        let html = render_html(
            "Hello,",
            &Branding {
                lang: UiLang::En,
                logo_url: Some("javascript:alert(1)".into()),
                brand_colour: Some("red;background:url(x)".into()),
                footer: None,
                remove_guichet_mention: true,
                ..branding()
            },
        );
        assert!(!html.contains("Guichet"));
        assert!(!html.contains("javascript"));
        assert!(!html.contains("<img"));
        assert!(html.contains(DEFAULT_BRAND_COLOUR));
        assert!(!html.contains("url(x)"));
        let english = render_html(
            "Hello,",
            &Branding {
                lang: UiLang::En,
                ..branding()
            },
        );
        assert!(english.contains("Sent with Guichet"));
    }

    #[test]
    fn quoted_original_becomes_a_blockquote() {
        let html = render_html(
            "Bonjour,\n\nLe 24 nov. 2026 à 10:00, Marie <marie@x> a écrit :\n> Où est ma commande ?\n>\n> Merci",
            &branding(),
        );
        assert!(html.contains("Marie &lt;marie@x&gt; a écrit :</p>"));
        assert!(html.contains("Où est ma commande ?<br>\n<br>\nMerci</blockquote>"));
    }

    #[test]
    fn links_keep_balanced_parentheses_and_drop_sentence_punctuation() {
        assert_eq!(trim_link("https://x.example/a."), "https://x.example/a");
        assert_eq!(
            trim_link("https://x.example/wiki/A_(b)"),
            "https://x.example/wiki/A_(b)"
        );
        assert_eq!(trim_link("https://x.example/a)."), "https://x.example/a");
        assert_eq!(
            trim_link("https://x.example/?q=1!?"),
            "https://x.example/?q=1"
        );
    }

    #[test]
    fn original_is_quoted_with_a_dated_header() {
        // 24 November 2026 at 09:00 UTC is 10:00 in Paris.
        let date = 1_795_510_800_000;
        let quoted = quote_original(
            "Où est ma commande ?\r\n\r\nMerci\n> ancienne citation\n",
            "Marie <marie@x>",
            date,
            UiLang::Fr,
            "Europe/Paris",
        );
        assert_eq!(
            quoted,
            "Le 24 nov. 2026 à 10:00, Marie <marie@x> a écrit :\n> Où est ma commande ?\n>\n> Merci\n>> ancienne citation\n"
        );
        let english = quote_original("Hi", "John <j@x>", date, UiLang::En, "Nowhere/Zone");
        assert_eq!(
            english,
            "On 24 Nov 2026 at 09:00, John <j@x> wrote:\n> Hi\n"
        );
        let undated = quote_original("Hi", "", i64::MAX, UiLang::Fr, "UTC");
        assert_eq!(undated, "Vous avez écrit :\n> Hi\n");
        let injected = quote_original("Hi", "Eve\r\nBcc: x", date, UiLang::En, "UTC");
        assert!(injected.starts_with("On 24 Nov 2026 at 09:00, Eve  Bcc: x wrote:\n"));
    }
}
