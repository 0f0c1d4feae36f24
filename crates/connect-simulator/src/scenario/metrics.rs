//! GetCurrentMetricData's values, derived from the scenario as a pure function.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Agent, RoutingProfile, Scenario, ESTIMATED_SECONDS_PER_CONTACT, METRIC_CHANNELS};

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
    let selection = Selection::new(scenario, query);
    selection
        .groups(query)
        .into_iter()
        .map(|(key, units)| selection.row(key, units, now))
        .collect()
}

/// (queue index, channel index into [`METRIC_CHANNELS`], profile index when grouped by it).
type Unit = (usize, usize, Option<usize>);
/// A row's dimensions: queue, channel and profile index, each only when grouped by it.
type Key = (Option<usize>, Option<usize>, Option<usize>);
/// A (queue ID, channel) pair.
type Pair<'a> = (&'a str, &'a str);

/// What a request selects, and indexes built once per request, so that each row costs only
/// its own pairs.
struct Selection<'a> {
    /// The selected routing profiles; a profile index points into this.
    profiles: Vec<&'a RoutingProfile>,
    /// The selected queue IDs, each once; a queue index points into this.
    queues: Vec<&'a str>,
    /// The selected channels, as indexes into [`METRIC_CHANNELS`].
    channels: Vec<usize>,
    /// The profiles serving each pair, by profile index.
    servers: HashMap<Pair<'a>, Vec<usize>>,
    /// Contacts waiting in each pair: how many, and when the first of them arrived.
    waiting: HashMap<Pair<'a>, (u64, f64)>,
    /// Callbacks scheduled in each pair.
    scheduled: HashMap<Pair<'a>, u64>,
    /// What the agents of each profile add up to, by profile index.
    tallies: Vec<AgentTally>,
}

impl<'a> Selection<'a> {
    fn new(scenario: &'a Scenario, query: &'a MetricQuery) -> Self {
        let profiles = selected_profiles(scenario, query);
        let queues = selected_queues(scenario, query, &profiles);
        Self {
            channels: selected_channels(query),
            servers: index_servers(&profiles),
            waiting: index_waiting(scenario),
            scheduled: index_scheduled(scenario),
            tallies: tally_agents(scenario, &profiles),
            queues,
            profiles,
        }
    }

