//! One pass of everything that runs by itself: every mailbox synced, due jobs run, answers
//! planned and sent. `sync --once` is this; `serve` runs the same parts forever (runtime).

use crate::answering::{self, AnswerRun};
use crate::intake::sync::{self, FolderSummary, Progress, SyncOptions};

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
        }
    }

    pub async fn sync_once(&self, progress: &dyn Progress) -> DeskResult<SyncPass> {
        let folders =
            sync::sync_all_once(&self.store, &self.key, &self.sync_options(), progress).await?;
        let jobs = crate::worker::run_due_jobs(&self.store, &self.config.sync.node_name).await?;
        let answers =
            answering::run(&self.store, &self.key, self.lang, &self.send_options()).await?;
        Ok(SyncPass {
            folders,
            jobs,
            answers,
        })
    }
}
