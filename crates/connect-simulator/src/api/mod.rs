//! HTTP routing and handlers of the simulated Connect API: request validation with the
//! service's error names, filters, paging. Every bad input gets an error response, never a
//! panic. Faults apply to GetCurrentMetricData, GetMetricDataV2, SearchRoutingProfiles and the
//! List* look-ups as to GetCurrentUserData (not the quota, which is GetCurrentUserData's); a
//! faulted request counts as a request of its operation. `Switches` deny operations
//! (`403 AccessDeniedException`) and leave `AssociatedQueueIds` out of some profiles, for the
//! exporter's fallback tests.
//!
//! This module routes and keeps the shared state; each operation has its own module. Requests
//! with `X-Amz-Target: Kinesis_20131202.*` go to the Kinesis stand-in (`kinesis.rs`) on the
//! same listener, so one `endpoint_url` serves both services.

mod decode;
mod kinesis;
mod listings;
mod metric_data;
mod metric_data_v2;
mod metric_v2_request;
mod paging;
mod search;
#[cfg(test)]
mod test_support;
mod user_data;

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tracing::debug;

use crate::faults::{Faults, Verdict};
use crate::http::DropConnection;
use crate::quota::QuotaBucket;
use crate::scenario::World;
use decode::{parse_query, percent_decode};

/// The most request times remembered (for rate measurements in tests and benchmarks).
const MAX_REMEMBERED_REQUESTS: usize = 1_000_000;
/// Request bodies larger than this are refused; real ones are a few kilobytes.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The simulator's shared state.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) world: Mutex<World>,
    pub(crate) frozen: std::sync::atomic::AtomicBool,
    /// Switchable while serving ([`Service::set_faults`]); the quota is fixed at the start.
    faults: std::sync::RwLock<Faults>,
    quota: Option<QuotaBucket>,
    started: tokio::time::Instant,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    /// When each request arrived, by operation, at most [`MAX_REMEMBERED_REQUESTS`] in all.
    times: Mutex<RequestTimes>,
    /// Every (contact, agent) pair a GetCurrentUserData answer carried in the MISSED state.
    served_missed: Mutex<BTreeSet<MissedPair>>,
    request_ids: AtomicU64,
    pub(crate) switches: Switches,
    /// The Kinesis stand-in's throttling and iterator expiry.
    pub(crate) kinesis: kinesis::KinesisState,
    /// Seconds the simulated clock stands behind real time: what it lost while frozen
    /// (see [`Service::thaw`]).
    clock_lag: Mutex<f64>,
}

/// Behaviours the exporter's fallback tests turn on, also while serving.
#[derive(Debug, Default)]
pub(crate) struct Switches {
    /// Operations answered `403 AccessDeniedException`.
    denied: Mutex<BTreeSet<String>>,
    /// Every n-th profile of SearchRoutingProfiles lacks `AssociatedQueueIds`; 0: none.
    omit_queue_ids_every: AtomicUsize,
}

impl Switches {
    /// Denies `operation` (`true`) or allows it again.
    pub(crate) fn set_denied(&self, operation: &str, denied: bool) {
        let mut set = self.denied.lock().unwrap_or_else(PoisonError::into_inner);
        if denied {
            set.insert(operation.to_string());
        } else {
            set.remove(operation);
        }
    }

    fn is_denied(&self, operation: &str) -> bool {
        self.denied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(operation)
    }

    /// Every `every`-th profile lacks `AssociatedQueueIds` (`None` or 0: none does).
    pub(crate) fn set_omit_queue_ids_every(&self, every: Option<usize>) {
        self.omit_queue_ids_every
            .store(every.unwrap_or(0), Ordering::Relaxed);
    }

