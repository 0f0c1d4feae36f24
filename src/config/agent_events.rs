//! The `agent_events` key of an instance: the Kinesis data stream its agent events are read
//! from, and how. Part of [`super::validate`], kept apart because it has a job of its own.

use std::collections::HashMap;
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

/// Validates the `agent_events` of the instance at `instance_key` (`instances[N]`), whose
/// region and role (`instance_access`) the stream's default to; `None` when absent or invalid
/// (the problems reported).
pub(super) fn validate_agent_events(
    instance_key: &str,
    raw: Option<RawAgentEvents>,
    (instance_region, instance_role): (Option<&str>, Option<&str>),
    report: &mut impl FnMut(String, String),
) -> Option<AgentEvents> {
    let raw = raw?;
    let key = &format!("{instance_key}.agent_events");
    if !cfg!(feature = "agent-events") {
        report(
            key.to_string(),
            "this build was made without the cargo feature `agent-events`, so it cannot read an agent event stream; build with default features".into(),
        );
        return None;
    }
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

/// A stream that several instances publish to is read once, for all of them: they must read
/// it the same way.
pub(super) fn check_shared_streams(
    instances: &[super::Instance],
    report: &mut impl FnMut(String, String),
) {
    /// A stream: its name, region and endpoint.
    type StreamPlace<'a> = (&'a str, Option<&'a str>, Option<&'a str>);
    let mut first_reader: HashMap<StreamPlace<'_>, (usize, &AgentEvents)> = HashMap::new();
    for (index, instance) in instances.iter().enumerate() {
        let Some(events) = &instance.agent_events else {
            continue;
        };
        let stream = (
            events.stream_name.as_str(),
            events.region.as_deref(),
            events.endpoint_url.as_deref(),
        );
        match first_reader.get(&stream) {
            Some((first, settings)) if *settings != events => report(
                format!("instances[{index}].agent_events"),
                format!(
                    "stream {} is also read for instances[{first}] with other settings (stream ARN, role_arn or read_interval); a stream is read once for every instance that publishes to it, so give each the same agent_events",
                    events.stream_name
                ),
            ),
            Some(_) => {}
            None => {
                first_reader.insert(stream, (index, events));
            }
        }
    }
}

// The lean build refuses the key; these tests are of the default build.
#[cfg(all(test, feature = "agent-events"))]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{parse, ConfigError, Problem};

    const INSTANCE: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    const OTHER: &str = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
    const QUEUE: &str = "7e2f1c44-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
    const ROLE: &str = "arn:aws:iam::123456789012:role/connect-exporter";

    fn instance(name: &str, id: &str, agent_events: &str) -> String {
        format!(
            "  - name: {name}\n    instance_id: {id}\n    region: eu-west-2\n    role_arn: {ROLE}\n    agent_events:\n{agent_events}    queue_sets:\n      - name: support\n        queues: [{QUEUE}]\n"
        )
    }

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, Path::new("test.yaml")) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    #[test]
    fn a_stream_by_name_takes_the_instances_region_and_role_and_a_one_second_interval() {
        let text = format!(
            "instances:\n{}",
            instance("prod", INSTANCE, "      stream: connect-agent-events\n")
        );
        let config = parse(&text, Path::new("test.yaml")).expect("valid");
        let events = config.instances[0]
            .agent_events
            .clone()
            .expect("configured");
        assert_eq!(
            events,
            AgentEvents {
                stream_name: "connect-agent-events".into(),
                stream_arn: None,
                region: Some("eu-west-2".into()),
                role_arn: Some(ROLE.into()),
                endpoint_url: None,
                read_interval: DEFAULT_READ_INTERVAL,
            }
        );
    }

    #[test]
    fn a_stream_arn_gives_its_region_and_its_own_settings_win() {
        let arn = "arn:aws:kinesis:eu-central-1:123456789012:stream/agents";
        let text = format!(
            "instances:\n{}",
            instance(
                "prod",
                INSTANCE,
                &format!("      stream: {arn}\n      role_arn: arn:aws:iam::210987654321:role/reader\n      endpoint_url: http://127.0.0.1:8808\n      read_interval: 500ms\n"),
            )
        );
        let config = parse(&text, Path::new("test.yaml")).expect("valid");
        let events = config.instances[0]
            .agent_events
            .clone()
            .expect("configured");
        assert_eq!(events.stream_name, "agents");
        assert_eq!(events.stream_arn.as_deref(), Some(arn));
        assert_eq!(events.region.as_deref(), Some("eu-central-1"));
        assert_eq!(
            events.role_arn.as_deref(),
            Some("arn:aws:iam::210987654321:role/reader")
        );
        assert_eq!(
            events.endpoint_url.as_deref(),
            Some("http://127.0.0.1:8808")
        );
        assert_eq!(events.read_interval, Duration::from_millis(500));
    }

    #[test]
    fn each_bad_sub_key_is_named() {
        let text = format!(
            "instances:\n{}",
            instance(
                "prod",
                INSTANCE,
                "      stream: arn:aws:kinesis:eu-west-1:123456789012:stream/agents\n      region: eu-west-2\n      role_arn: not-a-role\n      endpoint_url: ftp://x\n      read_interval: 100ms\n",
            )
        );
        let found = problems(&text);
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "instances[0].agent_events.region",
                "instances[0].agent_events.endpoint_url",
                "instances[0].agent_events.role_arn",
                "instances[0].agent_events.read_interval",
            ],
            "{found:?}"
        );
        assert!(
            found[0].message.contains("contradicts the stream ARN"),
            "{}",
            found[0].message
        );
        assert!(found[3].message.contains("200ms"), "{}", found[3].message);
        let text = format!(
            "instances:\n{}",
            instance(
                "prod",
                INSTANCE,
                "      stream: has spaces\n      shards: 2\n"
            )
        );
        let message = parse(&text, Path::new("test.yaml"))
            .expect_err("unknown key")
            .to_string();
        assert!(message.contains("shards"), "{message}");
        let text = format!(
            "instances:\n{}",
            instance("prod", INSTANCE, "      stream: has spaces\n")
        );
        let found = problems(&text);
        assert_eq!(found[0].key, "instances[0].agent_events.stream");
        assert!(
            found[0].message.contains("not a Kinesis stream name"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn instances_sharing_a_stream_must_read_it_alike() {
        let same = "      stream: connect-agent-events\n";
        let text = format!(
            "instances:\n{}{}",
            instance("a", INSTANCE, same),
            instance("b", OTHER, same)
        );
        parse(&text, Path::new("test.yaml")).expect("the same settings share one reader");
        let text = format!(
            "instances:\n{}{}",
            instance("a", INSTANCE, same),
            instance(
                "b",
                OTHER,
                "      stream: connect-agent-events\n      read_interval: 2s\n"
            )
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "instances[1].agent_events");
        assert!(
            found[0].message.contains("instances[0]"),
            "{}",
            found[0].message
        );
    }
}
