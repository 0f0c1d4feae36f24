//! Failure semantics through the real SDK against the simulator: a queue set whose instance does
//! not exist goes `up` 0 with no data series, the status page shows why, the failed attempt is
//! counted as a client error, and the healthy instance beside it is unaffected.

mod common;

use std::time::Duration;

use common::{eventually, http_get, metric, value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_instance_is_down_without_data_and_does_not_affect_others() {
    let simulator = common::start_simulator(common::frozen()).await;
    let scenario = simulator.simulator().scenario();
    let queue = &scenario.queues[0].id;
    let yaml = format!(
        "defaults:\n  region: eu-west-2\n  poll_interval: 1s\ninstances:\n  - name: good\n    instance_id: {}\n    endpoint_url: {url}\n    queue_sets: [{{ name: s, queues: [{queue}] }}]\n  - name: ghost\n    instance_id: 11111111-2222-4333-8444-555555555555\n    endpoint_url: {url}\n    queue_sets: [{{ name: s, queues: [{queue}] }}]\n",
        scenario.instance_id,
        url = simulator.endpoint_url()
    );
    let exporter = common::start_exporter(&yaml).await;
    let address = exporter.address();
    let text = eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        let up = |instance| {
            value(
                &text,
                "amazon_connect_up",
                &[("connect_instance", instance)],
            )
        };
        (up("good") == Some(1.0) && up("ghost") == Some(0.0)).then_some(text)
    })
    .await;

    let series_of = |instance: &str| {
        text.lines()
            .filter(|line| line.starts_with("amazon_connect_agent"))
            .filter(|line| line.contains(&format!("connect_instance=\"{instance}\"")))
            .count()
    };
    assert!(series_of("good") > 0);
    assert_eq!(series_of("ghost"), 0, "a failed poll serves no data series");
    assert!(
        metric(&text, "amazon_connect_last_poll_success_timestamp_seconds")
            .iter()
            .all(|(labels, _)| labels["connect_instance"] != "ghost")
    );
    let client_errors = value(
        &text,
        "amazon_connect_exporter_api_requests_total",
        &[
            ("connect_instance", "ghost"),
            ("operation", "GetCurrentUserData"),
            ("outcome", "client_error"),
        ],
    );
    assert!(client_errors.is_some_and(|n| n >= 1.0), "{client_errors:?}");
    assert_eq!(
        value(
            &text,
            "amazon_connect_exporter_api_requests_total",
            &[("connect_instance", "ghost"), ("outcome", "success")],
        ),
        None
    );

    let page = http_get(address, "/").await.body;
    assert!(
        page.contains("ResourceNotFoundException (HTTP 404)"),
        "{page}"
    );
    assert!(page.contains("check the instance_id"), "{page}");
    assert_eq!(
        http_get(address, "/-/ready").await.status,
        200,
        "failed polls still count as polled"
    );
    exporter.stop().await;
    simulator.stop().await;
}
