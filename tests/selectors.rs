//! Queue sets that pick their agents by routing profile or by user hierarchy group instead of
//! by queue, given by name or ID: the real exporter and SDK against the simulator on
//! 127.0.0.1, frozen, every value compared with the simulator's agents.

mod common;

use std::time::Duration;

use connect_simulator::SimulatorOptions;

use common::{agent_views, assert_set_matches, scrape_when_up, start_exporter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_by_routing_profile_and_hierarchy_group_hold_exactly_those_agents() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 90,
        queues: 8,
        routing_profiles: 5,
        seed: 12,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let reference = common::now();
    let first = &scenario.routing_profiles[0];
    let third = &scenario.routing_profiles[2];
    let north = scenario
        .hierarchy_groups
        .iter()
        .find(|group| group.name == "North")
        .expect("the simulator has a North group");
    let queue = &scenario.queues[0].id;
    for planner in ["auto", "queues"] {
        let yaml = format!(
            "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    request_planner: {planner}\n    queue_sets:\n      - name: profiles\n        routing_profiles: [\"{}\", {}]\n      - name: north\n        hierarchy_group: North\n      - name: queue\n        queues: [{queue}]\n",
            scenario.instance_id,
            simulator.endpoint_url(),
            first.name,
            third.arn,
        );
        let exporter = start_exporter(&yaml).await;
        let text = scrape_when_up(exporter.address(), &["profiles", "north", "queue"]).await;
        let profiles = agent_views(
            &scenario,
            |agent| agent.routing_profile_id == first.id || agent.routing_profile_id == third.id,
            reference,
        );
        assert!(!profiles.is_empty(), "the profiles have agents");
        assert_set_matches(&text, "profiles", &profiles);
        let in_north = agent_views(
            &scenario,
            |agent| agent.hierarchy_group_id.as_deref() == Some(north.id.as_str()),
            reference,
        );
        assert!(!in_north.is_empty(), "North has agents");
        assert_set_matches(&text, "north", &in_north);
        // The profiles' set carries the backlog of the queues they serve; the group none.
        let served: std::collections::BTreeSet<String> = [first, third]
            .iter()
            .flat_map(|profile| &profile.queues)
            .map(|q| {
                let queue = scenario.queues.iter().find(|queue| queue.id == q.queue_id);
                queue.map(|queue| queue.name.clone()).unwrap_or_default()
            })
            .collect();
        let backlog = |set: &str| -> std::collections::BTreeSet<String> {
            common::metric(&text, "amazon_connect_queue_agents_online")
                .into_iter()
                .filter(|(labels, _)| labels["queue_set"] == set)
                .map(|(labels, _)| labels["queue"].clone())
                .collect()
        };
        assert_eq!(backlog("profiles"), served, "planner {planner}");
        assert!(backlog("north").is_empty(), "planner {planner}");
        exporter.stop().await;
    }
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routing_profile_and_hierarchy_group_names_fail_only_their_sets() {
    let simulator = common::start_simulator(common::frozen()).await;
    let scenario = simulator.simulator().scenario();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    queue_sets:\n      - name: fine\n        routing_profiles: [\"{}\"]\n      - name: ghost\n        routing_profiles: [\"No such profile\"]\n      - name: nowhere\n        hierarchy_group: Atlantis\n",
        scenario.instance_id,
        simulator.endpoint_url(),
        scenario.routing_profiles[0].name,
    );
    let exporter = common::try_start_exporter_with(
        std::sync::Arc::new(move || {
            amazon_connect_exporter::config::parse(&yaml, std::path::Path::new("test.yaml"))
        }),
        amazon_connect_exporter::web::server::DEFAULT_MAX_CONNECTIONS,
    )
    .await
    .expect("names that do not resolve do not stop the start");
    let address = exporter.address();
    let ready = common::eventually(Duration::from_secs(20), async || {
        let ready = common::http_get(address, "/-/ready").await;
        (ready.status == 200).then_some(ready.body)
    })
    .await;
    for expected in [
        "sim/ghost: routing profile name \"No such profile\": ListRoutingProfiles lists no routing profile of that name",
        "sim/nowhere: hierarchy group name \"Atlantis\": ListUserHierarchyGroups lists no hierarchy group of that name",
    ] {
        assert!(ready.contains(expected), "{ready}");
    }
    assert!(!ready.contains("sim/fine"), "{ready}");
    // `/-/ready` and `/metrics` read the same publish: once ready, the page has every set.
    let text = common::http_get(address, "/metrics").await.body;
    let up = |set| common::value(&text, "amazon_connect_up", &[("queue_set", set)]);
    assert_eq!(
        (up("fine"), up("ghost"), up("nowhere")),
        (Some(1.0), Some(0.0), Some(0.0))
    );
    exporter.stop().await;
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchy_labels_count_agents_by_group_name_and_status() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 70,
        queues: 6,
        routing_profiles: 3,
        seed: 21,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let queues: Vec<&str> = scenario.queues.iter().map(|q| q.id.as_str()).collect();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    hierarchy_labels: true\n    queue_sets:\n      - name: all\n        queues: [{}]\n",
        scenario.instance_id,
        simulator.endpoint_url(),
        queues.join(", ")
    );
    let exporter = start_exporter(&yaml).await;
    let text = scrape_when_up(exporter.address(), &["all"]).await;
    let mut expected: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for agent in &scenario.agents {
        let group = scenario
            .hierarchy_groups
            .iter()
            .find(|g| Some(g.id.as_str()) == agent.hierarchy_group_id.as_deref())
            .expect("every simulated agent has a group");
        *expected
            .entry((group.name.clone(), agent.status_name.clone()))
            .or_default() += 1.0;
    }
    let published: std::collections::BTreeMap<(String, String), f64> =
        common::metric(&text, "amazon_connect_agents_by_hierarchy_group")
            .into_iter()
            .map(|(labels, count)| {
                assert_eq!(
                    labels["hierarchy_level"], "1",
                    "the simulator's groups are level one"
                );
                (
                    (labels["hierarchy_group"].clone(), labels["status"].clone()),
                    count,
                )
            })
            .collect();
    assert_eq!(published, expected);
    common::promtool_check_metrics(&text);
    exporter.stop().await;
    simulator.stop().await;
}