    /// The rows' units grouped by the rows' keys, rows in order of first appearance.
    fn groups(&self, query: &MetricQuery) -> Vec<(Key, Vec<Unit>)> {
        let mut groups: Vec<(Key, Vec<Unit>)> = Vec::new();
        let mut group_of: HashMap<Key, usize> = HashMap::new();
        if !(query.by_queue || query.by_channel || query.by_routing_profile) {
            // Ungrouped, the one row exists even when nothing is served or waiting.
            groups.push(((None, None, None), Vec::new()));
            group_of.insert((None, None, None), 0);
        }
        for queue in 0..self.queues.len() {
            for &channel in &self.channels {
                for unit in self.units(query, queue, channel) {
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
    }

    /// The units of one (queue, channel) pair: one per serving profile with ROUTING_PROFILE
    /// grouping, else one if the pair is served or has a backlog.
    fn units(&self, query: &MetricQuery, queue: usize, channel: usize) -> Vec<Unit> {
        let pair = (self.queues[queue], METRIC_CHANNELS[channel]);
        let served_by = self.servers.get(&pair).map_or(&[][..], Vec::as_slice);
        if query.by_routing_profile {
            served_by
                .iter()
                .map(|profile| (queue, channel, Some(*profile)))
                .collect()
        } else if !served_by.is_empty()
            || self.waiting.contains_key(&pair)
            || self.scheduled.contains_key(&pair)
        {
            vec![(queue, channel, None)]
        } else {
            Vec::new()
        }
    }

    /// The row of `key`, adding up its units.
    fn row(&self, key: Key, units: Vec<Unit>, now: f64) -> MetricRow {
        let (queue, channel, profile) = key;
        let mut metrics = QueueMetrics::default();
        let mut oldest = f64::INFINITY;
        // Eligible profiles, and the channels on which each serves the row's pairs.
        let mut eligible: BTreeMap<usize, [bool; 3]> = BTreeMap::new();
        for (queue, channel, profile) in units {
            let pair = (self.queues[queue], METRIC_CHANNELS[channel]);
            if let Some((count, first)) = self.waiting.get(&pair) {
                metrics.contacts_in_queue += count;
                oldest = oldest.min(*first);
            }
            metrics.contacts_scheduled += self.scheduled.get(&pair).copied().unwrap_or(0);
            let served_by = match profile {
                Some(profile) => vec![profile],
                None => self.servers.get(&pair).cloned().unwrap_or_default(),
            };
            for profile in served_by {
                eligible.entry(profile).or_default()[channel] = true;
            }
        }
        if oldest.is_finite() {
            metrics.oldest_contact_age = (now - oldest).max(0.0);
        }
        for (profile, on_channels) in eligible {
            metrics.add_agents(&self.tallies[profile], on_channels);
        }
        MetricRow {
            queue_id: queue.map(|index| self.queues[index].to_string()),
            channel: channel.map(|index| METRIC_CHANNELS[index]),
            routing_profile_id: profile.map(|index| self.profiles[index].id.clone()),
            metrics,
        }
    }
}

impl QueueMetrics {
    /// Adds one eligible profile's agents, with the slots of the channels in `on_channels`.
    fn add_agents(&mut self, tally: &AgentTally, on_channels: [bool; 3]) {
        self.agents_online += tally.online;
        self.agents_available += tally.available;
        self.agents_on_contact += tally.on_contact;
        self.agents_after_contact_work += tally.after_contact_work;
        self.agents_error += tally.error;
        self.agents_non_productive += tally.non_productive;
        self.agents_staffed += tally.staffed;
        for (index, on) in on_channels.into_iter().enumerate() {
            if on {
                self.slots_active += tally.active_slots[index];
                self.slots_available += tally.available_slots[index];
            }
        }
    }
}

/// The profiles `Filters.RoutingProfiles` names, each once, in request order; all without it.
fn selected_profiles<'a>(scenario: &'a Scenario, query: &MetricQuery) -> Vec<&'a RoutingProfile> {
    match &query.routing_profiles {
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
    }
}

/// The indexes into [`METRIC_CHANNELS`] of the channels `Filters.Channels` names; all without.
fn selected_channels(query: &MetricQuery) -> Vec<usize> {
    (0..METRIC_CHANNELS.len())
        .filter(|index| {
            query.channels.is_empty() || query.channels.iter().any(|c| c == METRIC_CHANNELS[*index])
        })
        .collect()
}

/// The queues `Filters.Queues` names, each once, in request order; without it, the queues the
/// selected profiles serve, in the instance's order.
fn selected_queues<'a>(
    scenario: &'a Scenario,
    query: &'a MetricQuery,
    profiles: &[&'a RoutingProfile],
) -> Vec<&'a str> {
    match &query.queues {
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
    }
}

/// The profiles (by index into `profiles`) serving each pair, each once, in profile order.
fn index_servers<'a>(profiles: &[&'a RoutingProfile]) -> HashMap<Pair<'a>, Vec<usize>> {
    let mut servers: HashMap<Pair<'a>, Vec<usize>> = HashMap::new();
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
    servers
}

/// Contacts waiting in each pair: how many, and when the first of them arrived.
fn index_waiting(scenario: &Scenario) -> HashMap<Pair<'_>, (u64, f64)> {
    let mut waiting: HashMap<Pair<'_>, (u64, f64)> = HashMap::new();
    for contact in &scenario.waiting_contacts {
        let entry = waiting
            .entry((contact.queue_id.as_str(), contact.channel.as_str()))
            .or_insert((0, f64::INFINITY));
        entry.0 += 1;
        entry.1 = entry.1.min(contact.enqueued_at);
    }
    waiting
}

/// Callbacks scheduled in each pair.
fn index_scheduled(scenario: &Scenario) -> HashMap<Pair<'_>, u64> {
    let mut scheduled: HashMap<Pair<'_>, u64> = HashMap::new();
    for contact in &scenario.scheduled_contacts {
        *scheduled
            .entry((contact.queue_id.as_str(), contact.channel.as_str()))
            .or_default() += 1;
    }
    scheduled
}

/// What the agents of each of `profiles` add up to, by index into `profiles`.
fn tally_agents(scenario: &Scenario, profiles: &[&RoutingProfile]) -> Vec<AgentTally> {
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
    tallies
}

#[cfg(test)]
mod tests {
    use super::super::test_support::world;
    use super::super::QueuedContact;
    use super::*;

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
