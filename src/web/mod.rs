//! The back office, the JSON API and the public contact forms over HTTP (axum). Handlers are
//! thin: they read the request, call a `desk` use-case and turn its result into HTML or JSON.
//!
//! Every route is declared through [`Routes`], which records its method, path and who may call
//! it: the router and the route table the security tests walk come from the same list.

pub mod account;
pub mod api;
pub mod assets;
pub mod auth;
pub mod charts;
pub mod contact_form;
pub mod mail_html;
pub mod mail_view;
pub mod oauth;
pub mod pages;
pub mod security;
pub mod settings;
pub mod settings_more;
pub mod settings_shop;
pub mod stats;
pub mod status;
pub mod ticket_list;
pub mod ticket_page;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, on};

use crate::desk::{Desk, DeskError};
use crate::model::UiLang;

/// What every handler can reach: the desk and this node's web settings.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub desk: Desk,
}

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    pub fn new(desk: Desk) -> AppState {
        AppState(Arc::new(AppInner { desk }))
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Sign-in, contact forms, static files, `/healthz`.
    Public,
    /// A signed-in employee (session cookie or API token) of the shop the data belongs to.
    Employee,
    /// A signed-in administrator of the shop.
    Admin,
    /// The operator of the install, with the `/metrics` bearer token (`metrics.token_sha256`):
    /// sees every shop.
    Operator,
}

/// One declared route.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// Routes being declared, with their table.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// Declares `method path`, callable by `access`.
    pub fn on<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = axum::routing::MethodFilter::try_from(method.clone())
            .expect("routes use standard methods");
        let method_router: MethodRouter<AppState> = on(filter, handler);
        let method_router = match access {
            Access::Public => method_router,
            Access::Employee => {
                method_router.route_layer(axum::middleware::from_fn(auth::require_employee))
            }
            Access::Admin => {
                method_router.route_layer(axum::middleware::from_fn(auth::require_admin))
            }
            Access::Operator => {
                method_router.route_layer(axum::middleware::from_fn(auth::require_operator))
            }
        };
        self.router = self.router.route(path, method_router);
        self.table.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }

    pub fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on(Method::GET, path, access, handler)
    }

    pub fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on(Method::POST, path, access, handler)
    }

    /// Adds another module's routes.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// Routes of a resource that need a bigger body than the default 2 MB (uploads).
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.router = self
            .router
            .layer(axum::extract::DefaultBodyLimit::max(bytes));
        self
    }
}

/// Every route of the application, from each resource's module.
fn declared_routes() -> Routes {
    Routes::new()
        .merge(assets::routes())
        .merge(auth::routes())
        .merge(account::routes())
        .merge(ticket_list::routes())
        .merge(ticket_page::routes())
        .merge(stats::routes())
        .merge(status::routes())
        .merge(contact_form::routes())
        .merge(mail_view::routes())
        .merge(api::routes())
        .merge(settings::routes())
        .merge(settings_more::routes())
        .merge(settings_shop::routes())
        .merge(oauth::routes())
        .merge(webhooks::routes())
}

/// The table of every route, as the router serves them.
pub fn route_table() -> Vec<RouteInfo> {
    declared_routes().table
}

/// The whole application: routes, authentication, CSRF checks and security headers.
pub fn router(state: AppState) -> Router {
    declared_routes()
        .router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::Extension(state.clone()))
        .with_state(state)
}

async fn not_found(lang: auth::PageLang) -> WebError {
    WebError::not_found(lang.0)
}

/// Serves the application on `listener` until `shutdown` resolves, then lets requests in
/// flight finish.
pub async fn serve(
    desk: Desk,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(AppState::new(desk));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A failed request, said in the employee's language: as a page, or as JSON on the API.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub message: String,
    pub json: bool,
    /// Language of the error page's own texts.
    pub lang: UiLang,
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>, lang: UiLang) -> WebError {
        WebError {
            status,
            message: message.into(),
            json: false,
            lang,
        }
    }

    pub fn not_found(lang: UiLang) -> WebError {
        WebError::new(
            StatusCode::NOT_FOUND,
            crate::t!(lang, "web.not_found"),
            lang,
        )
    }

    pub fn forbidden(lang: UiLang) -> WebError {
        WebError::new(
            StatusCode::FORBIDDEN,
            crate::t!(lang, "web.forbidden"),
            lang,
        )
    }

    pub fn bad_request(message: impl Into<String>, lang: UiLang) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, message, lang)
    }

    /// The answer to a use-case's refusal; internal causes are logged, never shown.
    pub fn from_desk(error: DeskError, lang: UiLang) -> WebError {
        let status = desk_status(&error);
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %error, cause = ?error.cause(), "request failed");
            crate::t!(lang, "web.internal_error").to_string()
        } else {
            error.localized(lang)
        };
        WebError::new(status, message, lang)
    }

    pub fn as_json(mut self, json: bool) -> WebError {
        self.json = json;
        self
    }
}

