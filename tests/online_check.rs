//! `check-config --online` against the simulator over loopback: names are resolved as the
//! polls resolve them and each operation the configuration needs is tried once; a problem
//! exits 1 and names the key or the IAM action.

mod common;

use std::process::Command;

fn check_online(yaml: &str) -> (i32, String, String) {
    let directory = tempfile::tempdir().expect("temp dir");
    let file = directory.path().join("connect.yaml");
    std::fs::write(&file, yaml).expect("write config");
    let output = Command::new(env!("CARGO_BIN_EXE_amazon-connect-exporter"))
        .args(["check-config", "--online"])
        .arg(&file)
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run check-config --online");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn config(instance_id: &str, endpoint: &str, sets: &str) -> String {
    format!(
        "instances:\n  - name: sim\n    instance_id: {instance_id}\n    region: eu-west-2\n    endpoint_url: {endpoint}\n    queue_metrics: true\n    queue_sets:\n{sets}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_check_passes_a_good_configuration_and_names_what_does_not_resolve() {
    let simulator = common::start_simulator(common::frozen()).await;
    let id = common::simulator_instance_id(&simulator);
    let endpoint = simulator.endpoint_url();
    let good = config(
        &id,
        &endpoint,
        "      - { name: all, queues: all }\n      - { name: kpis, queues: all, service_level_thresholds: [20s] }\n",
    );
    let (code, stdout, stderr) = check_online(&good);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for operation in [
        "GetCurrentUserData",
        "GetCurrentMetricData",
        "DescribeInstance",
        "GetMetricDataV2",
    ] {
        assert!(
            stdout.contains(&format!("ok: instances[0] (sim): {operation} allowed")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("every check against AWS passed"),
        "{stdout}"
    );

    let renamed = config(
        &id,
        &endpoint,
        "      - { name: all, queues: all }\n      - { name: ghost, queues: [\"No such queue\"] }\n",
    );
    let (code, stdout, stderr) = check_online(&renamed);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "problem: instances[0].queue_sets[1] (sim/ghost): queue name \"No such queue\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 problem(s) found against AWS"),
        "{stderr}"
    );
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_check_names_the_iam_action_a_denied_operation_needs() {
    let simulator = common::start_simulator(common::frozen()).await;
    let id = common::simulator_instance_id(&simulator);
    let yaml = config(
        &id,
        &simulator.endpoint_url(),
        "      - { name: all, queues: all }\n",
    );
    // As a role without connect:GetCurrentMetricData: the queue backlog cannot be read.
    simulator.simulator().deny_operation("GetCurrentMetricData");
    let (code, stdout, stderr) = check_online(&yaml);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("missing IAM action connect:GetCurrentMetricData"),
        "{stderr}"
    );
    assert!(
        stdout.contains("ok: instances[0] (sim): GetCurrentUserData allowed"),
        "the allowed operations still pass: {stdout}"
    );

    // Without SearchRoutingProfiles the polls still work (one ListRoutingProfileQueues per
    // profile), but the shipped policy allows it: the check says which action is missing.
    simulator
        .simulator()
        .allow_operation("GetCurrentMetricData");
    simulator
        .simulator()
        .deny_operation("SearchRoutingProfiles");
    let (code, stdout, stderr) = check_online(&yaml);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("missing IAM action connect:SearchRoutingProfiles: each directory read lists the queues of each of the 10 routing profiles"),
        "{stderr}"
    );
    assert!(
        stdout.contains("routing directory read: 12 queues, 10 routing profiles"),
        "the directory is still read: {stdout}"
    );
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_check_reads_the_agent_event_stream_and_names_a_denied_kinesis_action() {
    let simulator = common::start_simulator(connect_simulator::SimulatorOptions {
        agent_events: Some(connect_simulator::AgentEventStreamOptions::default()),
        ..common::frozen()
    })
    .await;
    let id = common::simulator_instance_id(&simulator);
    let endpoint = simulator.endpoint_url();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {id}\n    region: eu-west-2\n    endpoint_url: {endpoint}\n    agent_events:\n      stream: connect-agent-events\n      endpoint_url: {endpoint}\n    queue_sets:\n      - {{ name: all, queues: all }}\n"
    );
    let (code, stdout, stderr) = check_online(&yaml);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for operation in [
        "DescribeStreamSummary",
        "ListShards",
        "GetShardIterator",
        "GetRecords",
    ] {
        assert!(
            stdout.contains(&format!(
                "ok: instances[0] (sim): {operation} allowed (the agent event stream connect-agent-events)"
            )),
            "{stdout}"
        );
    }
    simulator.simulator().deny_operation("GetRecords");
    let (code, stdout, stderr) = check_online(&yaml);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("missing IAM action kinesis:GetRecords"),
        "{stderr}"
    );
    let wrong = yaml.replace("stream: connect-agent-events", "stream: no-such-stream");
    let (code, _, stderr) = check_online(&wrong);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("ResourceNotFoundException")
            && stderr.contains("check agent_events.stream"),
        "{stderr}"
    );
    simulator.stop().await;
}
