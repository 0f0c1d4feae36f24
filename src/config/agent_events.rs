//! The `agent_events` key of an instance: the Kinesis data stream its agent events are read
//! from, and how. Part of [`super::validate`], kept apart because it has a job of its own.

use std::ops::RangeInclusive;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::bounds::parse_bounded_duration;
use super::ids::{self, parse_stream};
use super::schema::DURATION_PATTERN;
use super::validate::{check_endpoint_url, check_region};

/// `read_interval` unless configured: one GetRecords a second per shard leaves four of the
/// shard's five to the stream's other consumers (Firehose, Lambda).
pub const DEFAULT_READ_INTERVAL: Duration = Duration::from_secs(1);
/// `read_interval`: a shard takes at most five GetRecords a second from all its consumers
/// together; past a minute the event families are no fresher than polling.
pub const READ_INTERVAL_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(200)..=Duration::from_secs(60);

/// An instance's agent event stream, as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AgentEvents")]
pub(super) struct RawAgentEvents {
    /// The Kinesis data stream the instance publishes its agent events to: its name or
    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
    pub(super) stream: String,
    /// The stream's region; default: the stream ARN's, else the instance's.
    pub(super) region: Option<String>,
    /// `arn:aws:iam::ACCOUNT:role/NAME` assumed to read the stream; default: the instance's
    /// `role_arn`.
    pub(super) role_arn: Option<String>,
    /// An absolute `http://` or `https://` URL for Kinesis (a VPC endpoint, the simulator);
    /// never the instance's, which is Connect's.
    pub(super) endpoint_url: Option<String>,
    /// Time between two GetRecords of one shard (200ms to 1m; default 1s).
    #[schemars(pattern(DURATION_PATTERN))]
    pub(super) read_interval: Option<String>,
}

/// Where an instance's agent events are read from, validated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AgentEvents {
    /// The stream's name (the `stream` label).
    pub stream_name: String,
    /// The stream's ARN when the file gives one (the requests then name the ARN).
    pub stream_arn: Option<String>,
    /// The stream's region; `None` leaves it to the SDK's region chain.
    pub region: Option<String>,
    /// IAM role assumed through STS before reading.
    pub role_arn: Option<String>,
    /// Endpoint override for Kinesis.
    pub endpoint_url: Option<String>,
    /// Time between two GetRecords of one shard.
    pub read_interval: Duration,
}

/// Validates `raw`, written at `key` (`instances[N].agent_events`) of an instance in
/// `instance_region` that assumes `instance_role`; `None` with the problems reported.
pub(super) fn validate_agent_events(
    key: &str,
    raw: RawAgentEvents,
    instance_region: Option<&str>,
    instance_role: Option<&str>,
    report: &mut impl FnMut(String, String),
) -> Option<AgentEvents> {
    let mut valid = true;
    let mut problem = |at: &str, message: String| {
        valid = false;
        report(format!("{key}.{at}"), message);
    };
    let stream = parse_stream(&raw.stream)
        .map_err(|message| problem("stream", message))
        .ok();
    if let Some(region) = &raw.region {
        if let Err(message) = check_region(region) {
            problem("region", message);
        }
    }
    let arn_region = stream.as_ref().and_then(|stream| stream.region.clone());
    if let (Some(given), Some(of_arn)) = (&raw.region, &arn_region) {
        if given != of_arn {
            problem(
                "region",
                format!("region {given} contradicts the stream ARN, which is in {of_arn}"),
            );
        }
    }
    if let Some(url) = &raw.endpoint_url {
        if let Err(message) = check_endpoint_url(url) {
            problem("endpoint_url", message);
        }
    }
    if let Some(role) = &raw.role_arn {
        if let Err(message) = ids::check_role_arn(role) {
            problem("role_arn", message);
        }
    }
    let read_interval = parse_bounded_duration(
        raw.read_interval.as_deref(),
        &format!("{key}.read_interval"),
        &READ_INTERVAL_RANGE,
        &mut |at, message| {
            valid = false;
            report(at, message);
        },
    );
    let stream = stream.filter(|_| valid)?;
    Some(AgentEvents {
        stream_name: stream.name,
        stream_arn: stream.arn,
        region: raw
            .region
            .or(arn_region)
            .or_else(|| instance_region.map(str::to_string)),
        role_arn: raw.role_arn.or_else(|| instance_role.map(str::to_string)),
        endpoint_url: raw.endpoint_url,
        read_interval: read_interval.unwrap_or(DEFAULT_READ_INTERVAL),
    })
}
