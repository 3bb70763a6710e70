//! Static files, embedded in the binary: htmx (vendored, see `static/htmx.LICENSE`), our
//! script and our style sheet. No CDN, no build step.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Access, Routes};

/// htmx 2.0.8 from the npm package `htmx.org`, `dist/htmx.min.js`, SHA-256
/// 22283ef68cb7545914f0a88a1bdedc7256a703d1d580c1d255217d0a50d31313.
const FILES: [(&str, &str, &[u8]); 3] = [
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/htmx.min.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("static/app.css"),
    ),
];

pub fn routes() -> Routes {
    Routes::new()
        .get("/static/{file}", Access::Public, static_file)
        .get("/healthz", Access::Public, healthz)
}

async fn static_file(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// For load balancers: this node answers and its database does.
async fn healthz(axum::Extension(state): axum::Extension<super::AppState>) -> Response {
    match state.desk.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}
