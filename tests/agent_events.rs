//! The agent event stream end to end: the real exporter reads the simulator's Kinesis stream
//! through the real `aws-sdk-kinesis`, across a shard split, GetRecords throttling, expired
//! iterators and repeated records, and every event family equals what the simulator recorded
//! of its agents' changes (its record of truth, computed from the world, not from the JSON it
//! published). An exporter without `agent_events` makes no Kinesis call at all.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use connect_simulator::{
    AgentEventStreamOptions, AgentEventType, PublishedAgentEvent, SimulatorOptions,
};

use common::{eventually, http_get, metric, scrape_when_up};

const STREAM: &str = "connect-agent-events";
/// The buckets the exporter publishes, to check each one.
const BUCKETS: [f64; 14] = [
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14_400.0, 28_800.0,
    86_400.0,
];
const COUNTED_STATES: [&str; 4] = ["MISSED", "REJECTED", "ERROR", "ENDED"];

/// What the events of one queue set add up to, as the simulator recorded them.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    transitions: BTreeMap<(String, String), f64>,
    durations: BTreeMap<String, Vec<f64>>,
    logins: f64,
    logouts: f64,
    contact_states: BTreeMap<(String, String), f64>,
}

impl Expected {
    fn of(events: &[&PublishedAgentEvent]) -> Self {
        let mut expected = Expected::default();
        for event in events {
            match event.event_type {
                AgentEventType::Login => expected.logins += 1.0,
                AgentEventType::Logout => expected.logouts += 1.0,
                _ => {}
            }
            if let Some(change) = &event.status_change {
                *expected
                    .transitions
                    .entry((change.from.clone(), change.to.clone()))
                    .or_default() += 1.0;
                expected
                    .durations
                    .entry(change.from.clone())
                    .or_default()
                    .push(change.seconds_in_from);
            }
            for (channel, state) in &event.contact_states_reached {
                if COUNTED_STATES.contains(&state.as_str()) {
                    // Labels are lower case, as in every family of the exporter.
                    *expected
                        .contact_states
                        .entry((channel.to_lowercase(), state.to_lowercase()))
                        .or_default() += 1.0;
                }
            }
        }
        expected
    }
}

fn stream_options() -> SimulatorOptions {
    SimulatorOptions {
        agents: 60,
        seed: 3,
        frozen: true,
        tick: Duration::from_millis(100),
        agent_events: Some(AgentEventStreamOptions {
            duplicate_rate: 0.05,
            heartbeat_interval: Duration::from_secs(5),
            ..AgentEventStreamOptions::default()
        }),
        ..SimulatorOptions::default()
    }
}

/// A simulator whose agents change (and publish events) from the start.
async fn running_stream() -> (
    connect_simulator::RunningSimulator,
    connect_simulator::Simulator,
    connect_simulator::scenario::Scenario,
) {
    let running = common::start_simulator(SimulatorOptions {
        frozen: false,
        ..stream_options()
    })
    .await;
    let simulator = running.simulator().clone();
    let scenario = simulator.scenario();
    (running, simulator, scenario)
}

fn sum(text: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    metric(text, name)
        .into_iter()
        .filter(|(labels, _)| {
            want.iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, value)| value)
        .sum()
}

/// The queue set's published event families, in the shape of [`Expected`].
fn published(text: &str, set: &str) -> Expected {
    let of_set = [("queue_set", set)];
    let mut found = Expected {
        logins: sum(text, "amazon_connect_agent_event_logins_total", &of_set),
        logouts: sum(text, "amazon_connect_agent_event_logouts_total", &of_set),
        ..Expected::default()
    };
    for (labels, value) in metric(text, "amazon_connect_agent_event_status_transitions_total") {
        if labels["queue_set"] == set {
            found
                .transitions
                .insert((labels["from"].clone(), labels["to"].clone()), value);
        }
    }
    for (labels, value) in metric(text, "amazon_connect_agent_event_contact_states_total") {
        if labels["queue_set"] == set {
            *found
                .contact_states
                .entry((labels["channel"].clone(), labels["state"].clone()))
                .or_default() += value;
        }
    }
    found
}

