//! Changing a shop's settings: retention, automatic answers and branding. Every value is
//! checked before anything is saved, and a refusal names the setting and what it accepts.

use crate::model::UiLang;
use crate::replies::{self, BusinessHours, PlanName, ScheduleError};
use crate::store::Shop;
use crate::t;

use super::{Desk, DeskResult};

/// The settings to change; `None` keeps the current value. Texts are as a person typed them.
/// The command line parses it as `shop set` options (the doc comments are their help).
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct SettingsChange {
    /// Delete tickets not updated for this many months (0: keep forever).
    #[arg(long)]
    pub retention_months: Option<i64>,
    /// on: answer; shadow: decide and draft without sending; off: never answer.
    #[arg(long)]
    pub auto_answers: Option<replies::Mode>,
    /// Delay before an answer goes out, e.g. 3h, 90m, 0s.
    #[arg(long)]
    pub reply_delay: Option<String>,
    /// Random spread around the delay, e.g. 20m (0s for none).
    #[arg(long)]
    pub reply_spread: Option<String>,
    /// Answers go out only then, e.g. "mon-fri 09:00-18:00 Europe/Paris" ("none": any time).
    #[arg(long)]
    pub business_hours: Option<String>,
    /// IANA time zone of the shop (months, dates in answers), e.g. Europe/Paris.
    #[arg(long)]
    pub time_zone: Option<String>,
    /// basic, plus, custom (trial only while it runs).
    #[arg(long)]
    pub plan: Option<PlanName>,
    /// Monthly automatic answers of the custom plan (0: unlimited).
    #[arg(long)]
    pub quota: Option<u32>,
    /// Confidence needed to answer, 0 to 1 (default 0.9).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Threshold of one intent, e.g. refund=0.95; repeat for several.
    #[arg(long = "intent-threshold", value_name = "INTENT=T")]
    pub intent_thresholds: Vec<String>,
    /// Name customers see in From (default: the shop's name).
    #[arg(long)]
    pub display_name: Option<String>,
    /// Closing lines of answers.
    #[arg(long)]
    pub signature: Option<String>,
    /// https URL of the logo shown in HTML answers.
    #[arg(long)]
    pub logo_url: Option<String>,
    /// Brand colour of HTML answers, #rrggbb.
    #[arg(long)]
    pub brand_color: Option<String>,
    /// Small print under answers (address, legal mentions).
    #[arg(long)]
    pub footer: Option<String>,
}

/// A setting refused, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem:?}")]
pub struct SettingError {
    /// The setting's name, snake_case (the CLI shows it as `--reply-delay`).
    pub field: &'static str,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    NegativeRetention,
    Schedule(ScheduleError),
    UnknownTimeZone(String),
    TrialNotChoosable,
    QuotaNeedsCustomPlan,
    ThresholdRange,
    IntentThresholdShape,
    UnknownIntent(String),
    LogoNotHttps,
    BadColour,
}

impl SettingError {
    pub fn localized(&self, lang: UiLang) -> String {
        let field = format!("--{}", self.field.replace('_', "-"));
        let problem = match &self.problem {
            Problem::NegativeRetention => t!(lang, "settings.negative_retention").to_string(),
            Problem::Schedule(error) => error.explain(lang),
            Problem::UnknownTimeZone(zone) => t!(lang, "settings.unknown_zone", zone = zone),
            Problem::TrialNotChoosable => t!(lang, "settings.trial_not_choosable").into(),
            Problem::QuotaNeedsCustomPlan => t!(lang, "settings.quota_needs_custom").into(),
            Problem::ThresholdRange => t!(lang, "settings.threshold_range").into(),
            Problem::IntentThresholdShape => t!(lang, "settings.intent_threshold_shape").into(),
            Problem::UnknownIntent(intent) => t!(lang, "error.unknown_intent", intent = intent),
            Problem::LogoNotHttps => t!(lang, "settings.logo_not_https").into(),
            Problem::BadColour => t!(lang, "settings.bad_colour").into(),
        };
        format!("{field}: {problem}")
    }
}

fn refuse(field: &'static str, problem: Problem) -> SettingError {
    SettingError { field, problem }
}

fn check_threshold(value: f64, field: &'static str) -> Result<f64, SettingError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(refuse(field, Problem::ThresholdRange))
    }
}

