//! The contact history behind GetMetricDataV2: the contacts that passed through the queues and
//! the agents' time, derived from what the world does, bounded in memory.
//!
//! Nothing here draws from the world's or the backlog's random sequences: the history has its
//! own, seeded from the seed mixed with [`HISTORY_SEED`], so every other answer is the same
//! with or without it. What is recorded, tick by tick, after the world has moved:
//!
//! - **Answered contacts** are the agents' own contacts. One an agent is offered from a queue
//!   (any initiation method but OUTBOUND, which never waits in a queue) is recorded once it is
//!   complete: connected, talked (with holds), ended, its after-contact work done. Its wait in
//!   the queue before the offer is drawn from the history's sequence (exponential, mean
//!   [`MEAN_ANSWER_WAIT_SECONDS`], to the millisecond), so `enqueued_at` is the offer less that
//!   wait; it left the queue (`dequeued_at`) when it was connected to the agent, its
//!   conversation ended (`disconnected_at`) when it entered ENDED, and its after-contact work
//!   lasted until it left the agent. Whether the agent transferred it out is drawn
//!   ([`TRANSFER_OUT_PROBABILITY`]). Contacts missed or rejected are left out: Connect routes
//!   them again, the simulated world drops them.
//! - **Abandoned contacts** come from the queue backlog: the simulated agents are offered their
//!   contacts directly, never from the backlog, so a waiting contact that leaves the backlog is
//!   recorded as abandoned at the tick it left (its initiation method drawn: mostly INBOUND,
//!   some TRANSFER and QUEUE_TRANSFER): 1 to 3 % of the queued contacts at the demo's size.
//! - **Agent time** is cut into spans per agent: on contact (a contact connected, on hold or in
//!   after-contact work) or available (status Available and no contact routed, ringing or in
//!   progress). Time routing a contact to the agent, and any other status, is neither. The
//!   state seen after the tick at `t` holds from `t` to the next tick, so live spans start and
//!   end on tick instants.
//!
//! Records are kept in the order they were completed, at most [`MAX_HISTORY_CONTACTS`] contacts
//! and [`MAX_AGENT_TIME_SPANS`] spans, none completed more than [`HISTORY_RETENTION_SECONDS`]
//! before the simulated clock: the oldest go first. A contact still in progress is not in the
//! history yet, as a contact record is written only when the contact is done. When the world
//! skips ahead after a long pause, agent time stops before the gap and resumes after it, and
//! the contacts in progress or waiting across it are left out.

use std::collections::{HashMap, VecDeque};

use rand::{Rng, SeedableRng};

use crate::rng::SimRng;

use super::{occupies_slot, Agent, QueuedContact, Scenario};

/// Mixed into the seed for the history's own random sequence ("history" in ASCII).
pub(super) const HISTORY_SEED: u64 = 0x0068_6973_746f_7279;
/// The most contacts the history keeps; beyond, the oldest are dropped.
pub const MAX_HISTORY_CONTACTS: usize = 200_000;
/// The most agent-time spans the history keeps; beyond, the oldest are dropped.
pub const MAX_AGENT_TIME_SPANS: usize = 600_000;
/// How long records are kept after they were completed: 35 days, GetMetricDataV2's longest
/// range.
pub const HISTORY_RETENTION_SECONDS: f64 = 35.0 * 86_400.0;
/// Mean wait in the queue of an answered contact before it was offered to its agent, seconds.
pub const MEAN_ANSWER_WAIT_SECONDS: f64 = 15.0;
/// The longest wait drawn for an answered contact, seconds.
pub const MAX_ANSWER_WAIT_SECONDS: f64 = 600.0;
/// Chance that an answered contact was transferred out by its agent.
pub const TRANSFER_OUT_PROBABILITY: f64 = 0.06;

/// The channels of the history, in the order rows come.
pub const HISTORY_CHANNELS: [&str; 4] = ["VOICE", "CHAT", "TASK", "EMAIL"];
/// The initiation methods of the history.
pub(crate) const INITIATION_METHODS: [&str; 6] = [
    "INBOUND",
    "TRANSFER",
    "QUEUE_TRANSFER",
    "CALLBACK",
    "API",
    "OUTBOUND",
];

