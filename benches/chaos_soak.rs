//! Chaos soak: the exporter binary (a child process) polls an in-process simulator with every
//! fault on at once (throttling, 5xx, latency, truncated JSON, connection resets, unknown enum
//! values) while queues and routing profiles are renamed, added and deleted, the configuration
//! is reloaded every minute and `/metrics` is scraped every second. Then the faults stop and
//! the benchmark waits for every queue set to be up again.
//!
//! Records: the exporter's resident memory over time, the requests of each operation the
//! simulator counted in the busiest window of 1 s, 10 s and 60 s against the budget's bound
//! (burst + rate × window), panics (log lines and task restarts), failed scrapes and reloads,
//! and the time from the end of the faults until every set is up. Writes them to
//! BENCHMARKS.md. Loopback only; stops by itself.
//!
//! Run: `cargo bench --bench chaos_soak` (`CHAOS_MINUTES`, default 30, from 4 to 60;
//! `CHAOS_AGENTS`, default 10,000).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amazon_connect_exporter::config::rate_limits::default_limits;
use amazon_connect_exporter::config::RateLimit;
use connect_simulator::{Faults, Simulator, SimulatorOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_amazon-connect-exporter");
const QUEUES: usize = 2_500;
const ROUTING_PROFILES: usize = 2_000;
/// Queue sets in the configuration below.
const SETS: usize = 3;
/// How often the directory is read again: the recovery target after the faults stop.
const DIRECTORY_INTERVAL: Duration = Duration::from_secs(120);
/// Time between two changes to the simulated directory while the faults are on.
const CHANGE_EVERY: Duration = Duration::from_secs(15);
/// The windows the request counts are checked over.
const WINDOWS: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(10),
    Duration::from_secs(60),
];

/// Every fault at once, at rates a bad day could bring.
fn all_faults() -> Faults {
    Faults {
        throttle_rate: 0.05,
        server_error_rate: 0.03,
        latency: Duration::from_millis(20),
        malformed_rate: 0.02,
        reset_rate: 0.02,
        unknown_enum_rate: 0.01,
        rate_limit: None,
    }
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("chaos soak: {message}");
    std::process::exit(1);
}

fn env_number(name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(text) => match text.parse::<u64>() {
            Ok(value) if range.contains(&value) => value,
            _ => fail(format!(
                "{name}={text:?}: expected a whole number from {} to {}",
                range.start(),
                range.end()
            )),
        },
    }
}

/// One request on a fresh connection; the status and body, or `None` if the exporter did not
/// answer within 10 s.
async fn request(address: SocketAddr, method: &str, path: &str) -> Option<(u16, String)> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.ok()?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())?;
        Some((status, body))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .ok()
        .flatten()
}

/// The values of the per-set gauge `name`, by (instance, queue set).
fn by_set(exposition: &str, name: &str) -> BTreeMap<(String, String), f64> {
    let prefix = format!("{name}{{");
    let label = |line: &str, name: &str| {
        let start = line.find(&format!("{name}=\""))? + name.len() + 2;
        let end = start + line[start..].find('"')?;
        Some(line[start..end].to_string())
    };
    exposition
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| {
            let value = line.rsplit(' ').next()?.parse().ok()?;
            Some((
                (label(line, "connect_instance")?, label(line, "queue_set")?),
                value,
            ))
        })
        .collect()
}

