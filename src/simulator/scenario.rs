//! The simulated contact centre: plain data and the seeded state machine that moves it on one
//! tick at a time. No I/O.
//!
//! Slots follow one rule, kept after every tick: `MaxSlotsByChannel` is the routing profile's
//! concurrency; `ActiveSlotsByChannel` counts the agent's contacts of that channel in
//! INCOMING, PENDING, CONNECTING, CONNECTED, CONNECTED_ONHOLD or ENDED (after-contact work);
//! `AvailableSlotsByChannel` is max − active while the agent's status is `Available`, else 0.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Ticks of warm-up before the data is served, so that every state occurs from the start.
pub const WARM_UP_TICKS: u32 = 90;
/// Chance that a contact being offered is not answered: it goes to MISSED.
pub const MISS_PROBABILITY: f64 = 0.05;
/// Chance that a chat, task or email being offered is rejected.
pub const REJECT_PROBABILITY: f64 = 0.03;
/// Chance per tick and free channel that an Available agent is offered a contact.
pub const ARRIVAL_PROBABILITY: f64 = 0.08;

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

/// The scenario plus what moves it: random numbers, clock, per-contact timers.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) scenario: Scenario,
    rng: StdRng,
    /// Simulated time of the state, epoch seconds.
    pub(crate) now: f64,
    tick_seconds: f64,
    /// Ticks left in the current state, by contact ID.
    timers: HashMap<String, u32>,
}

/// How big a world to build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    pub(crate) agents: usize,
    pub(crate) queues: usize,
    pub(crate) routing_profiles: usize,
}

fn uuid(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Version 4 / variant 1 nibbles, as real Connect IDs have.
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][usize::from(bytes[8] & 3)],
        &hex[17..20],
        &hex[20..32]
    )
}

fn ticks(rng: &mut StdRng, low: u32, high: u32) -> u32 {
    rng.random_range(low..=high)
}

impl World {
    /// Builds the seeded world at `start` (epoch seconds) and warms it up, ending at
    /// `start + WARM_UP_TICKS × tick`.
    pub(crate) fn new(
        instance_id: &str,
        region: &str,
        account_id: &str,
        size: Size,
        seed: u64,
        start: f64,
        tick_seconds: f64,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let instance_arn = format!("arn:aws:connect:{region}:{account_id}:instance/{instance_id}");
        let queues: Vec<Queue> = (0..size.queues)
            .map(|index| {
                let id = uuid(&mut rng);
                let name = if size.queues <= QUEUE_NAMES.len() {
                    QUEUE_NAMES[index].to_string()
                } else {
                    format!(
                        "{} {:02}",
                        QUEUE_NAMES[index % QUEUE_NAMES.len()],
                        index / QUEUE_NAMES.len() + 1
                    )
                };
                Queue {
                    arn: format!("{instance_arn}/queue/{id}"),
                    id,
                    name,
                    queue_type: "STANDARD".into(),
                }
            })
            .collect();

        let mut served: Vec<Vec<usize>> = (0..size.routing_profiles)
            .map(|_| {
                let count = rng.random_range(1..=size.queues.min(4));
                let mut picked: Vec<usize> = Vec::with_capacity(count);
                while picked.len() < count {
                    let queue = rng.random_range(0..size.queues);
                    if !picked.contains(&queue) {
                        picked.push(queue);
                    }
                }
                picked
            })
            .collect();
        // Every queue is served by someone, so no queue set is empty by accident.
        for queue in 0..size.queues {
            if !served.iter().any(|profile| profile.contains(&queue)) {
                served[queue % size.routing_profiles].push(queue);
            }
        }
        let routing_profiles: Vec<RoutingProfile> = served
            .iter()
            .enumerate()
            .map(|(index, queue_indexes)| {
                let id = uuid(&mut rng);
                let mut concurrency = BTreeMap::from([("VOICE".to_string(), 1)]);
                if rng.random_bool(0.6) {
                    concurrency.insert("CHAT".into(), rng.random_range(2..=3));
                }
                if rng.random_bool(0.4) {
                    concurrency.insert("TASK".into(), rng.random_range(1..=2));
                }
                if rng.random_bool(0.2) {
                    concurrency.insert("EMAIL".into(), 1);
                }
                let mut profile_queues = Vec::new();
                for queue in queue_indexes {
                    for channel in concurrency.keys() {
                        profile_queues.push(RoutingProfileQueue {
                            queue_id: queues[*queue].id.clone(),
                            channel: channel.clone(),
                            priority: rng.random_range(1..=3),
                            delay: 0,
                        });
                    }
                }
                RoutingProfile {
                    arn: format!("{instance_arn}/routing-profile/{id}"),
                    id,
                    name: format!("Profile {:02}", index + 1),
                    queues: profile_queues,
                    concurrency,
                }
            })
            .collect();

        let agent_statuses: Vec<AgentStatus> = STATUSES
            .iter()
            .map(|(name, status_type)| {
                let id = uuid(&mut rng);
                AgentStatus {
                    arn: format!("{instance_arn}/agent-state/{id}"),
                    id,
                    name: (*name).into(),
                    status_type: (*status_type).into(),
                }
            })
            .collect();
        let hierarchy_groups: Vec<HierarchyGroup> = HIERARCHY_GROUPS
            .iter()
            .map(|name| {
                let id = uuid(&mut rng);
                HierarchyGroup {
                    arn: format!("{instance_arn}/agent-group/{id}"),
                    id,
                    name: (*name).into(),
                }
            })
            .collect();

        let agents = (0..size.agents)
            .map(|index| {
                let id = uuid(&mut rng);
                let profile = &routing_profiles[rng.random_range(0..routing_profiles.len())];
                let status = &agent_statuses[initial_status(rng.random_range(0..100))];
                Agent {
                    arn: format!("{instance_arn}/agent/{id}"),
                    id,
                    username: format!("agent{:05}", index + 1),
                    routing_profile_id: profile.id.clone(),
                    hierarchy_group_id: Some(
                        hierarchy_groups[rng.random_range(0..hierarchy_groups.len())]
                            .id
                            .clone(),
                    ),
                    status_name: status.name.clone(),
                    status_arn: status.arn.clone(),
                    status_start: start - rng.random_range(0.0..3600.0_f64).floor(),
                    next_status: None,
                    max_slots: profile.concurrency.clone(),
                    active_slots: BTreeMap::new(),
                    available_slots: BTreeMap::new(),
                    contacts: Vec::new(),
                }
            })
            .collect();

        let mut world = World {
            scenario: Scenario {
                instance_id: instance_id.to_string(),
                instance_arn,
                queues,
                routing_profiles,
                agent_statuses,
                hierarchy_groups,
                agents,
            },
            rng,
            now: start,
            tick_seconds,
            timers: HashMap::new(),
        };
        for index in 0..world.scenario.agents.len() {
            update_slots(&mut world.scenario.agents[index]);
        }
        for _ in 0..WARM_UP_TICKS {
            world.step();
        }
        world
    }

