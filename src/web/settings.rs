//! The administrators' settings pages: mailboxes, contacts, reply templates, answers, plan and
//! quota, retention. Each form posts back here, the desk decides, and the page comes back
//! (303) with a flash message: done, or the desk's refusal in the admin's language.

use axum::extract::{Extension, Form, Path, Query};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::{Access, AppState, Routes, WebError, WebResult, WebResultExt, pages};
use crate::desk::DeskError;
use crate::desk::mailboxes::{MailboxInput, MailboxTest, SyncState};
use crate::desk::settings::{SettingsChange, duration_text};
use crate::desk::shops::ContactInput;
use crate::desk::templates::TemplateInput;
use crate::intake::imap::Security;
use crate::model::UiLang;
use crate::replies::PlanName;
use crate::replies::templates::{Need, WhenComplete};
use crate::{i18n, t};

pub fn routes() -> Routes {
    Routes::new()
        .get("/settings", Access::Admin, index)
        .get("/settings/mailboxes", Access::Admin, mailboxes)
        .post("/settings/mailboxes", Access::Admin, add_mailbox)
        .post("/settings/mailboxes/remove", Access::Admin, remove_mailbox)
        .post("/settings/mailboxes/test", Access::Admin, test_mailboxes)
        .get("/settings/contacts", Access::Admin, contacts)
        .post("/settings/contacts", Access::Admin, add_contact)
        .post("/settings/contacts/{id}", Access::Admin, change_contact)
        .post(
            "/settings/contacts/{id}/remove",
            Access::Admin,
            remove_contact,
        )
        .get("/settings/templates", Access::Admin, templates)
        .get(
            "/settings/templates/{intent}/{lang}",
            Access::Admin,
            edit_template,
        )
        .post(
            "/settings/templates/{intent}/{lang}",
            Access::Admin,
            save_template,
        )
        .post(
            "/settings/templates/{intent}/{lang}/preview",
            Access::Admin,
            preview_template,
        )
        .post(
            "/settings/templates/{intent}/{lang}/reset",
            Access::Admin,
            reset_template,
        )
        .get("/settings/answers", Access::Admin, answers)
        .post("/settings/answers", Access::Admin, change_answers)
}

// ---- Flash messages: one short-lived cookie, read and cleared by the next page. ----

const FLASH_COOKIE: &str = "guichet_flash";
/// Enough for a mailbox test report; a cookie stays under 4 KB.
const FLASH_MAX: usize = 1500;

#[derive(Serialize)]
struct Flash {
    ok: bool,
    text: String,
}

/// A 303 to `to`, carrying a message the page shows once.
pub(super) fn back(to: &str, ok: bool, text: &str) -> Response {
    let mut text = text.to_string();
    if text.len() > FLASH_MAX {
        let mut end = FLASH_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    let value = format!("{}{}", if ok { "1" } else { "0" }, encode(&text));
    let cookie =
        format!("{FLASH_COOKIE}={value}; Path=/settings; Max-Age=120; HttpOnly; SameSite=Strict");
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) fn done(to: &str, lang: UiLang, key: &str) -> Response {
    back(to, true, i18n::text(lang, key))
}

pub(super) fn refused(to: &str, error: DeskError, lang: UiLang) -> Response {
    back(to, false, &WebError::from_desk(error, lang).message)
}

/// The flash message the request carries, if any.
fn take_flash(headers: &HeaderMap) -> Option<Flash> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == FLASH_COOKIE)
        .map(|(_, v)| v)?;
    let ok = value.starts_with('1');
    let text = decode(value.get(1..)?)?;
    (!text.is_empty()).then_some(Flash { ok, text })
}

