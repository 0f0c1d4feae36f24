//! The real exporter polling the simulator (frozen) through the real SDK over 127.0.0.1: every
//! core gauge equals what the simulator's data says, for three overlapping queue sets — 3
//! queues, 120 queues (two chunks whose agents overlap) and the 50 queues from 100 to 150.

mod common;

use connect_simulator::SimulatorOptions;

use common::{
    assert_set_matches, promtool_check_metrics, scenario_views as views, scrape_when_up,
    start_exporter,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_core_gauge_equals_the_frozen_simulator_for_overlapping_sets() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 400,
        queues: 150,
        routing_profiles: 30,
        seed: 7,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let reference = common::now();
    let queues: Vec<String> = scenario
        .queues
        .iter()
        .filter(|q| q.queue_type == "STANDARD")
        .map(|q| q.id.clone())
        .collect();
    assert_eq!(queues.len(), 150);
    let sets: [(&str, Vec<String>); 3] = [
        ("three", queues[..3].to_vec()),
        ("wide", queues[..120].to_vec()),
        ("tail", queues[100..].to_vec()),
    ];

    // The test only means something if some agent is returned by both chunks of "wide".
    let first_chunk = views(&scenario, &queues[..100], reference).len();
    let second_chunk = views(&scenario, &queues[100..120], reference).len();
    let wide = views(&scenario, &sets[1].1, reference).len();
    assert!(
        first_chunk + second_chunk > wide,
        "no overlap between the chunks: {first_chunk} + {second_chunk} vs {wide}"
    );

    let mut yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    queue_sets:\n",
        scenario.instance_id,
        simulator.endpoint_url()
    );
    for (name, set) in &sets {
        yaml.push_str(&format!(
            "      - name: {name}\n        queues: [{}]\n",
            set.join(", ")
        ));
    }
    let exporter = start_exporter(&yaml).await;
    let text = scrape_when_up(exporter.address(), &["three", "wide", "tail"]).await;
    exporter.stop().await;

    for (name, set) in &sets {
        assert_set_matches(&text, name, &views(&scenario, set, reference));
    }
    assert!(simulator.simulator().request_count("GetCurrentUserData") >= 4);
    promtool_check_metrics(&text);
    simulator.stop().await;
}
