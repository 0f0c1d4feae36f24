//! The history's backfill: contacts and agent time from the start of the history (UTC midnight
//! of the simulated clock unless set otherwise) to the start of warm-up, drawn from the
//! history's own sequence at a modest rate, so that "today so far" has data from the start.
//!
//! Contacts arrive at random (exponential gaps) in every (queue, channel) a routing profile
//! serves, [`BACKFILL_CONTACTS_PER_QUEUE_PER_DAY`] per queue spread over its channels; each is
//! abandoned with probability [`BACKFILL_ABANDON_PROBABILITY`] or answered by an agent whose
//! profile serves the pair. Agent time is drawn per agent and block of
//! [`BACKFILL_BLOCK_SECONDS`] (longer when there are many agents): absent, or on contact for
//! 50 to 90 % of the block and available for the rest. The backfilled agent time is drawn
//! apart from the backfilled contacts; live history (from warm-up on) ties them together.

use std::collections::HashMap;

use rand::Rng;

use super::history::{
    abandon_method, answer_wait, AnsweredRecord, ContactRecord, History, SpanRecord,
    HISTORY_CHANNELS, HISTORY_RETENTION_SECONDS, MAX_HISTORY_CONTACTS, TRANSFER_OUT_PROBABILITY,
};
use super::Scenario;

/// Contacts per queue and day in the backfill, spread over the channels the queue is served on.
pub const BACKFILL_CONTACTS_PER_QUEUE_PER_DAY: f64 = 200.0;
/// Chance that a backfilled contact was abandoned.
pub const BACKFILL_ABANDON_PROBABILITY: f64 = 0.06;
/// Shortest block of backfilled agent time, seconds.
pub const BACKFILL_BLOCK_SECONDS: f64 = 900.0;
/// Chance that an agent is absent (no time at all) for a backfilled block.
pub const BACKFILL_ABSENT_PROBABILITY: f64 = 0.25;
/// Roughly the most backfilled spans: blocks grow with the number of agents to stay below.
const BACKFILL_SPAN_BUDGET: f64 = 100_000.0;
/// Mean wait before a backfilled contact is abandoned, seconds.
const MEAN_ABANDON_WAIT_SECONDS: f64 = 45.0;

/// A (queue index, channel index) pair some routing profile serves, with the agents serving it.
struct ServedPair {
    queue: u32,
    channel: u8,
    /// Contacts per second.
    rate: f64,
    /// Indexes of the agents whose profile serves the pair.
    agents: Vec<u32>,
}

impl History {
    /// Backfills contacts and agent time from `from` to `until` (epoch seconds); nothing when
    /// `from` is not earlier. Call it before the first tick is observed.
    pub(super) fn backfill(&mut self, scenario: &Scenario, from: f64, until: f64) {
        let from = from.max(until - HISTORY_RETENTION_SECONDS);
        if from.is_nan() || from >= until {
            return;
        }
        self.backfill_contacts(scenario, from, until);
        self.backfill_agent_time(scenario, from, until);
    }

    fn backfill_contacts(&mut self, scenario: &Scenario, from: f64, until: f64) {
        let pairs = served_pairs(scenario);
        let queues = pairs
            .iter()
            .map(|p| p.queue)
            .collect::<std::collections::BTreeSet<_>>()
            .len() as f64;
        // No more than the history keeps: a far-back start begins later instead.
        let per_second = queues * BACKFILL_CONTACTS_PER_QUEUE_PER_DAY / 86_400.0;
        let from = from.max(until - MAX_HISTORY_CONTACTS as f64 / per_second.max(1e-9));
        let mut records = Vec::new();
        for pair in &pairs {
            let mut at = from;
            loop {
                let uniform: f64 = self.rng.random();
                at += -(1.0 - uniform).ln() / pair.rate;
                if at >= until {
                    break;
                }
                let record = self.backfilled_contact(pair, at);
                if record.disconnected_at + record.answered.map_or(0.0, |a| a.after_contact_work)
                    < until
                {
                    records.push(record);
                }
            }
        }
        // In the order they were completed; keyed once, as a debug build compares slowly.
        let mut keyed: Vec<(f64, ContactRecord)> = records
            .into_iter()
            .map(|record| (completed(&record), record))
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.contacts
            .extend(keyed.into_iter().map(|(_, record)| record));
    }