/// A page that showed its flash message clears the cookie.
fn with_flash_cleared(page: Html<String>, had_flash: bool) -> Response {
    let mut response = page.into_response();
    if had_flash {
        let clear =
            format!("{FLASH_COOKIE}=; Path=/settings; Max-Age=0; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&clear) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Serialize)]
struct WithFlash<T: Serialize> {
    flash: Option<Flash>,
    #[serde(flatten)]
    page: T,
}

/// A settings page with its flash message.
pub(super) fn settings_page(
    me: &SignedIn,
    headers: &HeaderMap,
    template: &str,
    context: impl Serialize,
) -> WebResult<Response> {
    let flash = take_flash(headers);
    let had = flash.is_some();
    let page = pages::page(
        me,
        "settings",
        template,
        WithFlash {
            flash,
            page: context,
        },
    )?;
    Ok(with_flash_cleared(page, had))
}

// ---- Small form helpers. ----

/// A trimmed text field, None when left empty.
pub(super) fn filled(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

pub(super) fn checked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

/// A number typed in a field, or the localized refusal naming the field.
pub(super) fn number<T: std::str::FromStr>(
    value: &Option<String>,
    field: &str,
    lang: UiLang,
) -> Result<Option<T>, String> {
    match filled(value) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            t!(
                lang,
                "web_settings.not_a_number",
                field = field,
                value = text
            )
        }),
    }
}

// ---- The index. ----

async fn index(me: SignedIn, headers: HeaderMap) -> WebResult<Response> {
    settings_page(
        &me,
        &headers,
        "web/settings_index.html",
        serde_json::json!({}),
    )
}

// ---- Mailboxes. ----

#[derive(Serialize)]
struct MailboxLine {
    email: String,
    imap: String,
    smtp: String,
    username: String,
    folders: String,
    options: Vec<&'static str>,
    contact: Option<String>,
    state: String,
    failed: bool,
    /// OAuth mailboxes: what the one-click reconnect form sends again.
    reconnect: Option<Reconnect>,
}

/// The settings a reconnect starts the provider's flow with: the mailbox's own.
#[derive(Serialize)]
struct Reconnect {
    provider: crate::oauth::Provider,
    imap_host: String,
    imap_port: u16,
    imap_security: Security,
    smtp_host: String,
    smtp_port: u16,
    smtp_security: Security,
    accept_invalid_certs: bool,
    folders: String,
}

#[derive(Serialize)]
struct MailboxesPage {
    mailboxes: Vec<MailboxLine>,
    providers: Vec<&'static str>,
    contacts: Vec<String>,
}

async fn mailboxes(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let desk = &state.desk;
    let contacts = desk.contacts(&me.shop).await.web(&me)?;
    let contact_name = |id: Option<i64>| {
        id.and_then(|id| contacts.iter().find(|c| c.id == id))
            .map(|c| c.name.clone())
    };
    let mailboxes = desk
        .mailboxes()
        .await
        .web(&me)?
        .into_iter()
        .filter(|m| m.shop_id == me.shop.id)
        .map(|m| {
            let mut options = Vec::new();
            if m.accept_invalid_certs {
                options.push("web_settings.accept_invalid_certs");
            }
            if m.delete_after_import {
                options.push("web_settings.delete_after_import");
            }
            if m.mark_as_read {
                options.push("web_settings.mark_as_read");
            }
            let reconnect = match m.auth {
                crate::oauth::MailboxAuth::OAuth(provider) => Some(Reconnect {
                    provider,
                    imap_host: m.imap_host.clone(),
                    imap_port: m.imap_port,
                    imap_security: m.imap_security,
                    smtp_host: m.smtp_host.clone(),
                    smtp_port: m.smtp_port,
                    smtp_security: m.smtp_security,
                    accept_invalid_certs: m.accept_invalid_certs,
                    folders: m.folders.join(","),
                }),
                crate::oauth::MailboxAuth::Password => None,
            };
            MailboxLine {
                reconnect,
                state: crate::views::sync_state_label(SyncState::of(&m), me.lang),
                failed: m.last_error.is_some(),
                imap: format!("{}:{} ({})", m.imap_host, m.imap_port, m.imap_security),
                smtp: format!("{}:{} ({})", m.smtp_host, m.smtp_port, m.smtp_security),
                username: m.username,
                folders: m.folders.join(", "),
                contact: contact_name(m.contact_id),
                email: m.email,
                options,
            }
        })
        .collect();
    let context = MailboxesPage {
        mailboxes,
        providers: crate::intake::providers::PROVIDERS
            .iter()
            .map(|p| p.name)
            .collect(),
        contacts: contacts.iter().map(|c| c.name.clone()).collect(),
    };
    settings_page(&me, &headers, "web/settings_mailboxes.html", context)
}

#[derive(Deserialize)]
pub(super) struct MailboxForm {
    email: String,
    password: String,
    provider: Option<String>,
    imap_host: Option<String>,
    imap_port: Option<String>,
    imap_security: Option<String>,
    accept_invalid_certs: Option<String>,
    username: Option<String>,
    folders: Option<String>,
    delete_after_import: Option<String>,
    mark_as_read: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<String>,
    smtp_security: Option<String>,
    contact: Option<String>,
    skip_test: Option<String>,
}

pub(super) const MAILBOXES: &str = "/settings/mailboxes";

/// One of a field's choices (an enum's name), None when left empty, or the localized refusal.
pub(super) fn choice<T: std::str::FromStr>(
    value: &Option<String>,
    field: &str,
    lang: UiLang,
) -> Result<Option<T>, String> {
    match filled(value) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| t!(lang, "web_settings.bad_choice", field = field, value = text)),
    }
}

