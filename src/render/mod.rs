//! HTML from templates: the replay report now, the email layout and the back-office pages next,
//! all through one minijinja environment with the templates embedded in the binary. Values
//! are escaped by default (`.html` templates); `t(KEY)` reads the catalogue in the page's
//! `lang`.

use std::sync::LazyLock;

use minijinja::value::Kwargs;
use minijinja::{Environment, State, Value};
use serde::Serialize;

use crate::model::UiLang;

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("replay.html", include_str!("replay.html")),
    ("email.html", include_str!("email.html")),
    // The back office's pages.
    (
        "web/layout.html",
        include_str!("../web/templates/layout.html"),
    ),
    ("web/bare.html", include_str!("../web/templates/bare.html")),
    (
        "web/ticket_page.html",
        include_str!("../web/templates/ticket_page.html"),
    ),
    (
        "web/ticket_presence.html",
        include_str!("../web/templates/ticket_presence.html"),
    ),
    (
        "web/settings_index.html",
        include_str!("../web/templates/settings_index.html"),
    ),
    (
        "web/settings_mailboxes.html",
        include_str!("../web/templates/settings_mailboxes.html"),
    ),
    (
        "web/settings_contacts.html",
        include_str!("../web/templates/settings_contacts.html"),
    ),
    (
        "web/settings_templates.html",
        include_str!("../web/templates/settings_templates.html"),
    ),
    (
        "web/settings_template.html",
        include_str!("../web/templates/settings_template.html"),
    ),
    (
        "web/settings_template_preview.html",
        include_str!("../web/templates/settings_template_preview.html"),
    ),
    (
        "web/settings_answers.html",
        include_str!("../web/templates/settings_answers.html"),
    ),
    (
        "web/settings_employees.html",
        include_str!("../web/templates/settings_employees.html"),
    ),
    (
        "web/settings_predefined.html",
        include_str!("../web/templates/settings_predefined.html"),
    ),
    (
        "web/settings_contact_form.html",
        include_str!("../web/templates/settings_contact_form.html"),
    ),
    (
        "web/settings_shop.html",
        include_str!("../web/templates/settings_shop.html"),
    ),
    (
        "web/settings_status.html",
        include_str!("../web/templates/settings_status.html"),
    ),
    (
        "web/sign_in.html",
        include_str!("../web/templates/sign_in.html"),
    ),
    (
        "web/ticket_list.html",
        include_str!("../web/templates/ticket_list.html"),
    ),
    (
        "web/error.html",
        include_str!("../web/templates/error.html"),
    ),
    (
        "web/account.html",
        include_str!("../web/templates/account.html"),
    ),
    (
        "web/stats.html",
        include_str!("../web/templates/stats.html"),
    ),
    (
        "web/contact_form.html",
        include_str!("../web/templates/contact_form.html"),
    ),
    (
        "web/contact_thanks.html",
        include_str!("../web/templates/contact_thanks.html"),
    ),
];

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for &(name, source) in TEMPLATES {
        // Embedded and rendered by the tests: a syntax error is a build defect.
        env.add_template(name, source)
            .expect("embedded template is valid");
    }
    env.add_function("t", translate);
    env
});

/// `t(KEY)` in a template: the catalogue text in the language of the render;
/// `t(KEY, name=value, ...)` fills its placeholders.
fn translate(state: &State, key: &str, args: Kwargs) -> Result<String, minijinja::Error> {
    let lang = state
        .lookup("lang")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|code| code.parse().ok())
        .unwrap_or_default();
    let names: Vec<&str> = args.args().collect();
    if names.is_empty() {
        return Ok(crate::i18n::text(lang, key).to_string());
    }
    let values = names
        .iter()
        .map(|name| args.get::<Value>(name))
        .collect::<Result<Vec<_>, _>>()?;
    let pairs: Vec<(&str, &dyn std::fmt::Display)> = names
        .iter()
        .zip(&values)
        .map(|(name, value)| (*name, value as &dyn std::fmt::Display))
        .collect();
    args.assert_all_used()?;
    Ok(crate::i18n::format(lang, key, &pairs))
}

#[derive(Debug, thiserror::Error)]
#[error("cannot render {template}: {source}")]
pub struct RenderError {
    template: String,
    source: minijinja::Error,
}

/// Renders `template` with `context`, whose fields become the template's variables, plus
/// `lang`.
pub fn render(
    template: &str,
    lang: UiLang,
    context: &impl Serialize,
) -> Result<String, RenderError> {
    let wrap = |source| RenderError {
        template: template.to_string(),
        source,
    };
    let template_ref = ENVIRONMENT.get_template(template).map_err(wrap)?;
    let context = minijinja::context! { lang => lang.code(), ..Value::from(minijinja::value::Serde(context)) };
    template_ref.render(context).map_err(wrap)
}
