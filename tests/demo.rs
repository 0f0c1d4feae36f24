//! The real binary in `--demo` mode: serves every core metric with changing values within
//! seconds, passes `promtool check metrics`, and exits 0 on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{eventually, http_get, metric, promtool_check_metrics, samples};

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

/// Kills the child if the test fails before it is stopped properly.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_demo() -> (Running, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amazon-connect-exporter"))
        .args(["--demo", "--web.listen-address", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (found, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("exporter started") {
                let address = line
                    .split_whitespace()
                    .find_map(|field| field.strip_prefix("address="))
                    .and_then(|a| a.trim_matches('"').parse::<SocketAddr>().ok());
                let _ = found.send(address);
            }
        }
    });
    let address = receive
        .recv_timeout(Duration::from_secs(30))
        .expect("'exporter started' logged within 30 s")
        .expect("the log line names the address");
    (Running(child), address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_every_core_metric_with_changing_values_and_stops_on_sigterm() {
    let (mut running, address) = start_demo();

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

    // The shell's kill builtin: no procps package needed.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", running.0.id())])
        .status()
        .expect("sh runs");
    assert!(status.success());
    let exit = eventually(Duration::from_secs(10), async || {
        running.0.try_wait().ok().flatten()
    })
    .await;
    assert_eq!(exit.code(), Some(0), "SIGTERM ends the demo cleanly");
}