    fn omit_queue_ids_every(&self) -> Option<NonZeroUsize> {
        NonZeroUsize::new(self.omit_queue_ids_every.load(Ordering::Relaxed))
    }
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

/// Arrival times since the start, by operation.
#[derive(Debug, Default)]
struct RequestTimes {
    by_operation: BTreeMap<&'static str, Vec<std::time::Duration>>,
    total: usize,
}

impl Service {
    /// The state of a simulator serving `world`.
    pub(crate) fn new(world: World, frozen: bool, faults: Faults) -> Self {
        Self {
            world: Mutex::new(world),
            frozen: std::sync::atomic::AtomicBool::new(frozen),
            quota: faults.rate_limit.map(QuotaBucket::new),
            faults: std::sync::RwLock::new(faults),
            started: tokio::time::Instant::now(),
            counts: Mutex::new(BTreeMap::new()),
            times: Mutex::new(RequestTimes::default()),
            served_missed: Mutex::new(BTreeSet::new()),
            request_ids: AtomicU64::new(0),
            switches: Switches::default(),
            kinesis: kinesis::KinesisState::default(),
            clock_lag: Mutex::new(0.0),
        }
    }

    /// The faults in force now.
    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the faults (the quota, `rate_limit`, stays as it was built).
    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(PoisonError::into_inner) = faults;
    }

    /// When each request of `operation` arrived, as time since the simulator started.
    pub(crate) fn request_times(&self, operation: &str) -> Vec<std::time::Duration> {
        self.times
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_operation
            .get(operation)
            .cloned()
            .unwrap_or_default()
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
            let lag = *self
                .clock_lag
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            world.advance_to(real_now() - lag);
        }
        f(&world)
    }

    /// Starts the clock again after a freeze, from where it stood: the time it was frozen is
    /// skipped, not caught up on, so no burst of ticks (or events) follows.
    pub(crate) fn thaw(&self) {
        let world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        if self.frozen.swap(false, Ordering::Relaxed) {
            // Never ahead of real time, so a clock set in the future waits for it.
            *self
                .clock_lag
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = (real_now() - world.now).max(0.0);
        }
    }

    /// Changes the world as an administrator would (renames, new queues), under its lock.
    pub(crate) fn change_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Requests served of `operation` so far.
    pub(crate) fn request_count(&self, operation: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Counts one request of `operation` and remembers when it came.
    fn count(&self, operation: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_default() += 1;
        let mut times = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        if times.total < MAX_REMEMBERED_REQUESTS {
            times.total += 1;
            let elapsed = self.started.elapsed();
            times
                .by_operation
                .entry(operation)
                .or_default()
                .push(elapsed);
        }
    }

    /// A fresh `x-amzn-RequestId`, as every real answer carries one.
    fn request_id(&self) -> String {
        format!(
            "sim-{:012}",
            self.request_ids.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Epoch seconds now.
fn real_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Reads the body (bounded), injects the configured faults and answers the request; Kinesis
/// requests (by their `X-Amz-Target`) go to the Kinesis stand-in.
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
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    if let Some(operation) = target.and_then(|t| t.strip_prefix(kinesis::TARGET_PREFIX)) {
        return kinesis::serve(service, operation, &body).await;
    }
    let faults = service.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let is_user_data = parts.uri.path().starts_with("/metrics/userdata/");
    let quota = service.quota.as_ref().filter(|_| is_user_data);
    let verdict = faults.verdict(quota);
    if let Some(answer) = answer_fault(service, verdict, &parts.method, parts.uri.path()) {
        return answer;
    }
    let response = route(
        service,
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &body,
    );
    if verdict == Verdict::Answer && !(is_user_data && faults.unknown_enum_rate > 0.0) {
        return Ok(response);
    }
    Ok(spoil(&faults, response, verdict).await)
}

/// The answer when `verdict` stops the request before routing; `None` when it goes on. A
/// stopped request counts as one of its operation (`other` for no operation).
fn answer_fault(
    service: &Service,
    verdict: Verdict,
    method: &Method,
    path: &str,
) -> Option<Result<HttpResponse, DropConnection>> {
    if matches!(verdict, Verdict::Answer | Verdict::Malformed) {
        return None;
    }
    let segments: Option<Vec<String>> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments = segments.unwrap_or_default();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    service.count(operation_at(method, &segments).map_or("other", |found| found.0));
    let (status, error_type, message) = match verdict {
        Verdict::Reset => return Some(Err(DropConnection)),
        Verdict::Throttle => (
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Rate exceeded",
        ),
        Verdict::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceException",
            "simulated internal error",
        ),
        Verdict::Answer | Verdict::Malformed => return None,
    };
    Some(Ok(error_response(service, status, error_type, message)))
}

/// Spoils a routed answer: cut in half when malformed, else with enum values no SDK knows.
async fn spoil(faults: &Faults, response: HttpResponse, verdict: Verdict) -> HttpResponse {
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
                faults.scramble_enums(&mut value);
                Bytes::from(value.to_string())
            }
            _ => bytes,
        }
    };
    Response::from_parts(head, Full::new(bytes))
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
    let Some((operation, instance, profile)) = operation_at(method, &segments) else {
        return error_response(
            service,
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            &format!("no operation at {method} {path}"),
        );
    };
    service.count(operation);
    debug!(operation, path, "simulated request");
    if service.switches.is_denied(operation) {
        return access_denied(service, operation);
    }
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
        // GetMetricDataV2 (ResourceArn) and SearchRoutingProfiles (InstanceId) name their
        // instance in the body, checked by their handlers.
        let instance = instance.unwrap_or(&scenario.instance_arn);
        if instance != scenario.instance_id && instance != scenario.instance_arn {
            return error_response(
                service,
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Instance {instance} not found"),
            );
        }
        let result = match operation {
            "GetCurrentUserData" => {
                user_data::get_current_user_data(world, body, &service.served_missed)
            }
            "GetCurrentMetricData" => metric_data::get_current_metric_data(world, body),
            "GetMetricDataV2" => metric_data_v2::get_metric_data_v2(world, body),
            "SearchRoutingProfiles" => search::search_routing_profiles(
                world,
                body,
                service.switches.omit_queue_ids_every(),
            ),
            "DescribeInstance" => Ok(describe_instance(scenario)),
            "ListRoutingProfileQueues" => {
                listings::list_routing_profile_queues(world, profile.unwrap_or(""), &query)
            }
            _ => listings::list(world, operation, &query),
        };
        match result {
            Ok(value) => json_response(service, StatusCode::OK, &value),
            Err((status, error_type, message)) => {
                error_response(service, status, error_type, &message)
            }
        }
    })
}

