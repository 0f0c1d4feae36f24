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

use std::collections::{BTreeMap, HashMap, HashSet};

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
/// Mixed into the seed for the backlog's own random sequence ("backlog" in ASCII).
const BACKLOG_SEED: u64 = 0x0062_6163_6b6c_6f67;

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

/// The scenario plus what moves it: random numbers, clock, per-contact timers.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) scenario: Scenario,
    rng: StdRng,
    /// The backlog's own sequence, so that the agents' sequence is the same with or without it.
    backlog_rng: StdRng,
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
                waiting_contacts: Vec::new(),
                scheduled_contacts: Vec::new(),
            },
            rng,
            backlog_rng: StdRng::seed_from_u64(seed ^ BACKLOG_SEED),
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
        self.step_backlog(now);
    }

    /// Moves the queue backlog on by one tick: per (queue, channel) pair some routing profile
    /// serves, never per agent, so that it stays cheap with thousands of agents and queues.
    fn step_backlog(&mut self, now: f64) {
        let Scenario {
            queues,
            routing_profiles,
            waiting_contacts,
            scheduled_contacts,
            ..
        } = &mut self.scenario;
        let rng = &mut self.backlog_rng;
        // Departures first, so that every contact waits at least until the next tick.
        waiting_contacts.retain(|_| !rng.random_bool(QUEUE_DEPARTURE_PROBABILITY));
        scheduled_contacts.retain(|_| !rng.random_bool(CALLBACK_DUE_PROBABILITY));
        // Computed each tick rather than cached, so that queues added later join in by
        // themselves once a profile serves them.
        let served: HashSet<(&str, &str)> = routing_profiles
            .iter()
            .flat_map(|profile| profile.queues.iter())
            .map(|entry| (entry.queue_id.as_str(), entry.channel.as_str()))
            .collect();
        for queue in queues.iter() {
            for channel in METRIC_CHANNELS {
                if !served.contains(&(queue.id.as_str(), channel)) {
                    continue;
                }
                let waits = rng.random_bool(QUEUE_ARRIVAL_PROBABILITY);
                let scheduled =
                    channel == "VOICE" && rng.random_bool(CALLBACK_SCHEDULE_PROBABILITY);
                for (arrives, list) in [
                    (waits, &mut *waiting_contacts),
                    (scheduled, &mut *scheduled_contacts),
                ] {
                    if !arrives {
                        continue;
                    }
                    // Somewhere within the last tick, to the millisecond, as the API reports.
                    let arrived = now - rng.random_range(0.0..self.tick_seconds);
                    list.push(QueuedContact {
                        contact_id: uuid(rng),
                        queue_id: queue.id.clone(),
                        channel: channel.to_string(),
                        enqueued_at: (arrived * 1000.0).floor() / 1000.0,
                    });
                }
            }
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

/// A real-time metric of GetCurrentMetricData.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurrentMetric {
    /// `AGENTS_ONLINE`: eligible agents whose status is not Offline.
    AgentsOnline,
    /// `AGENTS_AVAILABLE`: eligible agents in status Available.
    AgentsAvailable,
    /// `AGENTS_ON_CALL`: the old name of `AGENTS_ON_CONTACT`, same value.
    AgentsOnCall,
    /// `AGENTS_NON_PRODUCTIVE`: eligible online agents in a custom status, with no contact.
    AgentsNonProductive,
    /// `AGENTS_AFTER_CONTACT_WORK`: eligible agents with an ENDED contact and none in progress.
    AgentsAfterContactWork,
    /// `AGENTS_ERROR`: eligible agents with a MISSED or ERROR contact.
    AgentsError,
    /// `AGENTS_STAFFED`: eligible online agents that are Available, on contact or in
    /// after-contact work.
    AgentsStaffed,
    /// `CONTACTS_IN_QUEUE`: contacts waiting.
    ContactsInQueue,
    /// `OLDEST_CONTACT_AGE`: age of the oldest waiting contact.
    OldestContactAge,
    /// `CONTACTS_SCHEDULED`: scheduled callbacks.
    ContactsScheduled,
    /// `AGENTS_ON_CONTACT`: eligible agents with a contact in INCOMING, PENDING, CONNECTING,
    /// CONNECTED or CONNECTED_ONHOLD.
    AgentsOnContact,
    /// `SLOTS_ACTIVE`: the eligible agents' active slots on the row's channels.
    SlotsActive,
    /// `SLOTS_AVAILABLE`: the eligible agents' available slots on the row's channels.
    SlotsAvailable,
    /// `ESTIMATED_WAIT_TIME`: see [`QueueMetrics::estimated_wait_time`].
    EstimatedWaitTime,
}

impl CurrentMetric {
    /// Every metric, in the service model's order.
    pub const ALL: [CurrentMetric; 14] = [
        Self::AgentsOnline,
        Self::AgentsAvailable,
        Self::AgentsOnCall,
        Self::AgentsNonProductive,
        Self::AgentsAfterContactWork,
        Self::AgentsError,
        Self::AgentsStaffed,
        Self::ContactsInQueue,
        Self::OldestContactAge,
        Self::ContactsScheduled,
        Self::AgentsOnContact,
        Self::SlotsActive,
        Self::SlotsAvailable,
        Self::EstimatedWaitTime,
    ];

    /// The API's name, e.g. `CONTACTS_IN_QUEUE`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AgentsOnline => "AGENTS_ONLINE",
            Self::AgentsAvailable => "AGENTS_AVAILABLE",
            Self::AgentsOnCall => "AGENTS_ON_CALL",
            Self::AgentsNonProductive => "AGENTS_NON_PRODUCTIVE",
            Self::AgentsAfterContactWork => "AGENTS_AFTER_CONTACT_WORK",
            Self::AgentsError => "AGENTS_ERROR",
            Self::AgentsStaffed => "AGENTS_STAFFED",
            Self::ContactsInQueue => "CONTACTS_IN_QUEUE",
            Self::OldestContactAge => "OLDEST_CONTACT_AGE",
            Self::ContactsScheduled => "CONTACTS_SCHEDULED",
            Self::AgentsOnContact => "AGENTS_ON_CONTACT",
            Self::SlotsActive => "SLOTS_ACTIVE",
            Self::SlotsAvailable => "SLOTS_AVAILABLE",
            Self::EstimatedWaitTime => "ESTIMATED_WAIT_TIME",
        }
    }

    /// The one unit the API accepts for the metric: `SECONDS` or `COUNT`.
    pub fn unit(self) -> &'static str {
        match self {
            Self::OldestContactAge | Self::EstimatedWaitTime => "SECONDS",
            _ => "COUNT",
        }
    }

    /// The metric called `name` in the API, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|metric| metric.name() == name)
    }
}

