//! GetMetricDataV2 (`POST /metrics/data`): the request checked as the service model documents
//! it ([`check_request`]), the rows computed from the contact history
//! ([`history_metric_rows`]), then paged and rendered in the service's wire format:
//! `MetricResults[{Dimensions, MetricInterval, Collections[{Metric, Value}]}]` and `NextToken`.
//! A value the service cannot compute (nothing to divide by) has no `Value` member, as AWS's
//! JSON leaves absent members out; the SDK reads it as `None`.

use serde_json::{json, Value};

use super::metric_v2_request::{check_request, CheckedRequest};
use super::paging::{fingerprint, page_size, shaped_page_bounds};
use super::Failure;
use crate::scenario::{history_metric_rows, HistoryRow, World};

/// Answers GetMetricDataV2 over `world`'s history.
pub(super) fn get_metric_data_v2(world: &World, body: &[u8]) -> Result<Value, Failure> {
    let checked = check_request(
        body,
        &world.scenario.instance_arn,
        world.now,
        world.tick_seconds,
    )?;
    let page_size = page_size(checked.max_results)?;
    let rows = history_metric_rows(&world.scenario, &world.history, world.now, &checked.query);
    let shape = fingerprint(&checked.shape);
    let (start, end, next_token) =
        shaped_page_bounds(rows.len(), checked.next_token.as_deref(), page_size, &shape)?;
    let results: Vec<Value> = rows[start..end]
        .iter()
        .map(|row| render_row(row, &checked))
        .collect();
    let mut body = json!({ "MetricResults": results });
    if let Some(token) = next_token {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

/// One `MetricResults` entry.
fn render_row(row: &HistoryRow, checked: &CheckedRequest) -> Value {
    let mut dimensions = serde_json::Map::new();
    if let Some(queue) = &row.queue_id {
        dimensions.insert("QUEUE".into(), json!(queue));
    }
    if let Some(channel) = row.channel {
        dimensions.insert("CHANNEL".into(), json!(channel));
    }
    if let Some(profile) = &row.routing_profile_id {
        dimensions.insert("ROUTING_PROFILE".into(), json!(profile));
    }
    let collections: Vec<Value> = checked
        .echo
        .iter()
        .zip(&row.values)
        .map(|(metric, value)| {
            let mut entry = json!({ "Metric": metric });
            if let Some(value) = value {
                entry["Value"] = json!(value);
            }
            entry
        })
        .collect();
    json!({
        "Dimensions": dimensions,
        "MetricInterval": {
            "Interval": checked.period,
            "StartTime": row.interval.0,
            "EndTime": row.interval.1,
        },
        "Collections": collections,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hyper::StatusCode;
    use serde_json::{json, Value};

    use super::super::metric_v2_request::intervals;
    use super::super::test_support::{metric_data_v2, queue_ids, service};
    use crate::scenario::{AgentActivity, HistoricalContact};

    const NOW: f64 = 1_700_000_090.0;
    const MIDNIGHT: f64 = 1_699_920_000.0;

    fn instance_arn(service: &super::super::Service) -> String {
        service.with_world(|w| w.scenario.instance_arn.clone())
    }

    #[test]
    fn requests_are_validated_as_the_model_says() {
        let service = service();
        let arn = instance_arn(&service);
        let queues = queue_ids(&service);
        let profile = service.with_world(|w| w.scenario.routing_profiles[0].id.clone());
        let agent = service.with_world(|w| w.scenario.agents[0].id.clone());
        let queue = json!([{"FilterKey": "QUEUE", "FilterValues": [queues[0]]}]);
        let handled = json!([{"Name": "CONTACTS_HANDLED"}]);
        let request = |changes: Value| {
            let mut body = json!({
                "ResourceArn": arn, "StartTime": NOW - 3600.0, "EndTime": NOW,
                "Filters": queue, "Metrics": handled,
            });
            for (key, value) in changes.as_object().unwrap() {
                if value.is_null() {
                    body.as_object_mut().unwrap().remove(key);
                } else {
                    body[key] = value.clone();
                }
            }
            body
        };
        let sl = |threshold: Value| json!([{"Name": "SERVICE_LEVEL", "Threshold": threshold}]);
        let fifteen = json!({"IntervalPeriod": "FIFTEEN_MIN"});
        let cases: Vec<(Value, &str)> = vec![
            (
                request(json!({"ResourceArn": null})),
                "ResourceArn is required",
            ),
            (request(json!({"ResourceArn": "4a1f6c3e"})), "not the ARN"),
            (request(json!({"StartTime": null})), "StartTime is required"),
            (request(json!({"EndTime": null})), "EndTime is required"),
            (
                request(json!({"StartTime": NOW, "EndTime": NOW - 1.0})),
                "before EndTime",
            ),
            (
                request(json!({"EndTime": NOW + 5.0})),
                "later than the current time",
            ),
            (
                request(json!({"StartTime": NOW - 3.0 * 86_400.0, "Interval": fifteen})),
                "less than 3 days",
            ),
            (
                request(json!({"StartTime": NOW - 35.0 * 86_400.0})),
                "less than 35 days",
            ),
            (
                request(json!({"Interval": {"IntervalPeriod": "MINUTE"}})),
                "IntervalPeriod",
            ),
            (
                request(json!({"Interval": {"TimeZone": "Mars/Olympus_Mons"}})),
                "not a valid time zone",
            ),
            (request(json!({"Filters": null})), "Filters is required"),
            (request(json!({"Filters": []})), "1 to 5 filters"),
            (
                request(json!({"Filters": vec![queue[0].clone(); 6]})),
                "1 to 5 filters",
            ),
            (
                request(json!({"Filters": [{"FilterKey": "CHANNEL", "FilterValues": ["VOICE"]}]})),
                "at least one of QUEUE",
            ),
            (
                request(
                    json!({"Filters": [{"FilterKey": "QUEUE", "FilterValues": queues[..60]}, {"FilterKey": "ROUTING_PROFILE", "FilterValues": vec![profile.clone(); 41]}]}),
                ),
                "at most 100 values",
            ),
            (
                request(
                    json!({"Filters": [{"FilterKey": "QUEUE", "FilterValues": queues[..101]}]}),
                ),
                "1 to 100 values",
            ),
            (
                request(json!({"Filters": [{"FilterKey": "QUEUE", "FilterValues": []}]})),
                "1 to 100 values",
            ),
            (
                request(
                    json!({"Filters": [{"FilterKey": "QUEUE", "FilterValues": [queues[0]]}, {"FilterKey": "CHANNEL", "FilterValues": ["FAX"]}]}),
                ),
                "CHANNEL value",
            ),
            (
                request(json!({"Filters": [{"FilterKey": "CAMPAIGN", "FilterValues": ["x"]}]})),
                "not one the simulator serves",
            ),
            (
                request(
                    json!({"Filters": [{"FilterKey": "QUEUE", "StringCondition": {"Comparison": "NOT_EXISTS"}}]}),
                ),
                "StringCondition",
            ),
            (
                request(
                    json!({"Groupings": ["QUEUE", "CHANNEL", "ROUTING_PROFILE", "QUEUE", "CHANNEL"]}),
                ),
                "at most 4",
            ),
            (request(json!({"Groupings": ["AGENT"]})), "Groupings"),
            (request(json!({"Metrics": null})), "Metrics is required"),
            (
                request(json!({"Metrics": [{"Name": "HAPPINESS"}]})),
                "unknown or not simulated",
            ),
            (
                request(json!({"Metrics": [{"MetricId": "arn:x"}]})),
                "MetricId",
            ),
            (request(json!({"Metrics": [{}]})), "Name is required"),
            (
                request(json!({"Metrics": sl(json!([]))})),
                "exactly one Threshold",
            ),
            (
                request(json!({"Metrics": [{"Name": "SERVICE_LEVEL"}]})),
                "exactly one Threshold",
            ),
            (
                request(
                    json!({"Metrics": sl(json!([{"Comparison": "LT", "ThresholdValue": 20}, {"Comparison": "LT", "ThresholdValue": 30}]))}),
                ),
                "exactly one Threshold",
            ),
            (
                request(
                    json!({"Metrics": sl(json!([{"Comparison": "GT", "ThresholdValue": 20}]))}),
                ),
                "LT or LTE",
            ),
            (
                request(json!({"Metrics": sl(json!([{"Comparison": "LT", "ThresholdValue": 0}]))})),
                "604800",
            ),
            (
                request(
                    json!({"Metrics": sl(json!([{"Comparison": "LT", "ThresholdValue": 604_801}]))}),
                ),
                "604800",
            ),
            (
                request(
                    json!({"Metrics": sl(json!([{"Comparison": "LTE", "ThresholdValue": 20.5}]))}),
                ),
                "whole number",
            ),
            (
                request(json!({"Metrics": sl(json!([{"Comparison": "LT"}]))})),
                "ThresholdValue",
            ),
            (
                request(
                    json!({"Metrics": [{"Name": "CONTACTS_QUEUED", "Threshold": [{"Comparison": "LT", "ThresholdValue": 20}]}]}),
                ),
                "takes no Threshold",
            ),
            (
                request(
                    json!({"Metrics": vec![sl(json!([{"Comparison": "LT", "ThresholdValue": 20}]))[0].clone(); 21]}),
                ),
                "at most 20 SERVICE_LEVEL",
            ),
            (
                request(json!({"Metrics": [{"Name": "AGENT_OCCUPANCY"}]})),
                "not valid with the filter QUEUE",
            ),
            (
                request(
                    json!({"Filters": [{"FilterKey": "ROUTING_PROFILE", "FilterValues": [profile]}], "Groupings": ["QUEUE"], "Metrics": [{"Name": "AGENT_OCCUPANCY"}]}),
                ),
                "not valid with the grouping QUEUE",
            ),
            (
                request(
                    json!({"Filters": [{"FilterKey": "AGENT", "FilterValues": [agent]}], "Metrics": sl(json!([{"Comparison": "LT", "ThresholdValue": 20}]))}),
                ),
                "not valid with the filter AGENT",
            ),
            (
                request(
                    json!({"Metrics": [{"Name": "CONTACTS_HANDLED", "MetricFilters": [{"MetricFilterKey": "DISCONNECT_REASON", "MetricFilterValues": ["x"]}]}]}),
                ),
                "takes no DISCONNECT_REASON",
            ),
            (
                request(
                    json!({"Metrics": [{"Name": "AVG_HANDLE_TIME", "MetricFilters": [{"MetricFilterKey": "INITIATION_METHOD", "MetricFilterValues": ["INBOUND"]}]}]}),
                ),
                "takes no INITIATION_METHOD",
            ),
            (
                request(
                    json!({"Metrics": [{"Name": "CONTACTS_HANDLED", "MetricFilters": [{"MetricFilterKey": "MOOD", "MetricFilterValues": ["x"]}]}]}),
                ),
                "not a metric filter key",
            ),
            (
                request(
                    json!({"Metrics": [{"Name": "CONTACTS_HANDLED", "MetricFilters": [{"MetricFilterKey": "INITIATION_METHOD", "MetricFilterValues": []}]}]}),
                ),
                "1 to 10 values",
            ),
            (request(json!({"MaxResults": 0})), "MaxResults"),
            (request(json!({"MaxResults": 101})), "MaxResults"),
            (request(json!({"NextToken": "sim:1"})), "NextToken"),
        ];
        for (body, fragment) in &cases {
            let (status, error_type, reply) = metric_data_v2(&service, body.clone());
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
            assert_eq!(
                error_type.as_deref(),
                Some("InvalidParameterException"),
                "{body}"
            );
            let message = reply["Message"].as_str().unwrap_or_default();
            assert!(
                message.contains(fragment),
                "{fragment:?} not in {message:?}"
            );
        }
        let other = arn.replace("4a1f6c3e", "00000000");
        let (status, error_type, _) =
            metric_data_v2(&service, request(json!({"ResourceArn": other})));
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::NOT_FOUND, Some("ResourceNotFoundException"))
        );
        let (status, error_type, _) = metric_data_v2(&service, json!({"StartTime": "yesterday"}));
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::BAD_REQUEST, Some("SerializationException"))
        );
        // Accepted: channels are not counted in the 100 values, a 3-day-less-a-second range,
        // a real time zone, ARNs for IDs, 20 service levels, EndTime a tick ahead.
        let accepted = [
            request(
                json!({"Filters": [{"FilterKey": "QUEUE", "FilterValues": queues[..100]}, {"FilterKey": "CHANNEL", "FilterValues": ["VOICE", "CHAT", "TASK", "EMAIL"]}]}),
            ),
            request(
                json!({"StartTime": NOW - 3.0 * 86_400.0 + 1.0, "Interval": {"IntervalPeriod": "HOUR", "TimeZone": "America/New_York"}}),
            ),
            request(
                json!({"Filters": [{"FilterKey": "QUEUE", "FilterValues": [format!("{arn}/queue/{}", queues[0])]}]}),
            ),
            request(
                json!({"Metrics": vec![sl(json!([{"Comparison": "LT", "ThresholdValue": 20}]))[0].clone(); 20]}),
            ),
            request(json!({"EndTime": NOW + 1.0})),
        ];
        for body in accepted {
            let (status, _, reply) = metric_data_v2(&service, body.clone());
            assert_eq!(status, StatusCode::OK, "{body}: {reply}");
        }
        assert_eq!(
            service.request_count("GetMetricDataV2"),
            (cases.len() + 2 + 5) as u64
        );
    }

    /// The rows' `(dimensions, interval start)` and values of metric `name`.
    fn values(reply: &Value, name: &str) -> BTreeMap<(String, u64), Option<f64>> {
        let rows = reply["MetricResults"].as_array().expect("MetricResults");
        rows.iter()
            .map(|row| {
                let value = row["Collections"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["Metric"]["Name"] == name)
                    .map(|c| c["Value"].as_f64())
                    .unwrap_or_else(|| panic!("{name} missing in {row}"));
                let key = (
                    row["Dimensions"].to_string(),
                    row["MetricInterval"]["StartTime"].as_f64().unwrap() as u64,
                );
                (key, value)
            })
            .collect()
    }

    #[test]
    fn values_match_an_independent_count_of_the_history() {
        let service = service();
        let arn = instance_arn(&service);
        let queues = queue_ids(&service);
        let body = json!({
            "ResourceArn": arn,
            "StartTime": MIDNIGHT,
            "EndTime": NOW,
            "Interval": {"IntervalPeriod": "FIFTEEN_MIN", "TimeZone": "UTC"},
            "Filters": [
                {"FilterKey": "QUEUE", "FilterValues": queues[..20]},
                {"FilterKey": "CHANNEL", "FilterValues": ["VOICE", "CHAT"]},
            ],
            "Groupings": ["QUEUE"],
            "Metrics": [
                {"Name": "SERVICE_LEVEL", "Threshold": [{"Comparison": "LTE", "ThresholdValue": 20}]},
                {"Name": "CONTACTS_HANDLED", "MetricFilters": [{"MetricFilterKey": "INITIATION_METHOD", "MetricFilterValues": ["CALLBACK"]}]},
                {"Name": "AVG_ABANDON_TIME"},
            ],
        });
        let mut reply = Value::Null;
        let mut pages = Vec::new();
        loop {
            let mut page = body.clone();
            if let Some(token) = reply.get("NextToken") {
                page["NextToken"] = token.clone();
            }
            let (status, _, answer) = metric_data_v2(&service, page);
            assert_eq!(status, StatusCode::OK, "{answer}");
            reply = answer;
            pages.extend(reply["MetricResults"].as_array().unwrap().clone());
            if reply.get("NextToken").is_none() {
                break;
            }
        }
        let whole = json!({"MetricResults": pages});
        let row = &pages[0];
        assert_eq!(row["MetricInterval"]["Interval"], "FIFTEEN_MIN");
        assert_eq!(
            row["Collections"][0]["Metric"],
            json!({"Name": "SERVICE_LEVEL", "Threshold": [{"Comparison": "LTE", "ThresholdValue": 20.0}]})
        );
        assert_eq!(
            row["Collections"][1]["Metric"]["MetricFilters"],
            json!([{"MetricFilterKey": "INITIATION_METHOD", "MetricFilterValues": ["CALLBACK"], "Negate": false}])
        );

        // The same from the records, computed here.
        let history: Vec<HistoricalContact> =
            service.with_world(|w| w.history.contacts(&w.scenario));
        let mut expected: BTreeMap<(String, u64), [f64; 5]> = BTreeMap::new();
        for contact in &history {
            let at = contact.disconnected_at;
            if !(MIDNIGHT..NOW).contains(&at)
                || !queues[..20].contains(&contact.queue_id)
                || !["VOICE", "CHAT"].contains(&contact.channel.as_str())
            {
                continue;
            }
            let start = MIDNIGHT + ((at - MIDNIGHT) / 900.0).floor() * 900.0;
            let key = (json!({"QUEUE": contact.queue_id}).to_string(), start as u64);
            let sums = expected.entry(key).or_default();
            let wait = contact.dequeued_at - contact.enqueued_at;
            sums[0] += 1.0;
            sums[1] += f64::from(u8::from(wait <= 20.0));
            let callback = contact.initiation_method == "CALLBACK";
            sums[2] += f64::from(u8::from(contact.answered.is_some() && callback));
            if contact.answered.is_none() {
                sums[3] += wait;
                sums[4] += 1.0;
            }
        }
        let service_level = values(&whole, "SERVICE_LEVEL");
        let callbacks = values(&whole, "CONTACTS_HANDLED");
        let abandon = values(&whole, "AVG_ABANDON_TIME");
        assert_eq!(
            service_level.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            (a, b) => a == b,
        };
        let mut nulls = 0;
        for (key, sums) in &expected {
            assert!(
                close(service_level[key], Some(sums[1] / sums[0] * 100.0)),
                "{key:?}"
            );
            assert_eq!(callbacks[key], Some(sums[2]));
            let mean = (sums[4] > 0.0).then(|| sums[3] / sums[4]);
            assert!(
                close(abandon[key], mean),
                "{key:?}: {:?} vs {mean:?}",
                abandon[key]
            );
            nulls += usize::from(mean.is_none());
        }
        assert!(nulls > 0 && nulls < expected.len(), "some nulls: {nulls}");
        // A null has no Value member at all.
        let null_entry = pages
            .iter()
            .flat_map(|row| row["Collections"].as_array().unwrap().clone())
            .find(|c| c["Metric"]["Name"] == "AVG_ABANDON_TIME" && c.get("Value").is_none());
        assert!(null_entry.is_some());
        assert!(
            expected.len() > 100,
            "{} rows over several pages",
            expected.len()
        );
    }

    #[test]
    fn occupancy_by_routing_profile_matches_the_agent_time() {
        let service = service();
        let arn = instance_arn(&service);
        let (profiles, spans) = service.with_world(|w| {
            let profiles: Vec<String> = w.scenario.routing_profiles[..5]
                .iter()
                .map(|p| p.id.clone())
                .collect();
            (profiles, w.history.agent_time(&w.scenario, w.now))
        });
        let (start, end) = (NOW - 7200.0, NOW);
        let (status, _, reply) = metric_data_v2(
            &service,
            json!({
                "ResourceArn": arn, "StartTime": start, "EndTime": end,
                "Filters": [{"FilterKey": "ROUTING_PROFILE", "FilterValues": profiles}],
                "Groupings": ["ROUTING_PROFILE"],
                "Metrics": [{"Name": "AGENT_OCCUPANCY"}],
            }),
        );
        assert_eq!(status, StatusCode::OK, "{reply}");
        let got = values(&reply, "AGENT_OCCUPANCY");
        assert_eq!(got.len(), 5);
        for profile in &profiles {
            let (mut on, mut all) = (0.0, 0.0);
            for span in spans.iter().filter(|s| &s.routing_profile_id == profile) {
                let overlap = span.end.min(end) - span.start.max(start);
                if overlap > 0.0 {
                    all += overlap;
                    if span.activity == AgentActivity::OnContact {
                        on += overlap;
                    }
                }
            }
            let key = (
                json!({"ROUTING_PROFILE": profile}).to_string(),
                start as u64,
            );
            let value = got[&key].unwrap();
            assert!((value - on / all * 100.0).abs() < 1e-9, "{value}");
            assert!((30.0..100.0).contains(&value), "{value}");
        }
    }

    #[test]
    fn paging_is_stable_and_tokens_belong_to_their_request() {
        let service = service();
        let arn = instance_arn(&service);
        let queues = queue_ids(&service);
        let body = |max: u64| {
            json!({
                "ResourceArn": arn, "StartTime": NOW - 3600.0, "EndTime": NOW,
                "Interval": {"IntervalPeriod": "FIFTEEN_MIN"},
                "Filters": [{"FilterKey": "QUEUE", "FilterValues": queues[..50]}],
                "Groupings": ["QUEUE", "CHANNEL"],
                "Metrics": [{"Name": "CONTACTS_QUEUED"}],
                "MaxResults": max,
            })
        };
        let (_, _, whole) = metric_data_v2(&service, body(100));
        let mut rows = Vec::new();
        let mut token = None;
        loop {
            let mut request = body(7);
            if let Some(token) = token.take() {
                request["NextToken"] = token;
            }
            let (status, _, page) = metric_data_v2(&service, request);
            assert_eq!(status, StatusCode::OK, "{page}");
            let results = page["MetricResults"].as_array().unwrap();
            assert!(results.len() <= 7);
            rows.extend(results.clone());
            match page.get("NextToken") {
                Some(next) => token = Some(next.clone()),
                None => break,
            }
        }
        assert!(rows.len() > 7);
        let first_page = whole["MetricResults"].as_array().unwrap();
        assert_eq!(
            &rows[..first_page.len().min(rows.len())],
            &first_page[..rows.len().min(first_page.len())]
        );
        let (_, _, second) = metric_data_v2(&service, body(7));
        let mut other = body(7);
        other["Groupings"] = json!(["QUEUE"]);
        other["NextToken"] = second["NextToken"].clone();
        let (status, _, reply) = metric_data_v2(&service, other);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    }

    #[test]
    fn intervals_step_from_start_time_and_days_follow_the_time_zone() {
        let utc = jiff::tz::TimeZone::UTC;
        let got = intervals(1000.0, 3000.0, "FIFTEEN_MIN", &utc).unwrap();
        assert_eq!(
            got,
            vec![(1000.0, 1900.0), (1900.0, 2800.0), (2800.0, 3000.0)]
        );
        assert_eq!(
            intervals(0.0, 7200.0, "HOUR", &utc).unwrap(),
            vec![(0.0, 3600.0), (3600.0, 7200.0)]
        );
        assert_eq!(
            intervals(5.0, 9.0, "TOTAL", &utc).unwrap(),
            vec![(5.0, 9.0)]
        );
        // Europe/London leaves summer time on 2023-10-29: that day lasts 25 hours.
        let london = jiff::tz::TimeZone::get("Europe/London").unwrap();
        let noon = 1_698_490_800.0; // 2023-10-28 12:00 BST
        let days = intervals(noon, noon + 3.0 * 86_400.0, "DAY", &london).unwrap();
        assert_eq!(days[0], (noon, noon + 90_000.0));
        assert_eq!(days[1], (noon + 90_000.0, noon + 176_400.0));
        assert_eq!(days.last().map(|d| d.1), Some(noon + 3.0 * 86_400.0));
        let weeks = intervals(noon, noon + 20.0 * 86_400.0, "WEEK", &london).unwrap();
        assert_eq!(weeks.len(), 3);
        assert_eq!(weeks[0].1, noon + 7.0 * 86_400.0 + 3600.0);
    }
}