/// Applies `change` to `settings` when every value is valid; pure, so the web form and the CLI
/// refuse the same things.
pub fn apply_answer_settings(
    settings: &mut crate::store::ReplySettings,
    change: &SettingsChange,
) -> Result<(), SettingError> {
    if let Some(mode) = change.auto_answers {
        settings.auto_answers = mode;
    }
    let duration = |text: &str, field| {
        replies::parse_duration(text).map_err(|e| refuse(field, Problem::Schedule(e)))
    };
    if let Some(delay) = &change.reply_delay {
        settings.reply_delay_ms = duration(delay, "reply_delay")?;
    }
    if let Some(spread) = &change.reply_spread {
        settings.reply_spread_ms = duration(spread, "reply_spread")?;
    }
    if let Some(hours) = &change.business_hours {
        settings.business_hours = if hours == "none" {
            None
        } else {
            let parsed = BusinessHours::parse(hours)
                .map_err(|e| refuse("business_hours", Problem::Schedule(e)))?;
            Some(parsed.to_string())
        };
    }
    if let Some(zone) = &change.time_zone {
        if jiff::tz::TimeZone::get(zone).is_err() {
            return Err(refuse("time_zone", Problem::UnknownTimeZone(zone.clone())));
        }
        settings.time_zone = zone.clone();
    }
    if let Some(plan) = change.plan {
        if plan == PlanName::Trial && settings.plan != PlanName::Trial {
            return Err(refuse("plan", Problem::TrialNotChoosable));
        }
        settings.plan = plan;
    }
    if let Some(quota) = change.quota {
        if settings.plan != PlanName::Custom {
            return Err(refuse("quota", Problem::QuotaNeedsCustomPlan));
        }
        settings.plan_quota = (quota > 0).then_some(quota as i64);
    }
    if let Some(threshold) = change.threshold {
        settings.threshold = check_threshold(threshold, "threshold")?;
    }
    for entry in &change.intent_thresholds {
        let field = "intent_threshold";
        let (intent, value) = entry
            .split_once('=')
            .ok_or_else(|| refuse(field, Problem::IntentThresholdShape))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| refuse(field, Problem::IntentThresholdShape))?;
        if crate::triage::builtin_intent(intent).is_none() {
            return Err(refuse(field, Problem::UnknownIntent(intent.to_string())));
        }
        settings
            .intent_thresholds
            .insert(intent.to_string(), check_threshold(value, field)?);
    }
    if let Some(name) = &change.display_name {
        settings.display_name = Some(name.clone()).filter(|n| !n.is_empty());
    }
    if let Some(signature) = &change.signature {
        settings.signature = signature.replace("\\n", "\n");
    }
    if let Some(url) = &change.logo_url {
        if !url.is_empty() && !url.starts_with("https://") {
            return Err(refuse("logo_url", Problem::LogoNotHttps));
        }
        settings.logo_url = Some(url.clone()).filter(|u| !u.is_empty());
    }
    if let Some(colour) = &change.brand_color {
        let valid = colour.len() == 7
            && colour.starts_with('#')
            && colour[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Err(refuse("brand_color", Problem::BadColour));
        }
        settings.brand_color = Some(colour.clone());
    }
    if let Some(footer) = &change.footer {
        settings.footer = footer.replace("\\n", "\n");
    }
    Ok(())
}

/// A shop's current settings as the settings pages show them, with this month's quota use.
#[derive(Debug, Clone)]
pub struct SettingsView {
    pub answers: crate::store::ReplySettings,
    /// None: kept forever.
    pub retention_months: Option<i64>,
    /// Automatic answers a month under the plan; None: unlimited.
    pub monthly_quota: Option<u32>,
    /// Automatic answers sent or scheduled since the start of this month (shop's time zone).
    pub used_this_month: i64,
}

