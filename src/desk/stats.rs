//! A shop's statistics over a period of its calendar days: volumes per day, the share answered
//! automatically, response and resolution times, reopens, who and what the work was about, the
//! busiest hours, this month's quota and what shadow mode would have sent.
//!
//! The store counts per quarter hour in SQL; placing those counts in the shop's days and hours
//! (whatever its zone and its summer time) and the medians are the pure functions below.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::model::{ReplyKind, Status};
use crate::replies::quota::{month_key, month_start_ms};
use crate::replies::{Plan, PlanName};
use crate::store::{
    Counted, EmployeeActivity, GroupCount, GroupedBy, QUARTER_MS, QuarterCount, ShadowDraft, Shop,
    StatusEntry, TimedStatus,
};

use super::{Desk, DeskError, DeskResult};

/// The longest period one page computes.
pub const MAX_PERIOD_DAYS: i32 = 366;
/// The period shown when none is asked for.
pub const DEFAULT_PERIOD_DAYS: i32 = 30;
/// Shadow drafts listed in the report.
pub const SHADOW_DRAFTS_SHOWN: i64 = 20;

const HOUR_MS: i64 = 3_600_000;

/// Whole days [from, to) of a shop's calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub from: Date,
    /// The first day after the period.
    pub to: Date,
    zone: TimeZone,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A period that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("bad date {0}")]
    BadDate(String),
    #[error("the period ends before it starts")]
    Empty,
    #[error("the period is longer than {MAX_PERIOD_DAYS} days")]
    TooLong,
}

/// The period error for a person, in their language.
pub fn explain_period_error(error: &PeriodError, lang: crate::model::UiLang) -> String {
    match error {
        PeriodError::BadDate(text) => crate::t!(lang, "stats.bad_date", date = text),
        PeriodError::Empty => crate::t!(lang, "stats.empty_period").into(),
        PeriodError::TooLong => crate::t!(lang, "stats.period_too_long", days = MAX_PERIOD_DAYS),
    }
}

impl Period {
    /// The days [from, to) in `time_zone` (UTC when unknown).
    pub fn new(from: Date, to: Date, time_zone: &str) -> Result<Period, PeriodError> {
        let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
        if to <= from {
            return Err(PeriodError::Empty);
        }
        let days = from.until(to).map_or(i32::MAX, |span| span.get_days());
        if days > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        let start = |date: Date| {
            date.to_zoned(zone.clone())
                .map(|z| z.timestamp().as_millisecond())
                .map_err(|_| PeriodError::BadDate(date.to_string()))
        };
        Ok(Period {
            from_ms: start(from)?,
            to_ms: start(to)?,
            from,
            to,
            zone,
        })
    }

    /// From the texts of a request (`YYYY-MM-DD`, `to` excluded); a missing end is tomorrow,
    /// a missing start [`DEFAULT_PERIOD_DAYS`] before the end.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now_ms: i64,
        time_zone: &str,
    ) -> Result<Period, PeriodError> {
        let date = |text: &str| {
            text.trim()
                .parse::<Date>()
                .map_err(|_| PeriodError::BadDate(text.to_string()))
        };
        let blank =
            |text: Option<&'_ str>| text.filter(|t| !t.trim().is_empty()).map(str::to_string);
        let to = match blank(to).as_deref() {
            Some(text) => date(text)?,
            None => today(now_ms, time_zone).tomorrow().unwrap_or(Date::MAX),
        };
        let from = match blank(from).as_deref() {
            Some(text) => date(text)?,
            None => to
                .checked_sub(DEFAULT_PERIOD_DAYS.days())
                .map_err(|_| PeriodError::BadDate(to.to_string()))?,
        };
        Period::new(from, to, time_zone)
    }

    /// Every day of the period, in order.
    pub fn days(&self) -> Vec<Date> {
        let mut days = Vec::new();
        let mut day = self.from;
        while day < self.to {
            days.push(day);
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }

    /// The last day of the period (the day before `to`).
    pub fn last_day(&self) -> Date {
        self.to.yesterday().unwrap_or(self.from)
    }

    fn local(&self, ms: i64) -> Option<jiff::Zoned> {
        Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned(self.zone.clone()))
    }
}

