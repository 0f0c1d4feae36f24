//! The queue backlog from GetCurrentMetricData: the real exporter and SDK against the
//! simulator on 127.0.0.1, frozen, every `amazon_connect_queue_*` family compared with the
//! simulator's own state (its waiting and scheduled contacts and its agents), counted here.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use connect_simulator::scenario::Scenario;
use connect_simulator::SimulatorOptions;

use common::{metric, scrape_when_up, start_exporter};

/// The channels GetCurrentMetricData reports on.
const CHANNELS: [&str; 3] = ["VOICE", "CHAT", "TASK"];

/// Expected values of one (queue, channel) row, by family name.
fn expected_row(
    scenario: &Scenario,
    now: f64,
    queue: &str,
    channel: &str,
) -> BTreeMap<&'static str, f64> {
    let waiting: Vec<f64> = scenario
        .waiting_contacts
        .iter()
        .filter(|c| c.queue_id == queue && c.channel == channel)
        .map(|c| c.enqueued_at)
        .collect();
    let scheduled = scenario
        .scheduled_contacts
        .iter()
        .filter(|c| c.queue_id == queue && c.channel == channel)
        .count();
    let serving: BTreeSet<&str> = scenario
        .routing_profiles
        .iter()
        .filter(|p| {
            p.queues
                .iter()
                .any(|q| q.queue_id == queue && q.channel == channel)
        })
        .map(|p| p.id.as_str())
        .collect();
    let eligible: Vec<_> = scenario
        .agents
        .iter()
        .filter(|a| serving.contains(a.routing_profile_id.as_str()))
        .collect();
    let on_contact = |a: &&connect_simulator::scenario::Agent| {
        a.contacts.iter().any(|c| {
            [
                "INCOMING",
                "PENDING",
                "CONNECTING",
                "CONNECTED",
                "CONNECTED_ONHOLD",
            ]
            .contains(&c.state.as_str())
        })
    };
    let count = |keep: &dyn Fn(&&connect_simulator::scenario::Agent) -> bool| {
        eligible.iter().filter(|a| keep(a)).count() as f64
    };
    let slots = |of: fn(&connect_simulator::scenario::Agent) -> &BTreeMap<String, i32>| {
        eligible
            .iter()
            .map(|a| f64::from(of(a).get(channel).copied().unwrap_or(0)))
            .sum::<f64>()
    };
    let oldest = waiting
        .iter()
        .map(|enqueued| now - enqueued)
        .fold(0.0_f64, f64::max);
    let after_contact_work = |a: &&connect_simulator::scenario::Agent| {
        !on_contact(a) && a.contacts.iter().any(|c| c.state == "ENDED")
    };
    let staffed = count(&|a| {
        a.status_name != "Offline"
            && (a.status_name == "Available" || on_contact(a) || after_contact_work(a))
    });
    let mut expected = BTreeMap::from([
        (
            "amazon_connect_queue_contacts_in_queue",
            waiting.len() as f64,
        ),
        ("amazon_connect_queue_oldest_contact_age_seconds", oldest),
        ("amazon_connect_queue_contacts_scheduled", scheduled as f64),
        (
            "amazon_connect_queue_agents_online",
            count(&|a| a.status_name != "Offline"),
        ),
        (
            "amazon_connect_queue_agents_available",
            count(&|a| a.status_name == "Available"),
        ),
        ("amazon_connect_queue_agents_on_contact", count(&on_contact)),
        (
            "amazon_connect_queue_slots_active",
            slots(|a| &a.active_slots),
        ),
        (
            "amazon_connect_queue_slots_available",
            slots(|a| &a.available_slots),
        ),
        (
            "amazon_connect_queue_agents_after_contact_work",
            count(&after_contact_work),
        ),
        (
            "amazon_connect_queue_agents_error",
            count(&|a| {
                a.contacts
                    .iter()
                    .any(|c| c.state == "MISSED" || c.state == "ERROR")
            }),
        ),
        ("amazon_connect_queue_agents_staffed", staffed),
    ]);
    // The simulator's estimate: 30 s per waiting contact per staffed agent; none (null, so no
    // series) when nobody is staffed.
    if staffed > 0.0 {
        expected.insert(
            "amazon_connect_queue_estimated_wait_time_seconds",
            waiting.len() as f64 * 30.0 / staffed,
        );
    }
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_gauges_match_the_simulators_queues_contacts_and_agents() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 150,
        queues: 12,
        routing_profiles: 6,
        seed: 4,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let now = simulator.simulator().simulated_now();
    assert!(
        !scenario.waiting_contacts.is_empty(),
        "the scenario has contacts waiting, so the test can fail"
    );
    // Two overlapping sets: "first" the first eight queues by ID, "named" the last six by name.
    let ids: Vec<String> = scenario.queues[..8].iter().map(|q| q.id.clone()).collect();
    let named: Vec<String> = scenario.queues[6..]
        .iter()
        .map(|q| format!("\"{}\"", q.name))
        .collect();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    queue_sets:\n      - name: first\n        queues: [{}]\n      - name: named\n        queues: [{}]\n",
        scenario.instance_id,
        simulator.endpoint_url(),
        ids.join(", "),
        named.join(", ")
    );
    let exporter = start_exporter(&yaml).await;
    let text = scrape_when_up(exporter.address(), &["first", "named"]).await;

    for (set, queues) in [
        ("first", &scenario.queues[..8]),
        ("named", &scenario.queues[6..]),
    ] {
        let mut rows = 0;
        for queue in queues {
            for channel in CHANNELS {
                let expected = expected_row(&scenario, now, &queue.id, channel);
                let served = scenario.routing_profiles.iter().any(|p| {
                    p.queues
                        .iter()
                        .any(|q| q.queue_id == queue.id && q.channel == channel)
                });
                let has_backlog = expected["amazon_connect_queue_contacts_in_queue"] > 0.0
                    || expected["amazon_connect_queue_contacts_scheduled"] > 0.0;
                let lower = channel.to_lowercase();
                let want = [
                    ("queue_set", set),
                    ("queue", queue.name.as_str()),
                    ("channel", lower.as_str()),
                ];
                if !expected.contains_key("amazon_connect_queue_estimated_wait_time_seconds") {
                    assert_eq!(
                        common::value(
                            &text,
                            "amazon_connect_queue_estimated_wait_time_seconds",
                            &want
                        ),
                        None,
                        "{want:?}: no estimate while nobody is staffed"
                    );
                }
                for (family, value) in &expected {
                    let published = common::value(&text, family, &want);
                    if !served && !has_backlog {
                        assert_eq!(published, None, "{family} {want:?}: no row for this pair");
                        continue;
                    }
                    let published =
                        published.unwrap_or_else(|| panic!("{family} {want:?} is missing"));
                    assert!(
                        (published - value).abs() < 0.002,
                        "{family} {want:?}: published {published}, simulator {value}"
                    );
                }
                if served || has_backlog {
                    rows += 1;
                }
            }
        }
        let published: BTreeSet<(String, String)> =
            metric(&text, "amazon_connect_queue_contacts_in_queue")
                .into_iter()
                .filter(|(labels, _)| labels["queue_set"] == set)
                .map(|(labels, _)| (labels["queue"].clone(), labels["channel"].clone()))
                .collect();
        assert_eq!(published.len(), rows, "{set}: one series per row, no more");
    }
    common::promtool_check_metrics(&text);
    exporter.stop().await;
    simulator.stop().await;
}
