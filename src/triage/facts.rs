//! Facts a customer gives in a message: order references, tracking numbers, e-mail addresses,
//! phone numbers, amounts and IBANs.
//!
//! Customers write these in every possible way, and most of them are strings of digits that look
//! alike: a phone number, an IBAN, a tracking number, an order number, a postcode and a price can
//! all be "a long number". Wrongly reading a phone number as an order misleads the agent more than
//! not reading it at all, so the extractors run from the most recognisable kind to the least
//! (IBAN, self-describing tracking numbers, dates, phones, amounts, keyword-introduced orders,
//! then bare numbers that only a nearby keyword can identify), and each span of text is given to
//! the first kind that claims it. Bare numbers are only ever taken with a keyword next to them.
//!
//! Everything here is pure string work: no I/O, no allocation of regexes after the first call,
//! and no panics on any input (every slice is taken at a boundary a regex or a char gave us).

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::shop::carriers::{
    TRACKING_DIGIT_LENGTHS, all_digits, compact, is_distinctive_tracking, is_gls_alnum,
    is_two_letters_11_digits,
};

/// What a message says about the customer's case, each list in order of first appearance
/// (subject first), without duplicates, as the customer wrote it so the agent recognises it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// `#1042` keeps its `#` (Shopify shows it that way); a number introduced by a keyword
    /// ("commande n° 1234") is the number alone.
    pub order_refs: Vec<String>,
    /// As written, spaces included, so the agent can find it in the message.
    pub tracking_numbers: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    /// With the currency as written: a bare number is never known to be money.
    pub amounts: Vec<String>,
    /// Masked (see [`mask_ibans`]): facts end up in logs and screens where a full IBAN must not.
    pub ibans: Vec<String>,
}

/// Extracts the facts of a message. The subject is scanned before the body, as customers often
/// put the order number there only.
pub fn extract_facts(subject: &str, text: &str) -> Facts {
    // A single newline keeps a subject like "Suivi colis" close enough to vouch for a number
    // on the body's first line, while still stopping a reference from running across it.
    let all = format!("{subject}\n{text}");
    Scan::new(&all).run()
}

/// `text` with every IBAN masked: country code and check digits, then only the last four
/// characters, which is what a customer needs to recognise their account and nothing a thief
/// can use. Grouping spaces are kept so the masked IBAN still reads like one.
pub fn mask_ibans(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for range in find_ibans(text) {
        out.push_str(&text[last..range.start]);
        out.push_str(&mask_iban(&text[range.clone()]));
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

// ---------------------------------------------------------------------------------------------
// The scan: claims, in order of confidence.

/// Horizontal space, as found in typed and pasted text (French typography uses narrow no-break
/// spaces before "€" and between digit groups). Newlines are excluded so a fact never spans
/// two lines.
const H: &str = r"[ \t\u{A0}\u{202F}]";

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}(?-u:\b)",
    )
    .expect("email regex")
});

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?-u:\b)(?:https?://|www\.)[^\s<>"'()\[\]]+"#).expect("url regex")
});

static IBAN_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)[A-Za-z]{2}[0-9]{2}").expect("iban regex"));

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?-u:\b)\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?-u:\b)",
        r"|(?-u:\b)\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}(?-u:\b)",
        r"|(?-u:\b)\d{1,2}/\d{1,2}(?-u:\b)",
        r"|(?-u:\b)\d{1,2}[:h]\d{2}(?-u:\b)",
    ))
    .expect("date regex")
});

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    let s = r"[ .\-\u{A0}]";
    Regex::new(&format!(
        concat!(
            // +33 6 12 34 56 78, 0033 (0)6…: French numbers have exactly nine digits after 33.
            r"(?:\+|(?-u:\b)00)33{s}?(?:\(0\){s}?)?[1-9](?:{s}?\d{{2}}){{4}}",
            // Other international numbers: country code and 8 to 15 digits in all, checked after.
            r"|(?:\+|(?-u:\b)00)[1-9]\d{{0,2}}(?:{s}?\(0\))?(?:[ .\-/\u{{A0}}]?\(?\d{{1,5}}\)?){{1,6}}",
            // 06 12 34 56 78, 0612345678, 06.12.34.56.78
            r"|(?-u:\b)0[1-9](?:{s}?\d{{2}}){{4}}",
            // UK mobile written in one block.
            r"|(?-u:\b)07\d{{9}}",
            // UK and German national forms: 020 7946 0958, 07911 123456, 030 12345678, 089/1234567
            r"|(?-u:\b)0\d{{2,4}}[ /\-\u{{A0}}]\d{{3,8}}(?:[ \-\u{{A0}}]\d{{3,4}})?",
        ),
        s = s
    ))
    .expect("phone regex")
});

static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    let num = r"(?:\d{1,3}(?:[ \u{A0}\u{202F}.,']\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)";
    Regex::new(&format!(
        concat!(
            // 49€90, the French way of writing 49,90 €.
            r"(?-u:\b)\d+€\d{{2}}(?-u:\b)",
            r"|(?-u:\b){num}{h}?(?:[€$£]|(?i:eur|euros?|usd|gbp|chf|dollars?)(?-u:\b))",
            r"|(?:US\$|[€$£]|(?-u:\b)(?i:eur|usd|gbp|chf)(?-u:\b)){h}?{num}",
        ),
        num = num,
        h = r"[ \u{A0}\u{202F}]"
    ))
    .expect("amount regex")
});

/// Order keyword, optionally announced ("numéro de commande") and followed by a number word
/// ("order no.") and a verb or colon ("is", ":"), then the reference itself.
static ORDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        concat!(
            r"(?i)(?P<pre>(?-u:\b)(?:n°|nº|no\.|num[ée]ro|number|nummer|n[úu]mero|r[ée]f[ée]rence|reference|r[ée]f\.?|id)",
            r"{h}*(?:(?:de|of|del|der|di|da){h}+|d['’]|dell['’])?",
            r"(?:(?:la|ma|votre|the|my|your|mi|su|mia|ihrer|meiner){h}+)?)?",
            r"(?-u:\b)(?P<kw>commandes?|cdes?|cmdes?|cmds?|orders?|bestellung(?:en)?|bestellnummer|auftragsnummer|auftrag",
            r"|pedidos?|ordine|ordini|encomenda|bestelling|bestelnummer|ordernummer)(?-u:\b)",
            r"(?:{h}*(?P<num>n°|nº|n\.|no(?-u:\b)\.?|nr(?-u:\b)\.?|num[ée]ro(?-u:\b)|number(?-u:\b)|nummer(?-u:\b)|n[úu]mero(?-u:\b)",
            r"|r[ée]f[ée]rence(?-u:\b)|reference(?-u:\b)|r[ée]f(?-u:\b)\.?|id(?-u:\b)))?",
            r"(?:{h}*(?P<is>:|=|(?-u:\b)is(?-u:\b)|(?-u:\b)est(?-u:\b)|(?-u:\b)ist(?-u:\b)|(?-u:\b)es(?-u:\b)|(?-u:\b)è))?",
            r"{h}*(?:#{h}+)?(?P<ref>#?[\p{{L}}\p{{N}}][\p{{L}}\p{{N}}_\-]*)",
        ),
        h = H
    ))
    .expect("order regex")
});

