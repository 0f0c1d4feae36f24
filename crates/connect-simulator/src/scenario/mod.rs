//! The simulated contact centre: plain data and the seeded state machine that moves it on one
//! tick at a time. No I/O.
//!
//! Slots follow one rule, kept after every tick: `MaxSlotsByChannel` is the routing profile's
//! concurrency; `ActiveSlotsByChannel` counts the agent's contacts of that channel in
//! INCOMING, PENDING, CONNECTING, CONNECTED, CONNECTED_ONHOLD or ENDED (after-contact work);
//! `AvailableSlotsByChannel` is max − active while the agent's status is `Available`, else 0.
//!
//! The queue backlog (contacts waiting in queues, scheduled callbacks) moves on its own random
//! sequence, so adding it changed none of the agents' and contacts' history for a given seed.
//! [`queue_metric_rows`] derives GetCurrentMetricData's values from the state, as a pure
//! function.
//!
//! The contact history (`history.rs`, [`HistoricalContact`], [`AgentTimeSpan`]) watches each
//! tick after the world has moved and draws from a sequence of its own, so it changes nothing
//! else either; `backfill.rs` fills in the day before the start, and `history_metrics.rs`
//! computes GetMetricDataV2's values from it, as a pure function.
//!
//! The agent event stream (`agent_events.rs`, off unless turned on) also watches each tick
//! after the world has moved, on a sequence of its own, and publishes to `crate::stream`.

mod agent_event_json;
mod agent_events;
mod backfill;
mod backlog;
mod history;
mod history_metrics;
mod metrics;
mod step;
#[cfg(test)]
mod test_support;
mod world;

use std::collections::BTreeMap;

use rand::{Rng, RngCore};

use crate::rng::SimRng;

pub use agent_events::{
    AgentEventStreamOptions, AgentEventType, PublishedAgentEvent, StatusChange,
};
pub use backfill::{
    BACKFILL_ABANDON_PROBABILITY, BACKFILL_ABSENT_PROBABILITY, BACKFILL_BLOCK_SECONDS,
    BACKFILL_CONTACTS_PER_QUEUE_PER_DAY,
};
pub use history::{
    AgentActivity, AgentTimeSpan, AnsweredContact, HistoricalContact, HISTORY_CHANNELS,
    HISTORY_RETENTION_SECONDS, MAX_AGENT_TIME_SPANS, MAX_ANSWER_WAIT_SECONDS, MAX_HISTORY_CONTACTS,
    MEAN_ANSWER_WAIT_SECONDS, TRANSFER_OUT_PROBABILITY,
};
pub(crate) use history_metrics::{
    history_metric_rows, Dimension, HistoryQuery, HistoryRow, MetricSpec,
};
pub use history_metrics::{Comparison, HistoricalMetric};
pub use metrics::{queue_metric_rows, CurrentMetric, MetricQuery, MetricRow, QueueMetrics};
pub(crate) use world::{Size, Timing, World};

/// Ticks of warm-up before the data is served, so that every state occurs from the start.
pub const WARM_UP_TICKS: u32 = 90;
/// Chance that a contact being offered is not answered: it goes to MISSED.
pub const MISS_PROBABILITY: f64 = 0.05;
/// Chance that a chat, task or email being offered is rejected.
pub const REJECT_PROBABILITY: f64 = 0.03;
/// Chance per tick and free channel that an Available agent is offered a contact.
pub const ARRIVAL_PROBABILITY: f64 = 0.08;
/// Chance per tick and served (queue, channel) pair that a contact joins the queue. With
/// [`QUEUE_DEPARTURE_PROBABILITY`] about 0.27 contacts wait per pair, so a 12-queue demo (about
/// 30 served pairs) usually shows a handful waiting.
pub const QUEUE_ARRIVAL_PROBABILITY: f64 = 0.008;
/// Chance per tick that a waiting contact leaves its queue (answered or abandoned): waits are
/// about 33 ticks on average and rarely beyond two minutes at one-second ticks.
pub const QUEUE_DEPARTURE_PROBABILITY: f64 = 0.03;
/// Chance per tick and served (queue, VOICE) pair that a callback is scheduled.
pub const CALLBACK_SCHEDULE_PROBABILITY: f64 = 0.002;
/// Chance per tick that a scheduled callback's time comes and it leaves the list (about 100
/// ticks after it was scheduled, on average).
pub const CALLBACK_DUE_PROBABILITY: f64 = 0.01;
/// Seconds of estimated wait per waiting contact and staffed agent: ESTIMATED_WAIT_TIME is
/// `contacts_in_queue × ESTIMATED_SECONDS_PER_CONTACT / agents_staffed`.
pub const ESTIMATED_SECONDS_PER_CONTACT: f64 = 30.0;
/// The channels GetCurrentMetricData reports on, in the order its rows come.
pub const METRIC_CHANNELS: [&str; 3] = ["VOICE", "CHAT", "TASK"];

