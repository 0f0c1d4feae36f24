//! Configuration: parses the YAML file into typed structs and validates it.
//!
//! Every error names the file, the key path (`instances[0].queue_sets[1].queues[3]`) and what is
//! allowed there. Unknown keys are errors. A leaf: it imports no other module of the exporter
//! and never touches the network; every enum it deserialises is defined here.
//!
//! [`raw`] holds the YAML shapes, [`validate`] turns them into the typed [`Config`], [`ids`]
//! reads IDs and ARNs, [`rate_limits`] the request budgets' defaults, [`shard`] splits a
//! configuration between replicas, [`schema`] gives the file's JSON Schema; `bounds` checks
//! numbers and durations against their ranges, `intraday` and `wallboard` validate the keys of
//! their features.

pub mod agent_events;
mod bounds;
pub mod ids;
mod intraday;
#[cfg(test)]
mod properties;
pub mod rate_limits;
mod raw;
pub mod schema;
pub mod shard;
mod validate;
mod wallboard;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use agent_events::AgentEvents;
pub use rate_limits::RateLimit;
pub use wallboard::{
    Levels, Wallboard, Worse, WALLBOARD_AGE_RANGE, WALLBOARD_COUNT_RANGE, WALLBOARD_RATIO_RANGE,
};

/// Poll interval used when neither the instance nor `defaults` sets one.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// How often names and the queues of each routing profile are read again, unless configured.
pub const DEFAULT_DIRECTORY_REFRESH: Duration = Duration::from_secs(300);
/// Data series one queue set may publish unless `series_limit` says otherwise. Well above what
/// the aggregate and backlog families of the largest set measured need (52,000 at 50,000
/// agents on 1,000 queues), low enough that per-agent series of such a set (about 500,000)
/// stop here instead of at Prometheus's `sample_limit`, which would fail the whole scrape.
pub const DEFAULT_SERIES_LIMIT: usize = 200_000;
/// The shortest default poll timeout: a poll waiting for the request budget is slow, not
/// broken (10,000 agents take 50 s at the default 2 requests/s).
pub const MIN_DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(60);
/// Time between two reads of the intraday KPIs unless `intraday_interval` says otherwise: they
/// are aggregates, and need not follow the real-time round.
pub const DEFAULT_INTRADAY_INTERVAL: Duration = Duration::from_secs(60);

// The bounds of every number in the file, in one place. Each key has a smallest and a largest
// accepted value, so that no value an operator can write reaches the scheduler, the request
// budget or the timers as a duration or rate they cannot represent (a rate of 1e-300 made the
// budget's wait overflow a `Duration`; an interval of u64::MAX seconds overflowed `Instant`).
// The maxima are far above anything useful and far below anything that overflows.

/// `poll_interval`: faster polling only burns the shared API budget; slower than an hourly
/// round is not real-time data any more.
pub const POLL_INTERVAL_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);
/// `poll_timeout`: one poll, retries and budget waits included. Below a second no request
/// completes; above ten minutes a hung poll holds its instance's round for too long.
pub const POLL_TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(600);
/// `directory_refresh_interval`: each read costs one ListQueues per 1,000 queues and one
/// SearchRoutingProfiles per 500 routing profiles (the tests read every second); a directory
/// older than a day labels renamed queues by their old names for too long.
pub const DIRECTORY_REFRESH_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(86_400);
/// `directory_timeout`: one read of the routing directory, budget waits included. A read
/// cut short continues at the next attempt, so even a short one makes progress; above an hour
/// a hung read holds back the next one for too long.
pub const DIRECTORY_TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);
/// `directory_timeout` unless configured: 2,000 routing profiles take a few pages of
/// SearchRoutingProfiles at half its budget, well inside it.
pub const DEFAULT_DIRECTORY_TIMEOUT: Duration = Duration::from_secs(120);
/// `intraday_interval`: the KPIs are aggregates over minutes to days.
pub const INTRADAY_INTERVAL_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(10)..=Duration::from_secs(3600);
/// A trailing window of `intraday_windows`: GetMetricDataV2's TOTAL interval spans less than
/// 35 days.
pub const TRAILING_WINDOW_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(34 * 86_400);
/// A `service_level_thresholds` entry, in whole seconds: what the API accepts (up to 7 days).
pub const SERVICE_LEVEL_THRESHOLD_RANGE: RangeInclusive<u32> = 1..=604_800;
/// The most service-level thresholds a set may name (a GetMetricDataV2 request carries at most
/// 20 SERVICE_LEVEL metrics).
pub const MAX_SERVICE_LEVEL_THRESHOLDS: usize = 20;
/// `series_limit`: a set that may publish nothing would only ever drop; ten million series is
/// more than one Prometheus server takes from one target.
pub const SERIES_LIMIT_RANGE: RangeInclusive<usize> = 1..=10_000_000;
/// `api_rate_limits.*.rate`, requests per second: one request in 100 s is the slowest budget
/// that still serves a poll (after throttling the budget slows to a tenth, one request in
/// 1,000 s); 10,000 is far above any Connect quota.
pub const API_RATE_RANGE: RangeInclusive<f64> = 0.01..=10_000.0;
/// `api_rate_limits.*.burst`, requests the budget lets through at once after a quiet spell.
pub const API_BURST_RANGE: RangeInclusive<u32> = 1..=100_000;
/// Longest accepted `name` (it becomes a label value), in characters.
const MAX_NAME_LEN: usize = 128;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The Connect instances to poll, in file order.
    pub instances: Vec<Instance>,
    /// Request budget overrides by API operation; the rest use the published defaults.
    pub api_rate_limits: BTreeMap<String, RateLimit>,
    /// The share of each List* and Search* budget the routing-directory reads may spend, so
    /// that the console and other tools of the account keep the rest.
    pub directory_budget_share: f64,
    /// How long a missed/rejected contact total whose queue and channel appear in no poll is
    /// kept before its series ends.
    pub counter_ttl: Duration,
    /// When the wallboard at `/` colours its cells amber or red.
    pub wallboard: Wallboard,
}