/// A contact that passed through a queue, as GetMetricDataV2 counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalContact {
    /// Contact ID.
    pub contact_id: String,
    /// ID of the queue it waited in.
    pub queue_id: String,
    /// `VOICE`, `CHAT`, `TASK` or `EMAIL`.
    pub channel: String,
    /// `INBOUND`, `TRANSFER`, `QUEUE_TRANSFER`, `CALLBACK` or `API`.
    pub initiation_method: String,
    /// When it entered the queue, epoch seconds (millisecond precision).
    pub enqueued_at: f64,
    /// When it left the queue: connected to an agent, or abandoned.
    pub dequeued_at: f64,
    /// When the customer was disconnected: the end of the conversation (talk and holds) of an
    /// answered contact, `dequeued_at` of an abandoned one. GetMetricDataV2 counts a contact in
    /// the interval this falls in.
    pub disconnected_at: f64,
    /// What the agent did with it; `None` when it was abandoned in the queue.
    pub answered: Option<AnsweredContact>,
}

/// The agent's part of an answered [`HistoricalContact`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnsweredContact {
    /// User ID of the agent it was connected to.
    pub agent_id: String,
    /// The agent's routing profile.
    pub routing_profile_id: String,
    /// Seconds connected and not on hold.
    pub talk_seconds: f64,
    /// Seconds on hold.
    pub hold_seconds: f64,
    /// Seconds of after-contact work, after `disconnected_at`.
    pub after_contact_work_seconds: f64,
    /// Whether the agent transferred it out.
    pub transferred_out: bool,
}

impl HistoricalContact {
    /// Seconds in the queue: `dequeued_at - enqueued_at`.
    pub fn queue_seconds(&self) -> f64 {
        self.dequeued_at - self.enqueued_at
    }
}

/// What an agent was doing during an [`AgentTimeSpan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentActivity {
    /// On contact: a contact connected, on hold or in after-contact work ("Agent on contact
    /// time").
    OnContact,
    /// Status Available with no contact routed, ringing or in progress ("Agent idle time").
    Available,
}

/// A stretch of one agent's time in one activity.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTimeSpan {
    /// User ID.
    pub agent_id: String,
    /// The agent's routing profile.
    pub routing_profile_id: String,
    /// On contact or available.
    pub activity: AgentActivity,
    /// Start, epoch seconds: a tick instant for live spans, a quarter hour (or longer block)
    /// of the backfilled morning otherwise.
    pub start: f64,
    /// End, epoch seconds (exclusive); `end - start` is a whole number of ticks for live spans.
    pub end: f64,
}

/// A contact record with indexes instead of IDs.
#[derive(Debug, Clone)]
pub(crate) struct ContactRecord {
    pub(crate) contact_id: Box<str>,
    /// Index into the scenario's queues.
    pub(crate) queue: u32,
    /// Index into [`HISTORY_CHANNELS`].
    pub(crate) channel: u8,
    /// Index into [`INITIATION_METHODS`].
    pub(crate) method: u8,
    pub(crate) enqueued_at: f64,
    pub(crate) dequeued_at: f64,
    pub(crate) disconnected_at: f64,
    pub(crate) answered: Option<AnsweredRecord>,
}

/// The agent's part of a [`ContactRecord`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnsweredRecord {
    /// Index into the scenario's agents.
    pub(crate) agent: u32,
    /// Index into the scenario's routing profiles.
    pub(crate) profile: u32,
    pub(crate) talk: f64,
    pub(crate) hold: f64,
    pub(crate) after_contact_work: f64,
    pub(crate) transferred_out: bool,
}

impl ContactRecord {
    /// When the record was complete: after-contact work done, or abandoned.
    fn completed_at(&self) -> f64 {
        self.disconnected_at + self.answered.map_or(0.0, |a| a.after_contact_work)
    }

    /// Seconds in the queue.
    pub(crate) fn queue_seconds(&self) -> f64 {
        self.dequeued_at - self.enqueued_at
    }
}

/// An agent-time span with indexes instead of IDs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanRecord {
    pub(crate) agent: u32,
    pub(crate) profile: u32,
    pub(crate) on_contact: bool,
    pub(crate) start: f64,
    pub(crate) end: f64,
}

/// Where a tracked contact is in its life with the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Routing,
    Talk,
    Hold,
    AfterWork,
    Other,
}

impl Phase {
    fn of(state: &str) -> Self {
        match state {
            "INCOMING" | "PENDING" | "CONNECTING" => Self::Routing,
            "CONNECTED" => Self::Talk,
            "CONNECTED_ONHOLD" => Self::Hold,
            "ENDED" => Self::AfterWork,
            _ => Self::Other,
        }
    }
}

/// A contact with an agent, followed until it leaves the agent.
#[derive(Debug, Clone)]
struct Tracked {
    contact_id: String,
    /// Queue index; `None` when the contact is not recorded (OUTBOUND, unknown queue).
    queue: Option<u32>,
    channel: u8,
    method: u8,
    enqueued_at: f64,
    phase: Phase,
    state_start: f64,
    connected_at: Option<f64>,
    disconnected_at: Option<f64>,
    talk: f64,
    hold: f64,
}

