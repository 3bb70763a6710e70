//! `POST /webhooks/{platform}/{shop}`: what shop platforms push (Shopify, WooCommerce). Public
//! and without CSRF: each delivery is signed with the shop's webhook secret, which the desk
//! checks before anything is applied. A refusal is 401 with nothing changed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Access, AppState, Routes, WebError};
use crate::shop::platform::{Platform, WebhookDelivery};

/// Platforms' deliveries are a few kilobytes; an order with hundreds of lines stays far below.
const MAX_DELIVERY_BYTES: usize = 1024 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .post("/webhooks/{platform}/{shop}", Access::Public, receive)
        .with_body_limit(MAX_DELIVERY_BYTES)
}

async fn receive(
    State(state): State<AppState>,
    Path((platform, shop)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let desk = &state.desk;
    let lang = desk.lang;
    let Some(platform) = Platform::parse(&platform).filter(|p| *p != Platform::Csv) else {
        return WebError::not_found(lang).as_json(true).into_response();
    };
    let delivery = WebhookDelivery {
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    name.as_str().to_ascii_lowercase(),
                    value.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        body: body.to_vec(),
    };
    match desk.receive_webhook(&shop, platform, &delivery).await {
        Ok(outcome) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "outcome": outcome })),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%shop, %platform, error = %error, "webhook not applied");
            WebError::from_desk(error, lang)
                .as_json(true)
                .into_response()
        }
    }
}
