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
    totals: HashMap<String, HashMap<String, Total>>,
    /// Polls observed so far: tells a total created by the poll being observed.
    polls: u64,
}

/// The total of one (queue, channel).
#[derive(Debug, Clone, Copy)]
struct Total {
    /// What is published.
    count: u64,
    /// Pairs seen in the poll that created the total: counted at the next poll, so that the
    /// series is published at 0 once first (one born above 0 is invisible to `increase()`).
    deferred: u64,
    /// When its queue and channel last appeared in a poll, epoch seconds.
    active_at: f64,
    /// The number of the poll that created it.
    born_in: u64,
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
            polls: 0,
        }
    }

    /// Counts the pairs of `snapshot` in this counter's state that were not seen before, and
    /// gives every (queue, channel) with a contact in any state a total, at 0 until its first
    /// pair in this state, so that `increase()` in Prometheus counts that first one. Those
    /// (queue, channel) pairs come from `summary`, the poll's own summary, rather than from a
    /// lookup per contact.
    ///
    /// A total whose queue and channel appeared in no poll for `ttl` is dropped, so its series
    /// ends; if they come back, it starts again at 0.
    pub fn observe(&mut self, snapshot: &Snapshot, summary: &Summary, ttl: f64) {
        let now = snapshot.fetched_at;
        self.polls += 1;
        let poll = self.polls;
        // Counts deferred at the last poll count now, before this poll's.
        for total in self.totals.values_mut().flat_map(HashMap::values_mut) {
            total.count += std::mem::take(&mut total.deferred);
        }
        for key in summary.contacts.keys() {
            total_of(&mut self.totals, &key.queue, &key.channel, now, poll);
        }
        for agent in &snapshot.agents {
            for contact in &agent.contacts {
                if contact.state != self.state {
                    continue;
                }
                let queue = contact.queue_id.as_deref().unwrap_or("");
                let total = total_of(
                    &mut self.totals,
                    queue,
                    &label_value(&contact.channel),
                    now,
                    poll,
                );
                if let Some(seen) = self
                    .last_seen
                    .get_mut(&(contact.contact_id.clone(), agent.user_id.clone()))
                {
                    *seen = now;
                    continue;
                }
                if total.born_in == self.polls {
                    total.deferred += 1;
                } else {
                    total.count += 1;
                }
                self.last_seen
                    .insert((contact.contact_id.clone(), agent.user_id.clone()), now);
            }
        }
        self.forget_old(now);
        self.drop_inactive(now - ttl);
    }

    /// Drops the totals whose queue and channel last appeared before `horizon`.
    fn drop_inactive(&mut self, horizon: f64) {
        for channels in self.totals.values_mut() {
            channels.retain(|_, total| total.active_at >= horizon);
        }
        self.totals.retain(|_, channels| !channels.is_empty());
    }

    /// Totals by (queue, lower-case channel), in label order: every pair seen with a contact in
    /// any state, 0 where none was in this counter's state.
    pub fn totals(&self) -> BTreeMap<(String, String), u64> {
        let mut totals = BTreeMap::new();
        for (queue, channels) in &self.totals {
            for (channel, total) in channels {
                totals.insert((queue.clone(), channel.clone()), total.count);
            }
        }
        totals
    }

    /// The API contact state it counts (`MISSED`, ...).
    pub fn state(&self) -> &str {
        &self.state
    }

    /// How many pairs are remembered now.
    pub fn remembered(&self) -> usize {
        self.last_seen.len()
    }

    /// Forgets pairs not seen for the memory time, then, over the cap, exactly as many of the
    /// oldest as needed: never every pair of one poll at once (they share a timestamp), which
    /// would count them all again at the next poll.
    fn forget_old(&mut self, now: f64) {
        let horizon = now - self.memory_seconds;
        self.last_seen.retain(|_, seen| *seen >= horizon);
        if self.last_seen.len() > self.max_remembered {
            let excess = self.last_seen.len() - self.max_remembered;
            let mut by_age: Vec<(f64, (String, String))> = self
                .last_seen
                .iter()
                .map(|(pair, seen)| (*seen, pair.clone()))
                .collect();
            by_age.select_nth_unstable_by(excess - 1, |a, b| a.0.total_cmp(&b.0));
            for (_, pair) in by_age.into_iter().take(excess) {
                self.last_seen.remove(&pair);
            }
        }
    }
}

