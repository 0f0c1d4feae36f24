//! Property tests of the conversions: SDK values as the deserialiser could build them from any
//! answer (random strings, enum values newer than the SDK, missing optional fields, huge,
//! negative, NaN and infinite numbers, timestamps anywhere in i64) never make them panic. A
//! value without a required field is an error naming it; a converted value keeps the promises
//! of its type: queue metric values finite, GetMetricDataV2 values finite or absent, each
//! channel once among an agent's slots, timestamps finite.

use std::collections::HashMap;

use aws_sdk_connect::types::{
    AgentContactReference, AgentStatusReference, CurrentMetric, CurrentMetricData,
    CurrentMetricName, Dimensions, HierarchyGroupSummaryReference, HierarchyPathReference,
    MetricDataV2, MetricFilterV2, MetricV2, QueueReference, RoutingProfileReference, ThresholdV2,
    UserReference,
};
use proptest::prelude::*;

use super::*;

/// Cases per property: each converts a handful of small values, well under a second in all.
const CASES: u32 = 256;

/// A string the service might send: empty, short random text, or an ID-like word.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "\\PC{0,10}", "[a-z0-9-]{1,36}",]
}

/// An enum value as the wire has it: one the SDK knows, or one it does not.
fn wire_value(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(String::from),
        1 => prop_oneof![Just("SOMETHING_NEW".to_string()), "[A-Z_]{0,12}"],
    ]
}

/// Any f64, the IEEE specials and the extremes much more often than chance would give them.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => prop::sample::select(vec![
            0.0, -0.0, 1.0, -1.0, 0.5, 1e300, -1e300, f64::MAX, f64::MIN, f64::MIN_POSITIVE,
            f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-300,
        ]),
        1 => -1e6..1e6f64,
        1 => any::<f64>(),
    ]
}

/// A timestamp anywhere the wire format allows: whole i64 seconds with nanos, or a float.
fn timestamp() -> impl Strategy<Value = DateTime> {
    prop_oneof![
        (any::<i64>(), 0u32..1_000_000_000)
            .prop_map(|(seconds, nanos)| DateTime::from_secs_and_nanos(seconds, nanos)),
        number().prop_map(DateTime::from_secs_f64),
        (1_600_000_000i64..1_900_000_000).prop_map(DateTime::from_secs),
    ]
}

fn slots() -> impl Strategy<Value = Option<HashMap<Channel, i32>>> {
    prop::option::of(prop::collection::hash_map(
        wire_value(Channel::values()).prop_map(|name| Channel::from(name.as_str())),
        any::<i32>(),
        0..5,
    ))
}

fn contact() -> impl Strategy<Value = AgentContactReference> {
    (
        prop::option::weighted(0.9, text()),
        prop::option::weighted(0.9, wire_value(Channel::values())),
        prop::option::weighted(0.9, wire_value(ContactState::values())),
        prop::option::of(wire_value(ContactInitiationMethod::values())),
        prop::option::of(prop::option::of(text())),
        prop::option::of(timestamp()),
    )
        .prop_map(|(id, channel, state, method, queue, started)| {
            AgentContactReference::builder()
                .set_contact_id(id)
                .set_channel(channel.map(|c| Channel::from(c.as_str())))
                .set_agent_contact_state(state.map(|s| ContactState::from(s.as_str())))
                .set_initiation_method(method.map(|m| ContactInitiationMethod::from(m.as_str())))
                .set_queue(queue.map(|id| QueueReference::builder().set_id(id).build()))
                .set_state_start_timestamp(started)
                .build()
        })
}

fn hierarchy() -> impl Strategy<Value = Option<HierarchyPathReference>> {
    let level = || {
        prop::option::weighted(
            0.8,
            prop::option::weighted(0.9, text())
                .prop_map(|id| HierarchyGroupSummaryReference::builder().set_id(id).build()),
        )
    };
    prop::option::of((level(), level(), level(), level(), level()).prop_map(
        |(one, two, three, four, five)| {
            HierarchyPathReference::builder()
                .set_level_one(one)
                .set_level_two(two)
                .set_level_three(three)
                .set_level_four(four)
                .set_level_five(five)
                .build()
        },
    ))
}

fn user_data() -> impl Strategy<Value = UserData> {
    (
        prop::option::weighted(0.95, prop::option::weighted(0.95, text())),
        prop::option::weighted(
            0.95,
            (
                prop::option::weighted(0.95, text()),
                prop::option::of(timestamp()),
            ),
        ),
        (slots(), slots(), slots()),
        prop::collection::vec(contact(), 0..4),
        hierarchy(),
        prop::option::of(text()),
        prop::option::of(prop::option::of(text())),
    )
        .prop_map(
            |(user, status, (available, active, max), contacts, path, next, profile)| {
                UserData::builder()
                    .set_user(user.map(|id| UserReference::builder().set_id(id).build()))
                    .set_status(status.map(|(name, started)| {
                        AgentStatusReference::builder()
                            .set_status_name(name)
                            .set_status_start_timestamp(started)
                            .build()
                    }))
                    .set_available_slots_by_channel(available)
                    .set_active_slots_by_channel(active)
                    .set_max_slots_by_channel(max)
                    .set_contacts(Some(contacts))
                    .set_hierarchy_path(path)
                    .set_next_status(next)
                    .set_routing_profile(
                        profile.map(|id| RoutingProfileReference::builder().set_id(id).build()),
                    )
                    .build()
            },
        )
}

