//! The agent event stream source: Kinesis records → [`AgentEvent`]s ([`record`]), repeated
//! deliveries recognised by `EventId` ([`RecentEventIds`]), and events → what they add to each
//! queue set ([`tally`]). The agents of a set are picked by the rule GetCurrentUserData's
//! filters use: the routing profile serves one of the set's queues (the event lists the
//! profile's queues), the routing profile is one of the set's, or the agent is in the set's
//! hierarchy group. Knows nothing of Kinesis calls, the scheduler or Prometheus.

mod recent_ids;
pub mod record;

pub use recent_ids::RecentEventIds;
pub use record::{decode, DecodeError};

use crate::model::agent_events::{AgentEvent, EventBatch, SetEventCounts};
use crate::model::{SetFilter, TargetKey};

/// Whether the agent of `event` belongs to a set that `filter` picks.
pub fn selects(filter: &SetFilter, event: &AgentEvent) -> bool {
    match filter {
        SetFilter::Queues(queues) => event
            .inbound_queue_ids
            .iter()
            .any(|queue| queues.contains(queue)),
        SetFilter::RoutingProfiles(profiles) => event
            .routing_profile_id
            .as_ref()
            .is_some_and(|profile| profiles.contains(profile)),
        SetFilter::HierarchyGroup(group) => event.hierarchy_group_ids.contains(group),
    }
}

/// What `events` add to each of `sets`; a set without a filter (its names did not resolve)
/// counts nothing, and a set no event selects is left out.
pub fn tally<'a>(
    sets: &[(TargetKey, Option<&SetFilter>)],
    events: impl IntoIterator<Item = &'a AgentEvent> + Clone,
) -> EventBatch {
    let mut batch = EventBatch::default();
    for (key, filter) in sets {
        let Some(filter) = filter else { continue };
        let mut counts = SetEventCounts::default();
        for event in events.clone() {
            if selects(filter, event) {
                counts.add(event);
            }
        }
        if !counts.is_empty() {
            batch.sets.push((key.clone(), counts));
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::agent_events::{AgentEventType, StatusChange};

    fn event(profile: &str, queues: &[&str], groups: &[&str]) -> AgentEvent {
        AgentEvent {
            event_id: format!("{profile}-e"),
            event_type: AgentEventType::StateChange,
            timestamp: 0.0,
            instance_id: "i".into(),
            routing_profile_id: Some(profile.into()),
            inbound_queue_ids: queues.iter().map(|q| q.to_string()).collect(),
            hierarchy_group_ids: groups.iter().map(|g| g.to_string()).collect(),
            status_change: Some(StatusChange {
                from: "Available".into(),
                to: "Break".into(),
                seconds_in_from: Some(10.0),
            }),
            contact_states_reached: vec![],
        }
    }

    fn key(set: &str) -> TargetKey {
        TargetKey {
            instance: "prod".into(),
            queue_set: set.into(),
        }
    }

    #[test]
    fn sets_take_the_agents_their_filter_picks() {
        let events = [
            event("rp-1", &["q-1", "q-2"], &["g-1"]),
            event("rp-2", &["q-3"], &["g-1", "g-2"]),
        ];
        let by_queue = SetFilter::Queues(vec!["q-2".into(), "q-3".into()]);
        let by_profile = SetFilter::RoutingProfiles(vec!["rp-2".into()]);
        let by_group = SetFilter::HierarchyGroup("g-2".into());
        let nobody = SetFilter::Queues(vec!["q-9".into()]);
        let sets = [
            (key("queues"), Some(&by_queue)),
            (key("profiles"), Some(&by_profile)),
            (key("group"), Some(&by_group)),
            (key("nobody"), Some(&nobody)),
            (key("unresolved"), None),
        ];
        let batch = tally(&sets, events.iter());
        let transitions = |set: &str| {
            batch
                .sets
                .iter()
                .find(|(of, _)| of.queue_set == set)
                .map(|(_, counts)| counts.transitions.values().sum::<u64>())
        };
        assert_eq!(transitions("queues"), Some(2));
        assert_eq!(transitions("profiles"), Some(1));
        assert_eq!(transitions("group"), Some(1));
        assert_eq!(transitions("nobody"), None);
        assert_eq!(transitions("unresolved"), None);
    }
}
