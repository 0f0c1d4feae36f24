//! The settings every property test shares (test builds only).

use proptest::test_runner::{Config, FileFailurePersistence};

/// `cases` random cases per property; a failure's seed is kept beside the test's source file
/// (`*.proptest-regressions`), not in a folder at the project's top level, and is tried first
/// on every later run.
pub(crate) fn with_cases(cases: u32) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::with_cases(cases)
    }
}
