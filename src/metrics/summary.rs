//! Reduces a snapshot to the numbers the data metrics need. Pure functions, no I/O.
//!
//! Keeping only these aggregates (not the raw agents) bounds memory by the number of series,
//! not by the number of agents.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use crate::model::{AgentRecord, QueueMetric, Snapshot};

/// The label values of one contacts series.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContactKey {
    /// Queue ID; empty when the service sent no queue for the contact.
    pub queue: String,
    /// Lower-case channel (`voice`, `chat`, ...).
    pub channel: String,
    /// Lower-case agent contact state (`connected`, `missed`, ...).
    pub state: String,
}

/// Count and oldest age of the contacts sharing one [`ContactKey`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ContactStats {
    /// How many contacts.
    pub count: u64,
    /// Seconds since the oldest of them entered its state; `None` if none had a timestamp.
    pub oldest_state_age: Option<f64>,
}

/// The aggregates of one queue set's snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Sum of available slots by lower-case channel.
    pub slots_available: BTreeMap<String, i64>,
    /// Sum of active slots by lower-case channel.
    pub slots_active: BTreeMap<String, i64>,
    /// Sum of maximum slots by lower-case channel.
    pub slots_max: BTreeMap<String, i64>,
    /// Agents by status name.
    pub agents_by_status: BTreeMap<String, u64>,
    /// Contacts with agents by queue, channel and state.
    pub contacts: BTreeMap<ContactKey, ContactStats>,
    /// Agents by (routing profile ID, status name); the profile is empty when not reported.
    pub agents_by_profile_status: BTreeMap<(String, String), u64>,
    /// Agents waiting to change status after their contacts, by the pending status name.
    pub agents_by_next_status: BTreeMap<String, u64>,
    /// Seconds the longest-running current status has lasted, by status name.
    pub oldest_status_age: BTreeMap<String, f64>,
    /// Contacts with agents by (lower-case initiation method, lower-case channel); the method
    /// is `unknown` when not reported.
    pub contacts_by_initiation: BTreeMap<(String, String), u64>,
    /// Agents with at least one contact in the MISSED state.
    pub agents_with_missed: u64,
    /// Agents by (hierarchy level 1–5, group ID at that level, status name), for agents whose
    /// hierarchy path was kept (`hierarchy_labels`).
    pub agents_by_hierarchy: BTreeMap<(usize, String, String), u64>,
    /// GetCurrentMetricData values by (queue ID, lower-case channel), each metric the service
    /// could compute.
    pub queue_metrics: BTreeMap<(String, String), BTreeMap<QueueMetric, f64>>,
}

/// Turns an API enum value into a label value: `CONNECTED_ONHOLD` → `connected_onhold`.
pub fn label_value(api_value: &str) -> String {
    api_value.to_ascii_lowercase()
}

/// Counting with keys borrowed from the snapshot: no allocation per agent or contact, only
/// one per distinct label set when the result is built (a round at 50,000 agents would
/// otherwise allocate millions of short strings).
#[derive(Default)]
struct Tally<'a> {
    slots_available: HashMap<&'a str, i64>,
    slots_active: HashMap<&'a str, i64>,
    slots_max: HashMap<&'a str, i64>,
    agents_by_status: HashMap<&'a str, u64>,
    contacts: HashMap<(&'a str, &'a str, &'a str), ContactStats>,
    agents_by_profile_status: HashMap<(&'a str, &'a str), u64>,
    agents_by_next_status: HashMap<&'a str, u64>,
    oldest_status_age: HashMap<&'a str, f64>,
    contacts_by_initiation: HashMap<(&'a str, &'a str), u64>,
    agents_with_missed: u64,
    agents_by_hierarchy: HashMap<(usize, &'a str, &'a str), u64>,
}

