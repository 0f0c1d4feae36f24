//! README.md cannot drift from the binary.
//!
//! Flags: every flag and environment variable `amazon-connect-exporter --help` shows is a row
//! of the table in "Command line" (with that variable and default), every flag of
//! `simulate --help` a row of the table in "The simulator", every other subcommand's flag is
//! named in "Command line", and every flag or variable the README names anywhere exists.
//!
//! Metrics: every family the demo exports is in the metrics reference (the README's tables
//! with a `metric` and a `labels` column) by its full name and type, and every family there is
//! exported by the demo, unless its `needs` column names a setting (`key: value`, or a bare
//! key: a set that gives it) that the demo's configuration leaves off.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use amazon_connect_exporter::config::schema::json_schema;
use amazon_connect_exporter::demo::DEMO_CONFIG_YAML;
use common::{http_get, spawn_exporter};
use serde_yaml::Value as Yaml;

const BIN: &str = env!("CARGO_BIN_EXE_amazon-connect-exporter");

fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).expect("README.md")
}

/// The text under `heading` (a whole line, such as `### Command line`) up to the next heading
/// of the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no heading {heading:?}"))
        + heading.len()
        + 2;
    let rest = &text[start..];
    let end = rest
        .match_indices("\n#")
        .find(|(at, _)| {
            let hashes = rest[at + 1..].chars().take_while(|c| *c == '#').count();
            hashes <= level && rest[at + 1 + hashes..].starts_with(' ')
        })
        .map_or(rest.len(), |(at, _)| at);
    &rest[..end]
}

/// What is inside backticks in `text`.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A Markdown table: its header cells and rows, each row as header → cell.
struct Table {
    header: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
}

/// Every table in `text`.
fn tables(text: &str) -> Vec<Table> {
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_start_matches('|')
            .trim_end_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_string())
            .collect()
    };
    let mut found = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let is_table = line.starts_with('|')
            && lines
                .peek()
                .is_some_and(|next| next.starts_with("|---") || next.starts_with("| ---"));
        if !is_table {
            continue;
        }
        let header = cells(line);
        lines.next();
        let mut rows = Vec::new();
        while let Some(row) = lines.next_if(|l| l.starts_with('|')) {
            let row = cells(row);
            assert_eq!(
                row.len(),
                header.len(),
                "README.md: a row of the table {header:?} has {} cells: {row:?}",
                row.len()
            );
            rows.push(header.iter().cloned().zip(row).collect());
        }
        found.push(Table { header, rows });
    }
    found
}

/// One option of a `--help` page.
#[derive(Debug)]
struct HelpFlag {
    env: Option<String>,
    default: Option<String>,
}

/// A `--help` page: its options by long name, and its subcommands.
struct Help {
    flags: BTreeMap<String, HelpFlag>,
    subcommands: Vec<String>,
}

/// The real binary's `--help` for `args` (empty for the exporter, `["simulate"]`, ...).
fn help(args: &[&str]) -> Help {
    let output = Command::new(BIN)
        .args(args)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{args:?} --help: {output:?}");
    let text = String::from_utf8(output.stdout).expect("UTF-8 help");
    let mut flags = BTreeMap::new();
    let mut subcommands = Vec::new();
    let mut current: Option<String> = None;
    let mut in_commands = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if line == "Commands:" {
            in_commands = true;
            continue;
        }
        if in_commands {
            match trimmed.split_whitespace().next() {
                Some(name) => subcommands.push(name.to_string()),
                None => in_commands = false,
            }
            continue;
        }
        // `--name <VALUE>` or `-h, --help`; "Possible values" lines are `- value: ...`.
        let option = trimmed.strip_prefix("--").or_else(|| {
            let (short, long) = trimmed.split_once(", --")?;
            (short.len() == 2 && short.starts_with('-')).then_some(long)
        });
        if let Some(option) = option {
            let name = format!("--{}", option.split_whitespace().next().unwrap_or_default());
            flags.insert(
                name.clone(),
                HelpFlag {
                    env: None,
                    default: None,
                },
            );
            current = Some(name);
        } else if let Some(flag) = current.as_ref().and_then(|name| flags.get_mut(name)) {
            // The value after `=` is the variable's value where it is set: not part of it.
            if let Some(env) = trimmed.strip_prefix("[env: ") {
                flag.env = env.split('=').next().map(str::to_string);
            } else if let Some(default) = trimmed.strip_prefix("[default: ") {
                flag.default = default.strip_suffix(']').map(str::to_string);
            }
        }
    }
    assert!(flags.contains_key("--help"), "{args:?} --help: {text}");
    Help { flags, subcommands }
}

