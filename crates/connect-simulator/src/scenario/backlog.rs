//! The queue backlog: contacts waiting in queues and scheduled callbacks. It moves on its own
//! random sequence, so that it changes none of the agents' history for a given seed.

use std::collections::HashMap;

use rand::Rng;

use super::{uuid, Queue, QueuedContact, RoutingProfile, Scenario, World};
use super::{
    CALLBACK_DUE_PROBABILITY, CALLBACK_SCHEDULE_PROBABILITY, METRIC_CHANNELS,
    QUEUE_ARRIVAL_PROBABILITY, QUEUE_DEPARTURE_PROBABILITY,
};

/// Mixed into the seed for the backlog's own random sequence ("backlog" in ASCII).
pub(super) const BACKLOG_SEED: u64 = 0x0062_6163_6b6c_6f67;

impl World {
    /// Moves the backlog on one tick: departures, then arrivals in every (queue, channel) a
    /// profile serves, never per agent, so that it stays cheap with thousands of agents and
    /// queues.
    pub(super) fn step_backlog(&mut self, now: f64) {
        let World {
            scenario,
            backlog_rng: rng,
            served_channels,
            tick_seconds,
            ..
        } = self;
        let Scenario {
            queues,
            routing_profiles,
            waiting_contacts,
            scheduled_contacts,
            ..
        } = scenario;
        // Departures first, so that every contact waits at least until the next tick.
        waiting_contacts.retain(|_| !rng.random_bool(QUEUE_DEPARTURE_PROBABILITY));
        scheduled_contacts.retain(|_| !rng.random_bool(CALLBACK_DUE_PROBABILITY));
        // Kept from tick to tick; every change to the directory drops it, so that queues added
        // later join in once a profile serves them.
        let served = match served_channels {
            Some(served) if served.len() == queues.len() => served,
            _ => served_channels.insert(served_channel_masks(queues, routing_profiles)),
        };
        for (queue, mask) in queues.iter().zip(served.iter()) {
            for (bit, channel) in METRIC_CHANNELS.into_iter().enumerate() {
                if mask & (1 << bit) == 0 {
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
                    let arrived = now - rng.random_range(0.0..*tick_seconds);
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

/// For each queue, the [`METRIC_CHANNELS`] some routing profile serves it on, as bits.
fn served_channel_masks(queues: &[Queue], routing_profiles: &[RoutingProfile]) -> Vec<u8> {
    let index: HashMap<&str, usize> = queues
        .iter()
        .enumerate()
        .map(|(index, queue)| (queue.id.as_str(), index))
        .collect();
    let mut masks = vec![0u8; queues.len()];
    for entry in routing_profiles.iter().flat_map(|profile| &profile.queues) {
        let bit = METRIC_CHANNELS.iter().position(|c| *c == entry.channel);
        if let (Some(queue), Some(bit)) = (index.get(entry.queue_id.as_str()), bit) {
            masks[*queue] |= 1 << bit;
        }
    }
    masks
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::super::test_support::{demo_world, world};
    use super::*;
    use crate::rng::SimRng;

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
        without.backlog_rng = SimRng::seed_from_u64(99);
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