/// What is followed of one agent: its contacts and its current, open span.
#[derive(Debug, Clone)]
struct AgentTrack {
    contacts: Vec<Tracked>,
    activity: Option<AgentActivity>,
    since: f64,
    /// The agent's `status_start` when last looked at: a status change moves it.
    status_start: f64,
}

impl AgentTrack {
    /// A track of an agent not looked at yet, its span open from `now`.
    fn new(activity: Option<AgentActivity>, now: f64, status_start: f64) -> Self {
        Self {
            contacts: Vec::new(),
            activity,
            since: now,
            status_start,
        }
    }

    /// Whether nothing that matters changed since the last tick: the same status and the same
    /// contacts in the same states. Every change of state or status moves its start time to
    /// the tick's time, and a new contact starts at it, so comparing start times suffices.
    fn unchanged(&self, agent: &Agent) -> bool {
        self.status_start == agent.status_start
            && self.contacts.len() == agent.contacts.len()
            && self
                .contacts
                .iter()
                .zip(&agent.contacts)
                .all(|(tracked, contact)| tracked.state_start == contact.state_start)
    }
}

/// The history: records, and what follows the world to make them.
#[derive(Debug, Clone)]
pub(crate) struct History {
    pub(crate) contacts: VecDeque<ContactRecord>,
    pub(crate) spans: VecDeque<SpanRecord>,
    pub(super) rng: SimRng,
    agents: Vec<AgentTrack>,
    /// The backlog's waiting contacts after the last tick.
    waiting: Vec<QueuedContact>,
    /// Queue ID → index, rebuilt when queues are added.
    queue_index: HashMap<String, u32>,
    /// Routing profile index of each agent.
    agent_profile: Vec<u32>,
    /// Where the world last skipped ahead after a long pause: contacts waiting since before
    /// are not recorded when they leave.
    skipped_to: f64,
}

impl History {
    /// An empty history following `scenario` from `now`, its sequence seeded from `seed`.
    pub(super) fn new(seed: u64, scenario: &Scenario, now: f64) -> Self {
        let mut history = Self {
            contacts: VecDeque::new(),
            spans: VecDeque::new(),
            rng: SimRng::seed_from_u64(seed ^ HISTORY_SEED),
            agents: Vec::new(),
            waiting: scenario.waiting_contacts.clone(),
            queue_index: HashMap::new(),
            agent_profile: Vec::new(),
            skipped_to: f64::NEG_INFINITY,
        };
        history.refresh_indexes(scenario);
        history.agents = scenario
            .agents
            .iter()
            .map(|agent| AgentTrack::new(activity(agent), now, agent.status_start))
            .collect();
        history
    }

    /// Records what the tick that ended at `now` did: contacts that left the backlog or their
    /// agent, and the agents' activities.
    pub(super) fn observe(&mut self, scenario: &Scenario, now: f64) {
        self.refresh_indexes(scenario);
        self.observe_backlog(scenario, now);
        for (index, agent) in scenario.agents.iter().enumerate() {
            if index >= self.agents.len() {
                self.agents.push(AgentTrack::new(None, now, f64::NAN));
            }
            if self.agents[index].unchanged(agent) {
                continue;
            }
            self.observe_contacts(index, agent, now);
            self.observe_activity(index, activity(agent), now);
            self.agents[index].status_start = agent.status_start;
        }
        self.evict(now);
    }

    /// Follows the deletion of the queue at `index` (ID `queue_id`), already gone from
    /// `scenario` with the agents' contacts from it: its records go (no ID names it any
    /// more), later queues' records move down one, its contacts are no longer followed.
    pub(super) fn forget_queue(&mut self, index: u32, queue_id: &str, scenario: &Scenario) {
        let moved = |queue: u32| if queue > index { queue - 1 } else { queue };
        self.contacts.retain(|record| record.queue != index);
        for record in &mut self.contacts {
            record.queue = moved(record.queue);
        }
        for track in &mut self.agents {
            let followed = track.contacts.len();
            track
                .contacts
                .retain(|tracked| tracked.queue != Some(index));
            for tracked in &mut track.contacts {
                tracked.queue = tracked.queue.map(moved);
            }
            if track.contacts.len() < followed {
                // Looked at again at the next tick: its activity may have changed.
                track.status_start = f64::NAN;
            }
        }
        self.waiting.retain(|contact| contact.queue_id != queue_id);
        self.queue_index.clear();
        self.refresh_indexes(scenario);
    }