/// Asserts that the event families of `set` in `text` equal what `of_set`, the simulator's
/// record of the set's agents' events, adds up to: every count, sum and bucket.
fn assert_set_equals(text: &str, set: &str, of_set: &[&PublishedAgentEvent]) {
    let expected = Expected::of(of_set);
    let found = published(text, set);
    assert_eq!(found.logins, expected.logins, "{set} logins");
    assert_eq!(found.logouts, expected.logouts, "{set} logouts");
    assert_eq!(found.transitions, expected.transitions, "{set} transitions");
    assert_eq!(
        found.contact_states, expected.contact_states,
        "{set} contact states"
    );
    for (status, seconds) in &expected.durations {
        let labels = [("queue_set", set), ("status", status.as_str())];
        let count = sum(
            text,
            "amazon_connect_agent_event_status_duration_seconds_count",
            &labels,
        );
        assert_eq!(count, seconds.len() as f64, "{set} {status} count");
        let total = sum(
            text,
            "amazon_connect_agent_event_status_duration_seconds_sum",
            &labels,
        );
        let want: f64 = seconds.iter().sum();
        assert!(
            (total - want).abs() < 1e-6,
            "{set} {status} sum {total} != {want}"
        );
        for bound in BUCKETS {
            let le = format!("{bound}");
            let mut bucket_labels = labels.to_vec();
            bucket_labels.push(("le", le.as_str()));
            let in_bucket = sum(
                text,
                "amazon_connect_agent_event_status_duration_seconds_bucket",
                &bucket_labels,
            );
            let want = seconds.iter().filter(|s| **s <= bound).count() as f64;
            assert_eq!(in_bucket, want, "{set} {status} le={le}");
        }
    }
    assert!(
        !expected.transitions.is_empty() || set == "two_profiles",
        "{set} saw changes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_families_equal_the_simulators_record_across_a_reshard_throttling_and_repeats() {
    let running = common::start_simulator(stream_options()).await;
    let simulator = running.simulator().clone();
    let scenario = simulator.scenario();
    let url = running.endpoint_url();
    let queue_ids: Vec<&str> = scenario.queues.iter().map(|q| q.id.as_str()).collect();
    let profile_ids: Vec<&str> = scenario
        .routing_profiles
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {id}\n    region: eu-west-2\n    endpoint_url: {url}\n    poll_interval: 1s\n    agent_events:\n      stream: {STREAM}\n      endpoint_url: {url}\n      read_interval: 200ms\n    queue_sets:\n      - name: two_queues\n        queues: [{q0}, {q1}]\n      - name: two_profiles\n        routing_profiles: [{p0}, {p1}]\n      - name: everything\n        queues: all\n",
        id = scenario.instance_id,
        q0 = queue_ids[0],
        q1 = queue_ids[1],
        p0 = profile_ids[0],
        p1 = profile_ids[1],
    );
    let exporter = common::start_exporter(&yaml).await;
    let address = exporter.address();
    scrape_when_up(address, &["two_queues", "two_profiles", "everything"]).await;
    // Every shard has an iterator at LATEST (and has read with it) before the first event.
    eventually(Duration::from_secs(20), async || {
        (simulator.request_count("GetRecords") >= 4).then_some(())
    })
    .await;
    simulator.thaw();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let shard = simulator.open_shards()[0].clone();
    assert!(simulator.split_shard(&shard).is_some(), "split {shard}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    simulator.set_get_records_throttle_rate(0.5);
    tokio::time::sleep(Duration::from_secs(2)).await;
    simulator.set_get_records_throttle_rate(0.0);
    simulator.expire_shard_iterators();
    tokio::time::sleep(Duration::from_secs(2)).await;
    simulator.freeze();

    let published_records = simulator.agent_events_published() as f64;
    let text = eventually(Duration::from_secs(30), async || {
        let text = http_get(address, "/metrics").await.body;
        let read = sum(
            &text,
            "amazon_connect_agent_event_stream_records_total",
            &[],
        );
        // At 5 reads a second a renewed iterator's read can meet the shard's own limit: the
        // stream is down until the next read works, which is published within a second.
        let up = sum(
            &text,
            "amazon_connect_agent_event_stream_up",
            &[("stream", STREAM)],
        );
        (read == published_records && up == 1.0).then_some(text)
    })
    .await;
    let log = simulator.agent_event_log();
    assert!(
        log.len() as f64 == published_records,
        "the log holds every record"
    );
    let events: Vec<&PublishedAgentEvent> = log.iter().filter(|e| !e.duplicate).collect();
    let duplicates = log.len() - events.len();
    assert!(duplicates > 0, "the run repeated some records");
    assert!(
        events.iter().any(|e| e.status_change.is_some()),
        "statuses changed"
    );
    assert_eq!(
        sum(
            &text,
            "amazon_connect_agent_event_stream_duplicate_records_total",
            &[]
        ),
        duplicates as f64
    );
    assert_eq!(
        sum(&text, "amazon_connect_agent_event_stream_events_total", &[]),
        events.len() as f64
    );
    assert_eq!(
        sum(
            &text,
            "amazon_connect_agent_event_stream_undecodable_records_total",
            &[]
        ),
        0.0
    );
    assert!(
        sum(
            &text,
            "amazon_connect_exporter_stream_requests_total",
            &[("operation", "GetRecords"), ("outcome", "throttled")]
        ) > 0.0,
        "throttled reads were counted"
    );
    // The split parent and its two children were all read.
    let shards: BTreeSet<String> = metric(&text, "amazon_connect_agent_event_stream_records_total")
        .into_iter()
        .map(|(labels, _)| labels["shard"].clone())
        .collect();
    assert_eq!(shards.len(), 4, "two shards, one split in two: {shards:?}");

    let serves = |profile: &str, queues: &[&str]| {
        scenario
            .routing_profiles
            .iter()
            .find(|p| p.id == profile)
            .is_some_and(|p| {
                p.queues
                    .iter()
                    .any(|q| queues.contains(&q.queue_id.as_str()))
            })
    };
    /// Whether a set takes the agents of a routing profile.
    type Member<'a> = Box<dyn Fn(&str) -> bool + 'a>;
    let members: [(&str, Member<'_>); 3] = [
        ("two_queues", Box::new(|p: &str| serves(p, &queue_ids[..2]))),
        (
            "two_profiles",
            Box::new(|p: &str| profile_ids[..2].contains(&p)),
        ),
        ("everything", Box::new(|p: &str| serves(p, &queue_ids))),
    ];
    for (set, member) in &members {
        let of_set: Vec<&PublishedAgentEvent> = events
            .iter()
            .copied()
            .filter(|event| member(&event.routing_profile_id))
            .collect();
        assert_set_equals(&text, set, &of_set);
    }
    exporter.stop().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_agent_events_the_exporter_makes_no_kinesis_call() {
    let (running, simulator, scenario) = running_stream().await;
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    queue_sets:\n      - name: everything\n        queues: all\n",
        scenario.instance_id,
        running.endpoint_url(),
    );
    let exporter = common::start_exporter(&yaml).await;
    let text = scrape_when_up(exporter.address(), &["everything"]).await;
    // Two more rounds, in case anything started late.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for operation in [
        "ListShards",
        "GetShardIterator",
        "GetRecords",
        "DescribeStreamSummary",
    ] {
        assert_eq!(simulator.request_count(operation), 0, "{operation}");
    }
    assert!(
        !text.contains("amazon_connect_agent_event_"),
        "no event family without a stream"
    );
    assert!(
        simulator.agent_events_published() > 0,
        "the stream had events to read"
    );
    exporter.stop().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_two_instances_publish_to_is_read_once_for_both() {
    let (running, simulator, scenario) = running_stream().await;
    let url = running.endpoint_url();
    let instance = |name: &str, id: &str| {
        format!(
            "  - name: {name}\n    instance_id: {id}\n    region: eu-west-2\n    endpoint_url: {url}\n    poll_interval: 1s\n    agent_events:\n      stream: {STREAM}\n      endpoint_url: {url}\n    queue_sets:\n      - name: everything\n        queues: all\n"
        )
    };
    // The second instance publishes to the same stream; the simulator has none of its agents.
    let yaml = format!(
        "instances:\n{}{}",
        instance("a", &scenario.instance_id),
        instance("b", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    );
    let exporter = common::start_exporter(&yaml).await;
    let address = exporter.address();
    let text = eventually(Duration::from_secs(30), async || {
        let text = http_get(address, "/metrics").await.body;
        let transitions = sum(
            &text,
            "amazon_connect_agent_event_status_transitions_total",
            &[("connect_instance", "a")],
        );
        (transitions > 0.0).then_some(text)
    })
    .await;
    assert_eq!(simulator.request_count("ListShards"), 1, "one reader");
    // b's set is there, at 0: the stream is read for it too.
    let b_logins: Vec<f64> = metric(&text, "amazon_connect_agent_event_logins_total")
        .into_iter()
        .filter(|(labels, _)| labels["connect_instance"] == "b")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(b_logins, [0.0]);
    assert_eq!(
        sum(
            &text,
            "amazon_connect_agent_event_status_transitions_total",
            &[("connect_instance", "b")]
        ),
        0.0
    );
    exporter.stop().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_stream_read_and_one_without_agent_events_ends_it() {
    let (running, simulator, scenario) = running_stream().await;
    let url = running.endpoint_url();
    // A second set, `spare`, is there until the second reload.
    let yaml = |interval: &str, events: bool| {
        let events = if events {
            format!("    agent_events:\n      stream: {STREAM}\n      endpoint_url: {url}\n")
        } else {
            String::new()
        };
        let spare = if interval == "1s" {
            "      - name: spare\n        queues: all\n"
        } else {
            ""
        };
        format!(
            "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {url}\n    poll_interval: {interval}\n{events}    queue_sets:\n      - name: everything\n        queues: all\n{spare}",
            scenario.instance_id
        )
    };
    let (mut exporter, config) = common::start_exporter_editable(yaml("1s", true)).await;
    let address = exporter.address();
    let has_events = async |address| {
        let text = http_get(address, "/metrics").await.body;
        text.contains("amazon_connect_agent_event_stream_up")
    };
    eventually(Duration::from_secs(20), async || {
        has_events(address).await.then_some(())
    })
    .await;
    let spare_logins = async |address| {
        let text = http_get(address, "/metrics").await.body;
        metric(&text, "amazon_connect_agent_event_logins_total")
            .iter()
            .any(|(labels, _)| labels["queue_set"] == "spare")
    };
    eventually(Duration::from_secs(20), async || {
        spare_logins(address).await.then_some(())
    })
    .await;
    // The instance restarts (its poll interval changed, `spare` went); its stream reads on.
    *config.lock().unwrap() = yaml("2s", true);
    exporter.reload().await.expect("reload");
    assert!(
        !spare_logins(address).await,
        "the removed set's event families went with it"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!spare_logins(address).await, "and do not come back");
    assert_eq!(
        simulator.request_count("ListShards"),
        1,
        "the reader went on"
    );
    assert!(has_events(address).await);
    // Without agent_events the reader stops and the families go.
    *config.lock().unwrap() = yaml("2s", false);
    exporter.reload().await.expect("reload");
    assert!(
        !has_events(address).await,
        "the event families went with the stream"
    );
    let reads = simulator.request_count("GetRecords");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        simulator.request_count("GetRecords"),
        reads,
        "no read after the reload"
    );
    exporter.stop().await;
    running.stop().await;
}
