//! Configuration: parses the YAML file into typed structs and validates it.
//!
//! Every error names the file, the key path (`instances[0].queue_sets[1].queues[3]`) and what is
//! allowed there. Unknown keys are errors. This module never touches the network.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::budget::{self, RateLimit};
use crate::ids::{self, ResourceKind};
use crate::names::LabelValues;
use crate::planner::PlannerMode;

/// Poll interval used when neither the instance nor `defaults` sets one.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// The shortest poll interval accepted: faster polling only burns the shared API budget.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often names and the queues of each routing profile are read again, unless configured.
pub const DEFAULT_DIRECTORY_REFRESH: Duration = Duration::from_secs(300);
/// The shortest accepted `directory_refresh_interval`.
pub const MIN_DIRECTORY_REFRESH: Duration = Duration::from_secs(1);
/// Data series one queue set may publish unless `series_limit` says otherwise. Well above what
/// the aggregate and backlog families of the largest set measured need (52,000 at 50,000
/// agents on 1,000 queues), low enough that per-agent series of such a set (about 500,000)
/// stop here instead of at Prometheus's `sample_limit`, which would fail the whole scrape.
pub const DEFAULT_SERIES_LIMIT: usize = 200_000;
/// The shortest default poll timeout: a poll waiting for the request budget is slow, not
/// broken (10,000 agents take 50 s at the default 2 requests/s).
pub const MIN_DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest poll timeout accepted.
pub const MAX_POLL_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest accepted `name` (it becomes a label value).
const MAX_NAME_LEN: usize = 128;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The Connect instances to poll, in file order.
    pub instances: Vec<Instance>,
    /// Request budget overrides by API operation; the rest use the published defaults.
    pub api_rate_limits: BTreeMap<String, RateLimit>,
}

/// One Amazon Connect instance and the queue sets polled on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Config name; the `connect_instance` label.
    pub name: String,
    /// The bare instance ID (an ARN in the file is reduced to its ID).
    pub instance_id: String,
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
    /// Whether each round also reads GetCurrentMetricData for the sets' queues (the backlog).
    pub queue_metrics: bool,
    /// Whether every agent gets series of its own (status, slots, contacts), not only the
    /// aggregates.
    pub agent_series: bool,
    /// Most data series one queue set publishes per round; the rest are dropped and counted.
    pub series_limit: usize,
    /// Whether agents are also counted by user hierarchy group (each level of their path).
    pub hierarchy_labels: bool,
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
    let raw: RawConfig = serde_yaml::from_str(text).map_err(|error| ConfigError::Syntax {
        file: file.to_path_buf(),
        message: describe_yaml_error(&error),
    })?;
    let mut problems = Vec::new();
    let config = validate(raw, &mut problems);
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    api_rate_limits: BTreeMap<String, RawRateLimit>,
    instances: Vec<RawInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    rate: f64,
    burst: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    region: Option<String>,
    poll_interval: Option<String>,
    poll_timeout: Option<String>,
    request_planner: Option<PlannerMode>,
    label_values: Option<LabelValues>,
    directory_refresh_interval: Option<String>,
    queue_metrics: Option<bool>,
    agent_series: Option<bool>,
    series_limit: Option<usize>,
    hierarchy_labels: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    name: String,
    instance_id: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    role_arn: Option<String>,
    poll_interval: Option<String>,
    poll_timeout: Option<String>,
    request_planner: Option<PlannerMode>,
    label_values: Option<LabelValues>,
    directory_refresh_interval: Option<String>,
    queue_metrics: Option<bool>,
    agent_series: Option<bool>,
    series_limit: Option<usize>,
    hierarchy_labels: Option<bool>,
    queue_sets: Vec<RawQueueSet>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueueSet {
    name: String,
    queues: Option<RawQueues>,
    routing_profiles: Option<Vec<String>>,
    hierarchy_group: Option<String>,
    include: Option<String>,
    exclude: Option<String>,
}

/// `queues:` is a list today; the keyword form (`queues: all`) is reserved for discovery.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawQueues {
    List(Vec<String>),
    Keyword(String),
}

