//! "Connect with Google / Microsoft" in the mailbox settings: the start sends the browser to
//! the provider, `/oauth/callback` finishes the connection with what comes back.
//!
//! What checks the answer (state, PKCE verifier, the mailbox settings given) travels in a
//! short-lived cookie sealed with the desk's key, so any node can take the callback. It is
//! `SameSite=Lax`: the provider's redirect is a cross-site navigation, which never carries the
//! `Strict` session cookie; the sealed cookie, set by an administrator's request, is what
//! authorises the callback. The callback then answers a page that moves on to the settings by
//! itself, a same-site navigation on which the session cookie is sent again. The start moves on
//! to the provider the same way rather than by redirecting the form's POST, which the pages'
//! `form-action 'self'` policy forbids.

use axum::extract::{Extension, Form, Path, Query};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::settings::{MAILBOXES, MailboxForm, after_mailbox_saved, back, mailbox_input, refused};
use super::{Access, AppState, Routes, security};
use crate::desk::mailboxes::MailboxInput;
use crate::desk::oauth::OAuthConnection;
use crate::model::UiLang;
use crate::oauth::Provider;
use crate::oauth::loopback::CALLBACK_PATH;
use crate::store::now_ms;
use crate::t;

const PENDING_COOKIE: &str = "guichet_oauth";
const PENDING_PURPOSE: &str = "web-oauth-connection";
/// Long enough to sign in at the provider, short enough that a forgotten tab is harmless.
const PENDING_MS: i64 = 10 * 60 * 1000;

pub fn routes() -> Routes {
    Routes::new()
        .post("/settings/mailboxes/oauth/{provider}", Access::Admin, start)
        .get(CALLBACK_PATH, Access::Public, callback)
}

/// A connection under way, as the sealed cookie holds it.
#[derive(Serialize, Deserialize)]
struct Pending {
    shop_id: i64,
    lang: UiLang,
    provider: Provider,
    redirect_uri: String,
    state: String,
    verifier: String,
    input: MailboxInput,
    started_ms: i64,
}

/// This desk's callback address, as the browser reaches it.
fn callback_uri(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if security::is_https(headers) {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{host}{CALLBACK_PATH}"))
}

fn cookie(value: &str, max_age_s: i64, headers: &HeaderMap) -> Option<HeaderValue> {
    let secure = if security::is_https(headers) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{PENDING_COOKIE}={value}; Path={CALLBACK_PATH}; Max-Age={max_age_s}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

async fn start(
    me: SignedIn,
    headers: HeaderMap,
    Path(provider): Path<String>,
    Extension(state): Extension<AppState>,
    Form(form): Form<MailboxForm>,
) -> Response {
    let lang = me.lang;
    let Ok(provider) = provider.parse::<Provider>() else {
        return back(
            MAILBOXES,
            false,
            &t!(lang, "oauth.unknown_provider", provider = provider),
        );
    };
    let input = match mailbox_input(&form, lang) {
        Ok(input) => input,
        Err(text) => return back(MAILBOXES, false, &text),
    };
    let Some(redirect_uri) = callback_uri(&headers) else {
        return back(MAILBOXES, false, crate::i18n::text(lang, "oauth.no_host"));
    };
    let (url, connection) = match state.desk.start_oauth(provider, &redirect_uri, input) {
        Ok(started) => started,
        Err(error) => return refused(MAILBOXES, error, lang),
    };
    let pending = Pending {
        shop_id: me.shop.id,
        lang,
        provider,
        redirect_uri,
        state: connection.state,
        verifier: connection.verifier.expose_secret().to_string(),
        input: connection.input,
        started_ms: now_ms(),
    };
    let json = serde_json::to_string(&pending).expect("a pending connection serialises");
    let sealed = state
        .desk
        .key
        .seal(&SecretString::from(json), PENDING_PURPOSE);
    let mut response = moving_on(&url, crate::i18n::text(lang, "oauth.continue_to_provider"));
    if let Some(value) = cookie(&URL_SAFE_NO_PAD.encode(sealed), PENDING_MS / 1000, &headers) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The pending connection the request's cookie holds, when it opens and is recent.
fn pending_of(headers: &HeaderMap, state: &AppState) -> Option<Pending> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == PENDING_COOKIE)
        .map(|(_, v)| v)?;
    let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
    let json = state.desk.key.open(&sealed, PENDING_PURPOSE).ok()?;
    let pending: Pending = serde_json::from_str(json.expose_secret()).ok()?;
    (now_ms() - pending.started_ms < PENDING_MS).then_some(pending)
}

/// A page that goes on to `to` by itself, with a link for a browser that does not.
fn moving_on(to: &str, label: &str) -> Response {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
    };
    let to = escape(to);
    Html(format!(
        "<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={to}\">\
         <title>Guichet</title><p><a href=\"{to}\">{}</a></p>",
        escape(label)
    ))
    .into_response()
}

/// Back to the mailbox settings with `flash`, forgetting the connection (see the module's
/// comment).
fn onwards(headers: &HeaderMap, lang: UiLang, flash: Response) -> Response {
    let mut response = moving_on(MAILBOXES, crate::i18n::text(lang, "oauth.continue"));
    for value in flash.headers().get_all(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, value.clone());
    }
    if let Some(clear) = cookie("", 0, headers) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

async fn callback(
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
    Extension(state): Extension<AppState>,
) -> Response {
    // No connection under way (the cookie expired, or never was): say so and go back.
    let lost = |lang| {
        let text = crate::i18n::text(lang, "oauth.no_connection");
        onwards(&headers, lang, back(MAILBOXES, false, text))
    };
    let Some(pending) = pending_of(&headers, &state) else {
        return lost(UiLang::default());
    };
    let lang = pending.lang;
    let shop = match state.desk.store.shops().await {
        Ok(shops) => shops.into_iter().find(|s| s.id == pending.shop_id),
        Err(error) => return refused(MAILBOXES, error.into(), lang),
    };
    let Some(shop) = shop else {
        return lost(lang);
    };
    let connection = OAuthConnection {
        provider: pending.provider,
        redirect_uri: pending.redirect_uri,
        state: pending.state,
        verifier: SecretString::from(pending.verifier),
        input: pending.input,
    };
    let finished = state.desk.finish_oauth(&shop, &connection, &pairs).await;
    let flash = after_mailbox_saved(
        finished.map(|done| (done.sentence(pending.provider, lang), done.test)),
        lang,
    );
    onwards(&headers, lang, flash)
}
