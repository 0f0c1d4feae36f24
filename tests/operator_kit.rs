//! The operator's kit (grafana/, deploy/) is consistent with itself, with the README and with
//! the exporter: every alert is documented and unit-tested both ways, the dashboards are
//! importable, the compose stack's files and names line up and its exporter configuration
//! polls the standalone simulator, the Kubernetes base and overlays fit together with valid
//! configurations and the base's PrometheusRule is rules.yml, and the Dockerfile's health check
//! tells a live exporter from a dead one.
//!
//! The formats' own tools check the rest: promtool and Prometheus (tests/e2e_prometheus.rs),
//! hadolint, kubectl kustomize with kubernetes-validate and the prometheus-operator CRD schemas
//! on its renders, the compose-spec schema and systemd-analyze (.ci/lint-deploy).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{eventually, http_get, metric, spawn_exporter, RunningBinary};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

const BIN: &str = env!("CARGO_BIN_EXE_amazon-connect-exporter");
const JOB: &str = "amazon-connect-exporter";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Yaml {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml_docs(path: &str) -> Vec<Yaml> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(&read(path))
        .map(|doc| Yaml::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn str_of<'a>(value: &'a Yaml, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

fn alerts() -> Vec<Yaml> {
    yaml("deploy/prometheus/rules.yml")["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default())
        .filter(|rule| rule.get("alert").is_some())
        .collect()
}

/// GitHub's heading anchor: lower case, punctuation other than `-` and `_` dropped, spaces to
/// hyphens.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn every_alert_has_severity_summary_description_and_a_runbook_section() {
    let readme = read("README.md");
    let (_, runbook) = readme
        .split_once("\n## Alerts and runbook\n")
        .expect("README.md has the section \"## Alerts and runbook\"");
    assert!(
        !runbook.contains("\n## "),
        "\"Alerts and runbook\" is the last section of README.md"
    );
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .map(github_anchor)
        .collect();
    let alerts = alerts();
    assert_eq!(
        alerts.len(),
        13,
        "the alerts of the brief, contacts waiting too long, series dropped, the intraday three (service level, abandonment, source down) and the agent event stream's stall"
    );
    let mut documented = BTreeSet::new();
    for alert in &alerts {
        let name = str_of(&alert["alert"], "alert");
        let severity = str_of(&alert["labels"]["severity"], "severity");
        assert!(
            ["warning", "critical"].contains(&severity),
            "{name}: severity {severity}"
        );
        for key in ["summary", "description"] {
            assert!(
                !str_of(&alert["annotations"][key], key).trim().is_empty(),
                "{name}: {key}"
            );
        }
        let url = str_of(&alert["annotations"]["runbook_url"], "runbook_url");
        let anchor = url
            .strip_prefix("README.md#")
            .unwrap_or_else(|| panic!("{name}: runbook_url {url} is not a README.md anchor"));
        assert!(
            anchors.contains(anchor),
            "{name}: no heading in \"Alerts and runbook\" has the anchor #{anchor}: {anchors:?}"
        );
        assert_eq!(
            anchor,
            github_anchor(name),
            "{name}: the section is named after it"
        );
        documented.insert(anchor.to_string());
    }
    assert_eq!(
        documented, anchors,
        "a runbook section for each alert, no other"
    );
}

#[test]
fn every_alert_has_unit_tests_where_it_fires_and_where_it_does_not() {
    let tests = yaml("deploy/prometheus/rules.test.yml");
    assert_eq!(
        tests["rule_files"][0].as_str(),
        Some("rules.yml"),
        "tests the shipped rules"
    );
    let mut fires: BTreeMap<String, usize> = BTreeMap::new();
    let mut quiet: BTreeMap<String, usize> = BTreeMap::new();
    for test in tests["tests"].as_sequence().expect("tests") {
        for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
            let name = str_of(&case["alertname"], "alertname").to_string();
            let expected = case["exp_alerts"].as_sequence().map_or(0, Vec::len);
            *if expected > 0 { &mut fires } else { &mut quiet }
                .entry(name)
                .or_default() += 1;
        }
    }
    for alert in alerts() {
        let name = str_of(&alert["alert"], "alert");
        assert!(fires.contains_key(name), "{name}: no test where it fires");
        assert!(
            quiet.contains_key(name),
            "{name}: no test where it stays quiet"
        );
    }
}

#[test]
fn dashboards_are_importable_with_a_prometheus_input_and_the_standard_variables() {
    let mut uids = BTreeSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("grafana"))
        .expect("grafana/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "contact-centre-overview.json",
            "exporter-health.json",
            "queue-set-detail.json"
        ]
    );
    for path in &files {
        let file = path.display().to_string();
        let d: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(d["schemaVersion"].as_u64().unwrap_or(0) >= 36, "{file}");
        assert!(
            d["id"].is_null(),
            "{file}: no database id in a shared dashboard"
        );
        assert!(uids.insert(d["uid"].as_str().expect("uid").to_string()));
        let inputs = d["__inputs"].as_array().expect("__inputs");
        assert!(
            inputs.iter().any(|i| i["name"] == "DS_PROMETHEUS"
                && i["type"] == "datasource"
                && i["pluginId"] == "prometheus"),
            "{file}: DS_PROMETHEUS input"
        );
        let variables = d["templating"]["list"].as_array().expect("templating");
        let variable = |name: &str| {
            variables
                .iter()
                .find(|v| v["name"] == name)
                .unwrap_or_else(|| panic!("{file}: variable {name}"))
        };
        // Provisioned (not imported) dashboards resolve ${DS_PROMETHEUS} through this variable.
        assert_eq!(variable("DS_PROMETHEUS")["type"], "datasource");
        assert_eq!(variable("DS_PROMETHEUS")["query"], "prometheus");
        for name in ["connect_instance", "queue_set"] {
            let v = variable(name);
            assert_eq!(v["type"], "query", "{file}: {name}");
            assert_eq!(v["multi"], true, "{file}: {name}");
            assert_eq!(v["includeAll"], true, "{file}: {name}");
            assert_eq!(v["allValue"], ".*", "{file}: {name}");
            assert!(
                v["definition"]
                    .as_str()
                    .unwrap()
                    .starts_with("label_values(amazon_connect_up"),
                "{file}: {name}"
            );
            assert_eq!(v["datasource"]["uid"], "${DS_PROMETHEUS}", "{file}: {name}");
        }
        let panels = d["panels"].as_array().expect("panels");
        let mut ids = BTreeSet::new();
        let mut cells: BTreeMap<(u64, u64), String> = BTreeMap::new();
        let mut queries = 0;
        for panel in panels {
            let title = panel["title"].as_str().expect("title").to_string();
            assert!(
                ids.insert(panel["id"].as_u64().expect("id")),
                "{file}: {title}: id"
            );
            let g = &panel["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(w > 0 && h > 0 && x + w <= 24, "{file}: {title}: gridPos");
            for cx in x..x + w {
                for cy in y..y + h {
                    if let Some(other) = cells.insert((cx, cy), title.clone()) {
                        panic!("{file}: {title} overlaps {other}");
                    }
                }
            }
            if panel["type"] == "text" {
                continue;
            }
            assert_eq!(
                panel["datasource"]["uid"], "${DS_PROMETHEUS}",
                "{file}: {title}"
            );
            let targets = panel["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{file}: {title}: no query");
            for t in targets {
                assert_eq!(
                    t["datasource"]["uid"], "${DS_PROMETHEUS}",
                    "{file}: {title}"
                );
                let expr = t["expr"].as_str().expect("expr");
                assert!(
                    expr.contains("$connect_instance") || expr.contains("$job"),
                    "{file}: {title}: the query follows the variables: {expr}"
                );
                queries += 1;
            }
        }
        assert!(queries >= 8, "{file}: {queries} queries");
    }
}

