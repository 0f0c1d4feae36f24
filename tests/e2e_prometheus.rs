//! The operator's kit end to end: the real binary in `--demo` mode scraped every second by a real
//! Prometheus server that loads the shipped `deploy/prometheus/rules.yml`. Asserts through
//! Prometheus' HTTP API that every rule evaluates without error, that every panel query and
//! template variable of every dashboard in `grafana/` returns data, that a missed-contact alert
//! fires, and that the exporter-health alerts stay quiet; also runs `promtool check rules`,
//! `promtool test rules` and `promtool check metrics` on the live exposition.
//!
//! Needs `prometheus` and `promtool` on PATH (Debian's `prometheus` package, installed by
//! `.ci/test`): without them the test fails and says how to install them.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{http_get, promtool_check_metrics, require_tool, spawn_exporter, RunningBinary};
use serde_json::Value;

const JOB: &str = "amazon-connect-exporter";
/// The whole test, Prometheus start to firing alert, stays within this.
const TEST_LIMIT: Duration = Duration::from_secs(170);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("promtool runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{report}"
    );
    assert!(report.contains("SUCCESS"), "promtool {args:?}:\n{report}");
}

fn free_loopback_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `path` from Prometheus' API and return `data`, asserting `status` is `success`.
async fn api(prometheus: SocketAddr, path: &str) -> Value {
    let response = http_get(prometheus, path).await;
    let body: Value = serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", response.body));
    assert_eq!(
        body["status"], "success",
        "{path}: HTTP {} {body}",
        response.status
    );
    body["data"].clone()
}

/// The series an instant query returns now.
async fn query(prometheus: SocketAddr, expr: &str) -> Vec<Value> {
    let data = api(
        prometheus,
        &format!("/api/v1/query?query={}", percent_encode(expr)),
    )
    .await;
    match data["resultType"].as_str() {
        Some("vector") | Some("matrix") => data["result"].as_array().cloned().unwrap_or_default(),
        Some("scalar") => vec![data["result"].clone()],
        other => panic!("{expr}: unexpected result type {other:?}"),
    }
}

/// Every query of a dashboard: (dashboard file, panel title, expression), template variables
/// (name, label_values query) and the names of all its variables.
struct Dashboard {
    file: String,
    exprs: Vec<(String, String)>,
    variable_queries: Vec<(String, String)>,
}

fn collect_panels(panels: &Value, exprs: &mut Vec<(String, String)>) {
    for panel in panels.as_array().into_iter().flatten() {
        let title = panel["title"].as_str().unwrap_or("").to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                exprs.push((title.clone(), expr.to_string()));
            }
        }
        collect_panels(&panel["panels"], exprs);
    }
}

fn dashboards() -> Vec<Dashboard> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("grafana"))
        .expect("grafana/ exists")
        .map(|entry| entry.expect("readable").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "three dashboards in grafana/: {files:?}");
    files
        .into_iter()
        .map(|path| {
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut exprs = Vec::new();
            collect_panels(&json["panels"], &mut exprs);
            let variable_queries = json["templating"]["list"]
                .as_array()
                .expect("templating.list")
                .iter()
                .filter(|v| v["type"] == "query")
                .map(|v| {
                    (
                        v["name"].as_str().expect("name").to_string(),
                        v["definition"].as_str().expect("definition").to_string(),
                    )
                })
                .collect();
            Dashboard {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                exprs,
                variable_queries,
            }
        })
        .collect()
}

