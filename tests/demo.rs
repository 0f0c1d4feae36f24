//! The real binary in `--demo` mode: serves every core metric with changing values within
//! seconds, passes `promtool check metrics`, and exits 0 on SIGTERM.

mod common;

use std::time::Duration;

use common::{eventually, http_get, metric, promtool_check_metrics, samples, spawn_exporter};

const CORE_METRICS: &[&str] = &[
    "amazon_connect_agent_slots_available",
    "amazon_connect_agent_slots_active",
    "amazon_connect_agent_slots_max",
    "amazon_connect_agents",
    "amazon_connect_agent_contacts",
    "amazon_connect_agent_contact_state_age_seconds_max",
    "amazon_connect_missed_contacts_total",
    "amazon_connect_up",
    "amazon_connect_last_poll_success_timestamp_seconds",
    "amazon_connect_exporter_poll_duration_seconds_count",
    "amazon_connect_exporter_api_requests_total",
    "amazon_connect_exporter_build_info",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_every_core_metric_with_changing_values_and_stops_on_sigterm() {
    // A host configured for production still runs the demo: the variable is ignored.
    let (mut running, address) = spawn_exporter(
        &["--demo"],
        &[(
            "CONNECT_EXPORTER_CONFIG_FILE",
            "/nonexistent/production.yaml",
        )],
    );

    eventually(Duration::from_secs(10), async || {
        (http_get(address, "/-/ready").await.status == 200).then_some(())
    })
    .await;
    let first = eventually(Duration::from_secs(10), async || {
        let text = http_get(address, "/metrics").await.body;
        CORE_METRICS
            .iter()
            .all(|name| !metric(&text, name).is_empty())
            .then_some(text)
    })
    .await;
    promtool_check_metrics(&first);
    let up: Vec<f64> = metric(&first, "amazon_connect_up")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert!(!up.is_empty() && up.iter().all(|v| *v == 1.0), "{up:?}");
    let max_slots: f64 = metric(&first, "amazon_connect_agent_slots_max")
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert!(max_slots > 0.0, "the demo's agents have slots");

    // The simulator advances every second and the demo polls every few seconds.
    let first_samples = samples(&first);
    eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        let now = samples(&text);
        // A series present in both scrapes with another value: new or vanished series alone
        // do not count.
        let changed = now.iter().any(|(series, value)| {
            series.starts_with("amazon_connect_agent_contacts{")
                && first_samples
                    .get(series)
                    .is_some_and(|before| before != value)
        });
        changed.then_some(())
    })
    .await;

    let page = http_get(address, "/").await;
    assert!(
        page.body.contains("<td class=\"up\">up</td>"),
        "{}",
        page.body
    );

    running.signal("TERM");
    let exit = running.wait_for_exit(Duration::from_secs(10)).await;
    assert_eq!(exit.code(), Some(0), "SIGTERM ends the demo cleanly");
}