/// Compares `help`'s flags (less `skip`) with the flag table of README section `heading`;
/// returns what differs.
fn compare_flag_table(help: &Help, skip: &BTreeSet<String>, heading: &str) -> Vec<String> {
    let readme = readme();
    let text = section(&readme, heading);
    let table = tables(text)
        .into_iter()
        .find(|t| t.header.first().map(String::as_str) == Some("flag"))
        .unwrap_or_else(|| panic!("README.md {heading:?} has no table with a `flag` column"));
    let mut problems = Vec::new();
    let mut documented = BTreeMap::new();
    for row in &table.rows {
        match code_spans(&row["flag"]).as_slice() {
            [flag] if flag.starts_with("--") => {
                documented.insert(flag.to_string(), row);
            }
            _ => problems.push(format!(
                "{heading}: the flag cell {:?} is not one `--flag`",
                row["flag"]
            )),
        }
    }
    let has_env = table.header.iter().any(|h| h == "env");
    for (name, flag) in help.flags.iter().filter(|(name, _)| !skip.contains(*name)) {
        let Some(row) = documented.get(name) else {
            problems.push(format!(
                "{heading}: `{name}` is in --help but not in the table"
            ));
            continue;
        };
        let env_cell = row.get("env").map(String::as_str).unwrap_or_default();
        let wanted_env = flag.env.as_ref().map(|env| format!("`{env}`"));
        match (&wanted_env, has_env) {
            (Some(env), false) => problems.push(format!(
                "{heading}: `{name}` has the environment variable {env}, and the table has no env column"
            )),
            (wanted, true) if env_cell != wanted.as_deref().unwrap_or_default() => {
                problems.push(format!(
                    "{heading}: `{name}`: env {env_cell:?} in the table, {wanted:?} in --help"
                ))
            }
            _ => {}
        }
        if let Some(default) = &flag.default {
            let cell = row.get("default").map(String::as_str).unwrap_or_default();
            if cell != format!("`{default}`") {
                problems.push(format!(
                    "{heading}: `{name}`: default {cell:?} in the table, `{default}` in --help"
                ));
            }
        }
    }
    for name in documented.keys() {
        if !help.flags.contains_key(name) || skip.contains(name) {
            problems.push(format!(
                "{heading}: the table names `{name}`, which --help does not show here"
            ));
        }
    }
    problems
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "README.md has drifted from the binary:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_command_line_table_is_every_flag_of_the_exporter_with_its_variable_and_default() {
    assert_no_problems(compare_flag_table(
        &help(&[]),
        &BTreeSet::new(),
        "### Command line",
    ));
}

#[test]
fn the_simulator_table_is_every_flag_of_simulate() {
    let exporter = help(&[]);
    let simulate = help(&["simulate"]);
    // Global flags (`--config.file`, `--log.*`) and `--help` are the exporter table's.
    let global: BTreeSet<String> = simulate
        .flags
        .keys()
        .filter(|name| exporter.flags.contains_key(*name))
        .cloned()
        .collect();
    assert_no_problems(compare_flag_table(&simulate, &global, "## The simulator"));
}

#[test]
fn every_subcommand_and_its_flags_are_in_the_command_line_section() {
    let readme = readme();
    let text = section(&readme, "### Command line");
    let exporter = help(&[]);
    let mut problems = Vec::new();
    for subcommand in exporter.subcommands.iter().filter(|s| *s != "help") {
        if !text.contains(&format!("\n- `{subcommand}")) {
            problems.push(format!(
                "Command line: no \"- `{subcommand}`\" item for the subcommand {subcommand}"
            ));
        }
        if subcommand == "simulate" {
            continue; // its own table, checked above
        }
        let spans: Vec<&str> = code_spans(text)
            .into_iter()
            .filter(|span| span.starts_with(&format!("{subcommand} ")))
            .collect();
        for flag in help(&[subcommand]).flags.keys() {
            let documented = exporter.flags.contains_key(flag)
                || spans
                    .iter()
                    .any(|span| span.split_whitespace().any(|word| word == flag));
            if !documented {
                problems.push(format!(
                    "Command line: `{subcommand} {flag}` is in --help but not in the section"
                ));
            }
        }
    }
    assert_no_problems(problems);
}

