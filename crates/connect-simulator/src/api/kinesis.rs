//! The Kinesis Data Streams stand-in on the wire: AWS JSON 1.1 (`POST /` with
//! `X-Amz-Target: Kinesis_20131202.<Operation>`), for DescribeStreamSummary, ListShards,
//! GetShardIterator and GetRecords over the agent event stream.
//!
//! Errors are HTTP 400 (500 for `InternalFailure`) with `{"__type", "message"}` and
//! `x-amzn-ErrorType`, as the service answers. GetRecords enforces the real per-shard limit of
//! 5 calls in any second (`ProvisionedThroughputExceededException`; throttled calls do not use
//! the allowance) and expires iterators after 5 minutes (`ExpiredIteratorException`); tests
//! throttle or expire on demand through [`KinesisState`].
//!
//! Of the [`crate::Faults`], latency, connection resets, server errors (as `500
//! InternalFailure`) and truncated JSON apply to these operations too; the throttle rate, the
//! quota and unknown enum values are Connect's and do not (Kinesis has its own throttling).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::{HttpResponse, Service};
use crate::faults::{Faults, Verdict};
use crate::http::DropConnection;
use crate::scenario::World;
use crate::stream::{format_sequence, parse_sequence, Shard, Stream};

/// What every Kinesis request's `X-Amz-Target` starts with.
pub(crate) const TARGET_PREFIX: &str = "Kinesis_20131202.";
/// An iterator older than this is expired, as on AWS.
const ITERATOR_LIFETIME: Duration = Duration::from_secs(300);
/// GetRecords calls per shard allowed in any one second, as on AWS.
const GET_RECORDS_PER_SECOND: usize = 5;
/// Largest and default GetRecords `Limit`.
const MAX_RECORDS: usize = 10_000;
/// Largest ListShards `MaxResults`, and its default.
const MAX_LIST_SHARDS: usize = 10_000;
const DEFAULT_LIST_SHARDS: usize = 1_000;

/// The operations served, as counted by [`Service::request_count`].
const OPERATIONS: [&str; 4] = [
    "DescribeStreamSummary",
    "ListShards",
    "GetShardIterator",
    "GetRecords",
];

