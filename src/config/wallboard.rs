//! The wallboard's thresholds (`wallboard:`): when a cell of the page at `/` turns amber or
//! red. Part of [`super::validate`], kept apart because it has a job of its own.

use std::ops::RangeInclusive;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::bounds::{check_range, parse_bounded_duration};

/// `wallboard.oldest_contact_age.*`: a second is the finest the API reports; a contact
/// waiting a day is past any threshold worth colouring.
pub const WALLBOARD_AGE_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(86_400);
/// `wallboard.contacts_in_queue.*` and `wallboard.missed_last_15m.*`: 0 would colour every
/// cell all the time; a million is more than any queue set holds.
pub const WALLBOARD_COUNT_RANGE: RangeInclusive<u64> = 1..=1_000_000;
/// `wallboard.service_level_today.*` and `wallboard.abandonment_today.*`: ratios.
pub const WALLBOARD_RATIO_RANGE: RangeInclusive<f64> = 0.0..=1.0;

/// When the wallboard colours its cells. Each pair is `amber` (warn) and `red` (act); for every
/// cell but the service level a higher value is worse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wallboard {
    /// Seconds the set's longest-waiting contact has waited.
    pub oldest_contact_age: Levels,
    /// Contacts waiting in the set's queues.
    pub contacts_in_queue: Levels,
    /// Missed contacts counted in the last 15 minutes.
    pub missed_last_15m: Levels,
    /// Today's service level of the set's lowest queue, a ratio: lower is worse.
    pub service_level_today: Levels,
    /// Today's abandoned over queued contacts of the set, a ratio.
    pub abandonment_today: Levels,
}

/// The two thresholds of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    /// Where the cell turns amber.
    pub amber: f64,
    /// Where the cell turns red.
    pub red: f64,
}

impl Default for Wallboard {
    /// A minute's wait, five waiting contacts, one missed contact, 80 % service level and 5 %
    /// abandonment warn: the figures contact centres commonly aim at.
    fn default() -> Self {
        Self {
            oldest_contact_age: Levels {
                amber: 60.0,
                red: 180.0,
            },
            contacts_in_queue: Levels {
                amber: 5.0,
                red: 10.0,
            },
            missed_last_15m: Levels {
                amber: 1.0,
                red: 3.0,
            },
            service_level_today: Levels {
                amber: 0.8,
                red: 0.6,
            },
            abandonment_today: Levels {
                amber: 0.05,
                red: 0.1,
            },
        }
    }
}

/// `wallboard:` as written.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Wallboard")]
pub(super) struct RawWallboard {
    /// The oldest waiting contact's age (durations, e.g. `60s`; higher is worse).
    oldest_contact_age: Option<RawLevels<String>>,
    /// Contacts waiting in the set's queues (higher is worse).
    contacts_in_queue: Option<RawLevels<u64>>,
    /// Missed contacts in the last 15 minutes (higher is worse).
    missed_last_15m: Option<RawLevels<u64>>,
    /// The lowest queue's service level today, 0 to 1 (lower is worse).
    service_level_today: Option<RawLevels<f64>>,
    /// The set's abandonment today, 0 to 1 (higher is worse).
    abandonment_today: Option<RawLevels<f64>>,
}

/// One cell's thresholds as written; either may be left to its default.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawLevels<T> {
    /// From this value on the cell is amber.
    amber: Option<T>,
    /// From this value on the cell is red.
    red: Option<T>,
}

/// Which way a cell gets worse: what the order of its thresholds is checked against, and how
/// the wallboard reads a value against them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Worse {
    /// At or above a threshold is that state (counts, ages, abandonment).
    Higher,
    /// Below a threshold is that state (service level).
    Lower,
}

