//! The Kinesis stand-in's handlers, called without a socket.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::scenario::{AgentEventStreamOptions, Size};

const STREAM: &str = "connect-agent-events";

/// A frozen service with the agent event stream on, moved on `ticks` ticks.
fn service(ticks: usize) -> Service {
    let mut world = World::new(
        crate::DEMO_INSTANCE_ID,
        "eu-west-2",
        "123456789012",
        Size {
            agents: 60,
            queues: 6,
            routing_profiles: 4,
        },
        31,
        1_700_000_000.0,
        1.0,
    );
    let options = AgentEventStreamOptions {
        heartbeat_interval: Duration::from_secs(30),
        ..AgentEventStreamOptions::default()
    };
    world.enable_agent_events(options, ("eu-west-2", "123456789012"), 31);
    let service = Service::new(world, true, Faults::default());
    step(&service, ticks);
    service
}

fn step(service: &Service, ticks: usize) {
    service.change_world(|world| (0..ticks).for_each(|_| world.step()));
}

async fn call(
    service: &Service,
    operation: &str,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let response = serve(service, operation, body.to_string().as_bytes())
        .await
        .expect("no fault drops the connection");
    let status = response.status();
    let header = response.headers().get("x-amzn-errortype");
    let error_type = header.and_then(|v| v.to_str().ok()).map(String::from);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(error_type) = &error_type {
        assert_eq!(body["__type"], error_type.as_str(), "{body}");
    }
    (status, error_type, body)
}