    /// Follows the deletion of the routing profile at `index`, already gone from `scenario`:
    /// later profiles' records move down one (none has the deleted one: no agent had it).
    pub(super) fn forget_routing_profile(&mut self, index: u32, scenario: &Scenario) {
        let moved = |profile: u32| match profile {
            u32::MAX => u32::MAX,
            p if p == index => u32::MAX,
            p if p > index => p - 1,
            p => p,
        };
        for answered in self.contacts.iter_mut().filter_map(|r| r.answered.as_mut()) {
            answered.profile = moved(answered.profile);
        }
        for span in &mut self.spans {
            span.profile = moved(span.profile);
        }
        self.agent_profile.clear();
        self.refresh_indexes(scenario);
    }

    /// Keeps the queue and profile indexes in line with the scenario.
    fn refresh_indexes(&mut self, scenario: &Scenario) {
        if self.queue_index.len() != scenario.queues.len() {
            self.queue_index = scenario
                .queues
                .iter()
                .enumerate()
                .map(|(index, queue)| (queue.id.clone(), index as u32))
                .collect();
        }
        if self.agent_profile.len() != scenario.agents.len() {
            let profiles: HashMap<&str, u32> = scenario
                .routing_profiles
                .iter()
                .enumerate()
                .map(|(index, profile)| (profile.id.as_str(), index as u32))
                .collect();
            self.agent_profile = scenario
                .agents
                .iter()
                .map(|agent| {
                    profiles
                        .get(agent.routing_profile_id.as_str())
                        .copied()
                        .unwrap_or(u32::MAX)
                })
                .collect();
        }
    }

    /// Records the abandonments among the contacts that left the backlog this tick. The
    /// backlog only removes (keeping order) and appends, so one pass finds who left.
    fn observe_backlog(&mut self, scenario: &Scenario, now: f64) {
        let current = &scenario.waiting_contacts;
        let mut next = 0;
        let previous = std::mem::take(&mut self.waiting);
        for contact in &previous {
            if current
                .get(next)
                .is_some_and(|c| c.contact_id == contact.contact_id)
            {
                next += 1;
                continue;
            }
            if contact.enqueued_at <= self.skipped_to {
                continue;
            }
            let method = abandon_method(self.rng.random_range(0..100));
            let (Some(queue), Some(channel)) = (
                self.queue_index.get(&contact.queue_id).copied(),
                channel_index(&contact.channel),
            ) else {
                continue;
            };
            self.contacts.push_back(ContactRecord {
                contact_id: contact.contact_id.as_str().into(),
                queue,
                channel,
                method,
                enqueued_at: contact.enqueued_at,
                dequeued_at: now,
                disconnected_at: now,
                answered: None,
            });
        }
        self.waiting = current.clone();
    }

    /// Follows agent `index`'s contacts: new ones are tracked, state changes timed, and those
    /// that left the agent after their after-contact work recorded.
    fn observe_contacts(&mut self, index: usize, agent: &Agent, now: f64) {
        let track = &mut self.agents[index];
        if agent.contacts.is_empty() && track.contacts.is_empty() {
            return;
        }
        let mut gone = Vec::new();
        let mut position = 0;
        while position < track.contacts.len() {
            let tracked = &mut track.contacts[position];
            match agent
                .contacts
                .iter()
                .find(|c| c.contact_id == tracked.contact_id)
            {
                Some(contact) => {
                    tracked.follow(contact);
                    position += 1;
                }
                None => gone.push(track.contacts.remove(position)),
            }
        }
        for contact in &agent.contacts {
            let track = &self.agents[index];
            if track
                .contacts
                .iter()
                .any(|t| t.contact_id == contact.contact_id)
            {
                continue;
            }
            let tracked = self.track(contact);
            self.agents[index].contacts.push(tracked);
        }
        for tracked in gone {
            self.finish(tracked, index, now);
        }
    }

    /// Starts following `contact`, just offered to an agent.
    fn track(&mut self, contact: &super::Contact) -> Tracked {
        let method = INITIATION_METHODS
            .iter()
            .position(|m| *m == contact.initiation_method);
        let queued = method.is_some_and(|m| INITIATION_METHODS[m] != "OUTBOUND");
        // Drawn for every queued contact when first seen, so the sequence does not depend on
        // how the contact ends.
        let wait = if queued {
            answer_wait(&mut self.rng)
        } else {
            0.0
        };
        let queue = self.queue_index.get(&contact.queue_id).copied();
        let offered = contact.state_start;
        let mut tracked = Tracked {
            contact_id: contact.contact_id.clone(),
            queue: queue.filter(|_| queued),
            channel: channel_index(&contact.channel).unwrap_or(0),
            method: method.unwrap_or(0) as u8,
            enqueued_at: ((offered - wait) * 1000.0).floor() / 1000.0,
            phase: Phase::of(&contact.state),
            state_start: contact.state_start,
            connected_at: None,
            disconnected_at: None,
            talk: 0.0,
            hold: 0.0,
        };
        tracked.enter(contact.state_start, contact.connected_to_agent);
        tracked
    }