/// An error answer: `__type` and message (HTTP 400 unless `InternalFailure`).
type Failure = (&'static str, String);

fn invalid(message: impl Into<String>) -> Failure {
    ("InvalidArgumentException", message.into())
}

/// Throttling and iterator expiry, shared by all requests.
#[derive(Debug, Default)]
pub(crate) struct KinesisState {
    inner: Mutex<ThrottleState>,
}

#[derive(Debug, Default)]
struct ThrottleState {
    /// When each shard's recent GetRecords calls were served.
    windows: HashMap<String, VecDeque<Instant>>,
    /// Share of GetRecords calls throttled on demand.
    throttle_rate: f64,
    /// Accumulates `throttle_rate` per call; a call that brings it to 1 is throttled, so a
    /// rate throttles exactly that share of calls, in a fixed pattern.
    throttle_credit: f64,
    /// Iterators issued under an older generation are expired.
    generation: u64,
}

impl KinesisState {
    /// Throttles this share of GetRecords calls from now on (clamped to 0..=1).
    pub(crate) fn set_throttle_rate(&self, rate: f64) {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.throttle_rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        state.throttle_credit = 0.0;
    }

    /// Expires every iterator issued so far.
    pub(crate) fn expire_iterators(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .generation += 1;
    }

    fn generation(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }

    /// Whether a GetRecords call on `shard` may go ahead now; counts it if so.
    fn admit(&self, shard: &str) -> Result<(), Failure> {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.throttle_credit += state.throttle_rate;
        if state.throttle_credit >= 1.0 - 1e-9 {
            state.throttle_credit -= 1.0;
            return Err(throughput_exceeded(shard));
        }
        let now = Instant::now();
        let window = state.windows.entry(shard.to_string()).or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= GET_RECORDS_PER_SECOND {
            return Err(throughput_exceeded(shard));
        }
        window.push_back(now);
        Ok(())
    }
}

fn throughput_exceeded(shard: &str) -> Failure {
    (
        "ProvisionedThroughputExceededException",
        format!("Rate exceeded for shard {shard}."),
    )
}

/// Answers one Kinesis request (`operation` is the target after [`TARGET_PREFIX`]), with the
/// faults that apply to Kinesis.
pub(crate) async fn serve(
    service: &Service,
    operation: &str,
    body: &[u8],
) -> Result<HttpResponse, DropConnection> {
    let faults = service.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let counted = OPERATIONS
        .iter()
        .find(|known| **known == operation)
        .copied();
    service.count(counted.unwrap_or("other"));
    let kinesis_faults = Faults {
        throttle_rate: 0.0,
        ..faults
    };
    let verdict = kinesis_faults.verdict(None);
    let result = match (verdict, counted) {
        (Verdict::Reset, _) => return Err(DropConnection),
        (Verdict::ServerError, _) => Err(("InternalFailure", "simulated internal failure".into())),
        (_, None) => Err((
            "UnknownOperationException",
            format!("unknown operation {operation:?}"),
        )),
        (_, Some(operation)) if service.switches.is_denied(operation) => Err((
            "AccessDeniedException",
            format!("not authorized to perform: kinesis:{operation}"),
        )),
        (_, Some(operation)) => answer(service, operation, body),
    };
    let response = match result {
        Ok(value) => respond(service, StatusCode::OK, &value, None),
        Err((error_type, message)) => {
            let status = if error_type == "InternalFailure" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            let body = json!({"__type": error_type, "message": message});
            respond(service, status, &body, Some(error_type))
        }
    };
    if verdict != Verdict::Malformed {
        return Ok(response);
    }
    let (head, full) = response.into_parts();
    let bytes = http_body_util::BodyExt::collect(full)
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Ok(Response::from_parts(
        head,
        Full::new(bytes.slice(..bytes.len() / 2)),
    ))
}

/// The answer to a known operation.
fn answer(service: &Service, operation: &str, body: &[u8]) -> Result<Value, Failure> {
    let request: Value = serde_json::from_slice(body).map_err(|error| {
        (
            "SerializationException",
            format!("request body is not JSON: {error}"),
        )
    })?;
    if !request.is_object() {
        return Err((
            "SerializationException",
            "request body is not a JSON object".into(),
        ));
    }
    let issued = service.started.elapsed();
    let generation = service.kinesis.generation();
    service.with_world(|world| match operation {
        "DescribeStreamSummary" => describe_stream_summary(world, &request),
        "ListShards" => list_shards(world, &request),
        "GetShardIterator" => get_shard_iterator(world, &request, issued, generation),
        _ => {
            let iterator = Iterator::decode(text(&request, "ShardIterator")?.unwrap_or(""))?;
            if iterator.generation < generation
                || issued.saturating_sub(iterator.issued) > ITERATOR_LIFETIME
            {
                return Err(("ExpiredIteratorException", "Iterator expired.".to_string()));
            }
            service.kinesis.admit(&iterator.shard)?;
            get_records(world, &request, &iterator, (issued, generation))
        }
    })
}

/// A JSON 1.1 answer.
fn respond(
    service: &Service,
    status: StatusCode,
    body: &Value,
    error_type: Option<&'static str>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(id) = HeaderValue::from_str(&service.request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(error_type) = error_type {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    }
    response
}

/// A string member, `None` when absent; an error when it is not a string.
fn text<'a>(request: &'a Value, member: &str) -> Result<Option<&'a str>, Failure> {
    match request.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(invalid(format!("{member} must be a string"))),
    }
}

/// A whole-number member within `range`, `None` when absent.
fn count(
    request: &Value,
    member: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Option<usize>, Failure> {
    match request.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "{member} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// An epoch-seconds timestamp member, `None` when absent.
fn timestamp(request: &Value, member: &str) -> Result<Option<f64>, Failure> {
    match request.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|t| t.is_finite())
            .map(Some)
            .ok_or_else(|| invalid(format!("{member} must be epoch seconds"))),
    }
}

