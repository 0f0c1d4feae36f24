//! Reduces a snapshot to the numbers the data metrics need. Pure functions, no I/O.
//!
//! Keeping only these aggregates (not the raw agents) bounds memory by the number of series,
//! not by the number of agents.

use std::collections::BTreeMap;

use crate::model::{SlotsByChannel, Snapshot};

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
}

/// Turns an API enum value into a label value: `CONNECTED_ONHOLD` → `connected_onhold`.
pub fn label_value(api_value: &str) -> String {
    api_value.to_ascii_lowercase()
}

impl Summary {
    /// Aggregates `snapshot`; ages are measured from `snapshot.fetched_at`.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut summary = Summary::default();
        for agent in &snapshot.agents {
            add_slots(&mut summary.slots_available, &agent.available_slots);
            add_slots(&mut summary.slots_active, &agent.active_slots);
            add_slots(&mut summary.slots_max, &agent.max_slots);
            *summary
                .agents_by_status
                .entry(agent.status_name.clone())
                .or_default() += 1;
            *summary
                .agents_by_profile_status
                .entry((
                    agent.routing_profile_id.clone().unwrap_or_default(),
                    agent.status_name.clone(),
                ))
                .or_default() += 1;
            if let Some(next) = &agent.next_status {
                *summary
                    .agents_by_next_status
                    .entry(next.clone())
                    .or_default() += 1;
            }
            if let Some(start) = agent.status_start {
                let age = (snapshot.fetched_at - start).max(0.0);
                let oldest = summary
                    .oldest_status_age
                    .entry(agent.status_name.clone())
                    .or_insert(age);
                *oldest = oldest.max(age);
            }
            if agent
                .contacts
                .iter()
                .any(|contact| contact.state == "MISSED")
            {
                summary.agents_with_missed += 1;
            }
            for contact in &agent.contacts {
                let method = contact
                    .initiation_method
                    .as_deref()
                    .map_or_else(|| "unknown".to_string(), label_value);
                *summary
                    .contacts_by_initiation
                    .entry((method, label_value(&contact.channel)))
                    .or_default() += 1;
                let key = ContactKey {
                    queue: contact.queue_id.clone().unwrap_or_default(),
                    channel: label_value(&contact.channel),
                    state: label_value(&contact.state),
                };
                let stats = summary.contacts.entry(key).or_default();
                stats.count += 1;
                if let Some(start) = contact.state_start {
                    // Clock skew between AWS and this host must not produce negative ages.
                    let age = (snapshot.fetched_at - start).max(0.0);
                    stats.oldest_state_age =
                        Some(stats.oldest_state_age.map_or(age, |oldest| oldest.max(age)));
                }
            }
        }
        summary
    }
}

fn add_slots(totals: &mut BTreeMap<String, i64>, slots: &SlotsByChannel) {
    for (channel, count) in slots {
        *totals.entry(label_value(channel)).or_default() += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AgentRecord, ContactRecord};

    fn slots(pairs: &[(&str, i64)]) -> SlotsByChannel {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn contact(queue: &str, channel: &str, state: &str, start: Option<f64>) -> ContactRecord {
        ContactRecord {
            contact_id: format!("{queue}-{channel}-{state}-{start:?}"),
            channel: channel.into(),
            state: state.into(),
            initiation_method: Some("INBOUND".into()),
            queue_id: Some(queue.into()),
            state_start: start,
        }
    }

    #[test]
    fn sums_slots_counts_statuses_and_groups_contacts() {
        let snapshot = Snapshot {
            fetched_at: 1_000.0,
            agents: vec![
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
            ],
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
            fetched_at: 1_000.0,
            agents: vec![a, b, c],
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
    fn future_timestamps_give_zero_age() {
        let snapshot = Snapshot {
            fetched_at: 100.0,
            agents: vec![AgentRecord {
                user_id: "a".into(),
                status_name: "Available".into(),
                contacts: vec![contact("q", "CHAT", "CONNECTING", Some(105.0))],
                ..Default::default()
            }],
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
