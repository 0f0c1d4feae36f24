//! The configuration file's shapes as serde reads them: every key optional where the file may
//! leave it out, unknown keys refused. [`super::validate`] turns them into the typed config.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::wallboard::RawWallboard;
use super::{AgeUnit, LabelValues, PlannerMode, ThresholdComparison};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) api_rate_limits: BTreeMap<String, RawRateLimit>,
    pub(super) directory_budget_share: Option<f64>,
    pub(super) counter_ttl: Option<String>,
    pub(super) wallboard: Option<RawWallboard>,
    pub(super) instances: Vec<RawInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(super) rate: f64,
    pub(super) burst: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) region: Option<String>,
    pub(super) poll_interval: Option<String>,
    pub(super) poll_timeout: Option<String>,
    pub(super) request_planner: Option<PlannerMode>,
    pub(super) label_values: Option<LabelValues>,
    pub(super) directory_refresh_interval: Option<String>,
    pub(super) directory_timeout: Option<String>,
    pub(super) queue_metrics: Option<bool>,
    pub(super) oldest_contact_age_unit: Option<AgeUnit>,
    pub(super) agent_series: Option<bool>,
    pub(super) series_limit: Option<usize>,
    pub(super) hierarchy_labels: Option<bool>,
    pub(super) intraday: Option<bool>,
    pub(super) intraday_interval: Option<String>,
    pub(super) time_zone: Option<String>,
    pub(super) intraday_windows: Option<Vec<String>>,
    pub(super) service_level_comparison: Option<ThresholdComparison>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInstance {
    pub(super) name: String,
    pub(super) instance_id: String,
    pub(super) region: Option<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) role_arn: Option<String>,
    pub(super) poll_interval: Option<String>,
    pub(super) poll_timeout: Option<String>,
    pub(super) request_planner: Option<PlannerMode>,
    pub(super) label_values: Option<LabelValues>,
    pub(super) directory_refresh_interval: Option<String>,
    pub(super) directory_timeout: Option<String>,
    pub(super) queue_metrics: Option<bool>,
    pub(super) oldest_contact_age_unit: Option<AgeUnit>,
    pub(super) agent_series: Option<bool>,
    pub(super) series_limit: Option<usize>,
    pub(super) hierarchy_labels: Option<bool>,
    pub(super) intraday: Option<bool>,
    pub(super) intraday_interval: Option<String>,
    pub(super) time_zone: Option<String>,
    pub(super) intraday_windows: Option<Vec<String>>,
    pub(super) service_level_comparison: Option<ThresholdComparison>,
    pub(super) queue_sets: Vec<RawQueueSet>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueueSet {
    pub(super) name: String,
    pub(super) queues: Option<RawQueues>,
    pub(super) routing_profiles: Option<Vec<String>>,
    pub(super) hierarchy_group: Option<String>,
    pub(super) include: Option<String>,
    pub(super) exclude: Option<String>,
    pub(super) service_level_thresholds: Option<Vec<String>>,
    pub(super) service_level_target: Option<f64>,
}

/// `queues:` is a list today; the keyword form (`queues: all`) is reserved for discovery.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawQueues {
    List(Vec<String>),
    Keyword(String),
}
