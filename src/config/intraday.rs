//! Validation of the intraday keys: interval, time zone, windows, service-level thresholds and
//! target. Part of [`super::validate`], kept apart because it has a job of its own.

use std::time::Duration;

use super::bounds::{check_duration_range, parse_bounded_duration, show_bound};
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
    let interval = parse_bounded_duration(
        raw.interval.as_deref(),
        &format!("{key}.intraday_interval"),
        &INTRADAY_INTERVAL_RANGE,
        report,
    );
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

/// `intraday_windows`: `today` or trailing durations within [`TRAILING_WINDOW_RANGE`], each
/// once, at least one.
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
                Ok(length) => match check_duration_range(
                    length,
                    entry,
                    &entry_key,
                    &TRAILING_WINDOW_RANGE,
                    " (GetMetricDataV2's TOTAL interval spans less than 35 days)",
                    report,
                ) {
                    Some(length) => IntradayWindow::Trailing(length),
                    None => continue,
                },
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

/// `service_level_thresholds`: whole seconds within [`SERVICE_LEVEL_THRESHOLD_RANGE`], at most
/// [`MAX_SERVICE_LEVEL_THRESHOLDS`], each once, returned ascending.
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
        let range = SERVICE_LEVEL_THRESHOLD_RANGE;
        let Some(seconds) = u32::try_from(seconds).ok().filter(|s| range.contains(s)) else {
            let show = |s: u32| show_bound(Duration::from_secs(u64::from(s)));
            report(
                entry_key,
                format!(
                    "{entry:?} is out of range; a threshold is from {} to {}",
                    show(*range.start()),
                    show(*range.end())
                ),
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
