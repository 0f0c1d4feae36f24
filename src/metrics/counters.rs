//! Counts (contact, agent) pairs the first time they are seen in one terminal contact state,
//! such as `MISSED`, with memory bounded by a time-to-live and a hard cap.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use super::summary::{label_value, Summary};
use crate::model::Snapshot;

/// How long a pair is remembered after it was last seen. Every poll that still sees a pair
/// renews it, so a pair is never forgotten while visible; five minutes after it vanished it
/// will not come back.
pub const DEFAULT_MEMORY_SECONDS: f64 = 300.0;
/// The most pairs remembered at once, whatever the TTL; the oldest go first.
pub const DEFAULT_MAX_REMEMBERED: usize = 200_000;

/// Running totals of pairs seen in one contact state, by (queue, lower-case channel).
#[derive(Debug, Clone)]
pub struct StateCounter {
    state: String,
    memory_seconds: f64,
    max_remembered: usize,
    last_seen: HashMap<(String, String), f64>,
    /// By queue, then by lower-case channel, so that looking a pair up allocates nothing.
    totals: HashMap<String, HashMap<String, u64>>,
}

impl StateCounter {
    /// A counter for the API state `state` (e.g. `MISSED`) with the default bounds.
    pub fn new(state: &str) -> Self {
        Self::with_bounds(state, DEFAULT_MEMORY_SECONDS, DEFAULT_MAX_REMEMBERED)
    }

    /// A counter with explicit memory bounds.
    pub fn with_bounds(state: &str, memory_seconds: f64, max_remembered: usize) -> Self {
        Self {
            state: state.to_string(),
            memory_seconds,
            max_remembered: max_remembered.max(1),
            last_seen: HashMap::default(),
            totals: HashMap::default(),
        }
    }

    /// Counts the pairs of `snapshot` in this counter's state that were not seen before, and
    /// gives every (queue, channel) with a contact in any state a total, at 0 until its first
    /// pair in this state, so that `increase()` in Prometheus counts that first one. Those
    /// (queue, channel) pairs come from `summary`, the poll's own summary, rather than from a
    /// lookup per contact.
    pub fn observe(&mut self, snapshot: &Snapshot, summary: &Summary) {
        for key in summary.contacts.keys() {
            total_of(&mut self.totals, &key.queue, &key.channel);
        }
        let now = snapshot.fetched_at;
        for agent in &snapshot.agents {
            for contact in &agent.contacts {
                if contact.state != self.state {
                    continue;
                }
                let queue = contact.queue_id.as_deref().unwrap_or("");
                let total = total_of(&mut self.totals, queue, &label_value(&contact.channel));
                if let Some(seen) = self
                    .last_seen
                    .get_mut(&(contact.contact_id.clone(), agent.user_id.clone()))
                {
                    *seen = now;
                    continue;
                }
                *total += 1;
                self.last_seen
                    .insert((contact.contact_id.clone(), agent.user_id.clone()), now);
            }
        }
        self.forget_old(now);
    }

    /// Totals by (queue, lower-case channel), in label order: every pair seen with a contact in
    /// any state, 0 where none was in this counter's state.
    pub fn totals(&self) -> BTreeMap<(String, String), u64> {
        let mut totals = BTreeMap::new();
        for (queue, channels) in &self.totals {
            for (channel, total) in channels {
                totals.insert((queue.clone(), channel.clone()), *total);
            }
        }
        totals
    }

    /// How many pairs are remembered now.
    pub fn remembered(&self) -> usize {
        self.last_seen.len()
    }

    fn forget_old(&mut self, now: f64) {
        let horizon = now - self.memory_seconds;
        self.last_seen.retain(|_, seen| *seen >= horizon);
        if self.last_seen.len() > self.max_remembered {
            let mut times: Vec<f64> = self.last_seen.values().copied().collect();
            let excess = self.last_seen.len() - self.max_remembered;
            times.select_nth_unstable_by(excess - 1, f64::total_cmp);
            let cutoff = times[excess - 1];
            self.last_seen.retain(|_, seen| *seen > cutoff);
        }
    }
}

