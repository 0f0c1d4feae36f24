//! GetCurrentMetricData: the request checked as the service checks it, then paged and
//! rendered; the values themselves come from [`queue_metric_rows`].

use serde_json::{json, Value};

use hyper::StatusCode;

use super::paging::{fingerprint, page_size, shaped_page_bounds};
use super::{invalid, Failure};
use crate::scenario::{
    queue_metric_rows, CurrentMetric, MetricQuery, MetricRow, Scenario, World, METRIC_CHANNELS,
};
use crate::wire::{CurrentMetricRequest, GetCurrentMetricDataRequest, MetricFilters};

/// Queue and routing profile IDs a request selects: `Filters.Queues` or
/// `Filters.RoutingProfiles`, resolved to IDs.
type Scope = (Option<Vec<String>>, Option<Vec<String>>);

/// Answers GetCurrentMetricData. Bad input is a 400 `InvalidParameterException` (a queue or
/// routing profile the instance does not have included, as for any other bad filter value);
/// the values come from [`queue_metric_rows`], so this only checks, pages and renders.
pub(super) fn get_current_metric_data(world: &World, body: &[u8]) -> Result<Value, Failure> {
    let request: GetCurrentMetricDataRequest = serde_json::from_slice(body).map_err(|error| {
        (
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("cannot read the request body: {error}"),
        )
    })?;
    let scenario = &world.scenario;
    let filters = request
        .filters
        .ok_or_else(|| invalid("Filters is required".to_string()))?;
    let (queues, routing_profiles) = resolve_scope(scenario, &filters)?;
    let channels = check_channels(filters.channels.unwrap_or_default())?;
    let groupings = check_groupings(request.groupings.unwrap_or_default())?;
    let metrics = check_metrics(&request.current_metrics.unwrap_or_default())?;
    let page_size = page_size(request.max_results)?;

    let grouped = !groupings.is_empty();
    let query = MetricQuery {
        queues,
        routing_profiles,
        channels,
        by_queue: groupings.iter().any(|g| g == "QUEUE"),
        by_channel: groupings.iter().any(|g| g == "CHANNEL"),
        by_routing_profile: groupings.iter().any(|g| g == "ROUTING_PROFILE"),
    };
    // A token only continues the request shape it was issued for, as with the real API.
    let shape = request_shape(&query, &metrics);
    let rows = queue_metric_rows(scenario, &query, world.now);
    let (start, end, next_token) =
        shaped_page_bounds(rows.len(), request.next_token.as_deref(), page_size, &shape)?;
    let results: Vec<Value> = rows[start..end]
        .iter()
        .map(|row| render_row(row, &metrics, grouped, &scenario.instance_arn))
        .collect();
    let mut body = json!({
        "MetricResults": results,
        "DataSnapshotTime": world.now,
        "ApproximateTotalCount": rows.len(),
    });
    if let Some(token) = next_token {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

/// `Filters.Queues` or `Filters.RoutingProfiles` (exactly one), each value an ID or ARN of
/// this instance, resolved to IDs.
fn resolve_scope(scenario: &Scenario, filters: &MetricFilters) -> Result<Scope, Failure> {
    match (&filters.queues, &filters.routing_profiles) {
        (Some(_), Some(_)) => Err(invalid(
            "Filters takes Queues or RoutingProfiles, not both".to_string(),
        )),
        (None, None) => Err(invalid(
            "Filters needs Queues or RoutingProfiles (1 to 100 IDs or ARNs)".to_string(),
        )),
        (Some(values), None) => {
            let ids = resolve_ids("Queues", "queue", values, |value| {
                scenario
                    .queues
                    .iter()
                    .find(|q| &q.id == value || &q.arn == value)
                    .map(|q| q.id.clone())
            })?;
            Ok((Some(ids), None))
        }
        (None, Some(values)) => {
            let ids = resolve_ids("RoutingProfiles", "routing profile", values, |value| {
                scenario
                    .routing_profiles
                    .iter()
                    .find(|p| &p.id == value || &p.arn == value)
                    .map(|p| p.id.clone())
            })?;
            Ok((None, Some(ids)))
        }
    }
}

/// The IDs of filter `Filters.{name}`'s 1 to 100 `values`, each found by `find`; `noun` names
/// what was not found.
fn resolve_ids(
    name: &str,
    noun: &str,
    values: &[String],
    find: impl Fn(&String) -> Option<String>,
) -> Result<Vec<String>, Failure> {
    if values.is_empty() || values.len() > 100 {
        return Err(invalid(format!(
            "Filters.{name} takes 1 to 100 values, got {}",
            values.len()
        )));
    }
    values
        .iter()
        .map(|value| {
            find(value).ok_or_else(|| {
                invalid(format!(
                    "Filters.{name}: no {noun} {value:?} in this instance"
                ))
            })
        })
        .collect()
}

/// `Filters.Channels`: at most three of VOICE, CHAT and TASK.
fn check_channels(channels: Vec<String>) -> Result<Vec<String>, Failure> {
    if channels.len() > METRIC_CHANNELS.len() {
        return Err(invalid(format!(
            "Filters.Channels takes at most 3 values, got {}",
            channels.len()
        )));
    }
    if let Some(unknown) = channels
        .iter()
        .find(|c| !METRIC_CHANNELS.contains(&c.as_str()))
    {
        return Err(invalid(format!(
            "Filters.Channels: {unknown:?} is not one of VOICE, CHAT, TASK"
        )));
    }
    Ok(channels)
}

/// `Groupings`: at most two distinct of QUEUE, CHANNEL and ROUTING_PROFILE.
fn check_groupings(groupings: Vec<String>) -> Result<Vec<String>, Failure> {
    if groupings.len() > 2 {
        return Err(invalid(format!(
            "Groupings takes at most 2 values, got {}",
            groupings.len()
        )));
    }
    for (index, grouping) in groupings.iter().enumerate() {
        if !["QUEUE", "CHANNEL", "ROUTING_PROFILE"].contains(&grouping.as_str()) {
            return Err(invalid(format!(
                "Groupings: {grouping:?} is not one of QUEUE, CHANNEL, ROUTING_PROFILE"
            )));
        }
        if groupings[..index].contains(grouping) {
            return Err(invalid(format!("Groupings: {grouping} given twice")));
        }
    }
    Ok(groupings)
}

/// `CurrentMetrics`: at least one, each a known metric in its one unit (a missing unit is
/// taken as the metric's own).
fn check_metrics(requested: &[CurrentMetricRequest]) -> Result<Vec<CurrentMetric>, Failure> {
    if requested.is_empty() {
        return Err(invalid(
            "CurrentMetrics is required and takes at least one metric".to_string(),
        ));
    }
    requested
        .iter()
        .enumerate()
        .map(|(index, wanted)| {
            let name = wanted
                .name
                .as_deref()
                .ok_or_else(|| invalid(format!("CurrentMetrics[{index}]: Name is required")))?;
            let metric = CurrentMetric::from_name(name).ok_or_else(|| {
                invalid(format!("CurrentMetrics[{index}]: unknown metric {name:?}"))
            })?;
            match wanted.unit.as_deref() {
                Some(unit) if unit != metric.unit() => Err(invalid(format!(
                    "CurrentMetrics[{index}]: {name} takes Unit {}, not {unit:?}",
                    metric.unit()
                ))),
                _ => Ok(metric),
            }
        })
        .collect()
}

/// One `MetricResults` entry: the row's dimensions and the requested metrics' values.
fn render_row(
    row: &MetricRow,
    metrics: &[CurrentMetric],
    grouped: bool,
    instance_arn: &str,
) -> Value {
    let mut dimensions = serde_json::Map::new();
    if let Some(queue) = &row.queue_id {
        dimensions.insert(
            "Queue".into(),
            json!({"Id": queue, "Arn": format!("{instance_arn}/queue/{queue}")}),
        );
    }
    if let Some(channel) = row.channel {
        dimensions.insert("Channel".into(), json!(channel));
    }
    if let Some(profile) = &row.routing_profile_id {
        dimensions.insert(
            "RoutingProfile".into(),
            json!({"Id": profile, "Arn": format!("{instance_arn}/routing-profile/{profile}")}),
        );
    }
    let collections: Vec<Value> = metrics
        .iter()
        .map(|metric| {
            let value = match row.metrics.value(*metric) {
                // The current service model (botocore 1.44): "When you use groupings, Unit
                // says SECONDS and the Value is returned in SECONDS. When you do not use
                // groupings, Unit says SECONDS but the Value is returned in MILLISECONDS."
                // Millisecond precision either way.
                Some(age) if *metric == CurrentMetric::OldestContactAge => {
                    let millis = (age * 1000.0).round();
                    Some(if grouped { millis / 1000.0 } else { millis })
                }
                value => value,
            };
            json!({
                "Metric": {"Name": metric.name(), "Unit": metric.unit()},
                "Value": value,
            })
        })
        .collect();
    json!({"Dimensions": dimensions, "Collections": collections})
}

/// A fingerprint of what a GetCurrentMetricData request asks for (not its page size), so that
/// a token from one request shape is refused by another.
fn request_shape(query: &MetricQuery, metrics: &[CurrentMetric]) -> String {
    let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
    fingerprint(&format!(
        "{:?}|{:?}|{:?}|{}{}{}|{names:?}",
        query.queues,
        query.routing_profiles,
        query.channels,
        query.by_queue,
        query.by_channel,
        query.by_routing_profile
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use hyper::StatusCode;
    use serde_json::{json, Value};

    use super::super::test_support::{
        all_metrics, metric_data, metric_value, queue_ids, service, INSTANCE,
    };
    use super::super::Service;
    use crate::faults::Faults;
    use crate::scenario::{Agent, CurrentMetric, Size, World, METRIC_CHANNELS};

    #[test]
    fn metric_data_requests_are_validated() {
        let service = service();
        let queues = queue_ids(&service);
        let profile = service.with_world(|w| w.scenario.routing_profiles[0].id.clone());
        let metric = json!([{"Name": "CONTACTS_IN_QUEUE", "Unit": "COUNT"}]);
        let cases = [
            json!({"CurrentMetrics": metric}),
            json!({"Filters": {}, "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": []}, "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": queues[..101]}, "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": [queues[0]], "RoutingProfiles": [profile]}, "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": ["0d6c1d3e-0000-4000-8000-000000000000"]}, "CurrentMetrics": metric}),
            json!({"Filters": {"RoutingProfiles": ["nope"]}, "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": [queues[0]], "Channels": ["EMAIL"]}, "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": [queues[0]], "Channels": ["VOICE", "CHAT", "TASK", "VOICE"]}, "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": [queues[0]]}, "Groupings": ["QUEUE", "CHANNEL", "ROUTING_PROFILE"], "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": [queues[0]]}, "Groupings": ["AGENT"], "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": [queues[0]]}, "Groupings": ["QUEUE", "QUEUE"], "CurrentMetrics": metric}),
            json!({"Filters": {"Queues": [queues[0]]}}),
            json!({"Filters": {"Queues": [queues[0]]}, "CurrentMetrics": []}),
            json!({"Filters": {"Queues": [queues[0]]}, "CurrentMetrics": [{"Name": "HAPPINESS", "Unit": "COUNT"}]}),
            json!({"Filters": {"Queues": [queues[0]]}, "CurrentMetrics": [{"Name": "OLDEST_CONTACT_AGE", "Unit": "COUNT"}]}),
            json!({"Filters": {"Queues": [queues[0]]}, "CurrentMetrics": [{"Unit": "COUNT"}]}),
            json!({"Filters": {"Queues": [queues[0]]}, "CurrentMetrics": metric, "MaxResults": 0}),
            json!({"Filters": {"Queues": [queues[0]]}, "CurrentMetrics": metric, "MaxResults": 101}),
            json!({"Filters": {"Queues": [queues[0]]}, "CurrentMetrics": metric, "NextToken": "sim:1"}),
        ];
        for body in cases {
            let (status, error_type, reply) = metric_data(&service, body.clone());
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
            assert_eq!(
                error_type.as_deref(),
                Some("InvalidParameterException"),
                "{body}: {reply}"
            );
            assert!(reply["Message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let (_, error_type, _) = metric_data(&service, json!({"Filters": {"Queues": "x"}}));
        assert_eq!(error_type.as_deref(), Some("SerializationException"));
        // ARNs work as well as IDs, and a missing Unit is taken as the metric's own.
        let arn = service.with_world(|w| w.scenario.queues[0].arn.clone());
        let (status, _, reply) = metric_data(
            &service,
            json!({"Filters": {"Queues": [arn]}, "CurrentMetrics": [{"Name": "OLDEST_CONTACT_AGE"}]}),
        );
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(
            reply["MetricResults"][0]["Collections"][0]["Metric"]["Unit"],
            "SECONDS"
        );
        assert_eq!(service.request_count("GetCurrentMetricData"), 22);
    }

    #[test]
    fn metric_data_paging_returns_every_row_once() {
        let service = service();
        let queues = queue_ids(&service);
        let request = json!({
            "Filters": {"Queues": queues[..100]},
            "Groupings": ["QUEUE", "CHANNEL"],
            "CurrentMetrics": [{"Name": "CONTACTS_IN_QUEUE", "Unit": "COUNT"}],
        });
        let (_, _, whole) = metric_data(&service, request.clone());
        let total = whole["ApproximateTotalCount"].as_u64().unwrap() as usize;
        assert!(total > 100, "more rows than one page: {total}");
        assert_eq!(whole["MetricResults"].as_array().unwrap().len(), 100);

        let key = |row: &Value| {
            (
                row["Dimensions"]["Queue"]["Id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                row["Dimensions"]["Channel"].as_str().unwrap().to_string(),
            )
        };
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut body = request.clone();
            body["MaxResults"] = json!(7);
            if let Some(token) = &token {
                body["NextToken"] = json!(token);
            }
            let (status, _, reply) = metric_data(&service, body);
            assert_eq!(status, StatusCode::OK, "{reply}");
            pages += 1;
            seen.extend(reply["MetricResults"].as_array().unwrap().iter().map(key));
            match reply["NextToken"].as_str() {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(pages, total.div_ceil(7));
        let distinct: BTreeSet<&(String, String)> = seen.iter().collect();
        assert_eq!((distinct.len(), seen.len()), (total, total));
        // Queue order of the request, then channel.
        let position = |id: &str| queues.iter().position(|q| q == id).unwrap();
        let channel = |c: &str| METRIC_CHANNELS.iter().position(|x| *x == c).unwrap();
        assert!(seen.windows(2).all(|pair| {
            (position(&pair[0].0), channel(&pair[0].1))
                < (position(&pair[1].0), channel(&pair[1].1))
        }));

        // A token continues only the request shape it was issued for.
        let issued = whole["NextToken"].as_str().unwrap().to_string();
        let mut other = request.clone();
        other["Groupings"] = json!(["QUEUE"]);
        other["NextToken"] = json!(issued);
        let (status, error_type, _) = metric_data(&service, other);
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameterException"))
        );
    }

    #[test]
    fn oldest_contact_age_is_in_milliseconds_only_when_not_grouped() {
        let service = service();
        let (queue, oldest, now) = service.with_world(|w| {
            let contact = &w.scenario.waiting_contacts[0];
            let oldest = w
                .scenario
                .waiting_contacts
                .iter()
                .filter(|c| c.queue_id == contact.queue_id)
                .map(|c| c.enqueued_at)
                .fold(f64::INFINITY, f64::min);
            (contact.queue_id.clone(), oldest, w.now)
        });
        let age = now - oldest;
        assert!(age > 0.0);
        let metric = json!([{"Name": "OLDEST_CONTACT_AGE", "Unit": "SECONDS"}]);
        let ask = |groupings: Value| {
            let (status, _, reply) = metric_data(
                &service,
                json!({"Filters": {"Queues": [queue]}, "Groupings": groupings, "CurrentMetrics": metric}),
            );
            assert_eq!(status, StatusCode::OK, "{reply}");
            let rows = reply["MetricResults"].as_array().unwrap().clone();
            assert_eq!(rows.len(), 1, "{reply}");
            assert_eq!(rows[0]["Collections"][0]["Metric"]["Unit"], "SECONDS");
            metric_value(&rows[0], "OLDEST_CONTACT_AGE").unwrap()
        };
        let grouped = ask(json!(["QUEUE"]));
        assert!((grouped - age).abs() <= 0.001, "{grouped} s vs {age} s");
        let ungrouped = ask(json!([]));
        assert!(
            (ungrouped - age * 1000.0).abs() <= 1.0,
            "{ungrouped} ms vs {age} s"
        );
        assert_eq!(ungrouped, ungrouped.round());
        assert!(grouped.is_finite() && grouped < ungrouped);
    }

    /// A small frozen world, counted by hand against every row's values.
    #[test]
    fn metric_values_match_a_hand_count() {
        let world = World::new(
            INSTANCE,
            "eu-west-2",
            "123456789012",
            Size {
                agents: 60,
                queues: 6,
                routing_profiles: 5,
            },
            21,
            1_700_000_000.0,
            1.0,
        );
        let service = Service::new(world, true, Faults::default());
        let (scenario, now) = service.with_world(|w| (w.scenario.clone(), w.now));
        assert!(!scenario.waiting_contacts.is_empty());
        let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
        let (status, _, reply) = metric_data(
            &service,
            json!({
                "Filters": {"Queues": queues},
                "Groupings": ["QUEUE", "CHANNEL"],
                "CurrentMetrics": all_metrics(),
            }),
        );
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["DataSnapshotTime"].as_f64(), Some(now));
        let rows = reply["MetricResults"].as_array().unwrap();

        let profile_serves = |profile_id: &str, queue: &str, channel: &str| {
            scenario.routing_profiles.iter().any(|p| {
                p.id == profile_id
                    && p.queues
                        .iter()
                        .any(|e| e.queue_id == queue && e.channel == channel)
            })
        };
        let mut expected_keys = Vec::new();
        for queue in &queues {
            for channel in ["VOICE", "CHAT", "TASK"] {
                let served = scenario
                    .routing_profiles
                    .iter()
                    .any(|p| profile_serves(&p.id, queue, channel));
                let queued = scenario
                    .waiting_contacts
                    .iter()
                    .chain(&scenario.scheduled_contacts)
                    .any(|c| &c.queue_id == queue && c.channel == channel);
                if served || queued {
                    expected_keys.push((queue.clone(), channel.to_string()));
                }
            }
        }
        let keys: Vec<(String, String)> = rows
            .iter()
            .map(|row| {
                (
                    row["Dimensions"]["Queue"]["Id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    row["Dimensions"]["Channel"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(keys, expected_keys);

        let mut waiting_rows = 0;
        let mut ewt_seen = false;
        for (row, (queue, channel)) in rows.iter().zip(&expected_keys) {
            let arn = &scenario.queues.iter().find(|q| &q.id == queue).unwrap().arn;
            assert_eq!(row["Dimensions"]["Queue"]["Arn"], arn.as_str());
            assert_eq!(
                row["Collections"].as_array().unwrap().len(),
                CurrentMetric::ALL.len()
            );
            let waiting: Vec<f64> = scenario
                .waiting_contacts
                .iter()
                .filter(|c| &c.queue_id == queue && &c.channel == channel)
                .map(|c| c.enqueued_at)
                .collect();
            let scheduled = scenario
                .scheduled_contacts
                .iter()
                .filter(|c| &c.queue_id == queue && &c.channel == channel)
                .count();
            let oldest_ms = waiting
                .iter()
                .map(|t| (now - t) * 1000.0)
                .fold(0.0, f64::max);
            waiting_rows += usize::from(!waiting.is_empty());

            let eligible: Vec<&Agent> = scenario
                .agents
                .iter()
                .filter(|a| profile_serves(&a.routing_profile_id, queue, channel))
                .collect();
            let has = |a: &Agent, states: &[&str]| {
                a.contacts
                    .iter()
                    .any(|c| states.contains(&c.state.as_str()))
            };
            let on_contact = |a: &Agent| {
                has(
                    a,
                    &[
                        "INCOMING",
                        "PENDING",
                        "CONNECTING",
                        "CONNECTED",
                        "CONNECTED_ONHOLD",
                    ],
                )
            };
            let acw = |a: &Agent| !on_contact(a) && has(a, &["ENDED"]);
            let online = |a: &Agent| a.status_name != "Offline";
            let count =
                |f: &dyn Fn(&Agent) -> bool| eligible.iter().filter(|a| f(a)).count() as f64;
            let staffed =
                count(&|a| online(a) && (a.status_name == "Available" || on_contact(a) || acw(a)));
            let slots = |pick: fn(&Agent) -> &BTreeMap<String, i32>| {
                eligible
                    .iter()
                    .map(|a| f64::from(pick(a).get(channel).copied().unwrap_or(0)))
                    .sum::<f64>()
            };
            let expected: Vec<(&str, Option<f64>)> = vec![
                ("CONTACTS_IN_QUEUE", Some(waiting.len() as f64)),
                ("CONTACTS_SCHEDULED", Some(scheduled as f64)),
                ("AGENTS_ONLINE", Some(count(&online))),
                (
                    "AGENTS_AVAILABLE",
                    Some(count(&|a| a.status_name == "Available")),
                ),
                ("AGENTS_ON_CONTACT", Some(count(&on_contact))),
                ("AGENTS_ON_CALL", Some(count(&on_contact))),
                ("AGENTS_AFTER_CONTACT_WORK", Some(count(&acw))),
                (
                    "AGENTS_ERROR",
                    Some(count(&|a| has(a, &["MISSED", "ERROR"]))),
                ),
                (
                    "AGENTS_NON_PRODUCTIVE",
                    Some(count(&|a| {
                        ["Break", "Lunch", "Training"].contains(&a.status_name.as_str())
                            && a.contacts.is_empty()
                    })),
                ),
                ("AGENTS_STAFFED", Some(staffed)),
                ("SLOTS_ACTIVE", Some(slots(|a| &a.active_slots))),
                ("SLOTS_AVAILABLE", Some(slots(|a| &a.available_slots))),
                (
                    "ESTIMATED_WAIT_TIME",
                    (staffed > 0.0).then(|| waiting.len() as f64 * 30.0 / staffed),
                ),
            ];
            for (name, value) in expected {
                assert_eq!(
                    metric_value(row, name),
                    value,
                    "{name} of {queue} {channel}"
                );
            }
            ewt_seen |= metric_value(row, "ESTIMATED_WAIT_TIME").is_some_and(|v| v > 0.0);
            let age = metric_value(row, "OLDEST_CONTACT_AGE").unwrap();
            assert!(
                (age * 1000.0 - oldest_ms).abs() <= 1.0,
                "{age} s vs {oldest_ms} ms (grouped: seconds)"
            );
        }
        assert!(waiting_rows > 0 && ewt_seen);
    }

    #[test]
    fn estimated_wait_time_is_null_when_nobody_is_staffed() {
        let service = service();
        let queue = service.change_world(|w| {
            let queue = w.scenario.waiting_contacts[0].queue_id.clone();
            for agent in &mut w.scenario.agents {
                agent.status_name = "Offline".into();
                agent.contacts.clear();
            }
            queue
        });
        let (status, _, reply) = metric_data(
            &service,
            json!({
                "Filters": {"Queues": [queue]},
                "CurrentMetrics": [
                    {"Name": "ESTIMATED_WAIT_TIME", "Unit": "SECONDS"},
                    {"Name": "AGENTS_STAFFED", "Unit": "COUNT"},
                    {"Name": "CONTACTS_IN_QUEUE", "Unit": "COUNT"},
                ],
            }),
        );
        assert_eq!(status, StatusCode::OK, "{reply}");
        let row = &reply["MetricResults"][0];
        assert_eq!(row["Dimensions"], json!({}));
        assert!(row["Collections"][0]["Value"].is_null(), "{reply}");
        assert_eq!(metric_value(row, "AGENTS_STAFFED"), Some(0.0));
        assert!(metric_value(row, "CONTACTS_IN_QUEUE").is_some_and(|n| n >= 1.0));
    }
}