/// The flags a README command or code span names: a span that starts with a flag, a
/// subcommand or the binary, and a code-block line that runs the binary.
fn flags_named_in(readme: &str, subcommands: &[String]) -> Vec<(Option<String>, String)> {
    let mut named = Vec::new();
    let mut take = |words: &[&str]| {
        let subcommand = words
            .first()
            .filter(|word| subcommands.iter().any(|s| s == *word))
            .map(|word| word.to_string());
        for word in words.iter().filter(|word| word.starts_with("--")) {
            let flag = word.split('=').next().unwrap_or(word);
            named.push((subcommand.clone(), flag.to_string()));
        }
    };
    let mut in_code_block = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_code_block = !in_code_block;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if in_code_block {
            if let Some(at) = words
                .iter()
                .position(|w| w.ends_with("amazon-connect-exporter"))
            {
                take(&words[at + 1..]);
            } else if let Some(at) = words.iter().position(|w| *w == "--") {
                // `cargo run --release -- --demo`: what follows `--` is the exporter's.
                if words.first() == Some(&"cargo") {
                    take(&words[at + 1..]);
                }
            }
            continue;
        }
        for span in code_spans(line) {
            let words: Vec<&str> = span.split_whitespace().collect();
            let ours = words.first().is_some_and(|first| {
                first.starts_with("--")
                    || *first == "amazon-connect-exporter"
                    || subcommands.iter().any(|s| s == first)
            });
            if ours {
                let start = usize::from(words.first() == Some(&"amazon-connect-exporter"));
                take(&words[start..]);
            }
        }
    }
    named
}

#[test]
fn every_flag_and_variable_the_readme_names_exists() {
    let readme = readme();
    let exporter = help(&[]);
    let mut problems = Vec::new();
    let subcommand_flags: BTreeMap<String, Help> = exporter
        .subcommands
        .iter()
        .filter(|s| *s != "help")
        .map(|s| (s.clone(), help(&[s])))
        .collect();
    let named = flags_named_in(&readme, &exporter.subcommands);
    assert!(named.len() > 30, "the README names flags: {named:?}");
    for (subcommand, flag) in named {
        let known = match &subcommand {
            Some(s) => subcommand_flags[s].flags.contains_key(&flag),
            None => {
                exporter.flags.contains_key(&flag)
                    || subcommand_flags
                        .values()
                        .any(|h| h.flags.contains_key(&flag))
            }
        };
        if !known {
            let place = subcommand.map_or("the exporter".to_string(), |s| format!("`{s}`"));
            problems.push(format!(
                "README.md names `{flag}`, which {place} does not have"
            ));
        }
    }
    let variables: BTreeSet<&str> = exporter
        .flags
        .values()
        .filter_map(|f| f.env.as_deref())
        .collect();
    let mentioned: BTreeSet<&str> = readme
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|word| word.starts_with("CONNECT_EXPORTER_"))
        .collect();
    for variable in mentioned.difference(&variables) {
        problems.push(format!("README.md names {variable}, which no flag reads"));
    }
    assert_no_problems(problems);
}

/// A family of the README's metrics reference.
#[derive(Debug)]
struct Documented {
    kind: Option<String>,
    /// Alternatives, each `key: value` or `key`; empty: always exported.
    needs: Vec<String>,
}

/// The metrics reference: the README's tables with a `metric` and a `labels` column.
fn metrics_reference(readme: &str) -> (BTreeMap<String, Documented>, Vec<String>) {
    let mut families = BTreeMap::new();
    let mut problems = Vec::new();
    let references = tables(readme).into_iter().filter(|t| {
        t.header.first().map(String::as_str) == Some("metric")
            && t.header.iter().any(|h| h == "labels")
    });
    for table in references {
        for row in &table.rows {
            let needs: Vec<String> = code_spans(&row.get("needs").cloned().unwrap_or_default())
                .into_iter()
                .map(str::to_string)
                .collect();
            if row.get("needs").is_some_and(|cell| !cell.is_empty()) && needs.is_empty() {
                problems.push(format!(
                    "needs {:?}: write the setting in backticks",
                    row["needs"]
                ));
            }
            for name in code_spans(&row["metric"]) {
                if !name.starts_with("amazon_connect_") || name.contains(' ') {
                    problems.push(format!(
                        "metrics reference: {name:?} is not a full metric name"
                    ));
                    continue;
                }
                let entry = Documented {
                    kind: row.get("type").cloned(),
                    needs: needs.clone(),
                };
                if families.insert(name.to_string(), entry).is_some() {
                    problems.push(format!("metrics reference: {name} is listed twice"));
                }
            }
        }
    }
    assert!(
        families.len() > 40,
        "the README's metrics reference has only {} families: {families:?}",
        families.len()
    );
    (families, problems)
}