    /// Records a contact that left agent `index` at `now`, if it was queued and went through
    /// a conversation and after-contact work.
    fn finish(&mut self, tracked: Tracked, index: usize, now: f64) {
        let (Some(queue), Some(connected_at), Some(disconnected_at), Phase::AfterWork) = (
            tracked.queue,
            tracked.connected_at,
            tracked.disconnected_at,
            tracked.phase,
        ) else {
            return;
        };
        let transferred_out = self.rng.random_bool(TRANSFER_OUT_PROBABILITY);
        self.contacts.push_back(ContactRecord {
            contact_id: tracked.contact_id.into_boxed_str(),
            queue,
            channel: tracked.channel,
            method: tracked.method,
            enqueued_at: tracked.enqueued_at,
            dequeued_at: connected_at,
            disconnected_at,
            answered: Some(AnsweredRecord {
                agent: index as u32,
                profile: self.profile_of(index),
                talk: tracked.talk,
                hold: tracked.hold,
                after_contact_work: now - tracked.state_start,
                transferred_out,
            }),
        });
    }

    /// Closes agent `index`'s open span at `now` when its activity changed.
    fn observe_activity(&mut self, index: usize, activity: Option<AgentActivity>, now: f64) {
        let profile = self.profile_of(index);
        let track = &mut self.agents[index];
        if track.activity == activity {
            return;
        }
        if let Some(previous) = track.activity.filter(|_| now > track.since) {
            self.spans.push_back(SpanRecord {
                agent: index as u32,
                profile,
                on_contact: previous == AgentActivity::OnContact,
                start: track.since,
                end: now,
            });
        }
        track.activity = activity;
        track.since = now;
    }

    /// Notes that the world skipped from `from` to `to` without ticks (after a long pause):
    /// agent time stops at `from` and resumes at `to`, and the contacts in progress or waiting
    /// across the gap are left out of the history, as their times would span it.
    pub(super) fn skip(&mut self, from: f64, to: f64) {
        for index in 0..self.agents.len() {
            let activity = self.agents[index].activity;
            self.observe_activity(index, None, from);
            let track = &mut self.agents[index];
            track.activity = activity;
            track.since = to;
            for tracked in &mut track.contacts {
                tracked.queue = None;
            }
        }
        self.skipped_to = to;
    }

    /// The routing profile index of agent `index` (`u32::MAX` when unknown).
    pub(super) fn profile_of(&self, index: usize) -> u32 {
        self.agent_profile.get(index).copied().unwrap_or(u32::MAX)
    }

    /// Drops the oldest records beyond the limits.
    pub(super) fn evict(&mut self, now: f64) {
        let horizon = now - HISTORY_RETENTION_SECONDS;
        while self.contacts.len() > MAX_HISTORY_CONTACTS
            || self
                .contacts
                .front()
                .is_some_and(|c| c.completed_at() < horizon)
        {
            self.contacts.pop_front();
        }
        while self.spans.len() > MAX_AGENT_TIME_SPANS
            || self.spans.front().is_some_and(|s| s.end < horizon)
        {
            self.spans.pop_front();
        }
    }

    /// Every span: the closed ones, then the open ones up to `now`.
    pub(crate) fn spans_until(&self, now: f64) -> impl Iterator<Item = SpanRecord> + '_ {
        let open = self
            .agents
            .iter()
            .enumerate()
            .filter_map(move |(index, track)| {
                let activity = track.activity.filter(|_| now > track.since)?;
                Some(SpanRecord {
                    agent: index as u32,
                    profile: self.profile_of(index),
                    on_contact: activity == AgentActivity::OnContact,
                    start: track.since,
                    end: now,
                })
            });
        self.spans.iter().copied().chain(open)
    }

    /// The same history with no records and no open spans, for tests that make their own.
    #[cfg(test)]
    pub(crate) fn emptied(&self) -> Self {
        let mut history = self.clone();
        history.contacts.clear();
        history.spans.clear();
        for track in &mut history.agents {
            track.activity = None;
        }
        history
    }

    /// The records with IDs, in the order they were completed.
    pub(crate) fn contacts(&self, scenario: &Scenario) -> Vec<HistoricalContact> {
        self.contacts
            .iter()
            .map(|record| HistoricalContact {
                contact_id: record.contact_id.to_string(),
                queue_id: queue_id(scenario, record.queue),
                channel: HISTORY_CHANNELS[usize::from(record.channel)].to_string(),
                initiation_method: INITIATION_METHODS[usize::from(record.method)].to_string(),
                enqueued_at: record.enqueued_at,
                dequeued_at: record.dequeued_at,
                disconnected_at: record.disconnected_at,
                answered: record.answered.map(|answered| AnsweredContact {
                    agent_id: agent_id(scenario, answered.agent),
                    routing_profile_id: profile_id(scenario, answered.profile),
                    talk_seconds: answered.talk,
                    hold_seconds: answered.hold,
                    after_contact_work_seconds: answered.after_contact_work,
                    transferred_out: answered.transferred_out,
                }),
            })
            .collect()
    }

    /// The agent-time spans with IDs: closed ones in the order they closed, then the open
    /// ones up to `now`, agent by agent.
    pub(crate) fn agent_time(&self, scenario: &Scenario, now: f64) -> Vec<AgentTimeSpan> {
        self.spans_until(now)
            .map(|span| AgentTimeSpan {
                agent_id: agent_id(scenario, span.agent),
                routing_profile_id: profile_id(scenario, span.profile),
                activity: if span.on_contact {
                    AgentActivity::OnContact
                } else {
                    AgentActivity::Available
                },
                start: span.start,
                end: span.end,
            })
            .collect()
    }
}