/// The shop's date today.
pub fn today(now_ms: i64, time_zone: &str) -> Date {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    Timestamp::from_millisecond(now_ms)
        .map(|t| t.to_zoned(zone).date())
        .unwrap_or(Date::MIN)
}

/// Counts per day of the period, from counts per quarter hour.
pub fn per_day(period: &Period, quarters: &[QuarterCount]) -> Vec<u64> {
    let days = period.days();
    let mut counts = vec![0u64; days.len()];
    for quarter in quarters {
        let Some(local) = period.local(quarter.quarter.saturating_mul(QUARTER_MS)) else {
            continue;
        };
        if let Ok(index) = days.binary_search(&local.date()) {
            counts[index] += quarter.count.max(0) as u64;
        }
    }
    counts
}

/// Customer messages per weekday (Monday first) and local hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeekGrid(pub [[u64; 24]; 7]);

impl WeekGrid {
    pub fn max(&self) -> u64 {
        self.0.iter().flatten().copied().max().unwrap_or(0)
    }

    /// The busiest slot: (weekday from Monday = 0, hour, count), None when all are empty.
    pub fn busiest(&self) -> Option<(usize, usize, u64)> {
        let mut best = None;
        for (day, hours) in self.0.iter().enumerate() {
            for (hour, &count) in hours.iter().enumerate() {
                if count > 0 && best.is_none_or(|(_, _, n)| count > n) {
                    best = Some((day, hour, count));
                }
            }
        }
        best
    }
}

/// Places counts per quarter hour on the shop's weekdays and hours.
pub fn week_grid(period: &Period, quarters: &[QuarterCount]) -> WeekGrid {
    let mut grid = [[0u64; 24]; 7];
    for quarter in quarters {
        if let Some(local) = period.local(quarter.quarter.saturating_mul(QUARTER_MS)) {
            let day = local.weekday().to_monday_zero_offset() as usize;
            let hour = local.hour().clamp(0, 23) as usize;
            grid[day][hour] += quarter.count.max(0) as u64;
        }
    }
    WeekGrid(grid)
}

/// The ranges durations are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationBucket {
    UnderOneHour,
    OneToFourHours,
    FourToTwentyFourHours,
    OneToThreeDays,
    OverThreeDays,
}

impl DurationBucket {
    pub const ALL: [DurationBucket; 5] = [
        DurationBucket::UnderOneHour,
        DurationBucket::OneToFourHours,
        DurationBucket::FourToTwentyFourHours,
        DurationBucket::OneToThreeDays,
        DurationBucket::OverThreeDays,
    ];

    /// The bucket of a duration; each holds its lower bound.
    pub fn of(duration_ms: i64) -> DurationBucket {
        match duration_ms {
            d if d < HOUR_MS => DurationBucket::UnderOneHour,
            d if d < 4 * HOUR_MS => DurationBucket::OneToFourHours,
            d if d < 24 * HOUR_MS => DurationBucket::FourToTwentyFourHours,
            d if d < 72 * HOUR_MS => DurationBucket::OneToThreeDays,
            _ => DurationBucket::OverThreeDays,
        }
    }

    /// Its catalogue key, for labels.
    pub fn key(self) -> &'static str {
        match self {
            DurationBucket::UnderOneHour => "stats.bucket_under_1h",
            DurationBucket::OneToFourHours => "stats.bucket_1_4h",
            DurationBucket::FourToTwentyFourHours => "stats.bucket_4_24h",
            DurationBucket::OneToThreeDays => "stats.bucket_1_3d",
            DurationBucket::OverThreeDays => "stats.bucket_over_3d",
        }
    }
}

/// The value at or below which `p` percent of `sorted` lie (nearest rank); None when empty.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.min(100) as usize;
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A set of durations: how many, their median and 90th percentile, and their distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    /// Counts per [`DurationBucket::ALL`].
    pub histogram: [u64; 5],
}

