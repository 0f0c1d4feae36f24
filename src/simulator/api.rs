//! HTTP routing and handlers of the simulated Connect API: request validation with the
//! service's error names, filters, paging. Every bad input gets an error response, never a
//! panic. Faults apply to GetCurrentMetricData as to the List* look-ups (not the quota, which
//! is GetCurrentUserData's).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tracing::debug;

use super::faults::{Faults, Verdict};
use super::scenario::{queue_metric_rows, CurrentMetric, MetricQuery, World, METRIC_CHANNELS};
use super::wire::{
    GetCurrentMetricDataRequest, GetCurrentUserDataRequest, GetCurrentUserDataResponse, UserData,
};
use crate::budget::RateLimiter;
use crate::server::DropConnection;

/// The most request times remembered (for rate measurements in tests and benchmarks).
const MAX_REMEMBERED_REQUESTS: usize = 1_000_000;
/// Request bodies larger than this are refused; real ones are a few kilobytes.
const MAX_BODY_BYTES: usize = 1 << 20;
const CONTACT_STATES: [&str; 9] = [
    "INCOMING",
    "PENDING",
    "CONNECTING",
    "CONNECTED",
    "CONNECTED_ONHOLD",
    "MISSED",
    "ERROR",
    "ENDED",
    "REJECTED",
];

/// The simulator's shared state.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) world: Mutex<World>,
    pub(crate) frozen: std::sync::atomic::AtomicBool,
    faults: Faults,
    quota: Option<RateLimiter>,
    started: tokio::time::Instant,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    user_data_times: Mutex<Vec<std::time::Duration>>,
    /// Every (contact, agent) pair a GetCurrentUserData answer carried in the MISSED state.
    served_missed: Mutex<BTreeSet<MissedPair>>,
    request_ids: AtomicU64,
}

/// A (contact, agent) pair served in the MISSED state, with the labels the exporter counts it
/// under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissedPair {
    /// Contact ID.
    pub contact_id: String,
    /// User ID of the agent who did not answer.
    pub user_id: String,
    /// Queue ID of the contact.
    pub queue_id: String,
    /// API channel, e.g. `VOICE`.
    pub channel: String,
}

type HttpResponse = Response<Full<Bytes>>;

impl Service {
    pub(crate) fn new(world: World, frozen: bool, faults: Faults) -> Self {
        Self {
            world: Mutex::new(world),
            frozen: std::sync::atomic::AtomicBool::new(frozen),
            quota: faults.rate_limit.map(RateLimiter::new),
            faults,
            started: tokio::time::Instant::now(),
            counts: Mutex::new(BTreeMap::new()),
            user_data_times: Mutex::new(Vec::new()),
            served_missed: Mutex::new(BTreeSet::new()),
            request_ids: AtomicU64::new(0),
        }
    }

    /// When each GetCurrentUserData request arrived, as time since the simulator started.
    pub(crate) fn user_data_times(&self) -> Vec<std::time::Duration> {
        self.user_data_times
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every (contact, agent) pair served in the MISSED state so far.
    pub(crate) fn served_missed(&self) -> BTreeSet<MissedPair> {
        self.served_missed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `f` on the world, advanced to the present unless frozen.
    pub(crate) fn with_world<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        let mut world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.frozen.load(std::sync::atomic::Ordering::Relaxed) {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            world.advance_to(now);
        }
        f(&world)
    }

    /// Changes the world as an administrator would (renames, new queues), under its lock.
    pub(crate) fn change_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn request_count(&self, operation: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    fn count(&self, operation: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_default() += 1;
        if operation == "GetCurrentUserData" {
            let mut times = self
                .user_data_times
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if times.len() < MAX_REMEMBERED_REQUESTS {
                times.push(self.started.elapsed());
            }
        }
    }

    /// Faults answered before routing still count as requests of their operation.
    fn count_fault(&self, is_user_data: bool) {
        self.count(if is_user_data {
            "GetCurrentUserData"
        } else {
            "other"
        });
    }

    fn request_id(&self) -> String {
        format!(
            "sim-{:012}",
            self.request_ids.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Reads the body (bounded), injects the configured faults and answers the request.
pub(crate) async fn handle(
    service: &Service,
    request: Request<Incoming>,
) -> Result<HttpResponse, DropConnection> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return Ok(error_response(
                service,
                StatusCode::PAYLOAD_TOO_LARGE,
                "InvalidRequestException",
                &format!("request body unreadable or over {MAX_BODY_BYTES} bytes: {error}"),
            ))
        }
    };
    if !service.faults.latency.is_zero() {
        tokio::time::sleep(service.faults.latency).await;
    }
    let is_user_data = parts.uri.path().starts_with("/metrics/userdata/");
    let quota = service.quota.as_ref().filter(|_| is_user_data);
    let verdict = service.faults.verdict(quota);
    match verdict {
        Verdict::Reset => return Err(DropConnection),
        Verdict::Throttle => {
            service.count_fault(is_user_data);
            return Ok(error_response(
                service,
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Rate exceeded",
            ));
        }
        Verdict::ServerError => {
            service.count_fault(is_user_data);
            return Ok(error_response(
                service,
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServiceException",
                "simulated internal error",
            ));
        }
        Verdict::Answer | Verdict::Malformed => {}
    }
    let response = route(
        service,
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &body,
    );
    if verdict == Verdict::Answer && !(is_user_data && service.faults.unknown_enum_rate > 0.0) {
        return Ok(response);
    }
    let (head, full) = response.into_parts();
    let bytes = full
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let bytes = if verdict == Verdict::Malformed {
        bytes.slice(..bytes.len() / 2)
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut value) if head.status == StatusCode::OK => {
                service.faults.scramble_enums(&mut value);
                Bytes::from(value.to_string())
            }
            _ => bytes,
        }
    };
    Ok(Response::from_parts(head, Full::new(bytes)))
}

