//! Short leases renewed while the work goes on (a heartbeat), and the fencing that goes with
//! them: work whose lease can no longer be confirmed is dropped before another node may take
//! it over.
//!
//! Clocks: a lease row holds `lease_until`, the holder's wall clock (Unix ms) at the renewal
//! plus the lease; other nodes compare it with their own wall clock. We assume the nodes'
//! clocks agree within [`MAX_CLOCK_SKEW`] (NTP keeps them within milliseconds). The holder
//! itself never reads the row's times: it counts on its monotonic clock from the moment it
//! *asked* for the renewal (before the database wrote it), and stops acting at
//! `asked + lease - skew margin`, before any other node can see the lease run out.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How far apart the nodes' wall clocks may be. Leases shorter than five times this (tests)
/// keep a fifth of the lease as margin instead.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(1);

/// A lease runs out `lease` after its last renewal; the holder renews it (and writes the node's
/// heartbeat) every `renew_every`, so a node that dies loses its work within `lease`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimings {
    pub lease: Duration,
    pub renew_every: Duration,
}

impl Default for LeaseTimings {
    /// Ten seconds with a renewal every three: a dead node's mailboxes move within 15 s, and
    /// two renewals may fail (a slow database) before the lease is lost.
    fn default() -> LeaseTimings {
        LeaseTimings {
            lease: Duration::from_secs(10),
            renew_every: Duration::from_secs(3),
        }
    }
}

/// Why timings were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LeaseTimingsError {
    #[error("the renewal period must be at least 100ms")]
    RenewalTooShort,
    #[error(
        "two renewals must fit in the lease, before its clock margin (e.g. lease 10s, renew_every 3s)"
    )]
    RenewalTooLong,
}

impl LeaseTimings {
    /// Checked timings: at least two renewals fit in a lease before its local deadline, so
    /// one slow or failed renewal does not lose the work.
    pub fn new(lease: Duration, renew_every: Duration) -> Result<LeaseTimings, LeaseTimingsError> {
        let timings = LeaseTimings { lease, renew_every };
        if renew_every < Duration::from_millis(100) {
            return Err(LeaseTimingsError::RenewalTooShort);
        }
        if renew_every * 2 > timings.lease - timings.clock_margin() {
            return Err(LeaseTimingsError::RenewalTooLong);
        }
        Ok(timings)
    }

    /// The lease in milliseconds, as the store writes it.
    pub fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// What the holder keeps between its local deadline and the lease's end in the database.
    fn clock_margin(&self) -> Duration {
        MAX_CLOCK_SKEW.min(self.lease / 5)
    }
}

/// Where a held lease stands on this node's monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseClock {
    timings: LeaseTimings,
    /// When the last successful renewal (or the taking) was asked for.
    confirmed_at: Instant,
}

impl LeaseClock {
    /// A lease taken by a request sent at `asked_at`.
    pub fn taken(timings: LeaseTimings, asked_at: Instant) -> LeaseClock {
        LeaseClock {
            timings,
            confirmed_at: asked_at,
        }
    }

    /// A renewal asked for at `asked_at` succeeded.
    pub fn renewed(&mut self, asked_at: Instant) {
        self.confirmed_at = self.confirmed_at.max(asked_at);
    }

    /// When to renew next after a success.
    pub fn next_renewal(&self) -> Instant {
        self.confirmed_at + self.timings.renew_every
    }

    /// When to try again after a renewal that failed at `now` (the database did not answer):
    /// soon, and never past the deadline.
    pub fn retry_at(&self, now: Instant) -> Instant {
        (now + self.timings.renew_every / 3).min(self.deadline())
    }

    /// From then on another node may find the lease run out: this node must not act on it.
    pub fn deadline(&self) -> Instant {
        self.confirmed_at + self.timings.lease - self.timings.clock_margin()
    }

    pub fn passed(&self, now: Instant) -> bool {
        now >= self.deadline()
    }
}

/// Why work was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseLost {
    /// The store said the lease is another's.
    TakenOver,
    /// No renewal was confirmed before the local deadline (database unreachable or slow).
    Unconfirmed,
}