/// The values of one GetCurrentMetricData row, all in natural units (ages in seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueMetrics {
    /// Waiting contacts.
    pub contacts_in_queue: u64,
    /// Scheduled callbacks.
    pub contacts_scheduled: u64,
    /// Seconds since the oldest waiting contact arrived, 0 when none waits.
    pub oldest_contact_age: f64,
    /// Eligible agents not Offline.
    pub agents_online: u64,
    /// Eligible agents in status Available.
    pub agents_available: u64,
    /// Eligible agents with a contact in INCOMING, PENDING, CONNECTING, CONNECTED or
    /// CONNECTED_ONHOLD.
    pub agents_on_contact: u64,
    /// Eligible agents with an ENDED contact and none on contact.
    pub agents_after_contact_work: u64,
    /// Eligible agents with a MISSED or ERROR contact.
    pub agents_error: u64,
    /// Eligible online agents in a CUSTOM status with no contact.
    pub agents_non_productive: u64,
    /// Eligible online agents that are Available, on contact or in after-contact work.
    pub agents_staffed: u64,
    /// Sum of the eligible agents' `ActiveSlotsByChannel` on the row's channels.
    pub slots_active: i64,
    /// Sum of the eligible agents' `AvailableSlotsByChannel` on the row's channels.
    pub slots_available: i64,
}

impl QueueMetrics {
    /// `contacts_in_queue × ESTIMATED_SECONDS_PER_CONTACT / agents_staffed` seconds; `None`
    /// when no agent is staffed, where the real API answers null ("divide by zero or
    /// insufficient data").
    pub fn estimated_wait_time(&self) -> Option<f64> {
        (self.agents_staffed > 0).then(|| {
            self.contacts_in_queue as f64 * ESTIMATED_SECONDS_PER_CONTACT
                / self.agents_staffed as f64
        })
    }

