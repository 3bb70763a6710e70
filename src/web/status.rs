//! The cluster's state on the web: the administrators' status page (their shop's mailboxes,
//! queues and errors, beside the nodes) and `/metrics` for the operator's Prometheus (every
//! shop, behind the metrics bearer token).

use std::fmt::Write;

use axum::extract::Extension;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::SignedIn;
use super::settings::settings_page;
use super::{Access, AppState, Routes, WebError, WebResult, WebResultExt};
use crate::desk::status::{ClusterStatus, Liveness, MailboxLease, StatusScope, queue_lines};
use crate::model::UiLang;
use crate::views::rfc3339;

pub fn routes() -> Routes {
    Routes::new()
        .get("/settings/status", Access::Admin, status_page)
        .get("/metrics", Access::Operator, metrics)
}

// ---- The administrators' page. ----

#[derive(Serialize)]
struct NodeLine {
    name: String,
    version: String,
    started: String,
    heartbeat: String,
    state: &'static str,
    alive: bool,
}

#[derive(Serialize)]
struct FolderLine {
    name: String,
    lag: String,
    late: bool,
    unfiled: i64,
}

#[derive(Serialize)]
struct MailboxLine {
    email: String,
    lease: String,
    last_error: Option<String>,
    folders: Vec<FolderLine>,
}

#[derive(Serialize)]
struct ErrorLine {
    source: String,
    at: String,
    error: String,
}

#[derive(Serialize)]
struct StatusPage {
    alive_count: String,
    none_alive: bool,
    nodes: Vec<NodeLine>,
    mailboxes: Vec<MailboxLine>,
    queues: Vec<(&'static str, i64)>,
    errors: Vec<ErrorLine>,
}

fn page_of(status: ClusterStatus, lang: UiLang) -> StatusPage {
    StatusPage {
        alive_count: crate::t!(
            lang,
            "status.alive_count",
            alive = status.nodes_alive,
            seen = status.nodes.len()
        ),
        none_alive: !status.any_node_alive(),
        queues: queue_lines(&status.queues, lang),
        nodes: status
            .nodes
            .into_iter()
            .map(|n| NodeLine {
                started: rfc3339(n.started_at),
                heartbeat: rfc3339(n.last_heartbeat),
                state: n.liveness.label(lang),
                alive: n.liveness == Liveness::Alive,
                name: n.name,
                version: n.version,
            })
            .collect(),
        mailboxes: status
            .mailboxes
            .into_iter()
            .map(|m| MailboxLine {
                lease: m.lease.label(lang, rfc3339),
                folders: m
                    .folders
                    .into_iter()
                    .map(|f| FolderLine {
                        lag: f.lag.label(lang),
                        late: f.lag.is_late(),
                        name: f.name,
                        unfiled: f.unfiled,
                    })
                    .collect(),
                email: m.email,
                last_error: m.last_error,
            })
            .collect(),
        errors: status
            .errors
            .into_iter()
            .map(|e| ErrorLine {
                source: e.source.label(lang),
                at: rfc3339(e.at),
                error: e.error,
            })
            .collect(),
    }
}

async fn status_page(
    me: SignedIn,
    headers: HeaderMap,
    Extension(state): Extension<AppState>,
) -> WebResult<Response> {
    let status = state
        .desk
        .cluster_status(StatusScope::Shop(me.shop.id))
        .await
        .web(&me)?;
    settings_page(
        &me,
        &headers,
        "web/settings_status.html",
        page_of(status, me.lang),
    )
}

// ---- /metrics. ----

async fn metrics(Extension(state): Extension<AppState>) -> Result<Response, WebError> {
    let desk = &state.desk;
    let status = desk
        .cluster_status(StatusScope::Cluster)
        .await
        .map_err(|e| WebError::from_desk(e, desk.lang))?;
    let mut response = prometheus_text(&status).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// A label value as the text exposition format writes it: `\`, `"` and line feeds escaped.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family being written: its HELP and TYPE once, then its samples.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn gauge(out: &'a mut String, name: &'static str, help: &str) -> Family<'a> {
        // HELP text escapes `\` and line feeds; the texts here have neither.
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) -> &mut Self {
        let name = self.name;
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
        }
        self
    }
}

