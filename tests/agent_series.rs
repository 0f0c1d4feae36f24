//! Per-agent series (`agent_series: true`) and the series limit per queue set: the real
//! exporter and SDK against the simulator on 127.0.0.1, frozen so that every value can be
//! compared with the simulator's agents.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use connect_simulator::SimulatorOptions;

use common::{metric, scrape_when_up, start_exporter, value};

/// A frozen simulator with `agents` agents, and the exporter polling every queue as the set
/// `all`, with per-agent series on and `extra` instance keys.
async fn run(
    agents: usize,
    extra: &str,
) -> (
    connect_simulator::RunningSimulator,
    connect_simulator::scenario::Scenario,
    amazon_connect_exporter::app::Exporter,
    String,
    f64,
) {
    let simulator = common::start_simulator(SimulatorOptions {
        agents,
        queues: 6,
        routing_profiles: 3,
        seed: 9,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let reference = common::now();
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    agent_series: true\n{extra}    queue_sets:\n      - name: all\n        queues: [{}]\n",
        scenario.instance_id,
        simulator.endpoint_url(),
        queues.join(", ")
    );
    let exporter = start_exporter(&yaml).await;
    let text = scrape_when_up(exporter.address(), &["all"]).await;
    (simulator, scenario, exporter, text, reference)
}

/// The data series of the page: everything but `up`, the last-success time and self-metrics.
fn data_series(text: &str) -> usize {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter(|line| {
            ![
                "amazon_connect_up{",
                "amazon_connect_last_poll_success_timestamp_seconds{",
                "amazon_connect_exporter_",
            ]
            .iter()
            .any(|prefix| line.starts_with(prefix))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_agent_has_its_status_slots_and_contacts_under_its_login_name() {
    let (_simulator, scenario, exporter, text, reference) = run(40, "").await;
    let statuses: BTreeMap<String, String> = metric(&text, "amazon_connect_per_agent_status")
        .into_iter()
        .map(|(labels, value)| {
            assert_eq!(value, 1.0);
            (labels["agent"].clone(), labels["status"].clone())
        })
        .collect();
    let expected: BTreeMap<String, String> = scenario
        .agents
        .iter()
        .map(|agent| (agent.username.clone(), agent.status_name.clone()))
        .collect();
    assert_eq!(
        statuses, expected,
        "login names from ListUsers, every agent"
    );
    for agent in &scenario.agents {
        let of_agent = [("agent", agent.username.as_str())];
        for (channel, max) in &agent.max_slots {
            let lower = channel.to_lowercase();
            let labels = [("agent", agent.username.as_str()), ("channel", &lower)];
            assert_eq!(
                value(&text, "amazon_connect_per_agent_slots_max", &labels),
                Some(f64::from(*max)),
                "{} {channel}",
                agent.username
            );
            for (family, slots) in [
                ("amazon_connect_per_agent_slots_active", &agent.active_slots),
                (
                    "amazon_connect_per_agent_slots_available",
                    &agent.available_slots,
                ),
            ] {
                let expected = slots.get(channel).copied().unwrap_or(0);
                assert_eq!(
                    value(&text, family, &labels),
                    Some(f64::from(expected)),
                    "{family} {} {channel}",
                    agent.username
                );
            }
        }
        // Measured at poll start, which lies between the reference taken before the exporter
        // started and now.
        let age = value(
            &text,
            "amazon_connect_per_agent_status_age_seconds",
            &of_agent,
        )
        .expect("every agent has a status age");
        let (earliest, latest) = (
            reference - agent.status_start,
            common::now() - agent.status_start,
        );
        assert!(
            age >= earliest - 0.001 && age <= latest + 0.001,
            "{}: {age} not in {earliest}..{latest}",
            agent.username
        );
        let mut contacts: BTreeMap<(String, String), f64> = BTreeMap::new();
        for contact in &agent.contacts {
            *contacts
                .entry((contact.channel.to_lowercase(), contact.state.to_lowercase()))
                .or_default() += 1.0;
        }
        let published: BTreeMap<(String, String), f64> =
            metric(&text, "amazon_connect_per_agent_contacts")
                .into_iter()
                .filter(|(labels, _)| labels["agent"] == of_agent[0].1)
                .map(|(labels, count)| {
                    ((labels["channel"].clone(), labels["state"].clone()), count)
                })
                .collect();
        assert_eq!(published, contacts, "contacts of {}", agent.username);
    }
    assert_eq!(
        value(&text, "amazon_connect_exporter_series_dropped", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&text, "amazon_connect_exporter_series", &[]),
        Some(data_series(&text) as f64),
        "the series count is what the page holds"
    );
    common::promtool_check_metrics(&text);
    drop(exporter);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_series_limit_holds_with_many_agents_and_drops_per_agent_series_first() {
    // Room for the aggregates and the backlog, not for 2,000 agents' series: those go whole.
    let (_simulator, scenario, exporter, text, _) = run(2_000, "    series_limit: 1500\n").await;
    let published = data_series(&text);
    assert!(published < 1_500, "{published}");
    assert_eq!(
        value(&text, "amazon_connect_exporter_series", &[]),
        Some(published as f64)
    );
    assert!(
        metric(&text, "amazon_connect_per_agent_status").is_empty()
            && metric(&text, "amazon_connect_per_agent_contacts").is_empty(),
        "no agent keeps series while others lose theirs"
    );
    let dropped = value(&text, "amazon_connect_exporter_series_dropped", &[])
        .expect("the dropped count is published");
    // 2,000 agents have at least status, status age and one slot family each.
    assert!(dropped >= 6_000.0, "dropped {dropped}");
    // The aggregates come first: every agent of the simulator is counted.
    let agents: f64 = metric(&text, "amazon_connect_agents")
        .into_iter()
        .map(|(_, count)| count)
        .sum();
    assert_eq!(agents, scenario.agents.len() as f64);
    let backlog: BTreeSet<String> = metric(&text, "amazon_connect_queue_contacts_in_queue")
        .into_iter()
        .map(|(labels, _)| labels["queue"].clone())
        .collect();
    assert_eq!(
        backlog.len(),
        scenario.queues.len(),
        "the queue backlog stays"
    );
    drop(exporter);

    // A limit below the aggregates: exactly the limit is published, the rest counted.
    let (_simulator, _, exporter, text, _) = run(2_000, "    series_limit: 40\n").await;
    assert_eq!(data_series(&text), 40);
    assert_eq!(
        value(&text, "amazon_connect_exporter_series", &[]),
        Some(40.0)
    );
    assert_eq!(
        value(&text, "amazon_connect_exporter_series_dropped", &[]),
        Some(published as f64 - 40.0 + dropped),
        "what the first limit published beyond 40, plus the per-agent series"
    );
    drop(exporter);
}
