//! The `EventId`s read lately, to drop the repeats of an at-least-once stream.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

/// The last `capacity` event IDs seen, oldest forgotten first. Kinesis repeats a record when
/// a producer retries a put, seconds apart, so a window of recent IDs finds the repeats
/// without keeping every ID ever read.
#[derive(Debug)]
pub struct RecentEventIds {
    capacity: usize,
    seen: FxHashSet<u128>,
    order: VecDeque<u128>,
}

impl RecentEventIds {
    /// Remembers at most `capacity` IDs (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            seen: FxHashSet::default(),
            order: VecDeque::new(),
        }
    }

    /// True the first time `event_id` is offered within the window, false for a repeat.
    pub fn first_time(&mut self, event_id: &str) -> bool {
        let key = id_key(event_id);
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
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
        let mut recent = RecentEventIds::new(2);
        let a = "477f2c4f-cd1a-4785-b1a8-d1fb44129c4e";
        assert!(recent.first_time(a));
        assert!(!recent.first_time(a));
        assert!(recent.first_time("not-a-uuid"));
        assert!(!recent.first_time("not-a-uuid"));
        assert!(recent.first_time("another"));
        // `a` fell out of the window of two.
        assert!(recent.first_time(a));
    }
}
