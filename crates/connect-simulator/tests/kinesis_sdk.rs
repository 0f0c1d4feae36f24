//! The agent event stream read with the official Kinesis SDK over loopback, as the exporter
//! reads it: every record decoded from its JSON must agree with the simulator's record of
//! truth (`agent_event_log`), across a shard split, and the stand-in's errors must come back
//! as the SDK's error variants.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::types::ShardIteratorType;
use connect_simulator::{
    AgentEventStreamOptions, AgentEventType, PublishedAgentEvent, RunningSimulator,
    SimulatorOptions, StatusChange,
};
use serde_json::Value;

const STREAM: &str = "connect-agent-events";

fn client(endpoint_url: &str) -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-2"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(endpoint_url)
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

/// A fast-moving small centre (10 ms ticks) with the stream on, heartbeats every 0.5 s of
/// simulated time and some duplicates.
async fn start() -> RunningSimulator {
    let options = SimulatorOptions {
        agents: 40,
        queues: 4,
        routing_profiles: 3,
        seed: 15,
        tick: Duration::from_millis(10),
        agent_events: Some(AgentEventStreamOptions {
            heartbeat_interval: Duration::from_millis(500),
            duplicate_rate: 0.05,
            ..AgentEventStreamOptions::default()
        }),
        ..SimulatorOptions::default()
    };
    RunningSimulator::start(options, "127.0.0.1:0")
        .await
        .expect("the simulator starts")
}

fn millis(iso: &Value) -> i64 {
    let text = iso.as_str().expect("an ISO timestamp");
    let timestamp: jiff::Timestamp = text.parse().expect("an ISO-8601 timestamp");
    timestamp.as_millisecond()
}