pub(super) fn mailbox_input(form: &MailboxForm, lang: UiLang) -> Result<MailboxInput, String> {
    Ok(MailboxInput {
        email: form.email.trim().to_string(),
        provider: filled(&form.provider),
        imap_host: filled(&form.imap_host),
        imap_port: number(&form.imap_port, "imap_port", lang)?,
        imap_security: choice::<Security>(&form.imap_security, "imap_security", lang)?,
        accept_invalid_certs: checked(&form.accept_invalid_certs),
        username: filled(&form.username),
        folders: filled(&form.folders)
            .map(|f| {
                f.split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        delete_after_import: checked(&form.delete_after_import),
        mark_as_read: checked(&form.mark_as_read),
        smtp_host: filled(&form.smtp_host),
        smtp_port: number(&form.smtp_port, "smtp_port", lang)?,
        smtp_security: choice::<Security>(&form.smtp_security, "smtp_security", lang)?,
        contact: filled(&form.contact),
        skip_test: checked(&form.skip_test),
    })
}

/// A connection test in the words of `guichet mailbox test`.
pub(super) fn test_line(test: &MailboxTest, lang: UiLang) -> String {
    match &test.outcome {
        Ok(report) => format!(
            "{}: {}\n{report}",
            test.email,
            t!(lang, "mailbox.imap_works")
        ),
        Err(error) => format!("{}: {}", test.email, error.localized(lang)),
    }
}

async fn add_mailbox(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(form): Form<MailboxForm>,
) -> Response {
    let lang = me.lang;
    let input = match mailbox_input(&form, lang) {
        Ok(input) => input,
        Err(text) => return back(MAILBOXES, false, &text),
    };
    if form.password.is_empty() {
        return back(
            MAILBOXES,
            false,
            i18n::text(lang, "web_settings.password_needed"),
        );
    }
    let password = SecretString::from(form.password);
    let added = state.desk.add_mailbox(&me.shop, &input, password).await;
    after_mailbox_saved(
        added.map(|(_, test)| {
            let text = t!(lang, "mailbox.added", email = input.email.to_lowercase());
            (text.to_string(), test)
        }),
        lang,
    )
}

/// Back to the mailboxes once one was saved (with a password or through OAuth): what was done
/// and its connection test, or the test that kept it from being saved.
pub(super) fn after_mailbox_saved(
    saved: Result<(String, Option<MailboxTest>), DeskError>,
    lang: UiLang,
) -> Response {
    match saved {
        Ok((mut text, test)) => {
            if let Some(test) = &test {
                text = format!("{text}\n{}", test_line(test, lang));
            }
            back(MAILBOXES, true, &text)
        }
        Err(DeskError::MailboxTest(test)) => {
            let text = format!(
                "{}\n{}",
                test_line(&test, lang),
                t!(lang, "web_settings.mailbox_not_saved")
            );
            back(MAILBOXES, false, &text)
        }
        Err(error) => refused(MAILBOXES, error, lang),
    }
}

#[derive(Deserialize)]
struct EmailForm {
    email: Option<String>,
}

async fn remove_mailbox(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(form): Form<EmailForm>,
) -> Response {
    let email = filled(&form.email).unwrap_or_default();
    match state.desk.remove_mailbox(&me.shop, &email).await {
        Ok(()) => back(
            MAILBOXES,
            true,
            &t!(me.lang, "mailbox.removed", email = email),
        ),
        Err(error) => refused(MAILBOXES, error, me.lang),
    }
}

async fn test_mailboxes(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(form): Form<EmailForm>,
) -> Response {
    let email = filled(&form.email);
    match state
        .desk
        .test_mailboxes(Some(&me.shop.name), email.as_deref())
        .await
    {
        Ok(tests) => {
            let all_work = tests.iter().all(|t| t.outcome.is_ok());
            let text: Vec<String> = tests.iter().map(|t| test_line(t, me.lang)).collect();
            back(MAILBOXES, all_work, &text.join("\n"))
        }
        Err(error) => refused(MAILBOXES, error, me.lang),
    }
}

// ---- Contacts. ----

const CONTACTS: &str = "/settings/contacts";

async fn contacts(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let contacts = state.desk.contacts(&me.shop).await.web(&me)?;
    let context = serde_json::json!({ "contacts": crate::views::list::<_, crate::views::ContactJson>(&contacts) });
    settings_page(&me, &headers, "web/settings_contacts.html", context)
}

#[derive(Deserialize)]
struct ContactForm {
    name: String,
    email: String,
    #[serde(default)]
    description: String,
    customer_service: Option<String>,
}

async fn add_contact(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(form): Form<ContactForm>,
) -> Response {
    let lang = me.lang;
    let input = match contact_input(form, lang) {
        Ok(input) => input,
        Err(text) => return back(CONTACTS, false, &text),
    };
    match state.desk.add_contact(&me.shop, input).await {
        Ok(added) => back(
            CONTACTS,
            true,
            &t!(
                lang,
                "contact.added",
                name = added.name,
                email = added.email
            ),
        ),
        Err(error) => refused(CONTACTS, error, lang),
    }
}

fn contact_input(form: ContactForm, lang: UiLang) -> Result<ContactInput, String> {
    let name = form.name.trim().to_string();
    if name.is_empty() {
        return Err(i18n::text(lang, "web_settings.contact_needs_name").to_string());
    }
    Ok(ContactInput {
        name,
        email: form.email,
        description: form.description.trim().to_string(),
        customer_service: checked(&form.customer_service),
    })
}

async fn change_contact(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<ContactForm>,
) -> Response {
    let input = match contact_input(form, me.lang) {
        Ok(input) => input,
        Err(text) => return back(CONTACTS, false, &text),
    };
    match state.desk.change_contact(&me.shop, id, input).await {
        Ok(()) => done(CONTACTS, me.lang, "web_settings.contact_saved"),
        Err(error) => refused(CONTACTS, error, me.lang),
    }
}

async fn remove_contact(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path(id): Path<i64>,
) -> Response {
    match state.desk.remove_contact(&me.shop, id).await {
        Ok(()) => done(CONTACTS, me.lang, "web_settings.contact_removed"),
        Err(error) => refused(CONTACTS, error, me.lang),
    }
}

// ---- Reply templates. ----

#[derive(Serialize)]
struct TemplateLine {
    url: String,
    intent: String,
    lang: &'static str,
    edited: bool,
    needs: String,
}

async fn templates(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let templates = state.desk.templates(&me.shop).await.web(&me)?;
    let lines: Vec<TemplateLine> = templates
        .iter()
        .map(|t| TemplateLine {
            url: template_url(&t.intent, t.lang),
            intent: t.intent.clone(),
            lang: t.lang.code(),
            edited: t.edited,
            needs: t.needs.join(", "),
        })
        .collect();
    settings_page(
        &me,
        &headers,
        "web/settings_templates.html",
        serde_json::json!({ "templates": lines }),
    )
}

#[derive(Serialize)]
struct NeedBox {
    id: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Serialize)]
struct TemplatePage {
    url: String,
    intent: String,
    template_lang: &'static str,
    edited: bool,
    body: String,
    needs: Vec<NeedBox>,
    answer_when_complete: bool,
    ticket: Option<i64>,
    tickets: Vec<(i64, String)>,
    preview: Option<String>,
    preview_error: Option<String>,
}

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

async fn template_page(
    me: &SignedIn,
    state: &AppState,
    intent: &str,
    lang: UiLang,
    edit: Option<&TemplateForm>,
    preview: Option<Result<String, String>>,
    ticket: Option<i64>,
) -> WebResult<TemplatePage> {
    let desk = &state.desk;
    let view = desk
        .templates(&me.shop)
        .await
        .web(me)?
        .into_iter()
        .find(|t| t.intent == intent && t.lang == lang)
        .ok_or_else(|| {
            WebError::from_desk(
                DeskError::NoTemplate {
                    intent: intent.to_string(),
                    lang,
                },
                me.lang,
            )
        })?;
    let needs: Vec<String> = match edit {
        Some(form) => form.needs(),
        None => view.needs.iter().map(|n| n.to_string()).collect(),
    };
    let tickets = desk
        .tickets(Some(&me.shop))
        .await
        .web(me)?
        .into_iter()
        .take(50)
        .map(|t| (t.number, format!("#{} {}", t.number, t.subject)))
        .collect();
    let (preview, preview_error) = match preview {
        Some(Ok(text)) => (Some(text), None),
        Some(Err(error)) => (None, Some(error)),
        None => (None, None),
    };
    Ok(TemplatePage {
        url: template_url(&view.intent, lang),
        intent: view.intent.clone(),
        template_lang: lang.code(),
        edited: view.edited,
        body: edit.map(|f| f.body.clone()).unwrap_or(view.body),
        needs: Need::ALL
            .iter()
            .map(|n| NeedBox {
                id: n.id(),
                label: n.label(me.lang),
                checked: needs.iter().any(|id| id == n.id()),
            })
            .collect(),
        answer_when_complete: match edit {
            Some(form) => form.when_complete.as_deref() == Some("answer"),
            None => view.when_complete == WhenComplete::Answer,
        },
        ticket,
        tickets,
        preview,
        preview_error,
    })
}

async fn edit_template(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
    Path((intent, lang)): Path<(String, UiLang)>,
    Query(query): Query<TicketQuery>,
) -> WebResult<Response> {
    let ticket = number::<i64>(&query.ticket, "ticket", me.lang)
        .ok()
        .flatten();
    let context = template_page(&me, &state, &intent, lang, None, None, ticket).await?;
    settings_page(&me, &headers, "web/settings_template.html", context)
}

/// The edit form: `action` is `save` or `preview` (the no-JS preview button).
#[derive(Deserialize)]
struct TemplateForm {
    #[serde(default)]
    body: String,
    action: Option<String>,
    ticket: Option<String>,
    when_complete: Option<String>,
    need_order_ref: Option<String>,
    need_photo: Option<String>,
    need_new_address: Option<String>,
    need_product_name: Option<String>,
}

impl TemplateForm {
    fn needs(&self) -> Vec<String> {
        [
            ("order_ref", &self.need_order_ref),
            ("photo", &self.need_photo),
            ("new_address", &self.need_new_address),
            ("product_name", &self.need_product_name),
        ]
        .into_iter()
        .filter(|(_, v)| checked(v))
        .map(|(id, _)| id.to_string())
        .collect()
    }
}

fn template_url(intent: &str, lang: UiLang) -> String {
    format!("/settings/templates/{}/{}", encode(intent), lang.code())
}

/// The preview's text, or why there is none, in the admin's language.
async fn render_preview(
    me: &SignedIn,
    state: &AppState,
    intent: &str,
    lang: UiLang,
    form: &TemplateForm,
) -> (Option<i64>, Result<String, String>) {
    preview_on_ticket(me, &form.ticket, |ticket| {
        state
            .desk
            .preview_template(&me.shop, ticket, intent, lang, &form.body)
    })
    .await
}

/// A preview on the ticket the admin chose: the ticket read from the form, then `preview`'s
/// text or why there is none, in the admin's language.
pub(super) async fn preview_on_ticket<F, Fut>(
    me: &SignedIn,
    ticket: &Option<String>,
    preview: F,
) -> (Option<i64>, Result<String, String>)
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = crate::desk::DeskResult<String>>,
{
    let ticket = match number::<i64>(ticket, "ticket", me.lang) {
        Ok(Some(ticket)) => ticket,
        Ok(None) => {
            return (
                None,
                Err(t!(me.lang, "web_settings.choose_ticket").to_string()),
            );
        }
        Err(text) => return (None, Err(text)),
    };
    let rendered = preview(ticket)
        .await
        .map_err(|e| WebError::from_desk(e, me.lang).message);
    (Some(ticket), rendered)
}

async fn save_template(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path((intent, lang)): Path<(String, UiLang)>,
    Form(form): Form<TemplateForm>,
) -> WebResult<Response> {
    let url = template_url(&intent, lang);
    if form.action.as_deref() == Some("preview") {
        let (ticket, preview) = render_preview(&me, &state, &intent, lang, &form).await;
        let context = template_page(
            &me,
            &state,
            &intent,
            lang,
            Some(&form),
            Some(preview),
            ticket,
        )
        .await?;
        let context = WithFlash {
            flash: None,
            page: context,
        };
        let page = pages::page(&me, "settings", "web/settings_template.html", context)?;
        return Ok(page.into_response());
    }
    let input = TemplateInput {
        intent: intent.clone(),
        lang,
        body: form.body.replace("\r\n", "\n"),
        needs: form.needs(),
        when_complete: match form.when_complete.as_deref() {
            Some("answer") => WhenComplete::Answer,
            _ => WhenComplete::HandOver,
        },
    };
    Ok(match state.desk.save_template(&me.shop, input).await {
        Ok(()) => done(&url, me.lang, "web_settings.template_saved"),
        Err(error) => refused(&url, error, me.lang),
    })
}

/// The htmx preview: only the preview's fragment.
async fn preview_template(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path((intent, lang)): Path<(String, UiLang)>,
    Form(form): Form<TemplateForm>,
) -> WebResult<Html<String>> {
    let (_, preview) = render_preview(&me, &state, &intent, lang, &form).await;
    let context = match preview {
        Ok(text) => serde_json::json!({ "preview": text }),
        Err(error) => serde_json::json!({ "preview_error": error }),
    };
    crate::render::render("web/settings_template_preview.html", me.lang, &context)
        .map(Html)
        .map_err(|error| {
            tracing::error!(%error, "preview rendering failed");
            WebError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                t!(me.lang, "web.internal_error"),
                me.lang,
            )
        })
}