/// A duration in milliseconds as `--reply-delay` accepts it back: `3h`, `1h30m`, `0s`.
pub fn duration_text(ms: i64) -> String {
    let mut seconds = ms.max(0) / 1000;
    if seconds == 0 {
        return "0s".into();
    }
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

impl Desk {
    /// Changes a shop's settings: all or nothing.
    /// The shop's settings now, and how much of the monthly quota is used.
    pub async fn current_settings(&self, shop: &Shop) -> DeskResult<SettingsView> {
        let answers = self.store.reply_settings(shop.id).await?;
        let retention_months = self
            .store
            .shops()
            .await?
            .into_iter()
            .find(|s| s.id == shop.id)
            .and_then(|s| s.retention_months);
        let monthly_quota = replies::Plan::new(
            answers.plan,
            answers
                .plan_quota
                .map(|q| q.clamp(0, u32::MAX as i64) as u32),
            answers.trial_until,
        )
        .ok()
        .and_then(|plan| plan.monthly_quota());
        let now = crate::store::now_ms();
        let month_start = replies::month_start_ms(now, &answers.time_zone);
        let used_this_month = self.store.auto_replies_since(shop.id, month_start).await?;
        Ok(SettingsView {
            answers,
            retention_months,
            monthly_quota,
            used_this_month,
        })
    }

    pub async fn change_settings(&self, shop: &Shop, change: &SettingsChange) -> DeskResult<()> {
        if change.retention_months.is_some_and(|m| m < 0) {
            return Err(refuse("retention_months", Problem::NegativeRetention).into());
        }
        let answers_changed = SettingsChange {
            retention_months: None,
            ..change.clone()
        } != SettingsChange::default();
        if answers_changed {
            let mut settings = self.store.reply_settings(shop.id).await?;
            apply_answer_settings(&mut settings, change)?;
            self.store.save_reply_settings(shop.id, &settings).await?;
        }
        if let Some(months) = change.retention_months {
            self.store
                .set_retention(shop.id, (months > 0).then_some(months))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> crate::store::ReplySettings {
        crate::store::ReplySettings {
            auto_answers: replies::Mode::Off,
            auto_answers_since: None,
            reply_delay_ms: 3 * 3600 * 1000,
            reply_spread_ms: 0,
            business_hours: None,
            time_zone: "Europe/Paris".into(),
            threshold: 0.9,
            intent_thresholds: Default::default(),
            plan: PlanName::Basic,
            plan_quota: None,
            trial_until: None,
            quota_notice_month: None,
            display_name: None,
            signature: String::new(),
            logo_url: None,
            brand_color: None,
            footer: String::new(),
        }
    }

    #[test]
    fn durations_read_back_as_they_are_typed() {
        for (ms, text) in [
            (0, "0s"),
            (3 * 3_600_000, "3h"),
            (5_400_000, "1h30m"),
            (86_400_000, "1d"),
        ] {
            assert_eq!(duration_text(ms), text);
            assert_eq!(replies::parse_duration(text).unwrap(), ms);
        }
    }

    #[test]
    fn a_valid_change_applies_every_value() {
        let mut s = settings();
        let change = SettingsChange {
            auto_answers: Some(replies::Mode::Shadow),
            reply_delay: Some("90m".into()),
            plan: Some(PlanName::Custom),
            quota: Some(300),
            intent_thresholds: vec!["refund=0.95".into()],
            brand_color: Some("#1d4ed8".into()),
            ..Default::default()
        };
        apply_answer_settings(&mut s, &change).unwrap();
        assert_eq!(s.auto_answers, replies::Mode::Shadow);
        assert_eq!(s.reply_delay_ms, 90 * 60 * 1000);
        assert_eq!((s.plan, s.plan_quota), (PlanName::Custom, Some(300)));
        assert_eq!(s.intent_thresholds["refund"], 0.95);
    }

    #[test]
    fn each_bad_value_is_refused_by_name_and_changes_nothing() {
        let cases: [(SettingsChange, &str); 6] = [
            (
                SettingsChange {
                    reply_delay: Some("soon".into()),
                    ..Default::default()
                },
                "reply_delay",
            ),
            (
                SettingsChange {
                    time_zone: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
                "time_zone",
            ),
            (
                SettingsChange {
                    plan: Some(PlanName::Trial),
                    ..Default::default()
                },
                "plan",
            ),
            (
                SettingsChange {
                    quota: Some(5),
                    ..Default::default()
                },
                "quota",
            ),
            (
                SettingsChange {
                    threshold: Some(1.5),
                    ..Default::default()
                },
                "threshold",
            ),
            (
                SettingsChange {
                    logo_url: Some("http://x".into()),
                    ..Default::default()
                },
                "logo_url",
            ),
        ];
        for (change, field) in cases {
            let mut s = settings();
            let error = apply_answer_settings(&mut s, &change).unwrap_err();
            assert_eq!(error.field, field);
            assert_eq!(s, settings(), "{field} changed something");
            for lang in [UiLang::Fr, UiLang::En] {
                assert!(
                    error
                        .localized(lang)
                        .starts_with(&format!("--{}", field.replace('_', "-")))
                );
            }
        }
    }
}
