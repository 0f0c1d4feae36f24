//! Soak benchmark: the exporter (in this process) polls a churning simulator (a child process:
//! agents changing status, contacts coming and going, 5 % of offers missed, some requests
//! throttled or failing) for a bounded time while a scraper reads `/metrics`; the exporter's
//! resident memory is sampled throughout and the figures are written to BENCHMARKS.md. The
//! verdict compares the last two quarters, after the warm-up in which the missed-contact memory
//! (five minutes) fills. Loopback only; stops by itself.
//!
//! Run: `cargo bench --bench soak` (SOAK_MINUTES, default 12, from 1 to 60).

mod common;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amazon_connect_exporter::app::{Exporter, Settings};
use amazon_connect_exporter::web::WebConfig;
use connect_simulator::SimulatorOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Resident set size of this process in KiB, from /proc.
fn rss_kib() -> u64 {
    common::status_kib("self", "VmRSS").unwrap_or(0)
}

async fn scrape(address: std::net::SocketAddr) -> usize {
    let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
        return 0;
    };
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut body = Vec::new();
    let _ = stream.read_to_end(&mut body).await;
    body.len()
}

fn main() {
    let minutes: u64 = std::env::var("SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(12)
        .clamp(1, 60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(soak(Duration::from_secs(minutes * 60)));
}

async fn soak(length: Duration) {
    let agents = 2_000;
    let options = SimulatorOptions {
        agents,
        queues: 150,
        routing_profiles: 40,
        seed: 5,
        ..SimulatorOptions::default()
    };
    // The same scenario in this process, only to read queue and instance IDs.
    let scenario = connect_simulator::Simulator::new(options.clone())
        .expect("scenario")
        .scenario();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amazon-connect-exporter"))
        .args(["simulate", "--listen-address", &format!("127.0.0.1:{port}")])
        .args([
            "--agents",
            "2000",
            "--queues",
            "150",
            "--routing-profiles",
            "40",
            "--seed",
            "5",
        ])
        .args([
            "--fault.throttle-rate",
            "0.05",
            "--fault.server-error-rate",
            "0.02",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("simulator process");
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let yaml = format!(
        "api_rate_limits:\n  GetCurrentUserData: {{ rate: 100, burst: 50 }}\ninstances:\n  - name: soak\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {endpoint}\n    poll_interval: 2s\n    queue_sets:\n      - {{ name: all, queues: [{}] }}\n      - {{ name: half, queues: [{}] }}\n      - {{ name: few, queues: [{}] }}\n",
        scenario.instance_id,
        queues.join(", "),
        queues[..75].join(", "),
        queues[..5].join(", "),
    );
    let exporter = Exporter::start(Settings {
        config_loader: Arc::new(move || {
            amazon_connect_exporter::config::parse(&yaml, std::path::Path::new("soak.yaml"))
        }),
        listen_address: "127.0.0.1:0".into(),
        telemetry_path: "/metrics".into(),
        credentials: Some(aws_sdk_connect::config::Credentials::new(
            "AKID", "secret", None, None, "soak",
        )),
        max_connections: 64,
        web: WebConfig::default(),
        clock: Default::default(),
        enable_lifecycle: false,
    })
    .await
    .expect("exporter");
    let address = exporter.address();

    let started = Instant::now();
    let mut samples: Vec<(u64, u64, usize)> = Vec::new();
    let mut scrapes = 0u64;
    while started.elapsed() < length {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            scrape(address).await;
            scrapes += 1;
        }
        let size = scrape(address).await;
        samples.push((started.elapsed().as_secs(), rss_kib(), size));
    }
    let requests = exporter.exposition().encoded().len();
    exporter.stop().await;
    let _ = child.kill();
    let _ = child.wait();

    // Compare the third quarter with the fourth: the first half holds the warm-up.
    let quarter = (samples.len() / 4).max(1);
    let mean = |slice: &[(u64, u64, usize)]| {
        slice.iter().map(|s| s.1 as f64).sum::<f64>() / slice.len().max(1) as f64
    };
    let end = samples.len();
    let middle = mean(&samples[end.saturating_sub(2 * quarter)..end.saturating_sub(quarter)]);
    let last = mean(&samples[end.saturating_sub(quarter)..]);
    let growth = if middle > 0.0 {
        (last - middle) / middle * 100.0
    } else {
        0.0
    };
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);

    let mut report = String::new();
    let _ = writeln!(report, "## Soak: memory over time\n");
    let _ = writeln!(report, "- Date: {}", common::date());
    let _ = writeln!(report, "- Machine: {}", common::machine());
    let _ = writeln!(
        report,
        "- Command: `SOAK_MINUTES={} cargo bench --bench soak`",
        length.as_secs() / 60
    );
    let _ = writeln!(
        report,
        "- Load: simulator process with {agents} agents churning (1 s ticks), 150 queues, 5 % throttled and 2 % 5xx requests; 3 queue sets polled every 2 s; one scrape per second ({scrapes} scrapes; last exposition {requests} bytes)."
    );
    let _ = writeln!(report, "- Exporter resident memory: peak {} MiB; mean of the third quarter {:.1} MiB, of the fourth {:.1} MiB: growth {growth:+.1} % (the first half is warm-up: the missed-contact memory fills for five minutes)\n", peak / 1024, middle / 1024.0, last / 1024.0);
    let _ = writeln!(
        report,
        "| seconds | RSS MiB | /metrics bytes |\n|---|---|---|"
    );
    for (seconds, rss, size) in &samples {
        let _ = writeln!(
            report,
            "| {seconds} | {:.1} | {size} |",
            *rss as f64 / 1024.0
        );
    }
    common::write_section("## Soak: memory over time", &report);
}