/// Every metric name the exporter asks for, and some it does not.
fn metric_names() -> &'static [&'static str] {
    &[
        "CONTACTS_IN_QUEUE",
        "OLDEST_CONTACT_AGE",
        "CONTACTS_SCHEDULED",
        "ESTIMATED_WAIT_TIME",
        "AGENTS_ONLINE",
        "AGENTS_AVAILABLE",
        "AGENTS_ON_CONTACT",
        "AGENTS_AFTER_CONTACT_WORK",
        "AGENTS_ERROR",
        "AGENTS_STAFFED",
        "SLOTS_ACTIVE",
        "SLOTS_AVAILABLE",
        "HANDLE_TIME",
    ]
}

fn current_metric_result() -> impl Strategy<Value = CurrentMetricResult> {
    let collection = (
        prop::option::weighted(
            0.97,
            prop::option::weighted(0.97, wire_value(metric_names())),
        ),
        prop::option::weighted(0.8, number()),
    )
        .prop_map(|(metric, value)| {
            CurrentMetricData::builder()
                .set_metric(metric.map(|name| {
                    CurrentMetric::builder()
                        .set_name(name.map(|n| CurrentMetricName::from(n.as_str())))
                        .build()
                }))
                .set_value(value)
                .build()
        });
    (
        prop::option::weighted(
            0.95,
            (
                prop::option::weighted(0.95, prop::option::weighted(0.95, text())),
                prop::option::weighted(0.95, wire_value(Channel::values())),
            ),
        ),
        prop::option::of(prop::collection::vec(collection, 0..6)),
    )
        .prop_map(|(dimensions, collections)| {
            CurrentMetricResult::builder()
                .set_dimensions(dimensions.map(|(queue, channel)| {
                    Dimensions::builder()
                        .set_queue(queue.map(|id| QueueReference::builder().set_id(id).build()))
                        .set_channel(channel.map(|c| Channel::from(c.as_str())))
                        .build()
                }))
                .set_collections(collections)
                .build()
        })
}

fn metric_result_v2() -> impl Strategy<Value = MetricResultV2> {
    let threshold =
        (prop::option::of(text()), prop::option::of(number())).prop_map(|(comparison, value)| {
            ThresholdV2::builder()
                .set_comparison(comparison)
                .set_threshold_value(value)
                .build()
        });
    let filter = (
        prop::option::of(text()),
        prop::option::of(prop::collection::vec(text(), 0..3)),
    )
        .prop_map(|(key, values)| {
            MetricFilterV2::builder()
                .set_metric_filter_key(key)
                .set_metric_filter_values(values)
                .build()
        });
    let metric = (
        prop::option::weighted(0.97, wire_value(&["SERVICE_LEVEL", "AGENT_OCCUPANCY"])),
        prop::option::of(prop::collection::vec(threshold, 0..2)),
        prop::option::of(prop::collection::vec(filter, 0..2)),
    )
        .prop_map(|(name, thresholds, filters)| {
            MetricV2::builder()
                .set_name(name)
                .set_threshold(thresholds)
                .set_metric_filters(filters)
                .build()
        });
    let collection = (
        prop::option::weighted(0.97, metric),
        prop::option::weighted(0.8, number()),
    )
        .prop_map(|(metric, value)| {
            MetricDataV2::builder()
                .set_metric(metric)
                .set_value(value)
                .build()
        });
    (
        prop::option::of(prop::collection::hash_map(
            wire_value(&["QUEUE", "CHANNEL", "ROUTING_PROFILE"]),
            text(),
            0..4,
        )),
        prop::option::of(prop::collection::vec(collection, 0..5)),
    )
        .prop_map(|(dimensions, collections)| {
            MetricResultV2::builder()
                .set_dimensions(dimensions)
                .set_collections(collections)
                .build()
        })
}

/// Whether an agent has every field [`agent_from_sdk`] requires.
fn complete(user: &UserData) -> bool {
    user.user.as_ref().is_some_and(|u| u.id.is_some())
        && user
            .status
            .as_ref()
            .is_some_and(|status| status.status_name.is_some())
        && user.contacts().iter().all(|contact| {
            contact.contact_id.is_some()
                && contact.channel.is_some()
                && contact.agent_contact_state.is_some()
        })
}

/// `slots` as the model has them, for comparing with the SDK's map.
fn slot_map(slots: &SlotsByChannel) -> HashMap<String, i64> {
    slots
        .iter()
        .map(|(channel, count)| (channel.to_string(), *count))
        .collect()
}

