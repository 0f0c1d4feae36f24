//! The series limit of a queue set: data series are written most useful first and counted;
//! once a set reaches its `series_limit` the rest are counted instead of written, and
//! per-agent series are left out whole rather than cut partway.

use crate::model::TargetKey;

use super::families::SET;
use super::store::TargetState;
use super::summary::Summary;
use super::text_format::{Family, Kind, TextWriter};

/// What a queue set publishes beyond the aggregates, and how much it may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesOptions {
    /// Series per agent (`amazon_connect_per_agent_*`).
    pub agent_series: bool,
    /// Most data series of one queue set; the rest are dropped and counted.
    pub series_limit: usize,
    /// How long a contact total whose queue and channel appear in no poll is kept.
    pub counter_ttl: std::time::Duration,
}

impl Default for SeriesOptions {
    fn default() -> Self {
        Self {
            agent_series: false,
            series_limit: crate::config::DEFAULT_SERIES_LIMIT,
            counter_ttl: crate::config::DEFAULT_COUNTER_TTL,
        }
    }
}

/// Data series written and dropped for one target in the exposition being built.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeriesCount {
    pub(super) limit: usize,
    pub(super) written: usize,
    pub(super) dropped: usize,
    /// The target's per-agent series do not fit in what the limit leaves: all are left out,
    /// rather than those of whichever agents the API happened to list last (which would
    /// change from round to round).
    pub(super) agents_left_out: bool,
    /// What `written` was after the aggregates and the backlog, before the intraday series
    /// (written by their own segment) and per-agent series.
    pub(super) realtime: usize,
}

/// One family's samples of one target, within the target's series limit: once the limit is
/// reached, samples are counted instead of written.
pub(super) struct TargetSamples<'f, 'w> {
    family: &'f mut Family<'w>,
    count: &'f mut SeriesCount,
}

impl TargetSamples<'_, '_> {
    /// Whether the target's per-agent series are left out this time.
    pub(super) fn agents_left_out(&self) -> bool {
        self.count.agents_left_out
    }

    pub(super) fn sample(&mut self, label_values: &[&str], value: f64) {
        if self.count.written < self.count.limit {
            self.family.sample(label_values, value);
            self.count.written += 1;
        } else {
            self.count.dropped += 1;
        }
    }
}

/// Writes one data family: `write` is called for every target with data (a successful last
/// poll), with the target's labels, summary and state; `counts` (one per target, in order)
/// keep each target within its series limit.
pub(super) fn data_family(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
    (name, help, kind, labels): (&'static str, &str, Kind, &'static [&'static str]),
    mut write: impl FnMut(&mut TargetSamples<'_, '_>, [&str; 2], &Summary, &TargetState),
) {
    let mut family = writer.family(name, help, kind, labels);
    for ((key, state), count) in targets.iter().zip(counts.iter_mut()) {
        if let Some(summary) = &state.summary {
            let set = [key.instance.as_str(), key.queue_set.as_str()];
            let mut samples = TargetSamples {
                family: &mut family,
                count,
            };
            write(&mut samples, set, summary, state);
        }
    }
}

/// Warns when a target starts to drop series at its limit, and says when it stops.
pub(super) fn log_series_limit(key: &TargetKey, dropped_before: usize, count: &SeriesCount) {
    if count.dropped > 0 && dropped_before == 0 {
        tracing::warn!(
            connect_instance = %key.instance,
            queue_set = %key.queue_set,
            series_limit = count.limit,
            dropped = count.dropped,
            "the queue set has more data series than its series_limit; the rest (per-agent series first) are left out and counted in amazon_connect_exporter_series_dropped"
        );
    } else if count.dropped == 0 && dropped_before > 0 {
        tracing::info!(
            connect_instance = %key.instance,
            queue_set = %key.queue_set,
            series = count.written,
            "the queue set fits in its series_limit again"
        );
    }
}

/// How many data series each target published and how many its series limit dropped.
pub(super) fn write_series_counts(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &[SeriesCount],
) {
    type CountOf = fn(&SeriesCount) -> usize;
    let families: [(&'static str, &str, CountOf); 2] = [
        (
            "amazon_connect_exporter_series",
            "Data series the queue set publishes (self-metrics not counted); at most its series_limit.",
            |count| count.written,
        ),
        (
            "amazon_connect_exporter_series_dropped",
            "Data series of the queue set left out of the last exposition because they would pass its series_limit (per-agent series go first). Not 0: raise series_limit, split the set or turn agent_series off.",
            |count| count.dropped,
        ),
    ];
    for (name, help, value) in families {
        let mut family = writer.family(name, help, Kind::Gauge, SET);
        for ((key, state), count) in targets.iter().zip(counts) {
            if state.polled {
                family.sample(&[&key.instance, &key.queue_set], value(count) as f64);
            }
        }
    }
}
