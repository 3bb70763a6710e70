//! Waking the loops as soon as they have work rather than at their next interval: on
//! PostgreSQL a listener hears what every node commits (a job queued, an answer scheduled, a
//! mailbox added, changed or removed); on both dialects a loop that knows when its next piece
//! of work falls due sleeps until then. Polling stays underneath, and is all there is on SQLite
//! or while the listener is disconnected.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::{pause, stopped};
use crate::store::{Heard, Store, StoreError, Wakeup, now_ms};

/// The pause of a loop whose work is already due once its round is over (another node holds
/// it, or it failed): soon again, without spinning.
const ALREADY_DUE_PAUSE: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(30);

/// One switch per loop that can be woken.
#[derive(Debug, Clone, Default)]
pub(super) struct Wakeups {
    jobs: Arc<Notify>,
    answers: Arc<Notify>,
    mailboxes: Arc<Notify>,
    /// The answer planning, woken by this node's watchers when they file new mail (nothing
    /// is notified between nodes for it: the node that files the mail plans it).
    planning: Arc<Notify>,
}

impl Wakeups {
    /// The switch of the loop `wakeup` is for. A wake-up while its loop runs a round is kept,
    /// so the change it announces is looked at by one more round.
    pub fn switch(&self, wakeup: Wakeup) -> &Arc<Notify> {
        match wakeup {
            Wakeup::Jobs => &self.jobs,
            Wakeup::Answers => &self.answers,
            Wakeup::Mailboxes => &self.mailboxes,
        }
    }

    pub fn planning(&self) -> &Arc<Notify> {
        &self.planning
    }

    fn wake(&self, wakeup: Wakeup) {
        self.switch(wakeup).notify_one();
    }

    fn wake_all(&self) {
        for wakeup in [Wakeup::Jobs, Wakeup::Answers, Wakeup::Mailboxes] {
            self.wake(wakeup);
        }
    }
}

/// Passes on the wake-ups the store hears until told to stop. Whenever the listener has just
/// (re)connected, every loop runs a round: what was notified while nobody listened is lost.
pub(super) async fn listen(store: Store, wakeups: Wakeups, mut stop: watch::Receiver<bool>) {
    let mut retry = FIRST_RETRY;
    loop {
        let connected = tokio::select! {
            connected = store.listen_for_wakeups() => connected,
            _ = stopped(&mut stop) => return,
        };
        let mut listener = match connected {
            Ok(Some(listener)) => listener,
            // SQLite: nothing to listen to.
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?retry, "cannot listen for wake-ups; polling meanwhile");
                if !pause(retry, &mut stop).await {
                    return;
                }
                retry = (retry * 2).min(LONGEST_RETRY);
                continue;
            }
        };
        retry = FIRST_RETRY;
        tracing::debug!("listening for wake-ups");
        wakeups.wake_all();
        loop {
            let heard = tokio::select! {
                heard = listener.next() => heard,
                _ = stopped(&mut stop) => return,
            };
            match heard {
                Ok(Heard::Wakeup(wakeup)) => wakeups.wake(wakeup),
                Ok(Heard::Reconnected) => {
                    tracing::info!("wake-up listener reconnected");
                    wakeups.wake_all();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "wake-up listener lost; polling meanwhile");
                    break;
                }
            }
        }
    }
}

/// How long a loop pauses after a round: until its next piece of work falls due (`next_due`,
/// Unix ms, as of `now`), at most `interval`, and a moment when it is already due.
fn pause_after_round(now: i64, next_due: Option<i64>, interval: Duration) -> Duration {
    match next_due {
        None => interval,
        Some(due) if due <= now => ALREADY_DUE_PAUSE,
        Some(due) => Duration::from_millis((due - now) as u64),
    }
    .min(interval)
}

/// When a round's next piece of work falls due, as it read it from the store; a store that
/// does not answer leaves the loop to its interval.
pub(super) fn next_due(read: Result<Option<i64>, StoreError>, what: &'static str) -> Option<i64> {
    read.unwrap_or_else(|e| {
        tracing::warn!(error = %e, loop_name = what, "cannot read when work falls due");
        None
    })
}

/// Runs `round` until told to stop; between rounds, pauses until the time the round returns
/// (when its next work falls due), `interval` at the most, and less when `wake` is notified.
/// A round under way always finishes.
pub(super) async fn repeat_until_due<F: Future<Output = Option<i64>>>(
    interval: Duration,
    wake: Option<Arc<Notify>>,
    mut stop: watch::Receiver<bool>,
    mut round: impl FnMut() -> F,
) {
    while !*stop.borrow() {
        let next_due = round().await;
        let pause = pause_after_round(now_ms(), next_due, interval);
        let woken = async {
            match &wake {
                Some(wake) => wake.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = woken => {}
            _ = stopped(&mut stop) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(5);

    #[test]
    fn a_loop_sleeps_until_its_next_work_falls_due() {
        let now = 1_000_000;
        assert_eq!(
            pause_after_round(now, Some(now + 2_500), INTERVAL),
            Duration::from_millis(2_500)
        );
    }

    #[test]
    fn the_interval_caps_the_pause_and_stands_in_for_an_unknown_due_time() {
        let now = 1_000_000;
        assert_eq!(
            pause_after_round(now, Some(now + 60_000), INTERVAL),
            INTERVAL
        );
        assert_eq!(pause_after_round(now, None, INTERVAL), INTERVAL);
    }

    #[test]
    fn work_already_due_after_a_round_is_looked_at_again_without_spinning() {
        let now = 1_000_000;
        assert_eq!(
            pause_after_round(now, Some(now - 10), INTERVAL),
            ALREADY_DUE_PAUSE
        );
        assert_eq!(
            pause_after_round(now, Some(now), Duration::from_millis(200)),
            Duration::from_millis(200),
            "never longer than the interval"
        );
    }

    #[tokio::test]
    async fn a_wake_up_during_a_round_brings_the_next_round_forward() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (stop, stopped) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let rounds = Arc::new(AtomicUsize::new(0));
        let (round_wake, round_count) = (Arc::clone(&wake), Arc::clone(&rounds));
        let repeating = tokio::spawn(repeat_until_due(
            Duration::from_secs(3600),
            Some(Arc::clone(&wake)),
            stopped,
            move || {
                let (wake, count) = (Arc::clone(&round_wake), Arc::clone(&round_count));
                async move {
                    // The first round is told of new work while it runs.
                    if count.fetch_add(1, Ordering::SeqCst) == 0 {
                        wake.notify_one();
                    }
                    None
                }
            },
        ));
        let second_round = async {
            while rounds.load(Ordering::SeqCst) < 2 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(1), second_round)
            .await
            .expect("the wake-up ran a second round at once, not after an hour");
        stop.send(true).unwrap();
        repeating.await.unwrap();
    }
}
