//! Reply templates: what an automatic answer says, per intent and language.
//!
//! Templates are minijinja sources rendered from strings only: no loader (so no file can be
//! read or included), strict undefined values (a template that names data we do not have fails
//! instead of sending half-filled text), a fuel limit (a shop's template cannot loop forever)
//! and a cap on the output size.

use std::io;
use std::sync::LazyLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use regex::Regex;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::UiLang;
use crate::t;
use crate::triage::Facts;

pub use super::html::{Branding, quote_original, render_html};
pub use super::shipped::shipped_templates;

/// Instructions a template may run. The shipped ones use a few hundred; a shop's template
/// needing more than this is looping.
pub const TEMPLATE_FUEL: u64 = 50_000;

/// Longest body a template may produce: far above any real answer, far below trouble.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A piece of information an answer needs from the customer before the case can go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    OrderRef,
    Photo,
    NewAddress,
    ProductName,
}

impl Need {
    pub const ALL: [Need; 4] = [
        Need::OrderRef,
        Need::Photo,
        Need::NewAddress,
        Need::ProductName,
    ];

    /// Stable identifier, as templates (`need.id`) and settings see it.
    pub fn id(self) -> &'static str {
        match self {
            Need::OrderRef => "order_ref",
            Need::Photo => "photo",
            Need::NewAddress => "new_address",
            Need::ProductName => "product_name",
        }
    }

    pub fn from_id(id: &str) -> Option<Need> {
        Need::ALL.into_iter().find(|need| need.id() == id)
    }

    /// How an answer asks for it: a list item completing "could you tell us:".
    pub fn label(self, lang: UiLang) -> &'static str {
        match self {
            Need::OrderRef => t!(lang, "reply_templates.need_order_ref"),
            Need::Photo => t!(lang, "reply_templates.need_photo"),
            Need::NewAddress => t!(lang, "reply_templates.need_new_address"),
            Need::ProductName => t!(lang, "reply_templates.need_product_name"),
        }
    }
}

/// What happens once the customer has brought what the answer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenComplete {
    /// Answer again automatically, now with everything.
    Answer,
    /// Give the ticket, with its complete case file, to an employee.
    HandOver,
}

/// A reply template of one intent in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTemplate {
    /// Intent identifier (`order_status`, …).
    pub intent: String,
    pub lang: UiLang,
    /// What the answer cannot do without; missing ones are asked for.
    pub needs: Vec<Need>,
    pub when_complete: WhenComplete,
    /// The answer is about a known order: when the customer's reference matches no order the
    /// shop knows, an employee must look instead of the template guessing.
    pub needs_order_data: bool,
    /// minijinja source of the plain-text body.
    pub body: String,
}

/// The template of `intent` in `lang`, if there is one.
pub fn find_template<'a>(
    templates: &'a [ReplyTemplate],
    intent: &str,
    lang: UiLang,
) -> Option<&'a ReplyTemplate> {
    templates
        .iter()
        .find(|template| template.intent == intent && template.lang == lang)
}

/// The language to answer in: the customer's (a detected code such as `fr` or `fr-FR`) when
/// we write it, else the shop's default.
pub fn reply_lang(detected: Option<&str>, shop_default: UiLang) -> UiLang {
    detected
        .and_then(|code| code.trim().get(..2))
        .and_then(|code| code.parse().ok())
        .unwrap_or(shop_default)
}

/// A line of an order, for templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub name: String,
    pub quantity: u32,
}

/// What templates know of an order. Text fields are ready to show (dates formatted, labels in
/// the answer's language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub reference: String,
    /// Stable status identifier the templates branch on: `pending`, `paid`, `processing`,
    /// `shipped`, `delivered`, `cancelled`, `refunded`.
    pub status: String,
    /// The status for the customer, in the answer's language.
    pub status_label: String,
    /// The order date, formatted for the customer; may be empty.
    pub date: String,
    pub items: Vec<OrderItem>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// The order's total as a decimal string (`49.90`), and its currency (ISO 4217).
    #[serde(default)]
    pub total: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// What a template sees of the customer, as the shop knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Validated orders.
    pub orders_count: u32,
    /// A decimal string (`149.70`), and its currency.
    pub total_spent: Option<String>,
    pub currency: Option<String>,
    /// When the account was created, formatted for the customer; may be empty.
    pub customer_since: String,
}

