//! Plain data of one poll: agents with their slots, status and contacts, queue metric rows,
//! and the instance's routing directory. A leaf: no I/O, no other module of the exporter.

pub mod agent_events;
mod directory;
mod intraday;

pub use directory::{LabelNames, RoutingDirectory};
pub use intraday::{
    IntradayReport, KpiRow, KpiValue, OccupancyRow, QueueKpi, SetIntraday, CALLBACK_FILTER,
};

use std::borrow::Cow;
use std::sync::Arc;

/// A value the API sends from a fixed set (channel, contact state, initiation method), as sent:
/// borrowed from the SDK's list of known values, owned only for a value newer than the SDK.
/// Fifty thousand agents then share one `"VOICE"` instead of allocating their own.
pub type ApiValue = Cow<'static, str>;

/// `value` as an [`ApiValue`]: borrowed when it is one of `known`.
pub fn api_value(value: &str, known: &'static [&'static str]) -> ApiValue {
    known
        .iter()
        .find(|candidate| **candidate == value)
        .map_or_else(
            || Cow::Owned(value.to_string()),
            |known| Cow::Borrowed(*known),
        )
}

/// Per-channel slot counts keyed by the API's channel name (`VOICE`, `CHAT`, or a newer one),
/// each channel once. A list, not a map: an agent has a handful of channels, and a map's
/// node would cost several times the entries it holds.
pub type SlotsByChannel = Vec<(ApiValue, i64)>;

/// One agent as GetCurrentUserData reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentRecord {
    /// `User.Id`: the de-duplication key across queue chunks.
    pub user_id: String,
    /// `Status.StatusName`, e.g. `Available`, `Offline` or a custom status.
    pub status_name: String,
    /// `Status.StatusStartTimestamp`, epoch seconds.
    pub status_start: Option<f64>,
    /// `NextStatus`, set while an agent waits to change status after its contacts.
    pub next_status: Option<String>,
    /// `RoutingProfile.Id`.
    pub routing_profile_id: Option<String>,
    /// `HierarchyPath`: the group IDs from level one down to the agent's own group; kept only
    /// when the instance counts agents by hierarchy group (`hierarchy_labels`).
    pub hierarchy_path: Vec<String>,
    /// `AvailableSlotsByChannel`.
    pub available_slots: SlotsByChannel,
    /// `ActiveSlotsByChannel`.
    pub active_slots: SlotsByChannel,
    /// `MaxSlotsByChannel`.
    pub max_slots: SlotsByChannel,
    /// `Contacts`: every contact with this agent, whichever queue it came from.
    pub contacts: Vec<ContactRecord>,
}

/// One contact with an agent (`AgentContactReference`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactRecord {
    /// `ContactId`.
    pub contact_id: String,
    /// `Channel`, raw API value (`VOICE`, ...); values the SDK does not know are kept as sent.
    pub channel: ApiValue,
    /// `AgentContactState`, raw API value (`CONNECTED`, `MISSED`, ...).
    pub state: ApiValue,
    /// `InitiationMethod`, raw API value.
    pub initiation_method: Option<ApiValue>,
    /// `Queue.Id`; `None` when the service sends no queue.
    pub queue_id: Option<String>,
    /// `StateStartTimestamp`, epoch seconds.
    pub state_start: Option<f64>,
}

/// The agents of one queue set at one moment, each agent once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// When the poll that produced this snapshot started, epoch seconds.
    pub fetched_at: f64,
    /// De-duplicated agents, in the order the service returned them first; shared, not copied,
    /// between the queue sets one sweep serves.
    pub agents: Vec<Arc<AgentRecord>>,
    /// GetCurrentMetricData of the set's queues, one row per (queue, channel); empty when
    /// queue metrics are off.
    pub queue_metrics: Vec<Arc<QueueMetricRow>>,
}

/// A real-time queue metric the exporter asks GetCurrentMetricData for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueueMetric {
    /// `CONTACTS_IN_QUEUE`: contacts waiting in the queue.
    ContactsInQueue,
    /// `OLDEST_CONTACT_AGE`: how long the oldest waiting contact has waited, in seconds.
    OldestContactAge,
    /// `CONTACTS_SCHEDULED`: scheduled callbacks not yet due.
    ContactsScheduled,
    /// `ESTIMATED_WAIT_TIME`: the service's estimate for a new contact, in seconds.
    EstimatedWaitTime,
    /// `AGENTS_ONLINE`: agents in any status but Offline.
    AgentsOnline,
    /// `AGENTS_AVAILABLE`: agents in the Available status.
    AgentsAvailable,
    /// `AGENTS_ON_CONTACT`: agents on a contact.
    AgentsOnContact,
    /// `AGENTS_AFTER_CONTACT_WORK`: agents in after-contact work.
    AgentsAfterContactWork,
    /// `AGENTS_ERROR`: agents in an error state (a missed or failed contact).
    AgentsError,
    /// `AGENTS_STAFFED`: agents available, on contact or in after-contact work.
    AgentsStaffed,
    /// `SLOTS_ACTIVE`: slots in use.
    SlotsActive,
    /// `SLOTS_AVAILABLE`: free slots.
    SlotsAvailable,
}

