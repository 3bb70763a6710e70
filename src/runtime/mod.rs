//! What runs by itself: one [`Supervisor`] runs the mailbox watchers (one per mailbox), the job
//! runner and the answering loop in one process, follows mailboxes added, changed or removed
//! while it runs, and stops cleanly when its shutdown future completes. `guichet serve` drives
//! it from the signals; a web server can embed it the same way.

pub mod lease;
mod reconcile;
mod wakeups;
mod watcher;

pub use lease::LeaseTimings;

use crate::shop::live::{ShopClients, ShopData};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::{self, JoinError, JoinSet};

use crate::config::Config;
use crate::crypto::SealingKey;
use crate::model::UiLang;
use crate::store::{MailboxRow, Store, Wakeup};
use reconcile::{Changes, StopReason, changes};
use wakeups::{Wakeups, next_due, repeat_until_due};
use watcher::Watcher;

/// How the supervisor runs. [`RuntimeOptions::from_config`] gives the defaults.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// This node's name in mailbox and job leases.
    pub node_name: String,
    /// Language of the errors recorded for `mailbox list` and of answers' fallbacks.
    pub lang: UiLang,
    /// Messages per `UID FETCH` and per database transaction.
    pub batch_size: usize,
    /// Polling period of mailboxes without IDLE, and the longest IDLE.
    pub poll_interval: Duration,
    pub idle: bool,
    /// Run the job runner and the answering loop besides the watchers.
    pub workers: bool,
    /// How often the store is read for mailboxes added, changed or removed.
    pub reconcile_interval: Duration,
    /// Pause between two rounds of the job runner, and of the answering loop.
    pub work_interval: Duration,
    /// From the shutdown signal to the return of [`Supervisor::run`], at the most.
    pub shutdown_timeout: Duration,
    /// How answers go out (EHLO name).
    pub send: crate::answering::send::SendOptions,
    /// The shop data cache and platform request limit.
    pub shop: crate::shop::live::LiveSettings,
    /// How long this node's leases last unrenewed, and its heartbeat.
    pub leases: LeaseTimings,
}

impl RuntimeOptions {
    pub fn from_config(config: &Config, lang: UiLang) -> RuntimeOptions {
        RuntimeOptions {
            node_name: config.sync.node_name.clone(),
            lang,
            batch_size: config.sync.batch_size,
            poll_interval: config.sync.poll_interval,
            idle: config.sync.idle,
            workers: true,
            reconcile_interval: Duration::from_secs(3),
            work_interval: Duration::from_secs(5),
            // Service managers send SIGKILL 10 s after SIGTERM (systemd's default is 90 s,
            // Docker's 10 s): stop before, with room to close the database.
            shutdown_timeout: Duration::from_secs(8),
            send: crate::answering::send::SendOptions::from_config(config),
            shop: crate::shop::live::LiveSettings::from_config(&config.shop),
            leases: config.cluster,
        }
    }

    /// How long an import under way at shutdown may run to its next commit. The rest of the
    /// timeout gives the lease back.
    fn pass_grace(&self) -> Duration {
        self.shutdown_timeout.mul_f64(0.75)
    }
}

/// Asks a running [`Supervisor`] to read the mailboxes now rather than at its next interval,
/// e.g. right after a mailbox was added through the web.
#[derive(Debug, Clone)]
pub struct SupervisorHandle(Arc<Notify>);

impl SupervisorHandle {
    pub fn reconcile_now(&self) {
        self.0.notify_one();
    }
}

pub struct Supervisor {
    store: Store,
    key: SealingKey,
    options: Arc<RuntimeOptions>,
    wakeups: Wakeups,
    shop_clients: ShopClients,
}

impl Supervisor {
    pub fn new(store: Store, key: SealingKey, options: RuntimeOptions) -> Supervisor {
        Supervisor {
            store,
            key,
            options: Arc::new(options),
            wakeups: Wakeups::default(),
            shop_clients: ShopClients::default(),
        }
    }

    /// Shares the platform clients of a desk (and the tokens they hold).
    pub fn with_shop_clients(mut self, clients: ShopClients) -> Supervisor {
        self.shop_clients = clients;
        self
    }

