//! Rendering back-office pages: every page gets the layout's context (the employee, the shop,
//! the CSRF token, the language and the current section) beside its own.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::auth::SignedIn;
use super::{WebError, WebResult};
use crate::model::UiLang;

#[derive(Serialize)]
struct Me<'a> {
    id: i64,
    name: &'a str,
    email: &'a str,
    admin: bool,
}

#[derive(Serialize)]
struct PageContext<'a, T: Serialize> {
    me: Me<'a>,
    shop: &'a str,
    csrf: &'a str,
    /// The section of the main menu the page belongs to (`tickets`, `stats`, `settings`).
    nav: &'a str,
    #[serde(flatten)]
    page: T,
}

/// A page of the back office for the signed-in employee; `template` extends `web/layout.html`.
pub fn page(
    me: &SignedIn,
    nav: &str,
    template: &str,
    context: impl Serialize,
) -> WebResult<Html<String>> {
    let context = PageContext {
        me: Me {
            id: me.employee.id,
            name: &me.employee.name,
            email: &me.employee.email,
            admin: me.is_admin(),
        },
        shop: &me.shop.name,
        csrf: me.csrf.as_deref().unwrap_or(""),
        nav,
        page: context,
    };
    crate::render::render(template, me.lang, &context)
        .map(Html)
        .map_err(|error| {
            tracing::error!(%error, "page rendering failed");
            WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                crate::t!(me.lang, "web.internal_error"),
                me.lang,
            )
        })
}

/// A page outside the layout (sign-in, errors, the public contact form).
pub fn bare_page(template: &str, lang: UiLang, context: impl Serialize) -> Response {
    match crate::render::render(template, lang, &context) {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn error_page(status: StatusCode, message: &str, lang: UiLang) -> Response {
    let context = serde_json::json!({ "status": status.as_u16(), "message": message });
    let mut response = bare_page("web/error.html", lang, context);
    *response.status_mut() = status;
    response
}

pub fn sign_in_page(lang: UiLang, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let context = serde_json::json!({ "next": next, "error": error });
    let mut response = bare_page("web/sign_in.html", lang, context);
    *response.status_mut() = status;
    response
}