/// `counter_ttl` unless configured.
pub const DEFAULT_COUNTER_TTL: Duration = Duration::from_secs(3600);
/// `counter_ttl`: at least a few rounds; at most a week, beyond which the series of every
/// queue ever transferred through stay for good.
pub const COUNTER_TTL_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(7 * 86_400);

/// The share of the List*/Search* budgets directory reads spend unless configured.
pub const DEFAULT_DIRECTORY_BUDGET_SHARE: f64 = 0.5;
/// `directory_budget_share`: below a twentieth a directory of a few pages takes minutes.
pub const DIRECTORY_BUDGET_SHARE_RANGE: RangeInclusive<f64> = 0.05..=1.0;

/// One Amazon Connect instance and the queue sets polled on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Config name; the `connect_instance` label.
    pub name: String,
    /// The bare instance ID (an ARN in the file is reduced to its ID).
    pub instance_id: String,
    /// The instance ARN when the file gives one (GetMetricDataV2 takes the ARN; without it the
    /// exporter asks DescribeInstance once).
    pub instance_arn: Option<String>,
    /// AWS region; `None` leaves it to the SDK's region chain.
    pub region: Option<String>,
    /// The AWS account, when the instance ARN or the role ARN names it; instances of one
    /// account and region share one request budget.
    pub account_id: Option<String>,
    /// Endpoint override (simulator, VPC endpoint).
    pub endpoint_url: Option<String>,
    /// IAM role assumed through STS before calling Connect.
    pub role_arn: Option<String>,
    /// Time between the starts of two polls of one queue set.
    pub poll_interval: Duration,
    /// Upper bound on one poll, retries included.
    pub poll_timeout: Duration,
    /// How rounds are planned: `auto` (default), `queues` or `routing_profiles`.
    pub request_planner: PlannerMode,
    /// Whether `queue` and `routing_profile` labels carry names (default) or IDs.
    pub label_values: LabelValues,
    /// How often names and the queues of each routing profile are read again.
    pub directory_refresh_interval: Duration,
    /// Upper bound on one directory read; a read cut short keeps what it read and the next
    /// one continues from there.
    pub directory_timeout: Duration,
    /// Whether each round also reads GetCurrentMetricData for the sets' queues (the backlog).
    pub queue_metrics: bool,
    /// The unit GetCurrentMetricData's grouped OLDEST_CONTACT_AGE comes in.
    pub oldest_contact_age_unit: AgeUnit,
    /// Whether every agent gets series of its own (status, slots, contacts), not only the
    /// aggregates.
    pub agent_series: bool,
    /// Most data series one queue set publishes per round; the rest are dropped and counted.
    pub series_limit: usize,
    /// Whether agents are also counted by user hierarchy group (each level of their path).
    pub hierarchy_labels: bool,
    /// The intraday KPIs (GetMetricDataV2): when, over which windows, in which time zone.
    pub intraday: Intraday,
    /// The Kinesis stream of the instance's agent events, when one is read.
    pub agent_events: Option<AgentEvents>,
    /// The queue sets, in file order.
    pub queue_sets: Vec<QueueSet>,
}

/// A named group of queues whose agents are summed together.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSet {
    /// Config name; the `queue_set` label.
    pub name: String,
    /// Bare queue IDs, in file order, without duplicates. May exceed 100: the source chunks them.
    /// Empty when the queues are discovered.
    pub queue_ids: Vec<String>,
    /// Queues given by name, resolved through ListQueues at start, on reload and at every
    /// directory read.
    pub queue_names: Vec<String>,
    /// `queues: all`: every STANDARD queue of the instance whose name passes the patterns,
    /// found again at every directory read.
    pub discovery: Option<QueueDiscovery>,
    /// Whether the agents are those serving the queues (the default) or those of routing
    /// profiles or a hierarchy group; then the queue lists are empty.
    pub selector: AgentSelector,
    /// Service-level thresholds in whole seconds, ascending, each once (at most 20); a set with
    /// any reads the intraday KPIs whatever the instance's `intraday` says.
    pub service_level_thresholds: Vec<u32>,
    /// The service level the set aims for, a ratio from 0 to 1, published for dashboards and
    /// alerts to compare with.
    pub service_level_target: Option<f64>,
}

impl QueueSet {
    /// Whether the set reads the intraday KPIs: it names thresholds, or its instance turns them
    /// on for every set.
    pub fn reads_intraday(&self, instance: &Intraday) -> bool {
        instance.enabled || !self.service_level_thresholds.is_empty()
    }
}

/// The intraday KPIs of an instance (GetMetricDataV2, on their own interval and budget).
#[derive(Debug, Clone, PartialEq)]
pub struct Intraday {
    /// `intraday: true`: every queue set reads them, not only those with thresholds.
    pub enabled: bool,
    /// Time between two reads.
    pub interval: Duration,
    /// The IANA time zone whose midnight starts `today`.
    pub time_zone: String,
    /// The windows read, in file order, each once.
    pub windows: Vec<IntradayWindow>,
    /// How contacts are compared with a service-level threshold.
    pub comparison: ThresholdComparison,
}

impl Default for Intraday {
    fn default() -> Self {
        Self {
            enabled: false,
            interval: DEFAULT_INTRADAY_INTERVAL,
            time_zone: "UTC".to_string(),
            windows: vec![IntradayWindow::Today],
            comparison: ThresholdComparison::Lt,
        }
    }
}

