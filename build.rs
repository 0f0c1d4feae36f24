//! Records the git revision for `amazon_connect_exporter_build_info` and `--version`.
//!
//! `BUILD_REVISION` in the environment wins (a Docker build has no `.git`); otherwise git is
//! asked, and `unknown` is recorded when there is no repository.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BUILD_REVISION");
    let from_environment = std::env::var("BUILD_REVISION")
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    let revision = from_environment
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BUILD_REVISION={revision}");
    // Ask git where HEAD and the refs live: in a worktree `.git` is a file and the refs are in
    // the main repository. Only watch paths that exist: a missing one would rerun this script
    // on every build.
    for name in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
