//! Scale benchmark: the exporter binary polls the simulator binary (both child processes, on
//! 127.0.0.1, frozen data) at 1,000, 10,000 and 50,000 agents with three overlapping queue
//! sets, and records per size: GetCurrentUserData requests per round against the minimum,
//! round duration, CPU time per round, peak resident memory, `/metrics` size plain and gzip,
//! scrape latency with 1 and 32 concurrent scrapers, and the latency of 32 scrapers of
//! `/metrics` and of `/` that keep scraping while rounds are published. Writes the figures to
//! BENCHMARKS.md. Bounded: each size stops after a few rounds or its time limit.
//!
//! Run: `cargo bench --bench scale` (`SCALE_SIZES=1000,10000` to choose sizes,
//! `SCALE_LOG_DIR=DIR` to keep the exporter's log and `/metrics`, `SCALE_EXPORTER_BIN=PATH` to
//! measure another build of the exporter, e.g. an older commit's, against the same simulator).

mod common;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use connect_simulator::{Simulator, SimulatorOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_amazon-connect-exporter");
/// Rounds measured per size, after the first swept round.
const ROUNDS: usize = 5;
/// Scrapes per scraper in the latency runs.
const SCRAPES_ONE: usize = 200;
const SCRAPES_EACH_OF_32: usize = 100;

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("scale benchmark: {message}");
    std::process::exit(1);
}

async fn wait_for_port(port: u16, limit: Duration) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if started.elapsed() > limit {
            fail(format!("nothing listens on port {port} after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where a child's log goes: `$SCALE_LOG_DIR/NAME-AGENTS.log` when that is set (to look into
/// a surprising figure), nowhere otherwise.
fn log_file(name: &str, agents: usize) -> Stdio {
    let Some(directory) = std::env::var_os("SCALE_LOG_DIR") else {
        return Stdio::null();
    };
    let path = std::path::Path::new(&directory).join(format!("{name}-{agents}.log"));
    std::fs::File::create(&path)
        .map(Stdio::from)
        .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())))
}

/// One HTTP/1.1 GET on a kept-alive connection; returns the body.
async fn get(
    stream: &mut BufReader<TcpStream>,
    path: &str,
    gzip: bool,
) -> std::io::Result<Vec<u8>> {
    stream
        .get_mut()
        .write_all(common::get_request(path, gzip).as_bytes())
        .await?;
    let mut length = None;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        length = common::content_length(line).or(length);
    }
    let length = length.ok_or_else(|| std::io::Error::other("no Content-Length"))?;
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

async fn connect(address: SocketAddr) -> BufReader<TcpStream> {
    BufReader::new(
        TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| fail(format!("connect to the exporter: {e}"))),
    )
}

/// One scrape as Prometheus makes it (gzip), decompressed.
async fn metrics(address: SocketAddr) -> String {
    let mut stream = connect(address).await;
    let body = get(&mut stream, "/metrics", true)
        .await
        .unwrap_or_else(|e| fail(format!("scrape: {e}")));
    common::gunzip_text(&body).unwrap_or_else(|e| fail(format!("scrape: not gzip text: {e}")))
}

