//! The families of the queue-backlog source (GetCurrentMetricData): one gauge per metric,
//! by queue and channel.

use super::super::series_limit::{data_family, SeriesCount};
use super::super::store::TargetState;
use super::super::text_format::{Kind, TextWriter};
use super::{queue_label, TERMINAL};
use crate::model::{QueueMetric, TargetKey};

const QUEUE_METRICS_SOURCE: &str =
    "From GetCurrentMetricData, read on the exporter's schedule with the queue set's agents.";

/// The family of each GetCurrentMetricData metric: name and help.
fn queue_metric_family(metric: QueueMetric) -> (&'static str, &'static str) {
    match metric {
        QueueMetric::ContactsInQueue => (
            "amazon_connect_queue_contacts_in_queue",
            "Contacts waiting in the queue (CONTACTS_IN_QUEUE), by channel.",
        ),
        QueueMetric::OldestContactAge => (
            "amazon_connect_queue_oldest_contact_age_seconds",
            "Seconds the longest-waiting contact in the queue has waited (OLDEST_CONTACT_AGE; seconds in grouped requests by the current service model, see oldest_contact_age_unit); 0 when none waits.",
        ),
        QueueMetric::ContactsScheduled => (
            "amazon_connect_queue_contacts_scheduled",
            "Scheduled callbacks waiting for their time in the queue (CONTACTS_SCHEDULED).",
        ),
        QueueMetric::EstimatedWaitTime => (
            "amazon_connect_queue_estimated_wait_time_seconds",
            "The service's estimate of how long a new contact would wait (ESTIMATED_WAIT_TIME); absent when the service cannot compute it (no agents staffed).",
        ),
        QueueMetric::AgentsOnline => (
            "amazon_connect_queue_agents_online",
            "Agents serving the queue on the channel in any status but Offline (AGENTS_ONLINE).",
        ),
        QueueMetric::AgentsAvailable => (
            "amazon_connect_queue_agents_available",
            "Agents serving the queue on the channel in the Available status (AGENTS_AVAILABLE).",
        ),
        QueueMetric::AgentsOnContact => (
            "amazon_connect_queue_agents_on_contact",
            "Agents serving the queue on the channel who are on a contact (AGENTS_ON_CONTACT).",
        ),
        QueueMetric::AgentsAfterContactWork => (
            "amazon_connect_queue_agents_after_contact_work",
            "Agents serving the queue on the channel in after-contact work (AGENTS_AFTER_CONTACT_WORK).",
        ),
        QueueMetric::AgentsError => (
            "amazon_connect_queue_agents_error",
            "Agents serving the queue on the channel in an error state, such as after a missed contact (AGENTS_ERROR).",
        ),
        QueueMetric::AgentsStaffed => (
            "amazon_connect_queue_agents_staffed",
            "Agents serving the queue on the channel who are available, on contact or in after-contact work (AGENTS_STAFFED).",
        ),
        QueueMetric::SlotsActive => (
            "amazon_connect_queue_slots_active",
            "Slots in use of the agents serving the queue on the channel (SLOTS_ACTIVE).",
        ),
        QueueMetric::SlotsAvailable => (
            "amazon_connect_queue_slots_available",
            "Free slots of the agents serving the queue on the channel (SLOTS_AVAILABLE).",
        ),
    }
}

/// Writes a family per GetCurrentMetricData metric.
pub(super) fn write_families(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    for metric in QueueMetric::ALL {
        let (name, help) = queue_metric_family(metric);
        let help = format!("{help} {QUEUE_METRICS_SOURCE}");
        data_family(
            writer,
            targets,
            counts,
            (name, &help, Kind::Gauge, TERMINAL),
            |family, set, summary, state| {
                let names = state.names.as_deref();
                for ((queue, channel), values) in &summary.queue_metrics {
                    if let Some(value) = values.get(&metric) {
                        family.sample(
                            &[set[0], set[1], queue_label(names, queue), channel],
                            *value,
                        );
                    }
                }
            },
        );
    }
}
