//! The opt-in per-agent families (`agent_series: true`): status, status age, slots and
//! contacts of each agent, labelled by login name. Left out whole when they do not fit in the
//! set's series limit.

use std::collections::BTreeMap;

use super::super::series_limit::{data_family, SeriesCount, TargetSamples};
use super::super::store::TargetState;
use super::super::summary::label_value;
use super::super::text_format::{Kind, TextWriter};
use super::POLLED;
use crate::model::{AgentRecord, LabelNames, TargetKey};

const AGENT: &[&str] = &["connect_instance", "queue_set", "agent"];
const AGENT_STATUS: &[&str] = &["connect_instance", "queue_set", "agent", "status"];
const AGENT_CHANNEL: &[&str] = &["connect_instance", "queue_set", "agent", "channel"];
const AGENT_CONTACTS: &[&str] = &["connect_instance", "queue_set", "agent", "channel", "state"];

/// The `agent` label of user `id`: its login name where `names` has one.
fn agent_label<'a>(names: Option<&'a LabelNames>, id: &'a str) -> &'a str {
    names.map_or(id, |names| names.user(id))
}

/// The opt-in per-agent families (`agent_series: true`): only targets that kept their agents
/// write any.
pub(super) fn write_families(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
) {
    for ((_, state), count) in targets.iter().zip(counts.iter_mut()) {
        if state.summary.is_none() || state.agents.is_empty() {
            continue;
        }
        let series: usize = state
            .agents
            .iter()
            .map(|agent| per_agent_series(agent))
            .sum();
        if count.written + series > count.limit {
            count.dropped += series;
            count.agents_left_out = true;
        }
    }
    let help = format!("1 for each agent of the queue set, labelled with its login name and current agent status. {POLLED}");
    agent_family(
        writer,
        targets,
        counts,
        ("amazon_connect_per_agent_status", &help, AGENT_STATUS),
        |family, [instance, set, agent_name], agent, _| {
            family.sample(&[instance, set, agent_name, &agent.status_name], 1.0);
        },
    );
    let help =
        format!("Seconds each agent has been in its current status, at poll start. {POLLED}");
    agent_family(
        writer,
        targets,
        counts,
        ("amazon_connect_per_agent_status_age_seconds", &help, AGENT),
        |family, labels, agent, data_at| {
            if let Some(start) = agent.status_start {
                family.sample(&labels, (data_at - start).max(0.0));
            }
        },
    );
    type SlotsOf = fn(&AgentRecord) -> &crate::model::SlotsByChannel;
    let slot_families: [(&'static str, &str, SlotsOf); 3] = [
        (
            "amazon_connect_per_agent_slots_active",
            "ActiveSlotsByChannel of each agent.",
            |agent| &agent.active_slots,
        ),
        (
            "amazon_connect_per_agent_slots_available",
            "AvailableSlotsByChannel of each agent.",
            |agent| &agent.available_slots,
        ),
        (
            "amazon_connect_per_agent_slots_max",
            "MaxSlotsByChannel of each agent.",
            |agent| &agent.max_slots,
        ),
    ];
    for (name, help, slots_of) in slot_families {
        let help = format!("{help} {POLLED}");
        agent_family(
            writer,
            targets,
            counts,
            (name, &help, AGENT_CHANNEL),
            |family, [instance, set, agent_name], agent, _| {
                for (channel, count) in &slot_channels(slots_of(agent)) {
                    family.sample(&[instance, set, agent_name, channel], *count as f64);
                }
            },
        );
    }
    let help =
        format!("Each agent's current contacts by channel and agent contact state. {POLLED}");
    agent_family(
        writer,
        targets,
        counts,
        ("amazon_connect_per_agent_contacts", &help, AGENT_CONTACTS),
        |family, [instance, set, agent_name], agent, _| {
            for ((channel, state), count) in &contact_counts(agent) {
                family.sample(&[instance, set, agent_name, channel, state], *count as f64);
            }
        },
    );
}

/// Writes one per-agent family: `write` is called for every agent of every target that
/// kept its agents and whose per-agent series fit its limit, with the labels
/// `[connect_instance, queue_set, agent]`, the agent and the time its data was read.
fn agent_family(
    writer: &mut TextWriter,
    targets: &[(&TargetKey, &TargetState)],
    counts: &mut [SeriesCount],
    (name, help, labels): (&'static str, &str, &'static [&'static str]),
    mut write: impl FnMut(&mut TargetSamples<'_, '_>, [&str; 3], &AgentRecord, f64),
) {
    data_family(
        writer,
        targets,
        counts,
        (name, help, Kind::Gauge, labels),
        |family, [instance, set], _, state| {
            if family.agents_left_out() {
                return;
            }
            let names = state.names.as_deref();
            for agent in &state.agents {
                let agent_name = agent_label(names, &agent.user_id);
                write(family, [instance, set, agent_name], agent, state.data_at);
            }
        },
    );
}

/// An agent's slots by lower-case channel, each channel once (a channel the API sent in two
/// spellings keeps one value: the format cannot carry a series twice).
fn slot_channels(slots: &crate::model::SlotsByChannel) -> Vec<(String, i64)> {
    let mut channels: Vec<(String, i64)> = slots
        .iter()
        .map(|(channel, count)| (label_value(channel), *count))
        .collect();
    channels.sort();
    channels.dedup_by(|a, b| a.0 == b.0);
    channels
}

/// An agent's contacts counted by (lower-case channel, lower-case agent contact state).
fn contact_counts(agent: &AgentRecord) -> BTreeMap<(String, String), u64> {
    let mut contacts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for contact in &agent.contacts {
        *contacts
            .entry((label_value(&contact.channel), label_value(&contact.state)))
            .or_default() += 1;
    }
    contacts
}

/// How many series the per-agent families write for `agent`: what [`slot_channels`] and
/// [`contact_counts`] would yield, counted without building their lower-case labels (this runs
/// for every agent before anything is written).
fn per_agent_series(agent: &AgentRecord) -> usize {
    let slot_series = |slots: &crate::model::SlotsByChannel| {
        distinct(slots, |(a, _), (b, _)| a.eq_ignore_ascii_case(b))
    };
    let contact_series = distinct(&agent.contacts, |a, b| {
        a.channel.eq_ignore_ascii_case(&b.channel) && a.state.eq_ignore_ascii_case(&b.state)
    });
    1 + usize::from(agent.status_start.is_some())
        + slot_series(&agent.active_slots)
        + slot_series(&agent.available_slots)
        + slot_series(&agent.max_slots)
        + contact_series
}

/// How many of `items` differ from every one before them by `same` (an agent has a handful of
/// channels and contacts, so pairwise is cheapest).
fn distinct<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> usize {
    items
        .iter()
        .enumerate()
        .filter(|(index, item)| !items[..*index].iter().any(|before| same(before, item)))
        .count()
}
