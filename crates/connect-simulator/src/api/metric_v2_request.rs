//! GetMetricDataV2's request, checked as the service model documents it and turned into a
//! [`HistoryQuery`]. Every rule the model states is enforced; where it states none (interval
//! alignment, unknown IDs, a filter key given twice) the request is accepted: unknown IDs match
//! nothing, repeated keys add their values.

use hyper::StatusCode;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde_json::{json, Value};

use super::{invalid, Failure};
use crate::scenario::{Comparison, HistoricalMetric, HistoryQuery, MetricSpec, HISTORY_CHANNELS};
use crate::wire::{FilterV2, GetMetricDataV2Request, IntervalDetails, MetricV2};

/// Filter keys that name Connect resources: a request needs at least one of them.
const RESOURCE_FILTER_KEYS: [&str; 11] = [
    "QUEUE",
    "ROUTING_PROFILE",
    "AGENT",
    "AGENT_HIERARCHY_LEVEL_ONE",
    "AGENT_HIERARCHY_LEVEL_TWO",
    "AGENT_HIERARCHY_LEVEL_THREE",
    "AGENT_HIERARCHY_LEVEL_FOUR",
    "AGENT_HIERARCHY_LEVEL_FIVE",
    "CAMPAIGN",
    "EVALUATION_FORM",
    "EVALUATOR_ID",
];
/// The filter keys the simulator serves.
const SIMULATED_FILTER_KEYS: [&str; 9] = [
    "QUEUE",
    "CHANNEL",
    "ROUTING_PROFILE",
    "AGENT",
    "AGENT_HIERARCHY_LEVEL_ONE",
    "AGENT_HIERARCHY_LEVEL_TWO",
    "AGENT_HIERARCHY_LEVEL_THREE",
    "AGENT_HIERARCHY_LEVEL_FOUR",
    "AGENT_HIERARCHY_LEVEL_FIVE",
];
/// The groupings the simulator serves.
const SIMULATED_GROUPINGS: [&str; 3] = ["QUEUE", "CHANNEL", "ROUTING_PROFILE"];
/// The model's metric filter keys (`MetricFilterV2.MetricFilterKey`).
const MODEL_METRIC_FILTER_KEYS: [&str; 8] = [
    "ANSWERING_MACHINE_DETECTION_STATUS",
    "CASE_STATUS",
    "DISCONNECT_REASON",
    "FLOWS_ACTION_IDENTIFIER",
    "FLOWS_NEXT_ACTION_IDENTIFIER",
    "FLOWS_OUTCOME_TYPE",
    "FLOWS_RESOURCE_TYPE",
    "INITIATION_METHOD",
];
/// "You can include up to 20 SERVICE_LEVEL metrics in a request."
const MAX_SERVICE_LEVEL_METRICS: usize = 20;
/// A threshold's bounds, seconds ("any whole number from 1 to 604800 (inclusive)").
const THRESHOLD_RANGE: std::ops::RangeInclusive<f64> = 1.0..=604_800.0;
const DAY: f64 = 86_400.0;

/// A request checked: the query, what to echo, and how to page.
#[derive(Debug)]
pub(super) struct CheckedRequest {
    pub(super) query: HistoryQuery,
    /// `IntervalPeriod`, as `MetricInterval.Interval` echoes it.
    pub(super) period: &'static str,
    /// The `Metric` object of each requested metric, as `Collections` echoes it.
    pub(super) echo: Vec<Value>,
    pub(super) max_results: Option<i64>,
    pub(super) next_token: Option<String>,
    /// What the request asks for, canonically, for its page tokens' fingerprint.
    pub(super) shape: String,
}

