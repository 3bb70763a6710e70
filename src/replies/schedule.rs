//! When an automatic answer goes out: after a natural delay, inside the shop's business hours.
//!
//! An answer sent within seconds reads as a robot; one sent at 3 a.m. too. So the answer waits
//! a delay with a random spread, and when that lands outside business hours it moves to the next
//! opening, plus a few minutes so it does not leave at exactly 09:00:00.

use std::fmt;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::UiLang;
use crate::t;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Longest delay or spread accepted: beyond a month an "automatic answer" is no answer.
pub const MAX_DELAY_MS: i64 = 31 * DAY_MS;

/// How long after a message its automatic answer goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayPolicy {
    /// Base delay after the message arrived.
    pub delay_ms: i64,
    /// The delay varies by up to this much either way, so answers do not come like clockwork;
    /// never by more than the delay itself (a delay of 0 means at once).
    pub spread_ms: i64,
    /// When set, answers only go out inside these hours.
    pub business_hours: Option<BusinessHours>,
}

impl Default for DelayPolicy {
    /// 3 hours ± 20 minutes, any time of day.
    fn default() -> Self {
        DelayPolicy {
            delay_ms: 3 * HOUR_MS,
            spread_ms: 20 * MINUTE_MS,
            business_hours: None,
        }
    }
}

/// The hours a shop answers in, in its own time zone (daylight saving time included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// IANA name, e.g. `Europe/Paris`.
    pub time_zone: String,
    /// Open days, Monday first.
    pub days: [bool; 7],
    /// Opening, in minutes after midnight (local time).
    pub start_minute: u16,
    /// Closing, in minutes after midnight (local time), after the opening; 1440 is midnight.
    pub end_minute: u16,
}

/// A schedule setting that could not be read; shown in English by `Display` (logs).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    Empty,
    Shape(String),
    UnknownDay(String),
    Hours(String),
    EmptyWindow { start: String, end: String },
    TimeZone(String),
    Duration(String),
    DurationTooLong(String),
}

impl ScheduleError {
    /// The error for a person, in their language.
    pub fn explain(&self, lang: UiLang) -> String {
        match self {
            ScheduleError::Empty => t!(lang, "schedule.empty").to_string(),
            ScheduleError::Shape(text) => t!(lang, "schedule.shape", text = text),
            ScheduleError::UnknownDay(day) => t!(lang, "schedule.unknown_day", day = day),
            ScheduleError::Hours(hours) => t!(lang, "schedule.hours", hours = hours),
            ScheduleError::EmptyWindow { start, end } => {
                t!(lang, "schedule.empty_window", start = start, end = end)
            }
            ScheduleError::TimeZone(zone) => t!(lang, "schedule.time_zone", zone = zone),
            ScheduleError::Duration(text) => t!(lang, "schedule.duration", text = text),
            ScheduleError::DurationTooLong(text) => {
                t!(lang, "schedule.duration_too_long", text = text)
            }
        }
    }
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain(UiLang::En))
    }
}

const DAY_NAMES: [[&str; 4]; 7] = [
    ["mon", "monday", "lun", "lundi"],
    ["tue", "tuesday", "mar", "mardi"],
    ["wed", "wednesday", "mer", "mercredi"],
    ["thu", "thursday", "jeu", "jeudi"],
    ["fri", "friday", "ven", "vendredi"],
    ["sat", "saturday", "sam", "samedi"],
    ["sun", "sunday", "dim", "dimanche"],
];

impl BusinessHours {
    /// Reads `"mon-fri 09:00-18:00 Europe/Paris"`: days (names in English or French, ranges
    /// and commas: `"lun-ven"`, `"mon,wed,sat-sun"`), hours (`09:00-18:00`, `9h-18h30`,
    /// `24:00` for midnight) and an IANA time zone.
    pub fn parse(text: &str) -> Result<BusinessHours, ScheduleError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ScheduleError::Empty);
        }
        // "mon - fri, sat 9h - 12h" is written by people too: glue the separators.
        let mut glued = String::with_capacity(trimmed.len());
        for word in trimmed.split_whitespace() {
            let joins = |s: &str| s.starts_with(['-', ',']) || s.starts_with('\u{2013}');
            let previous_joins = glued.ends_with(['-', ',', '\u{2013}']);
            if !glued.is_empty() && !joins(word) && !previous_joins {
                glued.push(' ');
            }
            glued.push_str(word);
        }
        let parts: Vec<&str> = glued.split(' ').collect();
        let [days, hours, zone] = parts.as_slice() else {
            return Err(ScheduleError::Shape(trimmed.to_string()));
        };
        let days = parse_days(days)?;
        let (start_minute, end_minute) = parse_hours(hours)?;
        TimeZone::get(zone).map_err(|_| ScheduleError::TimeZone(zone.to_string()))?;
        Ok(BusinessHours {
            time_zone: zone.to_string(),
            days,
            start_minute,
            end_minute,
        })
    }
}

