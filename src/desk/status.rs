//! The cluster's state as people and monitors see it (`guichet status`, `/metrics`, the admin
//! status page): the nodes heard of lately and whether they are alive, who holds each mailbox
//! and until when, how far behind each folder is, how much work waits, and the last errors.
//!
//! An operator reads every shop ([`StatusScope::Cluster`]); a shop's administrator reads the
//! nodes (they serve every shop) and the rest of their own shop only.
//!
//! The serde shape of [`ClusterStatus`] is `guichet status --json`, documented in README: a
//! field may be added, none renamed or removed.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::model::UiLang;
use crate::runtime::LeaseTimings;
use crate::store::{FolderSyncRow, MailboxLeaseRow, NodeRow, QueueCounts, now_ms};

use super::{Desk, DeskResult};
use crate::t;

/// Nodes whose last heartbeat is older than this are no longer listed.
pub const NODES_LISTED_FOR: Duration = Duration::from_secs(24 * 3600);
/// Failed jobs and failed sends listed, each.
pub const ERRORS_LISTED: i64 = 20;
/// A folder is late when its last completed sync is older than this many poll intervals
/// (a watcher syncs at least once per interval, IDLE or not).
const LATE_AFTER_POLL_INTERVALS: u32 = 3;
/// ...and never sooner than this, so a short poll interval does not cry wolf.
const LATE_AFTER_AT_LEAST: Duration = Duration::from_secs(60);

/// Whose data a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusScope {
    /// Every shop: the operator (`guichet status`, `/metrics` with the operator token).
    Cluster,
    /// One shop's mailboxes, queues and errors, beside the nodes.
    Shop(i64),
}

impl StatusScope {
    fn shop(self) -> Option<i64> {
        match self {
            StatusScope::Cluster => None,
            StatusScope::Shop(id) => Some(id),
        }
    }
}

/// Whether a node is running, judged from its heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// Its heartbeat is fresher than a lease: it still holds what it leased.
    Alive,
    /// Silent for longer than a lease: its leases run out and other nodes take its work.
    Silent,
}

/// A node is alive while its last heartbeat is no older than a lease: past that its leases
/// have expired, whatever it may still believe.
pub fn node_liveness(last_heartbeat: i64, now: i64, lease: Duration) -> Liveness {
    if now.saturating_sub(last_heartbeat) <= lease.as_millis() as i64 {
        Liveness::Alive
    } else {
        Liveness::Silent
    }
}

/// Who holds a mailbox's sync lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MailboxLease {
    /// Nobody: no node syncs it now (none running, or between two passes of `sync --once`).
    Free,
    /// `owner` syncs it, and keeps it until `until` unless it renews it.
    Held { owner: String, until: i64 },
    /// `owner` held it until `until` and did not renew it: any node may take it.
    Expired { owner: String, until: i64 },
}

/// The lease a mailbox row tells of, at `now`.
pub fn mailbox_lease(owner: Option<&str>, until: Option<i64>, now: i64) -> MailboxLease {
    match (owner, until) {
        (Some(owner), Some(until)) if until >= now => MailboxLease::Held {
            owner: owner.to_string(),
            until,
        },
        (Some(owner), Some(until)) => MailboxLease::Expired {
            owner: owner.to_string(),
            until,
        },
        _ => MailboxLease::Free,
    }
}

/// How far behind a folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncLag {
    /// No sync of it has completed yet.
    Never,
    /// Its last completed sync was `behind_ms` ago, within what its watcher allows.
    UpToDate { behind_ms: i64 },
    /// Its last completed sync was `behind_ms` ago: longer than its watcher allows.
    Late { behind_ms: i64 },
}

/// How long a folder may go without a completed sync, for watchers polling every
/// `poll_interval` (the longest an IDLE lasts, too).
pub fn late_after(poll_interval: Duration) -> Duration {
    (poll_interval * LATE_AFTER_POLL_INTERVALS).max(LATE_AFTER_AT_LEAST)
}