/// Everything a template can use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyContext {
    /// May be empty: greetings then read "Bonjour," / "Hello,".
    pub customer_name: String,
    pub ticket_number: i64,
    pub shop_name: String,
    /// The closing lines (name, team); templates fall back to the shop name when empty.
    pub signature: String,
    pub order: Option<OrderSummary>,
    /// The order the customer speaks of: the known order's reference, else the one they wrote,
    /// else empty.
    pub order_reference: String,
    /// What to ask for; templates list them.
    pub missing: Vec<Need>,
    /// The customer as the shop knows them, when it does.
    #[serde(default)]
    pub customer: Option<CustomerSummary>,
}

/// What a template sees of a need.
#[derive(Serialize)]
struct NeedView {
    id: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct TemplateData<'a> {
    customer_name: &'a str,
    ticket_number: i64,
    shop_name: &'a str,
    signature: &'a str,
    order: &'a Option<OrderSummary>,
    order_reference: &'a str,
    missing: Vec<NeedView>,
    customer: &'a Option<CustomerSummary>,
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateErrorKind {
    /// The source is not valid template syntax.
    Syntax,
    /// The template uses a variable or attribute that does not exist.
    Undefined,
    /// The template ran too long (a loop that does not end).
    OutOfFuel,
    /// The template produced far more text than an answer can be.
    TooLong,
    /// Anything else the engine refused (a wrong operation, a failing filter).
    Invalid,
}

/// A template that could not be rendered, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind:?} error{}: {detail}", line.map(|line| format!(" at line {line}")).unwrap_or_default())]
pub struct TemplateError {
    pub kind: TemplateErrorKind,
    /// 1-based line of the template source, when known.
    pub line: Option<usize>,
    /// The engine's own words (English).
    pub detail: String,
}

impl TemplateError {
    /// For the person editing the template, in French or English.
    pub fn explain(&self, lang: UiLang) -> String {
        let what = match self.kind {
            TemplateErrorKind::Syntax => t!(lang, "reply_templates.error_syntax"),
            TemplateErrorKind::Undefined => t!(lang, "reply_templates.error_undefined"),
            TemplateErrorKind::OutOfFuel => t!(lang, "reply_templates.error_out_of_fuel"),
            TemplateErrorKind::TooLong => t!(lang, "reply_templates.error_too_long"),
            TemplateErrorKind::Invalid => t!(lang, "reply_templates.error_invalid"),
        };
        let place = self
            .line
            .map(|line| t!(lang, "reply_templates.at_line", line = line))
            .unwrap_or_default();
        format!("{what}{place} — {}", self.detail)
    }

    fn from_engine(error: &minijinja::Error) -> TemplateError {
        let kind = match error.kind() {
            ErrorKind::SyntaxError => TemplateErrorKind::Syntax,
            ErrorKind::UndefinedError => TemplateErrorKind::Undefined,
            ErrorKind::OutOfFuel => TemplateErrorKind::OutOfFuel,
            _ => TemplateErrorKind::Invalid,
        };
        TemplateError {
            kind,
            line: error.line(),
            detail: error
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| error.kind().to_string()),
        }
    }

    fn too_long() -> TemplateError {
        TemplateError {
            kind: TemplateErrorKind::TooLong,
            line: None,
            detail: format!("more than {MAX_BODY_BYTES} bytes of output"),
        }
    }
}

/// The sandbox every template renders in: built-in filters only, nothing loaded from anywhere.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(50);
    // Block tags on their own line leave no blank line, so templates can be laid out readably.
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    // Plain text: nothing to escape (the HTML alternative escapes the finished text).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// Renders the plain-text body of an answer: lines trimmed on the right, at most one blank
/// line in a row, ending with one newline.
pub fn render(template: &ReplyTemplate, context: &ReplyContext) -> Result<String, TemplateError> {
    let lang = template.lang;
    let data = TemplateData {
        customer_name: context.customer_name.trim(),
        ticket_number: context.ticket_number,
        shop_name: context.shop_name.trim(),
        signature: context.signature.trim(),
        order: &context.order,
        customer: &context.customer,
        order_reference: context.order_reference.trim(),
        missing: context
            .missing
            .iter()
            .map(|need| NeedView {
                id: need.id(),
                label: need.label(lang),
            })
            .collect(),
    };
    let env = environment();
    let compiled = env
        .template_from_str(&template.body)
        .map_err(|error| TemplateError::from_engine(&error))?;
    let mut output = CappedOutput::default();
    let rendered = compiled.render_captured_to(Value::from(Serde(&data)), &mut output);
    if output.overflowed {
        return Err(TemplateError::too_long());
    }
    rendered.map_err(|error| TemplateError::from_engine(&error))?;
    let text = String::from_utf8_lossy(&output.bytes);
    Ok(tidy(&text))
}