fn sdk_slot_map(slots: Option<&HashMap<Channel, i32>>) -> HashMap<String, i64> {
    slots
        .into_iter()
        .flatten()
        .map(|(channel, count)| (channel.as_str().to_string(), i64::from(*count)))
        .collect()
}

proptest! {
    #![proptest_config(crate::proptest_settings::with_cases(CASES))]

    #[test]
    fn agents_convert_or_name_the_missing_field(
        user in user_data(),
        with_hierarchy in any::<bool>(),
    ) {
        let expected_ok = complete(&user);
        match agent_from_sdk(user.clone(), with_hierarchy) {
            Ok(agent) => {
                prop_assert!(expected_ok, "accepted an agent without a required field");
                let given = user.user.as_ref().and_then(|u| u.id.as_deref());
                prop_assert_eq!(Some(agent.user_id.as_str()), given);
                // Each channel once, every count as sent (a map cannot hold a channel twice).
                for (slots, sent) in [
                    (&agent.available_slots, user.available_slots_by_channel()),
                    (&agent.active_slots, user.active_slots_by_channel()),
                    (&agent.max_slots, user.max_slots_by_channel()),
                ] {
                    prop_assert_eq!(slot_map(slots).len(), slots.len());
                    prop_assert_eq!(slot_map(slots), sdk_slot_map(sent));
                }
                prop_assert!(agent.status_start.is_none_or(f64::is_finite));
                prop_assert_eq!(agent.contacts.len(), user.contacts().len());
                for (contact, sent) in agent.contacts.iter().zip(user.contacts()) {
                    prop_assert!(contact.state_start.is_none_or(f64::is_finite));
                    // Values newer than the SDK are kept as sent.
                    let state = sent.agent_contact_state.as_ref().map(ContactState::as_str);
                    prop_assert_eq!(Some(contact.state.as_ref()), state);
                    let channel = sent.channel.as_ref().map(Channel::as_str);
                    prop_assert_eq!(Some(contact.channel.as_ref()), channel);
                }
                prop_assert!(agent.hierarchy_path.len() <= 5);
                if !with_hierarchy {
                    prop_assert!(agent.hierarchy_path.is_empty());
                }
            }
            Err(problem) => {
                prop_assert!(!expected_ok, "refused a complete agent: {problem}");
                prop_assert!(problem.contains("has no "), "{problem}");
            }
        }
    }

    #[test]
    fn queue_metric_rows_are_finite_or_refused(
        result in current_metric_result(),
        milliseconds in any::<bool>(),
    ) {
        let unit = if milliseconds { AgeUnit::Milliseconds } else { AgeUnit::Seconds };
        let dimensions = result.dimensions.as_ref();
        let located = dimensions.is_some_and(|d| {
            d.queue.as_ref().is_some_and(|q| q.id.is_some()) && d.channel.is_some()
        });
        let collections = result.collections().to_vec();
        let named = collections
            .iter()
            .all(|data| data.metric.as_ref().is_some_and(|m| m.name.is_some()));
        let finite = collections.iter().all(|data| {
            let known = data
                .metric
                .as_ref()
                .and_then(|m| m.name.as_ref())
                .and_then(|name| QueueMetric::from_api_name(name.as_str()));
            known.is_none() || data.value.is_none_or(f64::is_finite)
        });
        match queue_metric_row_from_sdk(result, unit) {
            Ok(row) => {
                prop_assert!(located && named && finite);
                prop_assert!(row.values.iter().all(|(_, value)| value.is_finite()));
                let expected = collections
                    .iter()
                    .filter(|data| {
                        data.value.is_some()
                            && data
                                .metric
                                .as_ref()
                                .and_then(|m| m.name.as_ref())
                                .is_some_and(|n| QueueMetric::from_api_name(n.as_str()).is_some())
                    })
                    .count();
                prop_assert_eq!(row.values.len(), expected);
            }
            Err(problem) => {
                prop_assert!(!(located && named && finite), "refused a good row: {problem}");
                prop_assert!(
                    problem.contains("has no ") || problem.contains(" is "),
                    "{problem}"
                );
            }
        }
    }

    #[test]
    fn metric_data_rows_have_finite_values_or_none(result in metric_result_v2()) {
        let collections = result.collections().to_vec();
        let named = collections
            .iter()
            .all(|data| data.metric.as_ref().is_some_and(|m| m.name.is_some()));
        match metric_data_row_from_sdk(result) {
            Ok(row) => {
                prop_assert!(named);
                prop_assert_eq!(row.values.len(), collections.len());
                prop_assert!(row.values.iter().all(|v| v.value.is_none_or(f64::is_finite)));
                prop_assert!(row.dimensions.windows(2).all(|pair| pair[0] <= pair[1]));
            }
            Err(problem) => {
                prop_assert!(!named, "refused a good row: {problem}");
                prop_assert!(problem.contains("without"), "{problem}");
            }
        }
    }
}
