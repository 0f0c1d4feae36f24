//! The `EventId`s read lately, to drop the repeats of an at-least-once stream.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

/// The event IDs seen lately: at most `capacity`, none whose event is more than `window`
/// seconds older than the newest, oldest forgotten first. Kinesis repeats a record when a
/// producer retries a put, seconds apart, so a window of recent IDs finds the repeats without
/// keeping every ID ever read (a small centre's heartbeats would otherwise fill it over days).
#[derive(Debug)]
pub struct RecentEventIds {
    capacity: usize,
    window: f64,
    seen: FxHashSet<u128>,
    /// IDs with their event's time, in the order they were first seen.
    order: VecDeque<(u128, f64)>,
}

impl RecentEventIds {
    /// Remembers at most `capacity` IDs (at least one) of events at most `window` seconds
    /// older than the newest.
    pub fn new(capacity: usize, window: f64) -> Self {
        Self {
            capacity: capacity.max(1),
            window,
            seen: FxHashSet::default(),
            order: VecDeque::new(),
        }
    }

    /// True the first time `event_id` (of an event at `at`, epoch seconds) is offered within
    /// the window, false for a repeat.
    pub fn first_time(&mut self, event_id: &str, at: f64) -> bool {
        let key = id_key(event_id);
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back((key, at));
        while let Some((oldest, oldest_at)) = self.order.front().copied() {
            if self.order.len() <= self.capacity && oldest_at >= at - self.window {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&oldest);
        }
        true
    }

    /// How many IDs are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// A UUID as its 128 bits; anything else (not expected) as two independent 64-bit hashes, so
/// that a collision needs both to agree.
fn id_key(event_id: &str) -> u128 {
    let hex: String = event_id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        if let Ok(value) = u128::from_str_radix(&hex, 16) {
            return value;
        }
    }
    use std::hash::{BuildHasher, Hasher};
    let hash = |seed: u64| {
        let mut hasher = rustc_hash::FxBuildHasher.build_hasher();
        hasher.write_u64(seed);
        hasher.write(event_id.as_bytes());
        hasher.finish()
    };
    (u128::from(hash(1)) << 64) | u128::from(hash(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_within_the_window_are_dropped_and_old_ids_forgotten() {
        let mut recent = RecentEventIds::new(2, 600.0);
        let a = "477f2c4f-cd1a-4785-b1a8-d1fb44129c4e";
        assert!(recent.first_time(a, 0.0));
        assert!(!recent.first_time(a, 1.0));
        assert!(recent.first_time("not-a-uuid", 2.0));
        assert!(!recent.first_time("not-a-uuid", 3.0));
        assert!(recent.first_time("another", 4.0));
        // `a` fell out of the window of two.
        assert!(recent.first_time(a, 5.0));
    }

    #[test]
    fn ids_of_events_older_than_the_window_are_forgotten() {
        let mut recent = RecentEventIds::new(1000, 600.0);
        for n in 0..10 {
            assert!(recent.first_time(&format!("e{n}"), f64::from(n)));
        }
        assert_eq!(recent.len(), 10);
        // Ten minutes and a second after e0: e0 and e1 go.
        assert!(recent.first_time("late", 601.5));
        assert_eq!(recent.len(), 9);
        assert!(recent.first_time("e0", 602.0), "forgotten, so new again");
    }
}