/// Replaces Grafana's variables as the brief for this test says: the dashboard's own variables
/// by `value_of(name)`, `$__rate_interval` by 1m, `$__interval` by 15s, `$__range` by 5m.
fn substitute(expr: &str, variables: &[String], value_of: &dyn Fn(&str) -> String) -> String {
    let mut names: Vec<(String, String)> = variables
        .iter()
        .map(|name| (name.clone(), value_of(name)))
        .chain(
            [
                ("__rate_interval", "1m"),
                ("__interval", "15s"),
                ("__range", "5m"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string())),
        )
        .collect();
    // Longest first, so `$queue_set` is not read as `$queue` followed by `_set`.
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut out = expr.to_string();
    for (name, value) in &names {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    assert!(
        !out.contains('$'),
        "an unknown variable is left in {expr:?}: {out:?}"
    );
    out
}

/// Runs `check` every 500 ms until it returns `Some`, failing with `what` at `deadline`.
async fn until<T>(deadline: Instant, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_evaluates_the_shipped_rules_and_dashboards_against_the_demo() {
    const TEST: &str = "e2e_prometheus";
    require_tool("promtool", TEST);
    require_tool("prometheus", TEST);
    let started = Instant::now();
    let deadline = started + TEST_LIMIT;

    promtool(&["check", "rules", "deploy/prometheus/rules.yml"]);
    promtool(&["test", "rules", "deploy/prometheus/rules.test.yml"]);

    let (_exporter, exporter) = spawn_exporter(&["--demo"], &[]);

    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}\n\
             scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['{exporter}']\n",
            rules = repo("deploy/prometheus/rules.yml").display(),
        ),
    )
    .expect("write the Prometheus config");
    let port = free_loopback_port();
    let prometheus: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
    let _prometheus = RunningBinary(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts"),
    );
    let prometheus_log = dir.path().join("prometheus.log");
    let show_log = || std::fs::read_to_string(&prometheus_log).unwrap_or_default();

    // Ready, and scraping the exporter.
    until(deadline, "Prometheus to be ready", async || {
        let ready = tokio::time::timeout(Duration::from_secs(2), async {
            tokio::net::TcpStream::connect(prometheus).await.ok()?;
            Some(http_get(prometheus, "/-/ready").await.status == 200)
        })
        .await;
        matches!(ready, Ok(Some(true))).then_some(())
    })
    .await;
    until(deadline, "the exporter target to be up", async || {
        let up = query(prometheus, &format!("up{{job=\"{JOB}\"}} == 1")).await;
        (!up.is_empty()).then_some(())
    })
    .await;
    eprintln!("prometheus scraping after {:?}", started.elapsed());

    // The live exposition passes promtool.
    promtool_check_metrics(&http_get(exporter, "/metrics").await.body);

    // Every rule evaluates without error.
    until(deadline, "every rule to be evaluated", async || {
        let data = api(prometheus, "/api/v1/rules").await;
        let rules: Vec<Value> = data["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        assert!(rules.len() >= 16, "the shipped rules are loaded: {data}");
        for rule in &rules {
            assert!(
                rule["health"] != "err",
                "rule {} fails: {}\n{}",
                rule["name"],
                rule["lastError"],
                show_log()
            );
        }
        rules
            .iter()
            .all(|rule| rule["health"] == "ok")
            .then_some(())
    })
    .await;

    // Every template variable finds values and every panel query returns at least one series,
    // with every variable at All (`.*`) and with connect_instance at `demo`.
    // Rates and the 5m recording rules need a few scrapes; a query that finds nothing within a
    // minute is wrong.
    let panels_deadline = deadline.min(Instant::now() + Duration::from_secs(60));
    let dashboards = dashboards();
    let mut checked = 0;
    for dashboard in &dashboards {
        let names: Vec<String> = dashboard
            .variable_queries
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        for (name, definition) in &dashboard.variable_queries {
            let inner = definition
                .strip_prefix("label_values(")
                .and_then(|rest| rest.strip_suffix(')'))
                .unwrap_or_else(|| panic!("{}: variable {name}: {definition}", dashboard.file));
            let (selector, label) = inner
                .rsplit_once(',')
                .expect("label_values(selector, label)");
            let selector = substitute(selector.trim(), &names, &|_| ".*".into());
            let path = format!(
                "/api/v1/label/{}/values?match[]={}",
                label.trim(),
                percent_encode(&selector)
            );
            let values = until(panels_deadline, &format!("values of ${name}"), async || {
                let data = api(prometheus, &path).await;
                let values: BTreeSet<String> = data
                    .as_array()
                    .expect("values")
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                (!values.is_empty()).then_some(values)
            })
            .await;
            if name == "connect_instance" {
                assert!(values.contains("demo"), "{values:?}");
            }
            if name == "queue_set" {
                let want: BTreeSet<String> = ["everything", "north", "sales", "support"]
                    .map(String::from)
                    .into();
                assert_eq!(values, want);
            }
        }
        for (title, expr) in &dashboard.exprs {
            for instance in [".*", "demo"] {
                let value_of = |name: &str| {
                    if name == "connect_instance" {
                        instance.to_string()
                    } else {
                        ".*".to_string()
                    }
                };
                let promql = substitute(expr, &names, &value_of);
                let what = format!("{} / {title}: {promql}", dashboard.file);
                until(panels_deadline, &what, async || {
                    (!query(prometheus, &promql).await.is_empty()).then_some(())
                })
                .await;
                checked += 1;
            }
        }
    }
    assert!(checked >= 2 * 20, "only {checked} panel queries checked");
    eprintln!(
        "{checked} panel queries of {} dashboards return data after {:?}",
        dashboards.len(),
        started.elapsed()
    );

    // A missed-contact alert fires: the demo's agents miss about 5 % of the contacts offered.
    let firing = until(
        deadline,
        "AmazonConnectMissedContacts to fire",
        async || {
            let data = api(prometheus, "/api/v1/alerts").await;
            let alerts = data["alerts"].as_array().cloned().unwrap_or_default();
            let firing: Vec<(String, String)> = alerts
                .iter()
                .filter(|a| a["state"] == "firing")
                .map(|a| {
                    (
                        a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                        a["labels"]["queue_set"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            firing
                .iter()
                .any(|(name, _)| name == "AmazonConnectMissedContacts")
                .then_some((firing, alerts))
        },
    )
    .await;
    let (firing, alerts) = firing;
    eprintln!(
        "firing after {:?}: {firing:?}; all alerts: {}",
        started.elapsed(),
        alerts
            .iter()
            .map(|a| format!("{}={}", a["labels"]["alertname"], a["state"]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let fired = alerts
        .iter()
        .find(|a| {
            a["labels"]["alertname"] == "AmazonConnectMissedContacts" && a["state"] == "firing"
        })
        .expect("a firing missed-contacts alert");
    assert_eq!(fired["labels"]["connect_instance"], "demo");
    assert_eq!(fired["labels"]["severity"], "warning");
    assert_eq!(
        fired["annotations"]["runbook_url"],
        "README.md#amazonconnectmissedcontacts"
    );
    // The demo is healthy: none of the exporter-health alerts is even pending.
    for alert in &alerts {
        let name = alert["labels"]["alertname"].as_str().unwrap_or("");
        assert!(
            ![
                "AmazonConnectPollFailing",
                "AmazonConnectExporterDown",
                "AmazonConnectDataStale",
                "AmazonConnectAPIThrottled",
                "AmazonConnectAgentEventStreamStalled"
            ]
            .contains(&name),
            "a healthy demo raised {alert}"
        );
    }
    eprintln!("e2e_prometheus took {:?}", started.elapsed());
}
