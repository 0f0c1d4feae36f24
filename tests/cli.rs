//! The real binary: `check-config` verdicts and exit codes, `--version`, and flag errors.

use std::path::Path;
use std::process::{Command, Output};

fn exporter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_amazon-connect-exporter"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn fixture(name: &str) -> String {
    Path::new("tests/fixtures/config")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn valid_files_pass_check_config() {
    for file in [
        fixture("valid-120-queues.yaml"),
        "config/connect-exporter.yaml".to_string(),
        "config/demo.yaml".to_string(),
    ] {
        let output = exporter(&["check-config", &file]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{file}: {output:?}");
        assert!(stdout.starts_with(&format!("{file}: valid:")), "{stdout}");
    }
}

#[test]
fn each_bad_file_gets_one_clear_message_and_exit_code_1() {
    let cases = [
        ("unknown-key.yaml", "instances[0]: unknown field `regoin`"),
        ("empty-name.yaml", "instances[0].name: must not be empty"),
        (
            "duplicate-queue-set.yaml",
            "instances[0].queue_sets[1].name: duplicate queue set name \"support\"",
        ),
        (
            "bad-duration.yaml",
            "instances[0].poll_interval: \"15 parsecs\" is not a duration",
        ),
        (
            "malformed-instance-id.yaml",
            "instances[0].instance_id: \"arn:aws:connect:eu-west-2:123456789012:instance/prod\" is not a Connect instance ARN",
        ),
        (
            "malformed-queue-id.yaml",
            "instances[0].queue_sets[0].queues[1]: \"7e2f1c44-1b2a-4c3d-9e8f\" is not a queue ID",
        ),
        ("not-yaml.yaml", "did not find expected ',' or ']' at line 7"),
        ("missing.yaml", "cannot read the configuration file"),
    ];
    for (name, expected) in cases {
        let file = fixture(name);
        let output = exporter(&["check-config", &file]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.starts_with(&file),
            "{name}: message must name the file: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr}"
        );
        assert!(output.stdout.is_empty(), "{name}: nothing on stdout");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn the_global_config_flag_works_for_check_config() {
    let file = fixture("bad-duration.yaml");
    let output = exporter(&["check-config", "--config.file", &file]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn version_names_the_crate_version() {
    let output = exporter(&["--version"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_missing_config_file_stops_the_exporter_with_exit_code_1() {
    let output = exporter(&[
        "--config.file",
        "tests/fixtures/config/missing.yaml",
        "--web.listen-address",
        "127.0.0.1:0",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the configuration file"),
        "{stderr}"
    );
}
