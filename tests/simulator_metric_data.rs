//! The official SDK reads the simulator's GetCurrentMetricData answers: rows per queue and
//! channel, every metric, the SDK's paginator, and OLDEST_CONTACT_AGE in seconds when grouped
//! (the current service model; ungrouped it is in milliseconds, the simulator's unit tests
//! check that side).

mod common;

use std::collections::BTreeSet;

use aws_sdk_connect::types::{
    Channel, CurrentMetric, CurrentMetricName, CurrentMetricResult, Filters, Grouping, Unit,
};
use aws_sdk_connect::Client;
use connect_simulator::RunningSimulator;
use connect_simulator::SimulatorOptions;

/// Every metric the simulator serves, with its unit.
const METRICS: [(&str, &str); 14] = [
    ("AGENTS_ONLINE", "COUNT"),
    ("AGENTS_AVAILABLE", "COUNT"),
    ("AGENTS_ON_CALL", "COUNT"),
    ("AGENTS_NON_PRODUCTIVE", "COUNT"),
    ("AGENTS_AFTER_CONTACT_WORK", "COUNT"),
    ("AGENTS_ERROR", "COUNT"),
    ("AGENTS_STAFFED", "COUNT"),
    ("CONTACTS_IN_QUEUE", "COUNT"),
    ("OLDEST_CONTACT_AGE", "SECONDS"),
    ("CONTACTS_SCHEDULED", "COUNT"),
    ("AGENTS_ON_CONTACT", "COUNT"),
    ("SLOTS_ACTIVE", "COUNT"),
    ("SLOTS_AVAILABLE", "COUNT"),
    ("ESTIMATED_WAIT_TIME", "SECONDS"),
];

async fn start() -> (RunningSimulator, Client) {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 230,
        queues: 30,
        routing_profiles: 9,
        seed: 3,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let client = common::sdk_client(&simulator.endpoint_url());
    (simulator, client)
}

/// The value of `name` in a row (`None` for null).
fn value(row: &CurrentMetricResult, name: &str) -> Option<f64> {
    row.collections()
        .iter()
        .find(|c| c.metric().and_then(|m| m.name()).map(|n| n.as_str()) == Some(name))
        .unwrap_or_else(|| panic!("{name} missing from {row:?}"))
        .value()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reads_queue_metrics_with_the_oldest_age_in_seconds_when_grouped() {
    let (simulator, client) = start().await;
    let scenario = simulator.simulator().scenario();
    let now = simulator.simulator().simulated_now();
    let queues: Vec<String> = scenario.queues[..3].iter().map(|q| q.id.clone()).collect();
    let filters = Filters::builder()
        .set_queues(Some(queues.clone()))
        .channels(Channel::Voice)
        .channels(Channel::Chat)
        .channels(Channel::Task)
        .build();
    let metrics: Vec<CurrentMetric> = METRICS
        .iter()
        .map(|(name, unit)| {
            CurrentMetric::builder()
                .name(CurrentMetricName::from(*name))
                .unit(Unit::from(*unit))
                .build()
        })
        .collect();
    let request = || {
        client
            .get_current_metric_data()
            .instance_id(&scenario.instance_id)
            .filters(filters.clone())
            .groupings(Grouping::Queue)
            .groupings(Grouping::Channel)
            .set_current_metrics(Some(metrics.clone()))
    };

    let answer = request().send().await.expect("GetCurrentMetricData");
    let snapshot = answer.data_snapshot_time().expect("DataSnapshotTime");
    assert!((snapshot.as_secs_f64() - now).abs() < 0.001);
    let rows = answer.metric_results();
    assert_eq!(answer.approximate_total_count(), Some(rows.len() as i64));
    assert!(rows.len() >= 3, "{rows:?}");

    let mut quirk_seen = false;
    for row in rows {
        let dimensions = row.dimensions().expect("Dimensions");
        let queue = dimensions.queue().and_then(|q| q.id()).expect("Queue.Id");
        assert!(queues.iter().any(|q| q == queue), "{queue}");
        let channel = dimensions.channel().expect("Channel").as_str().to_string();
        assert!(["VOICE", "CHAT", "TASK"].contains(&channel.as_str()));
        assert_eq!(row.collections().len(), METRICS.len());
        for (collection, (name, unit)) in row.collections().iter().zip(METRICS) {
            let metric = collection.metric().expect("Metric");
            assert_eq!(metric.name().map(|n| n.as_str()), Some(name));
            assert_eq!(metric.unit().map(|u| u.as_str()), Some(unit));
        }

        let waiting: Vec<f64> = scenario
            .waiting_contacts
            .iter()
            .filter(|c| c.queue_id == queue && c.channel == channel)
            .map(|c| c.enqueued_at)
            .collect();
        assert_eq!(
            value(row, "CONTACTS_IN_QUEUE"),
            Some(waiting.len() as f64),
            "{queue} {channel}"
        );
        let oldest_seconds = waiting.iter().map(|t| now - t).fold(0.0, f64::max);
        let age = value(row, "OLDEST_CONTACT_AGE").expect("OLDEST_CONTACT_AGE");
        // Grouped: unit SECONDS and value in seconds, to the millisecond.
        assert!(
            (age - oldest_seconds).abs() <= 0.001,
            "{age} vs {oldest_seconds} s"
        );
        quirk_seen |= oldest_seconds >= 1.0;
        let staffed = value(row, "AGENTS_STAFFED").expect("AGENTS_STAFFED");
        assert!(value(row, "AGENTS_ONLINE").expect("AGENTS_ONLINE") >= staffed);
        assert_eq!(
            value(row, "ESTIMATED_WAIT_TIME"),
            (staffed > 0.0).then(|| waiting.len() as f64 * 30.0 / staffed)
        );
    }
    assert!(quirk_seen, "some contact waits in the first 3 queues");

    // The SDK's paginator walks small pages and gets every row once.
    let paged: Vec<(String, String)> = request()
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("paged GetCurrentMetricData")
        .iter()
        .flat_map(|page| page.metric_results().to_vec())
        .map(|row| {
            let dimensions = row.dimensions().cloned().expect("Dimensions");
            (
                dimensions
                    .queue()
                    .and_then(|q| q.id())
                    .unwrap_or_default()
                    .to_string(),
                dimensions
                    .channel()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(paged.len(), rows.len());
    assert_eq!(
        paged.iter().collect::<BTreeSet<_>>().len(),
        rows.len(),
        "no row twice"
    );

    // Ungrouped, the same age comes in milliseconds (the unit still says SECONDS).
    let ungrouped = client
        .get_current_metric_data()
        .instance_id(&scenario.instance_id)
        .filters(filters.clone())
        .current_metrics(
            CurrentMetric::builder()
                .name(CurrentMetricName::OldestContactAge)
                .unit(Unit::Seconds)
                .build(),
        )
        .send()
        .await
        .expect("ungrouped GetCurrentMetricData");
    let [row] = ungrouped.metric_results() else {
        panic!("one row: {ungrouped:?}");
    };
    let oldest_seconds = scenario
        .waiting_contacts
        .iter()
        .filter(|c| queues.contains(&c.queue_id))
        .map(|c| now - c.enqueued_at)
        .fold(0.0, f64::max);
    let age = value(row, "OLDEST_CONTACT_AGE").expect("OLDEST_CONTACT_AGE");
    assert!(
        (age - oldest_seconds * 1000.0).abs() <= 1.0,
        "{age} ms vs {oldest_seconds} s"
    );
    assert_eq!(
        simulator.simulator().request_count("GetCurrentMetricData"),
        2 + rows.len().div_ceil(2) as u64
    );
    simulator.stop().await;
}