    /// One backfilled contact of `pair` arriving at `at`.
    fn backfilled_contact(&mut self, pair: &ServedPair, at: f64) -> ContactRecord {
        let rng = &mut self.rng;
        let enqueued_at = (at * 1000.0).floor() / 1000.0;
        let contact_id = super::uuid(rng).into_boxed_str();
        let abandoned = pair.agents.is_empty() || rng.random_bool(BACKFILL_ABANDON_PROBABILITY);
        if abandoned {
            let uniform: f64 = rng.random();
            let wait = (-MEAN_ABANDON_WAIT_SECONDS * (1.0 - uniform).ln())
                .clamp(1.0, 900.0)
                .round();
            return ContactRecord {
                contact_id,
                queue: pair.queue,
                channel: pair.channel,
                method: abandon_method(rng.random_range(0..100)),
                enqueued_at,
                dequeued_at: enqueued_at + wait,
                disconnected_at: enqueued_at + wait,
                answered: None,
            };
        }
        let wait = answer_wait(rng);
        let dequeued_at = ((enqueued_at + wait) * 1000.0).round() / 1000.0;
        let agent = pair.agents[rng.random_range(0..pair.agents.len())];
        let talk = f64::from(rng.random_range(20..=400_u32));
        let hold = if rng.random_bool(0.15) {
            f64::from(rng.random_range(5..=90_u32))
        } else {
            0.0
        };
        let after_contact_work = f64::from(rng.random_range(5..=60_u32));
        let transferred_out = rng.random_bool(TRANSFER_OUT_PROBABILITY);
        let method = answered_method(rng.random_range(0..100), pair.channel);
        ContactRecord {
            contact_id,
            queue: pair.queue,
            channel: pair.channel,
            method,
            enqueued_at,
            dequeued_at,
            disconnected_at: dequeued_at + talk + hold,
            answered: Some(AnsweredRecord {
                agent,
                profile: u32::MAX,
                talk,
                hold,
                after_contact_work,
                transferred_out,
            }),
        }
        .with_agent_profile(self)
    }

    fn backfill_agent_time(&mut self, scenario: &Scenario, from: f64, until: f64) {
        let agents = scenario.agents.len() as f64;
        let blocks_wanted = BACKFILL_SPAN_BUDGET / 2.0 / agents.max(1.0);
        let block = ((until - from) / blocks_wanted / BACKFILL_BLOCK_SECONDS).ceil()
            * BACKFILL_BLOCK_SECONDS;
        let block = block.max(BACKFILL_BLOCK_SECONDS);
        // Block by block, so the spans come in (nearly) the order they ended.
        let mut block_start = from;
        while block_start < until {
            let block_end = (block_start + block).min(until);
            for agent in 0..scenario.agents.len() {
                let absent = self.rng.random_bool(BACKFILL_ABSENT_PROBABILITY);
                let busy: f64 = self.rng.random_range(0.5..0.9);
                if absent {
                    continue;
                }
                let profile = self.profile_of(agent);
                let split = (block_start + (block_end - block_start) * busy)
                    .round()
                    .clamp(block_start, block_end);
                for (on_contact, start, end) in
                    [(true, block_start, split), (false, split, block_end)]
                {
                    if end > start {
                        self.spans.push_back(SpanRecord {
                            agent: agent as u32,
                            profile,
                            on_contact,
                            start,
                            end,
                        });
                    }
                }
            }
            block_start = block_end;
        }
    }
}

impl ContactRecord {
    /// The record with its agent's routing profile filled in.
    fn with_agent_profile(mut self, history: &History) -> Self {
        if let Some(answered) = &mut self.answered {
            answered.profile = history.profile_of(answered.agent as usize);
        }
        self
    }
}

/// When a record was complete.
fn completed(record: &ContactRecord) -> f64 {
    record.disconnected_at + record.answered.map_or(0.0, |a| a.after_contact_work)
}

/// The initiation method (index into the history's methods) of an answered backfilled contact
/// for a roll of 0 to 99, in the live proportions without OUTBOUND.
fn answered_method(roll: u32, channel: u8) -> u8 {
    match roll {
        0..=74 => 0,
        75..=84 => 1,
        85..=89 => 3,
        90..=94 if HISTORY_CHANNELS[usize::from(channel)] == "TASK" => 4,
        90..=94 => 0,
        _ => 2,
    }
}