/// The HTTP status that says what kind of refusal a desk error is. Every variant is named, so
/// a new refusal gets its status chosen, not a silent 500.
fn desk_status(error: &DeskError) -> StatusCode {
    use DeskError::*;
    match error {
        NoShopNamed(_)
        | NoContactNamed(_)
        | NoTicket(_)
        | NoCustomerMessage(_)
        | NoMessage(_)
        | NoAttachment(_)
        | NoReply(_)
        | NoRule(_)
        | NoMailboxInShop { .. }
        | NoMailboxMatches
        | NoShopMessage(_)
        | NoTemplate { .. }
        | NoEmployee(_)
        | NoEmployeeNamed(_)
        | NoApiToken(_) => StatusCode::NOT_FOUND,
        AlreadyExists(_) | ReplyNotActionable { .. } | LastAdmin | OwnAccount => {
            StatusCode::CONFLICT
        }
        ShopNeedsName
        | NotAnAddress(_)
        | MailboxSettings(_)
        | MailboxTest(_)
        | OAuthOtherAddress { .. }
        | Template(_)
        | OtherStaysOn
        | BadIntentId
        | UnknownIntent(_)
        | EmptyText
        | Setting(_)
        | Input(_)
        | Csv(_)
        | BadSince(_)
        | TooFewExamples(_)
        | PasswordTooShort { .. }
        | TokenNeedsLabel
        | DatasetNeeded
        | Eval(_)
        | TrainNeedsDataset
        | BlobUrl(_)
        | Dataset { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Period(_) | BadCursor => StatusCode::UNPROCESSABLE_ENTITY,
        ContactForm(refusal) => contact_form_status(refusal),
        OAuth(error) => match error {
            crate::oauth::OAuthError::Unreachable(_) | crate::oauth::OAuthError::Malformed(_) => {
                StatusCode::BAD_GATEWAY
            }
            crate::oauth::OAuthError::Sealed(_) | crate::oauth::OAuthError::Store(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        },
        ShopConnection(error) => shop_connection_status(error),
        // The mail server refused or could not be reached (the change itself may be made).
        Action(_) => StatusCode::BAD_GATEWAY,
        SignInRefused => StatusCode::UNAUTHORIZED,
        SignInThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
        NoShopYet | SeveralShops => StatusCode::CONFLICT,
        // The blob store (S3) refused or did not answer: nothing was written.
        Store(crate::store::StoreError::ObjectStore { .. }) => StatusCode::BAD_GATEWAY,
        Render(_)
        | Sync(_)
        | Answering(_)
        | Store(_)
        | DataDir { .. }
        | Key(_)
        | OpenDatabase(_)
        | CannotWrite { .. }
        | PasswordHashing => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A webhook's refusal is 401 with nothing changed; a platform that failed is the gateway's
/// (the platform delivers again later).
fn shop_connection_status(
    error: &crate::desk::shop_connections::ShopConnectionError,
) -> StatusCode {
    use crate::desk::shop_connections::ShopConnectionError::*;
    match error {
        WebhookRefused(_) => StatusCode::UNAUTHORIZED,
        NotConnected(_) | OtherPlatform { .. } => StatusCode::NOT_FOUND,
        MissingSecret { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Platform(_) => StatusCode::BAD_GATEWAY,
    }
}

/// The status of a contact form's refusal: the visitor can fix most, a robot's speed or
/// volume is "too many", and a message that could not go out is the server's.
fn contact_form_status(refusal: &crate::desk::contact_form::ContactFormError) -> StatusCode {
    use crate::desk::contact_form::ContactFormError::*;
    match refusal {
        Disabled => StatusCode::NOT_FOUND,
        TooMany => StatusCode::TOO_MANY_REQUESTS,
        AttachmentTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        NoMailbox | NotDelivered => StatusCode::SERVICE_UNAVAILABLE,
        NoSuchContact
        | NotAnAddress
        | EmptyMessage
        | MessageTooLong
        | OrderReferenceTooLong
        | TooFast
        | Stale
        | AttachmentsRefused
        | AttachmentType { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if self.json {
            let body = serde_json::json!({ "error": self.message });
            return (self.status, axum::Json(body)).into_response();
        }
        pages::error_page(self.status, &self.message, self.lang)
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// Turns a use-case's result into a handler's, in the caller's language and format.
pub trait WebResultExt<T> {
    fn web(self, me: &auth::SignedIn) -> WebResult<T>;
    fn web_in(self, lang: UiLang) -> WebResult<T>;
}

impl<T> WebResultExt<T> for Result<T, DeskError> {
    fn web(self, me: &auth::SignedIn) -> WebResult<T> {
        self.map_err(|e| WebError::from_desk(e, me.lang).as_json(me.via_api()))
    }

    fn web_in(self, lang: UiLang) -> WebResult<T> {
        self.map_err(|e| WebError::from_desk(e, lang))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README's route table is the router's: a route added without documenting it fails here.
    #[test]
    fn readme_lists_every_route() {
        let readme = include_str!("../../README.md");
        let missing: Vec<String> = route_table()
            .iter()
            .map(|route| {
                let access = match route.access {
                    Access::Public => "public",
                    Access::Employee => "employee",
                    Access::Admin => "admin",
                    Access::Operator => "operator",
                };
                format!("| `{} {}` | {access} |", route.method, route.path)
            })
            .filter(|row| !readme.contains(row.as_str()))
            .collect();
        assert!(missing.is_empty(), "README lacks:\n{}", missing.join("\n"));
    }
}