/// What a path names: the operation, the instance (ID or ARN; `None` when the body names it)
/// and the routing profile.
type Operation<'a> = (&'static str, Option<&'a str>, Option<&'a str>);

/// The operation at `method` and the decoded path `segments`.
fn operation_at<'a>(method: &Method, segments: &[&'a str]) -> Option<Operation<'a>> {
    let found = match (method, segments) {
        (&Method::POST, ["metrics", "userdata", instance]) => {
            ("GetCurrentUserData", Some(*instance), None)
        }
        (&Method::POST, ["metrics", "current", instance]) => {
            ("GetCurrentMetricData", Some(*instance), None)
        }
        (&Method::POST, ["metrics", "data"]) => ("GetMetricDataV2", None, None),
        (&Method::POST, ["search-routing-profiles"]) => ("SearchRoutingProfiles", None, None),
        (&Method::GET, ["instance", instance]) => ("DescribeInstance", Some(*instance), None),
        (&Method::GET, ["queues-summary", instance]) => ("ListQueues", Some(*instance), None),
        (&Method::GET, ["routing-profiles-summary", instance]) => {
            ("ListRoutingProfiles", Some(*instance), None)
        }
        (&Method::GET, ["routing-profiles", instance, profile, "queues"]) => {
            ("ListRoutingProfileQueues", Some(*instance), Some(*profile))
        }
        (&Method::GET, ["agent-status", instance]) => ("ListAgentStatuses", Some(*instance), None),
        (&Method::GET, ["users-summary", instance]) => ("ListUsers", Some(*instance), None),
        (&Method::GET, ["user-hierarchy-groups-summary", instance]) => {
            ("ListUserHierarchyGroups", Some(*instance), None)
        }
        _ => return None,
    };
    Some(found)
}