/// Renders a template against sample data (with and without an order, with and without
/// missing information), so an edited template is checked before it is saved.
pub fn check_template(template: &ReplyTemplate) -> Result<(), TemplateError> {
    for context in sample_contexts(template.lang) {
        render(template, &context)?;
    }
    Ok(())
}

/// Realistic contexts covering every branch a template is expected to handle.
pub fn sample_contexts(lang: UiLang) -> Vec<ReplyContext> {
    let order = |status: &str, shipped: bool| OrderSummary {
        reference: "10482".to_string(),
        status: status.to_string(),
        status_label: crate::shop::OrderStatus::parse(status)
            .map_or(status, |s| s.label(lang))
            .to_string(),
        date: super::html::format_date(jiff::civil::date(2026, 11, 12), lang).unwrap_or_default(),
        items: vec![
            OrderItem {
                name: t!(lang, "reply_templates.sample_mug").to_string(),
                quantity: 2,
            },
            OrderItem {
                name: t!(lang, "reply_templates.sample_teapot").to_string(),
                quantity: 1,
            },
        ],
        carrier: shipped.then(|| "Colissimo".to_string()),
        tracking_number: shipped.then(|| "6A12345678901".to_string()),
        tracking_url: shipped
            .then(|| "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901".into()),
        total: Some("49.90".into()),
        currency: Some("EUR".into()),
    };
    let shop_name = "Ma Boutique";
    let base = ReplyContext {
        customer_name: "Marie Dupont".to_string(),
        ticket_number: 1527,
        shop_name: shop_name.to_string(),
        signature: t!(lang, "reply_templates.sample_signature", shop = shop_name),
        order: None,
        order_reference: String::new(),
        missing: Vec::new(),
        customer: None,
    };
    let customer = CustomerSummary {
        first_name: Some("Marie".into()),
        last_name: Some("Dupont".into()),
        orders_count: 3,
        total_spent: Some("149.70".into()),
        currency: Some("EUR".into()),
        customer_since: super::html::format_date(jiff::civil::date(2024, 3, 1), lang)
            .unwrap_or_default(),
    };
    let mut contexts = vec![
        ReplyContext {
            missing: Need::ALL.to_vec(),
            ..base.clone()
        },
        ReplyContext {
            customer_name: String::new(),
            signature: String::new(),
            order_reference: "10482".to_string(),
            ..base.clone()
        },
    ];
    for (status, shipped) in [
        ("shipped", true),
        ("processing", false),
        ("delivered", true),
        ("refunded", false),
    ] {
        contexts.push(ReplyContext {
            order: Some(order(status, shipped)),
            order_reference: "10482".to_string(),
            customer: Some(customer.clone()),
            ..base.clone()
        });
    }
    contexts
}

/// Collects the rendered text, refusing to grow past [`MAX_BODY_BYTES`].
#[derive(Default)]
struct CappedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_BODY_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("template output too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Right-trims lines, keeps at most one blank line in a row, trims the ends.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    let mut blank_run = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A French postcode followed by a town ("75011 Paris"), or a US state and ZIP code.
static POSTCODE_TOWN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{5}\s+\p{Lu}[\p{L}'’\-]+|\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
        .expect("postcode regex")
});

/// A British postcode ("SW1A 1AA", "M1 1AE").
static UK_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b").expect("uk postcode regex")
});

