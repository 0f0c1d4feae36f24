//! The agent event stream: after every tick each agent is compared with how it was at its
//! last event, and an event goes to the stream when it changed (or is due a heartbeat). The
//! record of truth ([`PublishedAgentEvent`]) is written from the same comparison, never from
//! the JSON, so that tests check the JSON encoder and a client's decoder against it.
//!
//! Rules:
//! - LOGOUT when the status becomes one of type OFFLINE, LOGIN when it leaves one; both carry
//!   the previous and current snapshots, the status change included.
//! - STATE_CHANGE for any other change of status or of the agent's contacts (a contact
//!   offered, moving to a new state, or gone): one event per agent per tick.
//! - HEART_BEAT when an agent had no event for the heartbeat interval, while logged in and for
//!   up to an hour after logging out, as Connect does.
//!
//! Events go on their own random sequence (event IDs, duplicates), so turning the stream on
//! changes nothing else of a seed's world.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use rand::{Rng, SeedableRng};

use super::agent_event_json::{event, round_millis, EventHead, Lookups};
use super::{uuid, Agent, Scenario};
use crate::rng::SimRng;
use crate::stream::{format_sequence, Stream};

/// XORed into the seed for the events' own random sequence.
const EVENTS_SEED: u64 = 0xa6e7_e5e7_5eed_0015;
/// How long after logging out an agent still gets heartbeats, as Connect documents.
const HEARTBEATS_AFTER_LOGOUT_SECONDS: f64 = 3600.0;

/// The agent event stream's settings ([`crate::SimulatorOptions::agent_events`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentEventStreamOptions {
    /// Name of the Kinesis stream (its ARN is `arn:aws:kinesis:{region}:{account}:stream/{name}`).
    pub stream_name: String,
    /// Open shards at the start, at least 1.
    pub shards: usize,
    /// Simulated time without another event after which an agent gets a HEART_BEAT.
    pub heartbeat_interval: Duration,
    /// Records kept over all shards (and entries of [`crate::Simulator::agent_event_log`]):
    /// beyond it the oldest are trimmed, as retention does.
    pub retention_records: usize,
    /// Chance that a record is published twice (same EventId, new sequence number), as a
    /// producer's retry does.
    pub duplicate_rate: f64,
}

impl Default for AgentEventStreamOptions {
    fn default() -> Self {
        Self {
            stream_name: "connect-agent-events".to_string(),
            shards: 2,
            heartbeat_interval: Duration::from_secs(120),
            retention_records: 100_000,
            duplicate_rate: 0.0,
        }
    }
}

impl AgentEventStreamOptions {
    /// Checks the settings; the problem in words.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = (1..=128).contains(&self.stream_name.len())
            && self
                .stream_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !name_ok {
            Err(format!(
                "stream name {:?} must be 1 to 128 of a-z, A-Z, 0-9, _ . -",
                self.stream_name
            ))
        } else if self.shards == 0 {
            Err("the agent event stream needs at least 1 shard".into())
        } else if self.heartbeat_interval.is_zero() {
            Err("the heartbeat interval must be longer than 0".into())
        } else if self.retention_records == 0 {
            Err("the agent event stream must retain at least 1 record".into())
        } else if !(0.0..=1.0).contains(&self.duplicate_rate) {
            Err(format!(
                "duplicate rate {} is not between 0 and 1",
                self.duplicate_rate
            ))
        } else {
            Ok(())
        }
    }
}

/// The kind of an agent event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgentEventType {
    /// The agent left a status of type OFFLINE.
    Login,
    /// The agent's status became one of type OFFLINE.
    Logout,
    /// Status or contacts changed.
    StateChange,
    /// Nothing happened for the heartbeat interval.
    HeartBeat,
}

impl AgentEventType {
    /// The `EventType` value: `LOGIN`, `LOGOUT`, `STATE_CHANGE`, `HEART_BEAT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "LOGIN",
            Self::Logout => "LOGOUT",
            Self::StateChange => "STATE_CHANGE",
            Self::HeartBeat => "HEART_BEAT",
        }
    }
}

/// A change of agent status carried by an event.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// Status name before (`Available`, `Offline`, ...).
    pub from: String,
    /// Status name after.
    pub to: String,
    /// New status start − old status start, in seconds (from the millisecond timestamps the
    /// events carry).
    pub seconds_in_from: f64,
}