/// "commandes 1234 et 1235": further references after the first.
static ORDER_MORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^{h}*(?:,|&|/|\+|et(?-u:\b)|and(?-u:\b)|und(?-u:\b)|y(?-u:\b)|e(?-u:\b)|ou(?-u:\b)|or(?-u:\b)){h}*(?:n°{h}*)?(?P<ref>#?[\p{{L}}\p{{N}}][\p{{L}}\p{{N}}_\-]*)",
        h = H
    ))
    .expect("order list regex")
});

static SHOPIFY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#\d{3,8}(?-u:\b)").expect("shopify regex"));

static PRESTASHOP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)[A-Z]{9}(?-u:\b)").expect("prestashop regex"));

static TRACKING_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?-u:\b)(?:suivi|suivre|tracking|track|trace|tracé|colis|parcel|package|shipment|shipping",
        r"|exp[ée]dition|envoi|lettre suivie|sendung|sendungsnummer|paket|seguimiento|env[íi]o",
        r"|spedizione|tracciamento|pacco|waybill|awb|colissimo|la ?poste|chronopost|chrono",
        r"|mondial ?relay|relais|dhl|ups|fedex|gls|dpd)(?-u:\b)",
    ))
    .expect("tracking keyword regex")
});

static GLS_KEYWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)gls(?-u:\b)").expect("gls regex"));

struct Scan<'a> {
    text: &'a str,
    /// Claimed spans, disjoint and merged, by start: checked for every token of the text.
    claimed: BTreeMap<usize, usize>,
    facts: [Vec<(usize, String)>; 6],
}

