//! One pass of everything that runs by itself: every mailbox synced, due jobs run, answers
//! planned and sent. `sync --once` is this; `serve` runs the same parts forever (runtime).

use crate::answering::{self, AnswerRun};
use crate::intake::sync::{self, FolderSummary, Progress, SyncOptions};
use crate::runtime::{RuntimeOptions, Supervisor};
use crate::store::FileOutcome;

use super::{Desk, DeskResult};

/// What one pass did.
#[derive(Debug, Clone)]
pub struct SyncPass {
    pub folders: Vec<FolderSummary>,
    pub jobs: usize,
    pub answers: AnswerRun,
}

impl SyncPass {
    /// A mailbox or folder failed.
    pub fn failed(&self) -> bool {
        self.folders.iter().any(|s| s.error.is_some())
    }
}

impl Desk {
    pub fn sync_options(&self) -> SyncOptions {
        SyncOptions {
            batch_size: self.config.sync.batch_size,
            node_name: self.config.sync.node_name.clone(),
            lang: self.lang,
            attempts: 4,
            oauth: self.config.oauth.clone(),
            lease: sync::ONE_OFF_LEASE,
        }
    }

    pub async fn sync_once(&self, progress: &dyn Progress) -> DeskResult<SyncPass> {
        let folders =
            sync::sync_all_once(&self.store, &self.key, &self.sync_options(), progress).await?;
        let jobs = crate::worker::run_due_jobs(
            &self.store,
            &self.config.sync.node_name,
            self.config.cluster,
        )
        .await?;
        answering::notices::send_reconnect_notices(&self.store, &self.key, &self.send_options())
            .await?;
        let answers = answering::run(&self.shop_data(), self.lang, &self.send_options()).await?;
        Ok(SyncPass {
            folders,
            jobs,
            answers,
        })
    }

    /// Syncs every mailbox until `shutdown` resolves (IDLE when offered, polling otherwise)
    /// and, with `workers`, runs due jobs and automatic answers; mailboxes added, changed or
    /// removed meanwhile are followed.
    pub async fn serve(&self, workers: bool, shutdown: impl Future<Output = ()>) {
        let options = RuntimeOptions {
            workers,
            ..RuntimeOptions::from_config(&self.config, self.lang)
        };
        Supervisor::new(self.store.clone(), self.key.clone(), options)
            .with_shop_clients(self.shop_clients.clone())
            .run(shutdown)
            .await;
    }
}

impl SyncPass {
    /// Messages filed and errors over every folder.
    pub fn totals(&self) -> (FileOutcome, usize) {
        let mut filed = FileOutcome::default();
        for folder in &self.folders {
            filed += folder.filed;
        }
        let errors = self.folders.iter().filter(|s| s.error.is_some()).count();
        (filed, errors)
    }

    /// Automatic answering decided or sent something.
    pub fn answered_anything(&self) -> bool {
        let (plan, sent) = (&self.answers.planned, &self.answers.sent);
        plan.decided + sent.sent + sent.retried + sent.failed + sent.uncertain > 0
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT): how a `serve` is stopped.
pub fn termination() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
