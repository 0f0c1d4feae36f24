//! One tick of the agents' state machine: contacts progress, statuses change, new contacts are
//! offered, slots follow. All draws come from the world's main sequence, agent by agent.

use std::collections::HashMap;

use rand::Rng;

use super::{occupies_slot, ticks, update_slots, uuid, Contact, RoutingProfileQueue, World};
use super::{ARRIVAL_PROBABILITY, MISS_PROBABILITY, REJECT_PROBABILITY};

impl World {
    /// One tick: contacts progress, statuses change, new contacts arrive, slots follow.
    pub(crate) fn step(&mut self) {
        self.now += self.tick_seconds;
        let now = self.now;
        self.refresh_agent_profiles();
        self.timers
            .resize_with(self.scenario.agents.len(), Vec::new);
        for index in 0..self.scenario.agents.len() {
            let mut changed = self.progress_contacts(index, now);
            changed |= self.change_status(index, now);
            if let Some(profile) = self.agent_profiles[index] {
                changed |= self.offer_contacts(index, profile, now);
            }
            // The slots follow from the contacts and the status alone: an agent whose contacts
            // and status stayed as they were keeps its slots (working them out for every agent
            // was a fifth of a tick at 10,000 agents).
            if changed {
                update_slots(&mut self.scenario.agents[index]);
            }
        }
        self.step_backlog(now);
        self.history.observe(&self.scenario, now);
        if let Some(events) = self.agent_events.as_mut() {
            events.observe(&self.scenario, now);
        }
    }

    /// Brings [`World::agent_profiles`] in line with the agents: built once, and again after a
    /// change to the directory (which empties it) or when agents were added.
    fn refresh_agent_profiles(&mut self) {
        let agents = &self.scenario.agents;
        if self.agent_profiles.len() == agents.len() {
            return;
        }
        let by_id: HashMap<&str, usize> = self
            .scenario
            .routing_profiles
            .iter()
            .enumerate()
            .map(|(index, profile)| (profile.id.as_str(), index))
            .collect();
        self.agent_profiles = agents
            .iter()
            .map(|agent| by_id.get(agent.routing_profile_id.as_str()).copied())
            .collect();
    }

    /// Moves each of the agent's contacts whose timer ran out to its next state; contacts past
    /// their last state leave the agent. True when a contact changed.
    fn progress_contacts(&mut self, agent_index: usize, now: f64) -> bool {
        let agent = &mut self.scenario.agents[agent_index];
        let timers = &mut self.timers[agent_index];
        // A contact without a timer moves on at this tick.
        timers.resize(agent.contacts.len(), 1);
        let mut changed = false;
        let mut finished = Vec::new();
        for (position, (contact, timer)) in
            agent.contacts.iter_mut().zip(timers.iter_mut()).enumerate()
        {
            *timer = timer.saturating_sub(1);
            if *timer > 0 {
                continue;
            }
            let rng = &mut self.rng;
            let (next, duration) = match contact.state.as_str() {
                "INCOMING" => ("CONNECTING", ticks(rng, 1, 2)),
                "CONNECTING" if rng.random_bool(MISS_PROBABILITY) => ("MISSED", ticks(rng, 3, 5)),
                "CONNECTING"
                    if contact.channel != "VOICE" && rng.random_bool(REJECT_PROBABILITY) =>
                {
                    ("REJECTED", ticks(rng, 2, 3))
                }
                "CONNECTING" => ("CONNECTED", ticks(rng, 10, 60)),
                "CONNECTED" if contact.channel == "VOICE" && rng.random_bool(0.15) => {
                    ("CONNECTED_ONHOLD", ticks(rng, 2, 8))
                }
                "CONNECTED" => ("ENDED", ticks(rng, 3, 8)),
                "CONNECTED_ONHOLD" => ("CONNECTED", ticks(rng, 5, 20)),
                _ => {
                    finished.push(position);
                    continue;
                }
            };
            if next == "CONNECTED" && contact.connected_to_agent.is_none() {
                contact.connected_to_agent = Some(now);
            }
            contact.state = next.to_string();
            contact.state_start = now;
            *timer = duration;
            changed = true;
        }
        for position in finished.iter().rev() {
            agent.contacts.remove(*position);
            timers.remove(*position);
        }
        changed || !finished.is_empty()
    }