/// The sum of a counter's samples.
fn counter_sum(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The most of `times` (sorted) that fall in any window of length `window`.
fn busiest_window(times: &[Duration], window: Duration) -> usize {
    let mut most = 0;
    let mut start = 0;
    for (end, at) in times.iter().enumerate() {
        while *at - times[start] >= window {
            start += 1;
        }
        most = most.max(end + 1 - start);
    }
    most
}

/// What the configuration names, chosen from the simulated directory.
struct Named {
    instance_id: String,
    endpoint: String,
    /// Two queues the set `named` gives by name; the first is renamed away and back.
    queue_names: [String; 2],
    /// The routing profile the set `profile` gives by name.
    profile_name: String,
}

/// The configuration; `variant` alternates the poll interval, so that each reload restarts
/// the instance's polling (a reload that changes nothing would restart nothing).
fn config_text(named: &Named, variant: bool) -> String {
    format!(
        "api_rate_limits:\n  GetCurrentUserData: {{ rate: 30, burst: 30 }}\ninstances:\n  - name: chaos\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: {}\n    directory_refresh_interval: {}s\n    intraday: true\n    queue_sets:\n      - {{ name: all, queues: all }}\n      - {{ name: named, queues: [{:?}, {:?}] }}\n      - {{ name: profile, routing_profiles: [{:?}] }}\n",
        named.instance_id,
        named.endpoint,
        if variant { "20s" } else { "15s" },
        DIRECTORY_INTERVAL.as_secs(),
        named.queue_names[0],
        named.queue_names[1],
        named.profile_name
    )
}

/// Whether every set is up with a successful poll that started at or after `since` (epoch
/// seconds): recovered, not merely still up from before.
fn recovered_since(exposition: &str, since: f64) -> bool {
    let up = by_set(exposition, "amazon_connect_up");
    let fresh = by_set(
        exposition,
        "amazon_connect_last_poll_success_timestamp_seconds",
    );
    up.len() == SETS
        && up.iter().all(|(set, value)| {
            *value == 1.0 && fresh.get(set).is_some_and(|started| *started >= since)
        })
}

fn epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The changes made to the directory while the faults are on, in turn.
struct Chaos {
    simulator: Simulator,
    /// Queues and profiles the configuration does not name, safe to rename or delete.
    free_queues: Vec<String>,
    free_profiles: Vec<String>,
    /// Profiles no agent has: the only ones Connect lets an administrator delete.
    empty_profiles: Vec<String>,
    /// The first named queue's ID and name.
    moved_queue: (String, String),
    moved: bool,
    step: usize,
    counts: BTreeMap<&'static str, usize>,
}

impl Chaos {
    fn change(&mut self) {
        let step = self.step;
        self.step += 1;
        let pick = |list: &[String]| list.get(step * 7919 % list.len().max(1)).cloned();
        let done = match step % 7 {
            0 => pick(&self.free_queues)
                .is_some_and(|id| {
                    self.simulator
                        .rename_queue(&id, &format!("Renamed queue {step}"))
                })
                .then_some("queue renamed"),
            1 => {
                self.moved = true;
                let (id, name) = &self.moved_queue;
                self.simulator
                    .rename_queue(id, &format!("{name} (moved {step})"))
                    .then_some("named queue renamed away")
            }
            2 => pick(&self.free_queues)
                .is_some_and(|id| {
                    self.free_queues.retain(|q| *q != id);
                    self.simulator.delete_queue(&id)
                })
                .then_some("queue deleted"),
            3 => pick(&self.free_profiles)
                .and_then(|profile| {
                    self.simulator
                        .add_queue(&format!("Added queue {step}"), &profile, "VOICE")
                })
                .map(|_| "queue added"),
            4 => pick(&self.free_profiles)
                .is_some_and(|id| {
                    self.simulator
                        .rename_routing_profile(&id, &format!("Renamed profile {step}"))
                })
                .then_some("profile renamed"),
            5 => self.restore().then_some("named queue renamed back"),
            _ => pick(&self.empty_profiles)
                .is_some_and(|id| {
                    self.empty_profiles.retain(|p| *p != id);
                    self.free_profiles.retain(|p| *p != id);
                    self.simulator.delete_routing_profile(&id)
                })
                .then_some("profile deleted"),
        };
        if let Some(what) = done {
            *self.counts.entry(what).or_default() += 1;
        }
    }

    /// Renames the named queue away unless it is already; true if it is away now.
    fn move_named_queue(&mut self) -> bool {
        if self.moved {
            return true;
        }
        let (id, name) = &self.moved_queue;
        self.moved = self
            .simulator
            .rename_queue(id, &format!("{name} (moved before the end)"));
        self.moved
    }

    /// Gives the named queue its name back; true if it had been moved.
    fn restore(&mut self) -> bool {
        let was_moved = std::mem::take(&mut self.moved);
        let (id, name) = &self.moved_queue;
        was_moved && self.simulator.rename_queue(id, name)
    }
}

/// One sample of the exporter's state.
struct Sample {
    seconds: u64,
    rss_mib: f64,
    /// Series in the last scrape (its sample lines) and its size: what the memory holds
    /// grows with them (queues added, more queues with contacts today).
    series: usize,
    exposition_kib: f64,
}

/// Sample lines of an exposition.
fn series_count(exposition: &str) -> usize {
    exposition
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .count()
}

fn main() {
    let minutes = env_number("CHAOS_MINUTES", 30, 4..=60);
    let agents = env_number("CHAOS_AGENTS", 10_000, 100..=50_000) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));
    runtime.block_on(soak(Duration::from_secs(minutes * 60), agents));
}