    /// Advances by whole ticks until the next tick would pass `now`. After a long pause it
    /// skips ahead rather than replaying hours of ticks.
    pub(crate) fn advance_to(&mut self, now: f64) {
        const MAX_CATCH_UP_TICKS: f64 = 600.0;
        let behind = ((now - self.now) / self.tick_seconds).floor();
        if behind > MAX_CATCH_UP_TICKS {
            self.now += (behind - MAX_CATCH_UP_TICKS) * self.tick_seconds;
        }
        while self.now + self.tick_seconds <= now {
            self.step();
        }
    }

    /// Adds a STANDARD queue named `name`, served on `channel` by routing profile
    /// `profile_id`, as an administrator would; returns its ID, or `None` without that profile.
    pub(crate) fn add_queue(
        &mut self,
        name: &str,
        profile_id: &str,
        channel: &str,
    ) -> Option<String> {
        let profile = self
            .scenario
            .routing_profiles
            .iter()
            .position(|p| p.id == profile_id)?;
        let id = uuid(&mut self.rng);
        self.scenario.queues.push(Queue {
            arn: format!("{}/queue/{id}", self.scenario.instance_arn),
            id: id.clone(),
            name: name.to_string(),
            queue_type: "STANDARD".into(),
        });
        self.scenario.routing_profiles[profile]
            .queues
            .push(RoutingProfileQueue {
                queue_id: id.clone(),
                channel: channel.to_string(),
                priority: 1,
                delay: 0,
            });
        Some(id)
    }

    /// One tick: contacts progress, statuses change, new contacts arrive, slots follow.
    pub(crate) fn step(&mut self) {
        self.now += self.tick_seconds;
        let now = self.now;
        let profiles: HashMap<String, usize> = self
            .scenario
            .routing_profiles
            .iter()
            .enumerate()
            .map(|(index, profile)| (profile.id.clone(), index))
            .collect();
        for index in 0..self.scenario.agents.len() {
            self.progress_contacts(index, now);
            self.change_status(index, now);
            if let Some(profile) = profiles.get(&self.scenario.agents[index].routing_profile_id) {
                self.offer_contacts(index, *profile, now);
            }
            update_slots(&mut self.scenario.agents[index]);
        }
    }

