//! A local OAuth 2.0 authorization server answering as the specifications say, standing in for
//! Google's and Microsoft's identity platforms in the mailbox-connection tests.
//!
//! What it follows:
//! - RFC 6749 (<https://www.rfc-editor.org/rfc/rfc6749>): the authorization code grant (§4.1):
//!   `GET /authorize` shows a consent page, its "Allow" answers `302` to the registered
//!   `redirect_uri` with `code` and the client's `state` (§4.1.2), errors with `error` there
//!   (§4.1.2.1) except for an unknown client or redirect URI, which are never redirected to;
//!   `POST /token` with `grant_type=authorization_code` (§4.1.3) or `refresh_token` (§6),
//!   client authentication by HTTP Basic or `client_id`/`client_secret` in the body (§2.3.1),
//!   answers in the JSON of §5.1 and errors in that of §5.2 (`invalid_grant`, `invalid_client`
//!   with 401, `unsupported_grant_type`...). A code works once; a second use is refused and
//!   revokes what the first one issued (§4.1.2, §10.5). A client may have its refresh tokens
//!   rotated (§6, §10.4): each refresh answers with a new one and the old one is refused.
//! - RFC 7636 (<https://www.rfc-editor.org/rfc/rfc7636>): PKCE. An authorization request
//!   carrying `code_challenge` (method `S256`; `plain` refused, as public providers advise)
//!   needs at the token endpoint a `code_verifier` of 43–128 unreserved characters whose
//!   BASE64URL(SHA256()) equals the challenge (§4.6); otherwise `invalid_grant`.
//! - RFC 7662 (<https://www.rfc-editor.org/rfc/rfc7662>): `POST /introspect` with `token`,
//!   answering `{"active": false}` for an unknown, expired or revoked token, and for an active
//!   access token `active`, `scope`, `client_id`, `username`, `token_type`, `exp`, `iat`, `sub`
//!   (§2.2). This is what Dovecot's `oauth2` passdb calls to check the tokens mail clients send.
//! - OpenID Connect Core 1.0 (<https://openid.net/specs/openid-connect-core-1_0.html>): with the
//!   `openid` scope the token answer carries an `id_token` (a JWS, here HS256 keyed with the
//!   client secret, §10.1) whose claims name the account: `iss`, `sub`, `aud`, `exp`, `iat`,
//!   `email`, `email_verified` as Google sends them, `preferred_username` as Microsoft does;
//!   `GET /userinfo` with the access token as a Bearer answers the same claims (§5.3).
//!
//! One server per test process (Dovecot, started once, checks tokens against it); each test
//! registers its own client and accounts, so tests never see each other's tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::Mac;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A client application registered with the server (RFC 6749 §2).
#[derive(Debug, Clone)]
pub struct FakeClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

#[derive(Debug)]
struct Client {
    secret: String,
    redirect_uris: Vec<String>,
    access_token_lifetime: Duration,
    /// Each refresh answers with a new refresh token and revokes the one used (RFC 6749
    /// §6 and §10.4 allow it; Microsoft rotates them).
    rotate_refresh_tokens: bool,
}

/// A code handed out at the consent page, waiting for its exchange.
#[derive(Debug, Clone)]
struct Code {
    client_id: String,
    redirect_uri: String,
    account: String,
    scope: String,
    challenge: Option<String>,
    used: bool,
    /// What its exchange issued, revoked if the code is replayed.
    issued_refresh_token: Option<String>,
}

#[derive(Debug, Clone)]
struct AccessToken {
    client_id: String,
    account: String,
    scope: String,
    issued_at: u64,
    expires_at: u64,
    refresh_token: String,
}

#[derive(Debug, Clone)]
struct RefreshToken {
    client_id: String,
    account: String,
    scope: String,
    revoked: bool,
}

#[derive(Debug, Default)]
struct Grants {
    clients: HashMap<String, Client>,
    codes: HashMap<String, Code>,
    access_tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, RefreshToken>,
    /// Token endpoint calls per (client id as sent, grant type), answered or not.
    token_requests: HashMap<(String, String), usize>,
    introspections: usize,
}

#[derive(Clone)]
struct Shared {
    url: String,
    grants: Arc<Mutex<Grants>>,
}

/// The test process's authorization server.
pub struct FakeOAuth {
    pub url: String,
    shared: Shared,
}

static SHARED: OnceLock<FakeOAuth> = OnceLock::new();

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