/// Reads and checks a GetMetricDataV2 body for the instance `instance_arn` at simulated time
/// `now` (one `tick` of slack for a client's clock ahead of the simulated one).
pub(super) fn check_request(
    body: &[u8],
    instance_arn: &str,
    now: f64,
    tick: f64,
) -> Result<CheckedRequest, Failure> {
    let request: GetMetricDataV2Request = serde_json::from_slice(body).map_err(|error| {
        (
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("cannot read the request body: {error}"),
        )
    })?;
    check_resource(request.resource_arn.as_deref(), instance_arn)?;
    let (start, end) = check_times(request.start_time, request.end_time, now, tick)?;
    let (period, time_zone) = check_interval(request.interval.as_ref(), end - start)?;
    let intervals = intervals(start, end, period, &time_zone)?;
    let mut query = HistoryQuery {
        intervals,
        ..HistoryQuery::default()
    };
    let filter_keys = check_filters(request.filters.as_deref(), &mut query)?;
    let groupings = check_groupings(request.groupings.as_deref().unwrap_or_default())?;
    query.by_queue = groupings.contains(&"QUEUE");
    query.by_channel = groupings.contains(&"CHANNEL");
    query.by_routing_profile = groupings.contains(&"ROUTING_PROFILE");
    let requested = request
        .metrics
        .ok_or_else(|| invalid("Metrics is required".to_string()))?;
    let mut echo = Vec::with_capacity(requested.len());
    for (index, wanted) in requested.iter().enumerate() {
        let (spec, shown) = check_metric(index, wanted, &filter_keys, &groupings)?;
        query.metrics.push(spec);
        echo.push(shown);
    }
    let service_levels = query
        .metrics
        .iter()
        .filter(|m| m.metric == HistoricalMetric::ServiceLevel)
        .count();
    if service_levels > MAX_SERVICE_LEVEL_METRICS {
        return Err(invalid(format!(
            "Metrics: at most {MAX_SERVICE_LEVEL_METRICS} SERVICE_LEVEL metrics, got {service_levels}"
        )));
    }
    let shape = format!(
        "{query:?}|{period}|{}",
        time_zone.iana_name().unwrap_or("UTC")
    );
    Ok(CheckedRequest {
        query,
        period,
        echo,
        max_results: request.max_results,
        next_token: request.next_token,
        shape,
    })
}

/// `ResourceArn`: this instance's ARN; another instance's is not found.
fn check_resource(resource_arn: Option<&str>, instance_arn: &str) -> Result<(), Failure> {
    match resource_arn {
        None => Err(invalid("ResourceArn is required".to_string())),
        Some(arn) if arn == instance_arn => Ok(()),
        Some(arn) if arn.starts_with("arn:") && arn.contains(":instance/") => Err((
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Instance {arn} not found"),
        )),
        Some(arn) => Err(invalid(format!(
            "ResourceArn {arn:?} is not the ARN of a Connect instance"
        ))),
    }
}

/// `StartTime` before `EndTime`, and `EndTime` not later than now.
fn check_times(
    start: Option<f64>,
    end: Option<f64>,
    now: f64,
    tick: f64,
) -> Result<(f64, f64), Failure> {
    let start = start
        .filter(|t| t.is_finite())
        .ok_or_else(|| invalid("StartTime is required".to_string()))?;
    let end = end
        .filter(|t| t.is_finite())
        .ok_or_else(|| invalid("EndTime is required".to_string()))?;
    if start >= end {
        return Err(invalid(format!(
            "StartTime {start} must be before EndTime {end}"
        )));
    }
    if end > now + tick {
        return Err(invalid(format!(
            "EndTime {end} is later than the current time {now}"
        )));
    }
    Ok((start, end))
}

/// `Interval`: the period (TOTAL by default), the time zone (UTC by default), and the range
/// its period allows: under 3 days for FIFTEEN_MIN, THIRTY_MIN and HOUR, under 35 for DAY,
/// WEEK and TOTAL.
fn check_interval(
    interval: Option<&IntervalDetails>,
    range: f64,
) -> Result<(&'static str, TimeZone), Failure> {
    let period = match interval.and_then(|i| i.interval_period.as_deref()) {
        None | Some("TOTAL") => "TOTAL",
        Some("FIFTEEN_MIN") => "FIFTEEN_MIN",
        Some("THIRTY_MIN") => "THIRTY_MIN",
        Some("HOUR") => "HOUR",
        Some("DAY") => "DAY",
        Some("WEEK") => "WEEK",
        Some(other) => {
            return Err(invalid(format!(
                "Interval.IntervalPeriod {other:?} is not one of FIFTEEN_MIN, THIRTY_MIN, HOUR, DAY, WEEK, TOTAL"
            )))
        }
    };
    let time_zone = match interval.and_then(|i| i.time_zone.as_deref()) {
        None => TimeZone::UTC,
        Some(name) => TimeZone::get(name).map_err(|_| {
            invalid(format!(
                "Interval.TimeZone {name:?} is not a valid time zone"
            ))
        })?,
    };
    let (limit_days, periods) = match period {
        "FIFTEEN_MIN" | "THIRTY_MIN" | "HOUR" => (3.0, "FIFTEEN_MIN, THIRTY_MIN and HOUR"),
        _ => (35.0, "DAY, WEEK and TOTAL"),
    };
    if range >= limit_days * DAY {
        return Err(invalid(format!(
            "EndTime - StartTime must be less than {limit_days} days for {periods}, got {:.0} seconds",
            range
        )));
    }
    Ok((period, time_zone))
}