const ORDERS: usize = 0;
const TRACKING: usize = 1;
const EMAILS: usize = 2;
const PHONES: usize = 3;
const AMOUNTS: usize = 4;
const IBANS: usize = 5;

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        Scan {
            text,
            claimed: BTreeMap::new(),
            facts: Default::default(),
        }
    }

    fn run(mut self) -> Facts {
        let text = self.text;
        for m in EMAIL.find_iter(text) {
            self.take(EMAILS, m.range(), m.as_str().to_string());
        }
        for range in find_ibans(text) {
            if self.is_free(&range) {
                let masked = mask_iban(&text[range.clone()]);
                self.take(IBANS, range, masked);
            }
        }
        // Self-describing tracking numbers are safe even inside a carrier's tracking link.
        for range in self.grouped(|compact, _| is_distinctive_tracking(compact.as_bytes())) {
            self.take(TRACKING, range.clone(), text[range].to_string());
        }
        for m in URL.find_iter(text) {
            self.block(m.range());
        }
        for m in DATE.find_iter(text) {
            if isolated(text, m.range(), &['/', '.', '-', ':']) {
                self.block(m.range());
            }
        }
        for m in PHONE.find_iter(text) {
            if is_phone(text, m.range()) && self.is_free(&m.range()) {
                self.take(PHONES, m.range(), m.as_str().to_string());
            }
        }
        for m in AMOUNT.find_iter(text) {
            let before = char_before(text, m.start());
            if !before.is_some_and(|c| c.is_alphanumeric()) && self.is_free(&m.range()) {
                self.take(AMOUNTS, m.range(), m.as_str().to_string());
            }
        }
        self.keyword_orders();
        self.shopify_orders();
        for range in self.grouped(|compact, range| {
            let b = compact.as_bytes();
            ((all_digits(b) && TRACKING_DIGIT_LENGTHS.contains(&b.len()))
                || is_two_letters_11_digits(b))
                && word_near(text, range.clone(), &TRACKING_KEYWORD)
                || is_gls_alnum(b) && word_near(text, range, &GLS_KEYWORD)
        }) {
            self.take(TRACKING, range.clone(), text[range].to_string());
        }
        self.bare_prestashop_refs();
        self.finish()
    }

    fn is_free(&self, range: &Range<usize>) -> bool {
        // Spans are disjoint, so the last one starting before our end reaches furthest.
        self.claimed
            .range(..range.end.max(range.start + 1))
            .next_back()
            .is_none_or(|(_, end)| *end <= range.start)
    }

    fn block(&mut self, range: Range<usize>) {
        let (mut start, mut end) = (range.start, range.end);
        let touching: Vec<(usize, usize)> = self
            .claimed
            .range(..end.max(start + 1))
            .rev()
            .take_while(|(_, e)| **e > start)
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in touching {
            self.claimed.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        self.claimed.insert(start, end);
    }

    fn take(&mut self, kind: usize, range: Range<usize>, value: String) {
        if self.is_free(&range) {
            self.facts[kind].push((range.start, value));
            self.block(range);
        }
    }

    /// Orders introduced by a keyword, the only way a plain number is read as an order.
    fn keyword_orders(&mut self) {
        let text = self.text;
        for caps in ORDER.captures_iter(text) {
            let (Some(kw), Some(reference)) = (caps.name("kw"), caps.name("ref")) else {
                continue;
            };
            // "my order is 1234" is too loose ("ma commande est 12345678 colis en retard"):
            // a verb only links a keyword to a number when a number word is there too.
            let verb = caps
                .name("is")
                .is_some_and(|m| m.as_str().chars().any(char::is_alphabetic));
            if verb && caps.name("pre").is_none() && caps.name("num").is_none() {
                continue;
            }
            let shouted = is_shouted(kw.as_str());
            let mut range = trim_reference(text, reference.range());
            let Some(first_kind) = self.order_reference(range.clone(), shouted) else {
                continue;
            };
            // Further references in a list keep the first one's kind.
            loop {
                let rest = &text[range.end..];
                let Some(next) = ORDER_MORE.captures(rest).and_then(|c| c.name("ref")) else {
                    break;
                };
                let next_range =
                    trim_reference(text, range.end + next.start()..range.end + next.end());
                match self.order_reference(next_range.clone(), shouted) {
                    Some(kind) if kind == first_kind => range = next_range,
                    _ => break,
                }
            }
        }
    }

    /// Takes the reference at `range` if it is one, returning its kind (digits, letters, mixed).
    fn order_reference(&mut self, range: Range<usize>, shouted_keyword: bool) -> Option<u8> {
        let text = self.text;
        let written = text.get(range.clone())?;
        let bare = written.strip_prefix('#').unwrap_or(written);
        let b = bare.as_bytes();
        if b.is_empty() || !self.is_free(&range) {
            return None;
        }
        // A decimal or a date is not a reference: "commande 1234,50", "cde 12/03".
        let after = &text[range.end..];
        let mut next = after.chars();
        if let (Some(c), Some(d)) = (next.next(), next.next())
            && ((c == '.' || c == ',') && d.is_ascii_digit() || c == '/')
        {
            return None;
        }
        let kind = if all_digits(b) {
            if !(3..=12).contains(&b.len()) {
                return None;
            }
            // Order numbers are short; ten digits or more next to "colis" are a tracking number.
            if b.len() >= 10 && word_near(text, range.clone(), &TRACKING_KEYWORD) {
                return None;
            }
            0
        } else if b.len() == 9 && b.iter().all(u8::is_ascii_uppercase) {
            if looks_like_word(b) && shouted_keyword {
                return None;
            }
            1
        } else {
            let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
            let ok = (4..=20).contains(&b.len())
                && digits >= 3
                && digits < b.len()
                && b[0].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'-');
            if !ok {
                return None;
            }
            2
        };
        self.take(ORDERS, range, written.to_string());
        Some(kind)
    }

    /// Shopify order names (`#1001`); a Guichet ticket tag (`[#1001]`) and an HTML character
    /// reference (`&#8217;`) look the same and are not orders.
    fn shopify_orders(&mut self) {
        let text = self.text;
        for m in SHOPIFY.find_iter(text) {
            let before = char_before(text, m.start());
            if before.is_some_and(|c| c.is_alphanumeric() || c == '&' || c == '[') {
                continue;
            }
            self.take(ORDERS, m.range(), m.as_str().to_string());
        }
    }

    /// PrestaShop references standing alone (see [`looks_like_word`] for the rule).
    fn bare_prestashop_refs(&mut self) {
        let text = self.text;
        for m in PRESTASHOP.find_iter(text) {
            let token = m.as_str().as_bytes();
            let keyword = order_keyword_before(text, m.start());
            let vouched = keyword == Some(false);
            if !looks_like_word(token) || vouched {
                self.take(ORDERS, m.range(), m.as_str().to_string());
            }
        }
    }

    /// Runs of alphanumeric groups, single-spaced ("1Z 999 AA1 01 2345 6784"), whose letters and
    /// digits pass `accept`; the longest accepted run from each start wins. Groups of a spaced
    /// run are 2 to 6 characters, as carriers print them, so that two neighbouring numbers are
    /// not glued into one.
    fn grouped(&self, accept: impl Fn(&str, Range<usize>) -> bool) -> Vec<Range<usize>> {
        let text = self.text;
        let tokens = tokens(text);
        let mut found = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let mut best = None;
            let mut compact = String::new();
            for j in i..tokens.len().min(i + 8) {
                let token = &tokens[j];
                if j > i && !token.glued {
                    break;
                }
                let word = &text[token.range.clone()];
                if !word.is_ascii() || !self.is_free(&token.range) {
                    break;
                }
                if j > i {
                    let short = |t: &Token| (2..=6).contains(&t.range.len());
                    if !short(&tokens[i]) || !short(token) {
                        break;
                    }
                }
                compact.push_str(word);
                if compact.len() > 34 {
                    break;
                }
                let range = tokens[i].range.start..token.range.end;
                if accept(&compact, range.clone()) {
                    best = Some((j, range));
                }
            }
            match best {
                Some((j, range)) => {
                    found.push(range);
                    i = j + 1;
                }
                None => i += 1,
            }
        }
        found
    }

    fn finish(self) -> Facts {
        let [orders, tracking, emails, phones, amounts, ibans] = self.facts;
        Facts {
            // "#1042" and "1042" are the same order; "XKBKNABJK" is PrestaShop's in any case.
            order_refs: ordered(orders, |s| s.trim_start_matches('#').to_uppercase()),
            tracking_numbers: ordered(tracking, compact),
            emails: ordered(emails, |s| s.to_lowercase()),
            phones: ordered(phones, |s| {
                s.chars().filter(char::is_ascii_digit).collect::<String>()
            }),
            amounts: ordered(amounts, str::to_string),
            ibans: ordered(ibans, str::to_string),
        }
    }
}

/// Values sorted by position, the first of each `key` kept.
fn ordered(mut found: Vec<(usize, String)>, key: impl Fn(&str) -> String) -> Vec<String> {
    found.sort_by_key(|(start, _)| *start);
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|(_, value)| seen.insert(key(value)))
        .map(|(_, value)| value)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tokens and neighbourhoods.

struct Token {
    range: Range<usize>,
    /// Separated from the previous token by exactly one space, as in a grouped number.
    glued: bool,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start = None;
    let mut previous_end: Option<usize> = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let glued = previous_end.is_some_and(|e| {
                    let gap = &text[e..s];
                    gap.chars().count() == 1
                        && gap
                            .chars()
                            .all(|g| matches!(g, ' ' | '\u{A0}' | '\u{202F}'))
                });
                tokens.push(Token { range: s..i, glued });
                previous_end = Some(i);
                start = None;
            }
            _ => {}
        }
    }
    tokens
}

fn char_before(text: &str, i: usize) -> Option<char> {
    text.get(..i)?.chars().next_back()
}

