//! HTTP routing and handlers of the simulated Connect API: request validation with the
//! service's error names, filters, paging. Every bad input gets an error response, never a
//! panic.

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
use super::scenario::World;
use super::wire::{GetCurrentUserDataRequest, GetCurrentUserDataResponse, UserData};
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
}