/// The intervals of `[start, end)` for `period`: the whole range for TOTAL; steps of 15, 30 or
/// 60 minutes from StartTime; calendar days or weeks in `time_zone` from StartTime (a day
/// across a DST change is 23 or 25 hours). The last interval ends at EndTime.
pub(super) fn intervals(
    start: f64,
    end: f64,
    period: &str,
    time_zone: &TimeZone,
) -> Result<Vec<(f64, f64)>, Failure> {
    let step = match period {
        "FIFTEEN_MIN" => 900.0,
        "THIRTY_MIN" => 1800.0,
        "HOUR" => 3600.0,
        "TOTAL" => return Ok(vec![(start, end)]),
        _ => 0.0,
    };
    let mut intervals = Vec::new();
    let mut from = start;
    while from < end {
        let to = if step > 0.0 {
            start + step * (intervals.len() + 1) as f64
        } else {
            let days = if period == "WEEK" { 7 } else { 1 } * (intervals.len() as i64 + 1);
            calendar_days_after(start, days, time_zone)?
        };
        intervals.push((from, to.min(end)));
        from = to;
    }
    Ok(intervals)
}

/// `start` plus `days` calendar days in `time_zone`, epoch seconds.
fn calendar_days_after(start: f64, days: i64, time_zone: &TimeZone) -> Result<f64, Failure> {
    let whole = start.floor();
    let timestamp = Timestamp::new(whole as i64, ((start - whole) * 1e9) as i32)
        .map_err(|e| invalid(format!("StartTime {start} is out of range: {e}")))?;
    let later = timestamp
        .to_zoned_datetime(time_zone.clone())
        .checked_add(Span::new().days(days))
        .map_err(|e| invalid(format!("StartTime {start} is out of range: {e}")))?
        .timestamp();
    Ok(later.as_second() as f64 + f64::from(later.subsec_nanosecond()) / 1e9)
}

/// `Filters`: 1 to 5, each a known key with 1 to 100 values, at most 100 values in all (CHANNEL
/// values aside), at least one resource key; their values go into `query`. Returns the keys.
fn check_filters(
    filters: Option<&[FilterV2]>,
    query: &mut HistoryQuery,
) -> Result<Vec<&'static str>, Failure> {
    let filters = filters.ok_or_else(|| invalid("Filters is required".to_string()))?;
    if filters.is_empty() || filters.len() > 5 {
        return Err(invalid(format!(
            "Filters takes 1 to 5 filters, got {}",
            filters.len()
        )));
    }
    let mut keys = Vec::new();
    let mut counted = 0;
    for (index, filter) in filters.iter().enumerate() {
        let key = filter
            .filter_key
            .as_deref()
            .ok_or_else(|| invalid(format!("Filters[{index}].FilterKey is required")))?;
        let key = SIMULATED_FILTER_KEYS
            .into_iter()
            .find(|k| *k == key)
            .ok_or_else(|| {
                invalid(format!(
                    "Filters[{index}].FilterKey {key:?} is not one the simulator serves: {}",
                    SIMULATED_FILTER_KEYS.join(", ")
                ))
            })?;
        if filter.string_condition.is_some() {
            return Err(invalid(format!(
                "Filters[{index}].StringCondition is not simulated"
            )));
        }
        let values = filter.filter_values.as_deref().unwrap_or_default();
        if values.is_empty() || values.len() > 100 {
            return Err(invalid(format!(
                "Filters[{index}].FilterValues takes 1 to 100 values, got {}",
                values.len()
            )));
        }
        if key == "CHANNEL" {
            if let Some(bad) = values
                .iter()
                .find(|v| !HISTORY_CHANNELS.contains(&v.as_str()))
            {
                return Err(invalid(format!(
                    "Filters[{index}]: CHANNEL value {bad:?} is not one of VOICE, CHAT, TASK, EMAIL"
                )));
            }
        } else {
            counted += values.len();
        }
        add_filter(query, key, values);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if counted > 100 {
        return Err(invalid(format!(
            "Filters take at most 100 values across all keys (CHANNEL aside), got {counted}"
        )));
    }
    if !keys.iter().any(|k| RESOURCE_FILTER_KEYS.contains(k)) {
        return Err(invalid(format!(
            "Filters needs at least one of {}",
            RESOURCE_FILTER_KEYS.join(", ")
        )));
    }
    Ok(keys)
}

