//! `guichet status`: the cluster's state as a table for people, or `--json`. Exit code 1 when
//! no node is alive (nothing syncs or sends), so a monitor can run it as a check.

use std::process::ExitCode;

use anyhow::Result;

use guichet::desk::Desk;
use guichet::desk::status::{StatusScope, elapsed_label, queue_lines};
use guichet::model::UiLang;
use guichet::t;
use guichet::views::rfc3339;

use super::{Say, print_json};

pub async fn status(desk: &Desk, json: bool) -> Result<ExitCode> {
    let lang = desk.lang;
    let status = desk.cluster_status(StatusScope::Cluster).await.say(lang)?;
    let code = if status.any_node_alive() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if json {
        print_json(&status)?;
        return Ok(code);
    }
    let ago = |at: i64| elapsed_label(status.now - at, lang);

    println!("{}", t!(lang, "status.nodes"));
    if status.nodes.is_empty() {
        println!("  {}", t!(lang, "status.no_node"));
    } else {
        let rows = status.nodes.iter().map(|n| {
            vec![
                n.name.clone(),
                n.version.clone(),
                rfc3339(n.started_at),
                ago(n.last_heartbeat),
                n.liveness.label(lang).to_string(),
            ]
        });
        print_table(
            header(lang, &["name", "version", "started", "heartbeat", "state"]),
            rows,
        );
        println!(
            "  {}",
            t!(
                lang,
                "status.alive_count",
                alive = status.nodes_alive,
                seen = status.nodes.len()
            )
        );
    }
    if !status.any_node_alive() {
        println!("  {}", t!(lang, "status.none_alive"));
    }

    println!("\n{}", t!(lang, "status.mailboxes"));
    if status.mailboxes.is_empty() {
        println!("  {}", t!(lang, "status.no_mailbox"));
    } else {
        let rows = status.mailboxes.iter().flat_map(|m| {
            m.folders.iter().map(|f| {
                vec![
                    m.shop.clone(),
                    m.email.clone(),
                    m.lease.label(lang, rfc3339),
                    f.name.clone(),
                    f.lag.label(lang),
                    f.unfiled.to_string(),
                ]
            })
        });
        print_table(
            header(
                lang,
                &["shop", "mailbox", "lease", "folder", "lag", "unfiled"],
            ),
            rows,
        );
    }

    println!("\n{}", t!(lang, "status.queues"));
    let rows = queue_lines(&status.queues, lang)
        .into_iter()
        .map(|(name, n)| vec![name.to_string(), n.to_string()]);
    print_table(Vec::new(), rows);

    println!("\n{}", t!(lang, "status.errors"));
    if status.errors.is_empty() {
        println!("  {}", t!(lang, "status.no_error"));
    } else {
        let rows = status
            .errors
            .iter()
            .map(|e| vec![rfc3339(e.at), e.source.label(lang), e.error.clone()]);
        print_table(header(lang, &["when", "where", "error"]), rows);
    }
    Ok(code)
}

/// Column titles from the `status` catalogue section.
fn header(lang: UiLang, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|key| guichet::i18n::text(lang, &format!("status.{key}")).to_string())
        .collect()
}

/// Rows under `header` (none: no title line), each column as wide as its widest cell.
fn print_table(header: Vec<String>, rows: impl Iterator<Item = Vec<String>>) {
    let mut lines: Vec<Vec<String>> = Vec::new();
    if !header.is_empty() {
        lines.push(header);
    }
    lines.extend(rows);
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .filter_map(|l| l.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("  {}", cells.join("  ").trim_end());
    }
}