impl<'a> Tally<'a> {
    fn add_agent(&mut self, agent: &'a AgentRecord, fetched_at: f64) {
        for (totals, slots) in [
            (&mut self.slots_available, &agent.available_slots),
            (&mut self.slots_active, &agent.active_slots),
            (&mut self.slots_max, &agent.max_slots),
        ] {
            for (channel, count) in slots {
                *totals.entry(channel.as_ref()).or_default() += count;
            }
        }
        let status = agent.status_name.as_str();
        *self.agents_by_status.entry(status).or_default() += 1;
        let profile = agent.routing_profile_id.as_deref().unwrap_or("");
        *self
            .agents_by_profile_status
            .entry((profile, status))
            .or_default() += 1;
        for (level, group) in agent.hierarchy_path.iter().enumerate() {
            *self
                .agents_by_hierarchy
                .entry((level + 1, group.as_str(), status))
                .or_default() += 1;
        }
        if let Some(next) = &agent.next_status {
            *self.agents_by_next_status.entry(next.as_str()).or_default() += 1;
        }
        if let Some(start) = agent.status_start {
            let age = (fetched_at - start).max(0.0);
            let oldest = self.oldest_status_age.entry(status).or_insert(age);
            *oldest = oldest.max(age);
        }
        if agent
            .contacts
            .iter()
            .any(|contact| contact.state == "MISSED")
        {
            self.agents_with_missed += 1;
        }
        for contact in &agent.contacts {
            let method = contact.initiation_method.as_deref().unwrap_or("unknown");
            *self
                .contacts_by_initiation
                .entry((method, contact.channel.as_ref()))
                .or_default() += 1;
            let key = (
                contact.queue_id.as_deref().unwrap_or(""),
                contact.channel.as_ref(),
                contact.state.as_ref(),
            );
            let stats = self.contacts.entry(key).or_default();
            stats.count += 1;
            if let Some(start) = contact.state_start {
                // Clock skew between AWS and this host must not produce negative ages.
                let age = (fetched_at - start).max(0.0);
                stats.oldest_state_age =
                    Some(stats.oldest_state_age.map_or(age, |oldest| oldest.max(age)));
            }
        }
    }