/// Adds one filter's values (IDs, or ARNs reduced to their IDs) to `query`.
fn add_filter(query: &mut HistoryQuery, key: &str, values: &[String]) {
    let ids = values
        .iter()
        .map(|v| v.rsplit('/').next().unwrap_or(v).to_string());
    let extend = |list: &mut Option<Vec<String>>, ids: Vec<String>| {
        list.get_or_insert_with(Vec::new).extend(ids);
    };
    match key {
        "QUEUE" => extend(&mut query.queues, ids.collect()),
        "CHANNEL" => extend(&mut query.channels, values.to_vec()),
        "ROUTING_PROFILE" => extend(&mut query.routing_profiles, ids.collect()),
        "AGENT" => extend(&mut query.agents, ids.collect()),
        _ => {
            let level = match key {
                "AGENT_HIERARCHY_LEVEL_ONE" => 1,
                "AGENT_HIERARCHY_LEVEL_TWO" => 2,
                "AGENT_HIERARCHY_LEVEL_THREE" => 3,
                "AGENT_HIERARCHY_LEVEL_FOUR" => 4,
                _ => 5,
            };
            query.hierarchy.push((level, ids.collect()));
        }
    }
}

/// `Groupings`: at most 4, each one the simulator serves; a grouping given twice counts once.
fn check_groupings(groupings: &[String]) -> Result<Vec<&'static str>, Failure> {
    if groupings.len() > 4 {
        return Err(invalid(format!(
            "Groupings takes at most 4 values, got {}",
            groupings.len()
        )));
    }
    let mut checked = Vec::new();
    for grouping in groupings {
        let known = SIMULATED_GROUPINGS
            .into_iter()
            .find(|g| g == grouping)
            .ok_or_else(|| {
                invalid(format!(
                    "Groupings: {grouping:?} is not one the simulator serves: QUEUE, CHANNEL, ROUTING_PROFILE"
                ))
            })?;
        if !checked.contains(&known) {
            checked.push(known);
        }
    }
    Ok(checked)
}

/// `Metrics[index]`: a metric the simulator serves, valid with every filter key and grouping
/// of the request, its threshold and metric filters as the model allows. Returns the spec and
/// the `Metric` object to echo.
fn check_metric(
    index: usize,
    wanted: &MetricV2,
    filter_keys: &[&str],
    groupings: &[&str],
) -> Result<(MetricSpec, Value), Failure> {
    if wanted.metric_id.is_some() {
        return Err(invalid(format!(
            "Metrics[{index}].MetricId is not simulated; name the metric with Name"
        )));
    }
    let name = wanted
        .name
        .as_deref()
        .ok_or_else(|| invalid(format!("Metrics[{index}].Name is required")))?;
    let metric = HistoricalMetric::from_name(name).ok_or_else(|| {
        let served: Vec<&str> = HistoricalMetric::ALL.iter().map(|m| m.name()).collect();
        invalid(format!(
            "Metrics[{index}]: unknown or not simulated metric {name:?}; the simulator serves {}",
            served.join(", ")
        ))
    })?;
    for (what, dimension) in filter_keys
        .iter()
        .map(|k| ("filter", *k))
        .chain(groupings.iter().map(|g| ("grouping", *g)))
    {
        if !metric.valid_dimensions().contains(&dimension_of(dimension)) {
            return Err(invalid(format!(
                "Metrics[{index}]: {name} is not valid with the {what} {dimension}"
            )));
        }
    }
    let mut shown = json!({ "Name": name });
    let threshold = check_threshold(index, metric, wanted)?;
    if let Some((comparison, value)) = threshold {
        let comparison = match comparison {
            Comparison::Lt => "LT",
            Comparison::Lte => "LTE",
        };
        shown["Threshold"] = json!([{"Comparison": comparison, "ThresholdValue": value}]);
    }
    let method_filters = check_metric_filters(index, metric, wanted)?;
    if let Some(filters) = &wanted.metric_filters {
        shown["MetricFilters"] = filters
            .iter()
            .map(|f| {
                json!({
                    "MetricFilterKey": f.metric_filter_key,
                    "MetricFilterValues": f.metric_filter_values,
                    "Negate": f.negate.unwrap_or(false),
                })
            })
            .collect();
    }
    let spec = MetricSpec {
        metric,
        threshold,
        method_filters,
    };
    Ok((spec, shown))
}

