//! Checks of numbers and durations against their bounds (see the ranges in [`super`]), with
//! errors that name the key, the value as written and the whole range.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

/// `value` when `range` holds it; otherwise reports at `key` the value, the bound it passes
/// and the whole range (`what` says what the number counts). NaN is in no range.
pub(super) fn check_range<T: PartialOrd + Copy + fmt::Debug>(
    value: T,
    key: &str,
    range: &RangeInclusive<T>,
    what: &str,
    report: &mut impl FnMut(String, String),
) -> Option<T> {
    if range.contains(&value) {
        return Some(value);
    }
    // Debug, not Display: a float shows as 1e-300, not as three hundred zeros.
    let (min, max) = (range.start(), range.end());
    let problem = if value < *min {
        format!("{value:?} is less than the minimum of {min:?}")
    } else if value > *max {
        format!("{value:?} is more than the maximum of {max:?}")
    } else {
        format!("{value:?} is not a number")
    };
    report(
        key.to_string(),
        format!("{problem}; allowed is {min:?} to {max:?} {what}"),
    );
    None
}

/// `duration` (written as `written`) when `range` holds it; otherwise reports at `key` the
/// value as written, the bound it passes and the whole range, with `why` (empty, or words
/// starting with a space).
pub(super) fn check_duration_range(
    duration: Duration,
    written: &str,
    key: &str,
    range: &RangeInclusive<Duration>,
    why: &str,
    report: &mut impl FnMut(String, String),
) -> Option<Duration> {
    if range.contains(&duration) {
        return Some(duration);
    }
    let (min, max) = (show_bound(*range.start()), show_bound(*range.end()));
    let written = written.trim();
    let problem = if duration < *range.start() {
        format!("{written} is shorter than the minimum of {min}")
    } else {
        format!("{written} is longer than the maximum of {max}")
    };
    report(
        key.to_string(),
        format!("{problem}; allowed is {min} to {max}{why}"),
    );
    None
}

/// A bound as an operator writes it: `34d`, `1h`, `10m`, `1s` (humantime would say
/// `1month 3days 13h 26m 24s` for 34 days).
pub(super) fn show_bound(bound: Duration) -> String {
    let seconds = bound.as_secs();
    if bound.subsec_nanos() != 0 || seconds == 0 {
        return humantime::format_duration(bound).to_string();
    }
    [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")]
        .into_iter()
        .find(|(unit, _)| seconds.is_multiple_of(*unit))
        .map_or_else(
            || humantime::format_duration(bound).to_string(),
            |(unit, suffix)| format!("{}{suffix}", seconds / unit),
        )
}

/// A duration key (`None` when absent) within `range`; `None` with a problem reported when it
/// is not a duration or out of range.
pub(super) fn parse_bounded_duration(
    value: Option<&str>,
    key: &str,
    range: &RangeInclusive<Duration>,
    report: &mut impl FnMut(String, String),
) -> Option<Duration> {
    let duration = parse_duration_key(value, key, report)?;
    check_duration_range(duration, value?, key, range, "", report)
}

/// A duration key (`None` when absent); `None` with a problem reported when it is not a
/// duration.
pub(super) fn parse_duration_key(
    value: Option<&str>,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Option<Duration> {
    let value = value?;
    match humantime::parse_duration(value.trim()) {
        Ok(duration) => Some(duration),
        Err(error) => {
            report(
                key.to_string(),
                format!("{value:?} is not a duration ({error}); write it like 15s, 1m or 1m30s"),
            );
            None
        }
    }
}
