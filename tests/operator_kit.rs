//! The operator's kit (grafana/, deploy/) is consistent with itself, with the README and with
//! the exporter: every alert is documented and unit-tested both ways, the dashboards are
//! importable, the compose stack's files and names line up and its exporter configuration
//! polls the standalone simulator, the Kubernetes ConfigMap is a valid configuration, and the
//! Dockerfile's health check tells a live exporter from a dead one.
//!
//! The formats' own tools check the rest: promtool and Prometheus (tests/e2e_prometheus.rs),
//! hadolint, kubernetes-validate, the ServiceMonitor CRD schema, the compose-spec schema and
//! systemd-analyze (.ci/lint-deploy).

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
        12,
        "the alerts of the brief, contacts waiting too long, series dropped, and the intraday three (service level, abandonment, source down)"
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
    assert_eq!(simulate, ["simulate", "--listen-address", "0.0.0.0:8808"]);
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
        .args(["simulate", "--listen-address", "127.0.0.1:0"])
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
}

#[test]
fn the_kubernetes_manifests_fit_together_and_the_config_map_is_a_valid_configuration() {
    let config_map = &yaml_docs("deploy/kubernetes/configmap.yaml")[0];
    let config = str_of(&config_map["data"]["config.yaml"], "config.yaml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, config).unwrap();
    let output = Command::new(BIN)
        .arg("check-config")
        .arg(&path)
        .output()
        .expect("check-config runs");
    assert!(
        output.status.success(),
        "the ConfigMap's config.yaml: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let deployment = &yaml_docs("deploy/kubernetes/deployment.yaml")[0];
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let mount = str_of(&container["volumeMounts"][0]["mountPath"], "mountPath");
    assert_eq!(
        pod["volumes"][0]["configMap"]["name"],
        config_map["metadata"]["name"]
    );
    assert!(container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|a| a.as_str() == Some(&format!("--config.file={mount}/config.yaml"))));
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
    assert_eq!(
        pod["serviceAccountName"],
        yaml_docs("deploy/kubernetes/serviceaccount.yaml")[0]["metadata"]["name"]
    );
    assert!(
        yaml_docs("deploy/kubernetes/serviceaccount.yaml")[0]["metadata"]["annotations"]
            ["eks.amazonaws.com/role-arn"]
            .as_str()
            .is_some_and(|arn| arn.starts_with("arn:aws:iam::"))
    );

    // The Service's name is the job name the alerts expect; the ServiceMonitor selects it.
    let service = &yaml_docs("deploy/kubernetes/service.yaml")[0];
    assert_eq!(service["metadata"]["name"].as_str(), Some(JOB));
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
    let monitor = &yaml_docs("deploy/kubernetes/servicemonitor.yaml")[0];
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
/// without, or is refused (connect/directory.rs tests both).
const NOT_IN_THE_DEMO: [&str; 2] = [
    "connect:ListRoutingProfiles",
    "connect:ListRoutingProfileQueues",
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
    // The demo's exporter, once its routing directory is read, a round swept and the intraday
    // KPIs read, has made every kind of call it ever makes.
    let (_running, address) = spawn_exporter(&["--demo"], &[]);
    let called = eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        let called: BTreeSet<String> = metric(&text, "amazon_connect_exporter_api_requests_total")
            .into_iter()
            .map(|(labels, _)| format!("connect:{}", labels["operation"]))
            .collect();
        (called.len() + NOT_IN_THE_DEMO.len() >= allowed.len()).then_some(called)
    })
    .await;
    let not_in_the_demo: BTreeSet<String> = NOT_IN_THE_DEMO.iter().map(|a| a.to_string()).collect();
    assert!(not_in_the_demo.is_subset(&allowed));
    assert_eq!(called, &allowed - &not_in_the_demo);
}