#[test]
fn grafana_provisioning_matches_the_compose_stack() {
    let datasources = yaml("grafana/provisioning/datasources/prometheus.yml");
    assert_eq!(datasources["apiVersion"].as_u64(), Some(1));
    let ds = &datasources["datasources"][0];
    assert_eq!(ds["type"].as_str(), Some("prometheus"));
    assert_eq!(ds["isDefault"].as_bool(), Some(true));
    let providers = yaml("grafana/provisioning/dashboards/amazon-connect.yml");
    assert_eq!(providers["apiVersion"].as_u64(), Some(1));
    let provider = &providers["providers"][0];
    assert_eq!(provider["type"].as_str(), Some("file"));
    let dashboards_path = str_of(&provider["options"]["path"], "path");

    let compose = yaml("deploy/docker-compose.yml");
    let grafana = &compose["services"]["grafana"];
    let mounts = volumes(grafana);
    assert_eq!(
        mounts.get("/etc/grafana/provisioning").map(String::as_str),
        Some("../grafana/provisioning")
    );
    for name in [
        "contact-centre-overview.json",
        "queue-set-detail.json",
        "exporter-health.json",
    ] {
        assert_eq!(
            mounts
                .get(&format!("{dashboards_path}/{name}"))
                .map(String::as_str),
            Some(format!("../grafana/{name}").as_str()),
            "{name} is mounted where the provider looks"
        );
    }
    let url = str_of(&ds["url"], "url");
    let variable = url.trim_start_matches('$').trim_matches(['{', '}']);
    let env_url = str_of(&grafana["environment"][variable], "PROMETHEUS_URL");
    assert_eq!(
        env_url, "http://prometheus:9090",
        "Grafana reaches the compose Prometheus"
    );
}

