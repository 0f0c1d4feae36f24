//! The JSON Schema of the configuration file, derived from the shapes serde reads it into
//! (`raw.rs`), so that it cannot drift from the parser: editors complete keys and flag
//! typos as one types (yaml-language-server), and CI checks the shipped files with a validator
//! of its own. It states shapes only (keys, types, keywords, required keys, unknown keys
//! refused, non-empty lists, what a duration looks like); ranges, IDs, unique names and rules
//! across keys are `check-config`'s, which stays the authority.
//!
//! The checked-in copy is [`SCHEMA_FILE`]; `tests/schema.rs` fails when it differs from
//! [`json_schema`] and rewrites it with `UPDATE_SCHEMA=1`.

use schemars::generate::SchemaSettings;
use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::Value;

use super::raw::RawConfig;

/// The checked-in schema, relative to the repository root.
pub const SCHEMA_FILE: &str = "config/connect-exporter.schema.json";

/// What a duration looks like to humantime, which reads them (after trimming): numbers, each
/// with a unit (`15s`, `1m30s`, `1h 30m`, `1.5h`), or a bare `0`. Deliberately no stricter
/// than the parser: the units themselves and the ranges are left to `check-config`, so the
/// schema never refuses a file the exporter accepts.
pub(super) const DURATION_PATTERN: &str = r"^\s*(0|([0-9]+(\.[0-9]*)?\s*[A-Za-zµ]+\s*)+)$";

/// An entry of `intraday_windows`: the word `today` or a duration.
pub(super) const WINDOW_PATTERN: &str = r"^\s*(today|0|([0-9]+(\.[0-9]*)?\s*[A-Za-zµ]+\s*)+)$";

/// The schema as checked in: JSON Schema draft 7 (what yaml-language-server and the VS Code
/// YAML extension implement), pretty-printed, with a final newline.
pub fn json_schema() -> String {
    let mut schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawConfig>()
        .to_value();
    unwrap_descriptions(&mut schema);
    format!("{schema:#}\n")
}

/// A `queues:` list: not empty (validation refuses an empty one).
pub(super) fn queue_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string" },
        "minItems": 1
    })
}

/// `queues: all`, the one word `queues:` takes instead of a list.
pub(super) fn all_keyword(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "const": "all"
    })
}

/// Doc comments are wrapped at 100 columns; an editor's hover wraps by itself, so each
/// paragraph of a description becomes one line.
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, member) in object.iter_mut() {
                match member {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.replace('\n', " "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(member),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The patterns as a validator applies them (unanchored search; both patterns carry their
    /// own anchors). The `regex` crate and ECMA-262 agree on this subset.
    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern)
            .expect("the pattern compiles")
            .is_match(text)
    }

    #[test]
    fn every_duration_the_parser_accepts_has_the_schemas_shape() {
        let accepted = [
            "15s",
            "1m",
            "1m30s",
            "1h 30m",
            " 2h ",
            "1.5h",
            "500ms",
            "7d",
            "0",
            "2 minutes",
            "1hour 12min 5s",
            "3µs",
        ];
        for text in accepted {
            assert!(humantime::parse_duration(text.trim()).is_ok(), "{text:?}");
            assert!(matches(DURATION_PATTERN, text), "{text:?}");
            assert!(matches(WINDOW_PATTERN, text), "{text:?}");
        }
        assert!(matches(WINDOW_PATTERN, "today"));
        assert!(!matches(DURATION_PATTERN, "today"));
    }

    #[test]
    fn what_is_plainly_no_duration_is_refused() {
        for text in ["15", "fast", "-5s", "1:30", "s15", "", "15s,"] {
            assert!(humantime::parse_duration(text.trim()).is_err(), "{text:?}");
            assert!(!matches(DURATION_PATTERN, text), "{text:?}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_at_every_level() {
        let schema: serde_json::Value =
            serde_json::from_str(&json_schema()).expect("the schema is JSON");
        assert_eq!(schema["additionalProperties"], false);
        for name in ["Defaults", "Instance", "QueueSet", "RateLimit"] {
            assert_eq!(
                schema["definitions"][name]["additionalProperties"], false,
                "{name}"
            );
        }
    }
}
