//! A customer's message as sent: its HTML part shown isolated, its attachments and its raw
//! source downloaded.
//!
//! The HTML part is sanitised ([`super::mail_html`]) and answered as a document of its own,
//! that the ticket page embeds in `<iframe sandbox>` (no scripts, an opaque origin). The
//! document carries its own policy as well, in case it is opened outside the frame: nothing
//! may load but images inlined as `data:` (the message's `cid:` parts) and, when the employee
//! asks, remote images; no script, no form, no plugin, its only style the one written here;
//! `sandbox` again, so even a top-level visit runs nothing.
//!
//! `cid:` images are inlined as `data:` URLs rather than pointed at the attachment route: a
//! sandboxed frame has an opaque origin, so the browser sends its requests as cross-site and
//! the `SameSite=Strict` session cookie stays home; an inlined image needs no request at all.
//!
//! Downloads are always `Content-Disposition: attachment` with `nosniff` and a sandbox policy:
//! an HTML or SVG attachment is saved, never rendered on our origin.

use axum::Extension;
use axum::extract::{Path, Query};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::auth::SignedIn;
use super::mail_html::{ImagePolicy, collapse_quoted_html, sanitize, split_quoted_text};
use super::{Access, AppState, Routes, WebResult, WebResultExt};
use crate::desk::message_sources::InlineImage;
use crate::model::UiLang;
use crate::t;

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/tickets/{number}/messages/{id}/html",
            Access::Employee,
            message_html,
        )
        .get(
            "/tickets/{number}/messages/{id}/raw",
            Access::Employee,
            raw_message,
        )
        .get(
            "/tickets/{number}/messages/{id}/attachments/{index}",
            Access::Employee,
            attachment,
        )
}

/// The frame's own style sheet: readable mail, images kept inside the frame's width.
const FRAME_STYLE: &str = "body{margin:0;padding:.8em 1em;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;background:#fff;overflow-wrap:anywhere}\
img{max-width:100%;height:auto}table{max-width:100%}pre{white-space:pre-wrap}\
.guichet-images-blocked{margin:0 0 .8em;padding:.4em .7em;border-radius:6px;background:#fff8db;color:#5f4b00;font-size:.9em}\
details.guichet-quoted-history{margin:.6em 0;color:#5f6b7a}details.guichet-quoted-history>summary{cursor:pointer}";

/// Inlined `cid:` images larger than this stay out (the frame would grow without bound).
const MAX_INLINE_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Raster types inlined from `cid:` parts; an SVG part is never inlined.
const INLINE_IMAGE_TYPES: [&str; 5] = [
    "image/png",
    "image/gif",
    "image/jpeg",
    "image/webp",
    "image/bmp",
];

/// Types a browser would run or render as a document if it ever displayed them: downloaded
/// as bytes.
const ACTIVE_TYPES: [&str; 8] = [
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/x-shockwave-flash",
];

/// The policy of the frame document: `remote` adds http(s) images.
pub fn frame_policy(remote: bool) -> String {
    let style_hash = BASE64.encode(Sha256::digest(FRAME_STYLE.as_bytes()));
    let images = if remote {
        "img-src 'self' data: https: http:"
    } else {
        "img-src 'self' data:"
    };
    format!(
        "default-src 'none'; {images}; style-src 'sha256-{style_hash}'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
    )
}

#[derive(Debug, Deserialize)]
struct FrameQuery {
    images: Option<String>,
}