async fn soak(length: Duration, agents: usize) {
    // The last sixth (at least three minutes: more than one directory interval) runs without
    // faults, to see every set come back.
    let recovery = (length / 6).max(Duration::from_secs(180));
    let chaos_length = length - recovery;
    let simulator = Simulator::new(SimulatorOptions {
        agents,
        queues: QUEUES,
        routing_profiles: ROUTING_PROFILES,
        seed: 13,
        faults: all_faults(),
        ..SimulatorOptions::default()
    })
    .unwrap_or_else(|e| fail(format!("simulator: {e}")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| fail(format!("simulator listener: {e}")));
    let simulator_address = listener
        .local_addr()
        .unwrap_or_else(|e| fail(format!("simulator address: {e}")));
    let (stop_simulator, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = simulator.clone();
    let simulator_task = tokio::spawn(async move {
        let _ = serving
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await;
    });

    let scenario = simulator.scenario();
    let standard: Vec<&connect_simulator::scenario::Queue> = scenario
        .queues
        .iter()
        .filter(|q| q.queue_type == "STANDARD")
        .collect();
    if standard.len() < 10 {
        fail("the simulated instance has too few standard queues");
    }
    let named = Named {
        instance_id: scenario.instance_id.clone(),
        endpoint: format!("http://{simulator_address}"),
        queue_names: [standard[0].name.clone(), standard[1].name.clone()],
        profile_name: scenario.routing_profiles[0].name.clone(),
    };
    let staffed: std::collections::BTreeSet<&str> = scenario
        .agents
        .iter()
        .map(|a| a.routing_profile_id.as_str())
        .collect();
    let mut chaos = Chaos {
        simulator: simulator.clone(),
        free_queues: standard[2..].iter().map(|q| q.id.clone()).collect(),
        free_profiles: scenario.routing_profiles[1..]
            .iter()
            .map(|p| p.id.clone())
            .collect(),
        empty_profiles: scenario.routing_profiles[1..]
            .iter()
            .filter(|p| !staffed.contains(p.id.as_str()))
            .map(|p| p.id.clone())
            .collect(),
        moved_queue: (standard[0].id.clone(), standard[0].name.clone()),
        moved: false,
        step: 0,
        counts: BTreeMap::new(),
    };

    let directory = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let config_path = directory.path().join("chaos.yaml");
    let log_path = directory.path().join("exporter.log");
    let write_config = |variant: bool| {
        std::fs::write(&config_path, config_text(&named, variant))
            .unwrap_or_else(|e| fail(format!("{}: {e}", config_path.display())));
    };
    write_config(false);
    let limits = budget_limits(&config_path);
    let exporter_port = common::free_port().unwrap_or_else(|e| fail(format!("no free port: {e}")));
    let log = std::fs::File::create(&log_path).unwrap_or_else(|e| fail(e));
    let mut exporter = common::Running(
        Command::new(BIN)
            .arg("--config.file")
            .arg(&config_path)
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{exporter_port}"),
                "--web.enable-lifecycle",
            ])
            .envs([
                ("AWS_ACCESS_KEY_ID", "AKIDCHAOS"),
                ("AWS_SECRET_ACCESS_KEY", "chaos"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| fail(format!("exporter: {e}"))),
    );
    let pid = exporter.0.id().to_string();
    let address = SocketAddr::from(([127, 0, 0, 1], exporter_port));

    let started = Instant::now();
    let mut samples = Vec::new();
    let mut scrapes = 0u64;
    let mut failed_scrapes = 0u64;
    let mut reloads = 0u64;
    let mut failed_reloads = Vec::new();
    let mut variant = false;
    let mut next_change = CHANGE_EVERY;
    let mut next_reload = Duration::from_secs(60);
    let mut next_sample = Duration::ZERO;
    let mut faults_stopped: Option<(Instant, f64)> = None;
    let mut named_moved_at_stop = false;
    let mut all_up_after: Option<Duration> = None;
    let mut down_after_recovery = 0u64;
    let mut last_exposition = String::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while started.elapsed() < length {
        ticker.tick().await;
        let elapsed = started.elapsed();
        if let Ok(Some(status)) = exporter.0.try_wait() {
            fail(format!(
                "the exporter exited ({status}) after {elapsed:?}; its log: {}",
                log_path.display()
            ));
        }
        // The named queue is away when the faults stop and gets its name back then, so that
        // recovery includes a directory read that resolves it again.
        if faults_stopped.is_none() && elapsed + Duration::from_secs(30) >= chaos_length {
            named_moved_at_stop = chaos.move_named_queue();
        }
        if faults_stopped.is_none() && elapsed >= chaos_length {
            chaos.restore();
            simulator
                .set_faults(Faults::default())
                .unwrap_or_else(|e| fail(e));
            faults_stopped = Some((Instant::now(), epoch_seconds()));
        }
        if faults_stopped.is_none() && elapsed >= next_change {
            chaos.change();
            next_change += CHANGE_EVERY;
        }
        if elapsed >= next_reload {
            next_reload += Duration::from_secs(60);
            reloads += 1;
            variant = !variant;
            write_config(variant);
            match request(address, "POST", "/-/reload").await {
                Some((200, _)) => {}
                other => failed_reloads.push(format!("{}s: {other:?}", elapsed.as_secs())),
            }
        }
        scrapes += 1;
        let scraped = match request(address, "GET", "/metrics").await {
            Some((200, body)) => {
                if let Some((stopped, stopped_epoch)) = faults_stopped {
                    match (recovered_since(&body, stopped_epoch), all_up_after) {
                        (true, None) => all_up_after = Some(stopped.elapsed()),
                        (false, Some(_)) => down_after_recovery += 1,
                        _ => {}
                    }
                }
                last_exposition = body;
                true
            }
            // Until the exporter listens, and any failure after.
            _ if elapsed < Duration::from_secs(5) => false,
            _ => {
                failed_scrapes += 1;
                false
            }
        };
        // A sample pairs this moment's RSS with this moment's exposition; without either it
        // waits for the next tick.
        let rss = common::status_kib(&pid, "VmRSS");
        if let (true, Some(rss), true) = (elapsed >= next_sample, rss, scraped) {
            samples.push(Sample {
                seconds: elapsed.as_secs(),
                rss_mib: rss as f64 / 1024.0,
                series: series_count(&last_exposition),
                exposition_kib: last_exposition.len() as f64 / 1024.0,
            });
            while next_sample <= elapsed {
                next_sample += Duration::from_secs(10);
            }
        }
    }
    let peak_rss_mib = common::status_kib(&pid, "VmHWM").unwrap_or(0) as f64 / 1024.0;
    let alive = matches!(exporter.0.try_wait(), Ok(None));
    drop(exporter);
    let _ = stop_simulator.send(());
    let _ = simulator_task.await;

    let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let panics = log_text.matches("panicked").count();
    let task_restarts = counter_sum(
        &last_exposition,
        "amazon_connect_exporter_task_restarts_total",
    );
    let report = Report {
        length,
        chaos_length,
        agents,
        samples,
        peak_rss_mib,
        requests: request_windows(&simulator, &limits),
        scrapes,
        failed_scrapes,
        reloads,
        failed_reloads,
        changes: chaos.counts,
        all_up_after,
        down_after_recovery,
        named_moved_at_stop,
        panics,
        task_restarts,
        alive,
    };
    common::write_section("## Chaos soak", &report.render());
}

/// The configured limit of each operation: the file's overrides over the defaults.
fn budget_limits(config_path: &Path) -> BTreeMap<String, RateLimit> {
    let text = std::fs::read_to_string(config_path).unwrap_or_else(|e| fail(e));
    let config = amazon_connect_exporter::config::parse(&text, config_path)
        .unwrap_or_else(|e| fail(format!("the benchmark's configuration: {e}")));
    let mut limits = default_limits();
    limits.extend(config.api_rate_limits);
    limits
}

/// Per operation: requests counted, the busiest window of each length and its bound.
struct OperationRequests {
    operation: String,
    total: usize,
    windows: Vec<(Duration, usize, f64)>,
}

fn request_windows(
    simulator: &Simulator,
    limits: &BTreeMap<String, RateLimit>,
) -> Vec<OperationRequests> {
    limits
        .iter()
        .filter_map(|(operation, limit)| {
            let mut times = simulator.request_times(operation);
            if times.is_empty() {
                return None;
            }
            times.sort_unstable();
            let windows = WINDOWS
                .iter()
                .map(|window| {
                    let bound = limit.burst + limit.rate * window.as_secs_f64();
                    (*window, busiest_window(&times, *window), bound)
                })
                .collect();
            Some(OperationRequests {
                operation: operation.clone(),
                total: times.len(),
                windows,
            })
        })
        .collect()
}

struct Report {
    length: Duration,
    chaos_length: Duration,
    agents: usize,
    samples: Vec<Sample>,
    peak_rss_mib: f64,
    requests: Vec<OperationRequests>,
    scrapes: u64,
    failed_scrapes: u64,
    reloads: u64,
    failed_reloads: Vec<String>,
    changes: BTreeMap<&'static str, usize>,
    all_up_after: Option<Duration>,
    down_after_recovery: u64,
    named_moved_at_stop: bool,
    panics: usize,
    task_restarts: f64,
    alive: bool,
}

impl Report {
    /// Mean of `value` over the samples taken in `[from, to)` seconds.
    fn mean(&self, from: u64, to: u64, value: impl Fn(&Sample) -> f64) -> f64 {
        let inside: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| (from..to).contains(&s.seconds))
            .map(value)
            .collect();
        inside.iter().sum::<f64>() / inside.len().max(1) as f64
    }

    fn mean_rss(&self, from: u64, to: u64) -> f64 {
        self.mean(from, to, |s| s.rss_mib)
    }

    fn mean_series(&self, from: u64, to: u64) -> f64 {
        self.mean(from, to, |s| s.series as f64)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let minutes = self.length.as_secs() / 60;
        let chaos_end = self.chaos_length.as_secs();
        // Warm-up: the first fifth of the faulty phase (the directory and the missed-contact
        // memory fill); then the rest of that phase in two halves.
        let warm = chaos_end / 5;
        let middle = warm + (chaos_end - warm) / 2;
        let (first, second) = (
            self.mean_rss(warm, middle),
            self.mean_rss(middle, chaos_end),
        );
        let growth = if first > 0.0 {
            (second - first) / first * 100.0
        } else {
            0.0
        };
        let _ = writeln!(out, "## Chaos soak\n");
        let _ = writeln!(out, "- Date: {}", common::date());
        let _ = writeln!(out, "- Machine: {}", common::machine());
        let _ = writeln!(
            out,
            "- Command: `CHAOS_MINUTES={minutes} cargo bench --bench chaos_soak`"
        );
        let faults = all_faults();
        let _ = writeln!(
            out,
            "- Load: the exporter binary against an in-process simulator of {} agents, {QUEUES} queues and {ROUTING_PROFILES} routing profiles (churning, 1 s ticks); one instance with the intraday KPIs and three queue sets (`queues: all`, two queues by name, one routing profile by name), whose poll interval each reload changes (15 s, 20 s), so that every reload restarts its polling; GetCurrentUserData budget 30/s, burst 30, the rest at the defaults; directory read every {} s.",
            self.agents,
            DIRECTORY_INTERVAL.as_secs()
        );
        let _ = writeln!(
            out,
            "- Faults for the first {} s: {:.0} % throttled, {:.0} % 5xx, {:.0} % truncated JSON, {:.0} % connection resets, {:.0} % of contacts with an unknown initiation method, {} ms latency on every request; a directory change every {} s ({}); then none for {} s.",
            chaos_end,
            faults.throttle_rate * 100.0,
            faults.server_error_rate * 100.0,
            faults.malformed_rate * 100.0,
            faults.reset_rate * 100.0,
            faults.unknown_enum_rate * 100.0,
            faults.latency.as_millis(),
            CHANGE_EVERY.as_secs(),
            self.changes
                .iter()
                .map(|(what, count)| format!("{count} × {what}"))
                .collect::<Vec<_>>()
                .join(", "),
            (self.length - self.chaos_length).as_secs()
        );
        let _ = writeln!(
            out,
            "- Reloads: {} (`POST /-/reload`, one a minute), refused or failed: {}{}",
            self.reloads,
            self.failed_reloads.len(),
            if self.failed_reloads.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.failed_reloads.join("; "))
            }
        );
        let _ = writeln!(
            out,
            "- Scrapes: {} (one a second), failed: {}",
            self.scrapes, self.failed_scrapes
        );
        let _ = writeln!(
            out,
            "- Panics: {} in the log; task restarts counted by `amazon_connect_exporter_task_restarts_total`: {}; exporter still running at the end: {}",
            self.panics,
            self.task_restarts,
            if self.alive { "yes" } else { "NO" }
        );
        let _ = writeln!(
            out,
            "- Recovery: every queue set up, each with a successful poll that started after the faults stopped, {} after they stopped (target: within one directory interval, {} s); the set naming the renamed queue was {} when they stopped (its name given back then, so the time includes a directory read); scrapes with some set down after recovery: {} (each reload restarts the polling)",
            self.all_up_after
                .map_or("NEVER".to_string(), |d| format!("{} s", d.as_secs())),
            DIRECTORY_INTERVAL.as_secs(),
            if self.named_moved_at_stop { "unresolvable" } else { "resolvable (the rename failed)" },
            self.down_after_recovery
        );
        let (first_series, second_series) = (
            self.mean_series(warm, middle),
            self.mean_series(middle, chaos_end),
        );
        let series_growth = if first_series > 0.0 {
            (second_series - first_series) / first_series * 100.0
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "- Memory (RSS, sampled every 10 s): peak {:.1} MiB; after the warm-up ({warm} s) mean {first:.1} MiB up to {middle} s and {second:.1} MiB from then to the end of the faults: {growth:+.1} %, while the series published grew {series_growth:+.1} % (mean {first_series:.0} to {second_series:.0}); without faults {:.1} MiB for {:.0} series\n",
            self.peak_rss_mib,
            self.mean_rss(chaos_end, u64::MAX),
            self.mean_series(chaos_end, u64::MAX)
        );
        let _ = writeln!(out, "Requests the simulator counted (faulted ones included), busiest window against burst + rate × window:\n");
        let _ = writeln!(
            out,
            "| operation | requests | busiest 1 s (bound) | busiest 10 s (bound) | busiest 60 s (bound) | within |\n|---|---|---|---|---|---|"
        );
        for operation in &self.requests {
            let cells: Vec<String> = operation
                .windows
                .iter()
                .map(|(_, most, bound)| format!("{most} ({bound:.0})"))
                .collect();
            let within = operation
                .windows
                .iter()
                .all(|(_, most, bound)| *most as f64 <= bound.floor());
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                operation.operation,
                operation.total,
                cells.join(" | "),
                if within { "yes" } else { "NO" }
            );
        }
        let _ = writeln!(
            out,
            "\n| minute | RSS MiB (mean of the minute's samples) | series | /metrics KiB |\n|---|---|---|---|"
        );
        for minute in 0..=self.length.as_secs() / 60 {
            let (from, to) = (minute * 60, minute * 60 + 60);
            if !self.samples.iter().any(|s| (from..to).contains(&s.seconds)) {
                continue;
            }
            let _ = writeln!(
                out,
                "| {minute} | {:.1} | {:.0} | {:.0} |",
                self.mean_rss(from, to),
                self.mean_series(from, to),
                self.mean(from, to, |s| s.exposition_kib)
            );
        }
        out
    }
}