/// The stream the request names by `StreamName` or `StreamARN`.
fn stream_of<'a>(world: &'a World, request: &Value) -> Result<&'a Stream, Failure> {
    let name = text(request, "StreamName")?;
    let arn = text(request, "StreamARN")?;
    let stream = world.agent_events.as_ref().map(|events| &events.stream);
    let named = name
        .or(arn)
        .ok_or_else(|| invalid("StreamName or StreamARN is required"))?;
    let matches = |stream: &&Stream| {
        name.is_none_or(|n| n == stream.name) && arn.is_none_or(|a| a == stream.arn)
    };
    stream.filter(matches).ok_or_else(|| {
        let account = world
            .scenario
            .instance_arn
            .split(':')
            .nth(4)
            .unwrap_or_default();
        (
            "ResourceNotFoundException",
            format!("Stream {named} under account {account} not found."),
        )
    })
}

/// The shard called `id` in `stream`.
fn shard_of<'a>(stream: &'a Stream, id: &str) -> Result<&'a Shard, Failure> {
    stream.shard(id).ok_or_else(|| {
        (
            "ResourceNotFoundException",
            format!("Shard {id} in stream {} does not exist.", stream.name),
        )
    })
}

/// DescribeStreamSummary.
fn describe_stream_summary(world: &World, request: &Value) -> Result<Value, Failure> {
    let stream = stream_of(world, request)?;
    Ok(json!({
        "StreamDescriptionSummary": {
            "StreamName": stream.name,
            "StreamARN": stream.arn,
            "StreamStatus": "ACTIVE",
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
            "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": stream.created,
            "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
            "EncryptionType": "NONE",
            "OpenShardCount": stream.open_shards().len(),
            "ConsumerCount": 0,
        }
    }))
}

/// The shards a ListShards filter selects, in creation order.
fn select_shards<'a>(
    stream: &'a Stream,
    filter: Option<&Value>,
    after: Option<&str>,
) -> Result<Vec<&'a Shard>, Failure> {
    let mut shards: Vec<&Shard> = stream
        .shards
        .iter()
        .filter(|s| after.is_none_or(|after| s.id.as_str() > after))
        .collect();
    let Some(filter) = filter.filter(|f| !f.is_null()) else {
        return Ok(shards);
    };
    let kind = text(filter, "Type")?.ok_or_else(|| invalid("ShardFilter.Type is required"))?;
    let at = timestamp(filter, "Timestamp")?;
    let need_time = || at.ok_or_else(|| invalid(format!("ShardFilter {kind} needs a Timestamp")));
    match kind {
        "AT_TRIM_HORIZON" | "FROM_TRIM_HORIZON" => {}
        "AT_LATEST" => shards.retain(|s| s.ending_sequence.is_none()),
        "AFTER_SHARD_ID" => {
            let id = text(filter, "ShardId")?
                .ok_or_else(|| invalid("ShardFilter AFTER_SHARD_ID needs a ShardId"))?;
            shards.retain(|s| s.id.as_str() > id);
        }
        "AT_TIMESTAMP" => {
            let t = need_time()?;
            // The shards open at `t`: the first ones for a time before the stream.
            shards.retain(|s| {
                (s.opened <= t || s.parent.is_none()) && s.closed.is_none_or(|c| c > t)
            });
        }
        "FROM_TIMESTAMP" => {
            let t = need_time()?;
            shards.retain(|s| s.closed.is_none_or(|c| c > t));
        }
        other => return Err(invalid(format!("unknown ShardFilter type {other}"))),
    }
    Ok(shards)
}

