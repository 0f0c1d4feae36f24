//! A large instance's directory (2,000 routing profiles, 5,000 queues) at the default budgets:
//! `queues: all` and names come up within one directory read of a few requests, counted by
//! the simulator; where SearchRoutingProfiles is denied, the read falls back to one
//! ListRoutingProfileQueues per profile and still completes.

mod common;

use std::time::Duration;

use connect_simulator::SimulatorOptions;

fn options() -> SimulatorOptions {
    SimulatorOptions {
        agents: 2_000,
        queues: 5_000,
        routing_profiles: 2_000,
        seed: 11,
        frozen: true,
        ..SimulatorOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_profiles_and_five_thousand_queues_come_up_in_one_read_of_a_few_requests() {
    let simulator = common::start_simulator(options()).await;
    let id = common::simulator_instance_id(&simulator);
    let yaml = format!(
        "instances:\n  - name: big\n    instance_id: {id}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 30s\n    queue_metrics: false\n    queue_sets:\n      - {{ name: all, queues: all }}\n",
        simulator.endpoint_url()
    );
    let exporter = common::start_exporter(&yaml).await;
    let text = common::eventually(Duration::from_secs(120), async || {
        let text = common::http_get(exporter.address(), "/metrics").await.body;
        (common::value(&text, "amazon_connect_up", &[("queue_set", "all")]) == Some(1.0))
            .then_some(text)
    })
    .await;
    let count = |operation| simulator.simulator().request_count(operation);
    let directory_requests = count("ListQueues")
        + count("SearchRoutingProfiles")
        + count("ListRoutingProfiles")
        + count("ListRoutingProfileQueues");
    // ceil(2000 / 500) + ceil(5000 / 1000) + a few.
    assert!(
        directory_requests <= 4 + 5 + 2,
        "{directory_requests} directory requests: ListQueues {}, SearchRoutingProfiles {}, ListRoutingProfiles {}, ListRoutingProfileQueues {}",
        count("ListQueues"),
        count("SearchRoutingProfiles"),
        count("ListRoutingProfiles"),
        count("ListRoutingProfileQueues")
    );
    assert_eq!(count("ListRoutingProfileQueues"), 0);
    let agents: f64 = common::metric(&text, "amazon_connect_agents")
        .into_iter()
        .filter(|(labels, _)| labels["queue_set"] == "all")
        .map(|(_, value)| value)
        .sum();
    assert!(agents > 0.0, "the set serves the instance's agents");
    exporter.stop().await;
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_search_falls_back_to_listing_each_profile() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 200,
        queues: 300,
        routing_profiles: 120,
        ..options()
    })
    .await;
    simulator
        .simulator()
        .deny_operation("SearchRoutingProfiles");
    let id = common::simulator_instance_id(&simulator);
    let yaml = format!(
        "instances:\n  - name: big\n    instance_id: {id}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 30s\n    queue_metrics: false\n    queue_sets:\n      - {{ name: all, queues: all }}\n",
        simulator.endpoint_url()
    );
    let exporter = common::start_exporter(&yaml).await;
    common::eventually(Duration::from_secs(120), async || {
        let text = common::http_get(exporter.address(), "/metrics").await.body;
        (common::value(&text, "amazon_connect_up", &[("queue_set", "all")]) == Some(1.0))
            .then_some(())
    })
    .await;
    let count = |operation| simulator.simulator().request_count(operation);
    assert_eq!(
        count("SearchRoutingProfiles"),
        1,
        "refused once, not retried"
    );
    assert_eq!(count("ListRoutingProfileQueues"), 120, "one per profile");
    exporter.stop().await;
    simulator.stop().await;
}
