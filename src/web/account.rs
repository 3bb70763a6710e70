//! The signed-in employee's own page: who they are, in which shop, with which role; the
//! language they read the back office in; their API tokens (created here, shown once, revoked
//! here).

use axum::extract::Path;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::auth::SignedIn;
use super::{Access, AppState, Routes, WebResult, WebResultExt, pages};
use crate::model::UiLang;
use crate::views::rfc3339;

pub fn routes() -> Routes {
    Routes::new()
        .get("/account", Access::Employee, account)
        .post("/account/lang", Access::Employee, set_lang)
        .post("/account/tokens", Access::Employee, create_token)
        .post(
            "/account/tokens/{id}/revoke",
            Access::Employee,
            revoke_token,
        )
}

#[derive(Serialize)]
struct TokenRow {
    id: i64,
    label: String,
    created_at: String,
    last_used_at: Option<String>,
}

#[derive(Serialize)]
struct AccountPage<'a> {
    name: &'a str,
    email: &'a str,
    role: String,
    employee_lang: &'a str,
    tokens: Vec<TokenRow>,
    /// A token just created: shown on this one page, never again.
    new_token: Option<String>,
}

async fn account_page(
    state: &AppState,
    me: &SignedIn,
    new_token: Option<String>,
) -> WebResult<Html<String>> {
    let role = crate::i18n::text(me.lang, role_key(me.is_admin())).to_string();
    let tokens = state
        .desk
        .api_tokens(&me.employee)
        .await
        .web(me)?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            label: t.label,
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
        })
        .collect();
    let context = AccountPage {
        name: &me.employee.name,
        email: &me.employee.email,
        role,
        employee_lang: me.employee.lang.code(),
        tokens,
        new_token,
    };
    pages::page(me, "account", "web/account.html", context)
}

async fn account(Extension(state): Extension<AppState>, me: SignedIn) -> WebResult<Html<String>> {
    account_page(&state, &me, None).await
}

#[derive(Deserialize)]
struct LangForm {
    lang: UiLang,
}

async fn set_lang(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Form(form): Form<LangForm>,
) -> WebResult<Redirect> {
    state
        .desk
        .set_employee_lang(&me.employee, form.lang)
        .await
        .web(&me)?;
    Ok(Redirect::to("/account"))
}

#[derive(Deserialize)]
struct TokenForm {
    label: String,
}

async fn create_token(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Form(form): Form<TokenForm>,
) -> WebResult<Response> {
    let token = state
        .desk
        .create_api_token(&me.employee, &form.label)
        .await
        .web(&me)?;
    let page = account_page(&state, &me, Some(token.expose_secret().to_string())).await?;
    Ok(page.into_response())
}

async fn revoke_token(
    Extension(state): Extension<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> WebResult<Redirect> {
    state
        .desk
        .revoke_api_token(&me.employee, id)
        .await
        .web(&me)?;
    Ok(Redirect::to("/account"))
}

fn role_key(admin: bool) -> &'static str {
    if admin {
        "web.role_admin"
    } else {
        "web.role_employee"
    }
}