/// One record published to the agent event stream, as the simulator knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedAgentEvent {
    /// The record's sequence number (56 digits, as Kinesis writes them).
    pub sequence_number: String,
    /// The shard it went to.
    pub shard_id: String,
    /// `EventId`.
    pub event_id: String,
    /// `EventType`.
    pub event_type: AgentEventType,
    /// `AgentARN` (also the partition key).
    pub agent_arn: String,
    /// The agent's routing profile ID.
    pub routing_profile_id: String,
    /// `EventTimestamp` as epoch seconds, whole milliseconds.
    pub timestamp: f64,
    /// The status change, if the status changed.
    pub status_change: Option<StatusChange>,
    /// (channel, state) of each contact that entered a new state in this event (offered
    /// contacts included), in the order of the agent's contacts.
    pub contact_states_reached: Vec<(String, String)>,
    /// A second copy of the record before it (same `EventId`, new sequence number).
    pub duplicate: bool,
}

/// The stream and what the events are computed from.
#[derive(Debug, Clone)]
pub(crate) struct AgentEvents {
    options: AgentEventStreamOptions,
    pub(crate) stream: Stream,
    account_id: String,
    /// Each agent as of its last event, and when that was; by agent index.
    seen: Vec<(Agent, f64)>,
    log: VecDeque<PublishedAgentEvent>,
    published: u64,
    rng: SimRng,
}

impl AgentEvents {
    /// A stream opened at `now`, every agent seen as it is now (no event for the start).
    pub(crate) fn new(
        options: AgentEventStreamOptions,
        scenario: &Scenario,
        (region, account_id): (&str, &str),
        seed: u64,
        now: f64,
    ) -> Self {
        let arn = format!(
            "arn:aws:kinesis:{region}:{account_id}:stream/{}",
            options.stream_name
        );
        let stream = Stream::new(
            &options.stream_name,
            arn,
            options.shards,
            options.retention_records,
            now,
        );
        Self {
            stream,
            account_id: account_id.to_string(),
            seen: scenario.agents.iter().map(|a| (a.clone(), now)).collect(),
            log: VecDeque::new(),
            published: 0,
            rng: SimRng::seed_from_u64(seed ^ EVENTS_SEED),
            options,
        }
    }

    /// The record of truth, oldest first (bounded like the stream).
    pub(crate) fn log(&self) -> Vec<PublishedAgentEvent> {
        self.log.iter().cloned().collect()
    }

    /// Records published so far, duplicates included.
    pub(crate) fn published(&self) -> u64 {
        self.published
    }

    /// Publishes the events of the tick that brought `scenario` to `now`.
    pub(crate) fn observe(&mut self, scenario: &Scenario, now: f64) {
        let lookups = Lookups::new(scenario);
        let heartbeat = self.options.heartbeat_interval.as_secs_f64();
        for (index, agent) in scenario.agents.iter().enumerate() {
            if index >= self.seen.len() {
                self.seen.push((agent.clone(), now));
                continue;
            }
            let (before, last_event) = &self.seen[index];
            let status_changed =
                before.status_arn != agent.status_arn || before.status_start != agent.status_start;
            let offline_before = lookups.status_type(&before.status_arn) == "OFFLINE";
            let offline_now = lookups.status_type(&agent.status_arn) == "OFFLINE";
            let event_type = if status_changed && offline_now && !offline_before {
                AgentEventType::Logout
            } else if status_changed && offline_before && !offline_now {
                AgentEventType::Login
            } else if status_changed || contacts_changed(before, agent) {
                AgentEventType::StateChange
            } else if now - last_event >= heartbeat
                && (!offline_now || now - agent.status_start < HEARTBEATS_AFTER_LOGOUT_SECONDS)
            {
                AgentEventType::HeartBeat
            } else {
                continue;
            };
            self.publish(scenario, &lookups, index, event_type, now);
        }
    }

    /// Writes one event of agent `index` to the stream (maybe twice) and to the log.
    fn publish(
        &mut self,
        scenario: &Scenario,
        lookups: &Lookups<'_>,
        index: usize,
        event_type: AgentEventType,
        now: f64,
    ) {
        let agent = &scenario.agents[index];
        let before = &self.seen[index].0;
        let event_id = uuid(&mut self.rng);
        let timestamp = round_millis(now) as f64 / 1000.0;
        let head = EventHead {
            account_id: &self.account_id,
            instance_arn: &scenario.instance_arn,
            event_id: &event_id,
            event_type: event_type.as_str(),
            timestamp,
        };
        let data = Bytes::from(event(&head, Some(before), agent, lookups).to_string());
        let status_change = (before.status_arn != agent.status_arn
            || before.status_start != agent.status_start)
            .then(|| StatusChange {
                from: before.status_name.clone(),
                to: agent.status_name.clone(),
                seconds_in_from: (round_millis(agent.status_start)
                    - round_millis(before.status_start)) as f64
                    / 1000.0,
            });
        let contact_states_reached = agent
            .contacts
            .iter()
            .filter(|contact| {
                !before
                    .contacts
                    .iter()
                    .any(|old| old.contact_id == contact.contact_id && old.state == contact.state)
            })
            .map(|contact| (contact.channel.clone(), contact.state.clone()))
            .collect();
        let mut entry = PublishedAgentEvent {
            sequence_number: String::new(),
            shard_id: String::new(),
            event_id,
            event_type,
            agent_arn: agent.arn.clone(),
            routing_profile_id: agent.routing_profile_id.clone(),
            timestamp,
            status_change,
            contact_states_reached,
            duplicate: false,
        };
        let copies = if self.options.duplicate_rate > 0.0
            && self.rng.random_bool(self.options.duplicate_rate)
        {
            2
        } else {
            1
        };
        for copy in 0..copies {
            let (shard_id, sequence) = self.stream.put(&agent.arn, data.clone(), now);
            entry.sequence_number = format_sequence(sequence);
            entry.shard_id = shard_id;
            entry.duplicate = copy > 0;
            self.log.push_back(entry.clone());
            self.published += 1;
        }
        while self.log.len() > self.options.retention_records {
            self.log.pop_front();
        }
        self.seen[index] = (agent.clone(), now);
    }
}

