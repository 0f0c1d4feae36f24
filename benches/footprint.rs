//! Footprint benchmark: peak resident memory of the exporter binary at the sizes most
//! installations have, polling the simulator binary (both child processes on 127.0.0.1, frozen
//! data). Two workloads: 50 agents, 5 queues, 5 routing profiles; 5,000 agents, 300 queues, 40
//! routing profiles; each with three overlapping queue sets (all queues, the first half, the
//! middle third) and the queue backlog on. Each run waits for every set's first round, then
//! measures a few more rounds with one gzip scrape a second (as Prometheus makes them) and a
//! burst of concurrent scrapes at the end, and reads the exporter's peak RSS (`VmHWM`), its
//! RSS split by kind (`/proc/PID/smaps_rollup`) and its thread count. Writes the figures to
//! BENCHMARKS.md.
//!
//! Run: `cargo bench --bench footprint` (`FOOTPRINT_RUNS=N` runs per workload, 3 by default;
//! `FOOTPRINT_BASE_BIN=PATH` also measures another build, e.g. an older commit's, its runs
//! interleaved with this build's: base, this, base, this, …).

mod common;

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use connect_simulator::{Simulator, SimulatorOptions};

const BIN: &str = env!("CARGO_BIN_EXE_amazon-connect-exporter");
/// Rounds of the set `all` measured after every set's first round.
const ROUNDS: f64 = 4.0;
/// Poll interval of every set.
const INTERVAL_SECONDS: u64 = 2;
/// Concurrent scrapers at the end of a run.
const BURST: usize = 8;

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("footprint benchmark: {message}");
    std::process::exit(1);
}

struct Workload {
    name: &'static str,
    agents: usize,
    queues: usize,
    profiles: usize,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        name: "small",
        agents: 50,
        queues: 5,
        profiles: 5,
    },
    Workload {
        name: "medium",
        agents: 5_000,
        queues: 300,
        profiles: 40,
    },
];

/// One HTTP/1.1 GET on a kept-alive connection; returns the body.
fn get(stream: &mut BufReader<TcpStream>, path: &str, gzip: bool) -> std::io::Result<Vec<u8>> {
    stream
        .get_mut()
        .write_all(common::get_request(path, gzip).as_bytes())?;
    let mut length = None;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
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
    stream.read_exact(&mut body)?;
    Ok(body)
}

fn connect(port: u16) -> BufReader<TcpStream> {
    BufReader::new(
        TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| fail(format!("connect to the exporter: {e}"))),
    )
}

/// One scrape as Prometheus makes it (gzip), decompressed.
fn metrics(port: u16) -> String {
    let body = get(&mut connect(port), "/metrics", true).unwrap_or_else(|e| fail(e));
    common::gunzip_text(&body).unwrap_or_else(|e| fail(format!("scrape: not gzip text: {e}")))
}

/// Rounds published so far of the set `set`.
fn rounds_of(text: &str, set: &str) -> f64 {
    let label = format!("queue_set=\"{set}\"");
    common::sample(
        text,
        "amazon_connect_exporter_poll_duration_seconds_count",
        &[&label],
    )
    .unwrap_or(0.0)
}