fn char_after(text: &str, i: usize) -> Option<char> {
    text.get(i..)?.chars().next()
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Whether a whole word matching `re` stands within 80 bytes before or 40 after `range`, in the
/// same paragraph: a keyword vouches for a number in its sentence, not for one further down.
fn word_near(text: &str, range: Range<usize>, re: &Regex) -> bool {
    let mut lo = floor_boundary(text, range.start.saturating_sub(80));
    if let Some(p) = text[lo..range.start].rfind("\n\n") {
        lo += p;
    }
    let mut hi = ceil_boundary(text, range.end.saturating_add(40));
    if let Some(p) = text[range.end..hi].find("\n\n") {
        hi = range.end + p;
    }
    let whole_word = |offset: usize, m: regex::Match| {
        !char_before(text, offset + m.start()).is_some_and(char::is_alphanumeric)
            && !char_after(text, offset + m.end()).is_some_and(char::is_alphanumeric)
    };
    re.find_iter(&text[lo..range.start])
        .any(|m| whole_word(lo, m))
        || re
            .find_iter(&text[range.end..hi])
            .any(|m| whole_word(range.end, m))
}

/// Whether `range` is not part of a longer number: no digit touches it, directly or across one
/// of `separators` ("06.12.34" inside "06.12.34.56.78" is not a date).
fn isolated(text: &str, range: Range<usize>, separators: &[char]) -> bool {
    let mut before = text[..range.start].chars().rev();
    let mut after = text[range.end..].chars();
    let touches = |first: Option<char>, second: Option<char>| match first {
        Some(c) if c.is_alphanumeric() => true,
        Some(c) if separators.contains(&c) => second.is_some_and(|d| d.is_ascii_digit()),
        _ => false,
    };
    !touches(before.next(), before.next()) && !touches(after.next(), after.next())
}

fn is_phone(text: &str, range: Range<usize>) -> bool {
    let written = &text[range.clone()];
    if char_before(text, range.start).is_some_and(|c| c == '+' || c.is_alphanumeric()) {
        return false;
    }
    if !isolated(text, range, &[' ', '.', '-', '/', '\u{A0}']) {
        return false;
    }
    let digits = written
        .replace("(0)", "")
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    if written.starts_with('+') || written.starts_with("00") {
        (8..=15).contains(&digits)
    } else {
        (10..=12).contains(&digits)
    }
}

/// The order keyword among the five words before `start` on its line and in its sentence, if
/// any: `Some(true)` when it is written in capitals.
fn order_keyword_before(text: &str, start: usize) -> Option<bool> {
    const KEYWORDS: [&str; 17] = [
        "commande",
        "commandes",
        "cde",
        "cmd",
        "cmde",
        "order",
        "orders",
        "référence",
        "reference",
        "ref",
        "réf",
        "bestellung",
        "bestellnummer",
        "pedido",
        "ordine",
        "n°",
        "nº",
    ];
    const ABBREVIATIONS: [&str; 5] = ["ref", "réf", "cde", "cmd", "n°"];
    // Five words fit in 120 bytes; looking no further keeps one-line megabyte texts linear.
    let lo = floor_boundary(text, start.saturating_sub(120));
    let line_start = text[lo..start].rfind('\n').map_or(lo, |p| lo + p + 1);
    for (n, raw) in text[line_start..start]
        .split_whitespace()
        .rev()
        .take(5)
        .enumerate()
    {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '°' && c != 'º');
        let lower = word.to_lowercase();
        let ends_sentence = raw.ends_with(['.', '!', '?']);
        if KEYWORDS.contains(&lower.as_str())
            && (!ends_sentence || n == 0 && ABBREVIATIONS.contains(&lower.as_str()))
        {
            return Some(is_shouted(word));
        }
        if ends_sentence || raw.ends_with([';']) {
            return None;
        }
    }
    None
}

fn is_shouted(word: &str) -> bool {
    word.chars().any(char::is_alphabetic) && !word.chars().any(char::is_lowercase)
}

/// Whether nine capitals look like a word of a European language rather than a PrestaShop
/// reference, which is nine random letters.
///
/// The rule: a word has at least two vowels (Y counts), no run of more than three consonants
/// (four when it holds "CH", for German), at most one of the rare letters J K Q W X Z, and Q
/// only before U. Nine random letters pass this about 12% of the time; IMPORTANT, LIVRAISON,
/// REMBOURSE, DELIVERED, SCRATCHED, EXCELLENT all pass. Fewer than five distinct letters
/// ("AAAAAAAAA") count as a word too: that is a scream, not a reference. A word-like token is
/// still a reference when an order keyword written in lower case precedes it ("commande
/// BOVIRALES"); see `bare_prestashop_refs`.
fn looks_like_word(token: &[u8]) -> bool {
    let distinct: HashSet<&u8> = token.iter().collect();
    if distinct.len() < 5 {
        return true;
    }
    let is_vowel = |c: &u8| b"AEIOUY".contains(c);
    if token.iter().filter(|c| is_vowel(c)).count() < 2 {
        return false;
    }
    for run in token.split(is_vowel) {
        let german = run.windows(2).any(|w| w == b"CH");
        if run.len() > 4 || run.len() == 4 && !german {
            return false;
        }
    }
    if token.iter().filter(|c| b"JKQWXZ".contains(c)).count() > 1 {
        return false;
    }
    token
        .iter()
        .enumerate()
        .all(|(i, c)| *c != b'Q' || token.get(i + 1) == Some(&b'U'))
}

/// A keyword-introduced reference without its trailing punctuation ("1234-" in "1234-?").
fn trim_reference(text: &str, range: Range<usize>) -> Range<usize> {
    let written = &text[range.clone()];
    let trimmed = written.trim_end_matches(['-', '_']);
    range.start..range.start + trimmed.len()
}

// ---------------------------------------------------------------------------------------------
// IBAN.

/// IBANs in `text`, as byte ranges, each validated by its country's length and the mod-97
/// checksum so that a random code never passes for one.
fn find_ibans(text: &str) -> Vec<Range<usize>> {
    let mut found: Vec<Range<usize>> = Vec::new();
    for m in IBAN_START.find_iter(text) {
        if found.last().is_some_and(|last| m.start() < last.end) {
            continue;
        }
        let Some(length) = iban_length(&text[m.start()..m.start() + 2]) else {
            continue;
        };
        let mut compact = String::with_capacity(length);
        let mut end = m.start();
        let mut chars = text[m.start()..].char_indices().peekable();
        while compact.len() < length {
            let Some((offset, c)) = chars.next() else {
                break;
            };
            if c.is_ascii_alphanumeric() {
                compact.push(c.to_ascii_uppercase());
                end = m.start() + offset + 1;
            } else if matches!(c, ' ' | '-' | '\u{A0}' | '\u{202F}')
                && !compact.is_empty()
                && chars.peek().is_some_and(|(_, n)| n.is_ascii_alphanumeric())
            {
                continue;
            } else {
                break;
            }
        }
        if compact.len() == length
            && !char_after(text, end).is_some_and(char::is_alphanumeric)
            && iban_checksum_ok(&compact)
        {
            found.push(m.start()..end);
        }
    }
    found
}