    /// The value of `metric`, ages in seconds; `None` for a null value.
    pub fn value(&self, metric: CurrentMetric) -> Option<f64> {
        let count = |n: u64| Some(n as f64);
        match metric {
            CurrentMetric::AgentsOnline => count(self.agents_online),
            CurrentMetric::AgentsAvailable => count(self.agents_available),
            CurrentMetric::AgentsOnCall | CurrentMetric::AgentsOnContact => {
                count(self.agents_on_contact)
            }
            CurrentMetric::AgentsNonProductive => count(self.agents_non_productive),
            CurrentMetric::AgentsAfterContactWork => count(self.agents_after_contact_work),
            CurrentMetric::AgentsError => count(self.agents_error),
            CurrentMetric::AgentsStaffed => count(self.agents_staffed),
            CurrentMetric::ContactsInQueue => count(self.contacts_in_queue),
            CurrentMetric::OldestContactAge => Some(self.oldest_contact_age),
            CurrentMetric::ContactsScheduled => count(self.contacts_scheduled),
            CurrentMetric::SlotsActive => Some(self.slots_active as f64),
            CurrentMetric::SlotsAvailable => Some(self.slots_available as f64),
            CurrentMetric::EstimatedWaitTime => self.estimated_wait_time(),
        }
    }
}

/// What a GetCurrentMetricData request selects, with IDs already checked against the instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricQuery {
    /// Queue IDs (`Filters.Queues`), in request order; `None` with a routing-profile filter,
    /// which then selects the queues those profiles serve, in the instance's order.
    pub queues: Option<Vec<String>>,
    /// Routing profile IDs (`Filters.RoutingProfiles`): only their agents count, and with
    /// ROUTING_PROFILE grouping only they make rows. `None` means every profile.
    pub routing_profiles: Option<Vec<String>>,
    /// Channels (`Filters.Channels`) among [`METRIC_CHANNELS`]; empty means all three.
    pub channels: Vec<String>,
    /// Grouping QUEUE: one row per queue.
    pub by_queue: bool,
    /// Grouping CHANNEL: one row per channel.
    pub by_channel: bool,
    /// Grouping ROUTING_PROFILE: one row per routing profile.
    pub by_routing_profile: bool,
}

/// One row of GetCurrentMetricData: the dimensions it is grouped by and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// Queue ID, with QUEUE grouping.
    pub queue_id: Option<String>,
    /// Channel, with CHANNEL grouping.
    pub channel: Option<&'static str>,
    /// Routing profile ID, with ROUTING_PROFILE grouping.
    pub routing_profile_id: Option<String>,
    /// The values.
    pub metrics: QueueMetrics,
}

/// What one agent adds to the agent metrics, and its slots by [`METRIC_CHANNELS`] index.
#[derive(Debug, Clone, Copy, Default)]
struct AgentTally {
    online: u64,
    available: u64,
    on_contact: u64,
    after_contact_work: u64,
    error: u64,
    non_productive: u64,
    staffed: u64,
    active_slots: [i64; 3],
    available_slots: [i64; 3],
}

impl AgentTally {
    fn add(&mut self, agent: &Agent, custom_statuses: &HashSet<&str>) {
        let any = |states: &[&str]| {
            agent
                .contacts
                .iter()
                .any(|contact| states.contains(&contact.state.as_str()))
        };
        let online = agent.status_name != "Offline";
        let available = agent.status_name == "Available";
        let on_contact = any(&[
            "INCOMING",
            "PENDING",
            "CONNECTING",
            "CONNECTED",
            "CONNECTED_ONHOLD",
        ]);
        let after_contact_work = !on_contact && any(&["ENDED"]);
        let flag = |yes: bool| u64::from(yes);
        self.online += flag(online);
        self.available += flag(available);
        self.on_contact += flag(on_contact);
        self.after_contact_work += flag(after_contact_work);
        self.error += flag(any(&["MISSED", "ERROR"]));
        self.non_productive += flag(
            online
                && custom_statuses.contains(agent.status_name.as_str())
                && agent.contacts.is_empty(),
        );
        self.staffed += flag(online && (available || on_contact || after_contact_work));
        for (index, channel) in METRIC_CHANNELS.iter().enumerate() {
            let slots = |by_channel: &BTreeMap<String, i32>| {
                i64::from(by_channel.get(*channel).copied().unwrap_or(0))
            };
            self.active_slots[index] += slots(&agent.active_slots);
            self.available_slots[index] += slots(&agent.available_slots);
        }
    }
}