impl fmt::Display for BusinessHours {
    /// The canonical form `parse` reads back: `mon-fri 09:00-18:00 Europe/Paris`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ranges: Vec<String> = Vec::new();
        let mut day = 0;
        while day < 7 {
            if !self.days[day] {
                day += 1;
                continue;
            }
            let first = day;
            while day + 1 < 7 && self.days[day + 1] {
                day += 1;
            }
            ranges.push(if first == day {
                DAY_NAMES[first][0].to_string()
            } else {
                format!("{}-{}", DAY_NAMES[first][0], DAY_NAMES[day][0])
            });
            day += 1;
        }
        write!(
            f,
            "{} {}-{} {}",
            ranges.join(","),
            clock(self.start_minute),
            clock(self.end_minute),
            self.time_zone
        )
    }
}

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn day_index(name: &str) -> Result<usize, ScheduleError> {
    let lower = name.trim().trim_end_matches('.').to_lowercase();
    DAY_NAMES
        .iter()
        .position(|names| names.contains(&lower.as_str()))
        .ok_or_else(|| ScheduleError::UnknownDay(name.to_string()))
}

fn parse_days(text: &str) -> Result<[bool; 7], ScheduleError> {
    let mut days = [false; 7];
    for item in text.split(',').filter(|item| !item.is_empty()) {
        match item.split_once(['-', '\u{2013}']) {
            Some((first, last)) => {
                let first = day_index(first)?;
                let last = day_index(last)?;
                // "sat-mon" wraps over the week end.
                let mut day = first;
                loop {
                    days[day] = true;
                    if day == last {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days[day_index(item)?] = true,
        }
    }
    if days.iter().any(|open| *open) {
        Ok(days)
    } else {
        Err(ScheduleError::UnknownDay(text.to_string()))
    }
}

fn parse_hours(text: &str) -> Result<(u16, u16), ScheduleError> {
    let bad = || ScheduleError::Hours(text.to_string());
    let (start, end) = text.split_once(['-', '\u{2013}']).ok_or_else(bad)?;
    let start_minute = parse_clock(start).ok_or_else(bad)?;
    let end_minute = parse_clock(end).ok_or_else(bad)?;
    if end_minute <= start_minute {
        return Err(ScheduleError::EmptyWindow {
            start: clock(start_minute),
            end: clock(end_minute),
        });
    }
    Ok((start_minute, end_minute))
}

/// `09:00`, `9:00`, `9h`, `9h30`, `18H30`, `24:00` → minutes after midnight.
fn parse_clock(text: &str) -> Option<u16> {
    let lower = text.trim().to_lowercase();
    let (hours, minutes) = match lower.split_once([':', 'h']) {
        Some((hours, minutes)) => (hours, minutes),
        None => (lower.as_str(), ""),
    };
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if hours.is_empty() || hours.len() > 2 || !all_digits(hours) {
        return None;
    }
    if !(minutes.is_empty() || minutes.len() == 2 && all_digits(minutes)) {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = if minutes.is_empty() {
        0
    } else {
        minutes.parse().ok()?
    };
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= 24 * 60).then_some(total)
}

/// Reads a duration: a number and a unit, repeated: `3h`, `90m`, `0s`, `1h30m`, `2d`,
/// `1h 30min`. Units: `d`, `h`, `m`/`min`, `s`. At most 31 days.
pub fn parse_duration(text: &str) -> Result<i64, ScheduleError> {
    let bad = || ScheduleError::Duration(text.to_string());
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if compact.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut rest = compact.as_str();
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 12 {
            return Err(bad());
        }
        let amount: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.len() - rest.trim_start_matches(|c: char| c.is_alphabetic()).len();
        let unit_ms = match &rest[..unit_len] {
            "d" | "j" => DAY_MS,
            "h" => HOUR_MS,
            "m" | "min" | "mn" => MINUTE_MS,
            "s" => 1000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = amount
            .checked_mul(unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| ScheduleError::DurationTooLong(text.to_string()))?;
    }
    if total > MAX_DELAY_MS {
        return Err(ScheduleError::DurationTooLong(text.to_string()));
    }
    Ok(total)
}

/// When the answer to a message received at `received_ms` goes out (Unix milliseconds).
///
/// `random` is any random number drawn once per answer (store it with the job, so that
/// recomputing gives the same time). Before business hours, the result is within the delay ±
/// the spread, the spread cut down to the delay: never before `received_ms`, never later than
/// twice the delay, and `received_ms` itself for a delay of 0.
pub fn due_at(received_ms: i64, policy: &DelayPolicy, random: u64) -> i64 {
    let delay = policy.delay_ms.clamp(0, MAX_DELAY_MS);
    // A spread wider than the delay would make "0s" mean "up to 20 minutes later".
    let spread = policy.spread_ms.clamp(0, delay);
    // `spread` ≤ 31 days, so the span fits easily in a u64 and the offset in an i64.
    let span = 2 * spread as u64 + 1;
    let offset = (random % span) as i64 - spread;
    let candidate = received_ms
        .saturating_add(delay)
        .saturating_add(offset)
        .max(received_ms);
    match &policy.business_hours {
        Some(hours) => next_open_moment(candidate, hours, mix(random)).unwrap_or(candidate),
        None => candidate,
    }
}

/// `candidate` itself when the shop is open then, else the next opening plus a few random
/// minutes. None when the time or the zone cannot be handled (the caller keeps `candidate`).
fn next_open_moment(candidate_ms: i64, hours: &BusinessHours, random: u64) -> Option<i64> {
    let zone = TimeZone::get(&hours.time_zone).ok()?;
    let candidate = Timestamp::from_millisecond(candidate_ms).ok()?;
    let local = candidate.to_zoned(zone.clone());
    let mut date = local.date();
    // Eight days: today, then a full week, always meets an open day when there is one.
    for _ in 0..8 {
        if hours.days[monday_index(date.weekday())] {
            let opening = local_moment(date, hours.start_minute, &zone)?;
            let closing = local_moment(date, hours.end_minute, &zone)?;
            if candidate_ms < opening {
                return Some(opening + human_pause(random, closing - opening));
            }
            if candidate_ms < closing {
                return Some(candidate_ms);
            }
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// A few minutes (2 to 14) and some seconds after an opening, but never past half the
/// opening hours, so the first answers of the day do not all leave at 09:00:00.
fn human_pause(random: u64, open_length_ms: i64) -> i64 {
    let minutes = (random % 13) as i64 + 2;
    let seconds = ((random >> 8) % 60) as i64;
    let pause = minutes * MINUTE_MS + seconds * 1000;
    pause.min(open_length_ms / 2).max(0)
}

fn monday_index(weekday: Weekday) -> usize {
    weekday.to_monday_zero_offset().clamp(0, 6) as usize
}

/// The instant of `minute` after midnight on `date` in `zone`; 1440 is the next midnight. A
/// time skipped by a daylight-saving change resolves to the moment just after the gap.
fn local_moment(date: Date, minute: u16, zone: &TimeZone) -> Option<i64> {
    let (date, minute) = if minute >= 24 * 60 {
        (date.tomorrow().ok()?, 0)
    } else {
        (date, minute)
    };
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
    let zoned: Zoned = date.to_datetime(time).to_zoned(zone.clone()).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// A second, independent-looking random number from the first (SplitMix64's finaliser), so
/// the spread and the pause after opening do not move together.
fn mix(random: u64) -> u64 {
    let mut z = random.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339
            .parse::<Timestamp>()
            .expect("test timestamp")
            .as_millisecond()
    }

    fn paris_office() -> BusinessHours {
        BusinessHours::parse("mon-fri 09:00-18:00 Europe/Paris").expect("valid hours")
    }

    /// `due` falls in the 2–14 minute pause after `opening` (an RFC 3339 instant).
    fn assert_in_the_pause_after(opening: &str, due: i64) {
        let opening = ms(opening);
        assert!(
            (opening + 2 * MINUTE_MS..opening + 15 * MINUTE_MS).contains(&due),
            "{due} is not 2 to 14 minutes after {opening}"
        );
    }

    fn policy(delay: &str, spread: &str, hours: Option<BusinessHours>) -> DelayPolicy {
        DelayPolicy {
            delay_ms: parse_duration(delay).expect("delay"),
            spread_ms: parse_duration(spread).expect("spread"),
            business_hours: hours,
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("3h"), Ok(3 * HOUR_MS));
        assert_eq!(parse_duration("90m"), Ok(90 * MINUTE_MS));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1h30m"), Ok(90 * MINUTE_MS));
        assert_eq!(parse_duration("1h 30min"), Ok(90 * MINUTE_MS));
        assert_eq!(parse_duration("2d"), Ok(2 * DAY_MS));
        assert_eq!(parse_duration("45s"), Ok(45_000));
        assert_eq!(parse_duration(" 2H "), Ok(2 * HOUR_MS));
        for bad in [
            "",
            "3",
            "h",
            "3x",
            "-3h",
            "3.5h",
            "1h30",
            "h3",
            "9999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_duration("32d"),
            Err(ScheduleError::DurationTooLong(_))
        ));
    }

    #[test]
    fn business_hours_parse_in_english_and_french() {
        let hours = paris_office();
        assert_eq!(hours.days, [true, true, true, true, true, false, false]);
        assert_eq!((hours.start_minute, hours.end_minute), (540, 1080));
        assert_eq!(hours.time_zone, "Europe/Paris");
        assert_eq!(hours.to_string(), "mon-fri 09:00-18:00 Europe/Paris");

        let french = BusinessHours::parse("Lun - Ven, Sam  9h - 18h30 Europe/Paris").expect("fr");
        assert_eq!(french.days, [true, true, true, true, true, true, false]);
        assert_eq!((french.start_minute, french.end_minute), (540, 1110));
        assert_eq!(french.to_string(), "mon-sat 09:00-18:30 Europe/Paris");

        let wrapping =
            BusinessHours::parse("sat-mon,wed 10:00-24:00 America/New_York").expect("wrap");
        assert_eq!(wrapping.days, [true, false, true, false, false, true, true]);
        assert_eq!(wrapping.end_minute, 1440);
        assert_eq!(
            wrapping.to_string(),
            "mon,wed,sat-sun 10:00-24:00 America/New_York"
        );
    }

    #[test]
    fn business_hours_errors_say_what_is_wrong() {
        assert_eq!(BusinessHours::parse("  "), Err(ScheduleError::Empty));
        assert!(matches!(
            BusinessHours::parse("mon-fri 09:00-18:00"),
            Err(ScheduleError::Shape(_))
        ));
        assert!(matches!(
            BusinessHours::parse("mon-fry 09:00-18:00 Europe/Paris"),
            Err(ScheduleError::UnknownDay(day)) if day == "fry"
        ));
        assert!(BusinessHours::parse("mon-fri 9-18 Europe/Paris").is_ok());
        assert!(matches!(
            BusinessHours::parse("mon-fri 25:00-26:00 Europe/Paris"),
            Err(ScheduleError::Hours(_))
        ));
        assert!(matches!(
            BusinessHours::parse("mon-fri 09:60-18:00 Europe/Paris"),
            Err(ScheduleError::Hours(_))
        ));
        assert!(matches!(
            BusinessHours::parse("mon-fri 18:00-09:00 Europe/Paris"),
            Err(ScheduleError::EmptyWindow { .. })
        ));
        let zone = BusinessHours::parse("mon-fri 09:00-18:00 Europe/Pariss").unwrap_err();
        assert_eq!(zone, ScheduleError::TimeZone("Europe/Pariss".into()));
        assert!(zone.explain(UiLang::Fr).contains("Fuseau horaire inconnu"));
        assert!(zone.explain(UiLang::En).contains("unknown time zone"));
    }

    #[test]
    fn without_business_hours_the_delay_and_spread_apply() {
        let received = ms("2026-11-24T10:00:00Z");
        let policy = DelayPolicy::default();
        let mut seen = std::collections::BTreeSet::new();
        for random in 0..2000u64 {
            let due = due_at(
                received,
                &policy,
                random.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let waited = due - received;
            assert!(
                (160 * MINUTE_MS..=200 * MINUTE_MS).contains(&waited),
                "{waited}"
            );
            seen.insert(waited / MINUTE_MS);
        }
        assert!(seen.len() > 30, "the spread must actually vary");
        assert_eq!(due_at(received, &policy, 42), due_at(received, &policy, 42));
    }

    #[test]
    fn zero_delay_answers_at_once_whatever_the_spread() {
        let received = ms("2026-11-24T10:00:00Z");
        let policy = policy("0s", "20m", None);
        for random in [0, 1, 7, 12_345, u64::MAX, 1 << 40] {
            assert_eq!(due_at(received, &policy, random), received, "{random}");
        }
    }

    #[test]
    fn spread_never_exceeds_a_short_delay() {
        let received = ms("2026-11-24T10:00:00Z");
        let short = policy("5m", "20m", None);
        let mut seen = std::collections::BTreeSet::new();
        for random in 0..2000u64 {
            let due = due_at(received, &short, random.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let waited = due - received;
            assert!((0..=10 * MINUTE_MS).contains(&waited), "{waited}");
            seen.insert(waited / 1000);
        }
        assert!(seen.len() > 100, "a short delay still varies");
        let exact = policy("5m", "0s", None);
        assert_eq!(due_at(received, &exact, 99), received + 5 * MINUTE_MS);
    }

    #[test]
    fn inside_business_hours_the_time_is_kept() {
        // Tuesday 10:00 in Paris (UTC+1 in November) + 3 h = 13:00, open.
        let received = ms("2026-11-24T09:00:00Z");
        let policy = policy("3h", "0s", Some(paris_office()));
        assert_eq!(due_at(received, &policy, 123), ms("2026-11-24T12:00:00Z"));
    }

    #[test]
    fn friday_evening_message_is_answered_monday_morning_in_paris() {
        // Friday 27 November 2026, 17:30 in Paris; + 3 h lands on Friday 20:30, closed.
        let received = ms("2026-11-27T16:30:00Z");
        let policy = policy("3h", "20m", Some(paris_office()));
        for random in [0u64, 1, 99, 12_345, u64::MAX] {
            let due = due_at(received, &policy, random);
            // Monday 30 November, 09:00 in Paris is 08:00 UTC; then a 2–14 minute pause.
            assert_in_the_pause_after("2026-11-30T08:00:00Z", due);
        }
    }

    #[test]
    fn weekends_of_the_daylight_saving_changes() {
        let policy = policy("3h", "0s", Some(paris_office()));
        for (received, random, monday_opening) in [
            // Clocks go forward on Sunday 29 March 2026. A Saturday message is answered on
            // Monday at 09:00 summer time, which is 07:00 UTC (it would be 08:00 UTC in winter).
            ("2026-03-28T10:00:00Z", 0, "2026-03-30T07:00:00Z"),
            // Clocks go back on Sunday 25 October 2026: Monday 09:00 is 08:00 UTC again.
            ("2026-10-23T17:00:00Z", 5, "2026-10-26T08:00:00Z"),
        ] {
            assert_in_the_pause_after(monday_opening, due_at(ms(received), &policy, random));
        }
    }

    #[test]
    fn opening_inside_the_daylight_saving_gap_resolves_after_it() {
        // Open from 02:30 on Sundays: on 29 March 2026 02:30 does not exist in Paris.
        let hours = BusinessHours::parse("sun 02:30-06:00 Europe/Paris").expect("hours");
        let received = ms("2026-03-28T20:00:00Z");
        let due = due_at(received, &policy("1h", "0s", Some(hours)), 0);
        // 03:30 summer time = 01:30 UTC.
        let opening = ms("2026-03-29T01:30:00Z");
        assert!((opening..opening + 15 * MINUTE_MS).contains(&due), "{due}");
    }

    #[test]
    fn before_opening_the_same_day_waits_for_opening() {
        // Wednesday 06:00 Paris + 1 h = 07:00, before 09:00.
        let received = ms("2026-11-25T05:00:00Z");
        let due = due_at(received, &policy("1h", "0s", Some(paris_office())), 77);
        assert_in_the_pause_after("2026-11-25T08:00:00Z", due);
    }

    #[test]
    fn a_short_window_keeps_the_pause_inside_it() {
        let hours = BusinessHours::parse("mon-fri 09:00-09:04 UTC").expect("hours");
        let received = ms("2026-11-24T20:00:00Z");
        let due = due_at(received, &policy("0s", "0s", Some(hours)), 12);
        let opening = ms("2026-11-25T09:00:00Z");
        assert!((opening..=opening + 2 * MINUTE_MS).contains(&due), "{due}");
    }

    #[test]
    fn strange_inputs_never_panic() {
        let broken_zone = BusinessHours {
            time_zone: "Nowhere/Else".into(),
            days: [false; 7],
            start_minute: 2000,
            end_minute: 0,
        };
        let closed_week = BusinessHours {
            days: [false; 7],
            ..paris_office()
        };
        for hours in [
            None,
            Some(broken_zone),
            Some(closed_week),
            Some(paris_office()),
        ] {
            for received in [i64::MIN, -1, 0, i64::MAX, ms("2026-11-24T10:00:00Z")] {
                for delay in [i64::MIN, 0, i64::MAX] {
                    let policy = DelayPolicy {
                        delay_ms: delay,
                        spread_ms: delay,
                        business_hours: hours.clone(),
                    };
                    let due = due_at(received, &policy, u64::MAX);
                    assert!(due >= received);
                }
            }
        }
    }
}
