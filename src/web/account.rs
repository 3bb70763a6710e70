//! The signed-in employee's own page: who they are, in which shop, with which role.

use axum::response::Html;
use serde::Serialize;

use super::auth::SignedIn;
use super::{Access, Routes, WebResult, pages};

pub fn routes() -> Routes {
    Routes::new().get("/account", Access::Employee, account)
}

#[derive(Serialize)]
struct AccountPage<'a> {
    name: &'a str,
    email: &'a str,
    role: String,
    employee_lang: &'a str,
}

async fn account(me: SignedIn) -> WebResult<Html<String>> {
    let role = crate::i18n::text(me.lang, role_key(me.is_admin())).to_string();
    let context = AccountPage {
        name: &me.employee.name,
        email: &me.employee.email,
        role,
        employee_lang: me.employee.lang.code(),
    };
    pages::page(&me, "account", "web/account.html", context)
}

fn role_key(admin: bool) -> &'static str {
    if admin {
        "web.role_admin"
    } else {
        "web.role_employee"
    }
}
