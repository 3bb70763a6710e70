//! `GET/POST /contact/{shop}`: the shop's public contact form, at a stable URL (its name or
//! its slug), without a session, embeddable in the shop's own site (its policy allows any
//! frame ancestor, while the back office allows none). The page carries a time stamp signed
//! with a key derived from the desk's sealing key, so the minimum fill time cannot be faked,
//! and a honeypot field hidden by CSS. Errors come back in the page's language, with what was
//! typed; a sent form redirects to a thank-you page with the tracking number.

use axum::Extension;
use axum::extract::{Multipart, Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::auth::{ClientIp, PageLang};
use super::{Access, AppState, Routes, WebError, pages, security};
use crate::desk::contact_form::{ContactFormPage, ContactSubmission, megabytes};
use crate::desk::{Desk, DeskError};
use crate::model::UiLang;
use crate::store::Shop;
use crate::t;

/// The largest body the form's route reads: the largest attachment a shop may allow, plus
/// room for the text fields and the multipart framing.
pub const MAX_FORM_BODY: usize =
    (crate::desk::contact_form::MAX_ATTACHMENT_LIMIT as usize) + 256 * 1024;
/// The largest text field read.
const MAX_TEXT_FIELD: usize = 128 * 1024;

/// The form's own policy: no script at all, our style sheet, posts to itself only, and any
/// site may frame it.
const FORM_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors *";

pub fn routes() -> Routes {
    Routes::new()
        .get("/contact/{shop}", Access::Public, show)
        .post("/contact/{shop}", Access::Public, submit)
        .get("/contact/{shop}/thanks", Access::Public, thanks)
        .with_body_limit(MAX_FORM_BODY)
}

#[derive(Serialize)]
struct ContactOption {
    id: i64,
    name: String,
    description: String,
    selected: bool,
}

/// What was typed, shown again after a refusal.
#[derive(Debug, Default, Serialize)]
struct Typed {
    contact: Option<i64>,
    email: String,
    order_reference: String,
    message: String,
}

#[derive(Serialize)]
struct FormView {
    shop: String,
    action: String,
    lang_code: &'static str,
    contacts: Vec<ContactOption>,
    attachments: bool,
    attachment_hint: String,
    accept: String,
    stamp: String,
    error: Option<String>,
    typed: Typed,
}

fn embeddable(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FORM_POLICY),
    );
    response
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    page: &ContactFormPage,
    slug: &str,
    lang: UiLang,
    stamp: String,
    error: Option<String>,
    typed: Typed,
    status: StatusCode,
) -> Response {
    let settings = &page.settings;
    let view = FormView {
        shop: page.shop_label.clone(),
        action: format!("/contact/{}?lang={}", url_segment(slug), lang.code()),
        lang_code: lang.code(),
        contacts: page
            .contacts
            .iter()
            .map(|c| ContactOption {
                id: c.id,
                name: c.name.clone(),
                description: c.description.clone(),
                selected: typed.contact == Some(c.id) || page.contacts.len() == 1,
            })
            .collect(),
        attachments: settings.attachments,
        attachment_hint: t!(
            lang,
            "contact_form.attachment_hint",
            max = megabytes(settings.max_attachment_bytes),
            types = settings
                .allowed_types
                .iter()
                .map(|t| type_label(t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        accept: settings.allowed_types.join(","),
        stamp,
        error,
        typed,
    };
    let mut response = pages::bare_page("web/contact_form.html", lang, view);
    *response.status_mut() = status;
    embeddable(response)
}

/// "PDF" for `application/pdf`, "JPEG" for `image/jpeg`...
fn type_label(mime: &str) -> String {
    mime.rsplit('/').next().unwrap_or(mime).to_ascii_uppercase()
}

/// A path segment with what is not a plain character percent-encoded.
fn url_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn open_form(desk: &Desk, name: &str, lang: UiLang) -> Result<ContactFormPage, Response> {
    let shop: Shop = match desk.contact_form_shop(name).await {
        Ok(shop) => shop,
        Err(DeskError::NoShopNamed(_)) => {
            return Err(embeddable(WebError::not_found(lang).into_response()));
        }
        Err(error) => return Err(WebError::from_desk(error, lang).into_response()),
    };
    let page = desk
        .contact_form(&shop)
        .await
        .map_err(|e| WebError::from_desk(e, lang).into_response())?;
    if !page.settings.enabled || page.contacts.is_empty() {
        let refusal = WebError::new(
            StatusCode::NOT_FOUND,
            t!(lang, "contact_form.error_disabled"),
            lang,
        );
        return Err(embeddable(refusal.into_response()));
    }
    Ok(page)
}

async fn show(
    Extension(state): Extension<AppState>,
    PageLang(lang): PageLang,
    Path(name): Path<String>,
) -> Response {
    let desk = &state.desk;
    let page = match open_form(desk, &name, lang).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let stamp = desk.contact_form_stamp(&page.shop, crate::store::now_ms());
    form_page(
        &page,
        &name,
        lang,
        stamp,
        None,
        Typed::default(),
        StatusCode::OK,
    )
}

/// The form's fields as read from the multipart body.
#[derive(Default)]
struct Fields {
    typed: Typed,
    honeypot: String,
    stamp: String,
    attachment: Option<(String, String, Vec<u8>)>,
    /// The attachment went over the shop's limit while it was read.
    too_large: bool,
}

async fn read_fields(mut multipart: Multipart, max_attachment: i64) -> Result<Fields, ()> {
    let mut fields = Fields::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| ())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "attachment" {
            let filename = field.file_name().unwrap_or_default().to_string();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| ())? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as i64 > max_attachment {
                    fields.too_large = true;
                    break;
                }
            }
            let empty = filename.is_empty() && bytes.is_empty();
            if !fields.too_large && !empty {
                fields.attachment = Some((filename, content_type, bytes));
            }
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| ())? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_TEXT_FIELD {
                return Err(());
            }
        }
        let value = String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "contact" => fields.typed.contact = value.trim().parse().ok(),
            "email" => fields.typed.email = value,
            "order_reference" => fields.typed.order_reference = value,
            "message" => fields.typed.message = value,
            "website" => fields.honeypot = value,
            "stamp" => fields.stamp = value,
            _ => {}
        }
    }
    Ok(fields)
}