/// Bind mounts of a compose service as container path → host path (relative to deploy/).
fn volumes(service: &Yaml) -> BTreeMap<String, String> {
    service["volumes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let mut parts = str_of(v, "volume").split(':');
            let source = parts.next()?;
            let target = parts.next()?;
            source
                .starts_with('.')
                .then(|| (target.to_string(), source.to_string()))
        })
        .collect()
}

#[test]
fn compose_services_reference_files_that_exist_and_names_that_line_up() {
    let compose = yaml("deploy/docker-compose.yml");
    let services = compose["services"].as_mapping().expect("services");
    let names: BTreeSet<&str> = services.keys().map(|k| str_of(k, "service")).collect();
    assert_eq!(
        names,
        BTreeSet::from(["simulator", "exporter", "prometheus", "grafana"])
    );
    for (name, service) in services {
        for (target, source) in volumes(service) {
            assert!(
                repo("deploy").join(&source).exists(),
                "{name:?}: {source} (mounted at {target}) does not exist"
            );
        }
        if let Some(build) = service.get("build") {
            let dir = repo("deploy").join(str_of(&build["context"], "context"));
            assert!(dir
                .join(str_of(&build["dockerfile"], "dockerfile"))
                .exists());
        }
    }
    let service = |name: &str| &compose["services"][name];

    // The simulator listens where the exporter's configuration points.
    let simulate: Vec<&str> = service("simulator")["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .map(|a| str_of(a, "arg"))
        .collect();
    assert_eq!(
        simulate,
        [
            "simulate",
            "--listen-address",
            "0.0.0.0:8808",
            "--agent-events"
        ]
    );
    let exporter_config: Yaml = serde_yaml::from_str(&read("deploy/compose/connect-exporter.yaml"))
        .expect("compose exporter config");
    for instance in exporter_config["instances"].as_sequence().unwrap() {
        assert_eq!(
            instance["endpoint_url"].as_str(),
            Some("http://simulator:8808")
        );
    }

    // The exporter reads the mounted configuration and has dummy keys.
    let exporter = service("exporter");
    let command = str_of(&exporter["command"][0], "command");
    let config_path = command
        .strip_prefix("--config.file=")
        .expect("--config.file=PATH");
    assert_eq!(
        volumes(exporter).get(config_path).map(String::as_str),
        Some("./compose/connect-exporter.yaml")
    );
    for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(exporter["environment"][key].as_str().is_some(), "{key}");
    }
    assert_eq!(exporter["ports"][0].as_str(), Some("10061:10061"));

    // Prometheus scrapes the exporter service as the job the alerts expect, with the rules.
    let prometheus = service("prometheus");
    let mounts = volumes(prometheus);
    assert_eq!(
        mounts
            .get("/etc/prometheus/prometheus.yml")
            .map(String::as_str),
        Some("./compose/prometheus.yml")
    );
    assert_eq!(
        mounts.get("/etc/prometheus/rules.yml").map(String::as_str),
        Some("./prometheus/rules.yml")
    );
    let config = yaml("deploy/compose/prometheus.yml");
    assert_eq!(config["rule_files"][0].as_str(), Some("rules.yml"));
    let job = &config["scrape_configs"][0];
    assert_eq!(job["job_name"].as_str(), Some(JOB));
    assert_eq!(
        job["static_configs"][0]["targets"][0].as_str(),
        Some("exporter:10061")
    );
    assert!(read("deploy/prometheus/rules.yml").contains(&format!("up{{job=\"{JOB}\"}}")));
}

