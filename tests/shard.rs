//! `--shard N/M` on the real binary: three replicas given one configuration of three
//! instances poll one instance each, and together all of them.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{eventually, http_get, metric, spawn_exporter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_split_three_instances_between_them() {
    let simulator = common::start_simulator(common::frozen()).await;
    let scenario = simulator.simulator().scenario();
    let queue = &scenario.queues[0].id;
    let mut yaml = String::from("instances:\n");
    // One simulator serves all three: a Connect instance is an ID, and the simulator answers
    // for its own only, so the other two are down, which is all this test needs to see.
    for (index, name) in ["a", "prod", "staging"].iter().enumerate() {
        let instance_id = if index == 0 {
            scenario.instance_id.clone()
        } else {
            format!("11111111-2222-4333-8444-55555555555{index}")
        };
        yaml.push_str(&format!(
            "  - name: {name}\n    instance_id: {instance_id}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    queue_sets: [{{ name: s, queues: [{queue}] }}]\n",
            simulator.endpoint_url()
        ));
    }
    let directory = tempfile::tempdir().expect("temp dir");
    let file = directory.path().join("connect.yaml");
    std::fs::write(&file, yaml).expect("write config");
    let file = file.to_string_lossy().into_owned();
    let credentials = [
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];

    let mut polled_by_shard = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let (_running, address) =
            spawn_exporter(&["--config.file", &file, "--shard", shard], &credentials);
        let instances = eventually(Duration::from_secs(20), async || {
            let text = http_get(address, "/metrics").await.body;
            let instances: BTreeSet<String> = metric(&text, "amazon_connect_up")
                .into_iter()
                .map(|(labels, _)| labels["connect_instance"].clone())
                .collect();
            (!instances.is_empty()).then_some(instances)
        })
        .await;
        polled_by_shard.push(instances);
    }
    // The owners follow the FNV-1a hash of the names (see src/shard.rs).
    let expected: Vec<BTreeSet<String>> = [["prod"], ["a"], ["staging"]]
        .iter()
        .map(|names| names.iter().map(|n| n.to_string()).collect())
        .collect();
    assert_eq!(polled_by_shard, expected);

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_amazon-connect-exporter"))
        .args(["--config.file", &file, "--shard", "4/3"])
        .output()
        .expect("the binary runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not N/M"));
    simulator.stop().await;
}