/// The simulated dimension a filter key or grouping belongs to.
fn dimension_of(key: &str) -> crate::scenario::Dimension {
    use crate::scenario::Dimension;
    match key {
        "QUEUE" => Dimension::Queue,
        "CHANNEL" => Dimension::Channel,
        "ROUTING_PROFILE" => Dimension::RoutingProfile,
        "AGENT" => Dimension::Agent,
        _ => Dimension::AgentHierarchy,
    }
}

/// `Metrics[index].Threshold`: exactly one, LT or LTE, a whole number of 1 to 604800 seconds,
/// for the metrics that take one; none for the others.
fn check_threshold(
    index: usize,
    metric: HistoricalMetric,
    wanted: &MetricV2,
) -> Result<Option<(Comparison, f64)>, Failure> {
    let thresholds = wanted.threshold.as_deref().unwrap_or_default();
    let name = metric.name();
    if !metric.takes_threshold() {
        return match thresholds {
            [] => Ok(None),
            _ => Err(invalid(format!(
                "Metrics[{index}]: {name} takes no Threshold"
            ))),
        };
    }
    let [threshold] = thresholds else {
        return Err(invalid(format!(
            "Metrics[{index}]: {name} takes exactly one Threshold, got {}",
            thresholds.len()
        )));
    };
    let comparison = match threshold.comparison.as_deref() {
        Some("LT") => Comparison::Lt,
        Some("LTE") => Comparison::Lte,
        other => {
            return Err(invalid(format!(
                "Metrics[{index}].Threshold[0].Comparison {other:?}: {name} takes LT or LTE"
            )))
        }
    };
    match threshold.threshold_value {
        Some(value) if THRESHOLD_RANGE.contains(&value) && value.fract() == 0.0 => {
            Ok(Some((comparison, value)))
        }
        other => Err(invalid(format!(
            "Metrics[{index}].Threshold[0].ThresholdValue {other:?}: a whole number of seconds from 1 to 604800 is required"
        ))),
    }
}

/// `Metrics[index].MetricFilters`: at most 2, each INITIATION_METHOD with 1 to 10 values, on
/// the metrics the model allows it for.
fn check_metric_filters(
    index: usize,
    metric: HistoricalMetric,
    wanted: &MetricV2,
) -> Result<Vec<(Vec<String>, bool)>, Failure> {
    let filters = wanted.metric_filters.as_deref().unwrap_or_default();
    let name = metric.name();
    if filters.len() > 2 {
        return Err(invalid(format!(
            "Metrics[{index}].MetricFilters takes at most 2 filters, got {}",
            filters.len()
        )));
    }
    let mut checked = Vec::new();
    for (position, filter) in filters.iter().enumerate() {
        let at = format!("Metrics[{index}].MetricFilters[{position}]");
        let key = filter.metric_filter_key.as_deref().unwrap_or_default();
        if !MODEL_METRIC_FILTER_KEYS.contains(&key) {
            return Err(invalid(format!(
                "{at}.MetricFilterKey {key:?} is not a metric filter key"
            )));
        }
        if key != "INITIATION_METHOD" || !metric.takes_initiation_method_filter() {
            return Err(invalid(format!(
                "{at}: {name} takes no {key} metric filter in the simulator (INITIATION_METHOD on CONTACTS_HANDLED, CONTACTS_ABANDONED, AVG_ABANDON_TIME, AVG_AFTER_CONTACT_WORK_TIME, AVG_QUEUE_ANSWER_TIME)"
            )));
        }
        let values = filter.metric_filter_values.clone().unwrap_or_default();
        if values.is_empty() || values.len() > 10 {
            return Err(invalid(format!(
                "{at}.MetricFilterValues takes 1 to 10 values, got {}",
                values.len()
            )));
        }
        checked.push((values, filter.negate.unwrap_or(false)));
    }
    Ok(checked)
}