impl Tracked {
    /// Times the state change of `contact`, if it changed since the last tick.
    fn follow(&mut self, contact: &super::Contact) {
        let phase = Phase::of(&contact.state);
        if phase == self.phase && contact.state_start == self.state_start {
            return;
        }
        let lasted = contact.state_start - self.state_start;
        match self.phase {
            Phase::Talk => self.talk += lasted,
            Phase::Hold => self.hold += lasted,
            _ => {}
        }
        self.phase = phase;
        self.state_start = contact.state_start;
        self.enter(contact.state_start, contact.connected_to_agent);
    }

    /// Notes the connection and the disconnection as the phase begins at `at`.
    fn enter(&mut self, at: f64, connected_to_agent: Option<f64>) {
        match self.phase {
            Phase::Talk if self.connected_at.is_none() => {
                self.connected_at = Some(connected_to_agent.unwrap_or(at));
            }
            Phase::AfterWork if self.disconnected_at.is_none() => {
                self.disconnected_at = Some(at);
            }
            _ => {}
        }
    }
}

/// What `agent` is doing for occupancy: on contact, available and idle, or neither.
fn activity(agent: &Agent) -> Option<AgentActivity> {
    let on_contact = agent.contacts.iter().any(|c| {
        matches!(
            Phase::of(&c.state),
            Phase::Talk | Phase::Hold | Phase::AfterWork
        )
    });
    if on_contact {
        return Some(AgentActivity::OnContact);
    }
    let routing = agent.contacts.iter().any(|c| occupies_slot(&c.state));
    (agent.status_name == "Available" && !routing).then_some(AgentActivity::Available)
}

/// A queue wait for an answered contact: exponential with mean [`MEAN_ANSWER_WAIT_SECONDS`],
/// at most [`MAX_ANSWER_WAIT_SECONDS`].
pub(super) fn answer_wait(rng: &mut SimRng) -> f64 {
    let uniform: f64 = rng.random();
    (-MEAN_ANSWER_WAIT_SECONDS * (1.0 - uniform).ln()).min(MAX_ANSWER_WAIT_SECONDS)
}

/// The initiation method (index into [`INITIATION_METHODS`]) of an abandoned contact for a
/// roll of 0 to 99: mostly INBOUND, some transfers (callbacks are never abandoned).
pub(super) fn abandon_method(roll: u32) -> u8 {
    match roll {
        0..=84 => 0,
        85..=94 => 1,
        _ => 2,
    }
}

/// The index of `channel` in [`HISTORY_CHANNELS`].
pub(super) fn channel_index(channel: &str) -> Option<u8> {
    HISTORY_CHANNELS
        .iter()
        .position(|c| *c == channel)
        .map(|index| index as u8)
}

fn queue_id(scenario: &Scenario, index: u32) -> String {
    scenario
        .queues
        .get(index as usize)
        .map(|q| q.id.clone())
        .unwrap_or_default()
}

fn agent_id(scenario: &Scenario, index: u32) -> String {
    scenario
        .agents
        .get(index as usize)
        .map(|a| a.id.clone())
        .unwrap_or_default()
}