impl Durations {
    /// Negative durations (clocks that disagree) count as zero.
    pub fn of(mut durations: Vec<i64>) -> Durations {
        for d in durations.iter_mut() {
            *d = (*d).max(0);
        }
        durations.sort_unstable();
        let mut histogram = [0u64; 5];
        for &d in &durations {
            let bucket = DurationBucket::of(d);
            if let Some(i) = DurationBucket::ALL.iter().position(|b| *b == bucket) {
                histogram[i] += 1;
            }
        }
        Durations {
            count: durations.len(),
            median_ms: percentile(&durations, 50),
            p90_ms: percentile(&durations, 90),
            histogram,
        }
    }
}

/// Tickets closed at some time in the period and those of them reopened in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Reopens {
    pub closed: u64,
    pub reopened: u64,
}

impl Reopens {
    /// The reopen rate in percent, None when nothing was closed.
    pub fn percent(&self) -> Option<f64> {
        (self.closed > 0).then(|| self.reopened as f64 * 100.0 / self.closed as f64)
    }
}

/// Reads the status histories (sorted by ticket and time): a ticket counts as closed when it
/// was closed at the start of the period or got closed in it, and as reopened when a status
/// change took it out of `closed` or a customer message arrived while it was closed.
pub fn reopens(history: &[TimedStatus], from_ms: i64, to_ms: i64) -> Reopens {
    let mut result = Reopens::default();
    let mut i = 0;
    while i < history.len() {
        let ticket = history[i].ticket_id;
        let (mut closed, mut was_closed, mut reopened) = (false, false, false);
        let mut checked_start = false;
        while i < history.len() && history[i].ticket_id == ticket {
            let entry = &history[i];
            i += 1;
            if entry.at >= to_ms {
                continue;
            }
            if entry.at >= from_ms && !checked_start {
                checked_start = true;
                was_closed |= closed;
            }
            let in_period = entry.at >= from_ms;
            match entry.entry {
                StatusEntry::Changed { to, .. } => {
                    if closed && to != Status::Closed && in_period {
                        reopened = true;
                    }
                    closed = to == Status::Closed;
                    was_closed |= closed && in_period;
                }
                StatusEntry::CustomerMessage => {
                    if closed && in_period {
                        reopened = true;
                        closed = false;
                    }
                }
            }
        }
        if !checked_start {
            // Nothing in the period: closed throughout it, or not at all.
            was_closed |= closed;
        }
        if was_closed {
            result.closed += 1;
            result.reopened += reopened as u64;
        }
    }
    result
}

/// One day of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub date: String,
    pub tickets: u64,
    pub customer_messages: u64,
    pub replies: u64,
}

/// This month's automatic answers against the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaUse {
    /// `2026-11`, in the shop's zone.
    pub month: String,
    pub plan: PlanName,
    pub used: u64,
    /// None: unlimited.
    pub limit: Option<u32>,
}

impl QuotaUse {
    pub fn percent(&self) -> Option<f64> {
        self.limit
            .map(|limit| self.used as f64 * 100.0 / f64::from(limit.max(1)))
    }
}

/// What shadow mode would have sent in the period, per intent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ShadowIntent {
    pub answers: u64,
    pub asks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowReport {
    pub customer_messages: u64,
    pub would_answer: u64,
    pub would_ask: u64,
    /// Keyed by intent ("" for none).
    pub by_intent: BTreeMap<String, ShadowIntent>,
    /// The latest drafts, newest first.
    pub drafts: Vec<ShadowDraft>,
}

/// Everything the statistics page shows. Field names are a stable interface (the API's JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub from: String,
    /// The first day after the period.
    pub to: String,
    pub time_zone: String,
    pub days: Vec<DayCounts>,
    pub tickets: u64,
    pub customer_messages: u64,
    pub replies: u64,
    /// Customer messages answered automatically (answers and requests actually sent).
    pub answered_automatically: u64,
    pub first_response: Durations,
    pub resolution: Durations,
    pub reopens: Reopens,
    pub by_contact: Vec<GroupCount>,
    pub by_intent: Vec<GroupCount>,
    pub by_employee: Vec<EmployeeActivity>,
    pub busiest: WeekGrid,
    pub quota: QuotaUse,
    pub shadow: ShadowReport,
}