async fn reset_template(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path((intent, lang)): Path<(String, UiLang)>,
) -> Response {
    let url = template_url(&intent, lang);
    match state.desk.reset_template(&me.shop, &intent, lang).await {
        Ok(true) => done(&url, me.lang, "web_settings.template_reset"),
        Ok(false) => done(&url, me.lang, "web_settings.template_not_edited"),
        Err(error) => refused(&url, error, me.lang),
    }
}

// ---- Answers, plan and quota, retention, branding. ----

const ANSWERS: &str = "/settings/answers";

#[derive(Serialize)]
struct AnswersPage {
    mode: String,
    reply_delay: String,
    reply_spread: String,
    business_hours: String,
    time_zone: String,
    threshold: f64,
    intent_thresholds: String,
    plan: String,
    on_trial: bool,
    quota: String,
    monthly_quota: Option<u32>,
    used_this_month: i64,
    retention_months: Option<i64>,
    display_name: String,
    signature: String,
    logo_url: String,
    brand_color: String,
    footer: String,
}

async fn answers(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let view = state.desk.current_settings(&me.shop).await.web(&me)?;
    let a = &view.answers;
    let context = AnswersPage {
        mode: a.auto_answers.to_string(),
        reply_delay: duration_text(a.reply_delay_ms),
        reply_spread: duration_text(a.reply_spread_ms),
        business_hours: a.business_hours.clone().unwrap_or_default(),
        time_zone: a.time_zone.clone(),
        threshold: a.threshold,
        intent_thresholds: a
            .intent_thresholds
            .iter()
            .map(|(intent, t)| format!("{intent}={t}"))
            .collect::<Vec<_>>()
            .join("\n"),
        plan: a.plan.to_string(),
        on_trial: a.plan == PlanName::Trial,
        quota: a.plan_quota.map(|q| q.to_string()).unwrap_or_default(),
        monthly_quota: view.monthly_quota,
        used_this_month: view.used_this_month,
        retention_months: view.retention_months,
        display_name: a.display_name.clone().unwrap_or_default(),
        signature: a.signature.clone(),
        logo_url: a.logo_url.clone().unwrap_or_default(),
        brand_color: a.brand_color.clone().unwrap_or_default(),
        footer: a.footer.clone(),
    };
    settings_page(&me, &headers, "web/settings_answers.html", context)
}

