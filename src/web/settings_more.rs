//! More settings pages for administrators: the shop's employees (add, reset a password, change
//! a role, remove), the predefined message replies start from (per language, previewed on a
//! real ticket), and the public contact form (attachments, limits, its URL and an embed
//! snippet). Every change is a desk call the command line makes too.

use axum::extract::{Extension, Form, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::settings::{
    back, checked, choice, done, filled, number, preview_on_ticket, refused, settings_page,
};
use super::{Access, AppState, Routes, WebError, WebResult, WebResultExt, security};
use crate::desk::contact_form::{MAX_ATTACHMENT_LIMIT, megabytes, slug};
use crate::desk::employees::{EmployeeInput, generate_password};
use crate::model::{Role, UiLang};
use crate::store::ContactFormSettings;
use crate::views::{rfc3339, role_label};
use crate::{i18n, t};

pub fn routes() -> Routes {
    Routes::new()
        .get("/settings/employees", Access::Admin, employees)
        .post("/settings/employees", Access::Admin, add_employee)
        .post(
            "/settings/employees/{id}/password",
            Access::Admin,
            reset_password,
        )
        .post("/settings/employees/{id}/role", Access::Admin, set_role)
        .post(
            "/settings/employees/{id}/remove",
            Access::Admin,
            remove_employee,
        )
        .get(
            "/settings/predefined-message",
            Access::Admin,
            predefined_message,
        )
        .post(
            "/settings/predefined-message/{lang}",
            Access::Admin,
            save_predefined_message,
        )
        .post(
            "/settings/predefined-message/{lang}/preview",
            Access::Admin,
            preview_predefined_message,
        )
        .get("/settings/contact-form", Access::Admin, contact_form)
        .post("/settings/contact-form", Access::Admin, save_contact_form)
}

// ---- Employees. ----

const EMPLOYEES: &str = "/settings/employees";

#[derive(Serialize)]
struct EmployeeLine {
    id: i64,
    name: String,
    email: String,
    admin: bool,
    role: &'static str,
    lang: &'static str,
    last_sign_in: Option<String>,
    myself: bool,
}

/// A password the admin must read now: it is never shown again (the database has its hash).
#[derive(Serialize)]
struct ShownPassword {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct EmployeesPage {
    employees: Vec<EmployeeLine>,
    shown_password: Option<ShownPassword>,
    min_password: usize,
    /// A new employee reads the back office in the admin's language unless chosen otherwise.
    default_lang: &'static str,
}

async fn employees_page(
    me: &SignedIn,
    headers: &HeaderMap,
    state: &AppState,
    shown_password: Option<ShownPassword>,
) -> WebResult<Response> {
    let desk = &state.desk;
    let signed_in = desk.last_sign_ins(&me.shop).await.web(me)?;
    let employees = desk
        .employees(&me.shop)
        .await
        .web(me)?
        .into_iter()
        .map(|e| EmployeeLine {
            last_sign_in: signed_in.get(&e.id).map(|at| rfc3339(*at)),
            myself: e.id == me.employee.id,
            admin: e.role == Role::Admin,
            role: role_label(e.role, me.lang),
            lang: e.lang.code(),
            id: e.id,
            name: e.name,
            email: e.email,
        })
        .collect();
    let context = EmployeesPage {
        employees,
        shown_password,
        min_password: crate::desk::employees::MIN_PASSWORD_CHARS,
        default_lang: me.lang.code(),
    };
    settings_page(me, headers, "web/settings_employees.html", context)
}

async fn employees(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    employees_page(&me, &headers, &state, None).await
}

#[derive(Deserialize)]
struct EmployeeForm {
    email: Option<String>,
    name: Option<String>,
    role: Option<String>,
    lang: Option<String>,
    /// Empty: generate one and show it once.
    password: Option<String>,
}

/// The typed password, or a generated one (true) to show once.
fn typed_or_generated(value: &Option<String>) -> (SecretString, bool) {
    match value.as_deref().filter(|p| !p.is_empty()) {
        Some(typed) => (SecretString::from(typed.to_string()), false),
        None => (generate_password(), true),
    }
}

async fn add_employee(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
    Form(form): Form<EmployeeForm>,
) -> WebResult<Response> {
    let lang = me.lang;
    let parsed = choice::<Role>(&form.role, "role", lang)
        .and_then(|role| Ok((role, choice::<UiLang>(&form.lang, "lang", lang)?)));
    let (role, employee_lang) = match parsed {
        Ok(parsed) => parsed,
        Err(text) => return Ok(back(EMPLOYEES, false, &text)),
    };
    let (password, generated) = typed_or_generated(&form.password);
    let input = EmployeeInput {
        email: filled(&form.email).unwrap_or_default(),
        name: filled(&form.name),
        admin: role == Some(Role::Admin),
        lang: employee_lang.unwrap_or(lang),
        password: password.clone(),
    };
    let employee = match state.desk.add_employee(&me.shop, input).await {
        Ok(employee) => employee,
        Err(error) => return Ok(refused(EMPLOYEES, error, lang)),
    };
    if generated {
        let shown = ShownPassword {
            email: employee.email,
            password: password.expose_secret().to_string(),
        };
        return employees_page(&me, &headers, &state, Some(shown)).await;
    }
    Ok(back(
        EMPLOYEES,
        true,
        &t!(
            lang,
            "employees.added",
            email = employee.email,
            shop = me.shop.name,
            role = role_label(employee.role, lang)
        ),
    ))
}

#[derive(Deserialize)]
struct PasswordForm {
    password: Option<String>,
}

async fn reset_password(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<PasswordForm>,
) -> WebResult<Response> {
    let (password, generated) = typed_or_generated(&form.password);
    let employee = match state.desk.reset_password(&me.shop, id, &password).await {
        Ok(employee) => employee,
        Err(error) => return Ok(refused(EMPLOYEES, error, me.lang)),
    };
    if generated {
        let shown = ShownPassword {
            email: employee.email,
            password: password.expose_secret().to_string(),
        };
        return employees_page(&me, &headers, &state, Some(shown)).await;
    }
    Ok(back(
        EMPLOYEES,
        true,
        &t!(
            me.lang,
            "web_settings_more.password_reset",
            email = employee.email
        ),
    ))
}

#[derive(Deserialize)]
struct RoleForm {
    role: Option<String>,
}

async fn set_role(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Response {
    let role = match choice::<Role>(&form.role, "role", me.lang) {
        Ok(Some(role)) => role,
        Ok(None) => {
            let text = t!(
                me.lang,
                "web_settings.bad_choice",
                field = "role",
                value = ""
            );
            return back(EMPLOYEES, false, &text);
        }
        Err(text) => return back(EMPLOYEES, false, &text),
    };
    match state
        .desk
        .set_role(&me.shop, id, role, Some(me.employee.id))
        .await
    {
        Ok(employee) => back(
            EMPLOYEES,
            true,
            &t!(
                me.lang,
                "web_settings_more.role_set",
                email = employee.email,
                role = role_label(employee.role, me.lang)
            ),
        ),
        Err(error) => refused(EMPLOYEES, error, me.lang),
    }
}

async fn remove_employee(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(id): Path<i64>,
) -> Response {
    match state
        .desk
        .remove_employee(&me.shop, id, Some(me.employee.id))
        .await
    {
        Ok(employee) => back(
            EMPLOYEES,
            true,
            &t!(me.lang, "web_settings_more.removed", email = employee.email),
        ),
        Err(error) => refused(EMPLOYEES, error, me.lang),
    }
}

// ---- The predefined message. ----

const PREDEFINED: &str = "/settings/predefined-message";

/// What a predefined message may use, each explained in the catalogue
/// (`web_settings_more.var_<name>`, dots as underscores).
const VARIABLES: &[&str] = &[
    "customer_name",
    "ticket_number",
    "shop_name",
    "signature",
    "order_reference",
    "order.status_label",
    "order.date",
    "order.carrier",
    "order.tracking_number",
    "order.tracking_url",
    "customer.first_name",
    "customer.orders_count",
    "customer.total_spent",
    "customer.currency",
    "customer.customer_since",
];

#[derive(Serialize)]
struct Variable {
    name: &'static str,
    meaning: &'static str,
}

#[derive(Serialize)]
struct MessageForm {
    lang: &'static str,
    url: String,
    body: String,
    /// The text differs from the shipped default.
    edited: bool,
    ticket: Option<i64>,
    preview: Option<String>,
    preview_error: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct PredefinedPage {
    forms: Vec<MessageForm>,
    variables: Vec<Variable>,
    tickets: Vec<(i64, String)>,
}

fn predefined_url(lang: UiLang) -> String {
    format!("{PREDEFINED}/{}", lang.code())
}

/// What one language's form shows instead of the stored text: the text typed, with its
/// preview or refusal.
struct Typed {
    lang: UiLang,
    body: String,
    ticket: Option<i64>,
    preview: Option<Result<String, String>>,
    error: Option<String>,
}

async fn predefined_page(
    me: &SignedIn,
    state: &AppState,
    typed: Option<Typed>,
) -> WebResult<PredefinedPage> {
    let desk = &state.desk;
    let mut forms = Vec::new();
    for lang in UiLang::ALL.iter().copied() {
        let stored = desk.predefined_message(&me.shop, lang).await.web(me)?;
        let edited = stored != t!(lang, "actions.predefined_default");
        let form = match &typed {
            Some(typed) if typed.lang == lang => {
                let (preview, preview_error) = match &typed.preview {
                    Some(Ok(text)) => (Some(text.clone()), None),
                    Some(Err(error)) => (None, Some(error.clone())),
                    None => (None, None),
                };
                MessageForm {
                    lang: lang.code(),
                    url: predefined_url(lang),
                    body: typed.body.clone(),
                    edited,
                    ticket: typed.ticket,
                    preview,
                    preview_error,
                    error: typed.error.clone(),
                }
            }
            _ => MessageForm {
                lang: lang.code(),
                url: predefined_url(lang),
                body: stored,
                edited,
                ticket: None,
                preview: None,
                preview_error: None,
                error: None,
            },
        };
        forms.push(form);
    }
    let tickets = desk
        .tickets(Some(&me.shop))
        .await
        .web(me)?
        .into_iter()
        .take(50)
        .map(|t| (t.number, format!("#{} {}", t.number, t.subject)))
        .collect();
    Ok(PredefinedPage {
        forms,
        variables: VARIABLES
            .iter()
            .map(|name| Variable {
                name,
                meaning: i18n::text(
                    me.lang,
                    &format!("web_settings_more.var_{}", name.replace('.', "_")),
                ),
            })
            .collect(),
        tickets,
    })
}

async fn predefined_message(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let context = predefined_page(&me, &state, None).await?;
    settings_page(&me, &headers, "web/settings_predefined.html", context)
}

/// The form of one language: `action` is `save` or `preview` (the no-JS preview button).
#[derive(Deserialize)]
struct PredefinedForm {
    #[serde(default)]
    body: String,
    action: Option<String>,
    ticket: Option<String>,
}

/// The preview's text, or why there is none, in the admin's language.
async fn render_preview(
    me: &SignedIn,
    state: &AppState,
    lang: UiLang,
    form: &PredefinedForm,
) -> (Option<i64>, Result<String, String>) {
    let body = form.body.replace("\r\n", "\n");
    preview_on_ticket(me, &form.ticket, |ticket| {
        state
            .desk
            .preview_predefined_message(&me.shop, ticket, lang, &body)
    })
    .await
}

async fn save_predefined_message(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
    Path(lang): Path<UiLang>,
    Form(form): Form<PredefinedForm>,
) -> WebResult<Response> {
    let body = form.body.replace("\r\n", "\n");
    let typed = if form.action.as_deref() == Some("preview") {
        let (ticket, preview) = render_preview(&me, &state, lang, &form).await;
        Typed {
            lang,
            body,
            ticket,
            preview: Some(preview),
            error: None,
        }
    } else {
        match state
            .desk
            .set_predefined_message(&me.shop, lang, &body)
            .await
        {
            Ok(()) => {
                let to = format!("{PREDEFINED}#{}", lang.code());
                return Ok(done(&to, me.lang, "web_settings_more.predefined_saved"));
            }
            // Refused: the page again, with the text as typed and why.
            Err(error) => Typed {
                lang,
                body,
                ticket: number::<i64>(&form.ticket, "ticket", me.lang)
                    .ok()
                    .flatten(),
                preview: None,
                error: Some(WebError::from_desk(error, me.lang).message),
            },
        }
    };
    let refused = typed.error.is_some();
    let context = predefined_page(&me, &state, Some(typed)).await?;
    let page = settings_page(&me, &headers, "web/settings_predefined.html", context)?;
    Ok(if refused {
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    } else {
        page
    })
}

/// The htmx preview: only the preview's fragment.
async fn preview_predefined_message(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(lang): Path<UiLang>,
    Form(form): Form<PredefinedForm>,
) -> WebResult<Html<String>> {
    let (_, preview) = render_preview(&me, &state, lang, &form).await;
    let context = match preview {
        Ok(text) => serde_json::json!({ "preview": text }),
        Err(error) => serde_json::json!({ "preview_error": error }),
    };
    crate::render::render("web/settings_template_preview.html", me.lang, &context)
        .map(Html)
        .map_err(|error| {
            tracing::error!(%error, "preview rendering failed");
            WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                t!(me.lang, "web.internal_error"),
                me.lang,
            )
        })
}

// ---- The contact form. ----

const CONTACT_FORM: &str = "/settings/contact-form";

#[derive(Serialize)]
struct ContactFormSettingsPage {
    enabled: bool,
    attachments: bool,
    max_megabytes: String,
    max_limit: String,
    allowed_types: String,
    public_url: String,
    embed: String,
}

/// The address the shop's customers reach this server at, as the admin's browser did.
pub(super) fn public_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if security::is_https(headers) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The snippet a shop pastes in its site to show the form.
fn embed_snippet(url: &str, title: &str) -> String {
    format!(
        "<iframe src=\"{url}\" title=\"{}\" width=\"100%\" height=\"760\" \
         style=\"border:0;max-width:40rem\" loading=\"lazy\"></iframe>",
        title.replace('&', "&amp;").replace('"', "&quot;")
    )
}

async fn contact_form(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let settings = state.desk.contact_form_settings(&me.shop).await.web(&me)?;
    let public_url = format!("{}/contact/{}", public_base(&headers), slug(&me.shop.name));
    let context = ContactFormSettingsPage {
        enabled: settings.enabled,
        attachments: settings.attachments,
        max_megabytes: megabytes(settings.max_attachment_bytes)
            .trim_end_matches(" MB")
            .to_string(),
        max_limit: megabytes(MAX_ATTACHMENT_LIMIT),
        allowed_types: settings.allowed_types.join("\n"),
        embed: embed_snippet(
            &public_url,
            &t!(
                me.lang,
                "web_settings_more.embed_title",
                shop = me.shop.name
            ),
        ),
        public_url,
    };
    settings_page(&me, &headers, "web/settings_contact_form.html", context)
}

#[derive(Deserialize)]
struct ContactFormForm {
    enabled: Option<String>,
    attachments: Option<String>,
    /// Megabytes, decimals allowed.
    max_megabytes: Option<String>,
    allowed_types: Option<String>,
}

fn contact_form_settings(
    form: &ContactFormForm,
    current: ContactFormSettings,
    lang: UiLang,
) -> Result<ContactFormSettings, String> {
    let max_attachment_bytes = match number::<f64>(&form.max_megabytes, "max_megabytes", lang)? {
        Some(mb) if mb.is_finite() && mb > 0.0 => (mb * 1024.0 * 1024.0).round() as i64,
        Some(_) => {
            return Err(t!(
                lang,
                "web_settings.not_a_number",
                field = "max_megabytes",
                value = filled(&form.max_megabytes).unwrap_or_default()
            ));
        }
        None => current.max_attachment_bytes,
    };
    if max_attachment_bytes > MAX_ATTACHMENT_LIMIT {
        return Err(t!(
            lang,
            "web_settings_more.size_over_limit",
            max = megabytes(MAX_ATTACHMENT_LIMIT)
        ));
    }
    let allowed_types: Vec<String> = form
        .allowed_types
        .as_deref()
        .unwrap_or("")
        .split(['\n', ',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = allowed_types.iter().find(|t| !is_mime_type(t)) {
        return Err(t!(lang, "web_settings_more.not_a_type", value = bad));
    }
    let attachments = checked(&form.attachments);
    if attachments && allowed_types.is_empty() {
        return Err(i18n::text(lang, "web_settings_more.types_needed").to_string());
    }
    Ok(ContactFormSettings {
        enabled: checked(&form.enabled),
        attachments,
        max_attachment_bytes,
        allowed_types,
    })
}

/// `type/subtype` with the characters RFC 6838 allows in each part.
fn is_mime_type(text: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 127
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(text.split_once('/'), Some((kind, sub)) if part(kind) && part(sub))
}

async fn save_contact_form(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(form): Form<ContactFormForm>,
) -> Response {
    let desk = &state.desk;
    let current = match desk.contact_form_settings(&me.shop).await {
        Ok(current) => current,
        Err(error) => return refused(CONTACT_FORM, error, me.lang),
    };
    let settings = match contact_form_settings(&form, current, me.lang) {
        Ok(settings) => settings,
        Err(text) => return back(CONTACT_FORM, false, &text),
    };
    match desk.save_contact_form_settings(&me.shop, &settings).await {
        Ok(()) => done(CONTACT_FORM, me.lang, "web_settings.saved"),
        Err(error) => refused(CONTACT_FORM, error, me.lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_types_must_look_like_types() {
        assert!(is_mime_type("image/jpeg"));
        assert!(is_mime_type(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        ));
        assert!(!is_mime_type("jpeg"));
        assert!(!is_mime_type("image/"));
        assert!(!is_mime_type("<script>/x"));
    }

    #[test]
    fn the_contact_form_settings_read_megabytes_and_types() {
        let form = ContactFormForm {
            enabled: Some("1".into()),
            attachments: Some("1".into()),
            max_megabytes: Some("2.5".into()),
            allowed_types: Some("image/png, application/pdf\nimage/jpeg".into()),
        };
        let read =
            contact_form_settings(&form, ContactFormSettings::default(), UiLang::En).unwrap();
        assert_eq!(read.max_attachment_bytes, 2_621_440);
        assert_eq!(
            read.allowed_types,
            ["image/png", "application/pdf", "image/jpeg"]
        );
        let too_big = ContactFormForm {
            max_megabytes: Some("500".into()),
            ..form
        };
        let refused = contact_form_settings(&too_big, ContactFormSettings::default(), UiLang::Fr)
            .unwrap_err();
        assert!(refused.contains("25"), "{refused}");
    }

    #[test]
    fn every_page_renders_in_both_languages() {
        let merge =
            |page: serde_json::Value| super::super::settings::page_context("refused <b>", page);
        let pages = [
            (
                "web/settings_employees.html",
                serde_json::json!({ "employees": [
                    { "id": 1, "name": "Ada", "email": "ada@x.example", "admin": true, "role": "admin",
                      "lang": "fr", "last_sign_in": "2026-12-04T10:00:00Z", "myself": true },
                    { "id": 2, "name": "Bob", "email": "bob@x.example", "admin": false, "role": "employee",
                      "lang": "en", "last_sign_in": null, "myself": false }],
                  "shown_password": { "email": "bob@x.example", "password": "Gen3ratedPassw0rd" },
                  "min_password": 10, "default_lang": "en" }),
                vec![
                    "Gen3ratedPassw0rd",
                    "/settings/employees/2/remove",
                    "bob@x.example",
                ],
            ),
            (
                "web/settings_predefined.html",
                serde_json::json!({ "forms": [
                    { "lang": "fr", "url": "/settings/predefined-message/fr", "body": "Bonjour {{ customer_name }}",
                      "edited": true, "ticket": 3, "preview": "Bonjour Ada", "preview_error": null, "error": null },
                    { "lang": "en", "url": "/settings/predefined-message/en", "body": "Hello {% if",
                      "edited": false, "ticket": null, "preview": null, "preview_error": null, "error": "syntax error" }],
                  "variables": [{ "name": "customer_name", "meaning": "the name" }],
                  "tickets": [[3, "#3 Where"]] }),
                vec![
                    "Bonjour Ada",
                    "Hello {% if",
                    "syntax error",
                    "&#123;&#123; customer_name &#125;&#125;",
                ],
            ),
            (
                "web/settings_contact_form.html",
                serde_json::json!({ "enabled": true, "attachments": true, "max_megabytes": "10",
                  "max_limit": "25 MB", "allowed_types": "image/png",
                  "public_url": "http://desk.example/contact/boutique",
                  "embed": "<iframe src=\"http://desk.example/contact/boutique\"></iframe>" }),
                vec!["desk.example&#x2f;contact&#x2f;boutique", "&lt;iframe src="],
            ),
        ];
        for lang in [UiLang::Fr, UiLang::En] {
            for (template, page, shows) in &pages {
                let html = crate::render::render(template, lang, &merge(page.clone()))
                    .unwrap_or_else(|e| panic!("{template}: {e:?}"));
                for shown in shows {
                    assert!(html.contains(shown), "{template} shows {shown}: {html}");
                }
                assert!(
                    html.contains("refused &lt;b&gt;"),
                    "{template}: flash escaped"
                );
                assert!(
                    !html.contains("web_settings"),
                    "{template}: a key without text"
                );
            }
        }
    }

    #[test]
    fn the_embed_snippet_escapes_the_title() {
        let snippet = embed_snippet(
            "https://desk.example/contact/the-cafe",
            "Contact \"Thé & Café\"",
        );
        assert!(snippet.starts_with("<iframe src=\"https://desk.example/contact/the-cafe\""));
        assert!(snippet.contains("Contact &quot;Thé &amp; Café&quot;"));
    }
}