/// Answers one request whose body has been read.
pub(crate) fn route(
    service: &Service,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> HttpResponse {
    let segments: Option<Vec<String>> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let Some(segments) = segments else {
        return error_response(
            service,
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "malformed percent-encoding in the path",
        );
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (operation, instance, profile) = match (method, segments.as_slice()) {
        (&Method::POST, ["metrics", "userdata", instance]) => {
            ("GetCurrentUserData", *instance, None)
        }
        (&Method::POST, ["metrics", "current", instance]) => {
            ("GetCurrentMetricData", *instance, None)
        }
        (&Method::GET, ["queues-summary", instance]) => ("ListQueues", *instance, None),
        (&Method::GET, ["routing-profiles-summary", instance]) => {
            ("ListRoutingProfiles", *instance, None)
        }
        (&Method::GET, ["routing-profiles", instance, profile, "queues"]) => {
            ("ListRoutingProfileQueues", *instance, Some(*profile))
        }
        (&Method::GET, ["agent-status", instance]) => ("ListAgentStatuses", *instance, None),
        (&Method::GET, ["users-summary", instance]) => ("ListUsers", *instance, None),
        (&Method::GET, ["user-hierarchy-groups-summary", instance]) => {
            ("ListUserHierarchyGroups", *instance, None)
        }
        _ => {
            return error_response(
                service,
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                &format!("no operation at {method} {path}"),
            )
        }
    };
    service.count(operation);
    debug!(operation, path, "simulated request");
    let query = parse_query(query.unwrap_or(""));
    let Some(query) = query else {
        return error_response(
            service,
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "malformed query string",
        );
    };
    service.with_world(|world| {
        let scenario = &world.scenario;
        if instance != scenario.instance_id && instance != scenario.instance_arn {
            return error_response(
                service,
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Instance {instance} not found"),
            );
        }
        let result = match operation {
            "GetCurrentUserData" => get_current_user_data(world, body, &service.served_missed),
            "GetCurrentMetricData" => get_current_metric_data(world, body),
            "ListRoutingProfileQueues" => {
                list_routing_profile_queues(world, profile.unwrap_or(""), &query)
            }
            _ => list(world, operation, &query),
        };
        match result {
            Ok(value) => json_response(service, StatusCode::OK, &value),
            Err((status, error_type, message)) => {
                error_response(service, status, error_type, &message)
            }
        }
    })
}

type Failure = (StatusCode, &'static str, String);

fn invalid(message: String) -> Failure {
    (
        StatusCode::BAD_REQUEST,
        "InvalidParameterException",
        message,
    )
}

fn get_current_user_data(
    world: &World,
    body: &[u8],
    served_missed: &Mutex<BTreeSet<MissedPair>>,
) -> Result<Value, Failure> {
    let request: GetCurrentUserDataRequest = serde_json::from_slice(body).map_err(|error| {
        (
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("cannot read the request body: {error}"),
        )
    })?;
    let filters = request.filters.ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Filters is required".to_string(),
        )
    })?;
    let page_size = match request.max_results {
        None => 100,
        Some(n @ 1..=100) => n as usize,
        Some(n) => return Err(invalid(format!("MaxResults {n} is outside 1..100"))),
    };
    let given: Vec<(&str, &Vec<String>, usize)> = [
        ("Queues", &filters.queues, 100),
        ("RoutingProfiles", &filters.routing_profiles, 100),
        ("Agents", &filters.agents, 100),
        ("UserHierarchyGroups", &filters.user_hierarchy_groups, 1),
    ]
    .into_iter()
    .filter_map(|(name, list, limit)| list.as_ref().map(|list| (name, list, limit)))
    .collect();
    let [(filter_name, values, limit)] = given.as_slice() else {
        return Err(invalid(format!(
            "exactly one of Queues, RoutingProfiles, Agents and UserHierarchyGroups is required, got {}",
            given.len()
        )));
    };
    if values.is_empty() || values.len() > *limit {
        return Err(invalid(format!(
            "{filter_name} takes 1 to {limit} values, got {}",
            values.len()
        )));
    }
    let states: Option<BTreeSet<&str>> = match filters.contact_filter.and_then(|f| f.contact_states)
    {
        None => None,
        Some(states) if states.len() > 9 => {
            return Err(invalid(format!(
                "ContactStates takes at most 9 values, got {}",
                states.len()
            )))
        }
        Some(states) => {
            if let Some(unknown) = states
                .iter()
                .find(|s| !CONTACT_STATES.contains(&s.as_str()))
            {
                return Err(invalid(format!("ContactStates: unknown state {unknown:?}")));
            }
            Some(
                CONTACT_STATES
                    .iter()
                    .copied()
                    .filter(|s| states.iter().any(|x| x == s))
                    .collect(),
            )
        }
    };
    let wanted: BTreeSet<&str> = values.iter().map(|v| last_id(v)).collect();
    let scenario = &world.scenario;
    let serving_profiles: BTreeSet<&str> = match *filter_name {
        "Queues" => scenario
            .routing_profiles
            .iter()
            .filter(|p| {
                p.queues
                    .iter()
                    .any(|q| wanted.contains(q.queue_id.as_str()))
            })
            .map(|p| p.id.as_str())
            .collect(),
        _ => BTreeSet::new(),
    };
    let matching: Vec<&super::scenario::Agent> = scenario
        .agents
        .iter()
        .filter(|agent| match *filter_name {
            "Queues" => serving_profiles.contains(agent.routing_profile_id.as_str()),
            "RoutingProfiles" => wanted.contains(agent.routing_profile_id.as_str()),
            "Agents" => wanted.contains(agent.id.as_str()),
            _ => agent
                .hierarchy_group_id
                .as_deref()
                .is_some_and(|g| wanted.contains(g)),
        })
        .filter(|agent| {
            states.as_ref().is_none_or(|states| {
                agent
                    .contacts
                    .iter()
                    .any(|c| states.contains(c.state.as_str()))
            })
        })
        .collect();
    let (start, end, next_token) =
        page_bounds(matching.len(), request.next_token.as_deref(), page_size)?;
    {
        let mut served = served_missed.lock().unwrap_or_else(PoisonError::into_inner);
        for agent in &matching[start..end] {
            for contact in agent.contacts.iter().filter(|c| c.state == "MISSED") {
                served.insert(MissedPair {
                    contact_id: contact.contact_id.clone(),
                    user_id: agent.id.clone(),
                    queue_id: contact.queue_id.clone(),
                    channel: contact.channel.clone(),
                });
            }
        }
    }
    let response = GetCurrentUserDataResponse {
        user_data_list: matching[start..end]
            .iter()
            .map(|agent| UserData::from_agent(agent, &scenario.instance_arn))
            .collect(),
        next_token,
        approximate_total_count: matching.len(),
    };
    serde_json::to_value(response).map_err(|error| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceException",
            error.to_string(),
        )
    })
}