/// GetCurrentMetricData's rows for `query` over `scenario` at `now` (epoch seconds).
///
/// The unit of data is a (queue, channel) pair of the selected queues and channels that some
/// routing profile serves or that has waiting or scheduled contacts; with ROUTING_PROFILE
/// grouping it is a (profile, queue, channel) triple the profile serves. Rows group these by
/// the requested dimensions, in order of first appearance (queues in query order, then
/// channels in [`METRIC_CHANNELS`] order); without groupings there is exactly one row.
///
/// A row's contacts are those waiting (scheduled) in its pairs. Its eligible agents are those
/// whose routing profile serves one of its pairs (or is the row's profile), each counted once;
/// slots are summed over the channels on which the agent's profile serves the row's pairs.
/// OLDEST_CONTACT_AGE is in seconds here; the API's milliseconds quirk is the caller's business.
pub fn queue_metric_rows(scenario: &Scenario, query: &MetricQuery, now: f64) -> Vec<MetricRow> {
    let profiles: Vec<&RoutingProfile> = match &query.routing_profiles {
        None => scenario.routing_profiles.iter().collect(),
        Some(ids) => {
            let mut picked: Vec<&RoutingProfile> = Vec::new();
            for id in ids {
                let found = scenario.routing_profiles.iter().find(|p| &p.id == id);
                if let Some(profile) = found.filter(|p| !picked.iter().any(|q| q.id == p.id)) {
                    picked.push(profile);
                }
            }
            picked
        }
    };
    let channels: Vec<usize> = (0..METRIC_CHANNELS.len())
        .filter(|index| {
            query.channels.is_empty() || query.channels.iter().any(|c| c == METRIC_CHANNELS[*index])
        })
        .collect();
    let queues: Vec<&str> = match &query.queues {
        Some(ids) => {
            let mut picked: Vec<&str> = Vec::new();
            for id in ids {
                if !picked.contains(&id.as_str()) {
                    picked.push(id);
                }
            }
            picked
        }
        None => {
            let served: HashSet<&str> = profiles
                .iter()
                .flat_map(|p| p.queues.iter().map(|entry| entry.queue_id.as_str()))
                .collect();
            scenario
                .queues
                .iter()
                .map(|q| q.id.as_str())
                .filter(|id| served.contains(id))
                .collect()
        }
    };

    // Indexes built once per request, so that each row costs only its own pairs.
    let mut servers: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (index, profile) in profiles.iter().enumerate() {
        for entry in &profile.queues {
            let list = servers
                .entry((entry.queue_id.as_str(), entry.channel.as_str()))
                .or_default();
            if list.last() != Some(&index) {
                list.push(index);
            }
        }
    }
    let mut waiting: HashMap<(&str, &str), (u64, f64)> = HashMap::new();
    for contact in &scenario.waiting_contacts {
        let entry = waiting
            .entry((contact.queue_id.as_str(), contact.channel.as_str()))
            .or_insert((0, f64::INFINITY));
        entry.0 += 1;
        entry.1 = entry.1.min(contact.enqueued_at);
    }
    let mut scheduled: HashMap<(&str, &str), u64> = HashMap::new();
    for contact in &scenario.scheduled_contacts {
        *scheduled
            .entry((contact.queue_id.as_str(), contact.channel.as_str()))
            .or_default() += 1;
    }
    let profile_index: HashMap<&str, usize> = profiles
        .iter()
        .enumerate()
        .map(|(index, profile)| (profile.id.as_str(), index))
        .collect();
    let custom_statuses: HashSet<&str> = scenario
        .agent_statuses
        .iter()
        .filter(|status| status.status_type == "CUSTOM")
        .map(|status| status.name.as_str())
        .collect();
    let mut tallies = vec![AgentTally::default(); profiles.len()];
    for agent in &scenario.agents {
        if let Some(index) = profile_index.get(agent.routing_profile_id.as_str()) {
            tallies[*index].add(agent, &custom_statuses);
        }
    }

    /// (queue index, channel index into METRIC_CHANNELS, profile index when grouped by it).
    type Unit = (usize, usize, Option<usize>);
    type Key = (Option<usize>, Option<usize>, Option<usize>);
    let mut groups: Vec<(Key, Vec<Unit>)> = Vec::new();
    let mut group_of: HashMap<Key, usize> = HashMap::new();
    if !(query.by_queue || query.by_channel || query.by_routing_profile) {
        // Ungrouped, the one row exists even when nothing is served or waiting.
        groups.push(((None, None, None), Vec::new()));
        group_of.insert((None, None, None), 0);
    }
    for (queue, queue_id) in queues.iter().enumerate() {
        for &channel in &channels {
            let pair = (*queue_id, METRIC_CHANNELS[channel]);
            let served_by = servers.get(&pair).map_or(&[][..], Vec::as_slice);
            let units: Vec<Unit> = if query.by_routing_profile {
                served_by
                    .iter()
                    .map(|profile| (queue, channel, Some(*profile)))
                    .collect()
            } else if !served_by.is_empty()
                || waiting.contains_key(&pair)
                || scheduled.contains_key(&pair)
            {
                vec![(queue, channel, None)]
            } else {
                Vec::new()
            };
            for unit in units {
                let key = (
                    query.by_queue.then_some(queue),
                    query.by_channel.then_some(channel),
                    unit.2,
                );
                let group = *group_of.entry(key).or_insert_with(|| {
                    groups.push((key, Vec::new()));
                    groups.len() - 1
                });
                groups[group].1.push(unit);
            }
        }
    }

    groups
        .into_iter()
        .map(|((queue, channel, profile), units)| {
            let mut metrics = QueueMetrics::default();
            let mut oldest = f64::INFINITY;
            // Eligible profiles, and the channels on which each serves the row's pairs.
            let mut eligible: BTreeMap<usize, [bool; 3]> = BTreeMap::new();
            for (queue, channel, profile) in units {
                let pair = (queues[queue], METRIC_CHANNELS[channel]);
                if let Some((count, first)) = waiting.get(&pair) {
                    metrics.contacts_in_queue += count;
                    oldest = oldest.min(*first);
                }
                metrics.contacts_scheduled += scheduled.get(&pair).copied().unwrap_or(0);
                let served_by = match profile {
                    Some(profile) => vec![profile],
                    None => servers.get(&pair).cloned().unwrap_or_default(),
                };
                for profile in served_by {
                    eligible.entry(profile).or_default()[channel] = true;
                }
            }
            if oldest.is_finite() {
                metrics.oldest_contact_age = (now - oldest).max(0.0);
            }
            for (profile, on_channels) in eligible {
                let tally = &tallies[profile];
                metrics.agents_online += tally.online;
                metrics.agents_available += tally.available;
                metrics.agents_on_contact += tally.on_contact;
                metrics.agents_after_contact_work += tally.after_contact_work;
                metrics.agents_error += tally.error;
                metrics.agents_non_productive += tally.non_productive;
                metrics.agents_staffed += tally.staffed;
                for (index, on) in on_channels.into_iter().enumerate() {
                    if on {
                        metrics.slots_active += tally.active_slots[index];
                        metrics.slots_available += tally.available_slots[index];
                    }
                }
            }
            MetricRow {
                queue_id: queue.map(|index| queues[index].to_string()),
                channel: channel.map(|index| METRIC_CHANNELS[index]),
                routing_profile_id: profile.map(|index| profiles[index].id.clone()),
                metrics,
            }
        })
        .collect()
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

    /// The demo's size (see `SimulatorOptions::default`).
    fn demo_world(seed: u64) -> World {
        World::new(
            "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20",
            "eu-west-2",
            "123456789012",
            Size {
                agents: 200,
                queues: 12,
                routing_profiles: 10,
            },
            seed,
            1_700_000_000.0,
            1.0,
        )
    }

    fn served(scenario: &Scenario, queue: &str, channel: &str) -> bool {
        scenario.routing_profiles.iter().any(|p| {
            p.queues
                .iter()
                .any(|e| e.queue_id == queue && e.channel == channel)
        })
    }

    #[test]
    fn backlog_is_there_from_the_start_with_ages_of_seconds_to_minutes() {
        let mut waiting = 0;
        let mut oldest: f64 = 0.0;
        for seed in 1..=10 {
            let mut world = demo_world(seed);
            for _ in 0..200 {
                world.step();
            }
            let scenario = &world.scenario;
            waiting += scenario.waiting_contacts.len();
            for contact in scenario
                .waiting_contacts
                .iter()
                .chain(&scenario.scheduled_contacts)
            {
                assert!(METRIC_CHANNELS.contains(&contact.channel.as_str()));
                assert!(served(scenario, &contact.queue_id, &contact.channel));
                let age = world.now - contact.enqueued_at;
                assert!((0.0..=290.0).contains(&age), "{age}");
                assert!(crate::ids::is_uuid(&contact.contact_id));
                oldest = oldest.max(age);
            }
            assert!(scenario
                .scheduled_contacts
                .iter()
                .all(|c| c.channel == "VOICE"));
        }
        assert!(
            (20..=150).contains(&waiting),
            "{waiting} waiting in 10 demos"
        );
        assert!(oldest > 60.0, "{oldest}");
        // Populated by warm-up alone.
        assert!((1..=10).any(|seed| !demo_world(seed).scenario.waiting_contacts.is_empty()));
    }

    #[test]
    fn the_backlog_does_not_change_the_agents_history() {
        let mut with = world(12);
        let mut without = with.clone();
        without.scenario.waiting_contacts.clear();
        without.backlog_rng = StdRng::seed_from_u64(99);
        for _ in 0..100 {
            with.step();
            without.step();
        }
        assert_eq!(with.scenario.agents, without.scenario.agents);
        assert_ne!(
            with.scenario.waiting_contacts,
            without.scenario.waiting_contacts
        );
    }

    #[test]
    fn an_added_queue_gets_a_backlog_once_served() {
        let mut world = demo_world(4);
        let profile = world.scenario.routing_profiles[0].id.clone();
        let queue = world.add_queue("New", &profile, "CHAT").unwrap();
        let mut ticks = 0;
        while !world
            .scenario
            .waiting_contacts
            .iter()
            .any(|c| c.queue_id == queue)
        {
            world.step();
            ticks += 1;
            assert!(ticks < 5_000, "no contact ever queued in {queue}");
        }
        assert!(world
            .scenario
            .waiting_contacts
            .iter()
            .filter(|c| c.queue_id == queue)
            .all(|c| c.channel == "CHAT"));
    }

    #[test]
    fn grouped_rows_add_up_to_the_ungrouped_row() {
        let world = world(5);
        let scenario = &world.scenario;
        let queues: Vec<String> = scenario.queues[..20].iter().map(|q| q.id.clone()).collect();
        let query = |by_queue, by_channel, by_routing_profile| MetricQuery {
            queues: Some(queues.clone()),
            channels: vec!["VOICE".into(), "CHAT".into()],
            by_queue,
            by_channel,
            by_routing_profile,
            ..MetricQuery::default()
        };
        let total = queue_metric_rows(scenario, &query(false, false, false), world.now);
        let [total] = total.as_slice() else {
            panic!("one ungrouped row: {total:?}");
        };
        assert_eq!((total.queue_id.as_ref(), total.channel), (None, None));
        let in_scope = |c: &&QueuedContact| {
            queues.contains(&c.queue_id) && ["VOICE", "CHAT"].contains(&c.channel.as_str())
        };
        let waiting = scenario.waiting_contacts.iter().filter(in_scope).count() as u64;
        assert_eq!(total.metrics.contacts_in_queue, waiting);
        assert!(waiting > 0);
        let online = scenario
            .agents
            .iter()
            .filter(|a| a.status_name != "Offline")
            .filter(|a| {
                queues.iter().any(|q| {
                    ["VOICE", "CHAT"].iter().any(|c| {
                        scenario.routing_profiles.iter().any(|p| {
                            p.id == a.routing_profile_id
                                && p.queues.iter().any(|e| &e.queue_id == q && e.channel == *c)
                        })
                    })
                })
            })
            .count() as u64;
        assert_eq!(total.metrics.agents_online, online, "each agent once");

        let cells = queue_metric_rows(scenario, &query(true, true, false), world.now);
        assert!(cells.iter().all(|r| r.channel != Some("TASK")));
        let sum = |rows: &[MetricRow], f: fn(&QueueMetrics) -> u64| -> u64 {
            rows.iter().map(|r| f(&r.metrics)).sum()
        };
        assert_eq!(sum(&cells, |m| m.contacts_in_queue), waiting);
        assert!(sum(&cells, |m| m.agents_online) >= online);
        // Every agent has one routing profile, so per-profile rows split the agents exactly.
        let by_profile = queue_metric_rows(scenario, &query(false, false, true), world.now);
        assert!(by_profile.iter().all(|r| r.routing_profile_id.is_some()));
        assert_eq!(sum(&by_profile, |m| m.agents_online), online);
        assert_eq!(
            sum(&by_profile, |m| m.agents_staffed),
            total.metrics.agents_staffed
        );
        let oldest = scenario
            .waiting_contacts
            .iter()
            .filter(in_scope)
            .map(|c| world.now - c.enqueued_at)
            .fold(0.0, f64::max);
        assert_eq!(total.metrics.oldest_contact_age, oldest);
    }
}
