//! The checked-in JSON Schema of the configuration file is the one the configuration types
//! give today, and every shipped configuration file names it for editors.
//!
//! After changing the configuration's shapes (src/config/raw.rs), regenerate it with
//! `UPDATE_SCHEMA=1 cargo test --test schema` and commit the result.

use std::path::Path;

use amazon_connect_exporter::config::schema::{json_schema, SCHEMA_FILE};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_checked_in_schema_is_up_to_date() {
    let path = repo(SCHEMA_FILE);
    let generated = json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{SCHEMA_FILE}: {e}"));
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{SCHEMA_FILE} is out of date with the configuration types (src/config/raw.rs); \
         regenerate it with `UPDATE_SCHEMA=1 cargo test --test schema` and commit it"
    );
}

/// The files an operator copies or edits, each with the comment that makes
/// yaml-language-server (the VS Code YAML extension and others) use the schema, and the
/// relative path to it right (the Kubernetes configurations are plain files that kustomize
/// turns into the ConfigMap, so they carry it too).
#[test]
fn every_shipped_configuration_names_the_schema() {
    let files = [
        "config/connect-exporter.yaml",
        "config/demo.yaml",
        "deploy/compose/connect-exporter.yaml",
        "deploy/kubernetes/base/config.yaml",
        "deploy/kubernetes/overlays/example-account/config.yaml",
    ];
    for file in files {
        let text = std::fs::read_to_string(repo(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let first = text.lines().next().unwrap_or_default();
        let target = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| {
                panic!("{file}: the first line must be `# yaml-language-server: $schema=PATH`, found {first:?}")
            });
        let resolved = repo(file)
            .parent()
            .expect("a file has a folder")
            .join(target);
        assert_eq!(
            resolved.canonicalize().ok(),
            repo(SCHEMA_FILE).canonicalize().ok(),
            "{file}: $schema={target} is not {SCHEMA_FILE}"
        );
    }
}