/// Answers GetCurrentMetricData. Bad input is a 400 `InvalidParameterException` (a queue or
/// routing profile the instance does not have included, as for any other bad filter value);
/// the values come from [`queue_metric_rows`], so this only checks, pages and renders.
fn get_current_metric_data(world: &World, body: &[u8]) -> Result<Value, Failure> {
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
    let count_ok = |name: &str, values: &[String]| {
        if values.is_empty() || values.len() > 100 {
            Err(invalid(format!(
                "Filters.{name} takes 1 to 100 values, got {}",
                values.len()
            )))
        } else {
            Ok(())
        }
    };
    let (queues, routing_profiles) = match (&filters.queues, &filters.routing_profiles) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Filters takes Queues or RoutingProfiles, not both".to_string(),
            ))
        }
        (None, None) => {
            return Err(invalid(
                "Filters needs Queues or RoutingProfiles (1 to 100 IDs or ARNs)".to_string(),
            ))
        }
        (Some(values), None) => {
            count_ok("Queues", values)?;
            let ids = values
                .iter()
                .map(|value| {
                    scenario
                        .queues
                        .iter()
                        .find(|q| &q.id == value || &q.arn == value)
                        .map(|q| q.id.clone())
                        .ok_or_else(|| {
                            invalid(format!(
                                "Filters.Queues: no queue {value:?} in this instance"
                            ))
                        })
                })
                .collect::<Result<Vec<String>, Failure>>()?;
            (Some(ids), None)
        }
        (None, Some(values)) => {
            count_ok("RoutingProfiles", values)?;
            let ids = values
                .iter()
                .map(|value| {
                    scenario
                        .routing_profiles
                        .iter()
                        .find(|p| &p.id == value || &p.arn == value)
                        .map(|p| p.id.clone())
                        .ok_or_else(|| {
                            invalid(format!(
                                "Filters.RoutingProfiles: no routing profile {value:?} in this instance"
                            ))
                        })
                })
                .collect::<Result<Vec<String>, Failure>>()?;
            (None, Some(ids))
        }
    };
    let channels = filters.channels.unwrap_or_default();
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
    let groupings = request.groupings.unwrap_or_default();
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
    let requested = request.current_metrics.unwrap_or_default();
    if requested.is_empty() {
        return Err(invalid(
            "CurrentMetrics is required and takes at least one metric".to_string(),
        ));
    }
    let metrics = requested
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
        .collect::<Result<Vec<CurrentMetric>, Failure>>()?;
    let page_size = match request.max_results {
        None => 100,
        Some(n @ 1..=100) => n as usize,
        Some(n) => return Err(invalid(format!("MaxResults {n} is outside 1..100"))),
    };

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
    let instance_arn = &scenario.instance_arn;
    let results: Vec<Value> = rows[start..end]
        .iter()
        .map(|row| {
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
                        // The real API's quirk: grouped, the age is in milliseconds although
                        // the unit says SECONDS.
                        Some(age) if *metric == CurrentMetric::OldestContactAge => {
                            let millis = (age * 1000.0).round();
                            Some(if grouped { millis } else { millis / 1000.0 })
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
        })
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

/// A fingerprint of what a GetCurrentMetricData request asks for (not its page size), FNV-1a
/// over a canonical text, so that a token from one request shape is refused by another.
fn request_shape(query: &MetricQuery, metrics: &[CurrentMetric]) -> String {
    let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
    let text = format!(
        "{:?}|{:?}|{:?}|{}{}{}|{names:?}",
        query.queues,
        query.routing_profiles,
        query.channels,
        query.by_queue,
        query.by_channel,
        query.by_routing_profile
    );
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// [`page_bounds`] with tokens that carry the request shape: `sim:OFFSET@SHAPE`.
fn shaped_page_bounds(
    total: usize,
    token: Option<&str>,
    page_size: usize,
    shape: &str,
) -> Result<(usize, usize, Option<String>), Failure> {
    let plain = match token {
        None => None,
        Some(token) => Some(
            token
                .strip_suffix(shape)
                .and_then(|rest| rest.strip_suffix('@'))
                .ok_or_else(|| {
                    invalid(format!(
                        "invalid NextToken {token:?}: not issued for this request"
                    ))
                })?,
        ),
    };
    let (start, end, next) = page_bounds(total, plain, page_size)?;
    Ok((start, end, next.map(|next| format!("{next}@{shape}"))))
}

fn list(world: &World, operation: &str, query: &[(String, String)]) -> Result<Value, Failure> {
    let scenario = &world.scenario;
    let region = scenario.instance_arn.split(':').nth(3).unwrap_or("");
    let modified = world.now.floor();
    let filter_values = |key: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (list_key, items): (&str, Vec<Value>) = match operation {
        "ListQueues" => {
            let types = filter_values("queueTypes");
            ("QueueSummaryList", scenario
                .queues
                .iter()
                .filter(|q| types.is_empty() || types.contains(&q.queue_type.as_str()))
                .map(|q| json!({"Id": q.id, "Arn": q.arn, "Name": q.name, "QueueType": q.queue_type, "LastModifiedTime": modified, "LastModifiedRegion": region}))
                .collect())
        }
        "ListRoutingProfiles" => ("RoutingProfileSummaryList", scenario
            .routing_profiles
            .iter()
            .map(|p| json!({"Id": p.id, "Arn": p.arn, "Name": p.name, "LastModifiedTime": modified, "LastModifiedRegion": region}))
            .collect()),
        "ListAgentStatuses" => {
            let types = filter_values("AgentStatusTypes");
            ("AgentStatusSummaryList", scenario
                .agent_statuses
                .iter()
                .filter(|s| types.is_empty() || types.contains(&s.status_type.as_str()))
                .map(|s| json!({"Id": s.id, "Arn": s.arn, "Name": s.name, "Type": s.status_type, "LastModifiedTime": modified, "LastModifiedRegion": region}))
                .collect())
        }
        "ListUsers" => ("UserSummaryList", scenario
            .agents
            .iter()
            .map(|a| json!({"Id": a.id, "Arn": a.arn, "Username": a.username, "LastModifiedTime": modified, "LastModifiedRegion": region}))
            .collect()),
        _ => ("UserHierarchyGroupSummaryList", scenario
            .hierarchy_groups
            .iter()
            .map(|g| json!({"Id": g.id, "Arn": g.arn, "Name": g.name, "LastModifiedTime": modified, "LastModifiedRegion": region}))
            .collect()),
    };
    paged(list_key, items, query, 1000)
}

fn list_routing_profile_queues(
    world: &World,
    profile: &str,
    query: &[(String, String)],
) -> Result<Value, Failure> {
    let scenario = &world.scenario;
    let Some(profile) = scenario
        .routing_profiles
        .iter()
        .find(|p| p.id == profile || p.arn == profile)
    else {
        return Err((
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Routing profile {profile} not found"),
        ));
    };
    let names: BTreeMap<&str, (&str, &str)> = scenario
        .queues
        .iter()
        .map(|q| (q.id.as_str(), (q.name.as_str(), q.arn.as_str())))
        .collect();
    let items = profile
        .queues
        .iter()
        .map(|entry| {
            let (name, arn) = names.get(entry.queue_id.as_str()).copied().unwrap_or(("", ""));
            json!({"QueueId": entry.queue_id, "QueueArn": arn, "QueueName": name, "Priority": entry.priority, "Delay": entry.delay, "Channel": entry.channel})
        })
        .collect();
    paged("RoutingProfileQueueConfigSummaryList", items, query, 100)
}

fn paged(
    list_key: &str,
    items: Vec<Value>,
    query: &[(String, String)],
    max_page: usize,
) -> Result<Value, Failure> {
    let lookup = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let page_size = match lookup("maxResults") {
        None => 100.min(max_page),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max_page).contains(&n) => n,
            _ => {
                return Err(invalid(format!(
                    "maxResults {text:?} is outside 1..{max_page}"
                )))
            }
        },
    };
    let (start, end, next_token) = page_bounds(items.len(), lookup("nextToken"), page_size)?;
    let mut body = json!({ list_key: items[start..end] });
    if let Some(token) = next_token {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

/// The slice of `total` items a page covers, and the token of the next page.
fn page_bounds(
    total: usize,
    token: Option<&str>,
    page_size: usize,
) -> Result<(usize, usize, Option<String>), Failure> {
    let start = match token {
        None => 0,
        Some(token) => token
            .strip_prefix("sim:")
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|offset| *offset < total)
            .ok_or_else(|| invalid(format!("invalid NextToken {token:?}")))?,
    };
    let end = (start + page_size).min(total);
    Ok((start, end, (end < total).then(|| format!("sim:{end}"))))
}

/// The resource ID at the end of an ID or ARN (`…/queue/ID` → `ID`).
fn last_id(value: &str) -> &str {
    value.rsplit('/').next().unwrap_or(value)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text.get(index + 1..index + 3)?;
                decoded.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

fn parse_query(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

fn json_response(service: &Service, status: StatusCode, body: &Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(id) = HeaderValue::from_str(&service.request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn error_response(
    service: &Service,
    status: StatusCode,
    error_type: &'static str,
    message: &str,
) -> HttpResponse {
    let mut response = json_response(service, status, &json!({ "Message": message }));
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::scenario::Size;

    const INSTANCE: &str = "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20";

    fn service() -> Service {
        let world = World::new(
            INSTANCE,
            "eu-west-2",
            "123456789012",
            Size {
                agents: 250,
                queues: 150,
                routing_profiles: 40,
            },
            11,
            1_700_000_000.0,
            1.0,
        );
        Service::new(world, true, Faults::default())
    }

    fn call(
        service: &Service,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Value,
    ) -> (StatusCode, Option<String>, Value) {
        let response = route(service, &method, path, query, body.to_string().as_bytes());
        let status = response.status();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let bytes = futures_util::FutureExt::now_or_never(response.into_body().collect())
            .and_then(Result::ok)
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        (
            status,
            error_type,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn user_data(service: &Service, body: Value) -> (StatusCode, Option<String>, Value) {
        call(
            service,
            Method::POST,
            &format!("/metrics/userdata/{INSTANCE}"),
            None,
            body,
        )
    }

    fn queue_ids(service: &Service) -> Vec<String> {
        service.with_world(|w| w.scenario.queues.iter().map(|q| q.id.clone()).collect())
    }

    #[test]
    fn filter_rules_are_enforced() {
        let service = service();
        let queues = queue_ids(&service);
        let cases = [
            (json!({}), "InvalidRequestException"),
            (json!({"Filters": {}}), "InvalidParameterException"),
            (
                json!({"Filters": {"Queues": [queues[0]], "Agents": ["x"]}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": queues[..101]}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": []}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"UserHierarchyGroups": ["a", "b"]}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]]}, "MaxResults": 0}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]]}, "MaxResults": 101}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]]}, "NextToken": "bogus"}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]], "ContactFilter": {"ContactStates": ["NAPPING"]}}}),
                "InvalidParameterException",
            ),
        ];
        for (body, expected) in cases {
            let (status, error_type, reply) = user_data(&service, body.clone());
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(error_type.as_deref(), Some(expected), "{body}: {reply}");
            assert!(reply["Message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let response = route(
            &service,
            &Method::POST,
            &format!("/metrics/userdata/{INSTANCE}"),
            None,
            b"{not json",
        );
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "SerializationException"
        );
    }

    #[test]
    fn unknown_instance_and_operation() {
        let service = service();
        let (status, error_type, _) = call(
            &service,
            Method::POST,
            "/metrics/userdata/nope",
            None,
            json!({}),
        );
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::NOT_FOUND, Some("ResourceNotFoundException"))
        );
        let (status, error_type, _) = call(
            &service,
            Method::DELETE,
            "/queues-summary/x",
            None,
            json!({}),
        );
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::NOT_FOUND, Some("UnknownOperationException"))
        );
        let arn = service
            .with_world(|w| w.scenario.instance_arn.clone())
            .replace(':', "%3A")
            .replace('/', "%2F");
        let (status, _, reply) = call(
            &service,
            Method::GET,
            &format!("/queues-summary/{arn}"),
            None,
            json!({}),
        );
        assert_eq!(status, StatusCode::OK, "{reply}");
    }

    #[test]
    fn paging_returns_every_agent_once() {
        let service = service();
        let queues = queue_ids(&service);
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"Filters": {"Queues": queues[..100]}, "MaxResults": 7});
            if let Some(token) = &token {
                body["NextToken"] = json!(token);
            }
            let (status, _, reply) = user_data(&service, body);
            assert_eq!(status, StatusCode::OK, "{reply}");
            for user in reply["UserDataList"].as_array().unwrap() {
                seen.push(user["User"]["Id"].as_str().unwrap().to_string());
            }
            match reply["NextToken"].as_str() {
                Some(next) => token = Some(next.to_string()),
                None => {
                    assert_eq!(
                        reply["ApproximateTotalCount"].as_u64(),
                        Some(seen.len() as u64)
                    );
                    break;
                }
            }
        }
        let distinct: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len());
        assert!(seen.len() > 7);
    }

    #[test]
    fn queue_chunks_return_shared_agents_from_each_chunk() {
        let service = service();
        let queues = queue_ids(&service);
        let ids = |chunk: &[String]| -> BTreeSet<String> {
            let (_, _, reply) = user_data(&service, json!({"Filters": {"Queues": chunk}}));
            reply["UserDataList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["User"]["Id"].as_str().unwrap().to_string())
                .collect()
        };
        let first = ids(&queues[..100]);
        let second = ids(&queues[100..]);
        assert!(
            !first.is_disjoint(&second),
            "some agent serves queues in both chunks"
        );
    }

    #[test]
    fn list_operations_page_and_validate() {
        let service = service();
        let (status, _, reply) = call(
            &service,
            Method::GET,
            &format!("/queues-summary/{INSTANCE}"),
            Some("maxResults=100&queueTypes=STANDARD"),
            json!({}),
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reply["QueueSummaryList"].as_array().unwrap().len(), 100);
        assert_eq!(reply["NextToken"], "sim:100");
        let (status, error_type, _) = call(
            &service,
            Method::GET,
            &format!("/users-summary/{INSTANCE}"),
            Some("maxResults=1001"),
            json!({}),
        );
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameterException"))
        );
        let profile = service.with_world(|w| w.scenario.routing_profiles[0].id.clone());
        let (status, _, reply) = call(
            &service,
            Method::GET,
            &format!("/routing-profiles/{INSTANCE}/{profile}/queues"),
            None,
            json!({}),
        );
        assert_eq!(status, StatusCode::OK);
        assert!(
            reply["RoutingProfileQueueConfigSummaryList"][0]["QueueName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        );
        let (status, _, _) = call(
            &service,
            Method::GET,
            &format!("/routing-profiles/{INSTANCE}/nope/queues"),
            None,
            json!({}),
        );
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(service.request_count("ListRoutingProfileQueues"), 2);
    }

    fn metric_data(service: &Service, body: Value) -> (StatusCode, Option<String>, Value) {
        call(
            service,
            Method::POST,
            &format!("/metrics/current/{INSTANCE}"),
            None,
            body,
        )
    }

    fn all_metrics() -> Vec<Value> {
        CurrentMetric::ALL
            .iter()
            .map(|m| json!({"Name": m.name(), "Unit": m.unit()}))
            .collect()
    }

    /// The value of metric `name` in one `MetricResults` entry (`None` for null).
    fn metric_value(row: &Value, name: &str) -> Option<f64> {
        let collections = row["Collections"].as_array().expect("Collections");
        let entry = collections
            .iter()
            .find(|c| c["Metric"]["Name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {row}"));
        entry["Value"].as_f64()
    }

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
    fn oldest_contact_age_is_in_milliseconds_only_when_grouped() {
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
        assert!(
            (grouped - age * 1000.0).abs() <= 1.0,
            "{grouped} ms vs {age} s"
        );
        assert_eq!(grouped, grouped.round());
        let ungrouped = ask(json!([]));
        assert!((ungrouped - age).abs() <= 0.001, "{ungrouped} s vs {age} s");
        assert!(ungrouped.is_finite() && ungrouped < grouped);
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

            let eligible: Vec<&crate::simulator::scenario::Agent> = scenario
                .agents
                .iter()
                .filter(|a| profile_serves(&a.routing_profile_id, queue, channel))
                .collect();
            let has = |a: &crate::simulator::scenario::Agent, states: &[&str]| {
                a.contacts
                    .iter()
                    .any(|c| states.contains(&c.state.as_str()))
            };
            let on_contact = |a: &crate::simulator::scenario::Agent| {
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
            let acw = |a: &crate::simulator::scenario::Agent| !on_contact(a) && has(a, &["ENDED"]);
            let online = |a: &crate::simulator::scenario::Agent| a.status_name != "Offline";
            let count = |f: &dyn Fn(&crate::simulator::scenario::Agent) -> bool| {
                eligible.iter().filter(|a| f(a)).count() as f64
            };
            let staffed =
                count(&|a| online(a) && (a.status_name == "Available" || on_contact(a) || acw(a)));
            let slots = |pick: fn(&crate::simulator::scenario::Agent) -> &BTreeMap<String, i32>| {
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
            assert!((age - oldest_ms).abs() <= 1.0, "{age} vs {oldest_ms}");
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
