//! How much a group of counters rose over the last minutes: the wallboard's "missed in the
//! last 15 minutes", from a small ring of (round time, cumulative rise) kept per queue set.
//!
//! Prometheus answers this with `increase()` over stored samples; the exporter keeps no
//! history, so it remembers the rise of each round instead. A round's rise is, per series,
//! what its total gained since the last round; a series that ends (its counter TTL ran out)
//! or comes back at 0 never makes the rise negative, as a counter reset would not in
//! `increase()`.

use std::collections::{BTreeMap, VecDeque};

/// The window of the wallboard's missed-contacts cell, in seconds.
pub const WINDOW_SECONDS: f64 = 15.0 * 60.0;
/// The most rounds remembered: 15 minutes of rounds at the shortest poll interval (1 s) fit
/// in 900. Past it the oldest go and the window is a little shorter than 15 minutes.
pub const MAX_ROUNDS: usize = 1024;

/// The rise of a group of counters, round by round, for [`WINDOW_SECONDS`].
#[derive(Debug, Clone, Default)]
pub struct RecentIncrease {
    /// Each series' total at the last round.
    last: BTreeMap<(String, String), u64>,
    /// The rise of every round since the exporter started.
    cumulative: u64,
    /// (round time, `cumulative` after it), oldest first. At most one entry older than the
    /// window is kept: the one the window's rise is measured from.
    rounds: VecDeque<(f64, u64)>,
    /// `cumulative` before the oldest entry of `rounds`.
    floor: u64,
}

impl RecentIncrease {
    /// Records the round at `at` (epoch seconds) whose counters stand at `totals`.
    pub fn observe(&mut self, at: f64, totals: BTreeMap<(String, String), u64>) {
        let rise: u64 = totals
            .iter()
            .map(|(series, total)| {
                total.saturating_sub(self.last.get(series).copied().unwrap_or(0))
            })
            .sum();
        self.cumulative = self.cumulative.saturating_add(rise);
        self.last = totals;
        self.rounds.push_back((at, self.cumulative));
        let start = at - WINDOW_SECONDS;
        // Entries before the newest one at or before the window's start measure nothing.
        while self.rounds.len() > 1 && self.rounds[1].0 <= start {
            self.drop_oldest();
        }
        while self.rounds.len() > MAX_ROUNDS {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some((_, cumulative)) = self.rounds.pop_front() {
            self.floor = cumulative;
        }
    }

    /// The rise of the rounds within [`WINDOW_SECONDS`] of the latest round (its own included);
    /// 0 before any round.
    pub fn in_window(&self) -> u64 {
        let Some(&(now, cumulative)) = self.rounds.back() else {
            return 0;
        };
        let baseline = match self.rounds.front() {
            Some(&(at, before)) if at <= now - WINDOW_SECONDS => before,
            _ => self.floor,
        };
        cumulative - baseline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(pairs: &[(&str, u64)]) -> BTreeMap<(String, String), u64> {
        pairs
            .iter()
            .map(|(queue, total)| ((queue.to_string(), "voice".to_string()), *total))
            .collect()
    }

    #[test]
    fn counts_the_rise_of_the_rounds_of_the_last_15_minutes() {
        let mut recent = RecentIncrease::default();
        assert_eq!(recent.in_window(), 0);
        // Totals are published at 0 by the round that creates them.
        recent.observe(0.0, totals(&[("q1", 0)]));
        assert_eq!(recent.in_window(), 0);
        recent.observe(60.0, totals(&[("q1", 2), ("q2", 0)]));
        recent.observe(120.0, totals(&[("q1", 3), ("q2", 4)]));
        assert_eq!(recent.in_window(), 7, "everything since the start");
        // At 960 the window starts at 60: the rounds after it count, the one at 60 does not.
        recent.observe(960.0, totals(&[("q1", 3), ("q2", 5)]));
        assert_eq!(recent.in_window(), 6, "5 at 120 and 1 at 960");
        recent.observe(1_100.0, totals(&[("q1", 3), ("q2", 5)]));
        assert_eq!(
            recent.in_window(),
            1,
            "only the round at 960 is left in the window"
        );
        recent.observe(2_000.0, totals(&[("q1", 3), ("q2", 5)]));
        assert_eq!(recent.in_window(), 0);
    }

    #[test]
    fn a_series_that_ends_or_restarts_at_zero_never_lowers_the_rise() {
        let mut recent = RecentIncrease::default();
        recent.observe(0.0, totals(&[("q1", 0), ("q2", 0)]));
        recent.observe(10.0, totals(&[("q1", 5), ("q2", 1)]));
        // q1's total ended (its TTL ran out) and came back at 0, then counted 2.
        recent.observe(20.0, totals(&[("q2", 1)]));
        recent.observe(30.0, totals(&[("q1", 0), ("q2", 1)]));
        recent.observe(40.0, totals(&[("q1", 2), ("q2", 1)]));
        assert_eq!(recent.in_window(), 8);
    }

    #[test]
    fn the_ring_stays_bounded_and_measures_from_what_it_kept() {
        let mut recent = RecentIncrease::default();
        for round in 0..3_000u64 {
            // A round every 0.1 s: the window would hold 9,000 rounds; the ring keeps 1,024.
            recent.observe(round as f64 / 10.0, totals(&[("q1", round)]));
        }
        assert_eq!(recent.rounds.len(), MAX_ROUNDS);
        assert_eq!(recent.in_window(), MAX_ROUNDS as u64);
    }
}