/// The thresholds of `wallboard:`, the defaults where a key is absent; problems are reported
/// at `wallboard.KEY.amber` or `.red`.
pub(super) fn validate_wallboard(
    raw: Option<RawWallboard>,
    report: &mut impl FnMut(String, String),
) -> Wallboard {
    let raw = raw.unwrap_or_default();
    let defaults = Wallboard::default();
    let key = "wallboard.oldest_contact_age";
    let (amber, red) = raw
        .oldest_contact_age
        .map_or((None, None), |levels| (levels.amber, levels.red));
    let mut valid = true;
    let mut seconds = |level: &str, value: Option<String>, default: f64| {
        let Some(value) = value else {
            return default;
        };
        parse_bounded_duration(
            Some(&value),
            &format!("{key}.{level}"),
            &WALLBOARD_AGE_RANGE,
            report,
        )
        .map_or_else(
            || {
                valid = false;
                default
            },
            |duration| duration.as_secs_f64(),
        )
    };
    let written = Written {
        amber: amber.is_some(),
        red: red.is_some(),
    };
    let amber = seconds("amber", amber, defaults.oldest_contact_age.amber);
    let red = seconds("red", red, defaults.oldest_contact_age.red);
    let age = ordered(
        key,
        Worse::Higher,
        (amber, red),
        written.if_valid(valid),
        report,
    );
    let as_f64 = |n: u64| n as f64;
    let contacts = numbers(
        "wallboard.contacts_in_queue",
        raw.contacts_in_queue,
        defaults.contacts_in_queue,
        (&WALLBOARD_COUNT_RANGE, "contacts", as_f64),
        Worse::Higher,
        report,
    );
    let missed = numbers(
        "wallboard.missed_last_15m",
        raw.missed_last_15m,
        defaults.missed_last_15m,
        (&WALLBOARD_COUNT_RANGE, "missed contacts", as_f64),
        Worse::Higher,
        report,
    );
    let service_level = numbers(
        "wallboard.service_level_today",
        raw.service_level_today,
        defaults.service_level_today,
        (&WALLBOARD_RATIO_RANGE, "(a ratio: 0.8 for 80 %)", |r| r),
        Worse::Lower,
        report,
    );
    let abandonment = numbers(
        "wallboard.abandonment_today",
        raw.abandonment_today,
        defaults.abandonment_today,
        (&WALLBOARD_RATIO_RANGE, "(a ratio: 0.05 for 5 %)", |r| r),
        Worse::Higher,
        report,
    );
    Wallboard {
        oldest_contact_age: age,
        contacts_in_queue: contacts,
        missed_last_15m: missed,
        service_level_today: service_level,
        abandonment_today: abandonment,
    }
}

/// One numeric cell's thresholds: each within `range` (with `what` it counts, and how it
/// becomes a float), then in order.
fn numbers<T: PartialOrd + Copy + std::fmt::Debug>(
    key: &str,
    raw: Option<RawLevels<T>>,
    default: Levels,
    (range, what, to_f64): (&RangeInclusive<T>, &str, fn(T) -> f64),
    worse: Worse,
    report: &mut impl FnMut(String, String),
) -> Levels {
    let Some(raw) = raw else {
        return default;
    };
    let written = Written {
        amber: raw.amber.is_some(),
        red: raw.red.is_some(),
    };
    let mut valid = true;
    let mut level = |name: &str, value: Option<T>, default: f64| match value {
        None => default,
        Some(value) => check_range(value, &format!("{key}.{name}"), range, what, report)
            .map_or_else(
                || {
                    valid = false;
                    default
                },
                to_f64,
            ),
    };
    let amber = level("amber", raw.amber, default.amber);
    let red = level("red", raw.red, default.red);
    ordered(key, worse, (amber, red), written.if_valid(valid), report)
}

/// Which of a cell's two thresholds the file wrote.
#[derive(Debug, Clone, Copy)]
struct Written {
    amber: bool,
    red: bool,
}

impl Written {
    /// `Some` when every written value was valid: the pair is then worth comparing.
    fn if_valid(self, valid: bool) -> Option<Self> {
        valid.then_some(self)
    }
}