fn profile_id(scenario: &Scenario, index: u32) -> String {
    scenario
        .routing_profiles
        .get(index as usize)
        .map(|p| p.id.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::super::test_support::{demo_world, world};
    use super::*;

    /// What a test sees of one agent contact over the ticks.
    #[derive(Debug, Default)]
    struct Seen {
        agent: usize,
        queue_id: String,
        channel: String,
        method: String,
        offered: Option<f64>,
        connected: Option<f64>,
        ended: Option<f64>,
        dropped: bool,
        last_seen: f64,
    }

    #[test]
    fn live_records_follow_the_agents_and_the_backlog() {
        let mut world = demo_world(3);
        let run_start = world.now;
        let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
        let mut departed: Vec<(QueuedContact, f64)> = Vec::new();
        // Seconds on contact and available per agent, counted tick by tick.
        let mut expected_time: HashMap<(usize, bool), f64> = HashMap::new();
        let ticks = 600;
        for tick in 0..ticks {
            let before = world.scenario.waiting_contacts.clone();
            world.step();
            let now = world.now;
            for contact in before {
                let still = world
                    .scenario
                    .waiting_contacts
                    .iter()
                    .any(|c| c.contact_id == contact.contact_id);
                if !still {
                    departed.push((contact, now));
                }
            }
            for (index, agent) in world.scenario.agents.iter().enumerate() {
                for contact in &agent.contacts {
                    let entry = seen
                        .entry(contact.contact_id.clone())
                        .or_insert_with(|| Seen {
                            agent: index,
                            queue_id: contact.queue_id.clone(),
                            channel: contact.channel.clone(),
                            method: contact.initiation_method.clone(),
                            offered: matches!(contact.state.as_str(), "INCOMING" | "CONNECTING")
                                .then_some(contact.state_start),
                            ..Seen::default()
                        });
                    entry.last_seen = now;
                    entry.connected = entry.connected.or(contact.connected_to_agent);
                    if contact.state == "ENDED" {
                        entry.ended = entry.ended.or(Some(contact.state_start));
                    }
                    entry.dropped |= matches!(contact.state.as_str(), "MISSED" | "REJECTED");
                }
                let on = agent.contacts.iter().any(|c| {
                    matches!(c.state.as_str(), "CONNECTED" | "CONNECTED_ONHOLD" | "ENDED")
                });
                let routing = agent.contacts.iter().any(|c| occupies_slot(&c.state));
                let available = !on && !routing && agent.status_name == "Available";
                // The state after the last tick is still open at the end of the run.
                if (on || available) && tick + 1 < ticks {
                    *expected_time.entry((index, on)).or_default() += world.tick_seconds;
                }
            }
        }
        let run_end = world.now;
        let records = world.history.contacts(&world.scenario);
        let by_id: HashMap<&str, &HistoricalContact> =
            records.iter().map(|r| (r.contact_id.as_str(), r)).collect();
        assert_eq!(by_id.len(), records.len(), "contact IDs are unique");

        let mut answered = 0;
        for (id, contact) in &seen {
            let complete = contact.offered.is_some() && contact.last_seen < run_end;
            let record = by_id.get(id.as_str());
            if !complete || contact.dropped || contact.method == "OUTBOUND" {
                assert!(
                    !complete || record.is_none(),
                    "{id} should not be recorded: {contact:?}"
                );
                continue;
            }
            let record = record.unwrap_or_else(|| panic!("{id} missing: {contact:?}"));
            let agent = &world.scenario.agents[contact.agent];
            let done = record.answered.as_ref().expect("answered");
            assert_eq!(
                (&record.queue_id, &record.channel, &record.initiation_method),
                (&contact.queue_id, &contact.channel, &contact.method)
            );
            assert_eq!(
                (&done.agent_id, &done.routing_profile_id),
                (&agent.id, &agent.routing_profile_id)
            );
            assert_eq!(Some(record.dequeued_at), contact.connected);
            assert_eq!(Some(record.disconnected_at), contact.ended);
            assert_eq!(
                done.talk_seconds + done.hold_seconds,
                record.disconnected_at - record.dequeued_at
            );
            let left = contact.last_seen + world.tick_seconds;
            assert_eq!(
                done.after_contact_work_seconds,
                left - record.disconnected_at
            );
            let offered = contact.offered.unwrap_or_default();
            let wait = offered - record.enqueued_at;
            assert!(
                (0.0..MAX_ANSWER_WAIT_SECONDS + 0.001).contains(&wait),
                "{wait}"
            );
            answered += 1;
        }
        assert!(answered > 1000, "{answered} answered");
        assert!(records
            .iter()
            .filter_map(|r| r.answered.as_ref())
            .any(|a| a.hold_seconds > 0.0 && a.transferred_out));

        for (contact, left) in &departed {
            let record = by_id[contact.contact_id.as_str()];
            assert!(record.answered.is_none());
            assert_eq!(
                (
                    record.enqueued_at,
                    record.dequeued_at,
                    record.disconnected_at
                ),
                (contact.enqueued_at, *left, *left)
            );
            assert_eq!(
                (&record.queue_id, &record.channel),
                (&contact.queue_id, &contact.channel)
            );
            assert!(["INBOUND", "TRANSFER", "QUEUE_TRANSFER"]
                .contains(&record.initiation_method.as_str()));
        }
        assert!(departed.len() > 20, "{} departed", departed.len());

        // Agent time over the run, from the spans, equals the tick-by-tick count (the state
        // after the tick at t holds for [t, t + tick)).
        let (from, to) = (run_start + world.tick_seconds, run_end);
        let mut spans_time: HashMap<(usize, bool), f64> = HashMap::new();
        let index_of: HashMap<&str, usize> = world
            .scenario
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect();
        for span in world.history.agent_time(&world.scenario, run_end) {
            let overlap = span.end.min(to) - span.start.max(from);
            if overlap > 0.0 {
                let key = (
                    index_of[span.agent_id.as_str()],
                    span.activity == AgentActivity::OnContact,
                );
                *spans_time.entry(key).or_default() += overlap;
            }
        }
        assert_eq!(spans_time, expected_time);
        assert!(expected_time.keys().any(|(_, on)| *on) && expected_time.keys().any(|(_, on)| !on));
    }

    #[test]
    fn same_seed_and_clock_same_history_and_the_world_does_not_depend_on_it() {
        let a = world(4);
        let b = world(4);
        assert_eq!(
            a.history.contacts(&a.scenario),
            b.history.contacts(&b.scenario)
        );
        assert_eq!(
            a.history.agent_time(&a.scenario, a.now),
            b.history.agent_time(&b.scenario, b.now)
        );
        let c = world(5);
        assert_ne!(
            a.history.contacts(&a.scenario),
            c.history.contacts(&c.scenario)
        );
        // Another history sequence changes the history, never the world.
        let mut with = demo_world(6);
        let mut other = with.clone();
        other.history.rng = SimRng::seed_from_u64(99);
        for _ in 0..200 {
            with.step();
            other.step();
        }
        assert_eq!(with.scenario, other.scenario);
        assert_ne!(
            with.history.contacts(&with.scenario),
            other.history.contacts(&other.scenario)
        );
    }

    fn record(id: usize, completed: f64) -> ContactRecord {
        ContactRecord {
            contact_id: format!("c{id}").into_boxed_str(),
            queue: 0,
            channel: 0,
            method: 0,
            enqueued_at: completed - 10.0,
            dequeued_at: completed,
            disconnected_at: completed,
            answered: None,
        }
    }

    #[test]
    fn the_oldest_records_go_first_beyond_the_limits() {
        let world = demo_world(1);
        let mut history = world.history.clone();
        history.contacts.clear();
        history.spans.clear();
        let now = 1_700_000_000.0;
        for id in 0..MAX_HISTORY_CONTACTS + 5 {
            history
                .contacts
                .push_back(record(id, now - 100.0 + id as f64 * 1e-4));
        }
        history.spans.push_back(SpanRecord {
            agent: 0,
            profile: 0,
            on_contact: true,
            start: now - HISTORY_RETENTION_SECONDS - 20.0,
            end: now - HISTORY_RETENTION_SECONDS - 10.0,
        });
        history.evict(now);
        assert_eq!(history.contacts.len(), MAX_HISTORY_CONTACTS);
        assert_eq!(history.contacts.front().map(|c| &*c.contact_id), Some("c5"));
        assert!(history.spans.is_empty());
        history
            .contacts
            .push_front(record(0, now - HISTORY_RETENTION_SECONDS - 1.0));
        history.evict(now);
        assert_eq!(history.contacts.front().map(|c| &*c.contact_id), Some("c5"));
    }

    #[test]
    fn a_long_pause_leaves_no_contact_or_agent_time_across_the_gap() {
        let mut world = demo_world(8);
        for _ in 0..100 {
            world.step();
        }
        let before = world.now;
        world.advance_to(before + 100_000.0);
        let resumed = world.now - 600.0;
        for _ in 0..200 {
            world.step();
        }
        let records = world.history.contacts(&world.scenario);
        assert!(records.iter().any(|r| r.disconnected_at > resumed));
        for record in &records {
            assert!(
                record.queue_seconds() <= MAX_ANSWER_WAIT_SECONDS + 1.0,
                "{record:?}"
            );
            if let Some(answered) = &record.answered {
                assert!(answered.talk_seconds + answered.hold_seconds < 1000.0);
                assert!(answered.after_contact_work_seconds < 100.0);
            }
        }
        let spans = world.history.agent_time(&world.scenario, world.now);
        assert!(spans.iter().all(|s| s.end <= before || s.start >= resumed));
        assert!(spans.iter().any(|s| s.start >= resumed));
    }
}