/// True when the agent's contacts differ from `before`'s (a contact came, went, or changed
/// state).
fn contacts_changed(before: &Agent, after: &Agent) -> bool {
    before.contacts.len() != after.contacts.len()
        || before
            .contacts
            .iter()
            .zip(&after.contacts)
            .any(|(a, b)| a.contact_id != b.contact_id || a.state != b.state)
}

#[cfg(test)]
mod tests {
    use super::super::{Size, World};
    use super::*;
    use serde_json::Value;

    /// A small centre: debug builds write and read thousands of events a second only.
    fn world(seed: u64) -> World {
        let size = Size {
            agents: 60,
            queues: 8,
            routing_profiles: 5,
        };
        let (instance, region, account) = (crate::DEMO_INSTANCE_ID, "eu-west-2", "123456789012");
        World::new(instance, region, account, size, seed, 1_700_000_000.0, 1.0)
    }

    fn enabled(seed: u64, options: AgentEventStreamOptions) -> World {
        let mut world = world(seed);
        world.enable_agent_events(options, ("eu-west-2", "123456789012"), seed);
        world
    }

    fn records(world: &World) -> Vec<(String, Value)> {
        let stream = &world.agent_events.as_ref().unwrap().stream;
        let mut all: Vec<_> = stream
            .shards
            .iter()
            .flat_map(|s| {
                s.records
                    .iter()
                    .map(|r| (r.sequence, s.id.clone(), r.data.clone()))
            })
            .collect();
        all.sort_by_key(|(sequence, _, _)| *sequence);
        all.into_iter()
            .map(|(_, shard, data)| (shard, serde_json::from_slice(&data).unwrap()))
            .collect()
    }

    #[test]
    fn every_documented_member_is_there_with_its_type() {
        let mut world = enabled(21, AgentEventStreamOptions::default());
        for _ in 0..60 {
            world.step();
        }
        let records = records(&world);
        assert!(!records.is_empty());
        let iso = |v: &Value| {
            let text = v.as_str().unwrap_or_default();
            text.len() == 24 && text.ends_with('Z') && text.as_bytes()[19] == b'.'
        };
        let mut saw_contact = false;
        for (_, event) in &records {
            for member in [
                "AWSAccountId",
                "AgentARN",
                "EventId",
                "EventType",
                "InstanceARN",
            ] {
                assert!(event[member].is_string(), "{member}: {event}");
            }
            assert_eq!(event["Version"], "2019-05-25");
            assert!(iso(&event["EventTimestamp"]), "{event}");
            assert!(crate::ids::is_uuid(event["EventId"].as_str().unwrap()));
            for snapshot in [
                &event["CurrentAgentSnapshot"],
                &event["PreviousAgentSnapshot"],
            ] {
                let status = &snapshot["AgentStatus"];
                assert!(status["ARN"].is_string() && status["Name"].is_string());
                assert!(
                    ["ROUTABLE", "CUSTOM", "OFFLINE"].contains(&status["Type"].as_str().unwrap())
                );
                assert!(iso(&status["StartTimestamp"]));
                assert!(snapshot["NextAgentStatus"].is_null());
                let configuration = &snapshot["Configuration"];
                for member in ["Username", "FirstName", "LastName"] {
                    assert!(configuration[member].is_string(), "{member}");
                }
                // The simulator's groups are flat: an agent's group is its level 1.
                let groups = &configuration["AgentHierarchyGroups"];
                assert!(
                    groups.is_null()
                        || (groups["Level1"]["ARN"].is_string()
                            && groups["Level1"]["Name"].is_string()
                            && groups["Level2"].is_null()),
                    "{groups}"
                );
                let profile = &configuration["RoutingProfile"];
                assert!(profile["ARN"].is_string() && profile["Name"].is_string());
                for slot in profile["Concurrency"].as_array().unwrap() {
                    assert!(slot["Channel"].is_string());
                    assert!(slot["AvailableSlots"].is_i64() && slot["MaximumSlots"].is_i64());
                }
                assert!(profile["DefaultOutboundQueue"]["Channels"].is_array());
                for queue in profile["InboundQueues"].as_array().unwrap() {
                    assert!(queue["ARN"].is_string() && queue["Name"].is_string());
                    assert!(queue["Channels"].is_array());
                }
                for contact in snapshot["Contacts"].as_array().unwrap() {
                    saw_contact = true;
                    for member in ["ContactId", "Channel", "InitiationMethod", "State"] {
                        assert!(contact[member].is_string(), "{member}: {contact}");
                    }
                    assert!(iso(&contact["StateStartTimestamp"]));
                    let connected = &contact["ConnectedToAgentTimestamp"];
                    assert!(connected.is_null() || iso(connected));
                    assert!(contact["Queue"]["ARN"].is_string());
                    assert!(contact["Queue"]["Name"].is_string());
                    assert!(contact.get("InitialContactId").is_some());
                    assert!(contact.get("QueueTimestamp").is_some());
                }
            }
        }
        assert!(saw_contact);
    }

