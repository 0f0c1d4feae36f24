//! Plain data of one poll: agents with their slots, status and contacts. No I/O here.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Per-channel slot counts keyed by the API's channel name (`VOICE`, `CHAT`, or a newer one).
pub type SlotsByChannel = BTreeMap<String, i64>;

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
    pub channel: String,
    /// `AgentContactState`, raw API value (`CONNECTED`, `MISSED`, ...).
    pub state: String,
    /// `InitiationMethod`, raw API value.
    pub initiation_method: Option<String>,
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
}

/// Wraps records for a [`Snapshot`] (tests and fixtures build them from plain records).
pub fn shared(records: Vec<AgentRecord>) -> Vec<Arc<AgentRecord>> {
    records.into_iter().map(Arc::new).collect()
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
