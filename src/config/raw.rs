//! The configuration file's shapes as serde reads them: every key optional where the file may
//! leave it out, unknown keys refused. [`super::validate`] turns them into the typed config.
//!
//! The same shapes give the file's JSON Schema ([`super::schema`]): a doc comment on a key is
//! what an editor shows for it, and a `schemars` attribute states what serde alone does not
//! see but every valid file has (a list that must not be empty, the shape of a duration).
//! Ranges and rules across keys stay with `validate`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::agent_events::RawAgentEvents;
use super::schema::{DURATION_PATTERN, WINDOW_PATTERN};
use super::wallboard::RawWallboard;
use super::{AgeUnit, LabelValues, PlannerMode, ThresholdComparison};

/// The configuration file of amazon-connect-exporter. Every key is described in README.md
/// ("Configuration"); `amazon-connect-exporter check-config FILE` checks what a schema cannot
/// (ranges, IDs, unique names, rules across keys).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "amazon-connect-exporter configuration")]
pub(super) struct RawConfig {
    /// Settings every instance takes unless it sets its own.
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    /// Request budgets by API operation (`GetCurrentUserData: {rate: 2, burst: 5}`), per AWS
    /// account and region, shared by all its instances; the rest keep the published defaults.
    #[serde(default)]
    pub(super) api_rate_limits: BTreeMap<String, RawRateLimit>,
    /// The share of each List*/Search* budget routing-directory reads may spend (0.05 to 1;
    /// default 0.5).
    pub(super) directory_budget_share: Option<f64>,
    /// How long a missed/rejected/error contact total whose queue and channel no poll sees is
    /// kept before its series ends (1m to 7d; default 1h).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) counter_ttl: Option<String>,
    /// The wallboard's amber and red thresholds for its cells (README.md, "Wallboard").
    pub(super) wallboard: Option<RawWallboard>,
    /// The Amazon Connect instances to poll.
    #[schemars(length(min = 1))]
    pub(super) instances: Vec<RawInstance>,
}

/// The request budget of one API operation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RateLimit")]
pub(super) struct RawRateLimit {
    /// Requests per second (0.01 to 10,000): the account's quota for the operation.
    pub(super) rate: f64,
    /// Requests let through at once after a quiet spell (1 to 100,000).
    pub(super) burst: u32,
}

/// Settings every instance takes unless it sets its own: the same keys as an instance's.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Defaults")]
pub(super) struct RawDefaults {
    /// AWS region code such as `eu-west-2`; else the AWS region chain (`AWS_REGION`, profile).
    pub(super) region: Option<String>,
    /// Time between two polls, such as `15s` or `1m` (1s to 1h; default 15s).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) poll_interval: Option<String>,
    /// Upper bound of one poll, retries and budget waits included (1s to 10m; default: the
    /// poll interval, at least 1m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) poll_timeout: Option<String>,
    /// How rounds are planned.
    pub(super) request_planner: Option<PlannerMode>,
    /// What the `queue` and `routing_profile` labels carry.
    pub(super) label_values: Option<LabelValues>,
    /// How often names and the queues of each routing profile are read again (1s to 1d;
    /// default 5m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) directory_refresh_interval: Option<String>,
    /// Deadline of one read of the routing directory (1s to 1h; default 2m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) directory_timeout: Option<String>,
    /// Whether each round also reads the queue backlog (GetCurrentMetricData); default true.
    pub(super) queue_metrics: Option<bool>,
    /// The unit of GetCurrentMetricData's OLDEST_CONTACT_AGE.
    pub(super) oldest_contact_age_unit: Option<AgeUnit>,
    /// Series per agent (`amazon_connect_per_agent_*`); default false.
    pub(super) agent_series: Option<bool>,
    /// Most data series one queue set publishes per round (1 to 10,000,000; default 200,000).
    pub(super) series_limit: Option<usize>,
    /// Also count agents by user hierarchy group; default false.
    pub(super) hierarchy_labels: Option<bool>,
    /// Every queue set reads the intraday KPIs (GetMetricDataV2); default false.
    pub(super) intraday: Option<bool>,
    /// Time between two reads of the intraday KPIs (10s to 1h; default 1m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) intraday_interval: Option<String>,
    /// IANA time zone where the window `today` starts at midnight (default `UTC`).
    pub(super) time_zone: Option<String>,
    /// Intraday windows: `today` and trailing durations (1m to 34d), each once; default
    /// `[today]`.
    #[schemars(length(min = 1), inner(pattern(WINDOW_PATTERN)))]
    pub(super) intraday_windows: Option<Vec<String>>,
    /// How a contact's time is compared with a service-level threshold.
    pub(super) service_level_comparison: Option<ThresholdComparison>,
}