/// Every key the configuration file knows, at any level (from its schema).
fn configuration_keys() -> BTreeSet<String> {
    fn collect(value: &serde_json::Value, keys: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(object) => {
                if let Some(serde_json::Value::Object(properties)) = object.get("properties") {
                    keys.extend(properties.keys().cloned());
                }
                object.values().for_each(|v| collect(v, keys));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, keys)),
            _ => {}
        }
    }
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).expect("JSON");
    let mut keys = BTreeSet::new();
    collect(&schema, &mut keys);
    keys
}

/// Whether the demo's configuration turns on `setting` (`key: value`, or `key` present) in
/// its defaults, an instance or a queue set.
fn demo_turns_on(setting: &str) -> bool {
    let config: Yaml = serde_yaml::from_str(DEMO_CONFIG_YAML).expect("the demo's YAML");
    let (key, value) = match setting.split_once(':') {
        Some((key, value)) => (key.trim(), Some(value.trim())),
        None => (setting.trim(), None),
    };
    let mut places = vec![&config["defaults"]];
    for instance in config["instances"].as_sequence().into_iter().flatten() {
        places.push(instance);
        places.extend(instance["queue_sets"].as_sequence().into_iter().flatten());
    }
    places.iter().any(|place| match (place.get(key), value) {
        (Some(_), None) => true,
        (Some(found), Some(wanted)) => {
            serde_yaml::to_string(found).is_ok_and(|text| text.trim() == wanted)
        }
        (None, _) => false,
    })
}

/// Families of an exposition by name, with their `# TYPE`.
fn exported_families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_reference_is_what_the_demo_exports() {
    let readme = readme();
    let (documented, mut problems) = metrics_reference(&readme);
    let keys = configuration_keys();
    for (name, family) in &documented {
        for setting in &family.needs {
            let key = setting.split(':').next().unwrap_or_default().trim();
            if !keys.contains(key) {
                problems.push(format!(
                    "{name} needs `{setting}`: {key} is no configuration key"
                ));
            }
        }
    }
    // Families the demo must export: those that need nothing, or a setting the demo turns on.
    let expected: BTreeSet<&String> = documented
        .iter()
        .filter(|(_, family)| {
            family.needs.is_empty() || family.needs.iter().any(|s| demo_turns_on(s))
        })
        .map(|(name, _)| name)
        .collect();

    let (_demo, address) = spawn_exporter(&["--demo"], &[]);
    // Intraday and per-agent families come with their first reads: wait for them, then
    // compare the page that had them all (or the last one).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let exported = loop {
        let exported = exported_families(&http_get(address, "/metrics").await.body);
        if expected.iter().all(|name| exported.contains_key(*name))
            || tokio::time::Instant::now() > deadline
        {
            break exported;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    for (name, kind) in &exported {
        match documented.get(name) {
            None => problems.push(format!(
                "{name} ({kind}) is exported by the demo but not in the metrics reference"
            )),
            Some(Documented {
                kind: Some(written),
                ..
            }) if written != kind => problems.push(format!(
                "{name} is a {kind}; the metrics reference says {written}"
            )),
            Some(_) => {}
        }
    }
    for name in expected {
        if exported.contains_key(name) {
            continue;
        }
        let needs = &documented[name].needs;
        if needs.is_empty() {
            problems.push(format!(
                "{name} is in the metrics reference but the demo does not export it; if it needs a setting, name it in the `needs` column"
            ));
        } else {
            problems.push(format!(
                "{name} needs {needs:?}, which the demo's configuration turns on, yet the demo does not export it"
            ));
        }
    }
    assert_no_problems(problems);
}