    fn into_summary(self) -> Summary {
        fn lower_keys<V: Copy + std::ops::AddAssign + Default>(
            map: HashMap<&str, V>,
        ) -> BTreeMap<String, V> {
            let mut lowered = BTreeMap::new();
            for (key, value) in map {
                *lowered.entry(label_value(key)).or_default() += value;
            }
            lowered
        }
        let mut contacts: BTreeMap<ContactKey, ContactStats> = BTreeMap::new();
        for ((queue, channel, state), stats) in self.contacts {
            let merged = contacts
                .entry(ContactKey {
                    queue: queue.to_string(),
                    channel: label_value(channel),
                    state: label_value(state),
                })
                .or_default();
            merged.count += stats.count;
            merged.oldest_state_age = match (merged.oldest_state_age, stats.oldest_state_age) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        let mut contacts_by_initiation: BTreeMap<(String, String), u64> = BTreeMap::new();
        for ((method, channel), count) in self.contacts_by_initiation {
            *contacts_by_initiation
                .entry((label_value(method), label_value(channel)))
                .or_default() += count;
        }
        Summary {
            slots_available: lower_keys(self.slots_available),
            slots_active: lower_keys(self.slots_active),
            slots_max: lower_keys(self.slots_max),
            agents_by_status: owned_keys(self.agents_by_status),
            contacts,
            agents_by_profile_status: self
                .agents_by_profile_status
                .into_iter()
                .map(|((profile, status), count)| {
                    ((profile.to_string(), status.to_string()), count)
                })
                .collect(),
            agents_by_next_status: owned_keys(self.agents_by_next_status),
            oldest_status_age: owned_keys(self.oldest_status_age),
            contacts_by_initiation,
            agents_with_missed: self.agents_with_missed,
            agents_by_hierarchy: self
                .agents_by_hierarchy
                .into_iter()
                .map(|((level, group, status), count)| {
                    ((level, group.to_string(), status.to_string()), count)
                })
                .collect(),
            queue_metrics: BTreeMap::new(),
        }
    }
}

fn owned_keys<V>(map: HashMap<&str, V>) -> BTreeMap<String, V> {
    map.into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

impl Summary {
    /// Aggregates `snapshot`; ages are measured from `snapshot.fetched_at`.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut tally = Tally::default();
        for agent in &snapshot.agents {
            tally.add_agent(agent, snapshot.fetched_at);
        }
        let mut summary = tally.into_summary();
        for row in &snapshot.queue_metrics {
            // A channel sent twice (in two spellings) keeps its first row: the text format
            // cannot carry one series twice.
            summary
                .queue_metrics
                .entry((row.queue_id.clone(), label_value(&row.channel)))
                .or_insert_with(|| row.values.iter().copied().collect());
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{shared, ContactRecord, SlotsByChannel};

    fn slots(pairs: &[(&str, i64)]) -> SlotsByChannel {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string().into(), *v))
            .collect()
    }

    fn contact(queue: &str, channel: &str, state: &str, start: Option<f64>) -> ContactRecord {
        ContactRecord {
            contact_id: format!("{queue}-{channel}-{state}-{start:?}"),
            channel: channel.to_string().into(),
            state: state.to_string().into(),
            initiation_method: Some("INBOUND".into()),
            queue_id: Some(queue.into()),
            state_start: start,
        }
    }

    #[test]
    fn sums_slots_counts_statuses_and_groups_contacts() {
        let snapshot = Snapshot {
            queue_metrics: Vec::new(),
            fetched_at: 1_000.0,
            agents: shared(vec![
                AgentRecord {
                    user_id: "a".into(),
                    status_name: "Available".into(),
                    available_slots: slots(&[("VOICE", 0), ("CHAT", 1)]),
                    active_slots: slots(&[("VOICE", 1), ("CHAT", 1)]),
                    max_slots: slots(&[("VOICE", 1), ("CHAT", 2)]),
                    contacts: vec![
                        contact("q1", "VOICE", "CONNECTED", Some(940.0)),
                        contact("q1", "CHAT", "CONNECTED", Some(990.0)),
                    ],
                    ..Default::default()
                },
                AgentRecord {
                    user_id: "b".into(),
                    status_name: "Available".into(),
                    available_slots: slots(&[("VOICE", 0), ("VIDEO", 2)]),
                    active_slots: slots(&[("VOICE", 1)]),
                    max_slots: slots(&[("VOICE", 1), ("VIDEO", 2)]),
                    contacts: vec![
                        contact("q1", "VOICE", "CONNECTED", Some(900.0)),
                        contact("q2", "VOICE", "CONNECTED_ONHOLD", None),
                    ],
                    ..Default::default()
                },
                AgentRecord {
                    user_id: "c".into(),
                    status_name: "Lunch".into(),
                    ..Default::default()
                },
            ]),
        };
        let summary = Summary::from_snapshot(&snapshot);
        assert_eq!(
            summary.slots_available,
            BTreeMap::from([("chat".into(), 1), ("video".into(), 2), ("voice".into(), 0)])
        );
        assert_eq!(
            summary.slots_active,
            BTreeMap::from([("chat".into(), 1), ("voice".into(), 2)])
        );
        assert_eq!(summary.slots_max["video"], 2);
        assert_eq!(
            summary.agents_by_status,
            BTreeMap::from([("Available".into(), 2), ("Lunch".into(), 1)])
        );
        let voice_connected = summary.contacts[&ContactKey {
            queue: "q1".into(),
            channel: "voice".into(),
            state: "connected".into(),
        }];
        assert_eq!(voice_connected.count, 2);
        assert_eq!(voice_connected.oldest_state_age, Some(100.0));
        let on_hold = summary.contacts[&ContactKey {
            queue: "q2".into(),
            channel: "voice".into(),
            state: "connected_onhold".into(),
        }];
        assert_eq!(on_hold.count, 1);
        assert_eq!(on_hold.oldest_state_age, None);
        assert_eq!(summary.contacts.len(), 3);
    }

    #[test]
    fn agent_views_by_profile_next_status_status_age_initiation_and_misses() {
        let agent = |id: &str, profile: &str, status: &str, since: f64| AgentRecord {
            user_id: id.into(),
            status_name: status.into(),
            status_start: Some(since),
            routing_profile_id: Some(profile.into()),
            ..Default::default()
        };
        let mut a = agent("a", "p1", "Available", 900.0);
        a.contacts = vec![
            contact("q1", "VOICE", "MISSED", None),
            contact("q1", "VOICE", "CONNECTED", None),
        ];
        let mut b = agent("b", "p1", "Available", 990.0);
        b.next_status = Some("Lunch".into());
        b.contacts = vec![ContactRecord {
            initiation_method: None,
            ..contact("q2", "CHAT", "CONNECTED", None)
        }];
        let c = agent("c", "p2", "Offline", 100.0);
        let summary = Summary::from_snapshot(&Snapshot {
            queue_metrics: Vec::new(),
            fetched_at: 1_000.0,
            agents: shared(vec![a, b, c]),
        });
        assert_eq!(
            summary.agents_by_profile_status,
            BTreeMap::from([
                (("p1".into(), "Available".into()), 2),
                (("p2".into(), "Offline".into()), 1)
            ])
        );
        assert_eq!(
            summary.agents_by_next_status,
            BTreeMap::from([("Lunch".into(), 1)])
        );
        assert_eq!(
            summary.oldest_status_age,
            BTreeMap::from([("Available".into(), 100.0), ("Offline".into(), 900.0)])
        );
        assert_eq!(
            summary.contacts_by_initiation,
            BTreeMap::from([
                (("inbound".into(), "voice".into()), 2),
                (("unknown".into(), "chat".into()), 1)
            ])
        );
        assert_eq!(summary.agents_with_missed, 1);
    }

    #[test]
    fn agents_are_counted_at_every_level_of_their_hierarchy_path() {
        let agent = |id: &str, path: &[&str], status: &str| AgentRecord {
            user_id: id.into(),
            status_name: status.into(),
            hierarchy_path: path.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        };
        let summary = Summary::from_snapshot(&Snapshot {
            fetched_at: 0.0,
            agents: shared(vec![
                agent("a", &["emea", "uk"], "Available"),
                agent("b", &["emea", "fr"], "Available"),
                agent("c", &["emea", "uk"], "Lunch"),
                agent("d", &[], "Available"),
            ]),
            queue_metrics: Vec::new(),
        });
        let count = |level: usize, group: &str, status: &str| {
            summary
                .agents_by_hierarchy
                .get(&(level, group.to_string(), status.to_string()))
                .copied()
        };
        assert_eq!(count(1, "emea", "Available"), Some(2));
        assert_eq!(count(1, "emea", "Lunch"), Some(1));
        assert_eq!(count(2, "uk", "Available"), Some(1));
        assert_eq!(count(2, "fr", "Available"), Some(1));
        assert_eq!(summary.agents_by_hierarchy.len(), 5, "agent d has no path");
    }

    #[test]
    fn future_timestamps_give_zero_age() {
        let snapshot = Snapshot {
            queue_metrics: Vec::new(),
            fetched_at: 100.0,
            agents: shared(vec![AgentRecord {
                user_id: "a".into(),
                status_name: "Available".into(),
                contacts: vec![contact("q", "CHAT", "CONNECTING", Some(105.0))],
                ..Default::default()
            }]),
        };
        let summary = Summary::from_snapshot(&snapshot);
        let stats = summary
            .contacts
            .values()
            .next()
            .copied()
            .unwrap_or_default();
        assert_eq!(stats.oldest_state_age, Some(0.0));
    }
}