    fn progress_contacts(&mut self, agent_index: usize, now: f64) {
        let agent = &mut self.scenario.agents[agent_index];
        let mut finished = Vec::new();
        for contact in &mut agent.contacts {
            let timer = self.timers.entry(contact.contact_id.clone()).or_insert(1);
            *timer = timer.saturating_sub(1);
            if *timer > 0 {
                continue;
            }
            let rng = &mut self.rng;
            let (next, duration) = match contact.state.as_str() {
                "INCOMING" => ("CONNECTING", ticks(rng, 1, 2)),
                "CONNECTING" if rng.random_bool(MISS_PROBABILITY) => ("MISSED", ticks(rng, 3, 5)),
                "CONNECTING"
                    if contact.channel != "VOICE" && rng.random_bool(REJECT_PROBABILITY) =>
                {
                    ("REJECTED", ticks(rng, 2, 3))
                }
                "CONNECTING" => ("CONNECTED", ticks(rng, 10, 60)),
                "CONNECTED" if contact.channel == "VOICE" && rng.random_bool(0.15) => {
                    ("CONNECTED_ONHOLD", ticks(rng, 2, 8))
                }
                "CONNECTED" => ("ENDED", ticks(rng, 3, 8)),
                "CONNECTED_ONHOLD" => ("CONNECTED", ticks(rng, 5, 20)),
                _ => {
                    finished.push(contact.contact_id.clone());
                    continue;
                }
            };
            if next == "CONNECTED" && contact.connected_to_agent.is_none() {
                contact.connected_to_agent = Some(now);
            }
            contact.state = next.to_string();
            contact.state_start = now;
            *timer = duration;
        }
        if !finished.is_empty() {
            agent
                .contacts
                .retain(|contact| !finished.contains(&contact.contact_id));
            for id in finished {
                self.timers.remove(&id);
            }
        }
    }

    fn change_status(&mut self, agent_index: usize, now: f64) {
        let statuses = &self.scenario.agent_statuses;
        let agent = &mut self.scenario.agents[agent_index];
        let target = if agent.contacts.is_empty() {
            match agent.next_status.take() {
                Some(next) => Some(next),
                None if agent.status_name == "Available" && self.rng.random_bool(0.01) => Some(
                    ["Break", "Lunch", "Training", "Offline"][self.rng.random_range(0..4)]
                        .to_string(),
                ),
                // Breaks end within minutes; logged-off agents stay away far longer, so about
                // a third of the agents are Offline at any time, as in a real centre.
                None if agent.status_name != "Available"
                    && self.rng.random_bool(if agent.status_name == "Offline" {
                        0.005
                    } else {
                        0.04
                    }) =>
                {
                    Some("Available".to_string())
                }
                None => None,
            }
        } else {
            if agent.next_status.is_none()
                && agent.status_name == "Available"
                && self.rng.random_bool(0.005)
            {
                agent.next_status =
                    Some(["Break", "Lunch"][self.rng.random_range(0..2)].to_string());
            }
            None
        };
        if let Some(name) = target {
            if let Some(status) = statuses.iter().find(|status| status.name == name) {
                agent.status_name = status.name.clone();
                agent.status_arn = status.arn.clone();
                agent.status_start = now;
            }
        }
    }

    fn offer_contacts(&mut self, agent_index: usize, profile_index: usize, now: f64) {
        let profile = &self.scenario.routing_profiles[profile_index];
        let agent = &mut self.scenario.agents[agent_index];
        if agent.status_name != "Available" || agent.next_status.is_some() {
            return;
        }
        for (channel, max) in &profile.concurrency {
            let active = agent
                .contacts
                .iter()
                .filter(|c| &c.channel == channel && occupies_slot(&c.state))
                .count() as i32;
            if active >= *max || !self.rng.random_bool(ARRIVAL_PROBABILITY) {
                continue;
            }
            let queues: Vec<&RoutingProfileQueue> = profile
                .queues
                .iter()
                .filter(|q| &q.channel == channel)
                .collect();
            if queues.is_empty() {
                continue;
            }
            let queue_id = queues[self.rng.random_range(0..queues.len())]
                .queue_id
                .clone();
            let method = match self.rng.random_range(0..100) {
                0..=74 => "INBOUND",
                75..=84 => "TRANSFER",
                85..=89 => "CALLBACK",
                90..=94 if channel == "TASK" => "API",
                90..=94 => "OUTBOUND",
                _ => "QUEUE_TRANSFER",
            };
            let (state, duration) = if channel == "VOICE" && self.rng.random_bool(0.5) {
                ("INCOMING", ticks(&mut self.rng, 1, 2))
            } else {
                ("CONNECTING", ticks(&mut self.rng, 1, 3))
            };
            let contact_id = uuid(&mut self.rng);
            self.timers.insert(contact_id.clone(), duration);
            agent.contacts.push(Contact {
                contact_id,
                channel: channel.clone(),
                initiation_method: method.into(),
                state: state.into(),
                state_start: now,
                connected_to_agent: None,
                queue_id,
            });
        }
    }
}