/// `amber` and `red` when amber is not worse than red (equal is allowed: the cell goes straight
/// to red); otherwise reports it at the threshold the file wrote (`KEY.amber` when it wrote
/// both). `written` is `None` where a value was already refused: nothing is compared then.
fn ordered(
    key: &str,
    worse: Worse,
    (amber, red): (f64, f64),
    written: Option<Written>,
    report: &mut impl FnMut(String, String),
) -> Levels {
    let levels = Levels { amber, red };
    let Some(written) = written else {
        return levels;
    };
    let shown = |value: f64, written: bool| {
        if written {
            format!("{value}")
        } else {
            format!("{value}, the default")
        }
    };
    let (amber_shown, red_shown) = (shown(amber, written.amber), shown(red, written.red));
    let problem = match worse {
        Worse::Higher if amber > red => Some(format!(
            "amber ({amber_shown}) is above red ({red_shown}): higher is worse here, so amber must be at most red (it warns before red)"
        )),
        Worse::Lower if amber < red => Some(format!(
            "amber ({amber_shown}) is below red ({red_shown}): lower is worse for the service level, so amber must be at least red (it warns before red)"
        )),
        _ => None,
    };
    if let Some(problem) = problem {
        let at = if written.amber || !written.red {
            "amber"
        } else {
            "red"
        };
        report(format!("{key}.{at}"), problem);
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(yaml: &str) -> (Wallboard, Vec<(String, String)>) {
        let raw: RawWallboard = serde_yaml::from_str(yaml).expect("the shape parses");
        let mut problems = Vec::new();
        let board =
            validate_wallboard(Some(raw), &mut |key, message| problems.push((key, message)));
        (board, problems)
    }

    #[test]
    fn the_file_s_wallboard_key_reaches_the_config_and_unknown_cells_are_named() {
        let base = "instances:\n  - name: prod\n    instance_id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n    region: eu-west-2\n    queue_sets:\n      - name: support\n        queues: [7e2f1c44-1b2a-4c3d-9e8f-0a1b2c3d4e5f]\n";
        let file = std::path::Path::new("test.yaml");
        let config = super::super::parse(
            &format!("wallboard:\n  contacts_in_queue: {{amber: 2, red: 4}}\n{base}"),
            file,
        )
        .unwrap();
        assert_eq!(
            config.wallboard.contacts_in_queue,
            Levels {
                amber: 2.0,
                red: 4.0
            }
        );
        assert_eq!(
            config.wallboard.abandonment_today,
            Wallboard::default().abandonment_today
        );
        let error = super::super::parse(
            &format!("wallboard:\n  waiting: {{amber: 2}}\n{base}"),
            file,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("wallboard") && error.contains("unknown field `waiting`"),
            "{error}"
        );
    }

    #[test]
    fn absent_keys_take_the_defaults_and_written_ones_replace_them() {
        let (board, problems) = checked(
            "oldest_contact_age: {amber: 30s, red: 2m}\ncontacts_in_queue: {red: 20}\nservice_level_today: {amber: 0.9}\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            board.oldest_contact_age,
            Levels {
                amber: 30.0,
                red: 120.0
            }
        );
        assert_eq!(
            board.contacts_in_queue,
            Levels {
                amber: 5.0,
                red: 20.0
            }
        );
        assert_eq!(
            board.service_level_today,
            Levels {
                amber: 0.9,
                red: 0.6
            }
        );
        assert_eq!(board.missed_last_15m, Wallboard::default().missed_last_15m);
        let mut none = Vec::new();
        assert_eq!(
            validate_wallboard(None, &mut |k, m| none.push((k, m))),
            Wallboard::default()
        );
        assert!(none.is_empty());
    }

    #[test]
    fn amber_worse_than_red_is_refused_at_the_amber_key() {
        let (_, problems) = checked(
            "contacts_in_queue: {amber: 12, red: 10}\nservice_level_today: {amber: 0.5, red: 0.7}\noldest_contact_age: {amber: 5m}\nabandonment_today: {amber: 0.1, red: 0.1}\n",
        );
        let keys: Vec<&str> = problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "wallboard.oldest_contact_age.amber",
                "wallboard.contacts_in_queue.amber",
                "wallboard.service_level_today.amber",
            ],
            "{problems:?}"
        );
        assert!(
            problems[0]
                .1
                .contains("amber (300) is above red (180, the default)"),
            "{problems:?}"
        );
        assert!(problems[2].1.contains("lower is worse"));
    }

    #[test]
    fn a_written_red_beyond_the_default_amber_is_refused_at_the_red_key() {
        let (_, problems) =
            checked("contacts_in_queue: {red: 4}\nservice_level_today: {red: 0.9}\n");
        let keys: Vec<&str> = problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "wallboard.contacts_in_queue.red",
                "wallboard.service_level_today.red"
            ],
            "{problems:?}"
        );
        assert!(problems[1]
            .1
            .contains("amber (0.8, the default) is below red (0.9)"));
    }

    #[test]
    fn values_out_of_range_are_refused_by_key_and_not_compared_again() {
        let (_, problems) = checked(
            "contacts_in_queue: {amber: 0}\nservice_level_today: {red: 1.5}\nabandonment_today: {amber: .nan}\noldest_contact_age: {red: 0s, amber: soon}\nmissed_last_15m: {red: 2000000}\n",
        );
        let keys: Vec<&str> = problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "wallboard.oldest_contact_age.amber",
                "wallboard.oldest_contact_age.red",
                "wallboard.contacts_in_queue.amber",
                "wallboard.missed_last_15m.red",
                "wallboard.service_level_today.red",
                "wallboard.abandonment_today.amber",
            ],
            "{problems:?}"
        );
        assert!(problems[2].1.contains("allowed is 1 to 1000000"));
    }
}