/// One of the answers page's forms; `section` says which (answers, plan, retention, branding),
/// and only that section's fields change.
#[derive(Deserialize)]
struct AnswersForm {
    section: String,
    mode: Option<String>,
    reply_delay: Option<String>,
    reply_spread: Option<String>,
    business_hours: Option<String>,
    time_zone: Option<String>,
    threshold: Option<String>,
    intent_thresholds: Option<String>,
    plan: Option<String>,
    quota: Option<String>,
    retention_months: Option<String>,
    display_name: Option<String>,
    signature: Option<String>,
    logo_url: Option<String>,
    brand_color: Option<String>,
    footer: Option<String>,
}

fn settings_change(form: &AnswersForm, lang: UiLang) -> Result<SettingsChange, String> {
    let mut change = SettingsChange::default();
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
    match form.section.as_str() {
        "answers" => {
            change.auto_answers = match filled(&form.mode) {
                Some(mode) => Some(mode.parse().map_err(|_| {
                    t!(
                        lang,
                        "web_settings.bad_choice",
                        field = "auto_answers",
                        value = mode
                    )
                })?),
                None => None,
            };
            change.reply_delay = filled(&form.reply_delay);
            change.reply_spread = filled(&form.reply_spread);
            change.business_hours = Some(filled(&form.business_hours).unwrap_or("none".into()));
            change.time_zone = filled(&form.time_zone);
            change.threshold = number(&form.threshold, "threshold", lang)?;
            change.intent_thresholds = text(&form.intent_thresholds)
                .split(['\n', ','])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
        }
        "plan" => {
            let plan: Option<PlanName> = match filled(&form.plan) {
                Some(plan) => Some(plan.parse().map_err(|_| {
                    t!(
                        lang,
                        "web_settings.bad_choice",
                        field = "plan",
                        value = plan
                    )
                })?),
                None => None,
            };
            change.plan = plan;
            // The quota belongs to the custom plan; other plans have theirs.
            if plan == Some(PlanName::Custom) {
                change.quota = number(&form.quota, "quota", lang)?;
            }
        }
        "retention" => {
            change.retention_months =
                Some(number(&form.retention_months, "retention_months", lang)?.unwrap_or(0));
        }
        "branding" => {
            change.display_name = Some(text(&form.display_name));
            change.signature = Some(
                form.signature
                    .clone()
                    .unwrap_or_default()
                    .replace("\r\n", "\n"),
            );
            change.logo_url = Some(text(&form.logo_url));
            change.brand_color = filled(&form.brand_color);
            change.footer = Some(
                form.footer
                    .clone()
                    .unwrap_or_default()
                    .replace("\r\n", "\n"),
            );
        }
        other => {
            return Err(t!(
                lang,
                "web_settings.bad_choice",
                field = "section",
                value = other
            ));
        }
    }
    Ok(change)
}