/// ListShards, paged by `MaxResults` with a `NextToken` that carries the stream, the filter
/// and the offset (and, as on AWS, may not come with `StreamName`).
fn list_shards(world: &World, request: &Value) -> Result<Value, Failure> {
    let max = count(request, "MaxResults", 1..=MAX_LIST_SHARDS)?.unwrap_or(DEFAULT_LIST_SHARDS);
    let (query, offset) = match text(request, "NextToken")? {
        Some(token) => {
            if request.get("StreamName").is_some() || request.get("StreamARN").is_some() {
                return Err(invalid(
                    "NextToken and StreamName/StreamARN cannot be provided together.",
                ));
            }
            let decoded = BASE64
                .decode(token)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .ok_or_else(|| invalid("invalid NextToken"))?;
            let offset = decoded["Offset"]
                .as_u64()
                .ok_or_else(|| invalid("invalid NextToken"))?;
            (decoded, offset as usize)
        }
        None => (request.clone(), 0),
    };
    let stream = stream_of(world, &query)?;
    let after = text(&query, "ExclusiveStartShardId")?;
    let shards = select_shards(stream, query.get("ShardFilter"), after)?;
    let page: Vec<Value> = shards
        .iter()
        .skip(offset)
        .take(max)
        .map(|s| shard_json(s))
        .collect();
    let mut reply = json!({ "Shards": page });
    if offset + max < shards.len() {
        let mut next = Map::new();
        next.insert("StreamName".into(), Value::from(stream.name.as_str()));
        for member in ["ShardFilter", "ExclusiveStartShardId"] {
            if let Some(value) = query.get(member) {
                next.insert(member.into(), value.clone());
            }
        }
        next.insert("Offset".into(), Value::from(offset + max));
        reply["NextToken"] = Value::from(BASE64.encode(Value::Object(next).to_string()));
    }
    Ok(reply)
}

/// A shard as ListShards shows it.
fn shard_json(shard: &Shard) -> Value {
    let mut range = json!({"StartingSequenceNumber": format_sequence(shard.starting_sequence)});
    if let Some(ending) = shard.ending_sequence {
        range["EndingSequenceNumber"] = Value::from(format_sequence(ending));
    }
    let mut value = json!({
        "ShardId": shard.id,
        "HashKeyRange": hash_range(shard),
        "SequenceNumberRange": range,
    });
    if let Some(parent) = &shard.parent {
        value["ParentShardId"] = Value::from(parent.as_str());
    }
    if let Some(adjacent) = &shard.adjacent_parent {
        value["AdjacentParentShardId"] = Value::from(adjacent.as_str());
    }
    value
}

fn hash_range(shard: &Shard) -> Value {
    json!({
        "StartingHashKey": shard.hash_start.to_string(),
        "EndingHashKey": shard.hash_end.to_string(),
    })
}

/// What a shard iterator encodes: where to read, and when and under which generation it
/// was issued.
#[derive(Debug, Clone, PartialEq)]
struct Iterator {
    stream: String,
    shard: String,
    /// The sequence counter to read from (the first record at or after it).
    position: u128,
    /// Time since the simulator started.
    issued: Duration,
    generation: u64,
}

impl Iterator {
    fn encode(&self) -> String {
        let text = format!(
            "v1|{}|{}|{}|{}|{}",
            self.stream,
            self.shard,
            self.position,
            self.issued.as_millis(),
            self.generation
        );
        BASE64.encode(text)
    }

    fn decode(text: &str) -> Result<Self, Failure> {
        let bad = || invalid("Invalid ShardIterator.");
        let bytes = BASE64.decode(text).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let parts: Vec<&str> = text.split('|').collect();
        let ["v1", stream, shard, position, issued, generation] = parts.as_slice() else {
            return Err(bad());
        };
        Ok(Self {
            stream: (*stream).to_string(),
            shard: (*shard).to_string(),
            position: position.parse().map_err(|_| bad())?,
            issued: Duration::from_millis(issued.parse().map_err(|_| bad())?),
            generation: generation.parse().map_err(|_| bad())?,
        })
    }
}