/// A number then a French street word: "12 rue", "3 bis, avenue", "8 bd".
static FRENCH_STREET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b\d{1,4}\s*(?:bis|ter|[a-d])?\s*,?\s+(?:rue|avenue|av|bd|boulevard|chemin|ch|allée|allee|impasse|place|pl|route|rte|quai|square|lotissement|lieu-dit|résidence|residence|sentier|hameau|faubourg|fbg|promenade|esplanade)\b\.?\s+\p{L}",
    )
    .expect("french street regex")
});

/// A number, capitalised name words, then an English street word: "221B Baker Street".
static ENGLISH_STREET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b\d{1,5}[A-Za-z]?,?\s+(?:\p{Lu}[\p{L}'’.\-]*\s+){1,3}(?i:street|st|road|rd|avenue|ave|lane|ln|drive|dr|way|close|court|ct|crescent|boulevard|blvd|place|terrace|gardens|grove|square|parkway)\b",
    )
    .expect("english street regex")
});

/// A link to a product page.
static PRODUCT_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)https?://\S+/(?:products?|produits?|p|shop|boutique|article)/\S+")
        .expect("product link regex")
});

/// A name in quotes: « Théière Lune », "Moon teapot".
static QUOTED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"«\s*[^»\n]{2,80}?\s*»|“[^”\n]{2,80}”|"[^"\n]{2,80}""#).expect("quoted name regex")
});

/// Whether the text seems to contain a postal address (French or English conventions).
pub fn mentions_postal_address(text: &str) -> bool {
    POSTCODE_TOWN.is_match(text)
        || UK_POSTCODE.is_match(text)
        || FRENCH_STREET.is_match(text)
        || ENGLISH_STREET.is_match(text)
}

