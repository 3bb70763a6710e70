//! One mailbox's watcher: lease, sync, then IDLE (or a pause) until new mail, for as long as it
//! is not told to stop, with the lease renewed all along. Errors back off (5 s doubling to
//! 5 min) and never reach other mailboxes.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::lease::while_held;
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
    /// Told each time a batch of new mail is filed: this node's answer planning looks at it
    /// at once rather than at its next interval.
    pub filed: Arc<Notify>,
}

/// Progress as log lines, and a signal each time a batch is committed: at shutdown a pass
/// under way is dropped right after one, which throws away no filed work; and the answer
/// planning is woken for the new messages.
struct CommitSignal {
    log: LogProgress,
    committed: Notify,
    filed: Arc<Notify>,
}

impl Progress for CommitSignal {
    fn start(&self, label: &str, total: u64) {
        self.log.start(label, total);
    }
    fn advance(&self, done: u64) {
        self.log.advance(done);
        self.committed.notify_waiters();
        self.filed.notify_one();
    }
    fn finish(&self) {
        self.log.finish();
    }
}

/// How one round under the lease ended.
enum Round {
    /// Synced and waited for mail: go on, with the session when it can be reused.
    Again(Option<ImapClient>),
    Failed(SyncError),
    Stopped,
}

impl Watcher {
    /// Runs until `stop` says so, then gives the mailbox lease back. Each round (a sync pass,
    /// then IDLE or a pause) runs under the mailbox lease, renewed every
    /// [`LeaseTimings::renew_every`](super::LeaseTimings); a round whose lease is lost is
    /// dropped on the spot, closing its IMAP session, and the watcher asks for the lease
    /// again like a node that does not hold it.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let Watcher {
            store,
            options,
            mailbox,
            ..
        } = &self;
        let leases = options.leases;
        let sync_options = SyncOptions {
            batch_size: options.batch_size,
            node_name: options.node_name.clone(),
            lang: options.lang,
            attempts: 1,
            oauth: options.send.oauth.clone(),
            lease: leases.lease,
        };
        let take = || store.lease_mailbox(mailbox.id, &options.node_name, leases.lease_ms());
        let mut backoff = FIRST_BACKOFF;
        let mut client: Option<ImapClient> = None;
        let mut leased = false;
        tracing::info!(mailbox = %mailbox.email, folders = ?mailbox.folders, "watching mailbox");
        while !*stop.borrow() {
            let asked_at = Instant::now();
            let lease = take().await;
            leased = matches!(lease, Ok(true));
            if !leased {
                if let Err(e) = lease {
                    tracing::warn!(mailbox = %mailbox.email, error = %e, "mailbox lease");
                }
                client = None;
                // Asked again every renewal period: a dead holder's mailbox moves as soon
                // as its lease runs out, and a live holder's renewals keep it where it is.
                if !pause(leases.renew_every, &mut stop).await {
                    break;
                }
                continue;
            }
            let round = self.round(client.take(), &sync_options, &mut stop);
            match while_held(leases, asked_at, take, round).await {
                Ok(Round::Again(session)) => {
                    backoff = FIRST_BACKOFF;
                    client = session;
                }
                Ok(Round::Stopped) => break,
                Ok(Round::Failed(e)) if e.is_lease_lost() => {
                    // The holder's status is the holder's to record.
                    tracing::warn!(mailbox = %mailbox.email, "mailbox lease lost mid-pass: batch rolled back, IMAP session dropped");
                }
                Ok(Round::Failed(e)) => {
                    let message = e.localized(options.lang);
                    tracing::warn!(mailbox = %mailbox.email, error = %message, retry_in = ?backoff, "sync failed");
                    if let Err(e) = store.record_sync(mailbox.id, Some(&message)).await {
                        tracing::warn!(mailbox = %mailbox.email, error = %e, "sync outcome not recorded");
                    }
                    if e.needs_reconnect() {
                        self.tell_admins().await;
                    }
                    // Not held meanwhile: a long backoff lets a node that can sync take over.
                    if !pause(backoff, &mut stop).await {
                        break;
                    }
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                }
                Err(lost) => {
                    tracing::warn!(mailbox = %mailbox.email, ?lost, "mailbox lease lost: IMAP session dropped");
                }
            }
        }
        drop(client);
        if leased && let Err(e) = store.release_mailbox(mailbox.id, &options.node_name).await {
            tracing::warn!(mailbox = %mailbox.email, error = %e, "mailbox lease not released");
        }
        tracing::info!(mailbox = %mailbox.email, "stopped watching mailbox");
    }

    /// The provider refused the mailbox's refresh token: its admins are told, once for this
    /// break (a notice not sent yet is tried again at the next failed round).
    async fn tell_admins(&self) {
        let Watcher {
            store,
            key,
            options,
            mailbox,
            ..
        } = self;
        let told = async {
            store.note_reconnect_needed(mailbox.id).await?;
            crate::answering::notices::send_reconnect_notice(store, key, &options.send, mailbox)
                .await
        };
        if let Err(e) = told.await {
            tracing::warn!(mailbox = %mailbox.email, error = %e, "reconnect notice not recorded");
        }
    }

    /// One sync pass, then the wait for new mail. Told to stop mid-import, the pass runs to
    /// its next committed batch (within the shutdown grace).
    async fn round(
        &self,
        client: Option<ImapClient>,
        sync_options: &SyncOptions,
        stop: &mut watch::Receiver<bool>,
    ) -> Round {
        let progress = CommitSignal {
            log: LogProgress::default(),
            committed: Notify::new(),
            filed: Arc::clone(&self.filed),
        };
        let mut pass = pin!(self.sync_pass(client, sync_options, &progress));
        let outcome = tokio::select! {
            outcome = &mut pass => outcome,
            _ = stopped(stop) => {
                let committed = progress.committed.notified();
                let email = &self.mailbox.email;
                tokio::select! {
                    _ = &mut pass => {}
                    _ = committed => {
                        tracing::info!(mailbox = %email, "import stopped after a committed batch");
                    }
                    _ = tokio::time::sleep(self.options.pass_grace()) => {
                        tracing::warn!(mailbox = %email,
                            "import still running at shutdown: its uncommitted batch is left for the next sync");
                    }
                }
                return Round::Stopped;
            }
        };
        match outcome {
            Ok(session) => match self.wait_for_mail(session, stop).await {
                Some(session) => Round::Again(session),
                None => Round::Stopped,
            },
            Err(e) => Round::Failed(e),
        }
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
                ImapClient::connect(
                    &sync::imap_settings(store, mailbox, key, &options.oauth).await?,
                )
                .await?
            }
        };
        let summaries = sync::sync_mailbox(&mut session, store, mailbox, options, progress)
            .await
            .map_err(|(_, e)| e)?;
        let new: u64 = summaries.iter().map(|s| s.filed.new_messages).sum();
        if new > 0 {
            tracing::info!(mailbox = %mailbox.email, new, "filed new mail");
            self.filed.notify_one();
        }
        store.record_sync(mailbox.id, None).await?;
        Ok(session)
    }

    /// Whether mail reached `folder` between the pass's search and the SELECT before IDLE:
    /// IDLE reports only what comes after the SELECT, so it would wait a poll interval for it.
    async fn arrived_since_the_pass(
        &self,
        session: &mut ImapClient,
        folder: &str,
        state: crate::intake::imap::FolderState,
    ) -> bool {
        match self.store.checkpoint(self.mailbox.id, folder).await {
            Ok(Some(checkpoint)) if checkpoint.uid_validity == state.uid_validity => session
                .uids_after(checkpoint.last_uid)
                .await
                .map_or(true, |uids| !uids.is_empty()),
            _ => true,
        }
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
        let selected = match options.idle && session.supports_idle() {
            true => session.select(folder).await.ok(),
            false => None,
        };
        if let Some(state) = selected {
            if self
                .arrived_since_the_pass(&mut session, folder, state)
                .await
            {
                return Some(Some(session));
            }
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