    #[test]
    fn the_log_agrees_with_the_records_and_partitions_by_agent() {
        let mut world = enabled(
            22,
            AgentEventStreamOptions {
                heartbeat_interval: Duration::from_secs(20),
                duplicate_rate: 0.1,
                ..AgentEventStreamOptions::default()
            },
        );
        for _ in 0..200 {
            world.step();
        }
        let events = world.agent_events.as_ref().unwrap();
        let log = events.log();
        assert_eq!(log.len() as u64, events.published());
        let records = records(&world);
        assert_eq!(records.len(), log.len());
        let mut kinds = std::collections::BTreeSet::new();
        let mut shard_of = std::collections::HashMap::new();
        for (entry, (shard, event)) in log.iter().zip(&records) {
            kinds.insert(entry.event_type);
            assert_eq!(&entry.shard_id, shard);
            assert_eq!(event["EventId"], entry.event_id.as_str());
            assert_eq!(event["EventType"], entry.event_type.as_str());
            assert_eq!(event["AgentARN"], entry.agent_arn.as_str());
            // Every event of one agent goes to one shard.
            assert_eq!(shard_of.entry(&entry.agent_arn).or_insert(shard), &shard);
            let before = &event["PreviousAgentSnapshot"]["AgentStatus"]["Name"];
            let after = &event["CurrentAgentSnapshot"]["AgentStatus"]["Name"];
            match &entry.status_change {
                Some(change) => {
                    assert_eq!(
                        (before, after),
                        (
                            &Value::from(change.from.as_str()),
                            &Value::from(change.to.as_str())
                        )
                    );
                }
                None => assert!(
                    entry.event_type == AgentEventType::StateChange
                        || entry.event_type == AgentEventType::HeartBeat
                ),
            }
            if entry.event_type == AgentEventType::HeartBeat {
                assert!(entry.contact_states_reached.is_empty());
            }
        }
        for kind in [
            AgentEventType::Login,
            AgentEventType::Logout,
            AgentEventType::StateChange,
            AgentEventType::HeartBeat,
        ] {
            assert!(kinds.contains(&kind), "{kind:?} never published: {kinds:?}");
        }
        let duplicates: Vec<_> = log.iter().filter(|e| e.duplicate).collect();
        assert!(!duplicates.is_empty());
        for duplicate in duplicates {
            let original = log
                .iter()
                .find(|e| e.event_id == duplicate.event_id && !e.duplicate)
                .unwrap();
            assert!(original.sequence_number < duplicate.sequence_number);
        }
    }

    #[test]
    fn the_stream_changes_nothing_else_and_is_fixed_by_the_seed() {
        let mut plain = world(23);
        let mut with = enabled(23, AgentEventStreamOptions::default());
        let mut again = enabled(23, AgentEventStreamOptions::default());
        for _ in 0..50 {
            plain.step();
            with.step();
            again.step();
        }
        assert_eq!(plain.scenario, with.scenario);
        let log = |w: &World| w.agent_events.as_ref().unwrap().log();
        assert_eq!(log(&with), log(&again));
    }

    #[test]
    fn options_are_checked() {
        assert!(AgentEventStreamOptions::default().validate().is_ok());
        for bad in [
            AgentEventStreamOptions {
                shards: 0,
                ..Default::default()
            },
            AgentEventStreamOptions {
                stream_name: "a b".into(),
                ..Default::default()
            },
            AgentEventStreamOptions {
                heartbeat_interval: Duration::ZERO,
                ..Default::default()
            },
            AgentEventStreamOptions {
                retention_records: 0,
                ..Default::default()
            },
            AgentEventStreamOptions {
                duplicate_rate: 1.5,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
