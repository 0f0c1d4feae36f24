//! Queue and routing profile labels: names from ListQueues and ListRoutingProfiles that follow
//! renames after a directory refresh, IDs for names two resources share, and IDs throughout
//! (with no look-ups at all) under `label_values: ids`. The real exporter and SDK against the
//! simulator on 127.0.0.1.

mod common;

use std::time::Duration;

use connect_simulator::scenario::Scenario;
use connect_simulator::SimulatorOptions;

use common::{
    assert_set_matches, eventually, http_get, metric, scenario_views, scenario_views_by_id,
    scrape_when_up, start_exporter, value,
};

fn options() -> SimulatorOptions {
    SimulatorOptions {
        agents: 60,
        queues: 8,
        routing_profiles: 4,
        seed: 5,
        frozen: true,
        ..SimulatorOptions::default()
    }
}

fn config(instance_id: &str, endpoint: &str, extra: &str, queues: &[String]) -> String {
    format!(
        "instances:\n  - name: sim\n    instance_id: {instance_id}\n    region: eu-west-2\n    endpoint_url: {endpoint}\n    poll_interval: 1s\n{extra}    queue_sets:\n      - name: all\n        queues: [{}]\n",
        queues.join(", ")
    )
}

/// The values of `label` on the `name` series of the set `all`.
fn label_values(text: &str, name: &str, label: &str) -> std::collections::BTreeSet<String> {
    metric(text, name)
        .into_iter()
        .filter(|(labels, _)| labels.get("queue_set").map(String::as_str) == Some("all"))
        .filter_map(|(labels, _)| labels.get(label).cloned())
        .collect()
}

/// A simulator, an exporter polling all its queues as the set `all` with `extra` instance
/// keys, what the test compares against (scenario, queue IDs, reference time) and the first
/// scrape with the set up.
type Run = (
    connect_simulator::RunningSimulator,
    Scenario,
    Vec<String>,
    f64,
    amazon_connect_exporter::app::Exporter,
    String,
);

