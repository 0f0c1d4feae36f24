//! The totals of the agent event families since the exporter started: per queue set what the
//! events added up to, and per stream its reader's health. Kept between publishes because
//! counters and histograms only grow; dropped with their set or stream.

use std::collections::{BTreeMap, BTreeSet};

use super::families::agent_events::{write_set_families, write_stream_families, SetTotals};
use super::store::TargetState;
use super::text_format::{Segment, TextWriter};
use crate::model::agent_events::{EventBatch, SetEventCounts, StreamHealth};
use crate::model::TargetKey;

/// Everything the event families publish.
#[derive(Debug, Default)]
pub(super) struct EventTotals {
    /// Totals by queue set: every set of an instance whose stream is read, from its first
    /// hand-over on (logins and logouts start at 0, so that the first event is an increase).
    pub(super) sets: BTreeMap<TargetKey, SetEventCounts>,
    /// The last health of each stream read, by name.
    pub(super) streams: BTreeMap<String, StreamHealth>,
}

impl EventTotals {
    /// Adds a stream's hand-over; `sets_of` gives the configured sets of an instance. Returns
    /// the instances whose totals it touched.
    pub(super) fn apply(
        &mut self,
        health: StreamHealth,
        batches: Vec<(String, EventBatch)>,
        sets_of: impl Fn(&str) -> Vec<TargetKey>,
    ) -> BTreeSet<String> {
        let mut touched = BTreeSet::new();
        for instance in &health.instances {
            for key in sets_of(instance) {
                if let std::collections::btree_map::Entry::Vacant(entry) = self.sets.entry(key) {
                    entry.insert(SetEventCounts::default());
                    touched.insert(instance.clone());
                }
            }
        }
        for (instance, batch) in batches {
            for (key, counts) in batch.sets {
                // A set removed by a reload while its events were on their way.
                if let Some(totals) = self.sets.get_mut(&key) {
                    totals.merge(&counts);
                    touched.insert(instance.clone());
                }
            }
        }
        self.streams.insert(health.stream.clone(), health);
        touched
    }

    /// Keeps the totals of `keys` whose instance reads a stream (`instances`) and the health
    /// of `streams`; the rest end with their set, instance or stream.
    pub(super) fn retain(
        &mut self,
        keys: &[TargetKey],
        instances: &BTreeSet<String>,
        streams: &BTreeSet<String>,
    ) {
        self.sets
            .retain(|key, _| keys.contains(key) && instances.contains(&key.instance));
        self.streams.retain(|name, _| streams.contains(name));
    }
}

impl EventTotals {
    /// The event families of `instance`'s sets, their queues labelled as `targets` label
    /// them; `None` when it reads no stream (or has not heard from it yet).
    pub(super) fn encode_instance(
        &self,
        targets: &BTreeMap<TargetKey, TargetState>,
        instance: &str,
        mut writer: TextWriter,
    ) -> Option<Segment> {
        let sets: Vec<SetTotals<'_>> = self
            .sets
            .iter()
            .filter(|(key, _)| key.instance == instance)
            .map(|(key, counts)| SetTotals {
                key,
                counts,
                names: targets.get(key).and_then(|state| state.names.as_deref()),
            })
            .collect();
        if sets.is_empty() {
            return None;
        }
        write_set_families(&mut writer, &sets);
        Some(writer.into_segment())
    }

    /// The health families of every stream read; `None` when none is.
    pub(super) fn encode_streams(&self, mut writer: TextWriter) -> Option<Segment> {
        if self.streams.is_empty() {
            return None;
        }
        write_stream_families(&mut writer, &self.streams);
        Some(writer.into_segment())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(instance: &str, set: &str) -> TargetKey {
        TargetKey {
            instance: instance.into(),
            queue_set: set.into(),
        }
    }

    #[test]
    fn sets_start_at_zero_and_add_up_and_end_with_their_configuration() {
        let mut totals = EventTotals::default();
        let health = StreamHealth {
            stream: "s".into(),
            instances: vec!["a".into()],
            ..StreamHealth::default()
        };
        let sets_of = |instance: &str| vec![key(instance, "one"), key(instance, "two")];
        let touched = totals.apply(health.clone(), Vec::new(), sets_of);
        assert_eq!(touched, BTreeSet::from(["a".to_string()]));
        assert_eq!(totals.sets.len(), 2);
        let batch = EventBatch {
            sets: vec![(
                key("a", "one"),
                SetEventCounts {
                    logins: 2,
                    ..SetEventCounts::default()
                },
            )],
        };
        totals.apply(health.clone(), vec![("a".into(), batch.clone())], sets_of);
        totals.apply(health, vec![("a".into(), batch)], sets_of);
        assert_eq!(totals.sets[&key("a", "one")].logins, 4);
        assert_eq!(totals.sets[&key("a", "two")].logins, 0);
        totals.retain(
            &[key("a", "two")],
            &BTreeSet::from(["a".to_string()]),
            &BTreeSet::new(),
        );
        assert_eq!(totals.sets.keys().collect::<Vec<_>>(), [&key("a", "two")]);
        assert!(totals.streams.is_empty());
    }
}
