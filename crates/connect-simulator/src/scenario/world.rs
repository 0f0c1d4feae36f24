//! Building the seeded world, and the changes an administrator makes to it.
//!
//! Every random draw happens in one fixed order (queues, which queues each profile serves,
//! profiles, statuses, groups, agents), so a seed always builds the same instance.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

use crate::rng::SimRng;

use super::agent_events::{AgentEventStreamOptions, AgentEvents};
use super::backlog::BACKLOG_SEED;
use super::history::History;
use super::{
    update_slots, uuid, Agent, AgentStatus, Contact, HierarchyGroup, Queue, RoutingProfile,
    RoutingProfileQueue, Scenario, HIERARCHY_GROUPS, QUEUE_NAMES, STATUSES, WARM_UP_TICKS,
};

/// The scenario plus what moves it: random numbers, clock, per-contact timers.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) scenario: Scenario,
    pub(super) rng: SimRng,
    /// The backlog's own sequence, so that the agents' sequence is the same with or without it.
    pub(super) backlog_rng: SimRng,
    /// Simulated time of the state, epoch seconds.
    pub(crate) now: f64,
    pub(crate) tick_seconds: f64,
    /// Ticks left in the current state of each agent's contacts, by agent and in the order of
    /// the agent's contacts.
    pub(super) timers: Vec<Vec<u32>>,
    /// Index of each agent's routing profile, kept from tick to tick (see `step`); emptied by
    /// [`World::directory_changed`].
    pub(super) agent_profiles: Vec<Option<usize>>,
    /// The channels each queue is served on, for the backlog (see `step_backlog`); `None`
    /// after [`World::directory_changed`].
    pub(super) served_channels: Option<Vec<u8>>,
    /// Contacts that passed through the queues and the agents' time, on its own sequence.
    pub(crate) history: History,
    /// The agent event stream, when turned on ([`World::enable_agent_events`]); `None` costs
    /// nothing per tick.
    pub(crate) agent_events: Option<Box<AgentEvents>>,
}

/// When a world starts and how it moves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Epoch seconds at the start of warm-up.
    pub(crate) start: f64,
    /// Simulated seconds per tick.
    pub(crate) tick_seconds: f64,
    /// Where the history's backfill starts, epoch seconds; `None`: UTC midnight of the clock
    /// at the end of warm-up.
    pub(crate) history_start: Option<f64>,
}

/// How big a world to build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    pub(crate) agents: usize,
    pub(crate) queues: usize,
    pub(crate) routing_profiles: usize,
}

impl World {
    /// Builds the seeded world at `start` (epoch seconds) and warms it up, ending at
    /// `start + WARM_UP_TICKS × tick`, its history backfilled from that day's UTC midnight.
    #[cfg(test)]
    pub(crate) fn new(
        instance_id: &str,
        region: &str,
        account_id: &str,
        size: Size,
        seed: u64,
        start: f64,
        tick_seconds: f64,
    ) -> Self {
        let timing = Timing {
            start,
            tick_seconds,
            history_start: None,
        };
        Self::build(instance_id, region, account_id, size, seed, timing)
    }

