//! The exporter against a simulator that misbehaves on purpose, through the real SDK over
//! 127.0.0.1: throttling, 5xx, connection resets, unknown enum values and truncated JSON.

mod common;

use std::time::Duration;

use connect_simulator::RunningSimulator;
use connect_simulator::{Faults, SimulatorOptions};

use common::{
    assert_set_matches, eventually, http_get, scenario_views_by_id as scenario_views,
    start_exporter, value,
};

async fn simulator(faults: Faults) -> RunningSimulator {
    common::start_simulator(SimulatorOptions {
        agents: 300,
        queues: 150,
        routing_profiles: 25,
        seed: 21,
        frozen: true,
        faults,
        ..SimulatorOptions::default()
    })
    .await
}

fn config(simulator: &RunningSimulator, sets: &[(&str, &[String])], extra: &str) -> String {
    let mut yaml = format!(
        // IDs in labels: under these fault rates the name look-ups may well fail (and the
        // labels fall back to IDs), which is right but would make the expected labels a gamble.
        "{extra}instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    label_values: ids\n    queue_sets:\n",
        simulator.simulator().instance_id(),
        simulator.endpoint_url()
    );
    for (name, queues) in sets {
        yaml.push_str(&format!(
            "      - name: {name}\n        queues: [{}]\n",
            queues.join(", ")
        ));
    }
    yaml
}