impl FakeOAuth {
    /// The server of this test process, started on first use on its own thread and runtime
    /// (it outlives every test's runtime, as Dovecot relies on it).
    pub fn shared() -> &'static FakeOAuth {
        SHARED.get_or_init(FakeOAuth::start)
    }

    fn start() -> FakeOAuth {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            url: url.clone(),
            grants: Arc::default(),
        };
        let app = Router::new()
            .route("/authorize", get(authorize_page).post(consent))
            .route("/token", post(token))
            .route("/introspect", post(introspect))
            .route("/userinfo", get(userinfo))
            .with_state(shared.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.ok();
            });
        });
        FakeOAuth { url, shared }
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, Grants> {
        self.shared.grants.lock().unwrap()
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    pub fn introspection_url(&self) -> String {
        format!("{}/introspect", self.url)
    }

    pub fn userinfo_url(&self) -> String {
        format!("{}/userinfo", self.url)
    }

    /// Registers a confidential client allowed to redirect to `redirect_uris` (compared
    /// exactly, except that a loopback URI may use any port, as RFC 8252 §7.3 asks).
    /// Access tokens it gets live an hour unless [`FakeOAuth::set_access_token_lifetime`].
    pub fn register_client(&self, redirect_uris: &[&str]) -> FakeClient {
        let client = FakeClient {
            client_id: random_token("client-"),
            client_secret: random_token("secret-"),
            redirect_uris: redirect_uris.iter().map(|u| u.to_string()).collect(),
        };
        self.grants().clients.insert(
            client.client_id.clone(),
            Client {
                secret: client.client_secret.clone(),
                redirect_uris: client.redirect_uris.clone(),
                access_token_lifetime: Duration::from_secs(3600),
                rotate_refresh_tokens: false,
            },
        );
        client
    }

    /// How long access tokens issued to `client` from now on stay active.
    pub fn set_access_token_lifetime(&self, client: &FakeClient, lifetime: Duration) {
        if let Some(c) = self.grants().clients.get_mut(&client.client_id) {
            c.access_token_lifetime = lifetime;
        }
    }

    /// From now on, each refresh of `client` answers with a new refresh token and the one
    /// it used is refused afterwards, as a provider that rotates them does.
    pub fn rotate_refresh_tokens(&self, client: &FakeClient) {
        if let Some(c) = self.grants().clients.get_mut(&client.client_id) {
            c.rotate_refresh_tokens = true;
        }
    }

    /// Refresh tokens issued to `account`, in clear, each with whether it still works: what
    /// a test looks for in a database file.
    pub fn refresh_tokens_of(&self, account: &str) -> Vec<(String, bool)> {
        self.grants()
            .refresh_tokens
            .iter()
            .filter(|(_, r)| r.account.eq_ignore_ascii_case(account))
            .map(|(value, r)| (value.clone(), !r.revoked))
            .collect()
    }

    /// The account withdraws its consent: its refresh tokens and access tokens stop working.
    pub fn revoke_consent(&self, account: &str) {
        let mut grants = self.grants();
        let mut revoked = Vec::new();
        for (value, refresh) in grants.refresh_tokens.iter_mut() {
            if refresh.account.eq_ignore_ascii_case(account) {
                refresh.revoked = true;
                revoked.push(value.clone());
            }
        }
        grants
            .access_tokens
            .retain(|_, access| !revoked.contains(&access.refresh_token));
    }

    /// Token endpoint calls by `client` with this `grant_type`, answered or refused.
    pub fn token_requests(&self, client: &FakeClient, grant_type: &str) -> usize {
        self.grants()
            .token_requests
            .get(&(client.client_id.clone(), grant_type.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Introspection calls (Dovecot checking a token).
    pub fn introspections(&self) -> usize {
        self.grants().introspections
    }

    /// Refresh tokens issued to `account` and not revoked.
    pub fn live_refresh_tokens(&self, account: &str) -> usize {
        self.grants()
            .refresh_tokens
            .values()
            .filter(|r| r.account.eq_ignore_ascii_case(account) && !r.revoked)
            .count()
    }
}

fn redirect_allowed(registered: &[String], asked: &str) -> bool {
    let loopback_without_port = |uri: &str| -> Option<(String, String)> {
        let url = url::Url::parse(uri).ok()?;
        (url.scheme() == "http" && url.host_str() == Some("127.0.0.1"))
            .then(|| (url.host_str().unwrap().to_string(), url.path().to_string()))
    };
    registered.iter().any(|r| {
        r == asked
            || matches!(
                (loopback_without_port(r), loopback_without_port(asked)),
                (Some(a), Some(b)) if a == b
            )
    })
}

#[derive(Debug, Deserialize)]
struct AuthorizationRequest {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
    /// Only from the consent form: the account that signs in.
    account: Option<String>,
}

fn bad_request_page(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!("<h1>Request refused</h1><p id=\"error\">{why}</p>")),
    )
        .into_response()
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(uri).expect("redirect URI checked");
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// Checks the request (§4.1.1, RFC 7636 §4.3): the client and redirect URI first, as an error
/// about them must not be redirected; then the rest, redirected as `error=...`.
fn check_authorization(
    shared: &Shared,
    request: &AuthorizationRequest,
) -> Result<String, Box<Response>> {
    let grants = shared.grants.lock().unwrap();
    let client = request
        .client_id
        .as_deref()
        .and_then(|id| grants.clients.get(id))
        .ok_or_else(|| Box::new(bad_request_page("unknown client_id")))?;
    let redirect_uri = request
        .redirect_uri
        .clone()
        .filter(|uri| redirect_allowed(&client.redirect_uris, uri))
        .ok_or_else(|| {
            Box::new(bad_request_page(
                "redirect_uri not registered for this client",
            ))
        })?;
    let fail = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(state) = request.state.as_deref() {
            pairs.push(("state", state));
        }
        Box::new(Redirect::to(&with_query(&redirect_uri, &pairs)).into_response())
    };
    if request.response_type.as_deref() != Some("code") {
        return Err(fail("unsupported_response_type", "only code is supported"));
    }
    match (
        request.code_challenge.as_deref(),
        request.code_challenge_method.as_deref(),
    ) {
        (None, _) | (Some(_), Some("S256")) => {}
        (Some(_), _) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
    }
    Ok(redirect_uri)
}

fn hidden(name: &str, value: Option<&str>) -> String {
    value
        .map(|v| {
            let escaped = v
                .replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;");
            format!("<input type=\"hidden\" name=\"{name}\" value=\"{escaped}\">")
        })
        .unwrap_or_default()
}

async fn authorize_page(
    State(shared): State<Shared>,
    Query(request): Query<AuthorizationRequest>,
) -> Response {
    if let Err(refusal) = check_authorization(&shared, &request) {
        return *refusal;
    }
    let account = request.login_hint.clone().unwrap_or_default();
    let fields: String = [
        ("response_type", request.response_type.as_deref()),
        ("client_id", request.client_id.as_deref()),
        ("redirect_uri", request.redirect_uri.as_deref()),
        ("scope", request.scope.as_deref()),
        ("state", request.state.as_deref()),
        ("code_challenge", request.code_challenge.as_deref()),
        (
            "code_challenge_method",
            request.code_challenge_method.as_deref(),
        ),
    ]
    .iter()
    .map(|(name, value)| hidden(name, *value))
    .collect();
    Html(format!(
        "<!doctype html><title>Sign in</title><form method=\"post\" action=\"/authorize\">{fields}\
         <label>Account <input name=\"account\" id=\"account\" value=\"{account}\"></label>\
         <p id=\"scope\">{scope}</p><button id=\"allow\" type=\"submit\">Allow</button></form>",
        scope = request.scope.as_deref().unwrap_or_default()
    ))
    .into_response()
}

async fn consent(
    State(shared): State<Shared>,
    Form(request): Form<AuthorizationRequest>,
) -> Response {
    let redirect_uri = match check_authorization(&shared, &request) {
        Ok(uri) => uri,
        Err(refusal) => return *refusal,
    };
    let account = request.account.clone().unwrap_or_default();
    if !account.contains('@') {
        return bad_request_page("sign in with an email address");
    }
    let code = random_token("code-");
    shared.grants.lock().unwrap().codes.insert(
        code.clone(),
        Code {
            client_id: request.client_id.clone().unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
            account,
            scope: request.scope.clone().unwrap_or_default(),
            challenge: request.code_challenge.clone(),
            used: false,
            issued_refresh_token: None,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = request.state.as_deref() {
        pairs.push(("state", state));
    }
    Redirect::to(&with_query(&redirect_uri, &pairs)).into_response()
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An error in the shape of RFC 6749 §5.2.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Client authentication (§2.3.1): HTTP Basic with the form-urlencoded id and secret, or both
/// in the body.
fn authenticated_client(headers: &HeaderMap, request: &TokenRequest) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("v={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    basic.or_else(|| Some((request.client_id.clone()?, request.client_secret.clone()?)))
}

fn pkce_holds(challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

fn id_token(shared: &Shared, client_id: &str, secret: &str, account: &str) -> String {
    let now = unix_now();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(
        json!({
            "iss": shared.url, "sub": subject(account), "aud": client_id, "iat": now,
            "exp": now + 3600, "email": account, "email_verified": true,
            "preferred_username": account,
        })
        .to_string(),
    );
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{claims}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{claims}.{signature}")
}

fn subject(account: &str) -> String {
    hex::encode(&Sha256::digest(account.to_lowercase().as_bytes())[..8])
}

async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    let mut grants = shared.grants.lock().unwrap();
    let grant_type = request.grant_type.clone().unwrap_or_default();
    let client = authenticated_client(&headers, &request);
    let counted = client
        .as_ref()
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    *grants
        .token_requests
        .entry((counted, grant_type.clone()))
        .or_default() += 1;
    let Some((client_id, secret)) = client else {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no client authentication",
        );
    };
    let (lifetime, client_secret, rotate) = match grants.clients.get(&client_id) {
        Some(client) if client.secret == secret => (
            client.access_token_lifetime,
            client.secret.clone(),
            client.rotate_refresh_tokens,
        ),
        _ => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        }
    };
    let invalid_grant = |why: &str| token_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let (account, scope, refresh_token, new_refresh) = match grant_type.as_str() {
        "authorization_code" => {
            let Some(code) = request
                .code
                .as_deref()
                .and_then(|c| grants.codes.get(c))
                .cloned()
            else {
                return invalid_grant("unknown authorization code");
            };
            if code.used {
                if let Some(issued) = &code.issued_refresh_token {
                    if let Some(refresh) = grants.refresh_tokens.get_mut(issued) {
                        refresh.revoked = true;
                    }
                    grants
                        .access_tokens
                        .retain(|_, a| &a.refresh_token != issued);
                }
                return invalid_grant("authorization code already used");
            }
            if code.client_id != client_id {
                return invalid_grant("code issued to another client");
            }
            if request.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
                return invalid_grant("redirect_uri differs from the authorization request");
            }
            if let Some(challenge) = &code.challenge {
                match request.code_verifier.as_deref() {
                    Some(verifier) if pkce_holds(challenge, verifier) => {}
                    Some(_) => return invalid_grant("code_verifier does not match"),
                    None => return invalid_grant("code_verifier missing"),
                }
            }
            let refresh_token = random_token("refresh-");
            let stored = grants
                .codes
                .get_mut(request.code.as_deref().unwrap())
                .unwrap();
            stored.used = true;
            stored.issued_refresh_token = Some(refresh_token.clone());
            (code.account, code.scope, refresh_token, true)
        }
        "refresh_token" => {
            let value = request.refresh_token.clone().unwrap_or_default();
            match grants.refresh_tokens.get(&value) {
                Some(r) if !r.revoked && r.client_id == client_id && rotate => {
                    let (account, scope) = (r.account.clone(), r.scope.clone());
                    grants.refresh_tokens.get_mut(&value).unwrap().revoked = true;
                    (account, scope, random_token("refresh-"), true)
                }
                Some(r) if !r.revoked && r.client_id == client_id => {
                    (r.account.clone(), r.scope.clone(), value, false)
                }
                Some(r) if r.revoked => return invalid_grant("refresh token revoked"),
                _ => return invalid_grant("unknown refresh token"),
            }
        }
        "" => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type missing",
            );
        }
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant_type",
            );
        }
    };
    if new_refresh {
        grants.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshToken {
                client_id: client_id.clone(),
                account: account.clone(),
                scope: scope.clone(),
                revoked: false,
            },
        );
    }
    let access_token = random_token("access-");
    let now = unix_now();
    grants.access_tokens.insert(
        access_token.clone(),
        AccessToken {
            client_id: client_id.clone(),
            account: account.clone(),
            scope: scope.clone(),
            issued_at: now,
            expires_at: now + lifetime.as_secs(),
            refresh_token: refresh_token.clone(),
        },
    );
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "scope": scope,
    });
    // A first grant gets its refresh token; a refresh keeps the one it used, or gets a new
    // one when the client's tokens rotate (§6 allows both).
    if new_refresh {
        answer["refresh_token"] = Value::from(refresh_token);
    }
    if scope.split(' ').any(|s| s == "openid") {
        answer["id_token"] = Value::from(id_token(&shared, &client_id, &client_secret, &account));
    }
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        axum::Json(answer),
    )
        .into_response()
}