async fn iterator(service: &Service, shard: &str, kind: &str, extra: Value) -> String {
    let mut body = json!({"StreamName": STREAM, "ShardId": shard, "ShardIteratorType": kind});
    for (key, value) in extra.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    let (status, _, reply) = call(service, "GetShardIterator", body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    reply["ShardIterator"].as_str().unwrap().to_string()
}

async fn records(service: &Service, iterator: &str) -> Value {
    let (status, _, reply) = call(service, "GetRecords", json!({"ShardIterator": iterator})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    reply
}

fn sequences(reply: &Value) -> Vec<String> {
    let list = reply["Records"].as_array().unwrap();
    list.iter()
        .map(|r| r["SequenceNumber"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn describe_and_unknown_streams_and_operations() {
    let service = service(0);
    let (status, _, reply) = call(
        &service,
        "DescribeStreamSummary",
        json!({"StreamName": STREAM}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let summary = &reply["StreamDescriptionSummary"];
    assert_eq!(
        summary["StreamARN"],
        "arn:aws:kinesis:eu-west-2:123456789012:stream/connect-agent-events"
    );
    assert_eq!(summary["StreamStatus"], "ACTIVE");
    assert_eq!(summary["OpenShardCount"], 2);
    assert_eq!(summary["RetentionPeriodHours"], 24);
    assert!(summary["StreamCreationTimestamp"].is_f64());
    let by_arn = json!({"StreamARN": summary["StreamARN"]});
    assert_eq!(
        call(&service, "DescribeStreamSummary", by_arn).await.0,
        StatusCode::OK
    );
    let (status, error, _) = call(
        &service,
        "DescribeStreamSummary",
        json!({"StreamName": "other"}),
    )
    .await;
    assert_eq!(
        (status, error.as_deref()),
        (StatusCode::BAD_REQUEST, Some("ResourceNotFoundException"))
    );
    let (_, error, _) = call(&service, "PutRecord", json!({})).await;
    assert_eq!(error.as_deref(), Some("UnknownOperationException"));
    let (_, error, _) = call(&service, "ListShards", json!({"StreamName": 3})).await;
    assert_eq!(error.as_deref(), Some("InvalidArgumentException"));
    assert_eq!(service.request_count("DescribeStreamSummary"), 3);
    assert_eq!(service.request_count("other"), 1);
}

#[tokio::test]
async fn list_shards_pages_and_filters() {
    let service = service(5);
    service.change_world(|world| {
        let now = world.now;
        world
            .agent_events
            .as_mut()
            .unwrap()
            .stream
            .split("shardId-000000000000", now)
    });
    let mut token: Option<Value> = None;
    let mut ids = Vec::new();
    loop {
        let body = match token.take() {
            Some(token) => json!({"NextToken": token, "MaxResults": 1}),
            None => json!({"StreamName": STREAM, "MaxResults": 1}),
        };
        let (status, _, reply) = call(&service, "ListShards", body).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        let shards = reply["Shards"].as_array().unwrap();
        assert_eq!(shards.len(), 1);
        ids.push(shards[0]["ShardId"].as_str().unwrap().to_string());
        match &reply["NextToken"] {
            Value::Null => break,
            next => token = Some(next.clone()),
        }
    }
    assert_eq!(
        ids,
        [
            "shardId-000000000000",
            "shardId-000000000001",
            "shardId-000000000002",
            "shardId-000000000003"
        ]
    );
    let (_, _, all) = call(&service, "ListShards", json!({"StreamName": STREAM})).await;
    let parent = &all["Shards"][0];
    assert!(parent["SequenceNumberRange"]["EndingSequenceNumber"].is_string());
    assert!(all["Shards"][1]["SequenceNumberRange"]
        .get("EndingSequenceNumber")
        .is_none());
    assert_eq!(all["Shards"][2]["ParentShardId"], "shardId-000000000000");
    assert_eq!(all["Shards"][2]["HashKeyRange"]["StartingHashKey"], "0");
    let latest = json!({"StreamName": STREAM, "ShardFilter": {"Type": "AT_LATEST"}});
    let (_, _, open) = call(&service, "ListShards", latest).await;
    assert_eq!(open["Shards"].as_array().unwrap().len(), 3);
    let both = json!({"StreamName": STREAM, "NextToken": "x"});
    let (_, error, _) = call(&service, "ListShards", both).await;
    assert_eq!(error.as_deref(), Some("InvalidArgumentException"));
    let strange = json!({"StreamName": STREAM, "ShardFilter": {"Type": "SIDEWAYS"}});
    assert_eq!(
        call(&service, "ListShards", strange).await.1.as_deref(),
        Some("InvalidArgumentException")
    );
}

#[tokio::test(start_paused = true)]
async fn iterator_types_read_from_where_they_say() {
    let service = service(40);
    let shard = "shardId-000000000001";
    let horizon = records(
        &service,
        &iterator(&service, shard, "TRIM_HORIZON", json!({})).await,
    )
    .await;
    let all = sequences(&horizon);
    assert!(all.len() > 3, "{horizon}");
    assert_eq!(horizon["MillisBehindLatest"], 0);
    let at = json!({"StartingSequenceNumber": all[2]});
    let from_third = records(
        &service,
        &iterator(&service, shard, "AT_SEQUENCE_NUMBER", at.clone()).await,
    )
    .await;
    assert_eq!(sequences(&from_third), all[2..]);
    let after_third = records(
        &service,
        &iterator(&service, shard, "AFTER_SEQUENCE_NUMBER", at).await,
    )
    .await;
    assert_eq!(sequences(&after_third), all[3..]);
    let arrival = horizon["Records"][3]["ApproximateArrivalTimestamp"].clone();
    let since = records(
        &service,
        &iterator(
            &service,
            shard,
            "AT_TIMESTAMP",
            json!({"Timestamp": arrival}),
        )
        .await,
    )
    .await;
    // From the first record that arrived at that time (several arrive in one tick).
    let arrivals: Vec<f64> = horizon["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ApproximateArrivalTimestamp"].as_f64().unwrap())
        .collect();
    let first = arrivals.iter().position(|t| *t >= arrivals[3]).unwrap();
    assert!(first <= 3);
    assert_eq!(sequences(&since), all[first..]);
    let latest = iterator(&service, shard, "LATEST", json!({})).await;
    let nothing = records(&service, &latest).await;
    assert!(sequences(&nothing).is_empty());
    step(&service, 30);
    tokio::time::advance(Duration::from_secs(1)).await;
    let next = nothing["NextShardIterator"].as_str().unwrap();
    let fresh = records(&service, next).await;
    assert!(!sequences(&fresh).is_empty());
    assert!(sequences(&fresh)[0] > *all.last().unwrap());
    // Limit pages, and the next iterator carries on.
    let first = call(&service, "GetRecords", json!({"ShardIterator": iterator(&service, shard, "TRIM_HORIZON", json!({})).await, "Limit": 2})).await.2;
    assert_eq!(sequences(&first), all[..2]);
    assert!(first["MillisBehindLatest"].as_u64().unwrap() > 0);
    let bad = json!({"StreamName": STREAM, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "12"});
    assert_eq!(
        call(&service, "GetShardIterator", bad).await.1.as_deref(),
        Some("InvalidArgumentException")
    );
    let missing = json!({"StreamName": STREAM, "ShardId": "shardId-000000000009", "ShardIteratorType": "LATEST"});
    assert_eq!(
        call(&service, "GetShardIterator", missing)
            .await
            .1
            .as_deref(),
        Some("ResourceNotFoundException")
    );
}

#[tokio::test(start_paused = true)]
async fn get_records_is_throttled_beyond_five_a_second_per_shard() {
    let service = service(5);
    let one = iterator(&service, "shardId-000000000000", "TRIM_HORIZON", json!({})).await;
    let other = iterator(&service, "shardId-000000000001", "TRIM_HORIZON", json!({})).await;
    for _ in 0..5 {
        assert_eq!(
            call(&service, "GetRecords", json!({"ShardIterator": one}))
                .await
                .0,
            StatusCode::OK
        );
    }
    let (status, error, _) = call(&service, "GetRecords", json!({"ShardIterator": one})).await;
    assert_eq!(
        (status, error.as_deref()),
        (
            StatusCode::BAD_REQUEST,
            Some("ProvisionedThroughputExceededException")
        )
    );
    // Other shards have their own allowance, and a second later this one has it back.
    assert_eq!(
        call(&service, "GetRecords", json!({"ShardIterator": other}))
            .await
            .0,
        StatusCode::OK
    );
    tokio::time::advance(Duration::from_millis(1001)).await;
    assert_eq!(
        call(&service, "GetRecords", json!({"ShardIterator": one}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(service.request_count("GetRecords"), 8);

    tokio::time::advance(Duration::from_secs(2)).await;
    service.kinesis.set_throttle_rate(0.5);
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        outcomes.push(
            call(&service, "GetRecords", json!({"ShardIterator": other}))
                .await
                .1,
        );
    }
    let throttled = Some("ProvisionedThroughputExceededException".to_string());
    assert_eq!(outcomes, [None, throttled.clone(), None, throttled]);
    service.kinesis.set_throttle_rate(0.0);
}

#[tokio::test(start_paused = true)]
async fn iterators_expire_after_five_minutes_or_on_demand_and_garbage_is_refused() {
    let service = service(5);
    let shard = "shardId-000000000000";
    let old = iterator(&service, shard, "TRIM_HORIZON", json!({})).await;
    tokio::time::advance(Duration::from_secs(301)).await;
    let (_, error, _) = call(&service, "GetRecords", json!({"ShardIterator": old})).await;
    assert_eq!(error.as_deref(), Some("ExpiredIteratorException"));
    let fresh = iterator(&service, shard, "TRIM_HORIZON", json!({})).await;
    service.kinesis.expire_iterators();
    let (_, error, _) = call(&service, "GetRecords", json!({"ShardIterator": fresh})).await;
    assert_eq!(error.as_deref(), Some("ExpiredIteratorException"));
    let renewed = iterator(&service, shard, "TRIM_HORIZON", json!({})).await;
    assert_eq!(
        call(&service, "GetRecords", json!({"ShardIterator": renewed}))
            .await
            .0,
        StatusCode::OK
    );
    for garbage in [
        json!("not base64!"),
        json!("djF8eA=="),
        json!(7),
        json!(null),
    ] {
        let (status, error, _) =
            call(&service, "GetRecords", json!({"ShardIterator": garbage})).await;
        assert_eq!(
            (status, error.as_deref()),
            (StatusCode::BAD_REQUEST, Some("InvalidArgumentException")),
            "{garbage}"
        );
    }
    assert_eq!(
        call(
            &service,
            "GetRecords",
            json!({"ShardIterator": renewed, "Limit": 0})
        )
        .await
        .1
        .as_deref(),
        Some("InvalidArgumentException")
    );
}

#[tokio::test(start_paused = true)]
async fn a_closed_shard_read_to_its_end_names_its_children() {
    let service = service(20);
    let parent = "shardId-000000000001";
    let start = iterator(&service, parent, "TRIM_HORIZON", json!({})).await;
    let (low, high) = service
        .change_world(|world| {
            let now = world.now;
            world
                .agent_events
                .as_mut()
                .unwrap()
                .stream
                .split(parent, now)
        })
        .unwrap();
    step(&service, 20);
    let reply = records(&service, &start).await;
    assert!(!sequences(&reply).is_empty());
    assert!(reply.get("NextShardIterator").is_none(), "{reply}");
    let children = reply["ChildShards"].as_array().unwrap();
    let ids: Vec<&str> = children
        .iter()
        .map(|c| c["ShardId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [low.as_str(), high.as_str()]);
    assert_eq!(children[0]["ParentShards"], json!([parent]));
    assert!(children[0]["HashKeyRange"]["EndingHashKey"].is_string());
    // An open shard never ends: its reply always has a next iterator.
    let open = records(
        &service,
        &iterator(&service, &low, "TRIM_HORIZON", json!({})).await,
    )
    .await;
    assert!(open["NextShardIterator"].is_string());
    assert!(open.get("ChildShards").is_none());
}

#[tokio::test]
async fn faults_apply_as_documented_and_denied_operations_are_refused() {
    let service = service(0);
    service.set_faults(Faults {
        throttle_rate: 1.0,
        unknown_enum_rate: 1.0,
        ..Faults::default()
    });
    let describe = json!({"StreamName": STREAM});
    assert_eq!(
        call(&service, "DescribeStreamSummary", describe.clone())
            .await
            .0,
        StatusCode::OK
    );
    service.set_faults(Faults {
        server_error_rate: 1.0,
        ..Faults::default()
    });
    let (status, error, _) = call(&service, "DescribeStreamSummary", describe.clone()).await;
    assert_eq!(
        (status, error.as_deref()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("InternalFailure"))
    );
    service.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    assert!(serve(&service, "ListShards", b"{}").await.is_err());
    service.set_faults(Faults::default());
    service.switches.set_denied("ListShards", true);
    let (_, error, _) = call(&service, "ListShards", describe).await;
    assert_eq!(error.as_deref(), Some("AccessDeniedException"));
    assert_eq!(service.request_count("ListShards"), 2);
}

#[tokio::test]
async fn without_the_stream_every_stream_is_unknown() {
    let world = World::new(
        crate::DEMO_INSTANCE_ID,
        "eu-west-2",
        "123456789012",
        Size {
            agents: 5,
            queues: 2,
            routing_profiles: 2,
        },
        1,
        1_700_000_000.0,
        1.0,
    );
    let service = Service::new(world, true, Faults::default());
    let (_, error, reply) = call(&service, "ListShards", json!({"StreamName": STREAM})).await;
    assert_eq!(
        error.as_deref(),
        Some("ResourceNotFoundException"),
        "{reply}"
    );
}

#[tokio::test]
async fn an_iterator_before_the_trim_point_reads_from_it() {
    let mut world = World::new(
        crate::DEMO_INSTANCE_ID,
        "eu-west-2",
        "123456789012",
        Size {
            agents: 30,
            queues: 3,
            routing_profiles: 2,
        },
        32,
        1_700_000_000.0,
        1.0,
    );
    let options = AgentEventStreamOptions {
        shards: 1,
        retention_records: 10,
        ..AgentEventStreamOptions::default()
    };
    world.enable_agent_events(options, ("eu-west-2", "123456789012"), 32);
    let service = Service::new(world, true, Faults::default());
    let shard = "shardId-000000000000";
    let early = iterator(&service, shard, "TRIM_HORIZON", json!({})).await;
    step(&service, 30);
    let reply = records(&service, &early).await;
    let read = sequences(&reply);
    let log = service.with_world(|w| w.agent_events.as_ref().unwrap().log());
    assert!(service.with_world(|w| w.agent_events.as_ref().unwrap().published()) > 10);
    let kept: Vec<String> = log.iter().map(|e| e.sequence_number.clone()).collect();
    assert_eq!(read, kept);
    assert_eq!(read.len(), 10);
}
