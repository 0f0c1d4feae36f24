//! Property tests of [`super::parse`]: random YAML documents, shaped like configurations but
//! with random numbers, durations, types, missing and unknown keys, never make it panic; it
//! returns either a configuration whose every number lies within its bounds, or an error that
//! names where the problem is.

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_yaml::{Mapping, Value};

use super::*;

const INSTANCE: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const QUEUE: &str = "7e2f1c44-1b2a-4c3d-9e8f-0a1b2c3d4e5f";

/// Cases per property: a few hundred documents parse in well under a second.
const CASES: u32 = 256;

/// Duration texts: plausible ones, the ends of the ranges and beyond, and the absurd.
fn duration_text() -> impl Strategy<Value = String> {
    let units = prop::sample::select(vec![
        "ns", "us", "ms", "s", "m", "h", "d", "w", "days", "months", "years", "y",
    ]);
    prop_oneof![
        // Within most ranges, so that whole documents pass often enough.
        12 => (1u64..60, prop::sample::select(vec!["s", "m"]))
            .prop_map(|(n, unit)| format!("{n}{unit}")),
        3 => (0u64..5_000, units.clone()).prop_map(|(n, unit)| format!("{n}{unit}")),
        2 => prop::sample::select(vec![
            "0s", "1ns", "999ms", "1s", "9s", "10s", "59s", "1m", "10m", "11m", "1h", "61m",
            "1d", "25h", "7d", "8d", "34d", "35d", "10000years", "584942417355years",
            "18446744073709551615s", "18446744073709551616s", "99999999999999999999999d",
            "1e-300", "-1s", "NaN", "inf", "", " ", "1s 1s", "15 parsecs", "1h30m", "1.5s",
            "today", "0.000000001s",
        ])
        .prop_map(String::from),
        1 => (any::<u64>(), units).prop_map(|(n, unit)| format!("{n}{unit}")),
        1 => "\\PC{0,12}",
    ]
}

/// Floats at and around every bound, the IEEE specials, and anything at all.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => prop::sample::select(vec![
            0.0, -0.0, 1e-300, -1e-300, 0.009_999, 0.01, 0.5, 1.0, 1.000_001, 80.0, 10_000.0,
            10_000.000_1, 1e300, f64::MAX, f64::MIN, f64::MIN_POSITIVE, f64::EPSILON, f64::NAN,
            f64::INFINITY, f64::NEG_INFINITY, -1.0,
        ]),
        2 => 0.0..=1.0f64,
        2 => 0.0..20_000.0f64,
        1 => any::<f64>(),
    ]
}

/// Integers at and around every bound, negative ones and the largest.
fn integer() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (0..12_000_000u64).prop_map(Value::from),
        2 => prop::sample::select(vec![
            0i64, 1, 2, 100_000, 100_001, 10_000_000, 10_000_001, -1, i64::MIN, i64::MAX,
            i64::from(u32::MAX), i64::from(u32::MAX) + 1,
        ])
        .prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
    ]
}

/// A value of the wrong type, or of any type.
fn anything() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        integer(),
        float().prop_map(Value::from),
        duration_text().prop_map(Value::String),
        Just(Value::Sequence(vec![Value::from(1), Value::from("x")])),
        Just(Value::Mapping(Mapping::new())),
    ]
}

/// How often a value is replaced by one of any type, against [`TYPED`]: rarely, so that most
/// documents get past serde to the checks of values (a wrong type stops the whole file).
const ANY_TYPE: u32 = 1;
/// See [`ANY_TYPE`].
const TYPED: u32 = 60;

/// Mostly a duration text, rarely any value.
fn duration_value() -> BoxedStrategy<Value> {
    prop_oneof![
        TYPED => duration_text().prop_map(Value::String),
        ANY_TYPE => anything(),
    ]
    .boxed()
}

/// Mostly a float (the YAML number), rarely any value.
fn float_value() -> BoxedStrategy<Value> {
    prop_oneof![TYPED => float().prop_map(Value::from), ANY_TYPE => anything()].boxed()
}

/// Mostly an integer, rarely any value (floats and strings included).
fn integer_value() -> BoxedStrategy<Value> {
    prop_oneof![TYPED => integer(), ANY_TYPE => anything()].boxed()
}

