//! JSON bodies of the Connect API as the service writes them (member names from the service
//! model; timestamps as epoch seconds).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scenario::{Agent, Contact};

/// GetCurrentUserData request body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetCurrentUserDataRequest {
    pub(crate) filters: Option<UserDataFilters>,
    pub(crate) max_results: Option<i64>,
    pub(crate) next_token: Option<String>,
}

/// `Filters`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserDataFilters {
    pub(crate) queues: Option<Vec<String>>,
    pub(crate) routing_profiles: Option<Vec<String>>,
    pub(crate) agents: Option<Vec<String>>,
    pub(crate) user_hierarchy_groups: Option<Vec<String>>,
    pub(crate) contact_filter: Option<ContactFilter>,
}

/// `Filters.ContactFilter`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContactFilter {
    pub(crate) contact_states: Option<Vec<String>>,
}

/// `{Id, Arn}` references.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Reference<'a> {
    pub(crate) id: &'a str,
    pub(crate) arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StatusReference<'a> {
    status_start_timestamp: f64,
    status_arn: &'a str,
    status_name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HierarchyPath<'a> {
    level_one: Reference<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContactReference<'a> {
    contact_id: &'a str,
    channel: &'a str,
    initiation_method: &'a str,
    agent_contact_state: &'a str,
    state_start_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    connected_to_agent_timestamp: Option<f64>,
    queue: Reference<'a>,
}

/// One `UserData` entry.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserData<'a> {
    user: Reference<'a>,
    routing_profile: Reference<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hierarchy_path: Option<HierarchyPath<'a>>,
    status: StatusReference<'a>,
    available_slots_by_channel: &'a BTreeMap<String, i32>,
    max_slots_by_channel: &'a BTreeMap<String, i32>,
    active_slots_by_channel: &'a BTreeMap<String, i32>,
    contacts: Vec<ContactReference<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_status: Option<&'a str>,
}

impl<'a> UserData<'a> {
    /// The wire form of `agent`; ARNs are built under `instance_arn`.
    pub(crate) fn from_agent(agent: &'a Agent, instance_arn: &str) -> Self {
        Self {
            user: Reference {
                id: &agent.id,
                arn: agent.arn.clone(),
            },
            routing_profile: Reference {
                id: &agent.routing_profile_id,
                arn: format!(
                    "{instance_arn}/routing-profile/{}",
                    agent.routing_profile_id
                ),
            },
            hierarchy_path: agent
                .hierarchy_group_id
                .as_deref()
                .map(|group| HierarchyPath {
                    level_one: Reference {
                        id: group,
                        arn: format!("{instance_arn}/agent-group/{group}"),
                    },
                }),
            status: StatusReference {
                status_start_timestamp: agent.status_start,
                status_arn: &agent.status_arn,
                status_name: &agent.status_name,
            },
            available_slots_by_channel: &agent.available_slots,
            max_slots_by_channel: &agent.max_slots,
            active_slots_by_channel: &agent.active_slots,
            contacts: agent
                .contacts
                .iter()
                .map(|contact| ContactReference::from_contact(contact, instance_arn))
                .collect(),
            next_status: agent.next_status.as_deref(),
        }
    }
}

impl<'a> ContactReference<'a> {
    fn from_contact(contact: &'a Contact, instance_arn: &str) -> Self {
        Self {
            contact_id: &contact.contact_id,
            channel: &contact.channel,
            initiation_method: &contact.initiation_method,
            agent_contact_state: &contact.state,
            state_start_timestamp: contact.state_start,
            connected_to_agent_timestamp: contact.connected_to_agent,
            queue: Reference {
                id: &contact.queue_id,
                arn: format!("{instance_arn}/queue/{}", contact.queue_id),
            },
        }
    }
}

/// GetCurrentUserData response body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetCurrentUserDataResponse<'a> {
    pub(crate) user_data_list: Vec<UserData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_token: Option<String>,
    pub(crate) approximate_total_count: usize,
}

/// GetCurrentMetricData request body (`SortCriteria` and other members are ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetCurrentMetricDataRequest {
    pub(crate) filters: Option<MetricFilters>,
    pub(crate) groupings: Option<Vec<String>>,
    pub(crate) current_metrics: Option<Vec<CurrentMetricRequest>>,
    pub(crate) max_results: Option<i64>,
    pub(crate) next_token: Option<String>,
}

/// GetCurrentMetricData's `Filters` (`RoutingStepExpressions` and others are not simulated).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MetricFilters {
    pub(crate) queues: Option<Vec<String>>,
    pub(crate) routing_profiles: Option<Vec<String>>,
    pub(crate) channels: Option<Vec<String>>,
}

/// One entry of `CurrentMetrics`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CurrentMetricRequest {
    pub(crate) name: Option<String>,
    pub(crate) unit: Option<String>,
}

/// GetMetricDataV2 request body. Timestamps are epoch seconds, as the SDK sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetMetricDataV2Request {
    pub(crate) resource_arn: Option<String>,
    pub(crate) start_time: Option<f64>,
    pub(crate) end_time: Option<f64>,
    pub(crate) interval: Option<IntervalDetails>,
    pub(crate) filters: Option<Vec<FilterV2>>,
    pub(crate) groupings: Option<Vec<String>>,
    pub(crate) metrics: Option<Vec<MetricV2>>,
    pub(crate) next_token: Option<String>,
    pub(crate) max_results: Option<i64>,
}

/// `Interval`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IntervalDetails {
    pub(crate) time_zone: Option<String>,
    pub(crate) interval_period: Option<String>,
}

/// One entry of `Filters`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FilterV2 {
    pub(crate) filter_key: Option<String>,
    pub(crate) filter_values: Option<Vec<String>>,
    pub(crate) string_condition: Option<serde_json::Value>,
}

/// One entry of `Metrics`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MetricV2 {
    pub(crate) name: Option<String>,
    pub(crate) metric_id: Option<String>,
    pub(crate) threshold: Option<Vec<ThresholdV2>>,
    pub(crate) metric_filters: Option<Vec<MetricFilterV2>>,
}

/// One entry of `Metrics[].Threshold`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ThresholdV2 {
    pub(crate) comparison: Option<String>,
    pub(crate) threshold_value: Option<f64>,
}

/// One entry of `Metrics[].MetricFilters`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MetricFilterV2 {
    pub(crate) metric_filter_key: Option<String>,
    pub(crate) metric_filter_values: Option<Vec<String>>,
    pub(crate) negate: Option<bool>,
}
