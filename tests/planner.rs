//! The request planner against the frozen simulator through the real SDK: one exporter polls
//! three overlapping queue sets with queue filters, another with the routing-profile sweep.
//! Both publish exactly the same data, equal to the simulator's, and the sweep's rounds cost
//! ceil(agents / 100) GetCurrentUserData requests, as planned, counted by the simulator too.

mod common;

use std::time::Duration;

use connect_simulator::SimulatorOptions;

use common::{
    after_more_polls, assert_set_matches, eventually, http_get, polls_of, scenario_views as views,
    value,
};

/// The data series of `text` (not the self-metrics, and not the ages, which depend on when
/// the poll ran), sorted.
fn data_series(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            (line.starts_with("amazon_connect_agent") || line.starts_with("amazon_connect_missed"))
                && !line.contains("_age_seconds")
        })
        .collect();
    lines.sort_unstable();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routing_profile_sweep_equals_the_queue_filters_at_the_minimum_cost() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 450,
        queues: 150,
        routing_profiles: 30,
        seed: 11,
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
    let sets: [(&str, Vec<String>); 3] = [
        ("three", queues[..3].to_vec()),
        ("wide", queues[..120].to_vec()),
        ("tail", queues[100..].to_vec()),
    ];
    // Agents of any set: those a sweep of the relevant routing profiles returns.
    let all_queues: Vec<String> = queues[..].to_vec();
    let relevant_agents = views(&scenario, &all_queues, reference).len();
    assert!(
        relevant_agents > 300,
        "{relevant_agents} agents: too few to page"
    );
    let minimum = relevant_agents.div_ceil(100) as f64;

    let config = |planner: &str| {
        let mut yaml = format!(
            "api_rate_limits:\n  GetCurrentUserData: {{ rate: 50, burst: 50 }}\ninstances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    request_planner: {planner}\n    queue_sets:\n",
            scenario.instance_id,
            simulator.endpoint_url()
        );
        for (name, set) in &sets {
            yaml.push_str(&format!(
                "      - name: {name}\n        queues: [{}]\n",
                set.join(", ")
            ));
        }
        yaml
    };

    let by_queue = common::start_exporter(&config("queues")).await;
    let by_queue_text =
        common::scrape_when_up(by_queue.address(), &["three", "wide", "tail"]).await;
    by_queue.stop().await;

    let swept = common::start_exporter(&config("routing_profiles")).await;
    let address = swept.address();
    // Wait for a swept round planned with the agent counts of the one before (the first round
    // knows the routing profiles but not yet how many agents each has), then measure two more
    // rounds on the simulator's own count.
    let text = eventually(Duration::from_secs(30), async || {
        let text = http_get(address, "/metrics").await.body;
        let swept_sets = value(
            &text,
            "amazon_connect_exporter_round_queue_sets",
            &[("method", "routing_profiles")],
        );
        (swept_sets == Some(3.0) && polls_of(&text, "three") >= 2.0).then_some(text)
    })
    .await;
    assert_eq!(
        value(&text, "amazon_connect_exporter_round_planned_requests", &[]),
        Some(minimum)
    );
    assert_eq!(
        value(&text, "amazon_connect_exporter_round_requests", &[]),
        Some(minimum),
        "the round made exactly the planned requests"
    );
    let requests_before = simulator.simulator().request_count("GetCurrentUserData");
    let (rounds_before, text) = after_more_polls(address, "three", 4.0).await;
    let rounds = |text: &str| polls_of(text, "three");
    let requests = simulator.simulator().request_count("GetCurrentUserData") - requests_before;
    let rounds_seen = rounds(&text) - rounds_before;
    swept.stop().await;
    // A round may be in flight at either end of the window: one that began before it is
    // counted as seen with part of its requests outside, one that ends after it is not seen
    // with part of its requests inside. Allow one round either way.
    let per_round = minimum as u64;
    let seen = rounds_seen as u64;
    assert!(
        requests >= (seen - 1) * per_round && requests <= (seen + 1) * per_round,
        "{requests} GetCurrentUserData requests for {rounds_seen} rounds of {per_round}"
    );

    assert_eq!(data_series(&text), data_series(&by_queue_text));
    for (name, set) in &sets {
        assert_set_matches(&text, name, &views(&scenario, set, reference));
    }
    simulator.stop().await;
}
