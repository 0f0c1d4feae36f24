//! The families of the user-data source (GetCurrentUserData): `up` and the last-success time
//! of each queue set, agents by status, slots by channel, contacts by queue, channel and
//! state with their ages, and the counters of terminal contact states.

use std::collections::BTreeMap;

use super::super::series_limit::{data_family, SeriesCount};
use super::super::store::TargetState;
use super::super::summary::Summary;
use super::super::text_format::{Kind, TextWriter};
use super::{profile_label, queue_label, CHANNEL, CONTACT, POLLED, SET, STATUS, TERMINAL};
use crate::model::TargetKey;

/// The terminal agent contact states counted per (contact, agent) pair: API state, metric
/// name, help.
pub(in crate::metrics) const TERMINAL_STATES: [(&str, &str, &str); 3] = [
    (
        "MISSED",
        "amazon_connect_missed_contacts_total",
        "Distinct (contact, agent) pairs seen in the MISSED agent contact state (agent non-response) since the exporter started. One contact offered to three agents who do not answer counts three. Seen only at poll times.",
    ),
    (
        "REJECTED",
        "amazon_connect_rejected_contacts_total",
        "Distinct (contact, agent) pairs seen in the REJECTED agent contact state (the agent declined the contact) since the exporter started. Seen only at poll times.",
    ),
    (
        "ERROR",
        "amazon_connect_error_contacts_total",
        "Distinct (contact, agent) pairs seen in the ERROR agent contact state since the exporter started. Seen only at poll times.",
    ),
];

/// Writes `up`, the last-success time and the aggregate families of every target's data.
pub(super) fn write_families(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    write_poll_state(writer, targets);
    write_slots_and_statuses(writer, targets, counts);
    write_contacts(writer, targets, counts);
    write_agent_views(writer, targets, counts);
    write_contact_views(writer, targets, counts);
}

/// `up` and the last-success time of every polled set (not data: outside the series limit).
fn write_poll_state(writer: &mut TextWriter, targets: &[(&TargetKey, &TargetState)]) {
    let polled = || targets.iter().filter(|(_, state)| state.polled);
    let mut up = writer.family(
        "amazon_connect_up",
        "1 if the last poll of the queue set succeeded, 0 if it failed (its data series are then dropped).",
        Kind::Gauge,
        SET,
    );
    for (key, state) in polled() {
        let value = if state.summary.is_some() { 1.0 } else { 0.0 };
        up.sample(&[&key.instance, &key.queue_set], value);
    }
    let mut last_success = writer.family(
        "amazon_connect_last_poll_success_timestamp_seconds",
        "Unix time at which the last successful poll of the queue set started: the age of the data served.",
        Kind::Gauge,
        SET,
    );
    for (key, state) in polled() {
        if let Some(at) = state.last_success {
            last_success.sample(&[&key.instance, &key.queue_set], at);
        }
    }
}

/// Slots by channel and agents by status.
fn write_slots_and_statuses(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    type SlotsOf = fn(&Summary) -> &BTreeMap<String, i64>;
    let slot_families: [(&'static str, String, SlotsOf); 3] = [
        (
            "amazon_connect_agent_slots_available",
            format!("Sum of AvailableSlotsByChannel over the queue set's agents. {POLLED}"),
            |summary| &summary.slots_available,
        ),
        (
            "amazon_connect_agent_slots_active",
            format!("Sum of ActiveSlotsByChannel over the queue set's agents. {POLLED}"),
            |summary| &summary.slots_active,
        ),
        (
            "amazon_connect_agent_slots_max",
            format!("Sum of MaxSlotsByChannel over the queue set's agents. {POLLED}"),
            |summary| &summary.slots_max,
        ),
    ];
    for (name, help, values) in &slot_families {
        data_family(
            writer,
            targets,
            counts,
            (name, help, Kind::Gauge, CHANNEL),
            |family, set, summary, _| {
                for (channel, value) in values(summary) {
                    family.sample(&[set[0], set[1], channel], *value as f64);
                }
            },
        );
    }
    let help = format!("Agents serving the queue set, by agent status name. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        ("amazon_connect_agents", &help, Kind::Gauge, STATUS),
        |family, set, summary, _| {
            for (status, count) in &summary.agents_by_status {
                family.sample(&[set[0], set[1], status], *count as f64);
            }
        },
    );
}

/// Contacts by queue, channel and state, the oldest's age, and the terminal-state counters.
fn write_contacts(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    let help = format!("Contacts with the queue set's agents, by the contact's queue, channel and agent contact state. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        ("amazon_connect_agent_contacts", &help, Kind::Gauge, CONTACT),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for (contact, stats) in &summary.contacts {
                let queue = queue_label(names, &contact.queue);
                family.sample(
                    &[set[0], set[1], queue, &contact.channel, &contact.state],
                    stats.count as f64,
                );
            }
        },
    );
    let help = format!("Seconds the oldest of these contacts has been in its state, measured at poll start. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agent_contact_state_age_seconds_max",
            &help,
            Kind::Gauge,
            CONTACT,
        ),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for (contact, stats) in &summary.contacts {
                if let Some(age) = stats.oldest_state_age {
                    let queue = queue_label(names, &contact.queue);
                    family.sample(
                        &[set[0], set[1], queue, &contact.channel, &contact.state],
                        age,
                    );
                }
            }
        },
    );
    for (index, (_, name, help)) in TERMINAL_STATES.iter().enumerate() {
        data_family(
            writer,
            targets,
            counts,
            (name, help, Kind::Counter, TERMINAL),
            |family, set, _, state| {
                let names = state.names.as_deref();
                for ((queue_id, channel), total) in state.terminal[index].totals() {
                    family.sample(
                        &[set[0], set[1], queue_label(names, &queue_id), &channel],
                        total as f64,
                    );
                }
            },
        );
    }
}

