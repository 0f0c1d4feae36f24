//! The JSON of one Amazon Connect agent event, as Connect writes it to the agent event stream
//! (data model version 2019-05-25): member names, ISO-8601 millisecond timestamps in UTC.
//!
//! Contact states and channels keep the simulator's names, which are the event model's:
//! INCOMING, CONNECTING, CONNECTED, CONNECTED_ONHOLD, MISSED, REJECTED and ENDED (the simulator
//! never produces PENDING, PAUSED or ERROR); VOICE, CHAT, TASK, EMAIL.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::{Agent, Queue, RoutingProfile, Scenario};

/// The data model version every event carries.
pub(crate) const EVENT_VERSION: &str = "2019-05-25";

/// `2019-08-13T20:52:30.704Z` for epoch seconds `seconds` (rounded to the millisecond).
pub(crate) fn iso_millis(seconds: f64) -> String {
    jiff::Timestamp::from_millisecond(round_millis(seconds))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// Epoch milliseconds of epoch seconds `seconds`, as the events carry them.
pub(crate) fn round_millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// The directory looked up while writing events, built once per tick.
pub(crate) struct Lookups<'a> {
    profiles: HashMap<&'a str, &'a RoutingProfile>,
    queues: HashMap<&'a str, &'a Queue>,
    status_types: HashMap<&'a str, &'a str>,
    hierarchy_groups: HashMap<&'a str, &'a super::HierarchyGroup>,
}

impl<'a> Lookups<'a> {
    pub(crate) fn new(scenario: &'a Scenario) -> Self {
        Self {
            profiles: scenario
                .routing_profiles
                .iter()
                .map(|p| (p.id.as_str(), p))
                .collect(),
            queues: scenario.queues.iter().map(|q| (q.id.as_str(), q)).collect(),
            status_types: scenario
                .agent_statuses
                .iter()
                .map(|s| (s.arn.as_str(), s.status_type.as_str()))
                .collect(),
            hierarchy_groups: scenario
                .hierarchy_groups
                .iter()
                .map(|g| (g.id.as_str(), g))
                .collect(),
        }
    }

    /// `AgentHierarchyGroups`: the simulator's groups are flat, so an agent's group is its
    /// level 1; null for an agent without one.
    fn hierarchy_groups(&self, agent: &Agent) -> Value {
        let group = agent
            .hierarchy_group_id
            .as_deref()
            .and_then(|id| self.hierarchy_groups.get(id));
        match group {
            Some(group) => json!({
                "Level1": {"ARN": group.arn, "Name": group.name},
                "Level2": Value::Null,
                "Level3": Value::Null,
                "Level4": Value::Null,
                "Level5": Value::Null,
            }),
            None => Value::Null,
        }
    }

    /// `ROUTABLE`, `CUSTOM` or `OFFLINE` for a status ARN.
    pub(crate) fn status_type(&self, arn: &str) -> &'a str {
        self.status_types.get(arn).copied().unwrap_or("CUSTOM")
    }

    fn queue_reference(&self, id: &str, channels: &[&str]) -> Value {
        match self.queues.get(id) {
            Some(queue) if channels.is_empty() => json!({"ARN": queue.arn, "Name": queue.name}),
            Some(queue) => json!({"ARN": queue.arn, "Name": queue.name, "Channels": channels}),
            None => Value::Null,
        }
    }
}

/// What an event says besides its snapshots.
pub(crate) struct EventHead<'a> {
    pub(crate) account_id: &'a str,
    pub(crate) instance_arn: &'a str,
    pub(crate) event_id: &'a str,
    pub(crate) event_type: &'a str,
    pub(crate) timestamp: f64,
}

/// One event: `previous` and `current` are the agent before and after.
pub(crate) fn event(
    head: &EventHead<'_>,
    previous: Option<&Agent>,
    current: &Agent,
    lookups: &Lookups<'_>,
) -> Value {
    json!({
        "AWSAccountId": head.account_id,
        "AgentARN": current.arn,
        "CurrentAgentSnapshot": snapshot(current, lookups),
        "EventId": head.event_id,
        "EventTimestamp": iso_millis(head.timestamp),
        "EventType": head.event_type,
        "InstanceARN": head.instance_arn,
        "PreviousAgentSnapshot": previous.map_or(Value::Null, |agent| snapshot(agent, lookups)),
        "Version": EVENT_VERSION,
    })
}

/// An AgentSnapshot: status, configuration and contacts.
fn snapshot(agent: &Agent, lookups: &Lookups<'_>) -> Value {
    json!({
        "AgentStatus": {
            "ARN": agent.status_arn,
            "Name": agent.status_name,
            "Type": lookups.status_type(&agent.status_arn),
            "StartTimestamp": iso_millis(agent.status_start),
        },
        // The simulator's next status has no ARN-and-time record of when it was chosen.
        "NextAgentStatus": Value::Null,
        "Configuration": {
            "Username": agent.username,
            "FirstName": "Agent",
            "LastName": agent.username.trim_start_matches("agent"),
            "AgentHierarchyGroups": lookups.hierarchy_groups(agent),
            "RoutingProfile": routing_profile(agent, lookups),
        },
        "Contacts": agent.contacts.iter().map(|contact| json!({
            "ContactId": contact.contact_id,
            "InitialContactId": Value::Null,
            "Channel": contact.channel,
            "InitiationMethod": contact.initiation_method,
            "State": contact.state,
            "StateStartTimestamp": iso_millis(contact.state_start),
            "ConnectedToAgentTimestamp": contact.connected_to_agent.map(iso_millis),
            // When the contact entered the queue is not kept once an agent has it.
            "QueueTimestamp": Value::Null,
            "Queue": lookups.queue_reference(&contact.queue_id, &[]),
        })).collect::<Vec<Value>>(),
    })
}

/// The agent's routing profile with its concurrency, the agent's free slots and its queues.
fn routing_profile(agent: &Agent, lookups: &Lookups<'_>) -> Value {
    let Some(profile) = lookups.profiles.get(agent.routing_profile_id.as_str()) else {
        return Value::Null;
    };
    let concurrency: Vec<Value> = profile
        .concurrency
        .iter()
        .map(|(channel, max)| {
            json!({
                "Channel": channel,
                "AvailableSlots": agent.available_slots.get(channel).copied().unwrap_or(0),
                "MaximumSlots": max,
            })
        })
        .collect();
    // Queue ID → channels it is served on, in the profile's order.
    let mut channels: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for (order, entry) in profile.queues.iter().enumerate() {
        let slot = channels
            .entry(&entry.queue_id)
            .or_insert((order, Vec::new()));
        slot.1.push(&entry.channel);
    }
    let mut queues: Vec<(usize, &str, Vec<&str>)> = channels
        .into_iter()
        .map(|(id, (order, channels))| (order, id, channels))
        .collect();
    queues.sort_unstable_by_key(|(order, _, _)| *order);
    let inbound: Vec<Value> = queues
        .iter()
        .map(|(_, id, channels)| lookups.queue_reference(id, channels))
        .collect();
    // The simulator has no default outbound queue of its own: the profile's first queue.
    let outbound = queues.first().map_or(Value::Null, |(_, id, _)| {
        lookups.queue_reference(id, &["VOICE"])
    });
    json!({
        "ARN": profile.arn,
        "Name": profile.name,
        "Concurrency": concurrency,
        "DefaultOutboundQueue": outbound,
        "InboundQueues": inbound,
    })
}