/// GetShardIterator.
fn get_shard_iterator(
    world: &World,
    request: &Value,
    issued: Duration,
    generation: u64,
) -> Result<Value, Failure> {
    let stream = stream_of(world, request)?;
    let shard_id = text(request, "ShardId")?.ok_or_else(|| invalid("ShardId is required"))?;
    let shard = shard_of(stream, shard_id)?;
    let sequence = || {
        let text = text(request, "StartingSequenceNumber")?
            .ok_or_else(|| invalid("StartingSequenceNumber is required for this iterator type"))?;
        parse_sequence(text)
            .ok_or_else(|| invalid(format!("invalid StartingSequenceNumber {text}")))
    };
    let position = match text(request, "ShardIteratorType")? {
        Some("TRIM_HORIZON") => 0,
        Some("LATEST") => stream.next_sequence,
        Some("AT_SEQUENCE_NUMBER") => sequence()?,
        Some("AFTER_SEQUENCE_NUMBER") => sequence()?.saturating_add(1),
        Some("AT_TIMESTAMP") => {
            let at = timestamp(request, "Timestamp")?
                .ok_or_else(|| invalid("Timestamp is required for AT_TIMESTAMP"))?;
            let first = shard.records.iter().find(|r| r.arrival >= at);
            first.map_or(stream.next_sequence, |r| r.sequence)
        }
        other => {
            return Err(invalid(format!(
                "invalid ShardIteratorType {}",
                other.unwrap_or("(none)")
            )))
        }
    };
    let iterator = Iterator {
        stream: stream.name.clone(),
        shard: shard.id.clone(),
        position,
        issued,
        generation,
    };
    Ok(json!({ "ShardIterator": iterator.encode() }))
}

/// GetRecords: up to `Limit` records from the iterator's position; at the end of a closed
/// shard, no next iterator and the shard's children.
fn get_records(
    world: &World,
    request: &Value,
    iterator: &Iterator,
    (issued, generation): (Duration, u64),
) -> Result<Value, Failure> {
    let limit = count(request, "Limit", 1..=MAX_RECORDS)?.unwrap_or(MAX_RECORDS);
    let stream = world
        .agent_events
        .as_ref()
        .map(|events| &events.stream)
        .filter(|stream| stream.name == iterator.stream)
        .ok_or_else(|| {
            (
                "ResourceNotFoundException",
                format!("Stream {} not found.", iterator.stream),
            )
        })?;
    let shard = shard_of(stream, &iterator.shard)?;
    let start = shard.position_of(iterator.position);
    let batch: Vec<_> = shard.records.iter().skip(start).take(limit).collect();
    let next_position = batch.last().map_or(iterator.position, |r| r.sequence + 1);
    let unread = shard.records.get(start + batch.len());
    let records: Vec<Value> = batch
        .iter()
        .map(|record| {
            json!({
                "SequenceNumber": format_sequence(record.sequence),
                "ApproximateArrivalTimestamp": record.arrival,
                "Data": BASE64.encode(&record.data),
                "PartitionKey": record.partition_key,
            })
        })
        .collect();
    let behind = unread.map_or(0, |r| ((world.now - r.arrival) * 1000.0).max(0.0) as u64);
    let mut reply = json!({"Records": records, "MillisBehindLatest": behind});
    if shard.ending_sequence.is_some() && unread.is_none() {
        let children: Vec<Value> = stream
            .children_of(&shard.id)
            .into_iter()
            .map(|child| {
                let parents: Vec<&str> = [&child.parent, &child.adjacent_parent]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                json!({"ShardId": child.id, "ParentShards": parents, "HashKeyRange": hash_range(child)})
            })
            .collect();
        reply["ChildShards"] = Value::from(children);
    } else {
        let next = Iterator {
            position: next_position,
            issued,
            generation,
            ..iterator.clone()
        };
        reply["NextShardIterator"] = Value::from(next.encode());
    }
    Ok(reply)
}

#[cfg(test)]
#[path = "kinesis_tests.rs"]
mod tests;