/// Seconds since the epoch, as Prometheus writes times.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The status in the Prometheus text exposition format (version 0.0.4). Metric names and HELP
/// texts are a machine interface, in English like Prometheus' own; README lists them.
pub fn prometheus_text(status: &ClusterStatus) -> String {
    let mut out = String::new();
    Family::gauge(
        &mut out,
        "guichet_nodes_alive",
        "Nodes whose last heartbeat is fresher than a lease.",
    )
    .sample(&[], status.nodes_alive);
    let mut up = Family::gauge(
        &mut out,
        "guichet_node_up",
        "1 while the node's heartbeat is fresher than a lease, 0 once silent (nodes heard of in the last 24 h).",
    );
    for node in &status.nodes {
        up.sample(
            &[("node", &node.name), ("version", &node.version)],
            (node.liveness == Liveness::Alive) as u8,
        );
    }
    let mut heartbeat = Family::gauge(
        &mut out,
        "guichet_node_last_heartbeat_seconds",
        "When the node last wrote its heartbeat, in seconds since the Unix epoch.",
    );
    for node in &status.nodes {
        heartbeat.sample(&[("node", &node.name)], seconds(node.last_heartbeat));
    }
    let mut leased = Family::gauge(
        &mut out,
        "guichet_mailbox_leased",
        "1 when a node holds the mailbox's sync lease (label owner), 0 when nobody does.",
    );
    for m in &status.mailboxes {
        let owner = match &m.lease {
            MailboxLease::Held { owner, .. } => Some(owner.as_str()),
            MailboxLease::Free | MailboxLease::Expired { .. } => None,
        };
        leased.sample(
            &[
                ("shop", &m.shop),
                ("mailbox", &m.email),
                ("owner", owner.unwrap_or("")),
            ],
            owner.is_some() as u8,
        );
    }
    let mut failing = Family::gauge(
        &mut out,
        "guichet_mailbox_sync_failing",
        "1 when the mailbox's last sync failed.",
    );
    for m in &status.mailboxes {
        failing.sample(
            &[("shop", &m.shop), ("mailbox", &m.email)],
            m.last_error.is_some() as u8,
        );
    }
    let mut age = Family::gauge(
        &mut out,
        "guichet_folder_sync_age_seconds",
        "Seconds since the folder's last completed sync (folders synced at least once).",
    );
    for m in &status.mailboxes {
        for f in &m.folders {
            if let Some(at) = f.synced_at {
                age.sample(
                    &[
                        ("shop", &m.shop),
                        ("mailbox", &m.email),
                        ("folder", &f.name),
                    ],
                    seconds(status.now - at).max(0.0),
                );
            }
        }
    }
    let mut late = Family::gauge(
        &mut out,
        "guichet_folder_late",
        "1 when the folder's last completed sync is older than three poll intervals, or it never completed.",
    );
    for m in &status.mailboxes {
        for f in &m.folders {
            let behind = !matches!(f.lag, crate::desk::status::SyncLag::UpToDate { .. });
            late.sample(
                &[
                    ("shop", &m.shop),
                    ("mailbox", &m.email),
                    ("folder", &f.name),
                ],
                behind as u8,
            );
        }
    }
    let mut unfiled = Family::gauge(
        &mut out,
        "guichet_folder_unfiled_messages",
        "Messages on the server that the folder's last sync pass had still to file.",
    );
    for m in &status.mailboxes {
        for f in &m.folders {
            unfiled.sample(
                &[
                    ("shop", &m.shop),
                    ("mailbox", &m.email),
                    ("folder", &f.name),
                ],
                f.unfiled,
            );
        }
    }
    let q = &status.queues;
    let queues: [(&'static str, &str, i64); 7] = [
        ("guichet_jobs_due", "Jobs whose time has come.", q.jobs_due),
        (
            "guichet_jobs_retrying",
            "Jobs whose last attempt failed, waiting for a retry.",
            q.jobs_retrying,
        ),
        (
            "guichet_answers_due",
            "Answers whose time has come, not yet taken by a sender.",
            q.answers_due,
        ),
        (
            "guichet_answers_scheduled",
            "Answers waiting for a later time.",
            q.answers_scheduled,
        ),
        (
            "guichet_answers_sending",
            "Answers being sent now.",
            q.answers_sending,
        ),
        (
            "guichet_answers_uncertain",
            "Answers that may or may not have arrived, waiting for an employee.",
            q.answers_uncertain,
        ),
        (
            "guichet_answers_failed",
            "Answers refused for good.",
            q.answers_failed,
        ),
    ];
    for (name, help, value) in queues {
        Family::gauge(&mut out, name, help).sample(&[], value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_status() -> ClusterStatus {
        use crate::desk::status::{StatusRows, judge};
        use crate::store::{FolderSyncRow, MailboxLeaseRow, NodeRow, QueueCounts};
        let rows = StatusRows {
            nodes: vec![NodeRow {
                name: "node-a".into(),
                version: "9.9.9".into(),
                started_at: 0,
                last_heartbeat: 99_000,
            }],
            mailboxes: vec![MailboxLeaseRow {
                mailbox_id: 1,
                shop_name: "Boutique".into(),
                email: "sav@b.example".into(),
                folders: "INBOX".into(),
                lease_owner: Some("node-a".into()),
                lease_until: Some(105_000),
                last_sync_at: Some(10_000),
                last_error: Some("LOGIN <refused>".into()),
            }],
            folders: vec![FolderSyncRow {
                mailbox_id: 1,
                folder: "INBOX".into(),
                synced_at: Some(10_000),
                unfiled: 3,
            }],
            queues: QueueCounts {
                answers_uncertain: 2,
                ..QueueCounts::default()
            },
            failed_jobs: vec![],
            failed_sends: vec![],
        };
        judge(
            rows,
            100_000,
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(60),
        )
    }

    #[test]
    fn the_status_page_renders_in_both_languages() {
        for (lang, late) in [(UiLang::En, "late"), (UiLang::Fr, "en retard")] {
            let page = serde_json::to_value(page_of(sample_status(), lang)).unwrap();
            let context = super::super::settings::page_context("flash", page);
            let html = crate::render::render("web/settings_status.html", lang, &context).unwrap();
            for shown in [
                "node-a",
                "9.9.9",
                "sav@b.example",
                late,
                "LOGIN &lt;refused&gt;",
            ] {
                assert!(html.contains(shown), "{lang:?}: {shown} missing");
            }
            assert!(!html.contains("status."), "{lang:?}: a key without text");
        }
    }

    #[test]
    fn the_metrics_of_a_status() {
        let text = prometheus_text(&sample_status());
        for line in [
            "guichet_nodes_alive 1",
            "guichet_node_up{node=\"node-a\",version=\"9.9.9\"} 1",
            "guichet_mailbox_leased{shop=\"Boutique\",mailbox=\"sav@b.example\",owner=\"node-a\"} 1",
            "guichet_folder_sync_age_seconds{shop=\"Boutique\",mailbox=\"sav@b.example\",folder=\"INBOX\"} 90",
            "guichet_folder_late{shop=\"Boutique\",mailbox=\"sav@b.example\",folder=\"INBOX\"} 1",
            "guichet_folder_unfiled_messages{shop=\"Boutique\",mailbox=\"sav@b.example\",folder=\"INBOX\"} 3",
            "guichet_answers_uncertain 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn label_values_escape_backslashes_quotes_and_line_feeds() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("a\nb"), "a\\nb");
    }

    #[test]
    fn a_family_writes_help_and_type_then_its_samples() {
        let mut out = String::new();
        Family::gauge(&mut out, "guichet_x", "An x.")
            .sample(&[], 1)
            .sample(&[("shop", "Chez \"Léa\"")], 2);
        assert_eq!(
            out,
            "# HELP guichet_x An x.\n# TYPE guichet_x gauge\nguichet_x 1\nguichet_x{shop=\"Chez \\\"Léa\\\"\"} 2\n"
        );
    }
}