    fn shop_data(&self) -> ShopData {
        ShopData {
            store: self.store.clone(),
            key: self.key.clone(),
            clients: self.shop_clients.clone(),
            settings: self.options.shop,
        }
    }

    pub fn handle(&self) -> SupervisorHandle {
        SupervisorHandle(Arc::clone(self.wakeups.switch(Wakeup::Mailboxes)))
    }

    /// Runs until `shutdown` completes, then stops taking work: an import under way stops
    /// after its next committed batch, an answering round or job under way finishes, IDLE and
    /// pauses end at once, the mailbox leases are released. Returns within
    /// [`RuntimeOptions::shutdown_timeout`] of the signal; what still runs then is dropped.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let (stop_workers, stop) = watch::channel(false);
        let mut workers = JoinSet::new();
        self.spawn_heartbeat(&mut workers, stop.clone());
        if self.store.postgres().is_some() {
            let (store, wakeups) = (self.store.clone(), self.wakeups.clone());
            workers.spawn(wakeups::listen(store, wakeups, stop.clone()));
        }
        if self.options.workers {
            self.spawn_workers(&mut workers, stop);
        }
        let mut watchers = Watchers::default();
        tracing::info!(node = %self.options.node_name, "guichet running");
        let mut reconcile = true;
        loop {
            if reconcile {
                self.reconcile(&mut watchers).await;
            }
            reconcile = tokio::select! {
                _ = &mut shutdown => break,
                _ = self.wakeups.switch(Wakeup::Mailboxes).notified() => true,
                _ = tokio::time::sleep(self.options.reconcile_interval) => true,
                Some(ended) = watchers.tasks.join_next_with_id() => watchers.ended(ended),
            };
        }