fn wait_for_port(port: u16, limit: Duration) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > limit {
            fail(format!("nothing listens on port {port} after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `Field: N kB` lines of /proc/PID/smaps_rollup, in MiB.
fn smaps_rollup(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let value = line.strip_prefix(field)?.strip_prefix(':')?;
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

struct Run {
    build: &'static str,
    workload: &'static str,
    peak_rss_mib: f64,
    rss_mib: f64,
    anonymous_mib: f64,
    file_mib: f64,
    threads: u64,
    cpu_per_round: f64,
    plain_bytes: usize,
}

/// Queue IDs of the frozen scenario a simulator of `workload`'s size serves.
fn queue_ids(workload: &Workload) -> (String, Vec<String>) {
    let scenario = Simulator::new(SimulatorOptions {
        agents: workload.agents,
        queues: workload.queues,
        routing_profiles: workload.profiles,
        seed: 3,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .unwrap_or_else(|e| fail(format!("scenario: {e}")))
    .scenario();
    let ids = scenario
        .queues
        .iter()
        .filter(|q| q.queue_type == "STANDARD")
        .map(|q| q.id.clone())
        .collect();
    (scenario.instance_id, ids)
}

fn measure(build: &'static str, exporter_bin: &std::path::Path, workload: &Workload) -> Run {
    let (instance_id, queue_ids) = queue_ids(workload);
    let simulator_port = common::free_port().unwrap_or_else(|e| fail(format!("no free port: {e}")));
    let _simulator = common::Running(
        Command::new(BIN)
            .args([
                "simulate",
                "--listen-address",
                &format!("127.0.0.1:{simulator_port}"),
            ])
            .args(["--agents", &workload.agents.to_string()])
            .args(["--queues", &workload.queues.to_string()])
            .args(["--routing-profiles", &workload.profiles.to_string()])
            .args(["--seed", "3", "--frozen"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("simulator: {e}"))),
    );
    wait_for_port(simulator_port, Duration::from_secs(60));

    let third = queue_ids.len() / 3;
    let yaml = format!(
        "api_rate_limits:\n  GetCurrentUserData: {{ rate: 1000, burst: 1000 }}\n  GetCurrentMetricData: {{ rate: 1000, burst: 1000 }}\n  ListRoutingProfileQueues: {{ rate: 1000, burst: 1000 }}\ninstances:\n  - name: bench\n    instance_id: {instance_id}\n    region: eu-west-2\n    endpoint_url: http://127.0.0.1:{simulator_port}\n    poll_interval: {INTERVAL_SECONDS}s\n    queue_metrics: true\n    queue_sets:\n      - {{ name: all, queues: [{}] }}\n      - {{ name: first-half, queues: [{}] }}\n      - {{ name: middle-third, queues: [{}] }}\n",
        queue_ids.join(", "),
        queue_ids[..queue_ids.len() / 2].join(", "),
        queue_ids[third..2 * third].join(", "),
    );
    let directory = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let config = directory.path().join("footprint.yaml");
    std::fs::write(&config, yaml).unwrap_or_else(|e| fail(e));
    let exporter_port = common::free_port().unwrap_or_else(|e| fail(format!("no free port: {e}")));
    let exporter = common::Running(
        Command::new(exporter_bin)
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
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("exporter: {e}"))),
    );
    let pid = exporter.0.id();
    wait_for_port(exporter_port, Duration::from_secs(30));

    let limit = Duration::from_secs(120);
    let started = Instant::now();
    let sets = ["all", "first-half", "middle-third"];
    let mut text = metrics(exporter_port);
    while sets.iter().any(|set| rounds_of(&text, set) < 1.0) {
        if started.elapsed() > limit {
            fail(format!(
                "{}: no round of every set within {limit:?}",
                workload.name
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
        text = metrics(exporter_port);
    }
    let first = rounds_of(&text, "all");
    let cpu_before = common::cpu_seconds(pid).unwrap_or_else(|| fail("no /proc stat"));
    while rounds_of(&text, "all") < first + ROUNDS {
        if started.elapsed() > limit {
            fail(format!(
                "{}: {ROUNDS} rounds took over {limit:?}",
                workload.name
            ));
        }
        std::thread::sleep(Duration::from_secs(1));
        text = metrics(exporter_port);
    }
    let cpu_after = common::cpu_seconds(pid).unwrap_or_else(|| fail("no /proc stat"));
    let measured = rounds_of(&text, "all") - first;
    // A burst of concurrent scrapes, gzip and plain, and the status page.
    std::thread::scope(|scope| {
        for scraper in 0..BURST {
            scope.spawn(move || {
                let mut stream = connect(exporter_port);
                for _ in 0..5 {
                    get(&mut stream, "/metrics", scraper % 2 == 0).unwrap_or_else(|e| fail(e));
                    get(&mut stream, "/", false).unwrap_or_else(|e| fail(e));
                }
            });
        }
    });
    let status = |field| common::status_kib(&pid.to_string(), field).unwrap_or(0);
    let run = Run {
        build,
        workload: workload.name,
        peak_rss_mib: status("VmHWM") as f64 / 1024.0,
        rss_mib: status("VmRSS") as f64 / 1024.0,
        anonymous_mib: smaps_rollup(pid, "Anonymous"),
        file_mib: smaps_rollup(pid, "Rss") - smaps_rollup(pid, "Anonymous"),
        threads: status("Threads"),
        cpu_per_round: (cpu_after - cpu_before) / measured,
        plain_bytes: text.len(),
    };
    if let Some(directory) = std::env::var_os("FOOTPRINT_SMAPS_DIR") {
        let path = std::path::Path::new(&directory)
            .join(format!("smaps-{build}-{}-{pid}.txt", workload.name));
        let _ = std::fs::copy(format!("/proc/{pid}/smaps"), path);
    }
    drop(exporter);
    eprintln!(
        "footprint benchmark: {build} {}: peak RSS {:.1} MiB, {} threads",
        workload.name, run.peak_rss_mib, run.threads
    );
    run
}

fn range(values: impl Iterator<Item = f64>, decimals: usize) -> String {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match (values.first(), values.last()) {
        (Some(low), Some(high)) if values.len() > 1 => {
            format!("{low:.decimals$}–{high:.decimals$}")
        }
        (Some(only), _) => format!("{only:.decimals$}"),
        _ => "–".into(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn main() {
    let runs: usize = std::env::var("FOOTPRINT_RUNS")
        .ok()
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| fail("FOOTPRINT_RUNS: not a number"))
        })
        .unwrap_or(3);
    let base = std::env::var_os("FOOTPRINT_BASE_BIN").map(std::path::PathBuf::from);
    let this = std::path::PathBuf::from(BIN);
    let load_before = load_average();
    let mut results = Vec::new();
    for workload in &WORKLOADS {
        for _ in 0..runs {
            if let Some(base) = &base {
                results.push(measure("base", base, workload));
            }
            results.push(measure("this", &this, workload));
        }
    }
    let load_after = load_average();

    let mut report = String::from("## Footprint: peak memory at 50 and 5,000 agents\n\n");
    let _ = writeln!(report, "- Date: {}", common::date());
    let _ = writeln!(report, "- Machine: {}", common::machine());
    let _ = writeln!(
        report,
        "- Load average (1, 5, 15 min): {load_before} before, {load_after} after"
    );
    let _ = writeln!(
        report,
        "- Command: `{}cargo bench --bench footprint`",
        ["FOOTPRINT_RUNS", "FOOTPRINT_BASE_BIN"]
            .iter()
            .filter_map(|name| std::env::var(name)
                .ok()
                .map(|value| format!("{name}={value} ")))
            .collect::<String>()
    );
    let _ = writeln!(
        report,
        "- Setup: the release exporter binary polls the simulator binary (separate processes on 127.0.0.1, frozen data, seed 3); one instance with three overlapping queue sets (all queues, the first half, the middle third), `queue_metrics: true` (the backlog), poll interval {INTERVAL_SECONDS} s, GetCurrentUserData, GetCurrentMetricData and ListRoutingProfileQueues budgets at 1000/s as in the scale benchmark. After every set's first round, {ROUNDS} rounds of the set `all` with one gzip `/metrics` scrape a second, then {BURST} concurrent scrapers of `/metrics` (half gzip) and `/`, 5 each. Then: peak RSS = `VmHWM`, and RSS now split into anonymous memory (heap, stacks) and file-backed pages (the binary's text and data) from `/proc/PID/smaps_rollup`, threads from `/proc/PID/status`. CPU per round includes the scrapes. {runs} runs per workload{}.\n",
        if base.is_some() {
            " and build, interleaved (base, this, base, this, …)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        report,
        "| workload | build | runs | peak RSS MiB | RSS at end MiB | anonymous MiB | file-backed MiB | threads | CPU s/round | /metrics bytes |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for workload in &WORKLOADS {
        for build in ["base", "this"] {
            let rows: Vec<&Run> = results
                .iter()
                .filter(|r| r.build == build && r.workload == workload.name)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                report,
                "| {} agents, {} queues, {} profiles | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                workload.agents,
                workload.queues,
                workload.profiles,
                if build == "base" {
                    "base (FOOTPRINT_BASE_BIN)"
                } else {
                    "this build"
                },
                rows.len(),
                range(rows.iter().map(|r| r.peak_rss_mib), 1),
                range(rows.iter().map(|r| r.rss_mib), 1),
                range(rows.iter().map(|r| r.anonymous_mib), 1),
                range(rows.iter().map(|r| r.file_mib), 1),
                range(rows.iter().map(|r| r.threads as f64), 0),
                range(rows.iter().map(|r| r.cpu_per_round), 3),
                range(rows.iter().map(|r| r.plain_bytes as f64), 0),
            );
        }
    }
    common::write_section("## Footprint: peak memory at 50 and 5,000 agents", &report);
}