async fn submit(
    Extension(state): Extension<AppState>,
    PageLang(lang): PageLang,
    ClientIp(ip): ClientIp,
    Path(name): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let desk = &state.desk;
    // No session, so no CSRF token: the signed stamp is the form's, and the browser must say
    // the post comes from our own page (the form, framed or not, is ours).
    if security::same_origin(&headers).is_err() {
        return embeddable(WebError::forbidden(lang).into_response());
    }
    let page = match open_form(desk, &name, lang).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let settings = page.settings.clone();
    let Ok(fields) = read_fields(multipart, settings.max_attachment_bytes).await else {
        return embeddable(
            WebError::bad_request(t!(lang, "contact_form.error_unreadable"), lang).into_response(),
        );
    };
    let now = crate::store::now_ms();
    let Some(rendered_at) = desk.verify_contact_form_stamp(&page.shop, &fields.stamp) else {
        // Forged, foreign, or missing: shown again with a fresh stamp, nothing taken.
        let stamp = desk.contact_form_stamp(&page.shop, now);
        let error = Some(t!(lang, "contact_form.error_stale").to_string());
        return form_page(
            &page,
            &name,
            lang,
            stamp,
            error,
            fields.typed,
            StatusCode::FORBIDDEN,
        );
    };
    let given_stamp = fields.stamp.clone();
    let refuse = |error: DeskError, typed: Typed, keep_stamp: bool| {
        let refusal = WebError::from_desk(error, lang);
        let stamp = if keep_stamp {
            given_stamp.clone()
        } else {
            desk.contact_form_stamp(&page.shop, now)
        };
        form_page(
            &page,
            &name,
            lang,
            stamp,
            Some(refusal.message),
            typed,
            refusal.status,
        )
    };
    if fields.too_large {
        let error = crate::desk::contact_form::ContactFormError::AttachmentTooLarge {
            max_bytes: settings.max_attachment_bytes,
        };
        return refuse(error.into(), fields.typed, true);
    }
    let Some(contact_id) = fields.typed.contact else {
        return refuse(
            crate::desk::contact_form::ContactFormError::NoSuchContact.into(),
            fields.typed,
            true,
        );
    };
    let submission = ContactSubmission {
        contact_id,
        email: fields.typed.email.clone(),
        order_reference: Some(fields.typed.order_reference.clone()),
        message: fields.typed.message.clone(),
        attachment: fields.attachment.clone(),
        client_ip: ip.to_string(),
        form_rendered_at: rendered_at,
        honeypot: fields.honeypot.clone(),
        lang,
    };
    match desk.submit_contact_form(&page.shop, submission, now).await {
        Ok(receipt) => {
            let mut target = format!(
                "/contact/{}/thanks?lang={}",
                url_segment(&name),
                lang.code()
            );
            if let Some(number) = receipt.ticket_number {
                target.push_str(&format!("&ticket={number}"));
            }
            embeddable(Redirect::to(&target).into_response())
        }
        // A form refused for its speed keeps its stamp, so sending it again works.
        Err(error) => refuse(error, fields.typed, true),
    }
}

#[derive(Deserialize)]
struct ThanksQuery {
    ticket: Option<i64>,
}

#[derive(Serialize)]
struct ThanksView {
    shop: String,
    ticket: Option<i64>,
    back: String,
}

async fn thanks(
    Extension(state): Extension<AppState>,
    PageLang(lang): PageLang,
    Path(name): Path<String>,
    Query(query): Query<ThanksQuery>,
) -> Response {
    let page = match open_form(&state.desk, &name, lang).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let view = ThanksView {
        shop: page.shop_label.clone(),
        ticket: query.ticket,
        back: format!("/contact/{}?lang={}", url_segment(&name), lang.code()),
    };
    embeddable(pages::bare_page("web/contact_thanks.html", lang, view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_labels_are_safe() {
        assert_eq!(url_segment("Thé & Co"), "Th%C3%A9%20%26%20Co");
        assert_eq!(url_segment("boutique-1"), "boutique-1");
        assert_eq!(type_label("application/pdf"), "PDF");
        assert!(FORM_POLICY.contains("frame-ancestors *"));
        assert!(!FORM_POLICY.contains("script-src"));
    }
}