/// Mostly one of `good`, sometimes one of `bad`, rarely any value.
fn word_value(good: &'static [&'static str], bad: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![
        TYPED => prop::sample::select(good).prop_map(Value::from),
        ANY_TYPE => prop::sample::select(bad).prop_map(Value::from),
        ANY_TYPE => anything(),
    ]
    .boxed()
}

fn bool_value() -> BoxedStrategy<Value> {
    prop_oneof![TYPED => any::<bool>().prop_map(Value::Bool), ANY_TYPE => anything()].boxed()
}

/// A list of `item`s (empty to a few), rarely any value instead.
fn list_value(item: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![
        TYPED => prop::collection::vec(item, 0..4).prop_map(Value::Sequence),
        ANY_TYPE => anything(),
    ]
    .boxed()
}

/// A mapping of `fields`, each present with its probability, sometimes with an unknown key,
/// sometimes not a mapping at all.
fn mapping(fields: Vec<(&'static str, f64, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let entries: Vec<BoxedStrategy<Option<(Value, Value)>>> = fields
        .into_iter()
        .map(|(key, present, value)| {
            prop::option::weighted(present, value.prop_map(move |v| (Value::from(key), v))).boxed()
        })
        .collect();
    let unknown = prop::option::weighted(
        0.005,
        anything().prop_map(|v| (Value::from("surprise_key"), v)),
    );
    let mapping = (entries, unknown).prop_map(|(entries, unknown)| {
        Value::Mapping(entries.into_iter().chain([unknown]).flatten().collect())
    });
    prop_oneof![2 * TYPED => mapping, ANY_TYPE => anything()].boxed()
}

/// The keys instances and `defaults:` share, each likely present.
fn shared_keys(present: f64) -> Vec<(&'static str, f64, BoxedStrategy<Value>)> {
    vec![
        (
            "region",
            present,
            word_value(&["eu-west-2", "us-east-1"], &["mars-1", ""]),
        ),
        ("poll_interval", present, duration_value()),
        ("poll_timeout", present, duration_value()),
        (
            "request_planner",
            present,
            word_value(&["auto", "queues", "routing_profiles"], &["x"]),
        ),
        (
            "label_values",
            present,
            word_value(&["names", "ids"], &["uuids"]),
        ),
        ("directory_refresh_interval", present, duration_value()),
        ("directory_timeout", present, duration_value()),
        ("queue_metrics", present, bool_value()),
        (
            "oldest_contact_age_unit",
            present,
            word_value(&["seconds", "milliseconds"], &["hours"]),
        ),
        ("agent_series", present, bool_value()),
        ("series_limit", present, integer_value()),
        ("hierarchy_labels", present, bool_value()),
        ("intraday", present, bool_value()),
        ("intraday_interval", present, duration_value()),
        (
            "time_zone",
            present,
            word_value(&["UTC", "Europe/London"], &["Mars/Olympus"]),
        ),
        (
            "intraday_windows",
            present,
            list_value(
                prop_oneof![
                    1 => Just(Value::from("today")),
                    3 => duration_text().prop_map(Value::String),
                ]
                .boxed(),
            ),
        ),
        (
            "service_level_comparison",
            present,
            word_value(&["lt", "lte"], &["gt"]),
        ),
    ]
}

fn queue_set() -> BoxedStrategy<Value> {
    mapping(vec![
        (
            "name",
            0.99,
            word_value(&["support", "sales"], &["", " padded"]),
        ),
        (
            "queues",
            0.97,
            prop_oneof![
                4 => Just(Value::Sequence(vec![Value::from(QUEUE)])),
                1 => Just(Value::from("all")),
                1 => list_value(word_value(&[QUEUE, "Support"], &["7e2f1c44-zzzz"])),
            ]
            .boxed(),
        ),
        (
            "routing_profiles",
            0.02,
            list_value(word_value(&["Front", QUEUE], &[""])),
        ),
        ("hierarchy_group", 0.02, word_value(&["North"], &[QUEUE])),
        ("include", 0.02, word_value(&["^Sales"], &["("])),
        ("exclude", 0.02, word_value(&["(?i)test"], &["["])),
        (
            "service_level_thresholds",
            0.2,
            list_value(duration_value()),
        ),
        ("service_level_target", 0.2, float_value()),
    ])
}

fn instance() -> BoxedStrategy<Value> {
    let mut keys = vec![
        ("name", 0.99, word_value(&["prod"], &["", "x"])),
        (
            "instance_id",
            0.99,
            word_value(&[INSTANCE], &["not-a-uuid"]),
        ),
        (
            "endpoint_url",
            0.1,
            word_value(&["http://127.0.0.1:8808"], &["ftp://x"]),
        ),
        (
            "role_arn",
            0.05,
            word_value(&["arn:aws:iam::123456789012:role/x"], &["arn"]),
        ),
        (
            "queue_sets",
            0.99,
            prop_oneof![
                TYPED => prop::collection::vec(queue_set(), 1..3).prop_map(Value::Sequence),
                ANY_TYPE => anything(),
            ]
            .boxed(),
        ),
    ];
    keys.extend(shared_keys(0.2));
    mapping(keys)
}

fn rate_limits() -> BoxedStrategy<Value> {
    let limit = mapping(vec![
        ("rate", 0.95, float_value()),
        ("burst", 0.95, integer_value()),
    ]);
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "GetCurrentUserData",
                "GetMetricDataV2",
                "ListQueues",
                "GetEverything",
            ]),
            limit,
        ),
        0..3,
    )
    .prop_map(|entries| {
        Value::Mapping(
            entries
                .into_iter()
                .map(|(operation, limit)| (Value::from(operation), limit))
                .collect(),
        )
    })
    .boxed()
}

