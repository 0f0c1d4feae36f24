//! The data families, one writer per source: [`user_data`] (agents, slots, contacts and the
//! polled contact-state counters), [`queue_backlog`] (GetCurrentMetricData) and [`per_agent`]
//! (opt-in series per agent). [`write_segment`] writes them for the queue sets of one
//! instance, most useful first, so that a set over its series limit loses its per-agent
//! detail before anything else.

pub mod agent_events;
pub mod intraday;
pub mod per_agent;
pub mod queue_backlog;
pub mod user_data;

use super::series_limit::{write_series_counts, SeriesCount};
use super::store::TargetState;
use super::text_format::TextWriter;
use crate::model::{LabelNames, TargetKey};

pub(super) const POLLED: &str = "Polled from GetCurrentUserData on the exporter's schedule, not at scrape time; see amazon_connect_last_poll_success_timestamp_seconds for its age.";

/// The labels every data family starts with.
pub(super) const SET: &[&str] = &["connect_instance", "queue_set"];
pub(super) const CHANNEL: &[&str] = &["connect_instance", "queue_set", "channel"];
pub(super) const STATUS: &[&str] = &["connect_instance", "queue_set", "status"];
pub(super) const CONTACT: &[&str] = &["connect_instance", "queue_set", "queue", "channel", "state"];
pub(super) const TERMINAL: &[&str] = &["connect_instance", "queue_set", "queue", "channel"];

/// The `queue` label of queue `id`: its name where `names` has one.
pub(super) fn queue_label<'a>(names: Option<&'a LabelNames>, id: &'a str) -> &'a str {
    names.map_or(id, |names| names.queue(id))
}

/// The `routing_profile` label of routing profile `id`: its name where `names` has one.
pub(super) fn profile_label<'a>(names: Option<&'a LabelNames>, id: &'a str) -> &'a str {
    names.map_or(id, |names| names.routing_profile(id))
}

/// Writes every data family of `targets` (the queue sets of one instance, in order), then how
/// many series each published and dropped; `counts` (one per target) keep each within its
/// series limit.
pub(super) fn write_segment(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    user_data::write_families(writer, targets, counts);
    queue_backlog::write_families(writer, targets, counts);
    // The intraday series come next in the limit's order; their own segment wrote them.
    for ((_, state), count) in targets.iter().zip(counts.iter_mut()) {
        count.realtime = count.written;
        let (written, dropped) = state.intraday_series;
        count.written += written;
        count.dropped += dropped;
    }
    per_agent::write_families(writer, targets, counts);
    write_series_counts(writer, targets, counts);
}