fn validate(raw: RawConfig, problems: &mut Vec<Problem>) -> Config {
    let mut report = |key: String, message: String| problems.push(Problem { key, message });

    let default_region = raw.defaults.region.and_then(|region| {
        check_region(&region)
            .map(|()| region)
            .map_err(|message| report("defaults.region".into(), message))
            .ok()
    });
    let default_interval = parse_duration_key(
        raw.defaults.poll_interval.as_deref(),
        "defaults.poll_interval",
        &mut report,
    );
    let default_timeout = parse_duration_key(
        raw.defaults.poll_timeout.as_deref(),
        "defaults.poll_timeout",
        &mut report,
    );
    let default_refresh = parse_refresh_interval(
        raw.defaults.directory_refresh_interval.as_deref(),
        "defaults.directory_refresh_interval",
        &mut report,
    );

    if raw.instances.is_empty() {
        report(
            "instances".into(),
            "at least one instance is required".into(),
        );
    }

    let defaults = Defaults {
        region: default_region,
        poll_interval: default_interval,
        poll_timeout: default_timeout,
        request_planner: raw.defaults.request_planner,
        label_values: raw.defaults.label_values,
        directory_refresh_interval: default_refresh,
        queue_metrics: raw.defaults.queue_metrics,
        agent_series: raw.defaults.agent_series,
        series_limit: check_series_limit(
            raw.defaults.series_limit,
            "defaults.series_limit",
            &mut report,
        ),
        hierarchy_labels: raw.defaults.hierarchy_labels,
    };
    let mut names_seen: HashMap<String, usize> = HashMap::new();
    let mut ids_seen: HashMap<String, usize> = HashMap::new();
    let mut instances = Vec::with_capacity(raw.instances.len());
    for (index, raw_instance) in raw.instances.into_iter().enumerate() {
        let instance = validate_instance(index, raw_instance, &defaults, &mut report);
        if let Some(first) = names_seen.insert(instance.name.clone(), index) {
            report(
                format!("instances[{index}].name"),
                format!(
                    "duplicate instance name {:?} (already used by instances[{first}]); names must be unique because they become the connect_instance label",
                    instance.name
                ),
            );
        }
        if let Some(first) = ids_seen.insert(instance.instance_id.clone(), index) {
            report(
                format!("instances[{index}].instance_id"),
                format!("instance {} is already configured as instances[{first}]; put all its queue sets under one entry so they share one client", instance.instance_id),
            );
        }
        instances.push(instance);
    }
    let api_rate_limits = validate_rate_limits(raw.api_rate_limits, &mut report);
    Config {
        instances,
        api_rate_limits,
    }
}

/// The most requests per second a limit may allow; far above any Connect quota.
const MAX_RATE: f64 = 10_000.0;

fn validate_rate_limits(
    raw: BTreeMap<String, RawRateLimit>,
    report: &mut impl FnMut(String, String),
) -> BTreeMap<String, RateLimit> {
    let known = budget::known_operations();
    let mut limits = BTreeMap::new();
    for (operation, limit) in raw {
        let key = format!("api_rate_limits.{operation}");
        if !known.contains(&operation) {
            report(
                key,
                format!("unknown operation; known are {}", known.join(", ")),
            );
            continue;
        }
        if !(limit.rate > 0.0 && limit.rate <= MAX_RATE) {
            report(
                format!("{key}.rate"),
                format!(
                    "{} is out of range; requests per second, more than 0 and at most {MAX_RATE}",
                    limit.rate
                ),
            );
            continue;
        }
        if limit.burst == 0 {
            report(format!("{key}.burst"), "must be at least 1".into());
            continue;
        }
        limits.insert(
            operation,
            RateLimit {
                rate: limit.rate,
                burst: f64::from(limit.burst),
            },
        );
    }
    limits
}

/// Values from `defaults:` that instances inherit.
struct Defaults {
    region: Option<String>,
    poll_interval: Option<Duration>,
    poll_timeout: Option<Duration>,
    request_planner: Option<PlannerMode>,
    label_values: Option<LabelValues>,
    directory_refresh_interval: Option<Duration>,
    queue_metrics: Option<bool>,
    agent_series: Option<bool>,
    series_limit: Option<usize>,
    hierarchy_labels: Option<bool>,
}

