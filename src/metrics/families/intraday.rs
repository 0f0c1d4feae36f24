//! The families of the intraday source (GetMetricDataV2): today's service level, abandonment,
//! handle and answer times per queue and channel and window, occupancy per routing profile,
//! each set's service-level target, and the source's own health. Written as a segment of its
//! own when the source reads, so the real-time families are not encoded again.

use std::collections::BTreeMap;

use super::super::store::{IntradayState, TargetState};
use super::super::summary::label_value;
use super::super::text_format::{Kind, TextWriter};
use super::{profile_label, queue_label};
use crate::model::{LabelNames, QueueKpi, SetIntraday, TargetKey};

/// The `source` label of this source's health families.
pub(in crate::metrics) const SOURCE: &str = "intraday";

const LAG: &str = "Polled from GetMetricDataV2 every intraday_interval (default 1m), not at scrape time; it can lag the real-time families by that much and by the API's own processing delay.";

const KPI_LABELS: &[&str] = &[
    "connect_instance",
    "queue_set",
    "queue",
    "channel",
    "window",
];
const THRESHOLD_LABELS: &[&str] = &[
    "connect_instance",
    "queue_set",
    "queue",
    "channel",
    "window",
    "threshold",
];

/// The family of each KPI: name and help (which names the API metric).
fn kpi_family(kpi: QueueKpi) -> (&'static str, &'static str) {
    match kpi {
        QueueKpi::ServiceLevel => ("amazon_connect_queue_service_level_ratio", "Share of the contacts removed from the queue in the window (answered or abandoned) that were removed within `threshold` seconds, 0 to 1 (SERVICE_LEVEL, a percentage, divided by 100)."),
        QueueKpi::AnsweredInThreshold => ("amazon_connect_queue_contacts_answered_in_threshold", "Contacts answered within `threshold` seconds of entering the queue in the window (SUM_CONTACTS_ANSWERED_IN_X)."),
        QueueKpi::ContactsQueued => ("amazon_connect_queue_contacts_queued", "Contacts that entered the queue in the window (CONTACTS_QUEUED)."),
        QueueKpi::ContactsHandled => ("amazon_connect_queue_contacts_handled", "Contacts handled by an agent in the window (CONTACTS_HANDLED)."),
        QueueKpi::CallbackContactsHandled => ("amazon_connect_queue_callback_contacts_handled", "Callback contacts handled by an agent in the window (CONTACTS_HANDLED with INITIATION_METHOD = CALLBACK)."),
        QueueKpi::ContactsAbandoned => ("amazon_connect_queue_contacts_abandoned", "Contacts that left the queue without reaching an agent in the window (CONTACTS_ABANDONED)."),
        QueueKpi::AbandonmentRate => ("amazon_connect_queue_abandonment_ratio", "Abandoned contacts over queued contacts in the window, 0 to 1 (ABANDONMENT_RATE, a percentage, divided by 100)."),
        QueueKpi::ContactsTransferredOut => ("amazon_connect_queue_contacts_transferred_out", "Contacts an agent transferred out of the queue in the window (CONTACTS_TRANSFERRED_OUT)."),
        QueueKpi::AverageHandleTime => ("amazon_connect_queue_average_handle_time_seconds", "Average talk, hold and after-contact-work time of the contacts handled in the window (AVG_HANDLE_TIME)."),
        QueueKpi::AverageQueueAnswerTime => ("amazon_connect_queue_average_answer_time_seconds", "Average time answered contacts waited in the queue in the window (AVG_QUEUE_ANSWER_TIME)."),
        QueueKpi::AverageAbandonTime => ("amazon_connect_queue_average_abandon_time_seconds", "Average time abandoned contacts waited in the queue in the window (AVG_ABANDON_TIME)."),
        QueueKpi::MaxQueuedTime => ("amazon_connect_queue_max_queued_time_seconds", "Longest time a contact waited in the queue in the window (MAX_QUEUED_TIME)."),
        QueueKpi::AverageAfterContactWorkTime => ("amazon_connect_queue_average_after_contact_work_time_seconds", "Average after-contact-work time of the contacts handled in the window (AVG_AFTER_CONTACT_WORK_TIME)."),
        QueueKpi::AverageHoldTime => ("amazon_connect_queue_average_hold_time_seconds", "Average time contacts handled in the window spent on hold (AVG_HOLD_TIME)."),
    }
}

/// The sets' intraday data with what labelling them needs: their labels' names and how many
/// series each may still publish (what its series limit leaves after the real-time
/// aggregates and backlog).
pub(in crate::metrics) struct IntradayTarget<'a> {
    pub key: &'a TargetKey,
    pub data: &'a SetIntraday,
    pub names: Option<&'a LabelNames>,
    pub room: usize,
}

