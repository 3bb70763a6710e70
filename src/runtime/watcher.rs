//! One mailbox's watcher: lease, sync, then IDLE (or a pause) until new mail, for as long as it
//! is not told to stop. Errors back off (5 s doubling to 5 min) and never reach other mailboxes.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::{RuntimeOptions, pause, stopped};
use crate::crypto::SealingKey;
use crate::intake::imap::ImapClient;
use crate::intake::sync::{self, LogProgress, Progress, SyncError, SyncOptions};
use crate::store::{MailboxRow, Store};

const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const LONGEST_BACKOFF: Duration = Duration::from_secs(300);

pub(super) struct Watcher {
    pub store: Store,
    pub key: SealingKey,
    pub options: Arc<RuntimeOptions>,
    pub mailbox: MailboxRow,
}

/// Progress as log lines, and a signal each time a batch is committed: at shutdown a pass
/// under way is dropped right after one, which throws away no filed work.
#[derive(Default)]
struct CommitSignal {
    log: LogProgress,
    committed: Notify,
}

impl Progress for CommitSignal {
    fn start(&self, label: &str, total: u64) {
        self.log.start(label, total);
    }
    fn advance(&self, done: u64) {
        self.log.advance(done);
        self.committed.notify_waiters();
    }
    fn finish(&self) {
        self.log.finish();
    }
}

impl Watcher {
    /// Runs until `stop` says so, then gives the mailbox lease back.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let Watcher {
            store,
            options,
            mailbox,
            ..
        } = &self;
        let poll = options.poll_interval;
        let sync_options = SyncOptions {
            batch_size: options.batch_size,
            node_name: options.node_name.clone(),
            lang: options.lang,
            attempts: 1,
            oauth: options.send.oauth.clone(),
        };
        let mut backoff = FIRST_BACKOFF;
        let mut client: Option<ImapClient> = None;
        let mut leased = false;
        tracing::info!(mailbox = %mailbox.email, folders = ?mailbox.folders, "watching mailbox");
        while !*stop.borrow() {
            let lease = store
                .lease_mailbox(mailbox.id, &options.node_name, poll.as_millis() as i64 * 3)
                .await;
            leased = matches!(lease, Ok(true));
            if !leased {
                if let Err(e) = lease {
                    tracing::warn!(mailbox = %mailbox.email, error = %e, "mailbox lease");
                }
                client = None;
                if !pause(poll, &mut stop).await {
                    break;
                }
                continue;
            }
            let progress = CommitSignal::default();
            let mut pass = pin!(self.sync_pass(client.take(), &sync_options, &progress));
            let outcome = tokio::select! {
                outcome = &mut pass => outcome,
                _ = stopped(&mut stop) => {
                    let committed = progress.committed.notified();
                    tokio::select! {
                        _ = &mut pass => {}
                        _ = committed => {
                            tracing::info!(mailbox = %mailbox.email, "import stopped after a committed batch");
                        }
                        _ = tokio::time::sleep(options.pass_grace()) => {
                            tracing::warn!(mailbox = %mailbox.email,
                                "import still running at shutdown: its uncommitted batch is left for the next sync");
                        }
                    }
                    break;
                }
            };
            match outcome {
                Ok(session) => {
                    backoff = FIRST_BACKOFF;
                    match self.wait_for_mail(session, &mut stop).await {
                        Some(session) => client = session,
                        None => break,
                    }
                }
                Err(e) => {
                    let message = e.localized(options.lang);
                    tracing::warn!(mailbox = %mailbox.email, error = %message, retry_in = ?backoff, "sync failed");
                    if let Err(e) = store.record_sync(mailbox.id, Some(&message)).await {
                        tracing::warn!(mailbox = %mailbox.email, error = %e, "sync outcome not recorded");
                    }
                    if !pause(backoff, &mut stop).await {
                        break;
                    }
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                }
            }
        }
        drop(client);
        if leased && let Err(e) = store.release_mailbox(mailbox.id, &options.node_name).await {
            tracing::warn!(mailbox = %mailbox.email, error = %e, "mailbox lease not released");
        }
        tracing::info!(mailbox = %mailbox.email, "stopped watching mailbox");
    }

    /// Connects when needed, files what is new in every folder, and hands the session back.
    async fn sync_pass(
        &self,
        client: Option<ImapClient>,
        options: &SyncOptions,
        progress: &CommitSignal,
    ) -> Result<ImapClient, SyncError> {
        let Watcher {
            store,
            key,
            mailbox,
            ..
        } = self;
        let mut session = match client {
            Some(session) => session,
            None => {
                ImapClient::connect(&sync::imap_settings(mailbox, key, &options.oauth).await?)
                    .await?
            }
        };
        let summaries = sync::sync_mailbox(&mut session, store, mailbox, options, progress)
            .await
            .map_err(|(_, e)| e)?;
        let new: u64 = summaries.iter().map(|s| s.filed.new_messages).sum();
        if new > 0 {
            tracing::info!(mailbox = %mailbox.email, new, "filed new mail");
        }
        store.record_sync(mailbox.id, None).await?;
        Ok(session)
    }

    /// Waits in IDLE on the first folder when the server offers it, else for the poll interval.
    /// Returns the session to reuse (None to reconnect), or None when told to stop.
    async fn wait_for_mail(
        &self,
        mut session: ImapClient,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<Option<ImapClient>> {
        let options = &self.options;
        let folder = self.mailbox.folders.first().map_or("INBOX", String::as_str);
        if options.idle && session.supports_idle() && session.select(folder).await.is_ok() {
            // Dropping an IDLE at shutdown just closes the connection: nothing is pending on it.
            tokio::select! {
                waited = session.idle(options.poll_interval) => match waited {
                    Ok((session, _changed)) => Some(Some(session)),
                    Err(e) => {
                        tracing::warn!(mailbox = %self.mailbox.email, error = %e, "IDLE interrupted");
                        Some(None)
                    }
                },
                _ = stopped(stop) => None,
            }
        } else if pause(options.poll_interval, stop).await {
            Some(Some(session))
        } else {
            None
        }
    }
}
