//! Who is calling: the session cookie or an API token, checked before any employee route runs,
//! with the CSRF check on every state-changing request made with a cookie; the sign-in and
//! sign-out pages.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Access, AppState, Routes, WebError, pages, security};
use crate::desk::DeskError;
use crate::desk::employees::Session;
use crate::model::{Role, UiLang};
use crate::store::{Employee, Shop};
use crate::t;

/// The cookie that carries the session token (the database keeps only its hash).
pub const SESSION_COOKIE: &str = "guichet_session";
/// The header htmx and scripts send the CSRF token in; forms use the field `csrf`.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form body read to find its CSRF field.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cookie,
    ApiToken,
}

/// The employee calling, their shop, and the session's CSRF token (None on the API).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub employee: Employee,
    pub shop: Shop,
    pub csrf: Option<String>,
    pub lang: UiLang,
    pub via: Via,
}

impl SignedIn {
    pub fn via_api(&self) -> bool {
        self.via == Via::ApiToken
    }

    pub fn is_admin(&self) -> bool {
        self.employee.role == Role::Admin
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Put there by `require_employee`, which every employee route is layered with.
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

/// The address the request came from (the peer of the connection), for rate limits.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientIp(
            peer.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip()),
        ))
    }
}

/// The language of a page: the signed-in employee's, else `?lang=`, else the browser's,
/// else the node's.
#[derive(Debug, Clone, Copy)]
pub struct PageLang(pub UiLang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(me) = parts.extensions.get::<SignedIn>() {
            return Ok(PageLang(me.lang));
        }
        let asked = parts.uri.query().and_then(|query| {
            form_pairs(query)
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| v.parse().ok())
        });
        let default = parts
            .extensions
            .get::<AppState>()
            .map(|state| state.desk.lang)
            .unwrap_or_default();
        Ok(PageLang(asked.unwrap_or_else(|| {
            browser_lang(&parts.headers).unwrap_or(default)
        })))
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// French when the browser prefers it to English.
fn browser_lang(headers: &HeaderMap) -> Option<UiLang> {
    let accepted = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    accepted.split(',').find_map(|item| {
        let tag = item.split(';').next()?.trim().to_ascii_lowercase();
        if tag.starts_with("fr") {
            Some(UiLang::Fr)
        } else if tag.starts_with("en") {
            Some(UiLang::En)
        } else {
            None
        }
    })
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The caller, from the API token or the session cookie; None when neither is valid.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, WebError> {
    let desk = &state.desk;
    let lang = desk.lang;
    let internal = |e| WebError::from_desk(e, lang);
    let (employee, csrf, via) = if let Some(token) = bearer_token(headers) {
        match desk.api_token_employee(token).await.map_err(internal)? {
            Some(employee) => (employee, None, Via::ApiToken),
            None => return Ok(None),
        }
    } else if let Some(token) = cookie_value(headers, SESSION_COOKIE) {
        match desk.session(token).await.map_err(internal)? {
            Some(Session {
                employee,
                csrf_token,
            }) => (employee, Some(csrf_token), Via::Cookie),
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    let shop = desk.shop_of(&employee).await.map_err(internal)?;
    Ok(Some(SignedIn {
        lang: employee.lang,
        employee,
        shop,
        csrf,
        via,
    }))
}

/// Layered on every employee route: no valid caller, no handler.
pub async fn require_employee(
    Extension(state): Extension<AppState>,
    request: Request,
    next: Next,
) -> Response {
    authorize(state, request, next, Access::Employee).await
}

/// Layered on every administrator route.
pub async fn require_admin(
    Extension(state): Extension<AppState>,
    request: Request,
    next: Next,
) -> Response {
    authorize(state, request, next, Access::Admin).await
}

/// Layered on the operator's routes (`/metrics`): the bearer token whose SHA-256 the
/// configuration holds, compared in constant time; no configured token, nobody.
pub async fn require_operator(
    Extension(state): Extension<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let expected = state.desk.config.metrics_token_sha256;
    let given = bearer_token(request.headers()).map(|token| Sha256::digest(token.as_bytes()));
    match (expected, given) {
        (Some(expected), Some(given)) if constant_time_eq(&expected, &given) => {
            next.run(request).await
        }
        _ => {
            let lang = state.desk.lang;
            let mut response = WebError::new(
                StatusCode::UNAUTHORIZED,
                t!(lang, "status.token_needed"),
                lang,
            )
            .as_json(false)
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"guichet metrics\""),
            );
            response
        }
    }
}

/// Equal bytes, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn authorize(state: AppState, request: Request, next: Next, access: Access) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let me = match caller(&state, request.headers()).await {
        Ok(Some(me)) => me,
        Ok(None) => return unauthenticated(&request, state.desk.lang, is_api),
        Err(error) => return error.as_json(is_api).into_response(),
    };
    if access == Access::Admin && !me.is_admin() {
        return WebError::forbidden(me.lang)
            .as_json(me.via_api())
            .into_response();
    }
    let mut request = request;
    if !is_safe(request.method()) && me.via == Via::Cookie {
        request = match check_csrf(request, &me).await {
            Ok(request) => request,
            Err(error) => return error.into_response(),
        };
    }
    request.extensions_mut().insert(me);
    next.run(request).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn unauthenticated(request: &Request, lang: UiLang, is_api: bool) -> Response {
    if is_api {
        return WebError::new(
            StatusCode::UNAUTHORIZED,
            t!(lang, "web.sign_in_needed"),
            lang,
        )
        .as_json(true)
        .into_response();
    }
    if request.method() == Method::GET {
        let next = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let target = format!("/sign-in?next={}", percent_encode(next));
        return Redirect::to(&target).into_response();
    }
    WebError::new(
        StatusCode::UNAUTHORIZED,
        t!(lang, "web.sign_in_needed"),
        lang,
    )
    .into_response()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A state-changing request made with the session cookie must come from our own pages: same
/// origin by the browser's word, and carrying the session's token (header, `?csrf=` for
/// uploads, or the form's `csrf` field).
async fn check_csrf(request: Request, me: &SignedIn) -> Result<Request, WebError> {
    let refused = || {
        WebError::new(
            StatusCode::FORBIDDEN,
            t!(me.lang, "web.csrf_refused"),
            me.lang,
        )
    };
    security::same_origin(request.headers()).map_err(|_| refused())?;
    let expected = me.csrf.as_deref().ok_or_else(refused)?;
    let header_token = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query_token = request
        .uri()
        .query()
        .and_then(|q| form_pairs(q).find(|(k, _)| k == "csrf").map(|(_, v)| v));
    if let Some(token) = header_token.or(query_token) {
        return if security::same_secret(&token, expected) {
            Ok(request)
        } else {
            Err(refused())
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| refused())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| refused())?;
    let token = form_pairs(text)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .ok_or_else(refused)?;
    if !security::same_secret(&token, expected) {
        return Err(refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/", Access::Employee, home)
        .get("/sign-in", Access::Public, sign_in_page)
        .post("/sign-in", Access::Public, sign_in)
        .post("/sign-out", Access::Employee, sign_out)
}

async fn home() -> Redirect {
    Redirect::to("/tickets")
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only a path of ours: never an absolute or scheme-relative URL (no open redirect).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/tickets".to_string(),
    }
}

async fn sign_in_page(PageLang(lang): PageLang, Query(query): Query<NextQuery>) -> Response {
    pages::sign_in_page(
        lang,
        &local_path(query.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    // Wrapped in a secret as soon as it is read; the form struct lives only in this request.
    password: String,
    next: Option<String>,
}

async fn sign_in(
    Extension(state): Extension<AppState>,
    PageLang(lang): PageLang,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    // No session yet, so no token: a sign-in posted from another site is refused by origin.
    if security::same_origin(&headers).is_err() {
        return WebError::new(StatusCode::FORBIDDEN, t!(lang, "web.csrf_refused"), lang)
            .into_response();
    }
    let password = SecretString::from(form.password);
    match state.desk.sign_in(&form.email, &password, ip).await {
        Ok(signed) => {
            let cookie = session_cookie(
                signed.session_token.expose_secret(),
                secure_cookie(&state, &headers),
                state.desk.config.session_lifetime.as_secs(),
            );
            let mut response = Redirect::to(&next).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(error) => {
            let retry_after = match &error {
                DeskError::SignInThrottled { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            };
            let refusal = WebError::from_desk(error, lang);
            let mut page = pages::sign_in_page(lang, &next, Some(&refusal.message), refusal.status);
            if let Some(secs) = retry_after {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            page
        }
    }
}

/// The cookie is `Secure` when the request came over TLS (as a proxy in front says) or the
/// configuration says TLS is always in front.
fn secure_cookie(state: &AppState, headers: &HeaderMap) -> bool {
    state.desk.config.web.secure_cookies || security::is_https(headers)
}

/// The session cookie: never readable by scripts, never sent by another site's requests, and
/// kept by the browser no longer than the session can live.
fn session_cookie(token: &str, secure: bool, max_age_secs: u64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

async fn sign_out(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE)
        && let Err(error) = state.desk.sign_out(token).await
    {
        return WebError::from_desk(error, me.lang).into_response();
    }
    let secure = if secure_cookie(&state, &headers) {
        "; Secure"
    } else {
        ""
    };
    let expired =
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_local_path() {
        assert_eq!(local_path(Some("/tickets/1001")), "/tickets/1001");
        assert_eq!(local_path(Some("//evil.example/")), "/tickets");
        assert_eq!(local_path(Some("https://evil.example/")), "/tickets");
        assert_eq!(local_path(Some("/\\evil.example")), "/tickets");
        assert_eq!(local_path(None), "/tickets");
    }

    #[test]
    fn form_fields_are_decoded() {
        let pairs: Vec<_> = form_pairs("a=1&csrf=x%2By+z&bad=%zz&end=%4").collect();
        assert_eq!(pairs[1], ("csrf".into(), "x+y z".into()));
        assert_eq!(pairs[2], ("bad".into(), "%zz".into()));
        assert_eq!(pairs[3], ("end".into(), "%4".into()));
    }

    #[test]
    fn browser_language_is_read_in_order_of_preference() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE,fr;q=0.8,en;q=0.5".parse().unwrap(),
        );
        assert_eq!(browser_lang(&headers), Some(UiLang::Fr));
        headers.insert(header::ACCEPT_LANGUAGE, "en-GB,fr;q=0.8".parse().unwrap());
        assert_eq!(browser_lang(&headers), Some(UiLang::En));
    }
}