/// The access token of `value`, when active now.
fn active_access_token(grants: &Grants, value: &str) -> Option<AccessToken> {
    grants
        .access_tokens
        .get(value)
        .filter(|a| a.expires_at > unix_now())
        .cloned()
}

#[derive(Debug, Deserialize)]
struct IntrospectionRequest {
    token: Option<String>,
}

async fn introspect(
    State(shared): State<Shared>,
    Form(request): Form<IntrospectionRequest>,
) -> Response {
    let mut grants = shared.grants.lock().unwrap();
    grants.introspections += 1;
    let Some(token) = request.token else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_request", "token missing");
    };
    let answer = match active_access_token(&grants, &token) {
        Some(access) => json!({
            "active": true, "scope": access.scope, "client_id": access.client_id,
            "username": access.account, "token_type": "Bearer", "exp": access.expires_at,
            "iat": access.issued_at, "sub": subject(&access.account),
        }),
        None => json!({"active": false}),
    };
    axum::Json(answer).into_response()
}

async fn userinfo(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let grants = shared.grants.lock().unwrap();
    let access = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| active_access_token(&grants, token));
    match access {
        Some(access) => axum::Json(json!({
            "sub": subject(&access.account), "email": access.account, "email_verified": true,
            "preferred_username": access.account,
        }))
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response(),
    }
}