async fn message_html(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path((number, id)): Path<(i64, i64)>,
    Query(query): Query<FrameQuery>,
) -> WebResult<Response> {
    let desk = &state.desk;
    let show_images = query.images.as_deref() == Some("show");
    let policy = if show_images {
        ImagePolicy::AllowRemote
    } else {
        ImagePolicy::BlockRemote
    };
    let body = match desk
        .ticket_message_html(&me.shop, number, id)
        .await
        .web(&me)?
    {
        Some(message) => {
            let images = inline_images(message.inline_images);
            let safe = sanitize(&message.html, policy, move |cid| {
                images
                    .iter()
                    .find(|(content_id, _)| content_id == cid)
                    .map(|(_, url)| url.clone())
            });
            let (html, _) = collapse_quoted_html(&safe.html, t!(me.lang, "mail_view.quoted"));
            let notice = (safe.remote_images_blocked > 0)
                .then(|| images_notice(me.lang, safe.remote_images_blocked));
            format!("{}{html}", notice.unwrap_or_default())
        }
        None => {
            // No HTML part: the text, its quoted history collapsed, in the same frame.
            let raw = desk
                .ticket_message_raw(&me.shop, number, id)
                .await
                .web(&me)?;
            let parsed = crate::intake::parse::parse_message(&raw);
            text_body(&parsed.text, me.lang)
        }
    };
    let document = frame_document(me.lang, &body);
    let csp = frame_policy(show_images);
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
        ],
        document,
    )
        .into_response())
}

/// `(content id, data: URL)` of the raster images among `parts`.
fn inline_images(parts: Vec<InlineImage>) -> Vec<(String, String)> {
    parts
        .into_iter()
        .filter(|part| {
            INLINE_IMAGE_TYPES.contains(&part.content_type.as_str())
                && part.data.len() <= MAX_INLINE_IMAGE_BYTES
        })
        .map(|part| {
            let url = format!(
                "data:{};base64,{}",
                part.content_type,
                BASE64.encode(&part.data)
            );
            (part.content_id, url)
        })
        .collect()
}

/// "Remote images blocked: 3." above the message. The "show" link belongs to the embedding
/// page ([`show_images_src`]): a link inside the frame would be followed from its opaque
/// origin, as a cross-site request, without the `SameSite=Strict` session cookie.
fn images_notice(lang: UiLang, count: usize) -> String {
    format!(
        "<p class=\"guichet-images-blocked\">{}</p>",
        escape(&t!(lang, "mail_view.images_blocked", count = count)),
    )
}

/// The frame's address with remote images shown, for the ticket page's "show" link (set as
/// the frame's `src` by the page itself, so the session cookie goes with it).
pub fn show_images_src(number: i64, id: i64) -> String {
    format!("/tickets/{number}/messages/{id}/html?images=show")
}

fn text_body(text: &str, lang: UiLang) -> String {
    let split = split_quoted_text(text);
    let mut body = format!("<pre>{}</pre>", escape(&split.new));
    if let Some(quoted) = split.quoted {
        body.push_str(&format!(
            "<details class=\"guichet-quoted-history\"><summary>{}</summary><pre>{}</pre></details>",
            escape(t!(lang, "mail_view.quoted")),
            escape(&quoted)
        ));
    }
    body
}

fn frame_document(lang: UiLang, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <meta name=\"viewport\" content=\"width=device-width\"><style>{FRAME_STYLE}</style></head><body>{body}</body></html>\n",
        lang.code()
    )
}

async fn raw_message(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path((number, id)): Path<(i64, i64)>,
) -> WebResult<Response> {
    let raw = state
        .desk
        .ticket_message_raw(&me.shop, number, id)
        .await
        .web(&me)?;
    Ok(download(
        "message/rfc822",
        &format!("ticket-{number}-message-{id}.eml"),
        raw,
    ))
}

async fn attachment(
    me: SignedIn,
    Extension(state): Extension<AppState>,
    Path((number, id, index)): Path<(i64, i64, usize)>,
) -> WebResult<Response> {
    let (attachment, data) = state
        .desk
        .ticket_message_attachment(&me.shop, number, id, index)
        .await
        .web(&me)?;
    let name = attachment
        .filename
        .unwrap_or_else(|| format!("attachment-{}", index + 1));
    Ok(download(
        &download_type(&attachment.content_type),
        &name,
        data,
    ))
}

