//! How many automatic answers a shop's plan allows, per calendar month in the shop's zone.
//!
//! Only answers actually sent count (not shadow-mode decisions, not hand-overs). When a trial
//! ends, automatic answers stop until a plan is chosen: quietly falling back to a smaller plan
//! would change what customers receive without anyone deciding it, while stopping is visible
//! (every ticket then says why it waits) and costs nothing that an employee cannot pick up.

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::UiLang;
use crate::t;

/// Automatic answers per month of the Basic plan.
pub const BASIC_MONTHLY: u32 = 150;
/// Automatic answers per month of the Plus plan.
pub const PLUS_MONTHLY: u32 = 1000;

/// A shop's subscription, as far as automatic answers are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum Plan {
    Basic,
    Plus,
    /// Negotiated; `monthly: None` is unlimited.
    Custom {
        monthly: Option<u32>,
    },
    /// Unlimited until `until_ms`; after that no automatic answer until a plan is chosen.
    Trial {
        until_ms: i64,
    },
}

/// A plan by name, as the `plan` column, `--plan` and JSON spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PlanName {
    Basic,
    Plus,
    Custom,
    Trial,
}

crate::serde_names!(PlanName);

/// A plan setting that could not be read; shown in English by `Display` (logs).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    TrialWithoutEnd,
}

impl PlanError {
    /// The error for a person, in their language.
    pub fn explain(&self, lang: UiLang) -> String {
        match self {
            PlanError::TrialWithoutEnd => t!(lang, "quota.trial_without_end").to_string(),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain(UiLang::En))
    }
}

impl Plan {
    /// The plan of a name with the settings the last two need: the custom monthly quota
    /// (None: unlimited) and the trial's end.
    pub fn new(
        name: PlanName,
        custom_monthly: Option<u32>,
        trial_until_ms: Option<i64>,
    ) -> Result<Plan, PlanError> {
        match name {
            PlanName::Basic => Ok(Plan::Basic),
            PlanName::Plus => Ok(Plan::Plus),
            PlanName::Custom => Ok(Plan::Custom {
                monthly: custom_monthly,
            }),
            PlanName::Trial => trial_until_ms
                .map(|until_ms| Plan::Trial { until_ms })
                .ok_or(PlanError::TrialWithoutEnd),
        }
    }

    pub fn name(&self) -> PlanName {
        match self {
            Plan::Basic => PlanName::Basic,
            Plan::Plus => PlanName::Plus,
            Plan::Custom { .. } => PlanName::Custom,
            Plan::Trial { .. } => PlanName::Trial,
        }
    }

    /// Automatic answers allowed per month; None is unlimited (a running trial, an unlimited
    /// custom plan). After a trial ends see [`quota_state`].
    pub fn monthly_quota(&self) -> Option<u32> {
        match self {
            Plan::Basic => Some(BASIC_MONTHLY),
            Plan::Plus => Some(PLUS_MONTHLY),
            Plan::Custom { monthly } => *monthly,
            Plan::Trial { .. } => None,
        }
    }

    /// Whether the shop may brand its answers fully (no "Sent with Guichet" mention): Plus,
    /// Custom, and a trial, so a shop tries what it would buy.
    pub fn advanced_branding(&self) -> bool {
        !matches!(self, Plan::Basic)
    }
}

/// Whether an automatic answer may go out under the plan now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum QuotaState {
    /// `left: None` is unlimited.
    Available {
        left: Option<u32>,
    },
    Spent,
    TrialOver,
}

/// The plan's state given the automatic answers sent since [`month_start_ms`].
pub fn quota_state(plan: &Plan, sent_this_month: u32, now_ms: i64) -> QuotaState {
    if let Plan::Trial { until_ms } = plan
        && now_ms >= *until_ms
    {
        return QuotaState::TrialOver;
    }
    match plan.monthly_quota() {
        None => QuotaState::Available { left: None },
        Some(limit) if sent_this_month >= limit => QuotaState::Spent,
        Some(limit) => QuotaState::Available {
            left: Some(limit - sent_this_month),
        },
    }
}

/// The start of the calendar month containing `now_ms`, at midnight in `time_zone` (the
/// shop's), as Unix milliseconds. An unknown zone counts in UTC; a time outside the calendar
/// jiff handles gives `now_ms` itself.
pub fn month_start_ms(now_ms: i64, time_zone: &str) -> i64 {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    let Ok(now) = Timestamp::from_millisecond(now_ms) else {
        return now_ms;
    };
    let local: Zoned = now.to_zoned(zone.clone());
    let first = Date::new(local.year(), local.month(), 1)
        .ok()
        .and_then(|date| date.to_zoned(zone).ok());
    match first {
        // `to_zoned` on a date gives its first instant, even where midnight is skipped.
        Some(first) => first.timestamp().as_millisecond(),
        None => now_ms,
    }
}