const QUEUE_NAMES: [&str; 12] = [
    "Support",
    "Sales",
    "Billing",
    "Returns",
    "Technical",
    "Retention",
    "Onboarding",
    "Claims",
    "Collections",
    "Escalations",
    "VIP",
    "Outbound",
];
const STATUSES: [(&str, &str); 5] = [
    ("Available", "ROUTABLE"),
    ("Offline", "OFFLINE"),
    ("Break", "CUSTOM"),
    ("Lunch", "CUSTOM"),
    ("Training", "CUSTOM"),
];
const HIERARCHY_GROUPS: [&str; 4] = ["North", "South", "East", "West"];

/// The whole simulated instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Instance ID.
    pub instance_id: String,
    /// Instance ARN.
    pub instance_arn: String,
    /// STANDARD queues.
    pub queues: Vec<Queue>,
    /// Routing profiles.
    pub routing_profiles: Vec<RoutingProfile>,
    /// Agent statuses.
    pub agent_statuses: Vec<AgentStatus>,
    /// User hierarchy groups.
    pub hierarchy_groups: Vec<HierarchyGroup>,
    /// Agents (users).
    pub agents: Vec<Agent>,
    /// Contacts waiting in a queue for an agent, in the order they arrived (tick by tick).
    pub waiting_contacts: Vec<QueuedContact>,
    /// Scheduled callbacks waiting for their time, in the order they were scheduled.
    pub scheduled_contacts: Vec<QueuedContact>,
}

/// A contact in a queue, not yet with an agent: waiting, or a callback scheduled for later.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedContact {
    /// Contact ID.
    pub contact_id: String,
    /// ID of the queue it is in.
    pub queue_id: String,
    /// `VOICE`, `CHAT` or `TASK`.
    pub channel: String,
    /// When it entered the queue (or was scheduled), epoch seconds with millisecond precision.
    pub enqueued_at: f64,
}

/// A queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// ID.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// `STANDARD` or `AGENT`.
    pub queue_type: String,
}

/// A routing profile and the queues it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingProfile {
    /// ID.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// One entry per (queue, channel) served.
    pub queues: Vec<RoutingProfileQueue>,
    /// Concurrency by channel (`VOICE` → 1, ...); channels not served are absent.
    pub concurrency: BTreeMap<String, i32>,
}

/// One (queue, channel) a routing profile serves.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingProfileQueue {
    /// Queue ID.
    pub queue_id: String,
    /// Channel.
    pub channel: String,
    /// Routing priority.
    pub priority: i32,
    /// Routing delay in seconds.
    pub delay: i32,
}

/// An agent status.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStatus {
    /// ID.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// `ROUTABLE`, `CUSTOM` or `OFFLINE`.
    pub status_type: String,
}

/// A user hierarchy group.
#[derive(Debug, Clone, PartialEq)]
pub struct HierarchyGroup {
    /// ID.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
}

/// An agent and its current state.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// User ID.
    pub id: String,
    /// User ARN.
    pub arn: String,
    /// Login name.
    pub username: String,
    /// Its one routing profile.
    pub routing_profile_id: String,
    /// Its hierarchy group.
    pub hierarchy_group_id: Option<String>,
    /// Current status name.
    pub status_name: String,
    /// Current status ARN.
    pub status_arn: String,
    /// When the status began, epoch seconds.
    pub status_start: f64,
    /// Status to take when the current contacts are done.
    pub next_status: Option<String>,
    /// `MaxSlotsByChannel`.
    pub max_slots: BTreeMap<String, i32>,
    /// `ActiveSlotsByChannel`.
    pub active_slots: BTreeMap<String, i32>,
    /// `AvailableSlotsByChannel`.
    pub available_slots: BTreeMap<String, i32>,
    /// Contacts with the agent.
    pub contacts: Vec<Contact>,
}