/// Validates one instance entry; problems that need other instances are checked by the caller.
fn validate_instance(
    index: usize,
    raw_instance: RawInstance,
    defaults: &Defaults,
    report: &mut impl FnMut(String, String),
) -> Instance {
    let key = format!("instances[{index}]");
    check_name(&raw_instance.name, &format!("{key}.name"), report);
    let (instance_id, arn_region, arn_account) =
        match ids::parse_instance(&raw_instance.instance_id) {
            Ok(parsed) => (parsed.id, parsed.region, parsed.account),
            Err(message) => {
                report(format!("{key}.instance_id"), message);
                (raw_instance.instance_id.clone(), None, None)
            }
        };
    let region = match raw_instance.region.as_deref() {
        Some(region) => match check_region(region) {
            Ok(()) => Some(region.to_string()),
            Err(message) => {
                report(format!("{key}.region"), message);
                None
            }
        },
        None => arn_region.clone().or_else(|| defaults.region.clone()),
    };
    if let (Some(arn_region), Some(region)) = (&arn_region, &region) {
        if arn_region != region {
            report(
                format!("{key}.region"),
                format!("region {region} contradicts the instance ARN, which is in {arn_region}"),
            );
        }
    }

    let endpoint_url = raw_instance.endpoint_url.and_then(|url| {
        check_endpoint_url(&url)
            .map(|()| url)
            .map_err(|message| report(format!("{key}.endpoint_url"), message))
            .ok()
    });
    let role_arn = raw_instance.role_arn.and_then(|arn| {
        ids::check_role_arn(&arn)
            .map(|()| arn)
            .map_err(|message| report(format!("{key}.role_arn"), message))
            .ok()
    });

    let poll_interval = parse_duration_key(
        raw_instance.poll_interval.as_deref(),
        &format!("{key}.poll_interval"),
        report,
    )
    .or(defaults.poll_interval)
    .unwrap_or(DEFAULT_POLL_INTERVAL);
    if poll_interval < MIN_POLL_INTERVAL {
        report(
            format!("{key}.poll_interval"),
            format!(
                "{} is too short; the minimum is {}",
                humantime::format_duration(poll_interval),
                humantime::format_duration(MIN_POLL_INTERVAL)
            ),
        );
    }
    let poll_timeout = parse_duration_key(
        raw_instance.poll_timeout.as_deref(),
        &format!("{key}.poll_timeout"),
        report,
    )
    .or(defaults.poll_timeout)
    .unwrap_or(
        poll_interval
            .max(MIN_DEFAULT_POLL_TIMEOUT)
            .min(MAX_POLL_TIMEOUT),
    );
    if poll_timeout.is_zero() || poll_timeout > MAX_POLL_TIMEOUT {
        report(
            format!("{key}.poll_timeout"),
            format!(
                "{} is out of range; allowed is more than 0s and at most {}",
                humantime::format_duration(poll_timeout),
                humantime::format_duration(MAX_POLL_TIMEOUT)
            ),
        );
    }

    if raw_instance.queue_sets.is_empty() {
        report(
            format!("{key}.queue_sets"),
            "at least one queue set is required".into(),
        );
    }
    let mut set_names: HashMap<String, usize> = HashMap::new();
    let mut queue_sets = Vec::with_capacity(raw_instance.queue_sets.len());
    for (set_index, raw_set) in raw_instance.queue_sets.into_iter().enumerate() {
        let set_key = format!("{key}.queue_sets[{set_index}]");
        check_name(&raw_set.name, &format!("{set_key}.name"), report);
        if let Some(first) = set_names.insert(raw_set.name.clone(), set_index) {
            report(
                format!("{set_key}.name"),
                format!(
                    "duplicate queue set name {:?} in this instance (already used by {key}.queue_sets[{first}])",
                    raw_set.name
                ),
            );
        }
        let selector = match (
            &raw_set.queues,
            raw_set.routing_profiles,
            raw_set.hierarchy_group,
        ) {
            (None, Some(profiles), None) => {
                let (ids, names) = validate_references(
                    &profiles,
                    &instance_id,
                    &format!("{set_key}.routing_profiles"),
                    ResourceKind::RoutingProfile,
                    report,
                );
                AgentSelector::RoutingProfiles { ids, names }
            }
            (None, None, Some(group)) => {
                match parse_reference(&group, &instance_id, ResourceKind::HierarchyGroup) {
                    Ok(group) => AgentSelector::HierarchyGroup(group),
                    Err(message) => {
                        report(format!("{set_key}.hierarchy_group"), message);
                        AgentSelector::Queues
                    }
                }
            }
            (Some(_), None, None) => AgentSelector::Queues,
            (None, None, None) => {
                report(
                    set_key.clone(),
                    "give the set's agents with one of `queues`, `routing_profiles` or `hierarchy_group`".into(),
                );
                AgentSelector::Queues
            }
            _ => {
                report(
                    set_key.clone(),
                    "give only one of `queues`, `routing_profiles` and `hierarchy_group`; a set picks its agents one way".into(),
                );
                AgentSelector::Queues
            }
        };
        let discovers = matches!(&raw_set.queues, Some(RawQueues::Keyword(word)) if word == "all");
        if !discovers {
            for (which, given) in [("include", &raw_set.include), ("exclude", &raw_set.exclude)] {
                if given.is_some() {
                    report(
                        format!("{set_key}.{which}"),
                        "only goes with `queues: all` (a list, routing profiles or a hierarchy group name the agents already)".into(),
                    );
                }
            }
        }
        let (queue_ids, queue_names, discovery) = match raw_set.queues {
            None => (Vec::new(), Vec::new(), None),
            Some(RawQueues::Keyword(word)) if word == "all" => {
                let mut pattern = |raw: Option<String>, which: &str| {
                    raw.and_then(|raw| match regex::Regex::new(&raw) {
                        Ok(re) => Some(re),
                        Err(error) => {
                            report(
                                format!("{set_key}.{which}"),
                                format!("{raw:?} is not a regular expression: {error}"),
                            );
                            None
                        }
                    })
                };
                let include = pattern(raw_set.include, "include");
                let exclude = pattern(raw_set.exclude, "exclude");
                (
                    Vec::new(),
                    Vec::new(),
                    Some(QueueDiscovery { include, exclude }),
                )
            }
            Some(queues) => {
                let (ids, names) =
                    validate_queues(queues, &instance_id, &format!("{set_key}.queues"), report);
                (ids, names, None)
            }
        };
        queue_sets.push(QueueSet {
            name: raw_set.name,
            queue_ids,
            queue_names,
            discovery,
            selector,
        });
    }

    let account_id = arn_account.or_else(|| role_arn.as_deref().and_then(ids::role_account));
    Instance {
        name: raw_instance.name,
        instance_id,
        region,
        account_id,
        endpoint_url,
        role_arn,
        poll_interval,
        poll_timeout,
        request_planner: raw_instance
            .request_planner
            .or(defaults.request_planner)
            .unwrap_or_default(),
        label_values: raw_instance
            .label_values
            .or(defaults.label_values)
            .unwrap_or_default(),
        directory_refresh_interval: parse_refresh_interval(
            raw_instance.directory_refresh_interval.as_deref(),
            &format!("{key}.directory_refresh_interval"),
            report,
        )
        .or(defaults.directory_refresh_interval)
        .unwrap_or(DEFAULT_DIRECTORY_REFRESH),
        queue_metrics: raw_instance
            .queue_metrics
            .or(defaults.queue_metrics)
            .unwrap_or(true),
        agent_series: raw_instance
            .agent_series
            .or(defaults.agent_series)
            .unwrap_or(false),
        series_limit: check_series_limit(
            raw_instance.series_limit,
            &format!("{key}.series_limit"),
            report,
        )
        .or(defaults.series_limit)
        .unwrap_or(DEFAULT_SERIES_LIMIT),
        hierarchy_labels: raw_instance
            .hierarchy_labels
            .or(defaults.hierarchy_labels)
            .unwrap_or(false),
        queue_sets,
    }
}