    /// Changes the agent's status now and then: only between contacts, or as a next status for
    /// when its contacts are done, as Connect does. True when the status changed.
    fn change_status(&mut self, agent_index: usize, now: f64) -> bool {
        let statuses = &self.scenario.agent_statuses;
        let agent = &mut self.scenario.agents[agent_index];
        let target = if agent.contacts.is_empty() {
            match agent.next_status.take() {
                Some(next) => Some(next),
                None if agent.status_name == "Available" && self.rng.random_bool(0.01) => Some(
                    ["Break", "Lunch", "Training", "Offline"][self.rng.random_range(0..4)]
                        .to_string(),
                ),
                // Breaks end within minutes; logged-off agents stay away far longer, so about
                // a third of the agents are Offline at any time, as in a real centre.
                None if agent.status_name != "Available"
                    && self.rng.random_bool(if agent.status_name == "Offline" {
                        0.005
                    } else {
                        0.04
                    }) =>
                {
                    Some("Available".to_string())
                }
                None => None,
            }
        } else {
            if agent.next_status.is_none()
                && agent.status_name == "Available"
                && self.rng.random_bool(0.005)
            {
                agent.next_status =
                    Some(["Break", "Lunch"][self.rng.random_range(0..2)].to_string());
            }
            None
        };
        let status = target.and_then(|name| statuses.iter().find(|status| status.name == name));
        if let Some(status) = status {
            agent.status_name = status.name.clone();
            agent.status_arn = status.arn.clone();
            agent.status_start = now;
        }
        status.is_some()
    }

    /// Offers an Available agent new contacts on the channels it has a free slot on. True when
    /// it was offered one.
    fn offer_contacts(&mut self, agent_index: usize, profile_index: usize, now: f64) -> bool {
        let profile = &self.scenario.routing_profiles[profile_index];
        let agent = &mut self.scenario.agents[agent_index];
        let offered = agent.contacts.len();
        if agent.status_name != "Available" || agent.next_status.is_some() {
            return false;
        }
        for (channel, max) in &profile.concurrency {
            let mut active = 0;
            for contact in &agent.contacts {
                if &contact.channel == channel && occupies_slot(&contact.state) {
                    active += 1;
                }
            }
            if active >= *max || !self.rng.random_bool(ARRIVAL_PROBABILITY) {
                continue;
            }
            let queues: Vec<&RoutingProfileQueue> = profile
                .queues
                .iter()
                .filter(|q| &q.channel == channel)
                .collect();
            if queues.is_empty() {
                continue;
            }
            let queue_id = queues[self.rng.random_range(0..queues.len())]
                .queue_id
                .clone();
            let method = match self.rng.random_range(0..100) {
                0..=74 => "INBOUND",
                75..=84 => "TRANSFER",
                85..=89 => "CALLBACK",
                90..=94 if channel == "TASK" => "API",
                90..=94 => "OUTBOUND",
                _ => "QUEUE_TRANSFER",
            };
            let (state, duration) = if channel == "VOICE" && self.rng.random_bool(0.5) {
                ("INCOMING", ticks(&mut self.rng, 1, 2))
            } else {
                ("CONNECTING", ticks(&mut self.rng, 1, 3))
            };
            self.timers[agent_index].push(duration);
            agent.contacts.push(Contact {
                contact_id: uuid(&mut self.rng),
                channel: channel.clone(),
                initiation_method: method.into(),
                state: state.into(),
                state_start: now,
                connected_to_agent: None,
                queue_id,
            });
        }
        agent.contacts.len() > offered
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::world;
    use super::super::STATUSES;
    use super::*;

    #[test]
    fn slots_stay_consistent_with_contacts_and_status() {
        let mut world = world(5);
        for _ in 0..300 {
            world.step();
            for agent in &world.scenario.agents {
                for (channel, max) in &agent.max_slots {
                    let active = agent
                        .contacts
                        .iter()
                        .filter(|c| &c.channel == channel && occupies_slot(&c.state))
                        .count() as i32;
                    assert_eq!(agent.active_slots[channel], active);
                    assert!(
                        active <= *max,
                        "{} over capacity on {channel}",
                        agent.username
                    );
                    let available = if agent.status_name == "Available" {
                        max - active
                    } else {
                        0
                    };
                    assert_eq!(agent.available_slots[channel], available);
                }
            }
        }
    }

    #[test]
    fn every_contact_state_and_status_occurs() {
        let mut world = world(6);
        let mut states = std::collections::BTreeSet::new();
        let mut statuses = std::collections::BTreeSet::new();
        let mut next_status_seen = false;
        for _ in 0..600 {
            world.step();
            for agent in &world.scenario.agents {
                statuses.insert(agent.status_name.clone());
                next_status_seen |= agent.next_status.is_some();
                for contact in &agent.contacts {
                    states.insert(contact.state.clone());
                }
            }
        }
        for state in [
            "INCOMING",
            "CONNECTING",
            "CONNECTED",
            "CONNECTED_ONHOLD",
            "ENDED",
            "MISSED",
            "REJECTED",
        ] {
            assert!(states.contains(state), "{state} never occurred: {states:?}");
        }
        assert_eq!(statuses.len(), STATUSES.len(), "{statuses:?}");
        assert!(next_status_seen);
    }
}