/// The answer to a denied `operation`, in the form IAM gives it.
fn access_denied(service: &Service, operation: &str) -> HttpResponse {
    let instance_arn = service.with_world(|world| world.scenario.instance_arn.clone());
    let account = instance_arn.split(':').nth(4).unwrap_or_default();
    let message = format!(
        "User: arn:aws:sts::{account}:assumed-role/connect-exporter/simulator is not authorized \
         to perform: connect:{operation} on resource: {instance_arn}"
    );
    error_response(
        service,
        StatusCode::FORBIDDEN,
        "AccessDeniedException",
        &message,
    )
}

/// DescribeInstance: the instance's ID, ARN and the few attributes a caller reads.
fn describe_instance(scenario: &crate::scenario::Scenario) -> Value {
    serde_json::json!({
        "Instance": {
            "Id": scenario.instance_id,
            "Arn": scenario.instance_arn,
            "IdentityManagementType": "CONNECT_MANAGED",
            "InstanceStatus": "ACTIVE",
            "InboundCallsEnabled": true,
            "OutboundCallsEnabled": true,
        }
    })
}

/// An error answer: HTTP status, `x-amzn-ErrorType` and message.
type Failure = (StatusCode, &'static str, String);

/// A 400 `InvalidParameterException`, the service's answer to a bad parameter value.
fn invalid(message: String) -> Failure {
    (
        StatusCode::BAD_REQUEST,
        "InvalidParameterException",
        message,
    )
}

/// A JSON answer with the headers the service sends.
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

/// An error answer in the service's form: `{"Message": ...}` and `x-amzn-ErrorType`.
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
    use super::test_support::{call, service};
    use super::*;

    #[test]
    fn describe_instance_gives_the_arn() {
        let service = service();
        let (id, arn) = service.with_world(|w| {
            (
                w.scenario.instance_id.clone(),
                w.scenario.instance_arn.clone(),
            )
        });
        let (status, _, reply) = call(
            &service,
            Method::GET,
            &format!("/instance/{id}"),
            None,
            json!({}),
        );
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["Instance"]["Arn"], json!(arn));
        assert_eq!(reply["Instance"]["Id"], json!(id));
        assert_eq!(service.request_count("DescribeInstance"), 1);
        let (status, _, _) = call(&service, Method::GET, "/instance/nope", None, json!({}));
        assert_eq!(status, StatusCode::NOT_FOUND);
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

    /// Everything the directory shows, as the exporter reads it, checked for agreement: the
    /// queues of ListQueues are those the profiles serve in ListRoutingProfileQueues and
    /// SearchRoutingProfiles, the agents' contacts and the metrics name only those, the
    /// history only existing queues and profiles.
    fn assert_consistent(service: &Service) {
        use super::test_support::{
            all_metrics, list_all, metric_data, search_routing_profiles, user_data, INSTANCE,
        };
        let queues: BTreeSet<String> = list_all(
            service,
            &format!("/queues-summary/{INSTANCE}"),
            "QueueSummaryList",
            1000,
        )
        .0
        .iter()
        .map(|q| q["Id"].as_str().unwrap().to_string())
        .collect();
        let profiles: Vec<String> = list_all(
            service,
            &format!("/routing-profiles-summary/{INSTANCE}"),
            "RoutingProfileSummaryList",
            1000,
        )
        .0
        .iter()
        .map(|p| p["Id"].as_str().unwrap().to_string())
        .collect();
        let (status, _, found) =
            search_routing_profiles(service, json!({"InstanceId": INSTANCE, "MaxResults": 500}));
        assert_eq!(status, StatusCode::OK);
        let found = found["RoutingProfiles"].as_array().unwrap();
        assert_eq!(found.len(), profiles.len());
        for (profile, entry) in profiles.iter().zip(found) {
            assert_eq!(entry["RoutingProfileId"], json!(profile));
            let rows = list_all(
                service,
                &format!("/routing-profiles/{INSTANCE}/{profile}/queues"),
                "RoutingProfileQueueConfigSummaryList",
                100,
            )
            .0;
            assert_eq!(entry["NumberOfAssociatedQueues"], json!(rows.len()));
            for row in &rows {
                assert!(queues.contains(row["QueueId"].as_str().unwrap()), "{row}");
            }
            for queue in entry["AssociatedQueueIds"].as_array().unwrap() {
                assert!(queues.contains(queue.as_str().unwrap()));
                assert!(rows.iter().any(|row| &row["QueueId"] == queue));
            }
        }
        let mut token: Option<Value> = None;
        let mut agents = 0;
        loop {
            let mut body = json!({"Filters": {"RoutingProfiles": profiles}, "MaxResults": 100});
            if let Some(token) = token.take() {
                body["NextToken"] = token;
            }
            let (status, _, reply) = user_data(service, body);
            assert_eq!(status, StatusCode::OK, "{reply}");
            for user in reply["UserDataList"].as_array().unwrap() {
                agents += 1;
                assert!(profiles
                    .iter()
                    .any(|p| user["RoutingProfile"]["Id"] == json!(p)));
                let contacts = user["Contacts"].as_array().unwrap();
                for contact in contacts {
                    assert!(
                        queues.contains(contact["Queue"]["Id"].as_str().unwrap()),
                        "{contact}"
                    );
                }
                for (channel, active) in user["ActiveSlotsByChannel"].as_object().unwrap() {
                    let busy = contacts
                        .iter()
                        .filter(|c| {
                            &c["Channel"] == channel
                                && crate::scenario::occupies_slot(
                                    c["AgentContactState"].as_str().unwrap(),
                                )
                        })
                        .count();
                    assert_eq!(active, &json!(busy), "{user}");
                }
            }
            match &reply["NextToken"] {
                Value::Null => break,
                next => token = Some(next.clone()),
            }
        }
        assert_eq!(agents, service.with_world(|w| w.scenario.agents.len()));
        let chunks: Vec<Vec<String>> = profiles.chunks(100).map(<[String]>::to_vec).collect();
        for chunk in chunks {
            let (status, _, reply) = metric_data(
                service,
                json!({
                    "Filters": {"RoutingProfiles": chunk},
                    "Groupings": ["QUEUE", "ROUTING_PROFILE"],
                    "CurrentMetrics": all_metrics(),
                    "MaxResults": 100,
                }),
            );
            assert_eq!(status, StatusCode::OK, "{reply}");
            for row in reply["MetricResults"].as_array().unwrap() {
                assert!(
                    queues.contains(row["Dimensions"]["Queue"]["Id"].as_str().unwrap()),
                    "{row}"
                );
                assert!(profiles
                    .iter()
                    .any(|p| row["Dimensions"]["RoutingProfile"]["Id"] == json!(p)));
            }
        }
        service.with_world(|world| {
            for contact in world.history.contacts(&world.scenario) {
                assert!(queues.contains(&contact.queue_id), "{contact:?}");
                if let Some(answered) = &contact.answered {
                    assert!(
                        profiles.contains(&answered.routing_profile_id),
                        "{contact:?}"
                    );
                }
            }
            for span in world.history.agent_time(&world.scenario, world.now) {
                assert!(profiles.contains(&span.routing_profile_id), "{span:?}");
            }
            for waiting in world
                .scenario
                .waiting_contacts
                .iter()
                .chain(&world.scenario.scheduled_contacts)
            {
                assert!(queues.contains(&waiting.queue_id));
            }
        });
    }

    #[test]
    fn a_deleted_queue_leaves_every_answer_consistent() {
        use super::test_support::{all_metrics, metric_data};
        let service = service();
        assert_consistent(&service);
        // The queue most agents' contacts came from.
        let (queue, history) = service.with_world(|world| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for contact in world.scenario.agents.iter().flat_map(|a| &a.contacts) {
                *counts.entry(contact.queue_id.as_str()).or_default() += 1;
            }
            let queue = counts
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .unwrap()
                .0
                .to_string();
            (queue, world.history.contacts(&world.scenario))
        });
        assert!(history.iter().any(|c| c.queue_id == queue));
        assert!(service.change_world(|world| world.delete_queue(&queue)));
        assert!(!service.change_world(|world| world.delete_queue(&queue)));
        assert_consistent(&service);
        let (status, error_type, _) = metric_data(
            &service,
            json!({
                "Filters": {"Queues": [queue]},
                "CurrentMetrics": all_metrics(),
            }),
        );
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameterException"))
        );
        // The rest of the history is as it was, its records still naming their queues.
        let kept: Vec<_> = history
            .into_iter()
            .filter(|c| c.queue_id != queue)
            .collect();
        assert_eq!(
            service.with_world(|w| w.history.contacts(&w.scenario)),
            kept
        );
        assert_eq!(service.with_world(|w| w.scenario.queues.len()), 149);
        // And the centre goes on without it.
        service.change_world(|world| {
            for _ in 0..120 {
                world.step();
            }
        });
        assert_consistent(&service);
    }

    #[test]
    fn a_routing_profile_is_deleted_only_when_no_agent_has_it() {
        use crate::scenario::Size;
        let service = service();
        let used = service.with_world(|w| w.scenario.agents[0].routing_profile_id.clone());
        assert!(!service.change_world(|world| world.delete_routing_profile(&used)));
        assert!(!service.change_world(|world| world.delete_routing_profile("nope")));

        // Fewer agents than profiles: some profiles have none.
        let world = World::new(
            super::test_support::INSTANCE,
            "eu-west-2",
            "123456789012",
            Size {
                agents: 20,
                queues: 12,
                routing_profiles: 30,
            },
            5,
            1_700_000_000.0,
            1.0,
        );
        let service = Service::new(world, true, Faults::default());
        let (unused, history, time) = service.with_world(|world| {
            let unused: Vec<String> = world
                .scenario
                .routing_profiles
                .iter()
                .filter(|p| {
                    world
                        .scenario
                        .agents
                        .iter()
                        .all(|a| a.routing_profile_id != p.id)
                })
                .map(|p| p.id.clone())
                .collect();
            (
                unused,
                world.history.contacts(&world.scenario),
                world.history.agent_time(&world.scenario, world.now),
            )
        });
        assert!(unused.len() >= 10);
        // The first and a middle one, so that later profiles move down.
        for profile in [&unused[0], &unused[unused.len() / 2]] {
            assert!(service.change_world(|world| world.delete_routing_profile(profile)));
            assert!(!service.change_world(|world| world.delete_routing_profile(profile)));
        }
        assert_consistent(&service);
        assert_eq!(
            service.with_world(|w| w.scenario.routing_profiles.len()),
            28
        );
        assert_eq!(
            service.with_world(|w| w.history.contacts(&w.scenario)),
            history
        );
        assert_eq!(
            service.with_world(|w| w.history.agent_time(&w.scenario, w.now)),
            time
        );
        service.change_world(|world| {
            for _ in 0..120 {
                world.step();
            }
        });
        assert_consistent(&service);
    }
}
