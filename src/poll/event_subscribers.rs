//! The instances an agent event stream's events go to, by instance ID: each with its queue
//! sets, resolved against its routing directory, and what events added to each set since the
//! last publish. Several instances can publish to one stream; it is read once for all.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::directory::DirectoryCache;
use super::queue_sets::{QueueSetTarget, ResolvedSets};
use crate::model::agent_events::{AgentEvent, EventBatch, SetEventCounts};
use crate::model::TargetKey;
use crate::sources::agent_events::tally;

/// One instance reading a stream.
pub(super) struct Subscriber {
    /// The instance's config name.
    pub(super) instance: String,
    /// Its queue sets.
    pub(super) sets: Vec<QueueSetTarget>,
    /// Its routing directory, which queue names and `queues: all` resolve against.
    pub(super) directory: Arc<DirectoryCache>,
}

struct SubscriberState {
    subscriber: Subscriber,
    resolved: ResolvedSets,
    /// What events added since the last [`Subscribers::take_pending`], by set.
    pending: BTreeMap<TargetKey, SetEventCounts>,
}

/// The subscribers of one stream, by the instance ID events name in `InstanceARN`.
#[derive(Default)]
pub(super) struct Subscribers {
    by_instance_id: Mutex<BTreeMap<String, SubscriberState>>,
}

impl Subscribers {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SubscriberState>> {
        self.by_instance_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the events of `instance_id` to `subscriber` from now on, in place of whoever
    /// had them (a restarted instance, whose counts not yet handed over carry over to its sets
    /// that remain).
    pub(super) fn insert(&self, instance_id: &str, subscriber: Subscriber) {
        let resolved = ResolvedSets::resolve(&subscriber.sets, None);
        let mut subscribers = self.lock();
        let mut pending = subscribers
            .remove(instance_id)
            .map(|replaced| replaced.pending)
            .unwrap_or_default();
        pending.retain(|key, _| subscriber.sets.iter().any(|set| set.key == *key));
        subscribers.insert(
            instance_id.to_string(),
            SubscriberState {
                subscriber,
                resolved,
                pending,
            },
        );
    }

    /// Stops sending events to the instance named `instance`; true when none is left.
    pub(super) fn remove_instance(&self, instance: &str) -> bool {
        let mut subscribers = self.lock();
        subscribers.retain(|_, state| state.subscriber.instance != instance);
        subscribers.is_empty()
    }

    /// The config names of the subscribed instances.
    pub(super) fn instances(&self) -> Vec<String> {
        self.lock()
            .values()
            .map(|state| state.subscriber.instance.clone())
            .collect()
    }

    /// Counts `events` into the sets of the instance each names; returns how many named an
    /// instance nobody here reads (another instance publishing to the same stream).
    pub(super) fn add(&self, events: &[AgentEvent]) -> usize {
        let mut subscribers = self.lock();
        let mut by_instance: BTreeMap<&str, Vec<&AgentEvent>> = BTreeMap::new();
        for event in events {
            by_instance
                .entry(event.instance_id.as_str())
                .or_default()
                .push(event);
        }
        let mut unclaimed = 0;
        for (instance_id, events) in by_instance {
            let Some(state) = subscribers.get_mut(instance_id) else {
                unclaimed += events.len();
                continue;
            };
            let directory = state.subscriber.directory.get().map(|(read, _)| read);
            if !state.resolved.is_for(directory.as_ref()) {
                state.resolved = ResolvedSets::resolve(&state.subscriber.sets, directory);
            }
            let sets: Vec<(TargetKey, Option<&crate::model::SetFilter>)> = state
                .subscriber
                .sets
                .iter()
                .zip(state.resolved.sets())
                .map(|(set, resolved)| {
                    let filter = resolved.error.is_none().then_some(&resolved.filter);
                    (set.key.clone(), filter)
                })
                .collect();
            let batch = tally(&sets, events.iter().copied());
            for (key, counts) in batch.sets {
                state.pending.entry(key).or_default().merge(&counts);
            }
        }
        unclaimed
    }

    /// What events added since the last call, by instance; instances without any are left
    /// out.
    pub(super) fn take_pending(&self) -> Vec<(String, EventBatch)> {
        self.lock()
            .values_mut()
            .filter(|state| !state.pending.is_empty())
            .map(|state| {
                let sets = std::mem::take(&mut state.pending).into_iter().collect();
                (state.subscriber.instance.clone(), EventBatch { sets })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentSelector;
    use crate::model::agent_events::{AgentEventType, StatusChange};

    fn subscriber(instance: &str, queues: &[&str]) -> Subscriber {
        Subscriber {
            instance: instance.into(),
            sets: vec![QueueSetTarget {
                key: TargetKey {
                    instance: instance.into(),
                    queue_set: "support".into(),
                },
                queue_ids: queues.iter().map(|q| q.to_string()).collect(),
                queue_names: vec![],
                discovery: None,
                selector: AgentSelector::Queues,
                intraday: false,
                service_level_thresholds: vec![],
                service_level_target: None,
            }],
            directory: Arc::new(DirectoryCache::new()),
        }
    }

    fn event(instance_id: &str, queue: &str) -> AgentEvent {
        AgentEvent {
            event_id: "e".into(),
            event_type: AgentEventType::Login,
            timestamp: 0.0,
            instance_id: instance_id.into(),
            routing_profile_id: Some("rp".into()),
            inbound_queue_ids: vec![queue.into()],
            hierarchy_group_ids: vec![],
            status_change: Some(StatusChange {
                from: "Offline".into(),
                to: "Available".into(),
                seconds_in_from: None,
            }),
            contact_states_reached: vec![],
        }
    }

    #[test]
    fn events_go_to_the_instance_they_name_and_are_taken_once() {
        let subscribers = Subscribers::default();
        subscribers.insert("id-a", subscriber("a", &["q1"]));
        subscribers.insert("id-b", subscriber("b", &["q2"]));
        let events = [
            event("id-a", "q1"),
            event("id-a", "q1"),
            event("id-b", "q9"),
            event("id-other", "q1"),
        ];
        assert_eq!(
            subscribers.add(&events),
            1,
            "one event of an unread instance"
        );
        let pending = subscribers.take_pending();
        assert_eq!(pending.len(), 1, "b's event is of no set of b's");
        let (instance, batch) = &pending[0];
        assert_eq!(instance, "a");
        assert_eq!(batch.sets[0].1.logins, 2);
        assert!(subscribers.take_pending().is_empty());
        assert!(!subscribers.remove_instance("a"));
        assert!(subscribers.remove_instance("b"));
    }
}
