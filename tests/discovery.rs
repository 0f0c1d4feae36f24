//! `queues: all` with include/exclude patterns against the simulator: the sets take the queues
//! ListQueues lists (STANDARD only), their values equal the simulator's for exactly those
//! queues, and a queue created while the exporter runs joins at the next directory read.

mod common;

use std::time::Duration;

use connect_simulator::SimulatorOptions;

use common::{assert_set_matches, eventually, http_get, metric, scenario_views, scrape_when_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_all_follows_the_queue_list_and_its_patterns() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 120,
        queues: 8,
        routing_profiles: 4,
        seed: 13,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let standard = |scenario: &connect_simulator::scenario::Scenario,
                    keep: &dyn Fn(&str) -> bool| {
        scenario
            .queues
            .iter()
            .filter(|q| q.queue_type == "STANDARD" && keep(&q.name))
            .map(|q| q.id.clone())
            .collect::<Vec<String>>()
    };
    let billing = scenario
        .queues
        .iter()
        .filter(|q| q.name.starts_with("Billing"))
        .count();
    assert!(billing >= 1, "the scenario has a Billing queue to exclude");
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    directory_refresh_interval: 1s\n    queue_sets:\n      - {{ name: all, queues: all }}\n      - {{ name: not-billing, queues: all, exclude: \"^Billing\" }}\n      - {{ name: new, queues: all, include: \"^Brand new\" }}\n",
        scenario.instance_id,
        simulator.endpoint_url(),
    );
    let reference = common::now();
    let exporter = common::start_exporter(&yaml).await;
    let address = exporter.address();
    let text = scrape_when_up(address, &["all", "not-billing", "new"]).await;
    let everything = standard(&scenario, &|_| true);
    let not_billing = standard(&scenario, &|name| !name.starts_with("Billing"));
    assert!(not_billing.len() < everything.len());
    assert_set_matches(
        &text,
        "all",
        &scenario_views(&scenario, &everything, reference),
    );
    assert_set_matches(
        &text,
        "not-billing",
        &scenario_views(&scenario, &not_billing, reference),
    );
    assert_set_matches(&text, "new", &[]);

    // An administrator creates a queue that one routing profile serves.
    let profile = scenario.routing_profiles[1].id.clone();
    let created = simulator
        .simulator()
        .add_queue("Brand new queue", &profile, "VOICE")
        .expect("the profile exists");
    let with_agents = |text: &str| {
        metric(text, "amazon_connect_agents_by_routing_profile")
            .iter()
            .any(|(labels, _)| labels["queue_set"] == "new")
    };
    let text = eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        with_agents(&text).then_some(text)
    })
    .await;
    exporter.stop().await;
    let scenario = simulator.simulator().scenario();
    assert_set_matches(
        &text,
        "new",
        &scenario_views(&scenario, std::slice::from_ref(&created), reference),
    );
    let everything = standard(&scenario, &|_| true);
    assert!(everything.contains(&created));
    assert_set_matches(
        &text,
        "all",
        &scenario_views(&scenario, &everything, reference),
    );
    simulator.stop().await;
}