        let signalled = Instant::now();
        tracing::info!(
            watchers = watchers.tasks.len(),
            workers = workers.len(),
            "shutting down"
        );
        let _ = stop_workers.send(true);
        watchers.stop_all();
        let everything_ended =
            tokio::time::timeout_at((signalled + self.options.shutdown_timeout).into(), async {
                while let Some(ended) = watchers.tasks.join_next_with_id().await {
                    watchers.ended(ended);
                }
                while workers.join_next().await.is_some() {}
            })
            .await
            .is_ok();
        if !everything_ended {
            tracing::warn!(
                watchers = watchers.tasks.len(),
                workers = workers.len(),
                "still running at the shutdown deadline: dropped"
            );
            watchers.tasks.shutdown().await;
            workers.shutdown().await;
        }
        // Watchers that panicked or were dropped did not give their lease back themselves.
        let unreleased = watchers.task_mailbox.into_values().chain(watchers.panicked);
        for mailbox_id in unreleased {
            if let Err(e) = self
                .store
                .release_mailbox(mailbox_id, &self.options.node_name)
                .await
            {
                tracing::warn!(mailbox_id, error = %e, "mailbox lease not released");
            }
        }
        tracing::info!(
            elapsed_ms = signalled.elapsed().as_millis() as u64,
            "guichet stopped"
        );
    }

    /// Records this node as alive every [`LeaseTimings::renew_every`], for `guichet status`.
    fn spawn_heartbeat(&self, workers: &mut JoinSet<()>, stop: watch::Receiver<bool>) {
        let (store, node) = (self.store.clone(), self.options.node_name.clone());
        let started_at = crate::store::now_ms();
        workers.spawn(repeat(self.options.leases.renew_every, stop, move || {
            let (store, node) = (store.clone(), node.clone());
            async move {
                if let Err(e) = store
                    .record_heartbeat(&node, env!("CARGO_PKG_VERSION"), started_at)
                    .await
                {
                    tracing::warn!(error = %e, "heartbeat not recorded");
                }
            }
        }));
    }

    fn spawn_workers(&self, workers: &mut JoinSet<()>, stop: watch::Receiver<bool>) {
        let interval = self.options.work_interval;
        let (store, owner) = (self.store.clone(), self.options.node_name.clone());
        let leases = self.options.leases;
        let wake_jobs = Some(Arc::clone(self.wakeups.switch(Wakeup::Jobs)));
        workers.spawn(repeat_until_due(
            interval,
            wake_jobs,
            stop.clone(),
            move || {
                let (store, owner) = (store.clone(), owner.clone());
                async move {
                    match crate::worker::run_due_jobs(&store, &owner, leases).await {
                        Ok(ran) if ran > 0 => tracing::info!(ran, "jobs run"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "job runner"),
                    }
                    next_due(store.next_job_due().await, "jobs")
                }
            },
        ));
        // Platforms without webhooks (PrestaShop) are asked for their changed orders.
        let shops = self.shop_data();
        workers.spawn(repeat(
            self.options.shop.poll_interval,
            stop.clone(),
            move || {
                let shops = shops.clone();
                async move {
                    match shops.poll_changes().await {
                        Ok(stored) if stored > 0 => tracing::info!(stored, "polled shop orders"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "shop polling"),
                    }
                }
            },
        ));
        self.spawn_answering(workers, stop);
    }

    /// Automatic answers run as two loops, so that sending never waits for planning: the
    /// planning loop decides new messages a slice per shop at a time (a first import may leave
    /// tens of thousands to decide) and wakes the sending loop as soon as a pass scheduled
    /// answers; the sending loop sends what is due, woken by those passes, by answers other
    /// nodes schedule (on PostgreSQL) and when the next answer falls due.
    fn spawn_answering(&self, workers: &mut JoinSet<()>, stop: watch::Receiver<bool>) {
        let interval = self.options.work_interval;
        let (shops, lang) = (self.shop_data(), self.options.lang);
        let wake_sending = Arc::clone(self.wakeups.switch(Wakeup::Answers));
        let planning_stop = stop.clone();
        let wake_planning = Some(Arc::clone(self.wakeups.planning()));
        workers.spawn(repeat_until_due(
            interval,
            wake_planning,
            stop.clone(),
            move || {
                let (shops, wake_sending, stop) = (
                    shops.clone(),
                    Arc::clone(&wake_sending),
                    planning_stop.clone(),
                );
                async move {
                    let mut planned = crate::answering::PlanSummary::default();
                    loop {
                        match crate::answering::plan_pass(&shops, lang).await {
                            Ok(pass) => {
                                planned.add(pass.planned);
                                if pass.planned.scheduled > 0 {
                                    wake_sending.notify_one();
                                }
                                if !pass.more || *stop.borrow() {
                                    break;
                                }
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "automatic answers: planning");
                                break;
                            }
                        }
                    }
                    if planned != crate::answering::PlanSummary::default() {
                        tracing::info!(?planned, "automatic answers decided");
                    }
                    None
                }
            },
        ));
        let (store, key) = (self.store.clone(), self.key.clone());
        let send = self.options.send.clone();
        let wake_answers = Some(Arc::clone(self.wakeups.switch(Wakeup::Answers)));
        workers.spawn(repeat_until_due(interval, wake_answers, stop, move || {
            let (store, key, send) = (store.clone(), key.clone(), send.clone());
            async move {
                match crate::answering::send::send_due(&store, &key, lang, &send).await {
                    Ok(sent) if sent != crate::answering::send::SendSummary::default() => {
                        tracing::info!(?sent, "automatic answers sent");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "automatic answers: sending"),
                }
                next_due(store.next_answer_due().await, "answers")
            }
        }));
    }

    /// Reads the mailboxes and starts, stops or restarts watchers to match. A store that does
    /// not answer leaves the watchers as they are until the next try.
    async fn reconcile(&self, watchers: &mut Watchers) {
        let wanted = match self.store.mailboxes().await {
            Ok(wanted) => wanted,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the mailboxes; watchers left as they are");
                return;
            }
        };
        let Changes { start, stop } = changes(&wanted, &watchers.running(), &watchers.stopping);
        for (mailbox_id, reason) in stop {
            match reason {
                StopReason::Removed => {
                    tracing::info!(mailbox_id, "mailbox removed: stopping its watcher")
                }
                StopReason::Changed => {
                    tracing::info!(mailbox_id, "mailbox changed: restarting its watcher")
                }
            }
            watchers.stop(mailbox_id);
        }
        for mailbox in start {
            watchers.start(Watcher {
                store: self.store.clone(),
                key: self.key.clone(),
                options: Arc::clone(&self.options),
                mailbox,
                filed: Arc::clone(self.wakeups.planning()),
            });
        }
    }
}

/// A running watcher: the row it was started from and its stop switch.
struct Running {
    mailbox: MailboxRow,
    stop: watch::Sender<bool>,
}