async fn change_answers(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Form(form): Form<AnswersForm>,
) -> Response {
    let to = format!("{ANSWERS}#{}", encode(&form.section));
    let change = match settings_change(&form, me.lang) {
        Ok(change) => change,
        Err(text) => return back(&to, false, &text),
    };
    match state.desk.change_settings(&me.shop, &change).await {
        Ok(()) => done(&to, me.lang, "web_settings.saved"),
        Err(error) => refused(&to, error, me.lang),
    }
}

/// A settings page's context as its handler gives it (an admin, a shop, a refusal shown),
/// with `page`'s own values: what the templates' tests render.
#[cfg(test)]
pub(super) fn page_context(flash: &str, page: serde_json::Value) -> serde_json::Value {
    let mut all = serde_json::json!({
        "me": { "id": 1, "name": "Ada", "email": "ada@x.example", "admin": true },
        "shop": "Boutique", "csrf": "tok", "nav": "settings",
        "flash": { "ok": false, "text": flash },
    });
    if let (Some(all), Some(page)) = (all.as_object_mut(), page.as_object()) {
        all.extend(page.clone());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_texts_survive_the_cookie() {
        let text = "imap.example: mot de passe refusé; « ok »\nligne 2";
        assert_eq!(decode(&encode(text)).as_deref(), Some(text));
        assert!(
            encode(text)
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b))
        );
        assert_eq!(decode("%ZZ"), None);
    }

    #[test]
    fn a_typed_number_is_refused_by_name() {
        let error = number::<u16>(&Some("99999".into()), "imap_port", UiLang::En).unwrap_err();
        assert!(error.contains("imap_port"), "{error}");
        assert_eq!(
            number::<u16>(&Some(" ".into()), "imap_port", UiLang::En),
            Ok(None)
        );
    }

    #[test]
    fn every_settings_template_renders_in_both_languages() {
        let merge = |page: serde_json::Value| page_context("imap: <refused>", page);
        let answers = serde_json::json!({
            "mode": "shadow", "reply_delay": "3h", "reply_spread": "0s", "business_hours": "",
            "time_zone": "Europe/Paris", "threshold": 0.9, "intent_thresholds": "", "plan": "custom",
            "on_trial": true, "quota": "300", "monthly_quota": 300, "used_this_month": 12,
            "retention_months": null, "display_name": "", "signature": "", "logo_url": "",
            "brand_color": "", "footer": "",
        });
        let pages = [
            ("web/settings_index.html", serde_json::json!({}), "Boutique"),
            (
                "web/settings_mailboxes.html",
                serde_json::json!({
                "mailboxes": [{ "email": "sav@b.example", "imap": "imap:993 (tls)", "smtp": "smtp:465 (tls)",
                    "username": "sav", "folders": "INBOX", "options": ["web_settings.mark_as_read"],
                    "contact": "SAV", "state": "never", "failed": true, "reconnect": null }],
                "providers": ["gmail"], "contacts": ["SAV"] }),
                "sav@b.example",
            ),
            (
                "web/settings_contacts.html",
                serde_json::json!({ "contacts": [{ "id": 1, "name": "SAV",
                "email": "sav@b.example", "description": "", "customer_service": true }] }),
                "SAV",
            ),
            (
                "web/settings_templates.html",
                serde_json::json!({ "templates": [{ "url": "/settings/templates/where_is_my_order/fr", "intent": "where_is_my_order",
                "lang": "fr", "edited": true, "needs": "order_ref" }] }),
                "where_is_my_order",
            ),
            (
                "web/settings_template.html",
                serde_json::json!({ "url": "/settings/templates/refund/en", "intent": "refund", "template_lang": "en",
                "edited": true, "body": "Hello {{ customer_name }}", "needs": [{ "id": "photo", "label": "a photo",
                "checked": true }], "answer_when_complete": false, "ticket": 3, "tickets": [[3, "#3 Where"]],
                "preview": "Hello Ada", "preview_error": null }),
                "Hello Ada",
            ),
            ("web/settings_answers.html", answers, "300"),
        ];
        for lang in [UiLang::Fr, UiLang::En] {
            for (template, page, shows) in &pages {
                let html = crate::render::render(template, lang, &merge(page.clone()))
                    .unwrap_or_else(|e| panic!("{template}: {e:?}"));
                assert!(html.contains(shows), "{template}");
                assert!(
                    html.contains("imap: &lt;refused&gt;"),
                    "{template}: flash escaped"
                );
                assert!(
                    !html.contains("web_settings."),
                    "{template}: a key without text"
                );
            }
            let fragment = crate::render::render(
                "web/settings_template_preview.html",
                lang,
                &serde_json::json!({ "preview_error": "no ticket" }),
            )
            .unwrap();
            assert!(fragment.contains("no ticket"));
        }
    }
}