/// Every (queue, channel) some routing profile serves, in the instance's queue order and
/// [`HISTORY_CHANNELS`] order, with its rate and its agents.
fn served_pairs(scenario: &Scenario) -> Vec<ServedPair> {
    let mut agents_of_profile: HashMap<&str, Vec<u32>> = HashMap::new();
    for (index, agent) in scenario.agents.iter().enumerate() {
        agents_of_profile
            .entry(agent.routing_profile_id.as_str())
            .or_default()
            .push(index as u32);
    }
    let mut servers: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for profile in &scenario.routing_profiles {
        for entry in &profile.queues {
            let list = servers
                .entry((entry.queue_id.as_str(), entry.channel.as_str()))
                .or_default();
            if !list.contains(&profile.id.as_str()) {
                list.push(profile.id.as_str());
            }
        }
    }
    let mut pairs = Vec::new();
    for (queue_index, queue) in scenario.queues.iter().enumerate() {
        let serving: Vec<(u8, &Vec<&str>)> = HISTORY_CHANNELS
            .iter()
            .enumerate()
            .filter_map(|(channel, name)| {
                let profiles = servers.get(&(queue.id.as_str(), *name))?;
                Some((channel as u8, profiles))
            })
            .collect();
        let channels = serving.len() as f64;
        for (channel, profiles) in serving {
            let mut agents: Vec<u32> = profiles
                .iter()
                .filter_map(|profile| agents_of_profile.get(profile))
                .flatten()
                .copied()
                .collect();
            agents.sort_unstable();
            pairs.push(ServedPair {
                queue: queue_index as u32,
                channel,
                rate: BACKFILL_CONTACTS_PER_QUEUE_PER_DAY / 86_400.0 / channels,
                agents,
            });
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::test_support::demo_world;
    use super::super::{AgentActivity, Size, Timing, World};

    #[test]
    fn the_day_so_far_is_backfilled_at_a_modest_rate() {
        let world = demo_world(2);
        let start = 1_700_000_000.0;
        let midnight = 1_699_920_000.0;
        let scenario = &world.scenario;
        let records = world.history.contacts(scenario);
        let backfilled: Vec<_> = records
            .iter()
            .filter(|r| r.disconnected_at < start)
            .collect();
        let mut per_queue: BTreeMap<&str, usize> = BTreeMap::new();
        for record in &backfilled {
            *per_queue.entry(record.queue_id.as_str()).or_default() += 1;
            assert!(record.enqueued_at >= midnight);
            let acw = record
                .answered
                .as_ref()
                .map_or(0.0, |a| a.after_contact_work_seconds);
            assert!(record.disconnected_at + acw < start);
            assert_ne!(record.initiation_method, "OUTBOUND");
            let served_by = |profile: &str| {
                scenario.routing_profiles.iter().any(|p| {
                    p.id == profile
                        && p.queues
                            .iter()
                            .any(|e| e.queue_id == record.queue_id && e.channel == record.channel)
                })
            };
            assert!(scenario.routing_profiles.iter().any(|p| served_by(&p.id)));
            if let Some(answered) = &record.answered {
                assert!(served_by(&answered.routing_profile_id));
                let agent = scenario.agents.iter().find(|a| a.id == answered.agent_id);
                assert_eq!(
                    agent.map(|a| a.routing_profile_id.as_str()),
                    Some(answered.routing_profile_id.as_str())
                );
                assert!(record.enqueued_at < record.dequeued_at);
                assert_eq!(
                    record.disconnected_at,
                    record.dequeued_at + answered.talk_seconds + answered.hold_seconds
                );
            }
        }
        // 200 a queue and day, over 0.93 of a day.
        assert_eq!(per_queue.len(), scenario.queues.len());
        assert!(
            per_queue.values().all(|n| (120..=260).contains(n)),
            "{per_queue:?}"
        );
        let abandoned = backfilled.iter().filter(|r| r.answered.is_none()).count();
        let share = abandoned as f64 / backfilled.len() as f64;
        assert!((0.02..0.12).contains(&share), "{share}");

        let spans = world.history.agent_time(scenario, world.now);
        let early: Vec<_> = spans.iter().filter(|s| s.end <= start).collect();
        assert!(early.iter().all(|s| s.start >= midnight && s.start < s.end));
        let seconds = |activity| -> f64 {
            early
                .iter()
                .filter(|s| s.activity == activity)
                .map(|s| s.end - s.start)
                .sum()
        };
        let occupancy = seconds(AgentActivity::OnContact)
            / (seconds(AgentActivity::OnContact) + seconds(AgentActivity::Available));
        assert!((0.6..0.8).contains(&occupancy), "{occupancy}");
        // No agent is in two places at once.
        let mut by_agent: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        for span in &spans {
            by_agent
                .entry(span.agent_id.as_str())
                .or_default()
                .push((span.start, span.end));
        }
        for list in by_agent.values_mut() {
            list.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(list.windows(2).all(|w| w[0].1 <= w[1].0), "{list:?}");
        }
    }

    #[test]
    fn history_start_sets_where_the_backfill_begins() {
        let start = 1_700_000_000.0;
        let build = |history_start| {
            World::build(
                "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20",
                "eu-west-2",
                "123456789012",
                Size {
                    agents: 50,
                    queues: 5,
                    routing_profiles: 4,
                },
                9,
                Timing {
                    start,
                    tick_seconds: 1.0,
                    history_start,
                },
            )
        };
        let hour = build(Some(start - 3600.0));
        let records = hour.history.contacts(&hour.scenario);
        let early: Vec<_> = records.iter().filter(|r| r.enqueued_at < start).collect();
        assert!(!early.is_empty());
        assert!(early.iter().all(|r| r.enqueued_at >= start - 3600.0));
        assert!(hour
            .history
            .agent_time(&hour.scenario, hour.now)
            .iter()
            .all(|s| s.start >= start - 3600.0));
        let none = build(Some(start + 10.0));
        let records = none.history.contacts(&none.scenario);
        // Only the warm-up's own contacts, which waited at most MAX_ANSWER_WAIT_SECONDS.
        assert!(records.iter().all(|r| r.dequeued_at >= start));
        assert!(none
            .history
            .agent_time(&none.scenario, none.now)
            .iter()
            .all(|s| s.start >= start));
    }
}