/// One Amazon Connect instance and the queue sets polled on it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Instance")]
pub(super) struct RawInstance {
    /// The `connect_instance` label: unique, at most 128 characters.
    pub(super) name: String,
    /// The instance ID (a UUID) or the instance ARN.
    pub(super) instance_id: String,
    /// AWS region code such as `eu-west-2`; else the instance ARN's, `defaults.region` or the
    /// AWS region chain.
    pub(super) region: Option<String>,
    /// An absolute `http://` or `https://` URL: a VPC endpoint, the simulator.
    pub(super) endpoint_url: Option<String>,
    /// `arn:aws:iam::ACCOUNT:role/NAME`, assumed through STS.
    pub(super) role_arn: Option<String>,
    /// Time between two polls, such as `15s` or `1m` (1s to 1h; default 15s).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) poll_interval: Option<String>,
    /// Upper bound of one poll, retries and budget waits included (1s to 10m; default: the
    /// poll interval, at least 1m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) poll_timeout: Option<String>,
    /// How rounds are planned.
    pub(super) request_planner: Option<PlannerMode>,
    /// What the `queue` and `routing_profile` labels carry.
    pub(super) label_values: Option<LabelValues>,
    /// How often names and the queues of each routing profile are read again (1s to 1d;
    /// default 5m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) directory_refresh_interval: Option<String>,
    /// Deadline of one read of the routing directory (1s to 1h; default 2m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) directory_timeout: Option<String>,
    /// Whether each round also reads the queue backlog (GetCurrentMetricData); default true.
    pub(super) queue_metrics: Option<bool>,
    /// The unit of GetCurrentMetricData's OLDEST_CONTACT_AGE.
    pub(super) oldest_contact_age_unit: Option<AgeUnit>,
    /// Series per agent (`amazon_connect_per_agent_*`); default false.
    pub(super) agent_series: Option<bool>,
    /// Most data series one queue set publishes per round (1 to 10,000,000; default 200,000).
    pub(super) series_limit: Option<usize>,
    /// Also count agents by user hierarchy group; default false.
    pub(super) hierarchy_labels: Option<bool>,
    /// Every queue set reads the intraday KPIs (GetMetricDataV2); default false.
    pub(super) intraday: Option<bool>,
    /// Time between two reads of the intraday KPIs (10s to 1h; default 1m).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) intraday_interval: Option<String>,
    /// IANA time zone where the window `today` starts at midnight (default `UTC`).
    pub(super) time_zone: Option<String>,
    /// Intraday windows: `today` and trailing durations (1m to 34d), each once; default
    /// `[today]`.
    #[schemars(length(min = 1), inner(pattern(WINDOW_PATTERN)))]
    pub(super) intraday_windows: Option<Vec<String>>,
    /// How a contact's time is compared with a service-level threshold.
    pub(super) service_level_comparison: Option<ThresholdComparison>,
    /// The Kinesis data stream of the instance's agent events, read for exact status
    /// transitions, time in status and contact states (README.md, "Agent event stream").
    pub(super) agent_events: Option<RawAgentEvents>,
    /// The queue sets polled on this instance.
    #[schemars(length(min = 1))]
    pub(super) queue_sets: Vec<RawQueueSet>,
}

/// A named group of agents, picked by `queues`, `routing_profiles` or `hierarchy_group`
/// (exactly one of them).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "QueueSet")]
pub(super) struct RawQueueSet {
    /// The `queue_set` label: unique within the instance, at most 128 characters.
    pub(super) name: String,
    /// Queue IDs, ARNs or names; or `all`: every STANDARD queue, found again at every
    /// directory read.
    pub(super) queues: Option<RawQueues>,
    /// Routing profile IDs, ARNs or names: the set's agents are those with one of them.
    #[schemars(length(min = 1))]
    pub(super) routing_profiles: Option<Vec<String>>,
    /// One user hierarchy group ID, ARN or name: the set's agents are that group's.
    pub(super) hierarchy_group: Option<String>,
    /// With `queues: all`: a regular expression queue names must match (unanchored).
    pub(super) include: Option<String>,
    /// With `queues: all`: a regular expression queue names must not match (unanchored).
    pub(super) exclude: Option<String>,
    /// Service-level thresholds in whole seconds (`[20s, 60s]`; 1s to 7d, each once, at most
    /// 20): the set reads the intraday KPIs whatever `intraday` says.
    #[schemars(inner(pattern(DURATION_PATTERN)))]
    pub(super) service_level_thresholds: Option<Vec<String>>,
    /// The service level the set aims for, a ratio above 0 and at most 1 (`0.8`).
    pub(super) service_level_target: Option<f64>,
}

/// The queues of a set: a list of queue IDs, ARNs or names, or `all`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Queues")]
pub(super) enum RawQueues {
    /// Queue IDs, ARNs or names, at least one.
    // An attribute cannot give a variant `minItems`; the function does.
    #[schemars(schema_with = "super::schema::queue_list")]
    List(Vec<String>),
    /// `all`: every STANDARD queue of the instance, found again at every directory read
    /// (filtered by name with `include` and `exclude`).
    // serde takes any word here so that validation can say what is wrong with it; `all` is
    // the only one it accepts, and the schema says so.
    #[schemars(schema_with = "super::schema::all_keyword")]
    Keyword(String),
}