async fn run(extra: &str) -> Run {
    let simulator = common::start_simulator(options()).await;
    let scenario = simulator.simulator().scenario();
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let reference = common::now();
    let yaml = config(
        &scenario.instance_id,
        &simulator.endpoint_url(),
        extra,
        &queues,
    );
    let exporter = start_exporter(&yaml).await;
    let text = scrape_when_up(exporter.address(), &["all"]).await;
    (simulator, scenario, queues, reference, exporter, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_carry_names_and_follow_renames_after_a_refresh() {
    let (simulator, scenario, queues, reference, exporter, text) =
        run("    directory_refresh_interval: 1s\n").await;
    let address = exporter.address();
    // The first round already waits for the names: every value matches, by name.
    assert_set_matches(&text, "all", &scenario_views(&scenario, &queues, reference));
    let contacts = "amazon_connect_agent_contacts";
    let profiles = "amazon_connect_agents_by_routing_profile";
    let first_queue = &scenario.queues[0];
    let first_profile = &scenario.routing_profiles[0];
    assert!(label_values(&text, contacts, "queue").contains(&first_queue.name));
    assert!(label_values(&text, profiles, "routing_profile").contains(&first_profile.name));

    // An administrator renames a queue and a profile, and gives two other queues one name.
    assert!(simulator
        .simulator()
        .rename_queue(&first_queue.id, "Renamed queue"));
    assert!(simulator
        .simulator()
        .rename_routing_profile(&first_profile.id, "Renamed profile"));
    // Two queues with contacts (so that they have series), other than the renamed one.
    let with_contacts: Vec<&String> = queues[1..]
        .iter()
        .filter(|id| {
            scenario
                .agents
                .iter()
                .flat_map(|agent| &agent.contacts)
                .any(|contact| &contact.queue_id == *id)
        })
        .collect();
    assert!(with_contacts.len() >= 2, "too few queues with contacts");
    let second = scenario
        .queues
        .iter()
        .find(|q| &q.id == with_contacts[0])
        .unwrap();
    let third = scenario
        .queues
        .iter()
        .find(|q| &q.id == with_contacts[1])
        .unwrap();
    assert!(simulator.simulator().rename_queue(&second.id, "Shared"));
    assert!(simulator.simulator().rename_queue(&third.id, "Shared"));
    let text = eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        label_values(&text, profiles, "routing_profile")
            .contains("Renamed profile")
            .then_some(text)
    })
    .await;
    exporter.stop().await;

    let queue_labels = label_values(&text, contacts, "queue");
    assert!(queue_labels.contains("Renamed queue"), "{queue_labels:?}");
    assert!(
        !queue_labels.contains(&first_queue.name),
        "{queue_labels:?}"
    );
    // A shared name would merge two queues' series: both fall back to their IDs.
    assert!(!queue_labels.contains("Shared"), "{queue_labels:?}");
    assert!(
        queue_labels.contains(&second.id) && queue_labels.contains(&third.id),
        "{queue_labels:?}"
    );
    let profile_labels = label_values(&text, profiles, "routing_profile");
    assert!(!profile_labels.contains(&first_profile.name));
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_values_ids_keeps_ids_and_makes_no_look_ups() {
    let (simulator, scenario, queues, reference, exporter, text) =
        run("    label_values: ids\n    request_planner: queues\n").await;
    exporter.stop().await;
    assert_set_matches(
        &text,
        "all",
        &scenario_views_by_id(&scenario, &queues, reference),
    );
    for operation in [
        "ListQueues",
        "ListRoutingProfiles",
        "ListRoutingProfileQueues",
    ] {
        assert_eq!(
            simulator.simulator().request_count(operation),
            0,
            "{operation}"
        );
    }
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_without_the_sweep_skip_the_routing_profile_queue_look_ups() {
    let (simulator, scenario, queues, reference, exporter, text) =
        run("    request_planner: queues\n").await;
    exporter.stop().await;
    assert_set_matches(&text, "all", &scenario_views(&scenario, &queues, reference));
    let count = |operation| simulator.simulator().request_count(operation);
    assert!(count("ListQueues") >= 1 && count("ListRoutingProfiles") >= 1);
    assert_eq!(
        count("ListRoutingProfileQueues"),
        0,
        "queue filters need no routing profile's queues"
    );
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_sets_can_name_their_queues_and_an_unknown_name_fails_only_its_set() {
    let simulator = common::start_simulator(options()).await;
    let scenario = simulator.simulator().scenario();
    let reference = common::now();
    let (first, second) = (&scenario.queues[0], &scenario.queues[1]);
    let yaml = |sets: &[(&str, String)]| {
        let mut text = format!(
            "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    directory_refresh_interval: 1s\n    queue_sets:\n",
            scenario.instance_id,
            simulator.endpoint_url(),
        );
        for (name, queues) in sets {
            text.push_str(&format!(
                "      - name: {name}\n        queues: [{queues}]\n"
            ));
        }
        text
    };
    // One queue by name, one by ID: the set is exactly those two queues.
    let (mut exporter, current) = common::start_exporter_editable(yaml(&[(
        "all",
        format!("\"{}\", {}", first.name, second.id),
    )]))
    .await;
    let text = scrape_when_up(exporter.address(), &["all"]).await;
    let both = [first.id.clone(), second.id.clone()];
    assert_set_matches(&text, "all", &scenario_views(&scenario, &both, reference));

    // A reload that names a queue the instance does not have is applied: that set goes down
    // with the reason, the other set of the same instance stays up.
    *current.lock().unwrap() = yaml(&[
        ("all", "\"Nowhere\"".to_string()),
        ("other", second.id.clone()),
    ]);
    exporter
        .reload()
        .await
        .expect("an unknown name is no reason to refuse a reload");
    let up = |text: &str, set: &str| value(text, "amazon_connect_up", &[("queue_set", set)]);
    let text = common::eventually(Duration::from_secs(20), async || {
        let text = http_get(exporter.address(), "/metrics").await.body;
        (up(&text, "all") == Some(0.0) && up(&text, "other") == Some(1.0)).then_some(text)
    })
    .await;
    assert_eq!(
        value(
            &text,
            "amazon_connect_queue_agents_online",
            &[("queue_set", "all")]
        ),
        None,
        "a set that does not resolve publishes no data"
    );
    let ready = http_get(exporter.address(), "/-/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert!(
        ready.body.contains("1 of 2 queue sets are not up")
            && ready.body.contains("sim/all: ")
            && ready.body.contains("\"Nowhere\""),
        "{}",
        ready.body
    );
    let page = http_get(exporter.address(), "/").await.body;
    assert!(
        page.contains("&quot;Nowhere&quot;") || page.contains("\"Nowhere\""),
        "{page}"
    );

    // The queue appears under that name: the set comes back by itself at the next directory
    // read, without a reload.
    assert!(simulator.simulator().rename_queue(&first.id, "Nowhere"));
    common::eventually(Duration::from_secs(60), async || {
        let text = http_get(exporter.address(), "/metrics").await.body;
        (up(&text, "all") == Some(1.0)).then_some(())
    })
    .await;
    exporter.stop().await;

    // At start the same: the exporter serves, the set that names an unknown queue is down.
    let loader = |text: String| -> amazon_connect_exporter::app::ConfigLoader {
        std::sync::Arc::new(move || {
            amazon_connect_exporter::config::parse(&text, std::path::Path::new("test.yaml"))
        })
    };
    let exporter = common::try_start_exporter_with(
        loader(yaml(&[
            ("named", format!("{}, \"No such queue\"", first.id)),
            ("fine", second.id.clone()),
        ])),
        amazon_connect_exporter::web::server::DEFAULT_MAX_CONNECTIONS,
    )
    .await
    .expect("an unknown queue name does not stop the start");
    let text = common::eventually(Duration::from_secs(20), async || {
        let text = http_get(exporter.address(), "/metrics").await.body;
        (up(&text, "named") == Some(0.0) && up(&text, "fine") == Some(1.0)).then_some(text)
    })
    .await;
    assert!(text.contains("amazon_connect_up"), "{text}");
    let ready = http_get(exporter.address(), "/-/ready").await;
    assert_eq!(ready.status, 200);
    assert!(
        ready.body.contains("sim/named: ")
            && ready.body.contains("\"No such queue\"")
            && ready.body.contains("no queue of that name"),
        "{}",
        ready.body
    );
    exporter.stop().await;
    simulator.stop().await;
}