fn iban_checksum_ok(iban: &str) -> bool {
    let (head, tail) = iban.split_at(4);
    let mut remainder = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder == 1
}

fn mask_iban(written: &str) -> String {
    let total = written.chars().filter(char::is_ascii_alphanumeric).count();
    let mut seen = 0;
    written
        .chars()
        .map(|c| {
            if !c.is_ascii_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen <= 4 || seen > total.saturating_sub(4) {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// IBAN length per country (SWIFT IBAN registry).
fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: [(&str, usize); 80] = [
        ("AD", 24),
        ("AE", 23),
        ("AL", 28),
        ("AT", 20),
        ("AZ", 28),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("BH", 22),
        ("BR", 29),
        ("BY", 28),
        ("CH", 21),
        ("CR", 22),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DK", 18),
        ("DO", 28),
        ("EE", 20),
        ("EG", 29),
        ("ES", 24),
        ("FI", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GE", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("GT", 28),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IL", 23),
        ("IQ", 23),
        ("IS", 26),
        ("IT", 27),
        ("JO", 30),
        ("KW", 30),
        ("KZ", 20),
        ("LB", 28),
        ("LC", 32),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("LY", 25),
        ("MC", 27),
        ("MD", 24),
        ("ME", 22),
        ("MK", 19),
        ("MR", 27),
        ("MT", 31),
        ("MU", 30),
        ("NL", 18),
        ("NO", 15),
        ("PK", 24),
        ("PL", 28),
        ("PS", 29),
        ("PT", 25),
        ("QA", 29),
        ("RO", 24),
        ("RS", 22),
        ("SA", 24),
        ("SC", 31),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("ST", 25),
        ("SV", 28),
        ("TL", 23),
        ("TN", 24),
        ("TR", 26),
        ("UA", 29),
        ("VA", 22),
        ("VG", 24),
        ("XK", 20),
        ("BI", 27),
        ("SD", 18),
    ];
    let country = country.to_ascii_uppercase();
    LENGTHS
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, length)| *length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::carriers::{Carrier, carrier_of};

    fn orders(text: &str) -> Vec<String> {
        extract_facts("", text).order_refs
    }
    fn tracking(text: &str) -> Vec<String> {
        extract_facts("", text).tracking_numbers
    }
    fn phones(text: &str) -> Vec<String> {
        extract_facts("", text).phones
    }
    fn amounts(text: &str) -> Vec<String> {
        extract_facts("", text).amounts
    }
    /// `text` holds the one tracking number `want`, of `carrier`.
    fn assert_tracked(text: &str, want: &str, carrier: Carrier) {
        assert_eq!(tracking(text), v(&[want]), "{text}");
        assert_eq!(carrier_of(want), Some(carrier), "{want}");
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    // ----- order references

    #[test]
    fn shopify_names_keep_their_hash() {
        assert_eq!(orders("Bonjour, où en est #1042 ?"), v(&["#1042"]));
        assert_eq!(orders("Order #58213 hasn't arrived"), v(&["#58213"]));
        assert_eq!(orders("(#1001) et #1002."), v(&["#1001", "#1002"]));
    }

    #[test]
    fn shopify_look_alikes_are_not_orders() {
        // Guichet's own ticket tag, an HTML entity, two digits, a hashtag, a 9-digit run.
        assert!(orders("Re: [#1002] Mug cassé").is_empty());
        assert!(orders("l&#8217;article").is_empty());
        assert!(orders("#12 #soldes #123456789").is_empty());
    }

    #[test]
    fn french_keyword_orders() {
        for (text, want) in [
            ("commande n° 1234", "1234"),
            ("commande n°1234", "1234"),
            ("Commande N° : 10482", "10482"),
            ("cde 2291", "2291"),
            ("cmd 1234 svp", "1234"),
            ("commande numéro 1234", "1234"),
            ("ma commande 4521 n'est pas arrivée", "4521"),
            ("numéro de commande : 88231", "88231"),
            ("n° de commande 88231", "88231"),
            ("(cde 2291)", "2291"),
            ("annulation commande 5530 svp", "5530"),
        ] {
            assert_eq!(orders(text), v(&[want]), "{text}");
        }
    }

    #[test]
    fn other_languages_keyword_orders() {
        for (text, want) in [
            ("order 58213", "58213"),
            ("order #1234", "#1234"),
            ("Order no. 1234", "1234"),
            ("my order number is 77120", "77120"),
            ("Order ID: 40021", "40021"),
            ("Bestellung 1234", "1234"),
            ("Bestellnummer: 20931", "20931"),
            ("Bestellung Nr. 5521", "5521"),
            ("pedido 1234", "1234"),
            ("número de pedido 3310", "3310"),
            ("ordine 1234", "1234"),
            ("ordine n. 4410", "4410"),
            ("commande FR-10482", "FR-10482"),
        ] {
            assert_eq!(orders(text), v(&[want]), "{text}");
        }
    }

    #[test]
    fn lists_of_orders() {
        assert_eq!(orders("commandes 1234 et 1235"), v(&["1234", "1235"]));
        assert_eq!(
            orders("orders 1001, 1002 and 1003"),
            v(&["1001", "1002", "1003"])
        );
        // The list stops at something of another kind.
        assert_eq!(orders("commande 1234 et 2 bougies"), v(&["1234"]));
    }

    #[test]
    fn numbers_without_an_order_keyword_are_not_orders() {
        for text in [
            "Appelez-moi au 06 12 34 56 78",
            "J'habite 12 rue Oberkampf, 75011 Paris",
            "Client depuis 2024, j'ai commandé en 2023",
            "livré le 12/03/2024 à 14h30",
            "le total était de 49,90 € pour 3 articles",
            "order placed in 2024",
            "ma commande de 2 tables",
            "ma commande du 12/03",
            "commande 1234,50 € débitée",
        ] {
            assert!(orders(text).is_empty(), "{text}: {:?}", orders(text));
        }
    }

    #[test]
    fn a_verb_alone_does_not_link_keyword_and_number() {
        let facts = extract_facts("", "Le suivi de ma commande est 123456789012 chez FedEx");
        assert!(facts.order_refs.is_empty());
        assert_eq!(facts.tracking_numbers, v(&["123456789012"]));
    }

    #[test]
    fn long_numbers_by_a_parcel_keyword_are_tracking_not_orders() {
        let facts = extract_facts("", "colis DPD, commande 01234567890123 bloqué");
        assert!(facts.order_refs.is_empty());
        assert_eq!(facts.tracking_numbers, v(&["01234567890123"]));
        assert_eq!(orders("commande 12345678 passée hier"), v(&["12345678"]));
    }

    #[test]
    fn same_order_written_twice_is_listed_once() {
        let facts = extract_facts(
            "Commande #1042",
            "Bonjour, ma commande 1042 et la cde 1042.",
        );
        assert_eq!(facts.order_refs, v(&["#1042"]));
    }

    // ----- PrestaShop references

    #[test]
    fn prestashop_references_standing_alone() {
        assert_eq!(
            orders("Annulez XKBKNABJK s'il vous plaît"),
            v(&["XKBKNABJK"])
        );
        assert_eq!(orders("Réf. QWPZLMKTR, merci"), v(&["QWPZLMKTR"]));
        assert_eq!(
            orders("Annulez la commande XKBKNABJK, je me suis trompée."),
            v(&["XKBKNABJK"])
        );
    }

    #[test]
    fn shouted_words_are_not_prestashop_references() {
        for text in [
            "C'EST IMPORTANT !!!",
            "THIS IS RIDICULOUS AND INADMISSIBLE",
            "MON COLIS EST ARRIVE SCRATCHED, LIVRAISON NULLE",
            "ORDER DELIVERED LATE AGAIN",
            "MA COMMANDE LIVRAISON ??",
            "AAAAAAAAA",
            "envoyé par COLISSIMO",
        ] {
            assert!(orders(text).is_empty(), "{text}: {:?}", orders(text));
        }
    }

    #[test]
    fn word_like_reference_is_taken_after_a_lower_case_keyword() {
        // BOVIRALES looks like a word; the keyword vouches for it.
        assert_eq!(orders("commande BOVIRALES"), v(&["BOVIRALES"]));
        assert_eq!(orders("ma référence est BOVIRALES"), v(&["BOVIRALES"]));
        assert!(orders("Merci. BOVIRALES").is_empty());
    }

    #[test]
    fn word_likeness() {
        for word in [
            "IMPORTANT",
            "LIVRAISON",
            "REMBOURSE",
            "DELIVERED",
            "EXCELLENT",
            "QUESTIONS",
            "SCHNELLER",
        ] {
            assert!(looks_like_word(word.as_bytes()), "{word}");
        }
        for reference in ["XKBKNABJK", "QWPZLMKTR", "HJDKTRBNA", "ZQXWJVKPL"] {
            assert!(!looks_like_word(reference.as_bytes()), "{reference}");
        }
    }

    #[test]
    fn prestashop_references_inside_words_links_and_addresses_are_ignored() {
        assert!(orders("voir https://shop.example/XKBKNABJK").is_empty());
        assert!(orders("XKBKNABJK1 ABCXKBKNABJK").is_empty());
        assert!(orders("écrivez à XKBKNABJK@example.com").is_empty());
    }

    // ----- tracking numbers

    #[test]
    fn self_describing_tracking_numbers() {
        for (text, want, carrier) in [
            (
                "Votre colis 6A12345678901 est en route",
                "6A12345678901",
                Carrier::Colissimo,
            ),
            ("n° 8R98765432109", "8R98765432109", Carrier::Colissimo),
            ("lettre 1K12345678901", "1K12345678901", Carrier::LaPoste),
            ("LA123456789FR", "LA123456789FR", Carrier::LaPoste),
            ("envoi CP123456789FR", "CP123456789FR", Carrier::Colissimo),
            (
                "Chronopost XA123456789FR",
                "XA123456789FR",
                Carrier::Chronopost,
            ),
            ("EMS EE123456789CN", "EE123456789CN", Carrier::Chronopost),
            ("1Z999AA10123456784", "1Z999AA10123456784", Carrier::Ups),
            (
                "JJD000390007123456789",
                "JJD000390007123456789",
                Carrier::Dhl,
            ),
            ("JVGL0599012345", "JVGL0599012345", Carrier::Dhl),
        ] {
            assert_tracked(text, want, carrier);
        }
    }

    #[test]
    fn spaced_tracking_numbers_are_returned_as_written() {
        assert_eq!(
            tracking("UPS : 1Z 999 AA1 01 2345 6784 merci"),
            v(&["1Z 999 AA1 01 2345 6784"])
        );
        assert_eq!(
            tracking("suivi LA 123 456 789 FR"),
            v(&["LA 123 456 789 FR"])
        );
        assert_eq!(
            tracking("numéro de suivi DPD : 0123 4567 8901 23"),
            v(&["0123 4567 8901 23"])
        );
        assert_eq!(carrier_of("0123 4567 8901 23"), Some(Carrier::Dpd));
    }

    #[test]
    fn digit_only_tracking_numbers_need_a_keyword() {
        for (text, want, carrier) in [
            ("Mondial Relay 12345678", "12345678", Carrier::MondialRelay),
            ("DHL tracking 1234567890", "1234567890", Carrier::Dhl),
            ("GLS 12345678901", "12345678901", Carrier::Gls),
            ("suivi GLS : ZX7K2P9Q", "ZX7K2P9Q", Carrier::Gls),
            (
                "FedEx tracking number: 123456789012",
                "123456789012",
                Carrier::Fedex,
            ),
            ("FedEx 123456789012345", "123456789012345", Carrier::Fedex),
            (
                "numéro de suivi DPD 01234567890123",
                "01234567890123",
                Carrier::Dpd,
            ),
            (
                "Sendungsnummer 00340434161234567890",
                "00340434161234567890",
                Carrier::Dhl,
            ),
            ("seguimiento: 12345678", "12345678", Carrier::MondialRelay),
        ] {
            assert_tracked(text, want, carrier);
        }
        for text in [
            "12345678",
            "mon SIRET 12345678901234",
            "1234567890",
            "ZX7K2P9Q",
            "TVA FR12345678901",
        ] {
            assert!(tracking(text).is_empty(), "{text}: {:?}", tracking(text));
        }
    }

    #[test]
    fn look_alikes_are_not_tracking_numbers() {
        for text in [
            "colis : rappelez-moi au 0612345678",
            "colis : +33 6 12 34 56 78",
            "colis remboursé, IBAN FR76 3000 6000 0112 3456 7890 189",
            "colis de 1 299,00 € livré le 12/03/2024",
            "suivi: commande 12345678",
            "colis envoyé au 75011",
        ] {
            assert!(tracking(text).is_empty(), "{text}: {:?}", tracking(text));
        }
    }

    #[test]
    fn a_keyword_in_another_paragraph_does_not_vouch() {
        assert!(tracking("Mon colis est perdu.\n\nMon client n° 12345678").is_empty());
        assert!(tracking("groups 12345678").is_empty());
    }

    #[test]
    fn tracking_numbers_inside_carrier_links() {
        let text = "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901";
        assert_eq!(tracking(text), v(&["6A12345678901"]));
        assert!(orders("https://shop.example/commande/12345").is_empty());
    }

    // ----- e-mail addresses

    #[test]
    fn email_addresses() {
        let facts = extract_facts(
            "",
            "Écrivez à Marie.Dupont+sav@orange.fr ou <j-p.martin@exemple.co.uk>. Ou MARIE.DUPONT+SAV@ORANGE.FR.",
        );
        assert_eq!(
            facts.emails,
            v(&["Marie.Dupont+sav@orange.fr", "j-p.martin@exemple.co.uk"])
        );
        assert!(
            extract_facts("", "twitter @boutique, a@b, x@y.z")
                .emails
                .is_empty()
        );
        // Digits of an address are nothing else.
        let facts = extract_facts("", "commande: jean.1042@free.fr");
        assert_eq!(facts.emails, v(&["jean.1042@free.fr"]));
        assert!(facts.order_refs.is_empty());
    }

    // ----- phone numbers

    #[test]
    fn french_phone_numbers() {
        for text in [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "+33 6 12 34 56 78",
            "+33612345678",
            "+33 (0)6 12 34 56 78",
            "0033 6 12 34 56 78",
            "01 23 45 67 89",
        ] {
            assert_eq!(phones(&format!("Tél : {text}.")), v(&[text]), "{text}");
        }
    }

    #[test]
    fn foreign_phone_numbers() {
        for text in [
            "+44 20 7946 0958",
            "+44 7911 123456",
            "+49 30 12345678",
            "+49 (0)30 12345678",
            "+49 151 23456789",
            "+1 (415) 555-2671",
            "07911 123456",
            "020 7946 0958",
            "030 12345678",
            "089/1234567",
        ] {
            assert_eq!(
                phones(&format!("call me on {text} please")),
                v(&[text]),
                "{text}"
            );
        }
    }

    #[test]
    fn look_alikes_are_not_phone_numbers() {
        for text in [
            "commande 1234",
            "75011 Paris",
            "le 12/03/2024",
            "12.03.2024",
            "49,90 €",
            "IBAN FR76 3000 6000 0112 3456 7890 189",
            "06 12 34 56 78 90 12",
            "suivi 6A12345678901",
            "SIRET 12345678901234",
            "+20 €",
        ] {
            assert!(phones(text).is_empty(), "{text}: {:?}", phones(text));
        }
    }

    #[test]
    fn the_same_phone_written_twice_is_listed_once() {
        assert_eq!(
            phones("06 12 34 56 78 ou 0612345678"),
            v(&["06 12 34 56 78"])
        );
    }

    // ----- amounts

    #[test]
    fn amounts_with_currency() {
        for text in [
            "49,90 €",
            "49,90€",
            "€49.90",
            "€ 49,90",
            "49.90 EUR",
            "EUR 49.90",
            "12 euros",
            "1 euro",
            "$20",
            "20 USD",
            "US$ 15.50",
            "£15",
            "15.99 GBP",
            "CHF 120.-",
            "1 299,00 €",
            "1.299,00 €",
            "1,299.00 $",
            "49€90",
            "120 dollars",
        ] {
            let want = text.trim_end_matches(".-");
            assert_eq!(
                amounts(&format!("Total: {text}. Merci")),
                v(&[want]),
                "{text}"
            );
        }
        assert_eq!(amounts("payé 49,90\u{202F}€"), v(&["49,90\u{202F}€"]));
    }

    #[test]
    fn numbers_without_currency_are_not_amounts() {
        for text in [
            "commande 4990",
            "3 articles à 12,5 kg",
            "le 12/03/2024",
            "leur 12 colis",
            "europe 2024",
            "06 12 34 56 78",
        ] {
            assert!(amounts(text).is_empty(), "{text}: {:?}", amounts(text));
        }
    }

    // ----- IBANs

    #[test]
    fn ibans_are_validated_and_masked() {
        let facts = extract_facts(
            "",
            "IBAN : FR76 3000 6000 0112 3456 7890 189\nAutre : DE89370400440532013000, GB29 NWBK 6016 1331 9268 19.",
        );
        assert_eq!(
            facts.ibans,
            v(&[
                "FR76 **** **** **** **** ***0 189",
                "DE89**************3000",
                "GB29 **** **** **** **68 19"
            ])
        );
        assert!(facts.phones.is_empty() && facts.tracking_numbers.is_empty());
        assert!(facts.order_refs.is_empty() && facts.amounts.is_empty());
    }

    #[test]
    fn wrong_checksums_and_random_codes_are_not_ibans() {
        for text in [
            "FR76 3000 6000 0112 3456 7890 188",
            "FR7630006000011234567890189X",
            "AB12 3456 7890",
            "ZZ76 3000 6000 0112 3456 7890 189",
            "FR76",
        ] {
            assert!(extract_facts("", text).ibans.is_empty(), "{text}");
        }
    }

    #[test]
    fn mask_ibans_in_text() {
        assert_eq!(
            mask_ibans("Mon IBAN est FR76 3000 6000 0112 3456 7890 189, merci."),
            "Mon IBAN est FR76 **** **** **** **** ***0 189, merci."
        );
        assert_eq!(
            mask_ibans("fr7630006000011234567890189"),
            "fr76*******************0189"
        );
        assert_eq!(
            mask_ibans("rien à masquer: 06 12 34 56 78"),
            "rien à masquer: 06 12 34 56 78"
        );
        assert_eq!(mask_ibans(""), "");
    }

    // ----- dates and whole messages

    #[test]
    fn dates_are_nothing() {
        let facts = extract_facts(
            "Livraison du 12/03/2024",
            "reçu le 12.03.2024 à 14h30, ou 2024-03-12",
        );
        assert_eq!(facts, Facts::default());
    }

    #[test]
    fn french_order_status_email() {
        let subject = "Commande #10482 toujours pas reçue";
        let body = "Bonjour,\n\n\
            J'ai passé commande le 02/03/2024 (commande n° 10482, 89,90 € payés par carte) et je \
            n'ai toujours rien reçu. Le numéro de suivi Colissimo est 6A12345678901 mais le site \
            n'affiche rien depuis une semaine.\n\n\
            Pouvez-vous me rappeler au 06 12 34 56 78 ou m'écrire à claire.martin@orange.fr ?\n\
            Je suis joignable aussi au +33 1 45 67 89 10 en journée.\n\n\
            Si le colis est perdu, merci de me rembourser sur mon compte \
            FR76 3000 6000 0112 3456 7890 189.\n\n\
            Cordialement,\nClaire Martin\n12 rue des Lilas, 75011 Paris";
        assert_eq!(
            extract_facts(subject, body),
            Facts {
                order_refs: v(&["#10482"]),
                tracking_numbers: v(&["6A12345678901"]),
                emails: v(&["claire.martin@orange.fr"]),
                phones: v(&["06 12 34 56 78", "+33 1 45 67 89 10"]),
                amounts: v(&["89,90 €"]),
                ibans: v(&["FR76 **** **** **** **** ***0 189"]),
            }
        );
    }

    #[test]
    fn english_refund_email() {
        let subject = "Refund for order no. 58213";
        let body = "Hi there,\n\n\
            I returned two items from order 58213 on 14/02/2024 via UPS \
            (tracking 1Z999AA10123456784). You refunded £15.99 but the total was £45.98, \
            so I'm still missing £29.99. My other order #58240 arrived fine, thanks!\n\n\
            Please call me on +44 7911 123456 or reply to j.smith@example.co.uk.\n\n\
            IMPORTANT: I've been a customer since 2019.\n\nJohn Smith";
        assert_eq!(
            extract_facts(subject, body),
            Facts {
                order_refs: v(&["58213", "#58240"]),
                tracking_numbers: v(&["1Z999AA10123456784"]),
                emails: v(&["j.smith@example.co.uk"]),
                phones: v(&["+44 7911 123456"]),
                amounts: v(&["£15.99", "£45.98", "£29.99"]),
                ibans: vec![],
            }
        );
    }

    #[test]
    fn french_prestashop_and_mondial_relay_email() {
        let subject = "Réclamation";
        let body = "Bonjour,\n\
            JE SUIS TRES MECONTENTE, C'EST INADMISSIBLE ET IMPORTANT !!!\n\
            Ma commande XKBKNABJK de 3 bougies (3 x 12 euros) devait arriver au point relais \
            Mondial Relay, numéro d'expédition 87654321, et rien depuis le 5/03.\n\
            J'ai aussi payé 4,90€ de frais de port. Mon numéro : 07 81 22 33 44.\n\
            Ref. de l'autre commande : HJDKTRBNA\n\
            Mme Dubois";
        assert_eq!(
            extract_facts(subject, body),
            Facts {
                order_refs: v(&["XKBKNABJK", "HJDKTRBNA"]),
                tracking_numbers: v(&["87654321"]),
                emails: vec![],
                phones: v(&["07 81 22 33 44"]),
                amounts: v(&["12 euros", "4,90€"]),
                ibans: vec![],
            }
        );
    }

    #[test]
    fn english_delivery_email_with_several_parcels() {
        let subject = "Re: [#1527] Where are my parcels?";
        let body = "Hello,\n\nOrders #1001 and #1002 were split in two parcels: DHL 1234567890 \
            and LA123456789FR. The second one shows \"delivered\" on 2024-03-12 but nothing \
            here. I paid $120.50 (USD) for express shipping!\n\
            Phone: +1 (415) 555-2671\n\n> On 10 March, support@shop.example wrote:\n\
            > Your order #1001 has shipped.\n";
        assert_eq!(
            extract_facts(subject, body),
            Facts {
                order_refs: v(&["#1001", "#1002"]),
                tracking_numbers: v(&["1234567890", "LA123456789FR"]),
                emails: v(&["support@shop.example"]),
                phones: v(&["+1 (415) 555-2671"]),
                amounts: v(&["$120.50"]),
                ibans: vec![],
            }
        );
    }

    #[test]
    fn facts_round_trip_through_json() {
        let facts = extract_facts("Commande 1234", "colis 6A12345678901, 12 €");
        let json = serde_json::to_string(&facts).unwrap();
        assert!(json.contains("\"order_refs\":[\"1234\"]"));
        assert_eq!(serde_json::from_str::<Facts>(&json).unwrap(), facts);
    }

    #[test]
    fn empty_and_hostile_input_never_panics() {
        assert_eq!(extract_facts("", ""), Facts::default());
        let nasty = [
            "#",
            "€",
            "+",
            "+33",
            "00",
            "n°",
            "commande",
            "commande #",
            "FR76",
            "1Z",
            "é€£$",
            "\u{A0}\u{202F}",
            "🙂🙂🙂 commande 🙂 1234 🙂",
            "a@",
            "@b.fr",
            "commande n°\u{301}1234",
            "ééééééééé 123456789012 ééééé colis",
            "\n\n\n",
            "IBAN\u{0}FR76",
        ];
        for text in nasty {
            let _ = extract_facts(text, text);
            let _ = mask_ibans(text);
            let _ = carrier_of(text);
        }
        // Every prefix of a rich message, cut at every char boundary.
        let rich = "Cde n°1042 — colis 6A12345678901 (49,90 €), tél +33 6 12 34 56 78, \
                    FR76 3000 6000 0112 3456 7890 189, é@x.fr XKBKNABJK 1Z 999 AA1 01 2345 6784";
        for (i, _) in rich.char_indices() {
            let _ = extract_facts(&rich[..i], &rich[i..]);
            let _ = mask_ibans(&rich[..i]);
        }
    }

    #[test]
    fn large_input_is_fast() {
        let paragraph = "Bonjour, commande n° 1042, colis 6A12345678901, 49,90 €, \
                         06 12 34 56 78, IMPORTANT XKBKNABJK. ";
        let text = paragraph.repeat(5_000);
        let start = std::time::Instant::now();
        let facts = extract_facts("", &text);
        assert_eq!(facts.order_refs, v(&["1042", "XKBKNABJK"]));
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }
}