/// A window of the intraday KPIs: the `window` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IntradayWindow {
    /// From midnight in the instance's time zone until now.
    Today,
    /// The last this long until now.
    Trailing(Duration),
}

impl IntradayWindow {
    /// The `window` label value: `today`, or the duration as written in humantime (`1h`,
    /// `15m`, `1h 30m`).
    pub fn label(&self) -> String {
        match self {
            Self::Today => "today".to_string(),
            Self::Trailing(length) => humantime::format_duration(*length).to_string(),
        }
    }
}

/// The unit of GetCurrentMetricData's OLDEST_CONTACT_AGE in the exporter's grouped requests
/// (`oldest_contact_age_unit`): seconds, as the current service model says, or milliseconds,
/// as older SDK documentation said, for an account that sees values a thousand times too big.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgeUnit {
    /// Seconds (the default).
    #[default]
    Seconds,
    /// Milliseconds: divided by 1,000.
    Milliseconds,
}

impl AgeUnit {
    /// Seconds per unit.
    pub fn seconds(self) -> f64 {
        match self {
            Self::Seconds => 1.0,
            Self::Milliseconds => 0.001,
        }
    }
}

/// How GetMetricDataV2 compares a contact's time with a service-level threshold
/// (`service_level_comparison`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdComparison {
    /// Answered in less than the threshold (the console's default).
    #[default]
    Lt,
    /// Answered in the threshold or less.
    Lte,
}

impl ThresholdComparison {
    /// The API's spelling.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Lt => "LT",
            Self::Lte => "LTE",
        }
    }
}

/// How a queue set picks its agents.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AgentSelector {
    /// Agents whose routing profile serves any of the set's queues (`queues:`).
    #[default]
    Queues,
    /// Agents with any of these routing profiles (`routing_profiles:`): bare IDs and names,
    /// names resolved through ListRoutingProfiles at every directory read.
    RoutingProfiles {
        /// Routing profile IDs.
        ids: Vec<String>,
        /// Routing profile names.
        names: Vec<String>,
    },
    /// Agents of one user hierarchy group, as the API's UserHierarchyGroups filter selects
    /// them (`hierarchy_group:`).
    HierarchyGroup(IdOrName),
}

/// A resource given by ID (or ARN, reduced to its ID) or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdOrName {
    /// The bare ID.
    Id(String),
    /// The name, looked up through the routing directory.
    Name(String),
}

/// Which queues `queues: all` takes: every STANDARD queue whose name matches `include` (when
/// given) and does not match `exclude` (when given).
#[derive(Debug, Clone, Default)]
pub struct QueueDiscovery {
    /// Names must match this (unanchored; write `^...$` for the whole name).
    pub include: Option<regex::Regex>,
    /// Names must not match this.
    pub exclude: Option<regex::Regex>,
}

impl PartialEq for QueueDiscovery {
    fn eq(&self, other: &Self) -> bool {
        let pattern = |re: &Option<regex::Regex>| re.as_ref().map(|re| re.as_str().to_string());
        pattern(&self.include) == pattern(&other.include)
            && pattern(&self.exclude) == pattern(&other.exclude)
    }
}

impl QueueDiscovery {
    /// Whether a queue named `name` belongs to the set.
    pub fn selects(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|re| re.is_match(name))
            && !self.exclude.as_ref().is_some_and(|re| re.is_match(name))
    }
}

/// How an instance's queue sets are polled (`request_planner` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlannerMode {
    /// Sweep by routing profiles where that costs fewer requests, else filter by queues.
    #[default]
    Auto,
    /// Every queue set polled with its own queue filter (no look-ups needed).
    Queues,
    /// Every queue set served by the routing-profile sweep.
    RoutingProfiles,
}

/// What the `queue` and `routing_profile` labels carry (`label_values` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabelValues {
    /// Names from ListQueues and ListRoutingProfiles, the ID where there is none.
    #[default]
    Names,
    /// IDs always: stable across renames, no look-ups needed.
    Ids,
}

impl LabelValues {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Names => "names",
            Self::Ids => "ids",
        }
    }
}

/// What went wrong while loading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the configuration file: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML of the expected shape (includes unknown keys and wrong types).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The parser's message, with key path and line.
        message: String,
    },
    /// The file parsed but some values are not acceptable.
    #[error("{file}: {} problem{}:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, ProblemList(problems))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

/// One invalid value: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path, e.g. `instances[0].queue_sets[1].name`.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "  {}: {}", problem.key, problem.message)?;
        }
        Ok(())
    }
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses and validates configuration text; `file` is only used in error messages.
pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig = serde_yaml::from_str(text).map_err(|error| ConfigError::Syntax {
        file: file.to_path_buf(),
        message: describe_yaml_error(&error),
    })?;
    let mut problems = Vec::new();
    let config = validate::validate(raw, &mut problems);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            file: file.to_path_buf(),
            problems,
        })
    }
}

