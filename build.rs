//! Records the git revision for `amazon_connect_exporter_build_info` and `--version`, and packs
//! the binary's relative relocations where the C library can read them packed.
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
    pack_relative_relocations();
}

/// Links the binary with its relative relocations packed (DT_RELR) when it is built for the
/// GNU C library of this host and that library reads them (2.36 and later): the 47,000
/// relocations of the table `.rela.dyn` (1.1 MB, read whole by the dynamic loader at every
/// start and so resident all the process's life) become a few kilobytes. A binary linked so
/// refuses to start with an older C library, hence the check; a cross build is left as it is.
fn pack_relative_relocations() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if target != host || !target.ends_with("-linux-gnu") {
        return;
    }
    let Some(version) = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
    else {
        return;
    };
    // "glibc 2.36"
    let mut numbers = version
        .trim()
        .trim_start_matches("glibc ")
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let major = numbers.next().unwrap_or(0);
    let minor = numbers.next().unwrap_or(0);
    if (major, minor) >= (2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