/// `wallboard:` with some cells' thresholds.
fn wallboard() -> BoxedStrategy<Value> {
    let levels = |value: fn() -> BoxedStrategy<Value>| {
        mapping(vec![("amber", 0.7, value()), ("red", 0.7, value())])
    };
    mapping(vec![
        ("oldest_contact_age", 0.5, levels(duration_value)),
        ("contacts_in_queue", 0.5, levels(integer_value)),
        ("missed_last_15m", 0.5, levels(integer_value)),
        ("service_level_today", 0.5, levels(float_value)),
        ("abandonment_today", 0.5, levels(float_value)),
    ])
}

/// A whole document, written out as YAML text.
fn document() -> impl Strategy<Value = String> {
    mapping(vec![
        ("defaults", 0.5, mapping(shared_keys(0.2))),
        ("api_rate_limits", 0.3, rate_limits()),
        ("wallboard", 0.3, wallboard()),
        (
            "instances",
            0.99,
            prop_oneof![
                TYPED => prop::collection::vec(instance(), 1..3).prop_map(Value::Sequence),
                ANY_TYPE => anything(),
            ]
            .boxed(),
        ),
    ])
    .prop_map(|mut document| {
        distinct_names(&mut document);
        serde_yaml::to_string(&document).unwrap_or_default()
    })
}

/// Numbers the names and instance IDs the generator wrote alike, so that a document is not
/// refused for duplicates (a check the other cases cover) more often than for its numbers.
fn distinct_names(document: &mut Value) {
    let Some(Value::Sequence(instances)) = document.get_mut("instances") else {
        return;
    };
    for (index, instance) in instances.iter_mut().enumerate() {
        let Value::Mapping(instance) = instance else {
            continue;
        };
        if let Some(Value::String(name)) = instance.get_mut("name") {
            name.push_str(&index.to_string());
        }
        if let Some(Value::String(id)) = instance.get_mut("instance_id") {
            if id.as_str() == INSTANCE {
                *id = format!("{}{index}", &INSTANCE[..INSTANCE.len() - 1]);
            }
        }
        let Some(Value::Sequence(sets)) = instance.get_mut("queue_sets") else {
            continue;
        };
        for (set_index, set) in sets.iter_mut().enumerate() {
            if let Some(Value::String(name)) = set.get_mut("name") {
                name.push_str(&set_index.to_string());
            }
        }
    }
}

