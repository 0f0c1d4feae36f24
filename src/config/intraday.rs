//! Validation of the intraday keys: interval, time zone, windows, service-level thresholds and
//! target. Part of [`super::validate`], kept apart because it has a job of its own.

use std::time::Duration;

use super::validate::parse_duration_key;
use super::*;

/// The intraday keys as written, of `defaults:` or an instance.
#[derive(Debug, Default)]
pub(super) struct RawIntraday {
    pub(super) enabled: Option<bool>,
    pub(super) interval: Option<String>,
    pub(super) time_zone: Option<String>,
    pub(super) windows: Option<Vec<String>>,
    pub(super) comparison: Option<ThresholdComparison>,
}

/// The intraday keys of `defaults:` or of an instance, each checked once where it is written;
/// `None` where a key is absent or invalid (its problem reported).
#[derive(Debug, Default)]
pub(super) struct IntradayKeys {
    enabled: Option<bool>,
    interval: Option<Duration>,
    time_zone: Option<String>,
    windows: Option<Vec<IntradayWindow>>,
    comparison: Option<ThresholdComparison>,
}

/// Checks the intraday keys written under `key` (`defaults` or `instances[N]`).
pub(super) fn check_intraday_keys(
    key: &str,
    raw: RawIntraday,
    report: &mut impl FnMut(String, String),
) -> IntradayKeys {
    let interval_key = format!("{key}.intraday_interval");
    let interval =
        parse_duration_key(raw.interval.as_deref(), &interval_key, report).and_then(|interval| {
            let (shortest, longest) = INTRADAY_INTERVAL_RANGE;
            if (shortest..=longest).contains(&interval) {
                return Some(interval);
            }
            report(
                interval_key.clone(),
                format!(
                    "{} is out of range; allowed is {} to {}",
                    humantime::format_duration(interval),
                    humantime::format_duration(shortest),
                    humantime::format_duration(longest)
                ),
            );
            None
        });
    let time_zone = raw.time_zone.and_then(|zone| {
        if jiff::tz::TimeZone::get(&zone).is_ok() {
            return Some(zone);
        }
        report(
            format!("{key}.time_zone"),
            format!("{zone:?} is not an IANA time zone name (such as Europe/London or UTC)"),
        );
        None
    });
    let windows = raw
        .windows
        .map(|windows| parse_windows(&windows, &format!("{key}.intraday_windows"), report));
    IntradayKeys {
        enabled: raw.enabled,
        interval,
        time_zone,
        windows,
        comparison: raw.comparison,
    }
}

/// The instance's intraday settings: each key from the instance, else `defaults:`, else the
/// built-in default.
pub(super) fn merge_intraday(instance: IntradayKeys, defaults: &IntradayKeys) -> Intraday {
    let built_in = Intraday::default();
    Intraday {
        enabled: instance.enabled.or(defaults.enabled).unwrap_or(false),
        interval: instance
            .interval
            .or(defaults.interval)
            .unwrap_or(built_in.interval),
        time_zone: instance
            .time_zone
            .or_else(|| defaults.time_zone.clone())
            .unwrap_or(built_in.time_zone),
        windows: instance
            .windows
            .or_else(|| defaults.windows.clone())
            .unwrap_or(built_in.windows),
        comparison: instance
            .comparison
            .or(defaults.comparison)
            .unwrap_or_default(),
    }
}

/// `intraday_windows`: `today` or trailing durations (at least a minute, less than 35 days,
/// as the API's TOTAL interval allows), each once, at least one.
fn parse_windows(
    entries: &[String],
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Vec<IntradayWindow> {
    if entries.is_empty() {
        report(
            key.to_string(),
            "the list is empty; give `today` and/or trailing durations such as 1h".into(),
        );
    }
    let mut windows: Vec<IntradayWindow> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry_key = format!("{key}[{index}]");
        let window = if entry.trim() == "today" {
            IntradayWindow::Today
        } else {
            match humantime::parse_duration(entry.trim()) {
                Ok(length)
                    if length >= Duration::from_secs(60) && length <= MAX_TRAILING_WINDOW =>
                {
                    IntradayWindow::Trailing(length)
                }
                Ok(_) => {
                    report(
                        entry_key,
                        format!("{entry:?} is out of range; a trailing window is at least 1m and at most 34d (GetMetricDataV2's TOTAL interval spans less than 35 days)"),
                    );
                    continue;
                }
                Err(_) => {
                    report(
                        entry_key,
                        format!("{entry:?} is neither `today` nor a duration such as 15m or 1h"),
                    );
                    continue;
                }
            }
        };
        if windows.contains(&window) {
            report(entry_key, format!("window {entry:?} is listed twice"));
            continue;
        }
        windows.push(window);
    }
    windows
}

/// `service_level_thresholds`: whole seconds from 1 s to 7 days, at most 20, each once,
/// returned ascending.
pub(super) fn parse_thresholds(
    entries: &[String],
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Vec<u32> {
    if entries.len() > MAX_SERVICE_LEVEL_THRESHOLDS {
        report(
            key.to_string(),
            format!(
                "{} thresholds; at most {MAX_SERVICE_LEVEL_THRESHOLDS} (one GetMetricDataV2 request carries at most 20 service levels)",
                entries.len()
            ),
        );
    }
    let mut thresholds = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry_key = format!("{key}[{index}]");
        let seconds = match humantime::parse_duration(entry.trim()) {
            Ok(length) if length.subsec_nanos() == 0 => length.as_secs(),
            Ok(_) => {
                report(
                    entry_key,
                    format!("{entry:?} is not a whole number of seconds"),
                );
                continue;
            }
            Err(_) => {
                report(
                    entry_key,
                    format!("{entry:?} is not a duration; write it like 20s or 1m"),
                );
                continue;
            }
        };
        let Some(seconds) = u32::try_from(seconds)
            .ok()
            .filter(|s| (1..=MAX_SERVICE_LEVEL_THRESHOLD).contains(s))
        else {
            report(
                entry_key,
                format!("{entry:?} is out of range; a threshold is from 1s to 7d"),
            );
            continue;
        };
        if thresholds.contains(&seconds) {
            report(entry_key, format!("threshold {entry:?} is listed twice"));
            continue;
        }
        thresholds.push(seconds);
    }
    thresholds.sort_unstable();
    thresholds
}

/// `service_level_target`: a ratio above 0 and at most 1.
pub(super) fn check_target(
    value: Option<f64>,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Option<f64> {
    let target = value?;
    if target > 0.0 && target <= 1.0 {
        Some(target)
    } else {
        report(
            key.to_string(),
            format!(
                "{target} is out of range; a ratio above 0 and at most 1, such as 0.8 for 80 %"
            ),
        );
        None
    }
}