#[derive(Default)]
struct Watchers {
    tasks: JoinSet<()>,
    task_mailbox: HashMap<task::Id, i64>,
    running: HashMap<i64, Running>,
    /// Told to stop, not ended yet.
    stopping: HashSet<i64>,
    /// Mailboxes whose watcher panicked, holding its lease.
    panicked: HashSet<i64>,
}

impl Watchers {
    fn running(&self) -> HashMap<i64, MailboxRow> {
        self.running
            .iter()
            .map(|(id, r)| (*id, r.mailbox.clone()))
            .collect()
    }

    fn start(&mut self, watcher: Watcher) {
        let mailbox = watcher.mailbox.clone();
        let (stop, stopped) = watch::channel(false);
        let task = self.tasks.spawn(watcher.run(stopped));
        self.task_mailbox.insert(task.id(), mailbox.id);
        self.running.insert(mailbox.id, Running { mailbox, stop });
    }

    fn stop(&mut self, mailbox_id: i64) {
        if let Some(running) = self.running.remove(&mailbox_id) {
            let _ = running.stop.send(true);
            self.stopping.insert(mailbox_id);
        }
    }

    fn stop_all(&mut self) {
        let ids: Vec<i64> = self.running.keys().copied().collect();
        for id in ids {
            self.stop(id);
        }
    }

    /// A watcher task ended: told to stop, or by a panic. Returns whether to reconcile at once,
    /// which restarts a changed mailbox without delay; a panicking watcher waits for the next
    /// interval, so that it cannot spin.
    fn ended(&mut self, ended: Result<(task::Id, ()), JoinError>) -> bool {
        let task_id = match &ended {
            Ok((id, ())) => *id,
            Err(e) => e.id(),
        };
        if let Some(mailbox_id) = self.task_mailbox.remove(&task_id) {
            self.running.remove(&mailbox_id);
            self.stopping.remove(&mailbox_id);
            if let Err(e) = ended {
                self.panicked.insert(mailbox_id);
                tracing::error!(mailbox_id, error = %e, "mailbox watcher stopped unexpectedly; starting it again");
                return false;
            }
        }
        true
    }
}

/// True when the stop switch is on; a dropped switch counts as on.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|on| *on).await;
}

/// Waits `duration` unless told to stop first; false when told to stop.
async fn pause(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => true,
        _ = stopped(stop) => false,
    }
}

/// Runs `round`, then pauses `interval`, until told to stop. A round under way always finishes.
async fn repeat<F: Future<Output = ()>>(
    interval: Duration,
    stop: watch::Receiver<bool>,
    mut round: impl FnMut() -> F,
) {
    repeat_until_due(interval, None, stop, move || {
        let round = round();
        async move {
            round.await;
            None
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_ends_at_the_stop_signal() {
        let (stop, mut stopped) = watch::channel(false);
        let paused =
            tokio::spawn(async move { pause(Duration::from_secs(3600), &mut stopped).await });
        stop.send(true).unwrap();
        let waited = tokio::time::timeout(Duration::from_secs(1), paused).await;
        assert!(!waited.expect("the pause ended at once").unwrap());
    }

    #[tokio::test]
    async fn a_round_under_way_finishes_and_no_other_starts() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (stop, stopped) = watch::channel(false);
        let (gate, rounds) = (Arc::new(Notify::new()), Arc::new(AtomicUsize::new(0)));
        let (started, mut round_started) = tokio::sync::mpsc::channel::<()>(1);
        let (round_gate, round_count) = (Arc::clone(&gate), Arc::clone(&rounds));
        let repeating = tokio::spawn(repeat(Duration::ZERO, stopped, move || {
            let (gate, count, started) = (
                Arc::clone(&round_gate),
                Arc::clone(&round_count),
                started.clone(),
            );
            async move {
                let _ = started.send(()).await;
                gate.notified().await;
                count.fetch_add(1, Ordering::SeqCst);
            }
        }));
        round_started.recv().await.unwrap();
        stop.send(true).unwrap();
        gate.notify_one();
        tokio::time::timeout(Duration::from_secs(1), repeating)
            .await
            .expect("repeat returns once the round is done")
            .unwrap();
        assert_eq!(rounds.load(Ordering::SeqCst), 1);
    }
}
