//! Reloading the real binary's configuration: SIGHUP and `POST /-/reload` apply a new file; a
//! broken file is refused with the reason while the running configuration keeps serving;
//! SIGTERM then ends the process cleanly.

mod common;

use std::time::Duration;

use common::{eventually, http_get, http_request, spawn_exporter, value};

fn config(instance: &str, endpoint: &str, sets: &[(&str, &str)]) -> String {
    let mut yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {instance}\n    region: eu-west-2\n    endpoint_url: {endpoint}\n    poll_interval: 1s\n    queue_sets:\n"
    );
    for (name, queue) in sets {
        yaml.push_str(&format!("      - {{ name: {name}, queues: [{queue}] }}\n"));
    }
    yaml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_reload_endpoint_apply_good_files_and_refuse_broken_ones() {
    let simulator = common::start_simulator(common::frozen()).await;
    let scenario = simulator.simulator().scenario();
    let (q0, q1) = (
        scenario.queues[0].id.as_str(),
        scenario.queues[1].id.as_str(),
    );
    let instance = scenario.instance_id.as_str();
    let endpoint = simulator.endpoint_url();
    let directory = tempfile::tempdir().expect("temp dir");
    let file = directory.path().join("connect.yaml");
    let write = |text: String| std::fs::write(&file, text).expect("write config");
    write(config(instance, &endpoint, &[("alpha", q0)]));

    let file_arg = file.to_string_lossy().into_owned();
    let (mut running, address) = spawn_exporter(
        &["--config.file", &file_arg],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    let up = async |set: &str| {
        let text = http_get(address, "/metrics").await.body;
        value(&text, "amazon_connect_up", &[("queue_set", set)])
    };
    eventually(Duration::from_secs(20), async || {
        (up("alpha").await == Some(1.0)).then_some(())
    })
    .await;

    // SIGHUP: a second queue set appears.
    write(config(instance, &endpoint, &[("alpha", q0), ("beta", q1)]));
    running.signal("HUP");
    eventually(Duration::from_secs(20), async || {
        (up("beta").await == Some(1.0)).then_some(())
    })
    .await;

    // A broken file is refused with the reason; both sets keep being served.
    write(config(instance, &endpoint, &[("alpha", q0), ("alpha", q1)]));
    let refused = http_request(address, "POST", "/-/reload").await;
    assert_eq!(refused.status, 500, "{}", refused.body);
    assert!(
        refused.body.contains("duplicate queue set name \"alpha\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("previous one stays in force"),
        "{}",
        refused.body
    );
    // Polls go on after the refusal (up alone would keep its last value if polling had
    // stopped): both sets finish two more polls, and stay up.
    for set in ["alpha", "beta"] {
        let (before, text) = common::after_more_polls(address, set, 2.0).await;
        assert!(common::polls_of(&text, set) >= before + 2.0);
        assert_eq!(
            value(&text, "amazon_connect_up", &[("queue_set", set)]),
            Some(1.0),
            "{set} after the refused reload"
        );
    }

    // A good file through the endpoint: alpha goes, beta stays with its counters.
    write(config(instance, &endpoint, &[("beta", q1)]));
    let reloaded = http_request(address, "POST", "/-/reload").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.body);
    assert_eq!(reloaded.body, "configuration reloaded: 1 queue set(s)\n");
    let text = http_get(address, "/metrics").await.body;
    assert!(!text.contains("queue_set=\"alpha\""), "alpha is gone");
    let polls = value(
        &text,
        "amazon_connect_exporter_poll_duration_seconds_count",
        &[("queue_set", "beta")],
    );
    assert!(
        polls.is_some_and(|n| n >= 2.0),
        "beta kept its poll history: {polls:?}"
    );

    running.signal("TERM");
    let exit = running.wait_for_exit(Duration::from_secs(10)).await;
    assert_eq!(exit.code(), Some(0));
    simulator.stop().await;
}
