//! HTML from templates: the replay report now, the email layout and the back-office pages next,
//! all through one minijinja environment with the templates embedded in the binary. Values
//! are escaped by default (`.html` templates); `t(KEY)` reads the catalogue in the page's
//! `lang`.

use std::sync::LazyLock;

use minijinja::{Environment, State, Value};
use serde::Serialize;

use crate::model::UiLang;

/// Every template, by name.
const TEMPLATES: [(&str, &str); 2] = [
    ("replay.html", include_str!("replay.html")),
    ("email.html", include_str!("email.html")),
];

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        // Embedded and rendered by the tests: a syntax error is a build defect.
        env.add_template(name, source)
            .expect("embedded template is valid");
    }
    env.add_function("t", translate);
    env
});

/// `t(KEY)` in a template: the catalogue text in the language of the render.
fn translate(state: &State, key: &str) -> String {
    let lang = state
        .lookup("lang")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|code| code.parse().ok())
        .unwrap_or_default();
    crate::i18n::text(lang, key).to_string()
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