/// Starts `simulate` on a free loopback port and returns it with its endpoint URL.
fn start_simulator() -> (RunningBinary, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args([
            "simulate",
            "--listen-address",
            "127.0.0.1:0",
            "--agent-events",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("simulate starts");
    let stderr = child.stderr.take().unwrap();
    let running = RunningBinary(child);
    let (found, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line
                .split_whitespace()
                .find_map(|f| f.strip_prefix("endpoint_url="))
            {
                let _ = found.send(url.trim_matches('"').to_string());
            }
        }
    });
    let url = receive
        .recv_timeout(Duration::from_secs(30))
        .expect("the simulator logs its endpoint_url");
    (running, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_exporter_configuration_polls_the_standalone_simulator() {
    let (_simulator, endpoint) = start_simulator();
    let compose = yaml("deploy/docker-compose.yml");
    let environment = compose["services"]["exporter"]["environment"]
        .as_mapping()
        .expect("environment");
    let config = read("deploy/compose/connect-exporter.yaml");
    assert!(config.contains("http://simulator:8808"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, config.replace("http://simulator:8808", &endpoint)).unwrap();

    let mut command = Command::new(BIN);
    command
        .arg(format!("--config.file={}", path.display()))
        .args(["--web.listen-address", "127.0.0.1:0"])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in environment {
        command.env(str_of(key, "key"), str_of(value, "value"));
    }
    let mut child = command.spawn().expect("the exporter starts");
    let stderr = child.stderr.take().unwrap();
    let _exporter = RunningBinary(child);
    let (found, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(address) = line
                .split_whitespace()
                .find_map(|f| f.strip_prefix("address="))
                .and_then(|a| a.trim_matches('"').parse::<SocketAddr>().ok())
            {
                let _ = found.send(address);
            }
        }
    });
    let address = receive
        .recv_timeout(Duration::from_secs(30))
        .expect("'exporter started' with its address");
    let text = eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        let up = metric(&text, "amazon_connect_up");
        (up.len() == 3 && up.iter().all(|(_, v)| *v == 1.0)).then_some(text)
    })
    .await;
    for set in ["support", "sales", "everything"] {
        let agents: f64 = metric(&text, "amazon_connect_agents")
            .iter()
            .filter(|(labels, _)| labels["queue_set"] == set)
            .map(|(_, v)| v)
            .sum();
        assert!(agents > 0.0, "queue set {set} has agents in the simulator");
    }
    // The stream is read too: the event families' panels have data.
    eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        let up = metric(&text, "amazon_connect_agent_event_stream_up");
        (up.len() == 1 && up[0].1 == 1.0).then_some(())
    })
    .await;
}

const KUBERNETES_BASE: &str = "deploy/kubernetes/base";
const KUBERNETES_OVERLAYS: &str = "deploy/kubernetes/overlays";

/// The items of a kustomization's list of strings (`resources`, `configMapGenerator[].files`).
fn strings<'a>(list: &'a Yaml, what: &str) -> Vec<&'a str> {
    list.as_sequence()
        .unwrap_or_else(|| panic!("{what} is not a list: {list:?}"))
        .iter()
        .map(|item| str_of(item, what))
        .collect()
}

/// The one document of a kustomization's file.
fn document(dir: &str, file: &str) -> Yaml {
    let mut docs = yaml_docs(&format!("{dir}/{file}"));
    assert_eq!(docs.len(), 1, "{dir}/{file}: one document");
    docs.remove(0)
}