/// Every number of an accepted configuration lies within its bounds, and what the scheduler
/// and the request budget compute from it is representable.
fn assert_within_bounds(config: &Config) {
    let now = Instant::now();
    for instance in &config.instances {
        assert!(POLL_INTERVAL_RANGE.contains(&instance.poll_interval));
        assert!(POLL_TIMEOUT_RANGE.contains(&instance.poll_timeout));
        assert!(DIRECTORY_REFRESH_RANGE.contains(&instance.directory_refresh_interval));
        assert!(DIRECTORY_TIMEOUT_RANGE.contains(&instance.directory_timeout));
        assert!(SERIES_LIMIT_RANGE.contains(&instance.series_limit));
        assert!(INTRADAY_INTERVAL_RANGE.contains(&instance.intraday.interval));
        for window in &instance.intraday.windows {
            if let IntradayWindow::Trailing(length) = window {
                assert!(TRAILING_WINDOW_RANGE.contains(length));
            }
        }
        // The scheduler jitters intervals by a fraction and adds them and the timeout to now.
        for interval in [
            instance.poll_interval,
            instance.intraday.interval,
            instance.directory_refresh_interval,
        ] {
            let jittered = Duration::try_from_secs_f64(interval.as_secs_f64() * 1.5);
            assert!(jittered.is_ok_and(|d| now.checked_add(d + instance.poll_timeout).is_some()));
        }
        for set in &instance.queue_sets {
            assert!(set.service_level_thresholds.len() <= MAX_SERVICE_LEVEL_THRESHOLDS);
            assert!(set
                .service_level_thresholds
                .iter()
                .all(|t| SERVICE_LEVEL_THRESHOLD_RANGE.contains(t)));
            assert!(set
                .service_level_target
                .is_none_or(|target| target > 0.0 && target <= 1.0));
        }
    }
    let board = &config.wallboard;
    let age = WALLBOARD_AGE_RANGE.start().as_secs_f64()..=WALLBOARD_AGE_RANGE.end().as_secs_f64();
    let count = *WALLBOARD_COUNT_RANGE.start() as f64..=*WALLBOARD_COUNT_RANGE.end() as f64;
    for (levels, range, higher_is_worse) in [
        (board.oldest_contact_age, &age, true),
        (board.contacts_in_queue, &count, true),
        (board.missed_last_15m, &count, true),
        (board.service_level_today, &WALLBOARD_RATIO_RANGE, false),
        (board.abandonment_today, &WALLBOARD_RATIO_RANGE, true),
    ] {
        assert!(range.contains(&levels.amber) && range.contains(&levels.red));
        assert!(if higher_is_worse {
            levels.amber <= levels.red
        } else {
            levels.amber >= levels.red
        });
    }
    for limit in config.api_rate_limits.values() {
        assert!(API_RATE_RANGE.contains(&limit.rate));
        assert!(limit.burst >= 1.0 && limit.burst <= f64::from(*API_BURST_RANGE.end()));
        // The budget waits up to 1 / rate seconds for a token, at a tenth of the configured
        // rate after throttling.
        let wait = Duration::try_from_secs_f64(1.0 / (limit.rate * 0.1));
        assert!(wait.is_ok_and(|wait| now.checked_add(wait).is_some()));
    }
}

/// The first segment of a key path (`instances[0].poll_interval` → `instances`).
fn top_level(key: &str) -> &str {
    key.split(['.', '[']).next().unwrap_or(key)
}

/// Parses `text` and checks the outcome: in bounds when accepted, a named place otherwise.
fn check(text: &str) -> Result<(), TestCaseError> {
    match parse(text, Path::new("random.yaml")) {
        Ok(config) => assert_within_bounds(&config),
        Err(ConfigError::Invalid { problems, .. }) => {
            prop_assert!(!problems.is_empty());
            for problem in &problems {
                prop_assert!(
                    ["defaults", "instances", "api_rate_limits", "wallboard"]
                        .contains(&top_level(&problem.key)),
                    "{problem:?}"
                );
                prop_assert!(!problem.message.is_empty(), "{problem:?}");
            }
        }
        Err(error @ ConfigError::Syntax { .. }) => {
            // serde_yaml names the key path of a nested mistake; a mistake of the document
            // itself (not a mapping, `instances` missing) has the line and column instead.
            let message = error.to_string();
            prop_assert!(message.starts_with("random.yaml: "), "{message}");
            prop_assert!(
                [
                    "defaults",
                    "instances",
                    "api_rate_limits",
                    "wallboard",
                    "line "
                ]
                .iter()
                .any(|place| message.contains(place)),
                "{message}"
            );
        }
        Err(error @ ConfigError::Read { .. }) => {
            prop_assert!(false, "parsing text read a file: {error}");
        }
    }
    Ok(())
}