/// p50 and p99 of `latencies`, in milliseconds.
fn percentiles(mut latencies: Vec<Duration>) -> (f64, f64) {
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

/// The exporter binary measured: `SCALE_EXPORTER_BIN`, else this build's.
fn exporter_bin() -> std::path::PathBuf {
    std::env::var_os("SCALE_EXPORTER_BIN").map_or_else(|| BIN.into(), Into::into)
}

/// Rounds of the set `all` published so far.
fn rounds_of(text: &str) -> f64 {
    common::sample(
        text,
        "amazon_connect_exporter_poll_duration_seconds_count",
        &["queue_set=\"all\""],
    )
    .unwrap_or(0.0)
}

/// Latencies of `scrapers` clients that each scrape `path` back to back on a kept-alive
/// connection until `publishes` more rounds have been published (so that every publish's
/// encode and compression overlaps the scrapes), and how many rounds that was.
async fn scrapes_during_publishes(
    address: SocketAddr,
    path: &'static str,
    scrapers: usize,
    publishes: f64,
) -> (Vec<Duration>, f64) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gzip = path != "/";
    let tasks: Vec<_> = (0..scrapers)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            tokio::spawn(async move {
                let mut stream = connect(address).await;
                if let Err(e) = get(&mut stream, path, gzip).await {
                    fail(format!("scrape of {path}: {e}"));
                }
                let mut latencies = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = Instant::now();
                    if let Err(e) = get(&mut stream, path, gzip).await {
                        fail(format!("scrape of {path}: {e}"));
                    }
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let before = rounds_of(&metrics(address).await);
    let started = Instant::now();
    let mut published = 0.0;
    while published < publishes {
        tokio::time::sleep(Duration::from_millis(250)).await;
        published = rounds_of(&metrics(address).await) - before;
        if started.elapsed() > Duration::from_secs(180) {
            fail(format!(
                "{publishes} rounds were not published within 180 s"
            ));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap_or_else(|e| fail(e)));
    }
    (all, published)
}

/// p50, p99 and the longest of `latencies`, in milliseconds, and their count.
fn spread(latencies: Vec<Duration>) -> (f64, f64, f64, usize) {
    let count = latencies.len();
    let longest = latencies
        .iter()
        .max()
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let (p50, p99) = percentiles(latencies);
    (p50, p99, longest, count)
}

async fn scrape_latencies(address: SocketAddr, scrapers: usize, each: usize) -> Vec<Duration> {
    let tasks: Vec<_> = (0..scrapers)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = connect(address).await;
                // One scrape each to warm the connection, not timed: otherwise the first
                // requests of all scrapers arrive in the same instant, a lock-step no set of
                // Prometheus servers keeps up.
                if let Err(e) = get(&mut stream, "/metrics", true).await {
                    fail(format!("scrape: {e}"));
                }
                let mut latencies = Vec::with_capacity(each);
                for _ in 0..each {
                    let started = Instant::now();
                    if let Err(e) = get(&mut stream, "/metrics", true).await {
                        fail(format!("scrape: {e}"));
                    }
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap_or_else(|e| fail(e)));
    }
    all
}

struct Figures {
    agents: usize,
    queues: usize,
    profiles: usize,
    minimum: usize,
    planned: f64,
    made_per_round: f64,
    round_seconds: f64,
    cpu_per_round: f64,
    peak_rss_mib: f64,
    plain_bytes: usize,
    gzip_bytes: usize,
    one: (f64, f64),
    thirty_two: (f64, f64),
    /// 32 scrapers of `/metrics`, then of `/`, while rounds are published: p50, p99, longest
    /// (ms), scrapes, and the rounds published meanwhile.
    metrics_during_publishes: ((f64, f64, f64, usize), f64),
    landing_during_publishes: ((f64, f64, f64, usize), f64),
}

async fn measure(agents: usize) -> Figures {
    let queues = (agents / 50).max(12);
    let profiles = (agents / 100).max(10);
    let options = SimulatorOptions {
        agents,
        queues,
        routing_profiles: profiles,
        seed: 3,
        frozen: true,
        ..SimulatorOptions::default()
    };
    let scenario = Simulator::new(options)
        .unwrap_or_else(|e| fail(format!("scenario: {e}")))
        .scenario();
    let queue_ids: Vec<String> = scenario
        .queues
        .iter()
        .filter(|q| q.queue_type == "STANDARD")
        .map(|q| q.id.clone())
        .collect();
    let configured: std::collections::BTreeSet<&str> =
        queue_ids.iter().map(String::as_str).collect();
    let relevant_profiles: std::collections::BTreeSet<&str> = scenario
        .routing_profiles
        .iter()
        .filter(|p| {
            p.queues
                .iter()
                .any(|q| configured.contains(q.queue_id.as_str()))
        })
        .map(|p| p.id.as_str())
        .collect();
    let relevant_agents = scenario
        .agents
        .iter()
        .filter(|a| relevant_profiles.contains(a.routing_profile_id.as_str()))
        .count();
    let minimum = relevant_agents.div_ceil(100);

    let simulator_port = common::free_port().unwrap_or_else(|e| fail(format!("no free port: {e}")));
    let _simulator = common::Running(
        Command::new(BIN)
            .args([
                "simulate",
                "--listen-address",
                &format!("127.0.0.1:{simulator_port}"),
            ])
            .args(["--agents", &agents.to_string()])
            .args(["--queues", &queues.to_string()])
            .args(["--routing-profiles", &profiles.to_string()])
            .args(["--seed", "3", "--frozen"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("simulator: {e}"))),
    );
    wait_for_port(simulator_port, Duration::from_secs(60)).await;

    let interval = if agents >= 50_000 { 10 } else { 5 };
    let queue_metrics = queue_metrics_enabled();
    let third = queue_ids.len() / 3;
    let yaml = format!(
        "api_rate_limits:\n  GetCurrentUserData: {{ rate: 1000, burst: 1000 }}\n  GetCurrentMetricData: {{ rate: 1000, burst: 1000 }}\n  ListRoutingProfileQueues: {{ rate: 1000, burst: 1000 }}\ninstances:\n  - name: bench\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: http://127.0.0.1:{simulator_port}\n    poll_interval: {interval}s\n    poll_timeout: 1m\n    queue_metrics: {queue_metrics}\n    queue_sets:\n      - {{ name: all, queues: [{}] }}\n      - {{ name: first-half, queues: [{}] }}\n      - {{ name: middle-third, queues: [{}] }}\n",
        scenario.instance_id,
        queue_ids.join(", "),
        queue_ids[..queue_ids.len() / 2].join(", "),
        queue_ids[third..2 * third].join(", "),
    );
    let directory = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let config = directory.path().join("scale.yaml");
    std::fs::write(&config, yaml).unwrap_or_else(|e| fail(e));
    let exporter_port = common::free_port().unwrap_or_else(|e| fail(format!("no free port: {e}")));
    let exporter = common::Running(
        Command::new(exporter_bin())
            .arg("--config.file")
            .arg(&config)
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{exporter_port}"),
            ])
            .envs([
                ("AWS_ACCESS_KEY_ID", "AKIDBENCH"),
                ("AWS_SECRET_ACCESS_KEY", "bench"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ])
            .stdout(Stdio::null())
            .stderr(log_file("exporter", agents))
            .spawn()
            .unwrap_or_else(|e| fail(format!("exporter: {e}"))),
    );
    let pid = exporter.0.id();
    wait_for_port(exporter_port, Duration::from_secs(30)).await;
    let address = SocketAddr::from(([127, 0, 0, 1], exporter_port));

    // Wait for a round served by the sweep, then measure ROUNDS more.
    let limit = Duration::from_secs(180);
    let started = Instant::now();
    let rounds = rounds_of;
    let mut text = metrics(address).await;
    while common::sample(
        &text,
        "amazon_connect_exporter_round_queue_sets",
        &["method=\"routing_profiles\""],
    ) != Some(3.0)
    {
        if started.elapsed() > limit {
            fail(format!("{agents} agents: no swept round within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        text = metrics(address).await;
    }
    let count_before = rounds(&text);
    let sum_before = common::sample(
        &text,
        "amazon_connect_exporter_poll_duration_seconds_sum",
        &["queue_set=\"all\""],
    )
    .unwrap_or(0.0);
    let requests_of = |text: &str| {
        common::sample(
            text,
            "amazon_connect_exporter_api_requests_total",
            &["operation=\"GetCurrentUserData\"", "outcome=\"success\""],
        )
        .unwrap_or(0.0)
    };
    let requests_before = requests_of(&text);
    let cpu_before = common::cpu_seconds(pid).unwrap_or_else(|| fail("no /proc stat"));
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        text = metrics(address).await;
        if rounds(&text) >= count_before + ROUNDS as f64 {
            break;
        }
        if started.elapsed() > limit {
            fail(format!(
                "{agents} agents: {ROUNDS} rounds took over {limit:?}"
            ));
        }
    }
    let cpu_after = common::cpu_seconds(pid).unwrap_or_else(|| fail("no /proc stat"));
    let measured_rounds = rounds(&text) - count_before;
    let sum_after = common::sample(
        &text,
        "amazon_connect_exporter_poll_duration_seconds_sum",
        &["queue_set=\"all\""],
    )
    .unwrap_or(0.0);
    let planned = common::sample(&text, "amazon_connect_exporter_round_planned_requests", &[])
        .unwrap_or(f64::NAN);
    let made_per_round = (requests_of(&text) - requests_before) / measured_rounds;

    let exposition = metrics(address).await;
    let plain_bytes = exposition.len();
    if let Some(directory) = std::env::var_os("SCALE_LOG_DIR") {
        let path = std::path::Path::new(&directory).join(format!("metrics-{agents}.txt"));
        std::fs::write(&path, &exposition)
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    }
    let gzip_bytes = {
        let mut stream = connect(address).await;
        get(&mut stream, "/metrics", true)
            .await
            .unwrap_or_else(|e| fail(e))
            .len()
    };
    let one = percentiles(scrape_latencies(address, 1, SCRAPES_ONE).await);
    let thirty_two = percentiles(scrape_latencies(address, 32, SCRAPES_EACH_OF_32).await);
    let during = |path| async move {
        let (latencies, published) = scrapes_during_publishes(address, path, 32, 2.0).await;
        (spread(latencies), published)
    };
    let metrics_during_publishes = during("/metrics").await;
    let landing_during_publishes = during("/").await;
    let peak_rss_mib = common::status_kib(&pid.to_string(), "VmHWM").unwrap_or(0) as f64 / 1024.0;
    drop(exporter);

    Figures {
        agents,
        queues: queue_ids.len(),
        profiles,
        minimum,
        planned,
        made_per_round,
        round_seconds: (sum_after - sum_before) / measured_rounds,
        // The CPU includes the scrapes above of this window: one per second.
        cpu_per_round: (cpu_after - cpu_before) / measured_rounds,
        peak_rss_mib,
        plain_bytes,
        gzip_bytes,
        one,
        thirty_two,
        metrics_during_publishes,
        landing_during_publishes,
    }
}

/// Whether the exporter reads the queue backlog (`queue_metrics`, on by default):
/// `SCALE_QUEUE_METRICS=false` measures the agent data alone.
fn queue_metrics_enabled() -> bool {
    match std::env::var("SCALE_QUEUE_METRICS").as_deref() {
        Err(_) | Ok("true") => true,
        Ok("false") => false,
        Ok(other) => fail(format!(
            "SCALE_QUEUE_METRICS: {other:?} is not true or false"
        )),
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SCALE_SIZES")
        .ok()
        .map(|text| {
            text.split(',')
                .map(|n| {
                    n.trim()
                        .parse()
                        .unwrap_or_else(|_| fail(format!("SCALE_SIZES: {n:?} is not a number")))
                })
                .collect()
        })
        .unwrap_or_else(|| vec![1_000, 10_000, 50_000]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e));
    let figures: Vec<Figures> = sizes
        .iter()
        .map(|&agents| {
            eprintln!("scale benchmark: {agents} agents");
            runtime.block_on(measure(agents))
        })
        .collect();

    let mut report = String::from("## Scale: 1,000 to 50,000 agents\n\n");
    let _ = writeln!(report, "- Date: {}", common::date());
    let _ = writeln!(report, "- Machine: {}", common::machine());
    let _ = writeln!(
        report,
        "- Command: `{}cargo bench --bench scale`",
        ["SCALE_SIZES", "SCALE_QUEUE_METRICS"]
            .iter()
            .filter_map(|name| std::env::var(name)
                .ok()
                .map(|value| format!("{name}={value} ")))
            .collect::<String>()
    );
    let _ = writeln!(
        report,
        "- Setup: simulator and exporter as separate processes on 127.0.0.1, frozen data; one instance with three overlapping queue sets (all queues, the first half, the middle third); queues = agents / 50, routing profiles = agents / 100; `request_planner: auto`; `queue_metrics: {}` (the queue backlog from GetCurrentMetricData: one row per queue and channel, 12 gauges each, per set); GetCurrentUserData, GetCurrentMetricData and ListRoutingProfileQueues budgets raised to 1000/s so the figures show the exporter, not the quota. Poll interval 5 s (10 s at 50,000 agents); {ROUNDS} rounds measured after the first swept round.",
        queue_metrics_enabled()
    );
    let _ = writeln!(
        report,
        "- Requests: GetCurrentUserData successes per round; minimum = ceil(agents whose routing profile serves a configured queue / 100). Round = the sweep's wall time (poll duration of the set `all`). CPU = user + system time of the exporter process per round, including one `/metrics` scrape per second (gzip, as Prometheus asks). Scrape latency: request sent to last byte read over a kept-alive connection, `Accept-Encoding: gzip` as Prometheus sends; {SCRAPES_ONE} scrapes by one scraper, {SCRAPES_EACH_OF_32} by each of 32 at once, each connection first warmed by one untimed scrape (so that the 32 do not start in lock-step).\n"
    );
    let _ = writeln!(
        report,
        "| agents | queues | routing profiles | requests/round (planned) | minimum | round s | CPU s/round | peak RSS MiB | /metrics bytes | gzip bytes | 1 scraper p50 / p99 ms | 32 scrapers p50 / p99 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for f in &figures {
        let _ = writeln!(
            report,
            "| {} | {} | {} | {:.1} ({}) | {} | {:.2} | {:.3} | {:.1} | {} | {} | {:.2} / {:.2} | {:.2} / {:.2} |",
            f.agents,
            f.queues,
            f.profiles,
            f.made_per_round,
            f.planned,
            f.minimum,
            f.round_seconds,
            f.cpu_per_round,
            f.peak_rss_mib,
            f.plain_bytes,
            f.gzip_bytes,
            f.one.0,
            f.one.1,
            f.thirty_two.0,
            f.thirty_two.1,
        );
    }
    let _ = writeln!(
        report,
        "\nScrapes while rounds are published: 32 clients scrape back to back on kept-alive connections, first all of `/metrics` (gzip), then all of `/` (the status page), until two more rounds of the set `all` have been published (each publish encodes and compresses the whole exposition on the polling thread).\n\n| agents | rounds published during /metrics, / | /metrics p50 / p99 / longest ms (scrapes) | / p50 / p99 / longest ms (scrapes) |\n|---|---|---|---|"
    );
    for f in &figures {
        let ((m50, m99, mmax, mn), mp) = f.metrics_during_publishes;
        let ((l50, l99, lmax, ln), lp) = f.landing_during_publishes;
        let _ = writeln!(
            report,
            "| {} | {mp}, {lp} | {m50:.2} / {m99:.2} / {mmax:.1} ({mn}) | {l50:.2} / {l99:.2} / {lmax:.1} ({ln}) |",
            f.agents
        );
    }
    if let Some(other) = std::env::var_os("SCALE_EXPORTER_BIN") {
        let _ = writeln!(
            report,
            "\nExporter measured: `{}` (SCALE_EXPORTER_BIN).",
            std::path::Path::new(&other).display()
        );
    }
    common::write_section("## Scale: 1,000 to 50,000 agents", &report);
}