/// `kubectl apply -k` applies only what kustomization.yaml names: a file of the directory that
/// it does not name would be silently left out.
fn assert_every_file_is_named(dir: &str, named: &BTreeSet<&str>) {
    for entry in std::fs::read_dir(repo(dir)).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name == "kustomization.yaml" || named.contains(name.as_str()),
            "{dir}/{name} is not named by {dir}/kustomization.yaml"
        );
    }
}

fn assert_valid_configuration(path: &str) {
    let output = Command::new(BIN)
        .arg("check-config")
        .arg(repo(path))
        .output()
        .expect("check-config runs");
    assert!(
        output.status.success(),
        "check-config {path}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The base's one configMapGenerator entry: the ConfigMap's name and its one file (its key).
fn generated_config_map(kustomization: &Yaml, dir: &str) -> (String, String) {
    let generators = kustomization["configMapGenerator"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{dir}: a configMapGenerator"));
    assert_eq!(generators.len(), 1, "{dir}: one ConfigMap");
    let generator = &generators[0];
    let files = strings(&generator["files"], "files");
    assert_eq!(files.len(), 1, "{dir}: the ConfigMap holds one file");
    (
        str_of(&generator["name"], "name").to_string(),
        files[0].to_string(),
    )
}

#[test]
fn the_kubernetes_base_fits_together_and_its_configuration_is_valid() {
    let base = yaml(&format!("{KUBERNETES_BASE}/kustomization.yaml"));
    let resources = strings(&base["resources"], "resources");
    let mut by_kind: BTreeMap<String, Yaml> = BTreeMap::new();
    for file in &resources {
        let doc = document(KUBERNETES_BASE, file);
        let kind = str_of(&doc["kind"], "kind").to_string();
        assert!(by_kind.insert(kind, doc).is_none(), "{file}: a second one");
    }
    assert_eq!(
        by_kind.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "Deployment",
            "PrometheusRule",
            "Service",
            "ServiceAccount",
            "ServiceMonitor"
        ]
    );
    let (config_map, config_file) = generated_config_map(&base, KUBERNETES_BASE);
    let mut named: BTreeSet<&str> = resources.iter().copied().collect();
    named.insert(&config_file);
    assert_every_file_is_named(KUBERNETES_BASE, &named);
    assert_valid_configuration(&format!("{KUBERNETES_BASE}/{config_file}"));
    // The hash suffix is what rolls the pod out on a changed configuration (deploy/README.md).
    for options in [
        &base["generatorOptions"],
        &base["configMapGenerator"][0]["options"],
    ] {
        assert_ne!(
            options["disableNameSuffixHash"].as_bool(),
            Some(true),
            "the ConfigMap's name carries its hash"
        );
    }

    let deployment = &by_kind["Deployment"];
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let mount = &container["volumeMounts"][0];
    let volume = &pod["volumes"][0];
    assert_eq!(mount["name"], volume["name"]);
    assert_eq!(
        volume["configMap"]["name"].as_str(),
        Some(config_map.as_str())
    );
    let mount_path = str_of(&mount["mountPath"], "mountPath");
    assert!(container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|a| a.as_str() == Some(&format!("--config.file={mount_path}/{config_file}"))));
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/-/healthy")
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/-/ready")
    );
    assert_eq!(container["ports"][0]["containerPort"].as_u64(), Some(10061));
    assert_eq!(
        container["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let account = &by_kind["ServiceAccount"];
    assert_eq!(pod["serviceAccountName"], account["metadata"]["name"]);
    // The role is an account's: an overlay that forgot its own would get this one.
    assert!(
        account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
        "the base names no IAM role"
    );

    // The Service's name is the job name the alerts expect; the ServiceMonitor selects it.
    let service = &by_kind["Service"];
    assert_eq!(service["metadata"]["name"].as_str(), Some(JOB));
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
    let monitor = &by_kind["ServiceMonitor"];
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(&service["metadata"]["labels"][key], value);
    }
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
}

#[test]
fn the_prometheus_rule_holds_exactly_the_groups_of_rules_yml() {
    let file = format!("{KUBERNETES_BASE}/prometheusrule.yaml");
    let resource = document(KUBERNETES_BASE, "prometheusrule.yaml");
    assert_eq!(
        resource["apiVersion"].as_str(),
        Some("monitoring.coreos.com/v1")
    );
    assert_eq!(resource["kind"].as_str(), Some("PrometheusRule"));
    let spec = resource["spec"].as_mapping().expect("spec");
    assert_eq!(
        spec.keys().map(|k| str_of(k, "key")).collect::<Vec<_>>(),
        ["groups"],
        "{file}: the spec is the groups"
    );
    let regenerate = format!(
        "{file} differs from deploy/prometheus/rules.yml: replace everything below `spec:` with \
         the output of   sed -n '/^groups:/,$p' deploy/prometheus/rules.yml | sed 's/^./  &/'"
    );
    let ours = resource["spec"]["groups"].as_sequence().expect("groups");
    let theirs = yaml("deploy/prometheus/rules.yml")["groups"]
        .as_sequence()
        .expect("groups")
        .clone();
    // Rule by rule first, so that a failure shows the rule that differs rather than both files.
    for (our, their) in ours.iter().zip(&theirs) {
        let rules = |group: &Yaml| group["rules"].as_sequence().cloned().unwrap_or_default();
        for (index, (our_rule, their_rule)) in rules(our).iter().zip(&rules(their)).enumerate() {
            assert_eq!(
                our_rule, their_rule,
                "{regenerate}\n(group {:?}, rule {index})",
                their["name"]
            );
        }
    }
    assert!(ours == &theirs, "{regenerate}");
}

#[test]
fn every_kubernetes_overlay_gives_the_base_an_account_role_and_configuration() {
    let base = yaml(&format!("{KUBERNETES_BASE}/kustomization.yaml"));
    let (config_map, config_file) = generated_config_map(&base, KUBERNETES_BASE);
    let account_name = document(KUBERNETES_BASE, "serviceaccount.yaml")["metadata"]["name"].clone();
    let mut overlays: Vec<String> = std::fs::read_dir(repo(KUBERNETES_OVERLAYS))
        .expect("the overlays")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    overlays.sort();
    assert!(
        overlays.contains(&"example-account".to_string()),
        "{overlays:?}"
    );
    for overlay in overlays {
        let dir = format!("{KUBERNETES_OVERLAYS}/{overlay}");
        let kustomization = yaml(&format!("{dir}/kustomization.yaml"));
        let resources = strings(&kustomization["resources"], "resources");
        assert!(resources.contains(&"../../base"), "{dir}: the base");
        // Renamed resources would rename the Service, and with it the scrape job the alerts
        // match (job="amazon-connect-exporter"): a namespace per account keeps them apart.
        for key in ["namePrefix", "nameSuffix"] {
            assert!(kustomization[key].is_null(), "{dir}: {key}");
        }
        assert!(
            kustomization["namespace"]
                .as_str()
                .is_some_and(|n| !n.is_empty()),
            "{dir}: a namespace of its own"
        );

        // The IAM role (EKS IRSA) of the account, on the base's ServiceAccount.
        let patches: Vec<&str> = kustomization["patches"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{dir}: patches"))
            .iter()
            .map(|patch| str_of(&patch["path"], "path"))
            .collect();
        let role_patches: Vec<Yaml> = patches
            .iter()
            .map(|file| document(&dir, file))
            .filter(|patch| patch["kind"] == "ServiceAccount")
            .collect();
        assert_eq!(role_patches.len(), 1, "{dir}: a ServiceAccount patch");
        let patch = &role_patches[0];
        assert_eq!(patch["metadata"]["name"], account_name);
        let role = str_of(
            &patch["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "role ARN",
        );
        let account = role
            .strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.split_once(":role/"))
            .filter(|(account, name)| {
                account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && !name.is_empty()
            });
        assert!(account.is_some(), "{dir}: {role} is an IAM role ARN");

        // The account's configuration replaces the base's, under the name and key it mounts.
        let generator = &kustomization["configMapGenerator"][0];
        assert_eq!(
            generator["name"].as_str(),
            Some(config_map.as_str()),
            "{dir}"
        );
        assert_eq!(generator["behavior"].as_str(), Some("replace"), "{dir}");
        assert_eq!(
            strings(&generator["files"], "files"),
            [config_file.as_str()],
            "{dir}"
        );
        assert_valid_configuration(&format!("{dir}/{config_file}"));

        let mut named: BTreeSet<&str> = resources.iter().copied().collect();
        named.extend(patches.iter().copied());
        named.insert(&config_file);
        assert_every_file_is_named(&dir, &named);
    }
}

/// The Dockerfile's HEALTHCHECK command, with its port replaced.
fn healthcheck(port: u16) -> Vec<String> {
    let dockerfile = read("deploy/Dockerfile").replace("\\\n", " ");
    let line = dockerfile
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK "))
        .expect("a HEALTHCHECK");
    let json = &line[line.find("CMD [").expect("exec form") + 4..];
    let args: Vec<String> = serde_json::from_str(json).expect("a JSON array");
    assert!(json.contains("10061") && json.contains("/-/healthy"));
    args.into_iter()
        .map(|a| a.replace("10061", &port.to_string()))
        .collect()
}

#[test]
fn the_dockerfile_health_check_tells_a_live_exporter_from_a_dead_one() {
    let (running, address) = spawn_exporter(&["--demo"], &[]);
    let run = |port: u16| {
        let args = healthcheck(port);
        Command::new(&args[0])
            .args(&args[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the health check runs")
            .success()
    };
    assert!(run(address.port()), "healthy while the exporter serves");
    drop(running);
    assert!(!run(address.port()), "unhealthy once it is gone");
}

#[test]
fn panels_the_runbook_names_exist() {
    let readme = read("README.md");
    let (_, runbook) = readme
        .split_once("\n## Alerts and runbook\n")
        .expect("the runbook section");
    let runbook = runbook.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut titles = BTreeSet::new();
    for name in [
        "contact-centre-overview.json",
        "queue-set-detail.json",
        "exporter-health.json",
    ] {
        let d: Json = serde_json::from_str(&read(&format!("grafana/{name}"))).unwrap();
        for panel in d["panels"].as_array().unwrap() {
            titles.insert(panel["title"].as_str().unwrap().to_string());
        }
    }
    // Every "quoted" phrase of the runbook is a panel title.
    let quoted: Vec<&str> = runbook.split('"').skip(1).step_by(2).collect();
    assert!(quoted.len() >= 8, "{quoted:?}");
    for phrase in quoted {
        assert!(titles.contains(phrase), "no panel is titled {phrase:?}");
    }
}

/// Actions the policy allows that the demo does not reach: ListRoutingProfiles names the
/// routing profiles where the queues they serve are not needed (no sweep) or the search is
/// refused; ListRoutingProfileQueues lists a profile's queues where the search gives them
/// without, or is refused (connect/directory.rs tests both); DescribeStreamSummary is asked
/// only by `check-config --online` (tests/online_check.rs).
const NOT_IN_THE_DEMO: [&str; 3] = [
    "connect:ListRoutingProfiles",
    "connect:ListRoutingProfileQueues",
    "kinesis:DescribeStreamSummary",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iam_policy_allows_exactly_the_actions_the_exporter_calls() {
    let policy: Json = serde_json::from_str(&read("deploy/iam/connect-exporter-policy.json"))
        .expect("the policy is JSON");
    let allowed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|statement| statement["Action"].as_array().expect("actions").clone())
        .map(|action| action.as_str().expect("an action").to_string())
        .collect();
    // The demo's exporter, once its routing directory is read, a round swept, the intraday
    // KPIs read and its agent event stream read, has made every kind of call it ever makes.
    let (_running, address) = spawn_exporter(&["--demo"], &[]);
    let called = eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        let connect = metric(&text, "amazon_connect_exporter_api_requests_total")
            .into_iter()
            .map(|(labels, _)| format!("connect:{}", labels["operation"]));
        let kinesis = metric(&text, "amazon_connect_exporter_stream_requests_total")
            .into_iter()
            .map(|(labels, _)| format!("kinesis:{}", labels["operation"]));
        let called: BTreeSet<String> = connect.chain(kinesis).collect();
        (called.len() + NOT_IN_THE_DEMO.len() >= allowed.len()).then_some(called)
    })
    .await;
    let not_in_the_demo: BTreeSet<String> = NOT_IN_THE_DEMO.iter().map(|a| a.to_string()).collect();
    assert!(not_in_the_demo.is_subset(&allowed));
    assert_eq!(called, &allowed - &not_in_the_demo);
}