/// The total of (`queue`, `channel`), created at 0 by poll number `poll` if there is none,
/// marked active `now`.
fn total_of<'a>(
    totals: &'a mut HashMap<String, HashMap<String, Total>>,
    queue: &str,
    channel: &str,
    now: f64,
    poll: u64,
) -> &'a mut Total {
    if !totals.contains_key(queue) {
        totals.insert(queue.to_string(), HashMap::default());
    }
    let channels = totals.get_mut(queue).expect("inserted above");
    if !channels.contains_key(channel) {
        channels.insert(
            channel.to_string(),
            Total {
                count: 0,
                deferred: 0,
                active_at: now,
                born_in: poll,
            },
        );
    }
    let total = channels.get_mut(channel).expect("inserted above");
    total.active_at = now;
    total
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
        counter.observe(snapshot, &Summary::from_snapshot(snapshot), 3600.0);
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
        assert_eq!(total(&counter), 0, "a new total is published at 0 first");
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
    fn a_total_idle_past_its_ttl_ends_and_comes_back_at_zero_then_counts() {
        let mut counter = StateCounter::new("MISSED");
        let key = ("q".to_string(), "voice".to_string());
        let at = |counter: &StateCounter| counter.totals().get(&key).copied();
        let observe_ttl = |counter: &mut StateCounter, poll: &Snapshot| {
            counter.observe(poll, &Summary::from_snapshot(poll), 600.0)
        };
        observe_ttl(&mut counter, &snapshot(0.0, &[("c1", "a1", "MISSED")]));
        assert_eq!(at(&counter), Some(0), "born at 0");
        observe_ttl(&mut counter, &snapshot(15.0, &[]));
        assert_eq!(
            at(&counter),
            Some(1),
            "the first miss counts one poll later"
        );
        observe_ttl(&mut counter, &snapshot(600.0, &[]));
        assert_eq!(at(&counter), Some(1), "not idle for the whole TTL yet");
        observe_ttl(&mut counter, &snapshot(616.0, &[]));
        assert_eq!(at(&counter), None, "idle past the TTL: the series ends");
        observe_ttl(&mut counter, &snapshot(700.0, &[("c9", "a1", "MISSED")]));
        assert_eq!(at(&counter), Some(0), "back at 0, not 1");
        observe_ttl(&mut counter, &snapshot(715.0, &[("c9", "a1", "MISSED")]));
        assert_eq!(
            at(&counter),
            Some(1),
            "the miss of the rebirth poll counts once"
        );
    }

    #[test]
    fn over_the_cap_exactly_the_excess_is_forgotten_not_a_whole_poll() {
        let mut counter = StateCounter::with_bounds("MISSED", 3600.0, 3);
        observe(
            &mut counter,
            &snapshot(0.0, &[("c1", "a", "MISSED"), ("c2", "a", "MISSED")]),
        );
        observe(
            &mut counter,
            &snapshot(
                5.0,
                &[
                    ("c3", "a", "MISSED"),
                    ("c4", "a", "MISSED"),
                    ("c5", "a", "MISSED"),
                ],
            ),
        );
        // Five pairs, a cap of three: the two of the older poll go, all three of the newer
        // stay (the old rule dropped every pair sharing the cut-off time).
        assert_eq!(counter.remembered(), 3);
        observe(
            &mut counter,
            &snapshot(
                10.0,
                &[
                    ("c3", "a", "MISSED"),
                    ("c4", "a", "MISSED"),
                    ("c5", "a", "MISSED"),
                ],
            ),
        );
        assert_eq!(
            total(&counter),
            5,
            "pairs still remembered are not counted again"
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