fn describe_yaml_error(error: &serde_yaml::Error) -> String {
    let message = error.to_string();
    // serde_yaml names the key path but not always the line; add it where it is known.
    match error.location() {
        Some(location) if !message.contains(" at line ") => format!(
            "{message} (line {}, column {})",
            location.line(),
            location.column()
        ),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE_A: &str = "7e2f1c44-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
    const QUEUE_B: &str = "8f3a2d55-2c3b-4d4e-8f9a-1b2c3d4e5f60";
    const INSTANCE: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    fn parse_ok(text: &str) -> Config {
        match parse(text, Path::new("test.yaml")) {
            Ok(config) => config,
            Err(error) => panic!("expected a valid config, got: {error}"),
        }
    }

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, Path::new("test.yaml")) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    fn syntax_error(text: &str) -> String {
        match parse(text, Path::new("test.yaml")) {
            Err(error @ ConfigError::Syntax { .. }) => error.to_string(),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    fn minimal(queues: &str) -> String {
        format!(
            "instances:\n  - name: prod\n    instance_id: {INSTANCE}\n    region: eu-west-2\n    queue_sets:\n      - name: support\n        queues: {queues}\n"
        )
    }

    #[test]
    fn full_example_parses_with_defaults_applied() {
        let config = parse_ok(&format!(
            r#"
defaults:
  region: eu-west-2
  poll_interval: 30s
instances:
  - name: prod
    instance_id: arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}
    endpoint_url: http://127.0.0.1:8808
    role_arn: arn:aws:iam::123456789012:role/connect-exporter
    queue_sets:
      - name: support
        queues: [{QUEUE_A}, "arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}/queue/{QUEUE_B}"]
  - name: other
    instance_id: 1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    poll_interval: 5s
    poll_timeout: 3s
    queue_sets:
      - name: all-of-them
        queues: [{QUEUE_A}]
"#
        ));
        let prod = &config.instances[0];
        assert_eq!(prod.instance_id, INSTANCE);
        assert_eq!(prod.region.as_deref(), Some("eu-west-2"));
        assert_eq!(prod.poll_interval, Duration::from_secs(30));
        assert_eq!(prod.poll_timeout, MIN_DEFAULT_POLL_TIMEOUT);
        assert_eq!(prod.queue_sets[0].queue_ids, vec![QUEUE_A, QUEUE_B]);
        assert_eq!(prod.account_id.as_deref(), Some("123456789012"));
        let other = &config.instances[1];
        assert_eq!(other.region.as_deref(), Some("eu-west-2"));
        assert_eq!(other.poll_interval, Duration::from_secs(5));
        assert_eq!(other.poll_timeout, Duration::from_secs(3));
        assert_eq!(other.endpoint_url, None);
        assert_eq!(other.account_id, None);
        assert!(config.api_rate_limits.is_empty());
    }

    #[test]
    fn directory_budget_share_and_counter_ttl_have_defaults_and_bounds() {
        let config = parse_ok(&minimal(&format!("[{QUEUE_A}]")));
        assert_eq!(
            config.directory_budget_share,
            DEFAULT_DIRECTORY_BUDGET_SHARE
        );
        assert_eq!(config.counter_ttl, DEFAULT_COUNTER_TTL);
        let config = parse_ok(&format!(
            "directory_budget_share: 0.25\ncounter_ttl: 2h\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        assert_eq!(config.directory_budget_share, 0.25);
        assert_eq!(config.counter_ttl, Duration::from_secs(7200));
        let found = problems(&format!(
            "directory_budget_share: 0\ncounter_ttl: 10s\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["directory_budget_share", "counter_ttl"], "{found:?}");
        assert!(found[0].message.contains("0.05"), "{found:?}");
        assert!(found[1].message.contains("1m"), "{found:?}");
    }

    #[test]
    fn rate_limits_override_known_operations_only() {
        let text = format!(
            "api_rate_limits:\n  GetCurrentUserData: {{ rate: 5, burst: 10 }}\n  GetEverything: {{ rate: 1, burst: 1 }}\n  ListQueues: {{ rate: 0, burst: 1 }}\n  ListUsers: {{ rate: 1, burst: 0 }}\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        );
        let found = problems(&text);
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "api_rate_limits.GetEverything",
                "api_rate_limits.ListQueues.rate",
                "api_rate_limits.ListUsers.burst"
            ],
            "{found:?}"
        );
        let ok = parse_ok(&format!(
            "api_rate_limits:\n  GetCurrentUserData: {{ rate: 5, burst: 10 }}\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        assert_eq!(
            ok.api_rate_limits["GetCurrentUserData"],
            RateLimit {
                rate: 5.0,
                burst: 10.0
            }
        );
    }

    #[test]
    fn poll_interval_defaults_to_fifteen_seconds() {
        let config = parse_ok(&minimal(&format!("[{QUEUE_A}]")));
        assert_eq!(config.instances[0].poll_interval, DEFAULT_POLL_INTERVAL);
    }

    #[test]
    fn more_than_one_hundred_queues_is_legal() {
        let queues: Vec<String> = (0..150)
            .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
            .collect();
        let config = parse_ok(&minimal(&format!("[{}]", queues.join(", "))));
        assert_eq!(config.instances[0].queue_sets[0].queue_ids.len(), 150);
    }

    #[test]
    fn unknown_key_is_a_syntax_error_naming_the_path() {
        let text = minimal(&format!("[{QUEUE_A}]")).replace("region:", "regoin:");
        let message = syntax_error(&text);
        assert!(message.contains("test.yaml"), "{message}");
        assert!(message.contains("instances[0]"), "{message}");
        assert!(message.contains("unknown field `regoin`"), "{message}");
    }

    #[test]
    fn empty_and_duplicate_names_are_reported_with_their_paths() {
        let text = format!(
            r#"
instances:
  - name: ""
    instance_id: {INSTANCE}
    queue_sets:
      - {{ name: a, queues: [{QUEUE_A}] }}
      - {{ name: a, queues: [{QUEUE_B}] }}
  - name: " padded"
    instance_id: 1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    queue_sets:
      - {{ name: b, queues: [{QUEUE_A}] }}
"#
        );
        let found = problems(&text);
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "instances[0].name",
                "instances[0].queue_sets[1].name",
                "instances[1].name"
            ],
            "{found:?}"
        );
        assert!(found[1].message.contains("duplicate queue set name"));
    }

    #[test]
    fn duplicate_instance_names_are_rejected() {
        let text = format!(
            "instances:\n  - {{ name: x, instance_id: {INSTANCE}, queue_sets: [{{ name: s, queues: [{QUEUE_A}] }}] }}\n  - {{ name: x, instance_id: 1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d, queue_sets: [{{ name: s, queues: [{QUEUE_A}] }}] }}\n"
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "instances[1].name");
        assert!(found[0].message.contains("already used by instances[0]"));
    }

    #[test]
    fn bad_durations_name_the_key_and_the_format() {
        let text = format!(
            "defaults:\n  poll_interval: fifteen\ninstances:\n  - {{ name: x, instance_id: {INSTANCE}, poll_interval: 100ms, queue_sets: [{{ name: s, queues: [{QUEUE_A}] }}] }}\n"
        );
        let found = problems(&text);
        assert_eq!(found[0].key, "defaults.poll_interval");
        assert!(found[0].message.contains("\"fifteen\" is not a duration"));
        assert_eq!(found[1].key, "instances[0].poll_interval");
        assert_eq!(
            found[1].message,
            "100ms is shorter than the minimum of 1s; allowed is 1s to 1h"
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        let text = format!(
            r#"
instances:
  - name: x
    instance_id: not-a-uuid
    region: eu-west2
    endpoint_url: ftp://example
    role_arn: arn:aws:iam::12345:role/x
    queue_sets:
      - name: s
        queues: [{QUEUE_A}, "7e2f1c44-zzzz-4c3d-9e8f-0a1b2c3d4e5f", "arn:aws:connect:eu-west-2:123456789012:instance/1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/queue/{QUEUE_B}", {QUEUE_A}]
"#
        );
        let found = problems(&text);
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "instances[0].instance_id",
                "instances[0].region",
                "instances[0].endpoint_url",
                "instances[0].role_arn",
                "instances[0].queue_sets[0].queues[1]",
                "instances[0].queue_sets[0].queues[2]",
                "instances[0].queue_sets[0].queues[3]",
            ],
            "{found:?}"
        );
        assert!(found[6].message.contains("listed twice"));
    }

    #[test]
    fn region_must_agree_with_the_instance_arn() {
        let text = format!(
            "instances:\n  - {{ name: x, instance_id: \"arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}\", region: eu-west-2, queue_sets: [{{ name: s, queues: [{QUEUE_A}] }}] }}\n"
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("contradicts the instance ARN"));
    }

    #[test]
    fn empty_lists_and_keywords_are_rejected() {
        assert_eq!(problems("instances: []\n")[0].key, "instances");
        let found = problems(&minimal("[]"));
        assert_eq!(found[0].key, "instances[0].queue_sets[0].queues");
        let found = problems(&minimal("everything"));
        assert!(found[0].message.contains("or the word `all`"), "{found:?}");
    }

    #[test]
    fn invalid_error_lists_every_problem_with_the_file_name() {
        let error = parse(&minimal("[]"), Path::new("conf/x.yaml")).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("conf/x.yaml: 1 problem:"), "{text}");
        assert!(text.contains("instances[0].queue_sets[0].queues: the list is empty"));
    }

    #[test]
    fn label_values_and_directory_refresh_inherit_from_defaults() {
        let config = parse_ok(&minimal(&format!("[{QUEUE_A}]")));
        assert_eq!(config.instances[0].label_values, LabelValues::Names);
        assert_eq!(
            config.instances[0].directory_refresh_interval,
            DEFAULT_DIRECTORY_REFRESH
        );
        let text = format!(
            "defaults:\n  label_values: ids\n  directory_refresh_interval: 10m\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        );
        let config = parse_ok(&text);
        assert_eq!(config.instances[0].label_values, LabelValues::Ids);
        assert_eq!(
            config.instances[0].directory_refresh_interval,
            Duration::from_secs(600)
        );
        let own = text.replace(
            "    region: eu-west-2\n",
            "    region: eu-west-2\n    label_values: names\n    directory_refresh_interval: 1m\n",
        );
        let config = parse_ok(&own);
        assert_eq!(config.instances[0].label_values, LabelValues::Names);
        assert_eq!(
            config.instances[0].directory_refresh_interval,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn the_directory_read_has_a_deadline_of_its_own_inherited_from_defaults() {
        let config = parse_ok(&minimal(&format!("[{QUEUE_A}]")));
        assert_eq!(
            config.instances[0].directory_timeout,
            DEFAULT_DIRECTORY_TIMEOUT
        );
        let text = format!(
            "defaults:\n  poll_timeout: 5s\n  directory_timeout: 10m\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        );
        let config = parse_ok(&text);
        assert_eq!(config.instances[0].poll_timeout, Duration::from_secs(5));
        assert_eq!(
            config.instances[0].directory_timeout,
            Duration::from_secs(600)
        );
        let own = text.replace(
            "    region: eu-west-2\n",
            "    region: eu-west-2\n    directory_timeout: 45s\n",
        );
        assert_eq!(
            parse_ok(&own).instances[0].directory_timeout,
            Duration::from_secs(45)
        );
    }

    #[test]
    fn sets_select_agents_by_routing_profile_or_hierarchy_group() {
        let set = |selector: &str| {
            minimal(&format!("[{QUEUE_A}]")).replace(
                &format!("        queues: [{QUEUE_A}]\n"),
                &format!("{selector}\n"),
            )
        };
        let arn = format!(
            "arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}/routing-profile/{QUEUE_B}"
        );
        let config = parse_ok(&set(&format!(
            "        routing_profiles: [Tier 1, {QUEUE_A}, {arn}]"
        )));
        let support = &config.instances[0].queue_sets[0];
        assert_eq!(
            support.selector,
            AgentSelector::RoutingProfiles {
                ids: vec![QUEUE_A.into(), QUEUE_B.into()],
                names: vec!["Tier 1".into()],
            }
        );
        assert!(support.queue_ids.is_empty() && support.queue_names.is_empty());
        let config = parse_ok(&set("        hierarchy_group: North"));
        assert_eq!(
            config.instances[0].queue_sets[0].selector,
            AgentSelector::HierarchyGroup(IdOrName::Name("North".into()))
        );
        let messages = |text: &str| -> Vec<String> {
            problems(text)
                .into_iter()
                .map(|p| format!("{}: {}", p.key, p.message))
                .collect()
        };
        let both = messages(&set(&format!(
            "        queues: [{QUEUE_A}]\n        hierarchy_group: North"
        )));
        assert!(
            both[0].starts_with("instances[0].queue_sets[0]: give only one of"),
            "{both:?}"
        );
        let none = messages(&set("        include: x"));
        assert!(
            none.iter()
                .any(|m| m.contains("give the set's agents with one of")),
            "{none:?}"
        );
        let queue_arn = messages(&set(&format!(
            "        hierarchy_group: arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}/queue/{QUEUE_A}"
        )));
        assert!(
            queue_arn[0].contains("queue_sets[0].hierarchy_group")
                && queue_arn[0].contains("/agent-group/ID"),
            "{queue_arn:?}"
        );
        let twice = messages(&set(&format!(
            "        routing_profiles: [{QUEUE_A}, {QUEUE_A}]"
        )));
        assert!(
            twice[0].contains("routing_profiles[1]: routing profile"),
            "{twice:?}"
        );
    }

    #[test]
    fn queue_metrics_agent_series_and_series_limit_have_defaults_and_bounds() {
        let config = parse_ok(&minimal(&format!("[{QUEUE_A}]")));
        let instance = &config.instances[0];
        assert!(instance.queue_metrics && !instance.agent_series);
        assert_eq!(instance.series_limit, DEFAULT_SERIES_LIMIT);
        let text = format!(
            "defaults:\n  queue_metrics: false\n  agent_series: true\n  series_limit: 500\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        );
        let instance = &parse_ok(&text).instances[0];
        assert!(!instance.queue_metrics && instance.agent_series);
        assert_eq!(instance.series_limit, 500);
        let zero = minimal(&format!("[{QUEUE_A}]"))
            .replace("    region:", "    series_limit: 0\n    region:");
        let found = problems(&zero);
        assert_eq!(found[0].key, "instances[0].series_limit");
        assert!(
            found[0]
                .message
                .starts_with("0 is less than the minimum of 1; allowed is 1 to 10000000"),
            "{found:?}"
        );
    }

    #[test]
    fn bad_label_values_and_refresh_intervals_are_named() {
        let text = minimal(&format!("[{QUEUE_A}]"))
            .replace("    region:", "    label_values: uuids\n    region:");
        let message = syntax_error(&text);
        assert!(message.contains("instances[0].label_values"), "{message}");
        assert!(message.contains("expected `names` or `ids`"), "{message}");
        let text = minimal(&format!("[{QUEUE_A}]")).replace(
            "    region:",
            "    directory_refresh_interval: 500ms\n    region:",
        );
        let found = problems(&text);
        assert_eq!(found[0].key, "instances[0].directory_refresh_interval");
        assert!(
            found[0]
                .message
                .starts_with("500ms is shorter than the minimum of 1s; allowed is 1s to 1d"),
            "{found:?}"
        );
        let text = minimal(&format!("[{QUEUE_A}]")).replace(
            "    region:",
            "    directory_refresh_interval: soon\n    region:",
        );
        assert!(problems(&text)[0].message.contains("is not a duration"));
    }

    #[test]
    fn queue_lists_take_names_beside_ids() {
        let config = parse_ok(&minimal(&format!("[{QUEUE_A}, \"Sales EU\", Support]")));
        let set = &config.instances[0].queue_sets[0];
        assert_eq!(set.queue_ids, vec![QUEUE_A]);
        assert_eq!(set.queue_names, vec!["Sales EU", "Support"]);
        let found = problems(&minimal("[Support, Support, \" \"]"));
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "instances[0].queue_sets[0].queues[1]",
                "instances[0].queue_sets[0].queues[2]"
            ],
            "{found:?}"
        );
    }

    #[test]
    fn queues_all_takes_include_and_exclude_patterns() {
        let config = parse_ok(&format!(
            "{}        include: \"^Sales\"\n        exclude: \"(?i)test\"\n",
            minimal("all")
        ));
        let set = &config.instances[0].queue_sets[0];
        assert!(set.queue_ids.is_empty());
        let discovery = set.discovery.as_ref().expect("discovery");
        assert!(discovery.selects("Sales EU"));
        assert!(!discovery.selects("Sales Test"));
        assert!(!discovery.selects("Support"));
        assert!(QueueDiscovery::default().selects("anything"));

        let found = problems(&format!("{}        include: \"(\"\n", minimal("all")));
        assert_eq!(found[0].key, "instances[0].queue_sets[0].include");
        assert!(
            found[0].message.contains("not a regular expression"),
            "{found:?}"
        );
        let found = problems(&format!(
            "{}        exclude: \"x\"\n",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        assert_eq!(found[0].key, "instances[0].queue_sets[0].exclude");
        assert!(found[0].message.contains("only goes with `queues: all`"));
    }

    #[test]
    fn missing_required_key_is_reported() {
        let message = syntax_error("instances:\n  - name: x\n    queue_sets: []\n");
        assert!(message.contains("missing field `instance_id`"), "{message}");
    }

    #[test]
    fn load_reports_unreadable_file() {
        let error = load(Path::new("/nonexistent/connect.yaml")).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("/nonexistent/connect.yaml: cannot read"));
    }

    #[test]
    fn label_values_parse_from_the_configuration_spelling() {
        let parsed: LabelValues = serde_yaml::from_str("ids").unwrap();
        assert_eq!(parsed, LabelValues::Ids);
        assert_eq!(LabelValues::default().as_str(), "names");
        assert!(serde_yaml::from_str::<LabelValues>("uuids").is_err());
    }

    #[test]
    fn intraday_settings_inherit_from_defaults_and_sets_name_thresholds() {
        let config = parse_ok(&format!(
            "defaults:\n  time_zone: Europe/London\n  intraday_windows: [today, 1h]\ninstances:\n  - name: prod\n    instance_id: arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}\n    intraday_interval: 2m\n    service_level_comparison: lte\n    queue_sets:\n      - name: support\n        queues: [{QUEUE_A}]\n        service_level_thresholds: [60s, 20s]\n        service_level_target: 0.8\n      - name: other\n        queues: [{QUEUE_B}]\n"
        ));
        let instance = &config.instances[0];
        assert_eq!(
            instance.intraday,
            Intraday {
                enabled: false,
                interval: Duration::from_secs(120),
                time_zone: "Europe/London".into(),
                windows: vec![
                    IntradayWindow::Today,
                    IntradayWindow::Trailing(Duration::from_secs(3600))
                ],
                comparison: ThresholdComparison::Lte,
            }
        );
        assert_eq!(
            instance.instance_arn.as_deref(),
            Some(format!("arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}").as_str())
        );
        let (support, other) = (&instance.queue_sets[0], &instance.queue_sets[1]);
        assert_eq!(support.service_level_thresholds, vec![20, 60]);
        assert_eq!(support.service_level_target, Some(0.8));
        assert!(support.reads_intraday(&instance.intraday));
        assert!(
            !other.reads_intraday(&instance.intraday),
            "off unless intraday: true"
        );
        let on = parse_ok(&format!(
            "{}    intraday: true\n",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        assert!(on.instances[0].queue_sets[0].reads_intraday(&on.instances[0].intraday));
        assert_eq!(
            on.instances[0].intraday.windows,
            vec![IntradayWindow::Today]
        );
        assert_eq!(on.instances[0].instance_arn, None);
    }

    #[test]
    fn intraday_mistakes_name_their_keys() {
        let base = format!(
            "instances:\n  - name: prod\n    instance_id: {INSTANCE}\n    region: eu-west-2\n    time_zone: Mars/Olympus\n    intraday_interval: 1s\n    intraday_windows: [today, yesterday, 10s, today]\n    queue_sets:\n      - name: support\n        queues: [{QUEUE_A}]\n        service_level_thresholds: [0s, 20s, 20s, 1.5s, 8d]\n        service_level_target: 80\n"
        );
        let found: Vec<(String, String)> = problems(&base)
            .into_iter()
            .map(|p| (p.key, p.message))
            .collect();
        let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "instances[0].queue_sets[0].service_level_thresholds[0]",
                "instances[0].queue_sets[0].service_level_thresholds[2]",
                "instances[0].queue_sets[0].service_level_thresholds[3]",
                "instances[0].queue_sets[0].service_level_thresholds[4]",
                "instances[0].queue_sets[0].service_level_target",
                "instances[0].intraday_interval",
                "instances[0].time_zone",
                "instances[0].intraday_windows[1]",
                "instances[0].intraday_windows[2]",
                "instances[0].intraday_windows[3]",
            ],
            "{found:#?}"
        );
        assert!(found[4].1.contains("0.8 for 80 %"), "{}", found[4].1);
        assert!(found[6].1.contains("IANA"), "{}", found[6].1);
        let many: Vec<String> = (1..=21).map(|s| format!("{s}s")).collect();
        let too_many = problems(&format!(
            "{}        service_level_thresholds: [{}]\n",
            minimal(&format!("[{QUEUE_A}]")),
            many.join(", ")
        ));
        assert!(too_many[0].message.contains("at most 20"), "{too_many:?}");
    }

    #[test]
    fn the_oldest_contact_age_unit_defaults_to_seconds_and_can_be_milliseconds() {
        let seconds = parse_ok(&minimal(&format!("[{QUEUE_A}]")));
        assert_eq!(
            seconds.instances[0].oldest_contact_age_unit,
            AgeUnit::Seconds
        );
        let millis = parse_ok(&format!(
            "defaults:\n  oldest_contact_age_unit: milliseconds\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        assert_eq!(
            millis.instances[0].oldest_contact_age_unit,
            AgeUnit::Milliseconds
        );
        assert_eq!(AgeUnit::Milliseconds.seconds(), 0.001);
        let wrong = syntax_error(&format!(
            "{}    oldest_contact_age_unit: minutes\n",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        assert!(wrong.contains("oldest_contact_age_unit"), "{wrong}");
    }

    #[test]
    fn a_bad_intraday_default_is_reported_once_whatever_the_instances() {
        let found = problems(&format!(
            "defaults:\n  time_zone: Nowhere/Land\n  region: eu-west-2\ninstances:\n  - name: a\n    instance_id: {INSTANCE}\n    queue_sets:\n      - name: s\n        queues: [{QUEUE_A}]\n  - name: b\n    instance_id: 1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n    queue_sets:\n      - name: s\n        queues: [{QUEUE_A}]\n"
        ));
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec!["defaults.time_zone"], "{found:?}");
    }

    /// `minimal` with `line` (indented for an instance key) added to the instance.
    fn with_instance_key(line: &str) -> String {
        minimal(&format!("[{QUEUE_A}]")).replace("    region:", &format!("    {line}\n    region:"))
    }

    #[test]
    fn every_bound_names_the_key_the_value_and_the_range() {
        let rate = |value: &str| {
            format!(
                "api_rate_limits:\n  GetCurrentUserData: {{ rate: {value}, burst: 5 }}\n{}",
                minimal(&format!("[{QUEUE_A}]"))
            )
        };
        let cases = [
            (
                with_instance_key("poll_interval: 10000years"),
                "instances[0].poll_interval",
                "10000years is longer than the maximum of 1h; allowed is 1s to 1h",
            ),
            (
                with_instance_key("poll_interval: 0s"),
                "instances[0].poll_interval",
                "0s is shorter than the minimum of 1s; allowed is 1s to 1h",
            ),
            (
                with_instance_key("poll_timeout: 0s"),
                "instances[0].poll_timeout",
                "0s is shorter than the minimum of 1s; allowed is 1s to 10m",
            ),
            (
                with_instance_key("poll_timeout: 11m"),
                "instances[0].poll_timeout",
                "11m is longer than the maximum of 10m; allowed is 1s to 10m",
            ),
            (
                with_instance_key("directory_refresh_interval: 2days"),
                "instances[0].directory_refresh_interval",
                "2days is longer than the maximum of 1d; allowed is 1s to 1d (each read",
            ),
            (
                with_instance_key("directory_timeout: 2h"),
                "instances[0].directory_timeout",
                "2h is longer than the maximum of 1h; allowed is 1s to 1h",
            ),
            (
                with_instance_key("intraday_interval: 2h"),
                "instances[0].intraday_interval",
                "2h is longer than the maximum of 1h; allowed is 10s to 1h",
            ),
            (
                with_instance_key("intraday_windows: [35days]"),
                "instances[0].intraday_windows[0]",
                "35days is longer than the maximum of 34d; allowed is 1m to 34d",
            ),
            (
                with_instance_key("series_limit: 10000001"),
                "instances[0].series_limit",
                "10000001 is more than the maximum of 10000000; allowed is 1 to 10000000",
            ),
            (
                rate("1e-300"),
                "api_rate_limits.GetCurrentUserData.rate",
                "1e-300 is less than the minimum of 0.01; allowed is 0.01 to 10000.0 requests per second",
            ),
            (
                rate(".inf"),
                "api_rate_limits.GetCurrentUserData.rate",
                "inf is more than the maximum of 10000.0",
            ),
            (
                rate(".nan"),
                "api_rate_limits.GetCurrentUserData.rate",
                "NaN is not a number; allowed is 0.01 to 10000.0",
            ),
            (
                rate("-1"),
                "api_rate_limits.GetCurrentUserData.rate",
                "-1.0 is less than the minimum of 0.01",
            ),
            (
                format!(
                    "api_rate_limits:\n  ListUsers: {{ rate: 1, burst: 100001 }}\n{}",
                    minimal(&format!("[{QUEUE_A}]"))
                ),
                "api_rate_limits.ListUsers.burst",
                "100001 is more than the maximum of 100000; allowed is 1 to 100000 requests at once",
            ),
        ];
        for (text, key, message) in cases {
            let found = problems(&text);
            assert_eq!(found.len(), 1, "{text}\n{found:?}");
            assert_eq!(found[0].key, key, "{found:?}");
            assert!(found[0].message.starts_with(message), "{found:?}");
        }
    }

    #[test]
    fn the_ends_of_every_range_are_accepted() {
        for (low, high) in [
            ("poll_interval: 1s", "poll_interval: 1h"),
            ("poll_timeout: 1s", "poll_timeout: 10m"),
            (
                "directory_refresh_interval: 1s",
                "directory_refresh_interval: 1d",
            ),
            ("intraday_interval: 10s", "intraday_interval: 1h"),
            ("intraday_windows: [1m]", "intraday_windows: [34d]"),
            ("series_limit: 1", "series_limit: 10000000"),
        ] {
            parse_ok(&with_instance_key(low));
            parse_ok(&with_instance_key(high));
        }
        let config = parse_ok(&format!(
            "api_rate_limits:\n  ListUsers: {{ rate: 0.01, burst: 1 }}\n  ListQueues: {{ rate: 10000, burst: 100000 }}\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        ));
        assert_eq!(config.api_rate_limits["ListUsers"].rate, 0.01);
        assert_eq!(config.api_rate_limits["ListQueues"].burst, 100_000.0);
    }

    #[test]
    fn a_bad_default_is_reported_once_under_its_own_key() {
        let found = problems(&format!(
            "defaults:\n  poll_interval: 2h\n  poll_timeout: 0s\ninstances:\n  - name: a\n    instance_id: {INSTANCE}\n    region: eu-west-2\n    queue_sets: [{{ name: s, queues: [{QUEUE_A}] }}]\n  - name: b\n    instance_id: 1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n    region: eu-west-2\n    queue_sets: [{{ name: s, queues: [{QUEUE_A}] }}]\n"
        ));
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["defaults.poll_interval", "defaults.poll_timeout"],
            "{found:?}"
        );
    }

    #[test]
    fn rates_and_intervals_that_overflowed_downstream_are_refused() {
        // A rate of 1e-300 made the request budget's wait (1 / rate seconds) overflow
        // `Duration::from_secs_f64`, and the longest duration humantime reads overflowed
        // `Duration::mul_f64` in the scheduler's jitter: both panicked after the file was
        // accepted.
        let rate = format!(
            "api_rate_limits:\n  GetCurrentUserData: {{ rate: 1e-300, burst: 1 }}\n{}",
            minimal(&format!("[{QUEUE_A}]"))
        );
        assert_eq!(
            problems(&rate)[0].key,
            "api_rate_limits.GetCurrentUserData.rate"
        );
        let interval = with_instance_key("poll_interval: 18446744073709551615s");
        assert_eq!(problems(&interval)[0].key, "instances[0].poll_interval");
        let timeout = with_instance_key("poll_timeout: 18446744073709551615s");
        assert_eq!(problems(&timeout)[0].key, "instances[0].poll_timeout");
    }
}