    /// [`World::new`] with the history's backfill starting at `timing.history_start`.
    pub(crate) fn build(
        instance_id: &str,
        region: &str,
        account_id: &str,
        size: Size,
        seed: u64,
        timing: Timing,
    ) -> Self {
        let Timing {
            start,
            tick_seconds,
            history_start,
        } = timing;
        let mut rng = SimRng::seed_from_u64(seed);
        let instance_arn = format!("arn:aws:connect:{region}:{account_id}:instance/{instance_id}");
        let queues = build_queues(&mut rng, &instance_arn, size.queues);
        let served = pick_served_queues(&mut rng, size);
        let routing_profiles = build_routing_profiles(&mut rng, &instance_arn, &served, &queues);
        let agent_statuses = build_agent_statuses(&mut rng, &instance_arn);
        let hierarchy_groups = build_hierarchy_groups(&mut rng, &instance_arn);
        let mut scenario = Scenario {
            instance_id: instance_id.to_string(),
            instance_arn,
            queues,
            routing_profiles,
            agent_statuses,
            hierarchy_groups,
            agents: Vec::new(),
            waiting_contacts: Vec::new(),
            scheduled_contacts: Vec::new(),
        };
        scenario.agents = build_agents(&mut rng, &scenario, size.agents, start);
        let mut history = History::new(seed, &scenario, start);
        let clock = start + f64::from(WARM_UP_TICKS) * tick_seconds;
        let from = history_start.unwrap_or((clock / 86_400.0).floor() * 86_400.0);
        history.backfill(&scenario, from, start);

        let mut world = World {
            history,
            scenario,
            rng,
            backlog_rng: SimRng::seed_from_u64(seed ^ BACKLOG_SEED),
            now: start,
            tick_seconds,
            timers: Vec::new(),
            agent_profiles: Vec::new(),
            served_channels: None,
            agent_events: None,
        };
        for index in 0..world.scenario.agents.len() {
            update_slots(&mut world.scenario.agents[index]);
        }
        for _ in 0..WARM_UP_TICKS {
            world.step();
        }
        world
    }

    /// Opens the agent event stream now: from the next tick on, agents' changes are published
    /// to it (nothing for warm-up, which is over).
    pub(crate) fn enable_agent_events(
        &mut self,
        options: AgentEventStreamOptions,
        (region, account_id): (&str, &str),
        seed: u64,
    ) {
        let events = AgentEvents::new(
            options,
            &self.scenario,
            (region, account_id),
            seed,
            self.now,
        );
        self.agent_events = Some(Box::new(events));
    }

    /// Advances by whole ticks until the next tick would pass `now`. After a long pause it
    /// skips ahead rather than replaying hours of ticks.
    pub(crate) fn advance_to(&mut self, now: f64) {
        const MAX_CATCH_UP_TICKS: f64 = 600.0;
        let behind = ((now - self.now) / self.tick_seconds).floor();
        if behind > MAX_CATCH_UP_TICKS {
            let skipped_from = self.now;
            self.now += (behind - MAX_CATCH_UP_TICKS) * self.tick_seconds;
            self.history.skip(skipped_from, self.now);
        }
        while self.now + self.tick_seconds <= now {
            self.step();
        }
    }

