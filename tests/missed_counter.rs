//! The missed-contact counter against the simulator's own record: the simulator runs (contacts
//! go MISSED with probability `MISS_PROBABILITY` each time they are offered), the exporter
//! polls it every second through the real SDK, then the simulator's clock stops and the
//! exporter catches up. Every (contact, agent) pair any answer carried in MISSED must then be
//! counted exactly once, under its queue and channel.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use connect_simulator::SimulatorOptions;

use common::{after_more_polls, metric, start_exporter};

/// How long the simulator runs before its clock stops: long enough for misses at 5 %.
const RUN: Duration = Duration::from_secs(12);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_missed_counter_equals_the_pairs_the_simulator_served_in_missed() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 400,
        queues: 6,
        routing_profiles: 3,
        seed: 21,
        frozen: false,
        tick: Duration::from_secs(1),
        ..SimulatorOptions::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    label_values: ids\n    queue_sets:\n      - name: all\n        queues: [{}]\n",
        scenario.instance_id,
        simulator.endpoint_url(),
        queues.join(", ")
    );
    let exporter = start_exporter(&yaml).await;
    let address = exporter.address();
    tokio::time::sleep(RUN).await;
    simulator.simulator().freeze();
    // Two full rounds after the freeze: every answer since shows no new miss, and the round that
    // was in flight when the clock stopped has been recorded.
    let (_, text) = after_more_polls(address, "all", 2.0).await;
    exporter.stop().await;

    let served = simulator.simulator().served_missed();
    assert!(
        served.len() >= 5,
        "only {} missed pairs in {RUN:?}: the test would prove little",
        served.len()
    );
    let mut expected: BTreeMap<(String, String), f64> = BTreeMap::new();
    for pair in &served {
        *expected
            .entry((pair.queue_id.clone(), pair.channel.to_lowercase()))
            .or_default() += 1.0;
    }
    let counted: BTreeMap<(String, String), f64> =
        metric(&text, "amazon_connect_missed_contacts_total")
            .into_iter()
            .filter(|(_, count)| *count > 0.0)
            .map(|(labels, count)| ((labels["queue"].clone(), labels["channel"].clone()), count))
            .collect();
    assert_eq!(counted, expected, "missed pairs by (queue, channel)");
    simulator.stop().await;
}