/// The needs among `needs` that the customer has not given yet, in the order of `needs`.
///
/// `facts` and `text` should cover the ticket's customer messages, not only the last one, so
/// an order number given first and a photo sent later complete the case together. A product
/// counts as named when the message links to its page, quotes its name or gives an order
/// number (the order says which products); otherwise it is asked for.
pub fn missing_needs(needs: &[Need], facts: &Facts, has_image: bool, text: &str) -> Vec<Need> {
    let mut missing = Vec::new();
    for &need in needs {
        let present = match need {
            Need::OrderRef => !facts.order_refs.is_empty(),
            Need::Photo => has_image,
            Need::NewAddress => mentions_postal_address(text),
            Need::ProductName => {
                !facts.order_refs.is_empty()
                    || PRODUCT_LINK.is_match(text)
                    || QUOTED_NAME.is_match(text)
            }
        };
        if !present && !missing.contains(&need) {
            missing.push(need);
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(body: &str) -> ReplyTemplate {
        ReplyTemplate {
            intent: "custom".into(),
            lang: UiLang::Fr,
            needs: Vec::new(),
            when_complete: WhenComplete::HandOver,
            needs_order_data: false,
            body: body.into(),
        }
    }

    #[test]
    fn shipped_templates_cover_the_automatic_intents_in_both_languages() {
        let templates = shipped_templates();
        for intent in crate::replies::decision::DEFAULT_AUTOMATIC_INTENTS {
            for &lang in UiLang::ALL {
                assert!(
                    find_template(&templates, intent, lang).is_some(),
                    "{intent} {lang}"
                );
            }
        }
        for intent in ["product_question", "complaint", "other"] {
            assert!(templates.iter().all(|t| t.intent != intent), "{intent}");
        }
        assert_eq!(templates.len(), 18);
    }

    #[test]
    fn every_shipped_template_renders_every_sample_context() {
        for template in shipped_templates() {
            for context in sample_contexts(template.lang) {
                let text = render(&template, &context).unwrap_or_else(|error| {
                    panic!("{} {}: {error}", template.intent, template.lang)
                });
                let (hello, closing) = match template.lang {
                    UiLang::Fr => ("Bonjour", "Bien cordialement,"),
                    UiLang::En => ("Hello", "Kind regards,"),
                };
                assert!(text.starts_with(hello), "{text}");
                assert!(text.contains(closing), "{text}");
                assert!(!text.contains("{{") && !text.contains("{%"), "{text}");
                assert!(!text.contains("\n\n\n"), "{text}");
                assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text}");
                if context.customer_name.is_empty() {
                    assert!(text.starts_with(&format!("{hello},\n")), "{text}");
                } else {
                    assert!(
                        text.starts_with(&format!("{hello} Marie Dupont,\n")),
                        "{text}"
                    );
                }
                if context.signature.is_empty() {
                    assert!(text.trim_end().ends_with("Ma Boutique"), "{text}");
                }
                for need in &context.missing {
                    if template.needs.contains(need) {
                        let label = need.label(template.lang);
                        assert!(text.contains(&format!("- {label}")), "{text}");
                    }
                }
            }
        }
    }

    #[test]
    fn order_status_with_order_data_tells_the_tracking() {
        let templates = shipped_templates();
        let contexts = sample_contexts(UiLang::Fr);
        let shipped = contexts
            .iter()
            .find(|c| c.order.as_ref().is_some_and(|o| o.status == "shipped"))
            .expect("shipped sample");
        let template = find_template(&templates, "order_status", UiLang::Fr).expect("template");
        let text = render(template, shipped).expect("renders");
        assert!(text.contains("Voici où en est votre commande 10482 du 12 nov. 2026 : expédiée."));
        assert!(text.contains("- 2 × Mug en grès"));
        assert!(text.contains("Colissimo avec le numéro de suivi 6A12345678901"));
        assert!(
            text.contains("https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901")
        );

        let english = find_template(&templates, "order_status", UiLang::En).expect("template");
        let asking = ReplyContext {
            missing: vec![Need::OrderRef],
            ..ReplyContext::default()
        };
        let text = render(english, &asking).expect("renders");
        assert!(text.starts_with("Hello,\n"));
        assert!(text.contains("- your order number (you will find it in the confirmation email)"));
    }

    #[test]
    fn syntax_errors_are_reported_with_their_line() {
        let error = render(
            &template("Bonjour,\n\n{% if order %}\nrien"),
            &ReplyContext::default(),
        )
        .unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Syntax);
        assert!(error.line.is_some());
        assert!(error.explain(UiLang::Fr).contains("erreur de syntaxe"));
        assert!(error.explain(UiLang::En).contains("syntax error"));

        let error = render(
            &template("Bonjour {{ customer_name "),
            &ReplyContext::default(),
        )
        .unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Syntax);
        assert_eq!(error.line, Some(1));
    }

    #[test]
    fn undefined_values_fail_instead_of_sending_half_filled_text() {
        for body in [
            "Bonjour {{ first_name }},",
            "Bonjour,\n\nVotre colis : {{ order.tracking_number }}",
            "Bonjour,\n{% for x in nothing %}{{ x }}{% endfor %}",
            "{% if mystery %}oui{% endif %}",
        ] {
            let error = render(&template(body), &ReplyContext::default()).unwrap_err();
            assert!(
                matches!(
                    error.kind,
                    TemplateErrorKind::Undefined | TemplateErrorKind::Invalid
                ),
                "{body}: {error:?}"
            );
        }
        let error = render(
            &template("Bonjour,\n\n{{ first_name }}"),
            &ReplyContext::default(),
        )
        .unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Undefined);
        assert_eq!(error.line, Some(3));
        assert!(error.explain(UiLang::Fr).contains("ligne 3"));
        assert!(error.explain(UiLang::En).contains("line 3"));
    }

    #[test]
    fn a_looping_template_runs_out_of_fuel() {
        let body = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}";
        let error = render(&template(body), &ReplyContext::default()).unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::OutOfFuel);
        assert!(error.explain(UiLang::Fr).contains("boucle"));
        let recursive = "{% macro again(n) %}{{ again(n + 1) }}{% endmacro %}{{ again(0) }}";
        assert!(render(&template(recursive), &ReplyContext::default()).is_err());
    }

    #[test]
    fn a_template_cannot_produce_megabytes() {
        // The engine charges fuel for big repetitions…
        assert!(render(&template("{{ 'x' * 10000000 }}"), &ReplyContext::default()).is_err());
        // …and the output cap stops a cheap loop writing a lot.
        let body = "{% for i in range(1000) %}{{ 'Bonjour ' * 20 }}{% endfor %}";
        let error = render(&template(body), &ReplyContext::default()).unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::TooLong);
        assert!(error.explain(UiLang::Fr).contains("bien trop long"));
    }

    #[test]
    fn templates_cannot_include_files() {
        for body in [
            "{% include '/etc/passwd' %}",
            "{% extends 'base.txt' %}",
            "{% import 'macros' as m %}",
        ] {
            assert!(
                render(&template(body), &ReplyContext::default()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn check_template_validates_an_edited_template() {
        let mut edited = template(
            "Bonjour{{ ' ' ~ customer_name if customer_name else '' }},\n{{ order.reference }}",
        );
        assert!(check_template(&edited).is_err(), "order may be none");
        edited.body =
            "Bonjour,\n{% if order %}{{ order.reference }}{% endif %}\n{{ signature }}".into();
        assert_eq!(check_template(&edited), Ok(()));
    }

    #[test]
    fn customer_data_is_not_interpreted_as_template_code() {
        let context = ReplyContext {
            customer_name: "{{ shop_name }} {% for x in range(9) %}".into(),
            shop_name: "Ma Boutique".into(),
            ..ReplyContext::default()
        };
        let text = render(&template("Bonjour {{ customer_name }},"), &context).expect("renders");
        assert_eq!(text, "Bonjour {{ shop_name }} {% for x in range(9) %},\n");
    }

    #[test]
    fn needs_have_ids_and_labels() {
        for need in Need::ALL {
            assert_eq!(Need::from_id(need.id()), Some(need));
            assert_ne!(need.label(UiLang::Fr), need.label(UiLang::En));
        }
        assert_eq!(Need::from_id("iban"), None);
    }

    #[test]
    fn missing_needs_are_detected() {
        let all = Need::ALL;
        let empty = Facts::default();
        assert_eq!(missing_needs(&all, &empty, false, "Bonjour"), all.to_vec());
        let facts = Facts {
            order_refs: vec!["10482".into()],
            ..Facts::default()
        };
        assert_eq!(
            missing_needs(
                &all,
                &facts,
                true,
                "Nouvelle adresse : 12 rue des Lilas, 69003 Lyon"
            ),
            Vec::<Need>::new()
        );
        assert_eq!(
            missing_needs(&[Need::Photo, Need::Photo], &facts, false, ""),
            vec![Need::Photo]
        );
        assert_eq!(
            missing_needs(
                &[Need::ProductName],
                &empty,
                false,
                "Le « Mug Lune » est-il lavable ?"
            ),
            Vec::<Need>::new()
        );
        assert_eq!(
            missing_needs(
                &[Need::ProductName],
                &empty,
                false,
                "https://boutique.example/products/mug-lune"
            ),
            Vec::<Need>::new()
        );
    }

    #[test]
    fn postal_addresses_are_recognised_in_french_and_english() {
        for text in [
            "Merci d'envoyer à : 12 rue des Lilas",
            "nouvelle adresse 3 bis, avenue Jean Jaurès",
            "8 bd Voltaire 75011 Paris",
            "14 chemin des Vignes",
            "Livrez plutôt au 75011 Paris",
            "5 allée des Pins",
            "221B Baker Street, London",
            "please ship to 10 Downing St instead",
            "Flat 2, London SW1A 1AA",
            "123 Main Street, Springfield, IL 62704",
        ] {
            assert!(mentions_postal_address(text), "{text}");
        }
        for text in [
            "Ma commande 123456 n'est pas arrivée",
            "J'ai commandé 2 mugs il y a 12345 jours",
            "I ordered 2 items on the way home",
            "Je veux changer d'adresse",
            "commande 10482 merci",
            "Il reste 2 places ?",
        ] {
            assert!(!mentions_postal_address(text), "{text}");
        }
    }

    #[test]
    fn reply_language_follows_the_customer_when_we_write_it() {
        assert_eq!(reply_lang(Some("fr"), UiLang::En), UiLang::Fr);
        assert_eq!(reply_lang(Some(" FR-ca"), UiLang::En), UiLang::Fr);
        assert_eq!(reply_lang(Some("en"), UiLang::Fr), UiLang::En);
        assert_eq!(reply_lang(Some("de"), UiLang::Fr), UiLang::Fr);
        assert_eq!(reply_lang(Some("é"), UiLang::Fr), UiLang::Fr);
        assert_eq!(reply_lang(None, UiLang::En), UiLang::En);
    }
}
