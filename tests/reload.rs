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
        &["--config.file", &file_arg, "--web.enable-lifecycle"],
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_lifecycle_flag_reload_is_forbidden_and_sighup_still_reloads() {
    let simulator = common::start_simulator(common::frozen()).await;
    let scenario = simulator.simulator().scenario();
    let (q0, q1) = (
        scenario.queues[0].id.as_str(),
        scenario.queues[1].id.as_str(),
    );
    let endpoint = simulator.endpoint_url();
    let directory = tempfile::tempdir().expect("temp dir");
    let file = directory.path().join("connect.yaml");
    let write = |text: String| std::fs::write(&file, text).expect("write config");
    write(config(&scenario.instance_id, &endpoint, &[("alpha", q0)]));
    let file_arg = file.to_string_lossy().into_owned();
    let (mut running, address) = spawn_exporter(
        &["--config.file", &file_arg],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    write(config(
        &scenario.instance_id,
        &endpoint,
        &[("alpha", q0), ("beta", q1)],
    ));
    let forbidden = http_request(address, "POST", "/-/reload").await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert!(
        forbidden.body.contains("--web.enable-lifecycle"),
        "{}",
        forbidden.body
    );
    let text = http_get(address, "/metrics").await.body;
    assert!(!text.contains("queue_set=\"beta\""), "nothing was reloaded");
    running.signal("HUP");
    eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        (value(&text, "amazon_connect_up", &[("queue_set", "beta")]) == Some(1.0)).then_some(())
    })
    .await;
    running.signal("TERM");
    let exit = running.wait_for_exit(Duration::from_secs(10)).await;
    assert_eq!(exit.code(), Some(0));
    simulator.stop().await;
}

/// A reload restarts only the instances whose settings changed: the others keep their
/// routing directory (no new look-ups) and their polling rhythm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_restarts_only_the_instances_that_changed() {
    // Two instances, each its own simulated Connect instance, so that each one's look-ups
    // are counted apart.
    let simulator = common::start_simulator(common::frozen()).await;
    let other = common::start_simulator(connect_simulator::SimulatorOptions {
        instance_id: "0b5e7f9a-1d3b-4e8f-a5c7-4a1f6c3e9b2d".into(),
        ..common::frozen()
    })
    .await;
    let yaml = |interval_b: &str| {
        format!(
            "instances:\n  - name: a\n    instance_id: {id_a}\n    region: eu-west-2\n    endpoint_url: {endpoint_a}\n    poll_interval: 1s\n    queue_sets:\n      - {{ name: a_all, queues: all }}\n  - name: b\n    instance_id: {id_b}\n    region: eu-west-2\n    endpoint_url: {endpoint_b}\n    poll_interval: {interval_b}\n    queue_sets:\n      - {{ name: b_all, queues: all }}\n",
            id_a = common::simulator_instance_id(&simulator),
            endpoint_a = simulator.endpoint_url(),
            id_b = common::simulator_instance_id(&other),
            endpoint_b = other.endpoint_url(),
        )
    };
    let (mut exporter, current) = common::start_exporter_editable(yaml("1s")).await;
    common::scrape_when_up(exporter.address(), &["a_all", "b_all"]).await;
    let list_queues = || {
        (
            simulator.simulator().request_count("ListQueues"),
            other.simulator().request_count("ListQueues"),
        )
    };
    let reads = list_queues();
    assert_eq!(reads, (1, 1), "one directory read per instance");

    // The same file again: nothing restarts, nothing is read again, polls go on.
    assert_eq!(exporter.reload().await.expect("reload"), 2);
    let (before, text) = common::after_more_polls(exporter.address(), "a_all", 2.0).await;
    assert!(common::polls_of(&text, "a_all") >= before + 2.0);
    assert_eq!(
        list_queues(),
        reads,
        "an unchanged configuration reads nothing again"
    );

    // Instance b changes: only b restarts and reads its directory again.
    *current.lock().unwrap() = yaml("2s");
    assert_eq!(exporter.reload().await.expect("reload"), 2);
    common::eventually(Duration::from_secs(20), async || {
        (list_queues() == (reads.0, reads.1 + 1)).then_some(())
    })
    .await;
    common::after_more_polls(exporter.address(), "b_all", 1.0).await;
    common::after_more_polls(exporter.address(), "a_all", 2.0).await;
    assert_eq!(
        list_queues(),
        (reads.0, reads.1 + 1),
        "instance a kept its directory"
    );
    exporter.stop().await;
    simulator.stop().await;
    other.stop().await;
}