/// Runs `work` while renewing its lease (taken by a request sent at `taken_at`) with `renew`,
/// which answers whether the lease is still this node's. When a renewal says no, or none is
/// confirmed before the local deadline, `work` is dropped at once (closing what it holds open)
/// and the loss is returned: nothing `work` would do afterwards happens.
pub async fn while_held<T, E, R>(
    timings: LeaseTimings,
    taken_at: Instant,
    mut renew: impl FnMut() -> R,
    work: impl Future<Output = T>,
) -> Result<T, LeaseLost>
where
    R: Future<Output = Result<bool, E>>,
    E: std::fmt::Display,
{
    let keep = async {
        let mut clock = LeaseClock::taken(timings, taken_at);
        let mut next = clock.next_renewal();
        loop {
            tokio::time::sleep_until(next).await;
            let asked = Instant::now();
            if clock.passed(asked) {
                return LeaseLost::Unconfirmed;
            }
            match tokio::time::timeout_at(clock.deadline(), renew()).await {
                Ok(Ok(true)) => {
                    clock.renewed(asked);
                    next = clock.next_renewal();
                }
                Ok(Ok(false)) => return LeaseLost::TakenOver,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "lease not renewed; trying again");
                    next = clock.retry_at(Instant::now());
                }
                Err(_) => return LeaseLost::Unconfirmed,
            }
        }
    };
    tokio::select! {
        biased;
        done = work => Ok(done),
        lost = keep => Err(lost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn default_timings_are_valid_and_two_renewals_fit_before_the_deadline() {
        let timings = LeaseTimings::default();
        assert_eq!(LeaseTimings::new(secs(10), secs(3)), Ok(timings));
        let start = Instant::now();
        let clock = LeaseClock::taken(timings, start);
        assert_eq!(clock.next_renewal(), start + secs(3));
        // A second off for the clocks: the holder stops at 9 s, others take over after 10 s.
        assert_eq!(clock.deadline(), start + secs(9));
        assert!(clock.next_renewal() + timings.renew_every < clock.deadline());
    }

    #[test]
    fn renewal_periods_near_the_lease_are_refused() {
        assert_eq!(
            LeaseTimings::new(secs(10), secs(5)),
            Err(LeaseTimingsError::RenewalTooLong)
        );
        assert_eq!(
            LeaseTimings::new(secs(10), Duration::from_millis(50)),
            Err(LeaseTimingsError::RenewalTooShort)
        );
        // Short test leases keep a fifth as margin.
        let short = LeaseTimings::new(secs(1), Duration::from_millis(250)).unwrap();
        let start = Instant::now();
        assert_eq!(
            LeaseClock::taken(short, start).deadline(),
            start + Duration::from_millis(800)
        );
    }

    #[test]
    fn the_deadline_counts_from_the_last_renewal_asked_for_not_answered() {
        let timings = LeaseTimings::default();
        let start = Instant::now();
        let mut clock = LeaseClock::taken(timings, start);
        clock.renewed(start + secs(3));
        assert_eq!(clock.deadline(), start + secs(12));
        assert!(!clock.passed(start + Duration::from_millis(11_999)));
        assert!(clock.passed(start + secs(12)));
        // A late answer to an older request does not move the deadline back.
        clock.renewed(start + secs(1));
        assert_eq!(clock.deadline(), start + secs(12));
    }

    #[test]
    fn a_failed_renewal_is_retried_soon_but_never_past_the_deadline() {
        let timings = LeaseTimings::default();
        let start = Instant::now();
        let clock = LeaseClock::taken(timings, start);
        assert_eq!(clock.retry_at(start + secs(3)), start + secs(4));
        assert_eq!(
            clock.retry_at(start + Duration::from_millis(8_500)),
            start + secs(9)
        );
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Half a second renewed every 100 ms: the local deadline is at 400 ms.
    fn quick() -> LeaseTimings {
        LeaseTimings::new(ms(500), ms(100)).unwrap()
    }

    #[tokio::test]
    async fn work_outlives_its_lease_while_renewals_succeed() {
        let renewals = std::cell::Cell::new(0);
        let done = while_held(
            quick(),
            Instant::now(),
            || {
                renewals.set(renewals.get() + 1);
                async { Ok::<_, String>(true) }
            },
            async {
                tokio::time::sleep(ms(1_250)).await;
                "done"
            },
        )
        .await;
        assert_eq!(done, Ok("done"));
        assert!(renewals.get() >= 10, "{} renewals", renewals.get());
    }

    #[tokio::test]
    async fn work_is_dropped_when_the_lease_is_taken_over() {
        let start = Instant::now();
        let lost = while_held(
            quick(),
            start,
            || async { Ok::<_, String>(false) },
            std::future::pending::<()>(),
        )
        .await;
        assert_eq!(lost, Err(LeaseLost::TakenOver));
        assert!(start.elapsed() < ms(200), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn work_is_dropped_by_the_deadline_when_the_database_does_not_answer() {
        for failing_renewal in [true, false] {
            let start = Instant::now();
            let lost = while_held(
                quick(),
                start,
                || async move {
                    if failing_renewal {
                        Err::<bool, _>("connection refused")
                    } else {
                        std::future::pending().await
                    }
                },
                std::future::pending::<()>(),
            )
            .await;
            assert_eq!(lost, Err(LeaseLost::Unconfirmed));
            let took = start.elapsed();
            assert!(took >= ms(400) && took < ms(480), "{took:?}");
        }
    }
}