impl Stats {
    /// Percent of the customer messages answered automatically, None without messages.
    pub fn automatic_percent(&self) -> Option<f64> {
        (self.customer_messages > 0)
            .then(|| self.answered_automatically as f64 * 100.0 / self.customer_messages as f64)
    }
}

impl From<PeriodError> for DeskError {
    fn from(error: PeriodError) -> Self {
        DeskError::Period(error)
    }
}

impl Desk {
    /// The statistics of `shop` over `period`; `now_ms` places "this month" of the quota.
    pub async fn stats(&self, shop: &Shop, period: &Period, now_ms: i64) -> DeskResult<Stats> {
        let store = &self.store;
        let (from, to) = (period.from_ms, period.to_ms);
        let tickets = store
            .stats_quarter_counts(shop.id, Counted::Tickets, from, to)
            .await?;
        let incoming = store
            .stats_quarter_counts(shop.id, Counted::CustomerMessages, from, to)
            .await?;
        let outgoing = store
            .stats_quarter_counts(shop.id, Counted::Replies, from, to)
            .await?;
        let (ticket_days, incoming_days, outgoing_days) = (
            per_day(period, &tickets),
            per_day(period, &incoming),
            per_day(period, &outgoing),
        );
        let days: Vec<DayCounts> = period
            .days()
            .iter()
            .enumerate()
            .map(|(i, date)| DayCounts {
                date: date.to_string(),
                tickets: ticket_days[i],
                customer_messages: incoming_days[i],
                replies: outgoing_days[i],
            })
            .collect();
        let (customer_messages, automatic) = store.stats_automatic_share(shop.id, from, to).await?;
        let times = store.stats_ticket_times(shop.id, from, to).await?;
        let first_response = Durations::of(
            times
                .iter()
                .filter_map(|t| t.first_response_at.map(|at| at - t.created_at))
                .collect(),
        );
        let resolution = Durations::of(
            times
                .iter()
                .filter_map(|t| t.closed_at.map(|at| at - t.created_at))
                .collect(),
        );
        let history = store.stats_status_history(shop.id, from, to).await?;
        let settings = store.reply_settings(shop.id).await?;
        let plan = Plan::new(
            settings.plan,
            settings
                .plan_quota
                .map(|q| q.clamp(0, u32::MAX as i64) as u32),
            settings.trial_until,
        )
        .ok();
        let month_start = month_start_ms(now_ms, &settings.time_zone);
        let quota = QuotaUse {
            month: month_key(now_ms, &settings.time_zone),
            plan: settings.plan,
            used: store.auto_replies_since(shop.id, month_start).await?.max(0) as u64,
            limit: plan.and_then(|plan| plan.monthly_quota()),
        };
        let (shadow_counts, drafts) = store
            .stats_shadow(shop.id, from, to, SHADOW_DRAFTS_SHOWN)
            .await?;
        let mut shadow = ShadowReport {
            customer_messages: customer_messages.max(0) as u64,
            would_answer: 0,
            would_ask: 0,
            by_intent: BTreeMap::new(),
            drafts,
        };
        for count in shadow_counts {
            let entry = shadow
                .by_intent
                .entry(count.intent.unwrap_or_default())
                .or_default();
            let n = count.count.max(0) as u64;
            match count.kind {
                ReplyKind::Ask => {
                    entry.asks += n;
                    shadow.would_ask += n;
                }
                _ => {
                    entry.answers += n;
                    shadow.would_answer += n;
                }
            }
        }
        Ok(Stats {
            from: period.from.to_string(),
            to: period.to.to_string(),
            time_zone: settings.time_zone.clone(),
            tickets: ticket_days.iter().sum(),
            customer_messages: customer_messages.max(0) as u64,
            replies: outgoing_days.iter().sum(),
            days,
            answered_automatically: automatic.max(0) as u64,
            first_response,
            resolution,
            reopens: reopens(&history, from, to),
            by_contact: store
                .stats_groups(shop.id, GroupedBy::Contact, from, to)
                .await?,
            by_intent: store
                .stats_groups(shop.id, GroupedBy::Intent, from, to)
                .await?,
            by_employee: store.stats_employees(shop.id, from, to).await?,
            busiest: week_grid(period, &incoming),
            quota,
            shadow,
        })
    }