impl QueueMetric {
    /// Every metric asked for, in the order of the request (and of the exposition).
    pub const ALL: [QueueMetric; 12] = [
        QueueMetric::ContactsInQueue,
        QueueMetric::OldestContactAge,
        QueueMetric::ContactsScheduled,
        QueueMetric::EstimatedWaitTime,
        QueueMetric::AgentsOnline,
        QueueMetric::AgentsAvailable,
        QueueMetric::AgentsOnContact,
        QueueMetric::AgentsAfterContactWork,
        QueueMetric::AgentsError,
        QueueMetric::AgentsStaffed,
        QueueMetric::SlotsActive,
        QueueMetric::SlotsAvailable,
    ];

    /// The API's name of the metric.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::ContactsInQueue => "CONTACTS_IN_QUEUE",
            Self::OldestContactAge => "OLDEST_CONTACT_AGE",
            Self::ContactsScheduled => "CONTACTS_SCHEDULED",
            Self::EstimatedWaitTime => "ESTIMATED_WAIT_TIME",
            Self::AgentsOnline => "AGENTS_ONLINE",
            Self::AgentsAvailable => "AGENTS_AVAILABLE",
            Self::AgentsOnContact => "AGENTS_ON_CONTACT",
            Self::AgentsAfterContactWork => "AGENTS_AFTER_CONTACT_WORK",
            Self::AgentsError => "AGENTS_ERROR",
            Self::AgentsStaffed => "AGENTS_STAFFED",
            Self::SlotsActive => "SLOTS_ACTIVE",
            Self::SlotsAvailable => "SLOTS_AVAILABLE",
        }
    }

    /// The metric named `name` by the API, if it is one of these.
    pub fn from_api_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|metric| metric.api_name() == name)
    }

    /// Whether the API measures it in seconds (else it is a count).
    pub fn is_seconds(self) -> bool {
        matches!(self, Self::OldestContactAge | Self::EstimatedWaitTime)
    }
}

/// One row of GetCurrentMetricData grouped by queue and channel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueMetricRow {
    /// `Dimensions.Queue.Id`.
    pub queue_id: String,
    /// `Dimensions.Channel`, as sent.
    pub channel: ApiValue,
    /// The values the service sent, seconds already converted from the milliseconds the API
    /// sends for `OLDEST_CONTACT_AGE`. A metric the service sent as null (it could not compute
    /// it) is left out, not reported as 0.
    pub values: Vec<(QueueMetric, f64)>,
}

/// Wraps records for a [`Snapshot`] (tests and fixtures build them from plain records).
pub fn shared(records: Vec<AgentRecord>) -> Vec<Arc<AgentRecord>> {
    records.into_iter().map(Arc::new).collect()
}

/// Which agents make up one queue set, resolved to IDs: what a round asks GetCurrentUserData
/// for, and what picks a set's agents from the agent event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetFilter {
    /// The agents serving any of these queues.
    Queues(Vec<String>),
    /// The agents of these routing profiles.
    RoutingProfiles(Vec<String>),
    /// The agents of this user hierarchy group; never swept (the sweep knows profiles, not
    /// groups).
    HierarchyGroup(String),
}

/// One polled target: a queue set of a configured instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetKey {
    /// The instance's config name (`connect_instance` label).
    pub instance: String,
    /// The queue set's config name (`queue_set` label).
    pub queue_set: String,
}

impl std::fmt::Display for TargetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.instance, self.queue_set)
    }
}

/// What one poll of one target produced.
#[derive(Debug, Clone, PartialEq)]
pub struct PollReport {
    /// When the poll started, epoch seconds.
    pub started_at: f64,
    /// How long it took, failed or not.
    pub duration: std::time::Duration,
    /// The snapshot, or why there is none.
    pub outcome: Result<Snapshot, String>,
}

/// What one round of an instance planned and spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundReport {
    /// GetCurrentUserData requests the planner expected.
    pub planned_requests: usize,
    /// GetCurrentUserData attempts made, retries included.
    pub made_requests: u64,
    /// Queue sets served by the routing-profile sweep.
    pub swept_sets: usize,
    /// Queue sets polled with their own queue filter.
    pub queue_filter_sets: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_borrowed_and_new_ones_kept_as_sent() {
        const KNOWN: &[&str] = &["VOICE", "CHAT"];
        assert!(matches!(api_value("VOICE", KNOWN), Cow::Borrowed("VOICE")));
        assert!(matches!(api_value("VIDEO", KNOWN), Cow::Owned(ref v) if v == "VIDEO"));
    }
}