/// What a decoded record says, in the form of the record of truth.
fn decode(
    sequence: String,
    shard: &str,
    data: &[u8],
    seen: &mut BTreeSet<String>,
) -> PublishedAgentEvent {
    let event: Value = serde_json::from_slice(data).expect("every record is JSON");
    let current = &event["CurrentAgentSnapshot"];
    let previous = &event["PreviousAgentSnapshot"];
    let event_type = match event["EventType"].as_str() {
        Some("LOGIN") => AgentEventType::Login,
        Some("LOGOUT") => AgentEventType::Logout,
        Some("STATE_CHANGE") => AgentEventType::StateChange,
        Some("HEART_BEAT") => AgentEventType::HeartBeat,
        other => panic!("unknown event type {other:?}"),
    };
    let (was, is) = (&previous["AgentStatus"], &current["AgentStatus"]);
    let status_change = (was["ARN"] != is["ARN"] || was["StartTimestamp"] != is["StartTimestamp"])
        .then(|| StatusChange {
            from: was["Name"].as_str().unwrap_or_default().to_string(),
            to: is["Name"].as_str().unwrap_or_default().to_string(),
            seconds_in_from: (millis(&is["StartTimestamp"]) - millis(&was["StartTimestamp"]))
                as f64
                / 1000.0,
        });
    let old: BTreeSet<(&str, &str)> = previous["Contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["ContactId"].as_str().unwrap(),
                c["State"].as_str().unwrap(),
            )
        })
        .collect();
    let contact_states_reached = current["Contacts"]
        .as_array()
        .expect("Contacts is a list")
        .iter()
        .filter(|c| {
            !old.contains(&(
                c["ContactId"].as_str().unwrap(),
                c["State"].as_str().unwrap(),
            ))
        })
        .map(|c| {
            (
                c["Channel"].as_str().unwrap().to_string(),
                c["State"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let profile_arn = current["Configuration"]["RoutingProfile"]["ARN"]
        .as_str()
        .unwrap();
    let event_id = event["EventId"].as_str().unwrap().to_string();
    PublishedAgentEvent {
        sequence_number: sequence,
        shard_id: shard.to_string(),
        duplicate: !seen.insert(event_id.clone()),
        event_id,
        event_type,
        agent_arn: event["AgentARN"].as_str().unwrap().to_string(),
        routing_profile_id: profile_arn.rsplit('/').next().unwrap().to_string(),
        timestamp: millis(&event["EventTimestamp"]) as f64 / 1000.0,
        status_change,
        contact_states_reached,
    }
}

/// Reads the whole stream as a consumer does: the shards without a parent from
/// TRIM_HORIZON, each to its end (then its children, from ChildShards) or until caught up.
/// The records by shard, in reading order, and which shards each closed shard led to.
async fn read_all(
    client: &aws_sdk_kinesis::Client,
) -> (Vec<PublishedAgentEvent>, BTreeMap<String, Vec<String>>) {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // One shard a page, so that paging is exercised.
        let request = match token.take() {
            Some(token) => client.list_shards().next_token(token),
            None => client.list_shards().stream_name(STREAM),
        };
        let page = request.max_results(1).send().await.expect("ListShards");
        shards.extend(page.shards().iter().cloned());
        match page.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    let mut queue: VecDeque<String> = shards
        .iter()
        .filter(|s| s.parent_shard_id().is_none())
        .map(|s| s.shard_id().to_string())
        .collect();
    let (mut events, mut children, mut seen) = (Vec::new(), BTreeMap::new(), BTreeSet::new());
    while let Some(shard) = queue.pop_front() {
        let iterator = client
            .get_shard_iterator()
            .stream_name(STREAM)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator");
        let mut next = iterator.shard_iterator().map(str::to_string);
        while let Some(iterator) = next.take() {
            let batch = client
                .get_records()
                .shard_iterator(iterator)
                .limit(200)
                .send()
                .await
                .expect("GetRecords");
            for record in batch.records() {
                let data = record.data().as_ref();
                let sequence = record.sequence_number().to_string();
                events.push(decode(sequence, &shard, data, &mut seen));
                assert!(record
                    .partition_key()
                    .unwrap_or_default()
                    .starts_with("arn:aws:connect:"));
            }
            for child in batch.child_shards() {
                assert!(child.parent_shards().contains(&shard));
                children
                    .entry(shard.clone())
                    .or_insert_with(Vec::new)
                    .push(child.shard_id().to_string());
                if !queue.contains(&child.shard_id().to_string()) {
                    queue.push_back(child.shard_id().to_string());
                }
            }
            let caught_up = batch.records().is_empty() && batch.millis_behind_latest() == Some(0);
            if !caught_up {
                next = batch.next_shard_iterator().map(str::to_string);
            }
        }
    }
    (events, children)
}

#[tokio::test]
async fn the_sdk_reads_every_event_as_the_log_has_it_across_a_split() {
    let running = start().await;
    let simulator = running.simulator();
    let client = client(&running.endpoint_url());
    let summary = client
        .describe_stream_summary()
        .stream_name(STREAM)
        .send()
        .await
        .expect("DescribeStreamSummary");
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.open_shard_count(), 2);
    assert_eq!(
        summary.stream_arn(),
        "arn:aws:kinesis:eu-west-2:123456789012:stream/connect-agent-events"
    );

    tokio::time::sleep(Duration::from_millis(700)).await;
    let (low, high) = simulator
        .split_shard("shardId-000000000000")
        .expect("an open shard");
    let split_at = simulator.agent_events_published();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Bring the world to now, then stop it so that the reader can catch up exactly.
    simulator.simulated_now();
    simulator.freeze();
    assert_eq!(
        simulator.open_shards(),
        ["shardId-000000000001", &low, &high]
    );

    let (mut read, children) = read_all(&client).await;
    assert_eq!(
        children.get("shardId-000000000000"),
        Some(&vec![low.clone(), high.clone()])
    );
    let log = simulator.agent_event_log();
    assert!(log.len() > 100, "{} events", log.len());
    for kind in [
        AgentEventType::Login,
        AgentEventType::Logout,
        AgentEventType::StateChange,
        AgentEventType::HeartBeat,
    ] {
        assert!(log.iter().any(|e| e.event_type == kind), "no {kind:?}");
    }
    assert!(log.iter().any(|e| e.duplicate));
    // After the split nothing more went to the parent, and the children got events.
    assert!(log[split_at as usize..]
        .iter()
        .all(|e| e.shard_id != "shardId-000000000000"));
    assert!(log.iter().any(|e| e.shard_id == low || e.shard_id == high));
    // Shards are read one after the other: sequence numbers (56 digits, ordered as strings)
    // give the publish order back.
    read.sort_by(|a, b| a.sequence_number.cmp(&b.sequence_number));
    assert_eq!(read.len(), log.len());
    for (decoded, truth) in read.iter().zip(&log) {
        assert_eq!(decoded, truth);
    }
    assert_eq!(simulator.agent_events_published(), log.len() as u64);
    assert!(simulator.request_count("GetRecords") > 3);
    assert!(simulator.request_count("ListShards") >= 4);
    running.stop().await;
}

#[tokio::test]
async fn throttling_and_expiry_come_back_as_the_sdk_error_variants() {
    let running = start().await;
    let simulator = running.simulator();
    let client = client(&running.endpoint_url());
    let iterator = client
        .get_shard_iterator()
        .stream_name(STREAM)
        .shard_id("shardId-000000000001")
        .shard_iterator_type(ShardIteratorType::Latest)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator()
        .unwrap()
        .to_string();
    simulator.set_get_records_throttle_rate(1.0);
    let error = client
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .expect_err("throttled")
        .into_service_error();
    assert!(
        error.is_provisioned_throughput_exceeded_exception(),
        "{error:?}"
    );
    simulator.set_get_records_throttle_rate(0.0);
    simulator.expire_shard_iterators();
    let error = client
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .expect_err("expired")
        .into_service_error();
    assert!(error.is_expired_iterator_exception(), "{error:?}");
    let error = client
        .describe_stream_summary()
        .stream_name("elsewhere")
        .send()
        .await
        .expect_err("no such stream")
        .into_service_error();
    assert!(error.is_resource_not_found_exception(), "{error:?}");
    // The SDK retries throttling on its own: one call, several requests.
    assert!(simulator.request_count("GetRecords") >= 2);
    running.stop().await;
}

#[tokio::test]
async fn a_thawed_clock_resumes_where_it_stood() {
    let options = SimulatorOptions {
        agents: 20,
        frozen: true,
        clock_at: Some(1_700_000_000.0),
        tick: Duration::from_millis(100),
        agent_events: Some(AgentEventStreamOptions::default()),
        ..SimulatorOptions::default()
    };
    let running = RunningSimulator::start(options, "127.0.0.1:0")
        .await
        .unwrap();
    let simulator = running.simulator();
    assert!(simulator.is_frozen());
    simulator.thaw();
    assert!(!simulator.is_frozen());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let moved = simulator.simulated_now() - 1_700_000_000.0;
    // Four ticks or so of real time, not the years since the frozen clock's time.
    assert!((0.2..2.0).contains(&moved), "moved {moved} s");
    assert!(simulator.agent_events_published() > 0);
    running.stop().await;
}