/// A valid configuration with `key` set to `value` (as YAML text) in its instance, its first
/// queue set, `defaults:` or the rate limits, by the key; and the key path a problem with it
/// is reported at.
fn one_key(key: &str, value: &str) -> (String, String) {
    let base = format!(
        "instances:\n  - name: prod\n    instance_id: {INSTANCE}\n    region: eu-west-2\n    queue_sets:\n      - name: support\n        queues: [{QUEUE}]\n"
    );
    match key {
        "rate" | "burst" => {
            // Block style: serde_yaml writes scalars for it, not for a flow mapping.
            let other = if key == "rate" { "burst: 5" } else { "rate: 5" };
            (
                format!("api_rate_limits:\n  ListQueues:\n    {key}: {value}\n    {other}\n{base}"),
                format!("api_rate_limits.ListQueues.{key}"),
            )
        }
        _ if key.starts_with("wallboard.") => {
            let mut parts = key.split('.').skip(1);
            let (cell, level) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            (
                format!("wallboard:\n  {cell}:\n    {level}: {value}\n{base}"),
                key.to_string(),
            )
        }
        "service_level_target" => (
            format!("{base}        {key}: {value}\n"),
            format!("instances[0].queue_sets[0].{key}"),
        ),
        "service_level_thresholds" | "intraday_windows" => {
            let path = if key == "intraday_windows" {
                "instances[0].intraday_windows"
            } else {
                "instances[0].queue_sets[0].service_level_thresholds"
            };
            let text = if key == "intraday_windows" {
                base.replace(
                    "    region:",
                    &format!("    {key}:\n      - {value}\n    region:"),
                )
            } else {
                format!("{base}        {key}:\n          - {value}\n")
            };
            (text, path.to_string())
        }
        _ => match key.strip_prefix("defaults.") {
            Some(name) => (
                format!("defaults:\n  {name}: {value}\n{base}"),
                key.to_string(),
            ),
            None => (
                base.replace("    region:", &format!("    {key}: {value}\n    region:")),
                format!("instances[0].{key}"),
            ),
        },
    }
}

/// `value` as YAML writes it (quoted where it must be).
fn yaml_scalar(value: &Value) -> String {
    serde_yaml::to_string(value)
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// A YAML scalar as written in the file: numbers of every size and sign, specials, durations.
fn scalar_text() -> impl Strategy<Value = String> {
    prop_oneof![
        duration_text().prop_map(|text| yaml_scalar(&Value::String(text))),
        // Unquoted only where the text cannot change the document's structure.
        duration_text().prop_filter("a plain YAML scalar", |text| text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .+-".contains(c))),
        float().prop_map(|f| format!("{f:e}")),
        float().prop_map(|f| f.to_string()),
        integer().prop_map(|value| yaml_scalar(&value)),
        prop::sample::select(vec![
            ".nan", ".inf", "-.inf", "~", "null", "[]", "{}", "true"
        ])
        .prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(crate::proptest_settings::with_cases(CASES))]

    #[test]
    fn random_documents_never_panic_and_errors_name_their_place(text in document()) {
        check(&text)?;
    }

    /// One bounded key of an otherwise valid file set to a random scalar: accepted within its
    /// bounds, else an error at exactly that key.
    #[test]
    fn each_bounded_key_is_accepted_in_range_or_refused_by_name(
        key in prop::sample::select(vec![
            "poll_interval", "poll_timeout", "directory_refresh_interval", "directory_timeout",
            "series_limit",
            "intraday_interval", "intraday_windows", "defaults.poll_interval",
            "defaults.poll_timeout", "defaults.directory_refresh_interval",
            "defaults.directory_timeout",
            "defaults.series_limit", "defaults.intraday_interval", "rate", "burst",
            "service_level_thresholds", "service_level_target",
            "wallboard.oldest_contact_age.amber", "wallboard.oldest_contact_age.red",
            "wallboard.contacts_in_queue.amber", "wallboard.missed_last_15m.red",
            "wallboard.service_level_today.amber", "wallboard.service_level_today.red",
            "wallboard.abandonment_today.red",
        ]),
        value in scalar_text(),
    ) {
        let (text, path) = one_key(key, &value);
        check(&text)?;
        match parse(&text, Path::new("random.yaml")) {
            Ok(_) => {}
            Err(ConfigError::Invalid { problems, .. }) => {
                for problem in &problems {
                    prop_assert!(problem.key.starts_with(&path), "{path}: {problem:?}\n{text}");
                }
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.contains(&path), "{path}: {message}\n{text}");
            }
        }
    }
}