    /// The period `from`/`to` (texts of a request) mean for `shop`, in its zone.
    pub async fn stats_period(
        &self,
        shop: &Shop,
        from: Option<&str>,
        to: Option<&str>,
        now_ms: i64,
    ) -> DeskResult<Period> {
        let zone = self.store.reply_settings(shop.id).await?.time_zone;
        Ok(Period::parse(from, to, now_ms, &zone)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn quarter(rfc3339: &str, count: i64) -> QuarterCount {
        QuarterCount {
            quarter: ms(rfc3339).div_euclid(QUARTER_MS),
            count,
        }
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 50), Some(5));
        assert_eq!(percentile(&ten, 90), Some(9));
        assert_eq!(percentile(&ten, 100), Some(10));
        assert_eq!(percentile(&ten, 0), Some(1));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 90), Some(90));
    }

    #[test]
    fn durations_fall_in_their_buckets() {
        let h = HOUR_MS;
        assert_eq!(DurationBucket::of(0), DurationBucket::UnderOneHour);
        assert_eq!(DurationBucket::of(h - 1), DurationBucket::UnderOneHour);
        assert_eq!(DurationBucket::of(h), DurationBucket::OneToFourHours);
        assert_eq!(
            DurationBucket::of(4 * h),
            DurationBucket::FourToTwentyFourHours
        );
        assert_eq!(DurationBucket::of(24 * h), DurationBucket::OneToThreeDays);
        assert_eq!(DurationBucket::of(72 * h), DurationBucket::OverThreeDays);
        let set = Durations::of(vec![30 * 60_000, 2 * h, 3 * h, 30 * h, 100 * h, -5]);
        assert_eq!(set.count, 6);
        assert_eq!(set.histogram, [2, 2, 0, 1, 1]);
        assert_eq!(set.median_ms, Some(2 * h));
        assert_eq!(set.p90_ms, Some(100 * h));
        let none = Durations::of(Vec::new());
        assert_eq!((none.count, none.median_ms, none.p90_ms), (0, None, None));
        assert_eq!(none.histogram, [0; 5]);
    }

    #[test]
    fn days_follow_the_shops_calendar_across_summer_time() {
        // Paris leaves summer time on Sunday 25 October 2026: that day has 25 hours.
        let period = Period::new(date(2026, 10, 24), date(2026, 10, 27), "Europe/Paris").unwrap();
        assert_eq!(period.from_ms, ms("2026-10-23T22:00:00Z"));
        assert_eq!(period.to_ms, ms("2026-10-26T23:00:00Z"));
        assert_eq!(period.days().len(), 3);
        assert_eq!(period.last_day(), date(2026, 10, 26));
        let counts = per_day(
            &period,
            &[
                // 23:45 UTC on the 23rd is already the 24th in Paris.
                quarter("2026-10-23T22:15:00Z", 2),
                // 23:30 UTC on the 25th is 00:30 on the 26th (winter time, +1).
                quarter("2026-10-25T23:30:00Z", 3),
                quarter("2026-10-25T22:30:00Z", 1),
                // Outside the period.
                quarter("2026-10-26T23:00:00Z", 9),
            ],
        );
        assert_eq!(counts, vec![2, 1, 3]);
    }

    #[test]
    fn zones_with_half_hours_are_placed_exactly() {
        let period = Period::new(date(2026, 11, 2), date(2026, 11, 3), "Asia/Kolkata").unwrap();
        // 18:30 UTC is midnight in India (+05:30): Tuesday 3 November, outside.
        let counts = per_day(
            &period,
            &[
                quarter("2026-11-02T18:15:00Z", 4),
                quarter("2026-11-02T18:30:00Z", 5),
            ],
        );
        assert_eq!(counts, vec![4]);
        let grid = week_grid(&period, &[quarter("2026-11-02T18:15:00Z", 4)]);
        // Monday 23:45 in Kolkata.
        assert_eq!(grid.0[0][23], 4);
        assert_eq!(grid.busiest(), Some((0, 23, 4)));
        assert_eq!(grid.max(), 4);
    }

    #[test]
    fn the_week_grid_is_monday_first_in_local_hours() {
        let period = Period::new(date(2026, 11, 1), date(2026, 12, 1), "Europe/Paris").unwrap();
        let grid = week_grid(
            &period,
            &[
                // Sunday 1 November 10:00 UTC = 11:00 Paris.
                quarter("2026-11-01T10:00:00Z", 2),
                // Monday 2 November 08:45 UTC = 09:45 Paris.
                quarter("2026-11-02T08:45:00Z", 1),
                quarter("2026-11-09T08:00:00Z", 4),
            ],
        );
        assert_eq!(grid.0[6][11], 2);
        assert_eq!(grid.0[0][9], 5);
        assert_eq!(grid.0.iter().flatten().sum::<u64>(), 7);
        assert_eq!(grid.busiest(), Some((0, 9, 5)));
        assert_eq!(WeekGrid([[0; 24]; 7]).busiest(), None);
    }

    #[test]
    fn periods_are_parsed_defaulted_and_bounded() {
        let now = ms("2026-12-03T11:00:00Z");
        let period = Period::parse(None, None, now, "Europe/Paris").unwrap();
        assert_eq!(
            (period.from, period.to),
            (date(2026, 11, 4), date(2026, 12, 4))
        );
        assert_eq!(period.days().len(), 30);
        let period = Period::parse(Some("2026-11-01"), Some(""), now, "UTC").unwrap();
        assert_eq!(period.to, date(2026, 12, 4));
        assert_eq!(
            Period::parse(Some("2026-11-05"), Some("2026-11-05"), now, "UTC"),
            Err(PeriodError::Empty)
        );
        assert_eq!(
            Period::parse(Some("yesterday"), None, now, "UTC"),
            Err(PeriodError::BadDate("yesterday".into()))
        );
        assert_eq!(
            Period::parse(Some("2020-01-01"), Some("2026-01-01"), now, "UTC"),
            Err(PeriodError::TooLong)
        );
        assert!(Period::parse(Some("2025-01-01"), Some("2026-01-01"), now, "UTC").is_ok());
        assert_eq!(today(now, "Pacific/Kiritimati"), date(2026, 12, 4));
    }

    fn change(ticket_id: i64, at: i64, from: Status, to: Status) -> TimedStatus {
        TimedStatus {
            ticket_id,
            at,
            entry: StatusEntry::Changed {
                from: Some(from),
                to,
            },
        }
    }

    fn message(ticket_id: i64, at: i64) -> TimedStatus {
        TimedStatus {
            ticket_id,
            at,
            entry: StatusEntry::CustomerMessage,
        }
    }

    #[test]
    fn reopens_count_status_changes_and_customer_messages_on_closed_tickets() {
        use Status::*;
        let (from, to) = (100, 200);
        let history = vec![
            // 1: closed in the period, reopened by an employee.
            change(1, 110, Open, Closed),
            change(1, 120, Closed, Open),
            // 2: closed before the period, the customer wrote in it.
            change(2, 50, Open, Closed),
            message(2, 150),
            // 3: closed in the period and stayed closed; a message before the close.
            message(3, 105),
            change(3, 130, Open, Closed),
            // 4: closed before, nothing in the period: closed throughout, not reopened.
            change(4, 10, Open, Closed),
            // 5: reopened only after the period.
            change(5, 150, Open, Closed),
            change(5, 250, Closed, Open),
            // 6: never closed.
            change(6, 150, Open, Pending1),
            // 7: threading reopened it and the event followed: one reopen.
            change(7, 110, Open, Closed),
            message(7, 140),
            change(7, 140, Closed, Open),
        ];
        let counted = reopens(&history, from, to);
        assert_eq!(
            counted,
            Reopens {
                closed: 6,
                reopened: 3
            }
        );
        assert_eq!(counted.percent(), Some(50.0));
        assert_eq!(reopens(&[], from, to).percent(), None);
    }
}