/// Agents by routing profile, pending next status, and the oldest status age.
fn write_agent_views(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    let help = format!("Agents serving the queue set by routing profile (name, or ID where there is none) and agent status name. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_by_routing_profile",
            &help,
            Kind::Gauge,
            &["connect_instance", "queue_set", "routing_profile", "status"],
        ),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for ((profile, status), count) in &summary.agents_by_profile_status {
                family.sample(
                    &[set[0], set[1], profile_label(names, profile), status],
                    *count as f64,
                );
            }
        },
    );
    let help = format!(
        "Agents with a pending next status (set while on contacts), by that status name. {POLLED}"
    );
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_next_status",
            &help,
            Kind::Gauge,
            &["connect_instance", "queue_set", "next_status"],
        ),
        |family, set, summary, _| {
            for (next, count) in &summary.agents_by_next_status {
                family.sample(&[set[0], set[1], next], *count as f64);
            }
        },
    );
    let help = format!("Seconds the longest-running agent in each status has been in it, measured at poll start. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agent_status_age_seconds_max",
            &help,
            Kind::Gauge,
            STATUS,
        ),
        |family, set, summary, _| {
            for (status, age) in &summary.oldest_status_age {
                family.sample(&[set[0], set[1], status], *age);
            }
        },
    );
}

/// Contacts by initiation method, agents with a missed contact, agents by hierarchy group.
fn write_contact_views(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    let help = format!("Contacts with the queue set's agents by initiation method (lower case; unknown when not reported) and channel. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agent_contacts_by_initiation_method",
            &help,
            Kind::Gauge,
            &[
                "connect_instance",
                "queue_set",
                "initiation_method",
                "channel",
            ],
        ),
        |family, set, summary, _| {
            for ((method, channel), count) in &summary.contacts_by_initiation {
                family.sample(&[set[0], set[1], method, channel], *count as f64);
            }
        },
    );
    let help =
        format!("Agents of the queue set with at least one contact in the MISSED state. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_with_missed_contacts",
            &help,
            Kind::Gauge,
            SET,
        ),
        |family, set, summary, _| {
            family.sample(&set, summary.agents_with_missed as f64);
        },
    );
    let help = format!("Agents of the queue set by user hierarchy group (name, or ID where there is none) at each level of their hierarchy path, and agent status name; only with hierarchy_labels. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_by_hierarchy_group",
            &help,
            Kind::Gauge,
            &[
                "connect_instance",
                "queue_set",
                "hierarchy_level",
                "hierarchy_group",
                "status",
            ],
        ),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for ((level, group, status), count) in &summary.agents_by_hierarchy {
                // The API has five levels; a longer path (not sent today) is left out.
                let Some(level) = level.checked_sub(1).and_then(|i| HIERARCHY_LEVELS.get(i)) else {
                    continue;
                };
                let group = names.map_or(group.as_str(), |names| names.hierarchy_group(group));
                family.sample(&[set[0], set[1], level, group, status], *count as f64);
            }
        },
    );
}

/// The `hierarchy_level` label values, level one first.
const HIERARCHY_LEVELS: [&str; 5] = ["1", "2", "3", "4", "5"];