/// A `series_limit`: at least 1 (a set that may publish nothing would only ever drop).
fn check_series_limit(
    value: Option<usize>,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Option<usize> {
    match value {
        Some(0) => {
            report(
                key.to_string(),
                "must be at least 1 (it is the most data series one queue set publishes)".into(),
            );
            None
        }
        other => other,
    }
}

/// The IDs and the names of a `queues:` list: a UUID or an ARN is an ID, anything else a name.
fn validate_queues(
    raw: RawQueues,
    instance_id: &str,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> (Vec<String>, Vec<String>) {
    match raw {
        RawQueues::List(entries) => {
            validate_references(&entries, instance_id, key, ResourceKind::Queue, report)
        }
        RawQueues::Keyword(word) => {
            report(
                key.to_string(),
                format!("expected a list of queue IDs or ARNs or the word `all`, found {word:?}"),
            );
            (Vec::new(), Vec::new())
        }
    }
}

/// Whether `entry` looks like an ID or ARN rather than a name. A mistyped ID stays an ID
/// error rather than becoming a name that never resolves (hex digits and dashes, such as a
/// truncated UUID, or the length and dashes of one).
fn id_shaped(entry: &str) -> bool {
    entry.starts_with("arn:")
        || (entry.contains('-') && entry.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        || (entry.len() == 36
            && [8, 13, 18, 23]
                .iter()
                .all(|&at| entry.as_bytes().get(at) == Some(&b'-')))
}

/// One reference to a resource of `kind`: its bare ID, or its name (resolved later through
/// the routing directory). `Err` says what is wrong with it.
fn parse_reference(entry: &str, instance_id: &str, kind: ResourceKind) -> Result<IdOrName, String> {
    if id_shaped(entry) {
        return ids::parse_resource(entry, instance_id, kind).map(IdOrName::Id);
    }
    if entry.trim().is_empty() || entry.chars().any(char::is_control) {
        let noun = kind.noun();
        return Err(format!(
            "{entry:?} is neither a {noun} ID, a {noun} ARN nor a {noun} name"
        ));
    }
    Ok(IdOrName::Name(entry.to_string()))
}

/// The IDs and the names of a list of references to resources of `kind`, each at most once.
fn validate_references(
    entries: &[String],
    instance_id: &str,
    key: &str,
    kind: ResourceKind,
    report: &mut impl FnMut(String, String),
) -> (Vec<String>, Vec<String>) {
    let noun = kind.noun();
    if entries.is_empty() {
        report(
            key.to_string(),
            format!("the list is empty; give at least one {noun} ID, ARN or name"),
        );
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut found_ids = Vec::with_capacity(entries.len());
    let mut found_names = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry_key = format!("{key}[{index}]");
        let (seen_key, shown) = match parse_reference(entry, instance_id, kind) {
            Ok(IdOrName::Id(id)) => (id.clone(), IdOrName::Id(id)),
            Ok(IdOrName::Name(name)) => (format!("name:{name}"), IdOrName::Name(name)),
            Err(message) => {
                report(entry_key, message);
                continue;
            }
        };
        if let Some(first) = seen.insert(seen_key, index) {
            let what = match &shown {
                IdOrName::Id(id) => id.clone(),
                IdOrName::Name(name) => format!("{name:?}"),
            };
            report(
                entry_key,
                format!("{noun} {what} is listed twice (first at {key}[{first}])"),
            );
            continue;
        }
        match shown {
            IdOrName::Id(id) => found_ids.push(id),
            IdOrName::Name(name) => found_names.push(name),
        }
    }
    (found_ids, found_names)
}

fn parse_duration_key(
    value: Option<&str>,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Option<Duration> {
    let value = value?;
    match humantime::parse_duration(value.trim()) {
        Ok(duration) => Some(duration),
        Err(error) => {
            report(
                key.to_string(),
                format!("{value:?} is not a duration ({error}); write it like 15s, 1m or 1m30s"),
            );
            None
        }
    }
}

/// A `directory_refresh_interval`: a duration of at least [`MIN_DIRECTORY_REFRESH`].
fn parse_refresh_interval(
    value: Option<&str>,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Option<Duration> {
    let interval = parse_duration_key(value, key, report)?;
    if interval < MIN_DIRECTORY_REFRESH {
        report(
            key.to_string(),
            format!(
                "{} is too short; the minimum is {} (each read costs one ListQueues, one ListRoutingProfiles and one ListRoutingProfileQueues per routing profile)",
                humantime::format_duration(interval),
                humantime::format_duration(MIN_DIRECTORY_REFRESH)
            ),
        );
        return None;
    }
    Some(interval)
}

fn check_name(name: &str, key: &str, report: &mut impl FnMut(String, String)) {
    let problem = if name.trim().is_empty() {
        Some("must not be empty".to_string())
    } else if name.trim() != name {
        Some(format!("{name:?} has leading or trailing white space"))
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(format!("is longer than {MAX_NAME_LEN} characters"))
    } else if name.chars().any(char::is_control) {
        Some(format!("{name:?} contains control characters"))
    } else {
        None
    };
    if let Some(message) = problem {
        report(key.to_string(), message);
    }
}

/// Accepts region codes such as `eu-west-2`, `us-gov-west-1`, `ap-southeast-5`.
fn check_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{region:?} is not an AWS region code (expected something like eu-west-2)"
        ))
    }
}

fn check_endpoint_url(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|error| format!("{url:?} is not a URL: {error}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err(format!(
            "{url:?} must be an absolute http:// or https:// URL such as http://127.0.0.1:8808"
        )),
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
        assert!(found[1].message.contains("too short"), "{found:?}");
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
        assert!(found[0].message.contains("at least 1"), "{found:?}");
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
        assert!(found[0].message.contains("too short"), "{found:?}");
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
}
