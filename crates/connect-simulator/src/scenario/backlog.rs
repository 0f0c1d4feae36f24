//! The queue backlog: contacts waiting in queues and scheduled callbacks. It moves on its own
//! random sequence, so that it changes none of the agents' history for a given seed.

use std::collections::HashSet;

use rand::Rng;

use super::{uuid, QueuedContact, Scenario, World};
use super::{
    CALLBACK_DUE_PROBABILITY, CALLBACK_SCHEDULE_PROBABILITY, METRIC_CHANNELS,
    QUEUE_ARRIVAL_PROBABILITY, QUEUE_DEPARTURE_PROBABILITY,
};

/// Mixed into the seed for the backlog's own random sequence ("backlog" in ASCII).
pub(super) const BACKLOG_SEED: u64 = 0x0062_6163_6b6c_6f67;

impl World {
    /// serves, never per agent, so that it stays cheap with thousands of agents and queues.
    pub(super) fn step_backlog(&mut self, now: f64) {
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
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::super::test_support::{demo_world, world};
    use super::*;

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
}