fn total_of<'a>(
    totals: &'a mut HashMap<String, HashMap<String, u64>>,
    queue: &str,
    channel: &str,
) -> &'a mut u64 {
    if !totals.contains_key(queue) {
        totals.insert(queue.to_string(), HashMap::default());
    }
    let channels = totals.get_mut(queue).expect("inserted above");
    if !channels.contains_key(channel) {
        channels.insert(channel.to_string(), 0);
    }
    channels.get_mut(channel).expect("inserted above")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AgentRecord, ContactRecord};

    fn snapshot(at: f64, pairs: &[(&str, &str, &str)]) -> Snapshot {
        let mut agents: Vec<AgentRecord> = Vec::new();
        for (contact, agent, state) in pairs {
            let record = ContactRecord {
                contact_id: contact.to_string(),
                channel: "VOICE".into(),
                state: state.to_string().into(),
                queue_id: Some("q".into()),
                ..Default::default()
            };
            match agents.iter_mut().find(|a| a.user_id == *agent) {
                Some(existing) => existing.contacts.push(record),
                None => agents.push(AgentRecord {
                    user_id: agent.to_string(),
                    status_name: "Available".into(),
                    contacts: vec![record],
                    ..Default::default()
                }),
            }
        }
        Snapshot {
            queue_metrics: Vec::new(),
            fetched_at: at,
            agents: agents.into_iter().map(std::sync::Arc::new).collect(),
        }
    }

    /// One poll observed as the exposition does it, with the poll's summary.
    fn observe(counter: &mut StateCounter, snapshot: &Snapshot) {
        counter.observe(snapshot, &Summary::from_snapshot(snapshot));
    }

    fn total(counter: &StateCounter) -> u64 {
        counter.totals().values().sum()
    }

    #[test]
    fn counts_each_contact_agent_pair_once() {
        let mut counter = StateCounter::new("MISSED");
        observe(
            &mut counter,
            &snapshot(
                0.0,
                &[
                    ("c1", "a1", "MISSED"),
                    ("c1", "a2", "MISSED"),
                    ("c2", "a1", "CONNECTED"),
                ],
            ),
        );
        assert_eq!(total(&counter), 2);
        observe(
            &mut counter,
            &snapshot(15.0, &[("c1", "a1", "MISSED"), ("c2", "a1", "MISSED")]),
        );
        assert_eq!(total(&counter), 3);
        assert_eq!(
            counter
                .totals()
                .get(&("q".to_string(), "voice".to_string())),
            Some(&3)
        );
    }

    #[test]
    fn memory_is_bounded_by_ttl_and_cap() {
        let mut counter = StateCounter::with_bounds("MISSED", 60.0, 3);
        observe(&mut counter, &snapshot(0.0, &[("c1", "a", "MISSED")]));
        observe(&mut counter, &snapshot(100.0, &[("c2", "a", "MISSED")]));
        assert_eq!(counter.remembered(), 1, "c1 is past its TTL");
        observe(
            &mut counter,
            &snapshot(
                101.0,
                &[
                    ("c3", "a", "MISSED"),
                    ("c4", "a", "MISSED"),
                    ("c5", "a", "MISSED"),
                ],
            ),
        );
        assert_eq!(counter.remembered(), 3);
        assert_eq!(total(&counter), 5, "forgetting never lowers a total");
    }

    #[test]
    fn pairs_missed_across_polls_add_up_once_each() {
        let polls = [
            snapshot(0.0, &[("c1", "a1", "CONNECTING"), ("c2", "a2", "MISSED")]),
            snapshot(5.0, &[("c1", "a1", "MISSED"), ("c2", "a2", "MISSED")]),
        ];
        let mut counter = StateCounter::new("MISSED");
        for poll in &polls {
            observe(&mut counter, poll);
        }
        assert_eq!(
            counter.totals(),
            BTreeMap::from([(("q".to_string(), "voice".to_string()), 2)])
        );
    }

    #[test]
    fn a_queue_and_channel_with_contacts_starts_at_zero() {
        let mut counter = StateCounter::new("MISSED");
        observe(&mut counter, &snapshot(0.0, &[("c1", "a1", "CONNECTING")]));
        let key = ("q".to_string(), "voice".to_string());
        assert_eq!(counter.totals().get(&key), Some(&0));
        observe(&mut counter, &snapshot(5.0, &[("c1", "a1", "MISSED")]));
        assert_eq!(counter.totals().get(&key), Some(&1));
    }
}
