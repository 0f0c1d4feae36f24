//! The families of the agent event stream: per queue set, status transitions, time in status,
//! logins, logouts and contact states reached, counted exactly from the events; per stream and
//! shard, the reader's health. No per-agent series.

use std::collections::BTreeMap;

use super::super::summary::label_value;
use super::super::text_format::{Kind, TextWriter};
use super::{queue_label, SET};
use crate::model::agent_events::{SetEventCounts, StreamHealth};
use crate::model::{LabelNames, TargetKey};

const FROM_EVENTS: &str = "Counted from the agent event stream (Kinesis) since the exporter started reading it, every event once; see amazon_connect_agent_event_stream_up.";

/// One queue set's totals with the names its queue IDs are labelled with.
pub(in super::super) struct SetTotals<'a> {
    pub(in super::super) key: &'a TargetKey,
    pub(in super::super) counts: &'a SetEventCounts,
    pub(in super::super) names: Option<&'a LabelNames>,
}

/// Writes the event families of one instance's sets.
pub(in super::super) fn write_set_families(writer: &mut TextWriter, sets: &[SetTotals<'_>]) {
    let help =
        format!("Agent status changes, by the status left and the status entered. {FROM_EVENTS}");
    let mut family = writer.family(
        "amazon_connect_agent_event_status_transitions_total",
        &help,
        Kind::Counter,
        &["connect_instance", "queue_set", "from", "to"],
    );
    for set in sets {
        for ((from, to), count) in &set.counts.transitions {
            family.sample(
                &[&set.key.instance, &set.key.queue_set, from, to],
                *count as f64,
            );
        }
    }
    let help = format!("Seconds agents spent in a status, observed when it ended (the new status's start less the old one's). {FROM_EVENTS}");
    let mut family = writer.family(
        "amazon_connect_agent_event_status_duration_seconds",
        &help,
        Kind::Histogram,
        &["connect_instance", "queue_set", "status"],
    );
    for set in sets {
        for (status, histogram) in &set.counts.status_durations {
            family.histogram(
                &[&set.key.instance, &set.key.queue_set, status],
                histogram.cumulative(),
                histogram.sum,
                histogram.count,
            );
        }
    }
    let logins = format!("Agent LOGIN events. {FROM_EVENTS}");
    let logouts = format!("Agent LOGOUT events. {FROM_EVENTS}");
    for (name, help, count) in [
        (
            "amazon_connect_agent_event_logins_total",
            &logins,
            (|counts: &SetEventCounts| counts.logins) as fn(&SetEventCounts) -> u64,
        ),
        (
            "amazon_connect_agent_event_logouts_total",
            &logouts,
            |counts| counts.logouts,
        ),
    ] {
        let mut family = writer.family(name, help, Kind::Counter, SET);
        for set in sets {
            family.sample(
                &[&set.key.instance, &set.key.queue_set],
                count(set.counts) as f64,
            );
        }
    }
    let help = format!("Contacts of the set's agents that entered the agent contact state missed, rejected, error or ended, by the contact's queue and channel; each contact and agent once per state, however short. {FROM_EVENTS}");
    let mut family = writer.family(
        "amazon_connect_agent_event_contact_states_total",
        &help,
        Kind::Counter,
        &["connect_instance", "queue_set", "queue", "channel", "state"],
    );
    for set in sets {
        // Two IDs may share a label (a queue name and an unnamed ID never do), so sum by label.
        // Channel and state in lower case, as the polled families write them.
        let mut by_label: BTreeMap<(&str, String, String), u64> = BTreeMap::new();
        for ((queue, channel, state), count) in &set.counts.contact_states {
            let key = (
                queue_label(set.names, queue),
                label_value(channel),
                label_value(state),
            );
            *by_label.entry(key).or_default() += count;
        }
        for ((queue, channel, state), count) in &by_label {
            family.sample(
                &[&set.key.instance, &set.key.queue_set, queue, channel, state],
                *count as f64,
            );
        }
    }
}

/// Writes the health families of every stream read.
pub(in super::super) fn write_stream_families(
    writer: &mut TextWriter,
    streams: &BTreeMap<String, StreamHealth>,
) {
    let mut family = writer.family(
        "amazon_connect_agent_event_stream_up",
        "1 if the agent event stream's shards were listed and every shard's last read worked.",
        Kind::Gauge,
        &["stream"],
    );
    for (name, health) in streams {
        family.sample(&[name], if health.up { 1.0 } else { 0.0 });
    }
    type Field = fn(&crate::model::agent_events::ShardHealth) -> Option<f64>;
    let shard_families: [(&'static str, &str, Kind, Field); 7] = [
        ("amazon_connect_agent_event_stream_records_total", "Records read from the shard, repeats and undecodable ones included.", Kind::Counter, |s| Some(s.records as f64)),
        ("amazon_connect_agent_event_stream_events_total", "Agent events counted from the shard: records read less repeats and undecodable ones.", Kind::Counter, |s| Some(s.events as f64)),
        ("amazon_connect_agent_event_stream_duplicate_records_total", "Records whose EventId had been read already (Kinesis delivers at least once); not counted again.", Kind::Counter, |s| Some(s.duplicates as f64)),
        ("amazon_connect_agent_event_stream_undecodable_records_total", "Records that are not an agent event this exporter can read; skipped and logged.", Kind::Counter, |s| Some(s.undecodable as f64)),
        ("amazon_connect_agent_event_stream_lag_seconds", "At the last read that returned events: the read's time less the newest event's EventTimestamp.", Kind::Gauge, |s| s.lag_seconds),
        ("amazon_connect_agent_event_stream_behind_latest_seconds", "MillisBehindLatest of the shard's last GetRecords, in seconds: how far the reader is behind the shard's newest record.", Kind::Gauge, |s| s.behind_latest_seconds),
        ("amazon_connect_agent_event_stream_last_read_timestamp_seconds", "When GetRecords last answered for the shard (published at least every 10 seconds).", Kind::Gauge, |s| s.last_read_at),
    ];
    for (name, help, kind, field) in shard_families {
        let mut family = writer.family(name, help, kind, &["stream", "shard"]);
        for (stream, health) in streams {
            for (shard, state) in &health.shards {
                if let Some(value) = field(state) {
                    family.sample(&[stream, shard], value);
                }
            }
        }
    }
    let mut family = writer.family(
        "amazon_connect_exporter_stream_requests_total",
        "Kinesis request attempts of the agent event stream's reader, by operation and outcome.",
        Kind::Counter,
        &["stream", "operation", "outcome"],
    );
    for (stream, health) in streams {
        for ((operation, outcome), count) in &health.requests {
            family.sample(&[stream, operation, outcome], *count as f64);
        }
    }
}