/// Writes the source's families for one instance; returns each set's (written, dropped).
pub(in crate::metrics) fn write_segment(
    writer: &mut TextWriter,
    instance: &str,
    state: &IntradayState,
    targets: &[IntradayTarget<'_>],
) -> Vec<(usize, usize)> {
    write_health(writer, instance, state);
    let mut counts = vec![(0usize, 0usize); targets.len()];
    let sample = |family: &mut super::super::text_format::Family<'_>,
                  count: &mut (usize, usize),
                  room: usize,
                  labels: &[&str],
                  value: f64| {
        if count.0 < room {
            family.sample(labels, value);
            count.0 += 1;
        } else {
            count.1 += 1;
        }
    };
    let mut family = writer.family(
        "amazon_connect_queue_set_service_level_target_ratio",
        "The service level the queue set aims for (service_level_target), 0 to 1: the line dashboards draw and alerts compare with. From the configuration.",
        Kind::Gauge,
        &["connect_instance", "queue_set"],
    );
    for (target, count) in targets.iter().zip(counts.iter_mut()) {
        if let Some(goal) = target.data.target {
            let labels = [instance, target.key.queue_set.as_str()];
            sample(&mut family, count, target.room, &labels, goal);
        }
    }
    for kpi in QueueKpi::ALL {
        let (name, help) = kpi_family(kpi);
        let help = format!("{help} {LAG}");
        let labels = if kpi.takes_threshold() {
            THRESHOLD_LABELS
        } else {
            KPI_LABELS
        };
        let mut family = writer.family(name, &help, Kind::Gauge, labels);
        for (target, count) in targets.iter().zip(counts.iter_mut()) {
            let set = target.key.queue_set.as_str();
            for row in &target.data.rows {
                let queue = queue_label(target.names, &row.queue_id);
                let channel = label_value(&row.channel);
                for value in row.values.iter().filter(|value| value.kpi == kpi) {
                    let threshold = value.threshold.map(|t| t.to_string());
                    let mut labels =
                        vec![instance, set, queue, channel.as_str(), row.window.as_str()];
                    labels.extend(threshold.as_deref());
                    sample(&mut family, count, target.room, &labels, value.value);
                }
            }
        }
    }
    let help = format!("Share of the time the agents of the routing profile were on contacts, of their time on contacts or available, 0 to 1 (AGENT_OCCUPANCY, a percentage, divided by 100; the API computes it per routing profile, not per queue). {LAG}");
    let mut family = writer.family(
        "amazon_connect_routing_profile_agent_occupancy_ratio",
        &help,
        Kind::Gauge,
        &["connect_instance", "queue_set", "routing_profile", "window"],
    );
    for (target, count) in targets.iter().zip(counts.iter_mut()) {
        for row in &target.data.occupancy {
            let profile = profile_label(target.names, &row.routing_profile_id);
            let labels = [
                instance,
                target.key.queue_set.as_str(),
                profile,
                row.window.as_str(),
            ];
            sample(&mut family, count, target.room, &labels, row.ratio);
        }
    }
    counts
}

/// `amazon_connect_source_up` and the time of the last good read.
fn write_health(writer: &mut TextWriter, instance: &str, state: &IntradayState) {
    let labels = [instance, SOURCE];
    writer
        .family(
            "amazon_connect_source_up",
            "1 if the last read of the data source succeeded, 0 if it failed (its series are then dropped for the instance; the queue sets' amazon_connect_up is not affected).",
            Kind::Gauge,
            &["connect_instance", "source"],
        )
        .sample(&labels, if state.up { 1.0 } else { 0.0 });
    if let Some(at) = state.last_success {
        writer
            .family(
                "amazon_connect_source_last_success_timestamp_seconds",
                "Unix time at which the last successful read of the data source started.",
                Kind::Gauge,
                &["connect_instance", "source"],
            )
            .sample(&labels, at);
    }
}

/// Each set of `instance` with intraday data, with its names and room under its limit.
pub(in crate::metrics) fn targets_of<'a>(
    state: &'a IntradayState,
    targets: &'a BTreeMap<TargetKey, TargetState>,
    limit: usize,
) -> Vec<IntradayTarget<'a>> {
    state
        .sets
        .iter()
        .filter_map(|(key, data)| {
            let target = targets.get(key)?;
            Some(IntradayTarget {
                key,
                data,
                names: target.names.as_deref(),
                room: limit.saturating_sub(target.realtime_series),
            })
        })
        .collect()
}