fn initial_status(roll: u32) -> usize {
    match roll {
        0..=54 => 0,
        55..=74 => 1,
        75..=84 => 2,
        85..=94 => 3,
        _ => 4,
    }
}

/// True for the states in which a contact takes up one of the agent's slots.
pub fn occupies_slot(state: &str) -> bool {
    matches!(
        state,
        "INCOMING" | "PENDING" | "CONNECTING" | "CONNECTED" | "CONNECTED_ONHOLD" | "ENDED"
    )
}

fn update_slots(agent: &mut Agent) {
    let mut active: BTreeMap<String, i32> = agent
        .max_slots
        .keys()
        .map(|channel| (channel.clone(), 0))
        .collect();
    for contact in agent.contacts.iter().filter(|c| occupies_slot(&c.state)) {
        *active.entry(contact.channel.clone()).or_default() += 1;
    }
    let routable = agent.status_name == "Available";
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

#[cfg(test)]
mod tests {
    use super::*;

    fn world(seed: u64) -> World {
        World::new(
            "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20",
            "eu-west-2",
            "123456789012",
            Size {
                agents: 300,
                queues: 40,
                routing_profiles: 12,
            },
            seed,
            1_700_000_000.0,
            1.0,
        )
    }

    #[test]
    fn same_seed_same_scenario_other_seed_other_scenario() {
        assert_eq!(world(3).scenario, world(3).scenario);
        assert_ne!(world(3).scenario, world(4).scenario);
    }

    #[test]
    fn slots_stay_consistent_with_contacts_and_status() {
        let mut world = world(5);
        for _ in 0..300 {
            world.step();
            for agent in &world.scenario.agents {
                for (channel, max) in &agent.max_slots {
                    let active = agent
                        .contacts
                        .iter()
                        .filter(|c| &c.channel == channel && occupies_slot(&c.state))
                        .count() as i32;
                    assert_eq!(agent.active_slots[channel], active);
                    assert!(
                        active <= *max,
                        "{} over capacity on {channel}",
                        agent.username
                    );
                    let available = if agent.status_name == "Available" {
                        max - active
                    } else {
                        0
                    };
                    assert_eq!(agent.available_slots[channel], available);
                }
            }
        }
    }

    #[test]
    fn every_contact_state_and_status_occurs() {
        let mut world = world(6);
        let mut states = std::collections::BTreeSet::new();
        let mut statuses = std::collections::BTreeSet::new();
        let mut next_status_seen = false;
        for _ in 0..600 {
            world.step();
            for agent in &world.scenario.agents {
                statuses.insert(agent.status_name.clone());
                next_status_seen |= agent.next_status.is_some();
                for contact in &agent.contacts {
                    states.insert(contact.state.clone());
                }
            }
        }
        for state in [
            "INCOMING",
            "CONNECTING",
            "CONNECTED",
            "CONNECTED_ONHOLD",
            "ENDED",
            "MISSED",
            "REJECTED",
        ] {
            assert!(states.contains(state), "{state} never occurred: {states:?}");
        }
        assert_eq!(statuses.len(), STATUSES.len(), "{statuses:?}");
        assert!(next_status_seen);
    }

    #[test]
    fn every_queue_is_served_and_profiles_overlap() {
        let world = world(7);
        for queue in &world.scenario.queues {
            assert!(world
                .scenario
                .routing_profiles
                .iter()
                .any(|p| p.queues.iter().any(|q| q.queue_id == queue.id)));
        }
        assert!(world.scenario.routing_profiles.iter().any(|p| {
            let distinct: std::collections::BTreeSet<_> =
                p.queues.iter().map(|q| &q.queue_id).collect();
            distinct.len() > 1
        }));
    }

    #[test]
    fn advance_to_moves_in_whole_ticks_and_skips_long_pauses() {
        let mut world = world(8);
        let start = world.now;
        world.advance_to(start + 2.5);
        assert_eq!(world.now, start + 2.0);
        world.advance_to(start + 100_000.0);
        assert!(world.now <= start + 100_000.0 && world.now > start + 99_998.0);
    }

    #[test]
    fn ids_look_like_connect_ids() {
        let world = world(9);
        assert!(world
            .scenario
            .agents
            .iter()
            .all(|a| crate::ids::is_uuid(&a.id)));
        assert!(crate::ids::is_uuid(&world.scenario.queues[0].id));
    }
}