/// The lag of a folder last synced at `synced_at`, at `now`.
pub fn sync_lag(synced_at: Option<i64>, now: i64, late_after: Duration) -> SyncLag {
    let Some(synced_at) = synced_at else {
        return SyncLag::Never;
    };
    let behind_ms = now.saturating_sub(synced_at).max(0);
    if behind_ms > late_after.as_millis() as i64 {
        SyncLag::Late { behind_ms }
    } else {
        SyncLag::UpToDate { behind_ms }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub version: String,
    pub started_at: i64,
    pub last_heartbeat: i64,
    pub liveness: Liveness,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FolderStatus {
    pub name: String,
    /// When its last sync completed (Unix ms), None if never.
    pub synced_at: Option<i64>,
    /// Messages the server held that the last pass had still to file (0 once filed).
    pub unfiled: i64,
    pub lag: SyncLag,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailboxStatus {
    pub shop: String,
    pub email: String,
    pub lease: MailboxLease,
    pub last_sync_at: Option<i64>,
    /// Why its last sync failed; None when it worked.
    pub last_error: Option<String>,
    pub folders: Vec<FolderStatus>,
}

/// Where an error happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ErrorSource {
    /// A mailbox's last sync.
    Mailbox { shop: String, email: String },
    /// A job, retried later.
    Job {
        id: i64,
        kind: String,
        shop: Option<String>,
        attempts: i64,
    },
    /// An answer refused for good.
    Send { id: i64, shop: String, to: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecentError {
    #[serde(flatten)]
    pub source: ErrorSource,
    /// When it happened (for a job: when it is retried), Unix ms.
    pub at: i64,
    pub error: String,
}

/// The state of the cluster, or of one shop within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// When it was read (Unix ms).
    pub now: i64,
    pub nodes_alive: usize,
    pub nodes: Vec<NodeStatus>,
    pub mailboxes: Vec<MailboxStatus>,
    pub queues: QueueCounts,
    /// Mailbox errors, then failed jobs and failed sends, most recent first.
    pub errors: Vec<RecentError>,
}

impl ClusterStatus {
    /// True when some node runs: work gets done.
    pub fn any_node_alive(&self) -> bool {
        self.nodes_alive > 0
    }
}

/// What the rows read say, judged at `now` (pure, so the judgement is tested without a store).
pub struct StatusRows {
    pub nodes: Vec<NodeRow>,
    pub mailboxes: Vec<MailboxLeaseRow>,
    pub folders: Vec<FolderSyncRow>,
    pub queues: QueueCounts,
    pub failed_jobs: Vec<crate::store::FailedJobRow>,
    pub failed_sends: Vec<crate::store::FailedSendRow>,
}

/// The status the rows tell of, nodes judged against `lease` and folders against `late`.
pub fn judge(rows: StatusRows, now: i64, lease: Duration, late: Duration) -> ClusterStatus {
    let nodes: Vec<NodeStatus> = rows
        .nodes
        .into_iter()
        .map(|n| NodeStatus {
            liveness: node_liveness(n.last_heartbeat, now, lease),
            name: n.name,
            version: n.version,
            started_at: n.started_at,
            last_heartbeat: n.last_heartbeat,
        })
        .collect();
    let mut checkpoints: HashMap<(i64, String), FolderSyncRow> = rows
        .folders
        .into_iter()
        .map(|f| ((f.mailbox_id, f.folder.clone()), f))
        .collect();
    let mut errors = Vec::new();
    let mailboxes = rows
        .mailboxes
        .into_iter()
        .map(|m| {
            let folders = m
                .folders
                .lines()
                .map(|name| {
                    let checkpoint = checkpoints.remove(&(m.mailbox_id, name.to_string()));
                    let synced_at = checkpoint.as_ref().and_then(|c| c.synced_at);
                    FolderStatus {
                        name: name.to_string(),
                        synced_at,
                        unfiled: checkpoint.map_or(0, |c| c.unfiled),
                        lag: sync_lag(synced_at, now, late),
                    }
                })
                .collect();
            if let Some(error) = &m.last_error {
                errors.push(RecentError {
                    source: ErrorSource::Mailbox {
                        shop: m.shop_name.clone(),
                        email: m.email.clone(),
                    },
                    at: m.last_sync_at.unwrap_or(now),
                    error: error.clone(),
                });
            }
            MailboxStatus {
                lease: mailbox_lease(m.lease_owner.as_deref(), m.lease_until, now),
                shop: m.shop_name,
                email: m.email,
                last_sync_at: m.last_sync_at,
                last_error: m.last_error,
                folders,
            }
        })
        .collect();
    errors.extend(rows.failed_jobs.into_iter().map(|j| RecentError {
        source: ErrorSource::Job {
            id: j.id,
            kind: j.kind,
            shop: j.shop_name,
            attempts: j.attempts,
        },
        at: j.run_at,
        error: j.last_error,
    }));
    errors.extend(rows.failed_sends.into_iter().map(|s| RecentError {
        source: ErrorSource::Send {
            id: s.id,
            shop: s.shop_name,
            to: s.to_email,
        },
        at: s.updated_at,
        error: s.last_error,
    }));
    errors.sort_by_key(|e| std::cmp::Reverse(e.at));
    ClusterStatus {
        now,
        nodes_alive: nodes
            .iter()
            .filter(|n| n.liveness == Liveness::Alive)
            .count(),
        nodes,
        mailboxes,
        queues: rows.queues,
        errors,
    }
}

/// How long ago, for a person: seconds, minutes or hours.
pub fn elapsed_label(ms: i64, lang: UiLang) -> String {
    let seconds = ms.max(0) / 1000;
    match seconds {
        0..120 => t!(lang, "status.seconds", n = seconds),
        120..7200 => t!(lang, "status.minutes", n = seconds / 60),
        _ => t!(lang, "status.hours", n = seconds / 3600),
    }
}

impl Liveness {
    pub fn label(self, lang: UiLang) -> &'static str {
        match self {
            Liveness::Alive => t!(lang, "status.alive"),
            Liveness::Silent => t!(lang, "status.silent"),
        }
    }
}

impl MailboxLease {
    /// Who holds it and until when, with times as `time` writes them.
    pub fn label(&self, lang: UiLang, time: impl Fn(i64) -> String) -> String {
        match self {
            MailboxLease::Free => t!(lang, "status.lease_free").into(),
            MailboxLease::Held { owner, until } => {
                t!(
                    lang,
                    "status.lease_held",
                    owner = owner,
                    until = time(*until)
                )
            }
            MailboxLease::Expired { owner, until } => {
                t!(
                    lang,
                    "status.lease_expired",
                    owner = owner,
                    until = time(*until)
                )
            }
        }
    }
}

impl SyncLag {
    pub fn label(self, lang: UiLang) -> String {
        match self {
            SyncLag::Never => t!(lang, "status.lag_never").into(),
            SyncLag::UpToDate { behind_ms } => {
                t!(
                    lang,
                    "status.lag_up_to_date",
                    ago = elapsed_label(behind_ms, lang)
                )
            }
            SyncLag::Late { behind_ms } => {
                t!(
                    lang,
                    "status.lag_late",
                    ago = elapsed_label(behind_ms, lang)
                )
            }
        }
    }

    pub fn is_late(self) -> bool {
        matches!(self, SyncLag::Late { .. })
    }
}

impl ErrorSource {
    /// Where it happened, for a person.
    pub fn label(&self, lang: UiLang) -> String {
        match self {
            ErrorSource::Mailbox { shop, email } => {
                t!(lang, "status.error_mailbox", email = email, shop = shop)
            }
            ErrorSource::Job {
                id, kind, attempts, ..
            } => t!(
                lang,
                "status.error_job",
                id = id,
                kind = kind,
                attempts = attempts
            ),
            ErrorSource::Send { id, shop, to } => {
                t!(lang, "status.error_send", id = id, to = to, shop = shop)
            }
        }
    }
}

/// Each queue's depth with its name for a person, in a stable order.
pub fn queue_lines(queues: &QueueCounts, lang: UiLang) -> Vec<(&'static str, i64)> {
    [
        ("status.jobs_due", queues.jobs_due),
        ("status.jobs_retrying", queues.jobs_retrying),
        ("status.answers_due", queues.answers_due),
        ("status.answers_scheduled", queues.answers_scheduled),
        ("status.answers_sending", queues.answers_sending),
        ("status.answers_uncertain", queues.answers_uncertain),
        ("status.answers_failed", queues.answers_failed),
    ]
    .into_iter()
    .map(|(key, n)| (crate::i18n::text(lang, key), n))
    .collect()
}

impl Desk {
    /// The cluster's state now, as `scope` may see it.
    pub async fn cluster_status(&self, scope: StatusScope) -> DeskResult<ClusterStatus> {
        let store = &self.store;
        let shop = scope.shop();
        let now = now_ms();
        let rows = StatusRows {
            nodes: store
                .nodes_seen_since(now - NODES_LISTED_FOR.as_millis() as i64)
                .await?,
            mailboxes: store.mailbox_leases(shop).await?,
            folders: store.folder_syncs(shop).await?,
            queues: store.queue_counts(shop).await?,
            failed_jobs: store.failed_jobs(shop, ERRORS_LISTED).await?,
            failed_sends: store.failed_sends(shop, ERRORS_LISTED).await?,
        };
        Ok(judge(
            rows,
            now,
            LeaseTimings::default().lease,
            late_after(self.config.sync.poll_interval),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(10);

    #[test]
    fn a_node_is_alive_until_its_lease_would_have_run_out() {
        assert_eq!(node_liveness(1_000, 1_000, LEASE), Liveness::Alive);
        assert_eq!(node_liveness(1_000, 11_000, LEASE), Liveness::Alive);
        assert_eq!(node_liveness(1_000, 11_001, LEASE), Liveness::Silent);
        // A clock a little behind another node's still counts it alive.
        assert_eq!(node_liveness(5_000, 1_000, LEASE), Liveness::Alive);
    }

    #[test]
    fn a_lease_is_held_until_its_end_then_expired() {
        assert_eq!(mailbox_lease(None, None, 5), MailboxLease::Free);
        assert_eq!(mailbox_lease(Some("a"), None, 5), MailboxLease::Free);
        assert_eq!(
            mailbox_lease(Some("a"), Some(5), 5),
            MailboxLease::Held {
                owner: "a".into(),
                until: 5
            }
        );
        assert_eq!(
            mailbox_lease(Some("a"), Some(4), 5),
            MailboxLease::Expired {
                owner: "a".into(),
                until: 4
            }
        );
    }

    #[test]
    fn a_folder_is_late_after_three_poll_intervals_and_never_before_a_minute() {
        assert_eq!(
            late_after(Duration::from_secs(300)),
            Duration::from_secs(900)
        );
        assert_eq!(late_after(Duration::from_secs(5)), Duration::from_secs(60));
        let late = Duration::from_secs(60);
        assert_eq!(sync_lag(None, 100_000, late), SyncLag::Never);
        assert_eq!(
            sync_lag(Some(40_000), 100_000, late),
            SyncLag::UpToDate { behind_ms: 60_000 }
        );
        assert_eq!(
            sync_lag(Some(39_999), 100_000, late),
            SyncLag::Late { behind_ms: 60_001 }
        );
    }

    fn mailbox(id: i64, folders: &str, error: Option<&str>) -> MailboxLeaseRow {
        MailboxLeaseRow {
            mailbox_id: id,
            shop_name: "shop".into(),
            email: format!("box{id}@shop.test"),
            folders: folders.into(),
            lease_owner: Some("node-a".into()),
            lease_until: Some(200_000),
            last_sync_at: Some(90_000),
            last_error: error.map(str::to_string),
        }
    }

    #[test]
    fn judging_places_checkpoints_in_their_folders_and_sorts_errors_newest_first() {
        let rows = StatusRows {
            nodes: vec![
                NodeRow {
                    name: "node-a".into(),
                    version: "1".into(),
                    started_at: 0,
                    last_heartbeat: 99_000,
                },
                NodeRow {
                    name: "node-b".into(),
                    version: "1".into(),
                    started_at: 0,
                    last_heartbeat: 10_000,
                },
            ],
            mailboxes: vec![
                mailbox(1, "INBOX\nArchive", None),
                mailbox(2, "INBOX", Some("refused")),
            ],
            folders: vec![
                FolderSyncRow {
                    mailbox_id: 1,
                    folder: "INBOX".into(),
                    synced_at: Some(95_000),
                    unfiled: 0,
                },
                FolderSyncRow {
                    mailbox_id: 2,
                    folder: "INBOX".into(),
                    synced_at: None,
                    unfiled: 12,
                },
            ],
            queues: QueueCounts::default(),
            failed_jobs: vec![crate::store::FailedJobRow {
                id: 7,
                kind: "purge_retention".into(),
                shop_name: None,
                attempts: 2,
                run_at: 95_000,
                last_error: "disk full".into(),
            }],
            failed_sends: vec![],
        };
        let status = judge(rows, 100_000, LEASE, Duration::from_secs(60));
        assert_eq!(status.nodes_alive, 1);
        assert!(status.any_node_alive());
        assert_eq!(status.nodes[1].liveness, Liveness::Silent);
        let first = &status.mailboxes[0];
        assert_eq!(first.folders[0].lag, SyncLag::UpToDate { behind_ms: 5_000 });
        assert_eq!(first.folders[1].lag, SyncLag::Never);
        assert_eq!(status.mailboxes[1].folders[0].unfiled, 12);
        let sources: Vec<_> = status.errors.iter().map(|e| e.at).collect();
        assert_eq!(sources, vec![95_000, 90_000]);
    }
}