/// The type a download is answered with: the declared one when it is a plain `type/subtype`
/// that no browser would render as a document, `application/octet-stream` otherwise.
pub fn download_type(declared: &str) -> String {
    let declared = declared.trim().to_ascii_lowercase();
    let plain = declared.split_once('/').is_some_and(|(kind, subtype)| {
        let token = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
        };
        token(kind) && token(subtype)
    });
    if plain && !ACTIVE_TYPES.contains(&declared.as_str()) {
        declared
    } else {
        "application/octet-stream".to_string()
    }
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266), the name
/// stripped of paths, quotes and control characters.
pub fn content_disposition(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.');
    let cleaned = if cleaned.is_empty() {
        "download"
    } else {
        cleaned
    };
    let ascii: String = cleaned
        .chars()
        .map(|c| {
            if c.is_ascii() && c != '%' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in cleaned.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn download(content_type: &str, name: &str, data: Vec<u8>) -> Response {
    let mut response = data.into_response();
    let headers = response.headers_mut();
    let pairs = [
        (header::CONTENT_TYPE, content_type.to_string()),
        (header::CONTENT_DISPOSITION, content_disposition(name)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox".to_string(),
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin".to_string(),
        ),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_never_render_active_types() {
        assert_eq!(download_type("image/png"), "image/png");
        assert_eq!(download_type("Application/PDF"), "application/pdf");
        for active in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/html; charset=utf-8",
            "text/html\r\nX-Evil: 1",
            "",
            "nonsense",
        ] {
            assert_eq!(
                download_type(active),
                "application/octet-stream",
                "{active:?}"
            );
        }
    }

    #[test]
    fn download_names_are_plain_and_encoded() {
        assert_eq!(
            content_disposition("facture.pdf"),
            "attachment; filename=\"facture.pdf\"; filename*=UTF-8''facture.pdf"
        );
        assert_eq!(
            content_disposition("../../etc/pass\"wd;\r\n.txt"),
            "attachment; filename=\"passwd.txt\"; filename*=UTF-8''passwd.txt"
        );
        assert_eq!(
            content_disposition("reçu été.pdf"),
            "attachment; filename=\"re_u _t_.pdf\"; filename*=UTF-8''re%C3%A7u%20%C3%A9t%C3%A9.pdf"
        );
        assert_eq!(
            content_disposition(".htaccess"),
            "attachment; filename=\"htaccess\"; filename*=UTF-8''htaccess"
        );
        assert!(content_disposition("").contains("filename=\"download\""));
    }

    #[test]
    fn the_frame_policy_allows_only_its_own_style_and_asked_images() {
        let blocked = frame_policy(false);
        assert!(blocked.starts_with("default-src 'none'; img-src 'self' data:;"));
        assert!(!blocked.contains("https:"));
        assert!(blocked.contains("sandbox allow-popups"));
        assert!(!blocked.contains("allow-scripts") && !blocked.contains("allow-same-origin"));
        assert!(!blocked.contains("unsafe-inline"));
        let hash = BASE64.encode(Sha256::digest(FRAME_STYLE.as_bytes()));
        assert!(blocked.contains(&format!("style-src 'sha256-{hash}'")));
        assert!(frame_policy(true).contains("img-src 'self' data: https: http:"));
    }

    #[test]
    fn cid_parts_inline_only_as_raster_images() {
        let parts = vec![
            InlineImage {
                content_id: "a@x".into(),
                content_type: "image/gif".into(),
                data: b"GIF89a".to_vec(),
            },
            InlineImage {
                content_id: "b@x".into(),
                content_type: "image/svg+xml".into(),
                data: b"<svg onload=alert(1)>".to_vec(),
            },
        ];
        assert_eq!(
            inline_images(parts),
            vec![(
                "a@x".to_string(),
                "data:image/gif;base64,R0lGODlh".to_string()
            )]
        );
    }

    #[test]
    fn text_frame_escapes_and_collapses() {
        let body = text_body(
            "<b>Merci</b>\n\nLe 3 juin 2024 à 10:00, Shop <s@b.example> a écrit :\n> vieux",
            UiLang::Fr,
        );
        assert!(
            body.starts_with("<pre>&lt;b&gt;Merci&lt;/b&gt;</pre><details"),
            "{body}"
        );
        assert!(body.contains("&lt;s@b.example&gt;"));
    }
}