/// A contact with an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Contact ID.
    pub contact_id: String,
    /// `VOICE`, `CHAT`, `TASK` or `EMAIL`.
    pub channel: String,
    /// Initiation method (`INBOUND`, ...).
    pub initiation_method: String,
    /// Agent contact state (`CONNECTED`, ...).
    pub state: String,
    /// When the state began, epoch seconds.
    pub state_start: f64,
    /// When the agent was connected, epoch seconds.
    pub connected_to_agent: Option<f64>,
    /// The queue the contact came from.
    pub queue_id: String,
}

/// A random ID in the form Connect's IDs have.
fn uuid(rng: &mut SimRng) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // What `rng.random::<[u8; 16]>()` draws (a word per byte), without its layers of calls
    // that a debug build keeps.
    let mut bytes = [0u8; 16];
    for byte in &mut bytes {
        *byte = rng.next_u32() as u8;
    }
    let mut hex = [0u8; 32];
    for (index, byte) in bytes.iter().enumerate() {
        hex[2 * index] = DIGITS[usize::from(byte >> 4)];
        hex[2 * index + 1] = DIGITS[usize::from(byte & 15)];
    }
    // Version 4 / variant 1 nibbles, as real Connect IDs have.
    hex[12] = b'4';
    hex[16] = b"89ab"[usize::from(bytes[8] & 3)];
    let mut id = String::with_capacity(36);
    for (index, digit) in hex.iter().enumerate() {
        if matches!(index, 8 | 12 | 16 | 20) {
            id.push('-');
        }
        id.push(char::from(*digit));
    }
    id
}

/// A random duration in ticks, `low` to `high` inclusive.
fn ticks(rng: &mut SimRng, low: u32, high: u32) -> u32 {
    rng.random_range(low..=high)
}

/// True for the states in which a contact takes up one of the agent's slots.
pub fn occupies_slot(state: &str) -> bool {
    matches!(
        state,
        "INCOMING" | "PENDING" | "CONNECTING" | "CONNECTED" | "CONNECTED_ONHOLD" | "ENDED"
    )
}

/// Brings the agent's slot maps in line with its contacts and status (the rule above).
fn update_slots(agent: &mut Agent) {
    let routable = agent.status_name == "Available";
    let active_of = |channel: &str| {
        let mut active = 0;
        for contact in &agent.contacts {
            if contact.channel == channel && occupies_slot(&contact.state) {
                active += 1;
            }
        }
        active
    };
    // In place when the maps already have the right channels, as they do after the first
    // time: building them anew (string keys, tree nodes) is slow in a debug build.
    let same_channels = agent.active_slots.len() == agent.max_slots.len()
        && agent.available_slots.len() == agent.max_slots.len()
        && agent.max_slots.keys().eq(agent.active_slots.keys())
        && agent.max_slots.keys().eq(agent.available_slots.keys())
        && agent
            .contacts
            .iter()
            .all(|contact| agent.max_slots.contains_key(&contact.channel));
    if same_channels {
        let counts: Vec<(i32, i32)> = agent
            .max_slots
            .iter()
            .map(|(channel, max)| {
                let used = active_of(channel);
                (used, if routable { (max - used).max(0) } else { 0 })
            })
            .collect();
        for ((active, available), (used, free)) in agent
            .active_slots
            .values_mut()
            .zip(agent.available_slots.values_mut())
            .zip(counts)
        {
            *active = used;
            *available = free;
        }
        return;
    }
    let mut active: BTreeMap<String, i32> = agent
        .max_slots
        .keys()
        .map(|channel| (channel.clone(), 0))
        .collect();
    for contact in agent.contacts.iter().filter(|c| occupies_slot(&c.state)) {
        *active.entry(contact.channel.clone()).or_default() += 1;
    }
    agent.available_slots = agent
        .max_slots
        .iter()
        .map(|(channel, max)| {
            let used = active.get(channel).copied().unwrap_or(0);
            (
                channel.clone(),
                if routable { (max - used).max(0) } else { 0 },
            )
        })
        .collect();
    agent.active_slots = active;
}