/// The most requests seen in any window of `width` starting at a request.
fn busiest_window(times: &[Duration], width: Duration) -> usize {
    times
        .iter()
        .enumerate()
        .map(|(start, t0)| {
            times[start..]
                .iter()
                .take_while(|t| **t - *t0 < width)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_throttling_still_gives_exact_values_within_the_budget() {
    let simulator = simulator(Faults {
        throttle_rate: 0.3,
        ..Faults::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let sets: [(&str, &[String]); 2] = [("wide", &queues[..120]), ("few", &queues[..5])];
    // Under 30 % throttling the adaptive rate sinks towards its floor (a tenth of the configured
    // rate), so the configured rate must leave that floor usable.
    let (rate, burst) = (20.0, 10.0);
    let yaml = config(
        &simulator,
        &sets,
        // GetCurrentMetricData (the queue backlog, part of every poll) is throttled too; the
        // same budget keeps its retries from holding the first good poll back past the 30 s
        // the status-age comparison allows.
        &format!("api_rate_limits:\n  GetCurrentUserData: {{ rate: {rate}, burst: {burst} }}\n  GetCurrentMetricData: {{ rate: {rate}, burst: {burst} }}\n"),
    );
    let reference = common::now();
    let exporter = start_exporter(&yaml).await;
    let address = exporter.address();
    // Wait for both sets up after some throttled attempts, so retries were really exercised.
    let text = eventually(Duration::from_secs(60), async || {
        let text = http_get(address, "/metrics").await.body;
        let up = |set| value(&text, "amazon_connect_up", &[("queue_set", set)]) == Some(1.0);
        let throttled = value(
            &text,
            "amazon_connect_exporter_api_requests_total",
            &[
                ("operation", "GetCurrentUserData"),
                ("outcome", "throttled"),
            ],
        );
        (up("wide") && up("few") && throttled.is_some_and(|n| n >= 3.0)).then_some(text)
    })
    .await;
    // Keep polling a while so the rate is measured over many requests (throttled backlog
    // reads fail rounds too, so wait for the count rather than for a fixed time).
    eventually(Duration::from_secs(60), async || {
        (simulator.simulator().user_data_request_times().len() >= 20).then_some(())
    })
    .await;
    exporter.stop().await;

    for (name, set) in &sets {
        // Ages are measured at the start of the poll that read the data: the frozen
        // simulator's agents at that instant, not at a reference taken before the exporter
        // started (under throttling the first good poll can come later than any fixed slack).
        let data_at = value(
            &text,
            "amazon_connect_last_poll_success_timestamp_seconds",
            &[("queue_set", name)],
        )
        .expect("a successful poll's time");
        assert!(data_at >= reference, "{data_at} before {reference}");
        assert_set_matches(&text, name, &scenario_views(&scenario, set, data_at));
    }
    let times = simulator.simulator().user_data_request_times();
    // 30 % throttling drives the adaptive rate towards its floor, so the sample is modest.
    assert!(times.len() >= 10, "only {} requests", times.len());
    for seconds in [1, 2, 5] {
        let window = Duration::from_secs(seconds);
        let allowed = (burst + rate * seconds as f64).floor() as usize;
        let seen = busiest_window(&times, window);
        assert!(
            seen <= allowed,
            "{seen} requests in {seconds}s, budget allows {allowed}"
        );
    }
    let budget_rate = value(
        &text,
        "amazon_connect_exporter_request_budget_rate",
        &[("operation", "GetCurrentUserData")],
    );
    assert!(
        budget_rate.is_some_and(|r| r > 0.0 && r <= rate),
        "{budget_rate:?}"
    );
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_server_errors_and_unknown_enums_are_survived() {
    let simulator = simulator(Faults {
        server_error_rate: 0.2,
        reset_rate: 0.2,
        unknown_enum_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let sets: [(&str, &[String]); 1] = [("wide", &queues[..120])];
    let yaml = config(
        &simulator,
        &sets,
        "api_rate_limits:\n  GetCurrentUserData: { rate: 50, burst: 20 }\n",
    );
    let reference = common::now();
    let exporter = start_exporter(&yaml).await;
    let address = exporter.address();
    let text = eventually(Duration::from_secs(30), async || {
        let text = http_get(address, "/metrics").await.body;
        if value(&text, "amazon_connect_up", &[("queue_set", "wide")]) != Some(1.0) {
            return None;
        }
        let errors = |outcome| {
            value(
                &text,
                "amazon_connect_exporter_api_requests_total",
                &[("operation", "GetCurrentUserData"), ("outcome", outcome)],
            )
        };
        (errors("server_error").is_some() && errors("network_error").is_some()).then_some(text)
    })
    .await;
    exporter.stop().await;
    // At an unknown-enum rate of 1 every contact arrives with the method from the future, and
    // the exporter passes it on as a label value rather than dropping the contact.
    let mut expected = scenario_views(&scenario, &queues[..120], reference);
    for contact in expected
        .iter_mut()
        .flat_map(|agent| agent.contacts.iter_mut())
    {
        contact.initiation_method = "TELEPATHY".into();
    }
    assert_set_matches(&text, "wide", &expected);
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_answers_are_retried_and_fail_the_poll_only_when_every_attempt_is() {
    let simulator = simulator(Faults {
        malformed_rate: 0.3,
        ..Faults::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let queue = vec![scenario.queues[0].id.clone()];
    let sets: [(&str, &[String]); 1] = [("one", &queue)];
    let yaml = config(
        &simulator,
        &sets,
        "api_rate_limits:\n  GetCurrentUserData: { rate: 50, burst: 20 }\n  GetCurrentMetricData: { rate: 50, burst: 20 }\n",
    );
    let exporter = start_exporter(&yaml).await;
    let address = exporter.address();
    let up = async || {
        let text = http_get(address, "/metrics").await.body;
        value(&text, "amazon_connect_up", &[("queue_set", "one")])
    };
    // A third of the answers are cut short: the retries get whole ones, so the set is up and
    // the cut answers are counted as unreadable.
    let unreadable = |text: &str| -> f64 {
        ["GetCurrentUserData", "GetCurrentMetricData"]
            .into_iter()
            .filter_map(|operation| {
                value(
                    text,
                    "amazon_connect_exporter_api_requests_total",
                    &[("operation", operation), ("outcome", "unreadable_response")],
                )
            })
            .sum()
    };
    let text = eventually(Duration::from_secs(30), async || {
        let text = http_get(address, "/metrics").await.body;
        (unreadable(&text) >= 3.0 && common::polls_of(&text, "one") >= 3.0).then_some(text)
    })
    .await;
    assert_eq!(
        value(&text, "amazon_connect_up", &[("queue_set", "one")]),
        Some(1.0),
        "retried truncated answers keep the set up"
    );
    // Every answer cut short: after its attempts the poll fails and says why.
    simulator
        .simulator()
        .set_faults(Faults {
            malformed_rate: 1.0,
            ..Faults::default()
        })
        .expect("valid faults");
    eventually(Duration::from_secs(60), async || {
        (up().await == Some(0.0)).then_some(())
    })
    .await;
    let page = http_get(address, "/").await.body;
    assert!(page.contains("unreadable response"), "{page}");
    // Whole answers again: the set comes back.
    simulator
        .simulator()
        .set_faults(Faults::default())
        .expect("no faults");
    eventually(Duration::from_secs(60), async || {
        (up().await == Some(1.0)).then_some(())
    })
    .await;
    exporter.stop().await;
    simulator.stop().await;
}