    /// Drops what the ticks keep of the directory (profile indexes, served channels), to be
    /// worked out again at the next tick. Whatever adds or removes queues or profiles, or
    /// changes what a profile serves, calls it.
    fn directory_changed(&mut self) {
        self.agent_profiles.clear();
        self.served_channels = None;
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
        self.directory_changed();
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

    /// Deletes queue `id` as an administrator would (after taking it out of every routing
    /// profile): its routing-profile entries go, the contacts waiting in it or scheduled for it
    /// go, and so do the agents' contacts that came from it (the agents' slots follow), as do
    /// its records in the contact history, which has no name for it any more. False if there
    /// is no such queue.
    pub(crate) fn delete_queue(&mut self, id: &str) -> bool {
        let Some(index) = self.scenario.queues.iter().position(|q| q.id == id) else {
            return false;
        };
        self.directory_changed();
        let scenario = &mut self.scenario;
        scenario.queues.remove(index);
        for profile in &mut scenario.routing_profiles {
            profile.queues.retain(|entry| entry.queue_id != id);
        }
        scenario.waiting_contacts.retain(|c| c.queue_id != id);
        scenario.scheduled_contacts.retain(|c| c.queue_id != id);
        for agent in 0..self.scenario.agents.len() {
            if self.drop_contacts(agent, |contact| contact.queue_id == id) {
                update_slots(&mut self.scenario.agents[agent]);
            }
        }
        self.history.forget_queue(index as u32, id, &self.scenario);
        true
    }

    /// Deletes routing profile `id` if no agent has it (as Connect refuses to delete a
    /// profile that users have): false if some agent has it or there is no such profile.
    pub(crate) fn delete_routing_profile(&mut self, id: &str) -> bool {
        let scenario = &mut self.scenario;
        let Some(index) = scenario.routing_profiles.iter().position(|p| p.id == id) else {
            return false;
        };
        if scenario.agents.iter().any(|a| a.routing_profile_id == id) {
            return false;
        }
        self.directory_changed();
        self.scenario.routing_profiles.remove(index);
        self.history
            .forget_routing_profile(index as u32, &self.scenario);
        true
    }

    /// Drops agent `index`'s contacts for which `drop` holds, with their timers; true if any
    /// went.
    fn drop_contacts(&mut self, index: usize, drop: impl Fn(&Contact) -> bool) -> bool {
        let contacts = &mut self.scenario.agents[index].contacts;
        let mut timers = self.timers.get_mut(index);
        let mut dropped = false;
        for position in (0..contacts.len()).rev() {
            if !drop(&contacts[position]) {
                continue;
            }
            contacts.remove(position);
            if let Some(timers) = timers.as_mut().filter(|t| position < t.len()) {
                timers.remove(position);
            }
            dropped = true;
        }
        dropped
    }
}

/// `count` STANDARD queues, named after [`QUEUE_NAMES`] (numbered when there are more).
fn build_queues(rng: &mut SimRng, instance_arn: &str, count: usize) -> Vec<Queue> {
    (0..count)
        .map(|index| {
            let id = uuid(rng);
            let name = if count <= QUEUE_NAMES.len() {
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
        .collect()
}

/// For each routing profile, the indexes of the 1 to 4 queues it serves.
fn pick_served_queues(rng: &mut SimRng, size: Size) -> Vec<Vec<usize>> {
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
    let mut covered = vec![false; size.queues];
    for queue in served.iter().flatten() {
        covered[*queue] = true;
    }
    for (queue, covered) in covered.into_iter().enumerate() {
        if !covered {
            served[queue % size.routing_profiles].push(queue);
        }
    }
    served
}

/// One routing profile per entry of `served`, with random concurrency and priorities.
fn build_routing_profiles(
    rng: &mut SimRng,
    instance_arn: &str,
    served: &[Vec<usize>],
    queues: &[Queue],
) -> Vec<RoutingProfile> {
    served
        .iter()
        .enumerate()
        .map(|(index, queue_indexes)| {
            let id = uuid(rng);
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
        .collect()
}

/// One agent status per entry of [`STATUSES`].
fn build_agent_statuses(rng: &mut SimRng, instance_arn: &str) -> Vec<AgentStatus> {
    STATUSES
        .iter()
        .map(|(name, status_type)| {
            let id = uuid(rng);
            AgentStatus {
                arn: format!("{instance_arn}/agent-state/{id}"),
                id,
                name: (*name).into(),
                status_type: (*status_type).into(),
            }
        })
        .collect()
}

/// One hierarchy group per entry of [`HIERARCHY_GROUPS`].
fn build_hierarchy_groups(rng: &mut SimRng, instance_arn: &str) -> Vec<HierarchyGroup> {
    HIERARCHY_GROUPS
        .iter()
        .map(|name| {
            let id = uuid(rng);
            HierarchyGroup {
                arn: format!("{instance_arn}/agent-group/{id}"),
                id,
                name: (*name).into(),
            }
        })
        .collect()
}

/// `count` agents spread over the scenario's profiles, statuses and groups, idle, their
/// statuses begun within the hour before `start`.
fn build_agents(rng: &mut SimRng, scenario: &Scenario, count: usize, start: f64) -> Vec<Agent> {
    let instance_arn = &scenario.instance_arn;
    let routing_profiles = &scenario.routing_profiles;
    let agent_statuses = &scenario.agent_statuses;
    let hierarchy_groups = &scenario.hierarchy_groups;
    (0..count)
        .map(|index| {
            let id = uuid(rng);
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
        .collect()
}

/// The index into [`STATUSES`] for a roll of 0 to 99: about half the agents start Available.
fn initial_status(roll: u32) -> usize {
    match roll {
        0..=54 => 0,
        55..=74 => 1,
        75..=84 => 2,
        85..=94 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::world;

    #[test]
    fn same_seed_same_scenario_other_seed_other_scenario() {
        assert_eq!(world(3).scenario, world(3).scenario);
        assert_ne!(world(3).scenario, world(4).scenario);
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