/// The calendar month of `now_ms` in `time_zone`, as `2026-11`: a shop is told once per month
/// that its quota is spent.
pub fn month_key(now_ms: i64, time_zone: &str) -> String {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    match Timestamp::from_millisecond(now_ms) {
        Ok(now) => {
            let local = now.to_zoned(zone);
            format!("{:04}-{:02}", local.year(), local.month())
        }
        Err(_) => "0000-00".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UnknownName;

    #[test]
    fn month_keys_follow_the_shops_zone() {
        // 31 Oct 23:30 UTC is already November in Paris.
        assert_eq!(
            month_key(ms("2026-10-31T23:30:00Z"), "Europe/Paris"),
            "2026-11"
        );
        assert_eq!(month_key(ms("2026-10-31T23:30:00Z"), "UTC"), "2026-10");
    }

    fn ms(rfc3339: &str) -> i64 {
        rfc3339
            .parse::<Timestamp>()
            .expect("test timestamp")
            .as_millisecond()
    }

    #[test]
    fn plans_have_their_quotas_and_branding() {
        assert_eq!(Plan::Basic.monthly_quota(), Some(150));
        assert_eq!(Plan::Plus.monthly_quota(), Some(1000));
        assert_eq!(
            Plan::Custom {
                monthly: Some(5000)
            }
            .monthly_quota(),
            Some(5000)
        );
        assert_eq!(Plan::Custom { monthly: None }.monthly_quota(), None);
        assert_eq!(Plan::Trial { until_ms: 0 }.monthly_quota(), None);
        assert!(!Plan::Basic.advanced_branding());
        assert!(Plan::Plus.advanced_branding());
        assert!(Plan::Custom { monthly: None }.advanced_branding());
        assert!(Plan::Trial { until_ms: 0 }.advanced_branding());
    }

    #[test]
    fn plans_come_from_their_names() {
        let plan = |name: &str, monthly, until| {
            let name: PlanName = name.parse().map_err(|e: UnknownName| e.to_string())?;
            Plan::new(name, monthly, until).map_err(|e| e.to_string())
        };
        assert_eq!(plan("basic", None, None), Ok(Plan::Basic));
        assert_eq!(plan(" PLUS ", None, None), Ok(Plan::Plus));
        assert_eq!(
            plan("custom", Some(300), None),
            Ok(Plan::Custom { monthly: Some(300) })
        );
        assert_eq!(
            plan("trial", None, Some(99)),
            Ok(Plan::Trial { until_ms: 99 })
        );
        assert_eq!(
            Plan::new(PlanName::Trial, None, None),
            Err(PlanError::TrialWithoutEnd)
        );
        assert_eq!(
            plan("gold", None, None),
            Err("unknown value \"gold\"".into())
        );
        assert!(
            PlanError::TrialWithoutEnd
                .explain(UiLang::Fr)
                .contains("date de fin")
        );
        for plan in [
            Plan::Basic,
            Plan::Plus,
            Plan::Custom { monthly: Some(1) },
            Plan::Trial { until_ms: 5 },
        ] {
            assert_eq!(Plan::new(plan.name(), Some(1), Some(5)), Ok(plan));
            assert_eq!(plan.name().to_string().parse(), Ok(plan.name()));
        }
    }

    #[test]
    fn quota_counts_down_then_is_spent() {
        assert_eq!(
            quota_state(&Plan::Basic, 0, 0),
            QuotaState::Available { left: Some(150) }
        );
        assert_eq!(
            quota_state(&Plan::Basic, 149, 0),
            QuotaState::Available { left: Some(1) }
        );
        assert_eq!(quota_state(&Plan::Basic, 150, 0), QuotaState::Spent);
        assert_eq!(quota_state(&Plan::Plus, 5000, 0), QuotaState::Spent);
        assert_eq!(
            quota_state(&Plan::Custom { monthly: None }, u32::MAX, 0),
            QuotaState::Available { left: None }
        );
        assert_eq!(
            quota_state(&Plan::Custom { monthly: Some(0) }, 0, 0),
            QuotaState::Spent
        );
    }

    #[test]
    fn trial_is_unlimited_then_stops() {
        let trial = Plan::Trial { until_ms: 1_000 };
        assert_eq!(
            quota_state(&trial, 10_000, 999),
            QuotaState::Available { left: None }
        );
        assert_eq!(quota_state(&trial, 0, 1_000), QuotaState::TrialOver);
    }

    #[test]
    fn month_starts_at_local_midnight() {
        // 1 December 2026 00:30 in Paris is still 30 November in UTC.
        let now = ms("2026-11-30T23:30:00Z");
        assert_eq!(
            month_start_ms(now, "Europe/Paris"),
            ms("2026-11-30T23:00:00Z")
        );
        assert_eq!(month_start_ms(now, "UTC"), ms("2026-11-01T00:00:00Z"));
        // Summer time: 1 July 00:00 in Paris is 30 June 22:00 UTC.
        assert_eq!(
            month_start_ms(ms("2026-07-15T12:00:00Z"), "Europe/Paris"),
            ms("2026-06-30T22:00:00Z")
        );
        assert_eq!(month_start_ms(now, "Not/AZone"), ms("2026-11-01T00:00:00Z"));
        for extreme in [i64::MIN, i64::MAX] {
            assert_eq!(month_start_ms(extreme, "Europe/Paris"), extreme);
        }
    }
}
