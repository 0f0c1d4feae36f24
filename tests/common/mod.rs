//! Helpers shared by the integration tests: a plain HTTP/1.1 GET over loopback and a reader
//! for the text exposition format.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status code, lower-cased headers, body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Sends `GET path` with `Connection: close` and reads the whole response.
pub async fn http_get(address: SocketAddr, path: &str) -> HttpResponse {
    http_request(address, "GET", path).await
}

/// Sends `METHOD path` (no body) with `Connection: close` and reads the whole response.
pub async fn http_request(address: SocketAddr, method: &str, path: &str) -> HttpResponse {
    let stream = TcpStream::connect(address).await.expect("connect");
    http_exchange(stream, &address.to_string(), method, path, "").await
}

/// One HTTP/1.1 exchange over `stream` (plain or TLS); `headers` are extra header lines, each
/// ending in CRLF.
pub async fn http_exchange<S>(
    mut stream: S,
    host: &str,
    method: &str,
    path: &str,
    headers: &str,
) -> HttpResponse
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n{headers}\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    // A TLS peer may close without close_notify after Connection: close; what was read counts.
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("response within 10 s");
    parse_response(raw)
}

/// Parses a raw HTTP/1.1 response.
pub fn parse_response(raw: Vec<u8>) -> HttpResponse {
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    out
}

/// Sample lines of an exposition as `series → value` (`name{labels}` exactly as written).
pub fn samples(exposition: &str) -> BTreeMap<String, f64> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Samples of one metric, keyed by their label sets parsed into maps.
pub fn metric(exposition: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    samples(exposition)
        .into_iter()
        .filter_map(|(series, value)| {
            let labels = match series.strip_prefix(name)? {
                "" => "",
                rest => rest.strip_prefix('{')?.strip_suffix('}')?,
            };
            Some((parse_labels(labels), value))
        })
        .collect()
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let end = after.find("\",").unwrap_or(after.len() - 1);
        labels.insert(
            key.trim_start_matches(',').to_string(),
            after[..end].to_string(),
        );
        rest = &after[end + 1..];
    }
    labels
}

/// The value of the one sample of `name` whose labels include all of `want`.
pub fn value(exposition: &str, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = metric(exposition, name)
        .into_iter()
        .filter(|(labels, _)| {
            want.iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| v)
        .collect();
    match matching.as_slice() {
        [] => None,
        [one] => Some(*one),
        many => panic!("{} samples of {name} match {want:?}", many.len()),
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T>(limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An agent as a test sees it in its source data, for computing expected metric values.
#[derive(Debug, Clone)]
pub struct AgentView {
    pub status: String,
    /// Routing profile label value: its name, or its ID where the test labels by ID.
    pub routing_profile: String,
    /// Pending next status.
    pub next_status: Option<String>,
    /// Seconds in its status at the reference time.
    pub status_age_at_reference: f64,
    /// (API channel, max, active, available)
    pub slots: Vec<(String, i64, i64, i64)>,
    pub contacts: Vec<ContactView>,
}

/// A contact as a test sees it in its source data.
#[derive(Debug, Clone)]
pub struct ContactView {
    /// Queue label value: its name, or its ID where the test labels by ID.
    pub queue: String,
    /// API channel, e.g. `VOICE`.
    pub channel: String,
    /// API state, e.g. `CONNECTED`.
    pub state: String,
    /// API initiation method, e.g. `INBOUND`.
    pub initiation_method: String,
    /// Seconds in its state at a reference time taken just before the exporter started.
    pub age_at_reference: f64,
}

/// Asserts that the queue set's slot, status, contact and age series in `text` are exactly
/// what `agents` (the set's agents, each once) say, and the per-profile, next-status,
/// initiation-method, missed-agent and status-age views too.
pub fn assert_set_matches(text: &str, set_name: &str, agents: &[AgentView]) {
    assert_agent_views_match(text, set_name, agents);
    let mut slots: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut statuses: BTreeMap<String, f64> = BTreeMap::new();
    let mut contacts: BTreeMap<(String, String, String), (f64, f64)> = BTreeMap::new();
    for agent in agents {
        *statuses.entry(agent.status.clone()).or_default() += 1.0;
        for (channel, max, active, available) in &agent.slots {
            let channel = channel.to_lowercase();
            for (kind, count) in [("max", max), ("active", active), ("available", available)] {
                *slots
                    .entry((kind.to_string(), channel.clone()))
                    .or_default() += *count as f64;
            }
        }
        for c in &agent.contacts {
            let entry = contacts
                .entry((
                    c.queue.clone(),
                    c.channel.to_lowercase(),
                    c.state.to_lowercase(),
                ))
                .or_default();
            entry.0 += 1.0;
            entry.1 = entry.1.max(c.age_at_reference);
        }
    }
    let of_set = |name: &str| {
        metric(text, name)
            .into_iter()
            .filter(|(l, _)| l.get("queue_set").map(String::as_str) == Some(set_name))
            .collect::<Vec<_>>()
    };
    for kind in ["max", "active", "available"] {
        let name = format!("amazon_connect_agent_slots_{kind}");
        let got: BTreeMap<String, f64> = of_set(&name)
            .into_iter()
            .map(|(l, v)| (l["channel"].clone(), v))
            .collect();
        let wanted: BTreeMap<String, f64> = slots
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|((_, c), v)| (c.clone(), *v))
            .collect();
        assert_eq!(got, wanted, "{name} for {set_name}");
    }
    let got_statuses: BTreeMap<String, f64> = of_set("amazon_connect_agents")
        .into_iter()
        .map(|(l, v)| (l["status"].clone(), v))
        .collect();
    assert_eq!(got_statuses, statuses, "agents by status for {set_name}");
    let got_contacts: BTreeMap<(String, String, String), f64> =
        of_set("amazon_connect_agent_contacts")
            .into_iter()
            .map(|(l, v)| {
                (
                    (l["queue"].clone(), l["channel"].clone(), l["state"].clone()),
                    v,
                )
            })
            .collect();
    let wanted_contacts: BTreeMap<_, _> = contacts
        .iter()
        .map(|(k, (count, _))| (k.clone(), *count))
        .collect();
    assert_eq!(got_contacts, wanted_contacts, "contacts for {set_name}");
    for ((queue, channel, state), (_, oldest)) in &contacts {
        let age = value(
            text,
            "amazon_connect_agent_contact_state_age_seconds_max",
            &[
                ("queue_set", set_name),
                ("queue", queue),
                ("channel", channel),
                ("state", state),
            ],
        )
        .expect("an age series for every contacts series");
        // Polls start after the reference time, within the test's time limit.
        assert!(
            age >= *oldest && age < oldest + 30.0,
            "age of {queue}/{channel}/{state} in {set_name}: {age} vs {oldest}"
        );
    }
}

fn assert_agent_views_match(text: &str, set_name: &str, agents: &[AgentView]) {
    let mut by_profile: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut next: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_method: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut status_age: BTreeMap<String, f64> = BTreeMap::new();
    let mut with_missed = 0.0;
    for agent in agents {
        *by_profile
            .entry((agent.routing_profile.clone(), agent.status.clone()))
            .or_default() += 1.0;
        if let Some(status) = &agent.next_status {
            *next.entry(status.clone()).or_default() += 1.0;
        }
        let oldest = status_age.entry(agent.status.clone()).or_default();
        *oldest = oldest.max(agent.status_age_at_reference);
        if agent.contacts.iter().any(|c| c.state == "MISSED") {
            with_missed += 1.0;
        }
        for c in &agent.contacts {
            *by_method
                .entry((c.initiation_method.to_lowercase(), c.channel.to_lowercase()))
                .or_default() += 1.0;
        }
    }
    let of_set = |name: &str, keys: &[&str]| -> BTreeMap<Vec<String>, f64> {
        metric(text, name)
            .into_iter()
            .filter(|(l, _)| l.get("queue_set").map(String::as_str) == Some(set_name))
            .map(|(l, v)| (keys.iter().map(|k| l[*k].clone()).collect(), v))
            .collect()
    };
    let pairs = |map: &BTreeMap<(String, String), f64>| -> BTreeMap<Vec<String>, f64> {
        map.iter()
            .map(|((a, b), v)| (vec![a.clone(), b.clone()], *v))
            .collect()
    };
    assert_eq!(
        of_set(
            "amazon_connect_agents_by_routing_profile",
            &["routing_profile", "status"]
        ),
        pairs(&by_profile),
        "agents by routing profile for {set_name}"
    );
    assert_eq!(
        of_set("amazon_connect_agents_next_status", &["next_status"]),
        next.iter().map(|(k, v)| (vec![k.clone()], *v)).collect(),
        "agents by next status for {set_name}"
    );
    assert_eq!(
        of_set(
            "amazon_connect_agent_contacts_by_initiation_method",
            &["initiation_method", "channel"]
        ),
        pairs(&by_method),
        "contacts by initiation method for {set_name}"
    );
    assert_eq!(
        of_set("amazon_connect_agents_with_missed_contacts", &[]),
        BTreeMap::from([(vec![], with_missed)]),
        "agents with missed contacts for {set_name}"
    );
    let ages = of_set("amazon_connect_agent_status_age_seconds_max", &["status"]);
    let statuses: Vec<Vec<String>> = status_age.keys().map(|k| vec![k.clone()]).collect();
    assert_eq!(
        ages.keys().cloned().collect::<Vec<_>>(),
        statuses,
        "statuses with an age series for {set_name}"
    );
    for (status, oldest) in &status_age {
        let age = ages[&vec![status.clone()]];
        assert!(
            age >= *oldest && age < oldest + 30.0,
            "status age of {status} in {set_name}: {age} vs {oldest}"
        );
    }
}

/// Runs `promtool check metrics` on `exposition`. Without promtool the test fails and says how
/// to install it: a check that cannot run must not pass.
pub fn promtool_check_metrics(exposition: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{}", missing_tool("promtool", &error)));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && report.trim().is_empty(),
        "promtool check metrics found problems:\n{report}"
    );
}

/// Starts the real exporter in this process on 127.0.0.1 with `yaml` and static test keys.
pub async fn start_exporter(yaml: &str) -> amazon_connect_exporter::app::Exporter {
    let yaml = yaml.to_string();
    start_exporter_with(
        std::sync::Arc::new(move || {
            amazon_connect_exporter::config::parse(&yaml, std::path::Path::new("test.yaml"))
        }),
        amazon_connect_exporter::web::server::DEFAULT_MAX_CONNECTIONS,
    )
    .await
}

/// The configuration text an exporter started by [`start_exporter_editable`] reads at every
/// reload: replace it, then reload.
#[allow(dead_code)]
pub type EditableConfig = std::sync::Arc<std::sync::Mutex<String>>;

/// Starts the real exporter with `yaml`, and gives the text it reads again at each reload.
#[allow(dead_code)]
pub async fn start_exporter_editable(
    yaml: String,
) -> (amazon_connect_exporter::app::Exporter, EditableConfig) {
    let current: EditableConfig = std::sync::Arc::new(std::sync::Mutex::new(yaml));
    let shared = std::sync::Arc::clone(&current);
    let exporter = start_exporter_with(
        std::sync::Arc::new(move || {
            let text = shared.lock().unwrap().clone();
            amazon_connect_exporter::config::parse(&text, std::path::Path::new("test.yaml"))
        }),
        amazon_connect_exporter::web::server::DEFAULT_MAX_CONNECTIONS,
    )
    .await;
    (exporter, current)
}

/// Starts the real exporter in this process on 127.0.0.1 with a configuration loader.
pub async fn start_exporter_with(
    config_loader: amazon_connect_exporter::app::ConfigLoader,
    max_connections: usize,
) -> amazon_connect_exporter::app::Exporter {
    try_start_exporter_with(config_loader, max_connections)
        .await
        .expect("exporter starts")
}

/// [`start_exporter_with`], returning the start error instead of panicking on it.
#[allow(dead_code)]
pub async fn try_start_exporter_with(
    config_loader: amazon_connect_exporter::app::ConfigLoader,
    max_connections: usize,
) -> Result<amazon_connect_exporter::app::Exporter, amazon_connect_exporter::app::StartError> {
    try_start_exporter_at(config_loader, max_connections, None).await
}

/// Starts the real exporter with `yaml`, its polls reading the time `clock_at` (epoch seconds)
/// instead of the system clock: with a frozen simulator at a fixed time, every data series is
/// the same from run to run.
#[allow(dead_code)]
pub async fn start_exporter_at(
    yaml: &str,
    clock_at: f64,
) -> amazon_connect_exporter::app::Exporter {
    let yaml = yaml.to_string();
    try_start_exporter_at(
        std::sync::Arc::new(move || {
            amazon_connect_exporter::config::parse(&yaml, std::path::Path::new("test.yaml"))
        }),
        amazon_connect_exporter::web::server::DEFAULT_MAX_CONNECTIONS,
        Some(clock_at),
    )
    .await
    .expect("exporter starts")
}

async fn try_start_exporter_at(
    config_loader: amazon_connect_exporter::app::ConfigLoader,
    max_connections: usize,
    clock_at: Option<f64>,
) -> Result<amazon_connect_exporter::app::Exporter, amazon_connect_exporter::app::StartError> {
    amazon_connect_exporter::app::Exporter::start(amazon_connect_exporter::app::Settings {
        config_loader,
        listen_address: "127.0.0.1:0".into(),
        telemetry_path: "/metrics".into(),
        credentials: Some(aws_sdk_connect::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )),
        max_connections,
        web: amazon_connect_exporter::web::WebConfig::default(),
        clock: clock_at.map_or(
            amazon_connect_exporter::poll::WallClock::System,
            amazon_connect_exporter::poll::WallClock::Fixed,
        ),
        enable_lifecycle: true,
    })
    .await
}

/// How many polls of queue set `set` the exposition `text` has recorded.
pub fn polls_of(text: &str, set: &str) -> f64 {
    value(
        text,
        "amazon_connect_exporter_poll_duration_seconds_count",
        &[("queue_set", set)],
    )
    .unwrap_or(0.0)
}

/// Waits until queue set `set` has finished `more` polls beyond those recorded now; returns
/// the count it started from and the page that showed the later one.
#[allow(dead_code)]
pub async fn after_more_polls(address: SocketAddr, set: &str, more: f64) -> (f64, String) {
    let before = polls_of(&http_get(address, "/metrics").await.body, set);
    let text = eventually(Duration::from_secs(20), async || {
        let text = http_get(address, "/metrics").await.body;
        (polls_of(&text, set) >= before + more).then_some(text)
    })
    .await;
    (before, text)
}

/// Scrapes `/metrics` until every queue set in `sets` reports `up` 1 after at least two polls,
/// and returns that page: what a frozen source gives settles at the second poll (a contact
/// total is published at 0 by the poll that creates it and counts that poll's pairs at the
/// next).
pub async fn scrape_when_up(address: SocketAddr, sets: &[&str]) -> String {
    eventually(Duration::from_secs(40), async || {
        let text = http_get(address, "/metrics").await.body;
        sets.iter()
            .all(|set| {
                value(&text, "amazon_connect_up", &[("queue_set", set)]) == Some(1.0)
                    && polls_of(&text, set) >= 2.0
            })
            .then_some(text)
    })
    .await
}

/// Unix time now, in seconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// The agents of `set` as the API's queue filter defines them: those whose routing profile
/// serves any of its queues; queues and routing profiles by name, as the exporter labels them
/// by default.
pub fn scenario_views(
    scenario: &connect_simulator::scenario::Scenario,
    set: &[String],
    reference: f64,
) -> Vec<AgentView> {
    with_names(scenario, scenario_views_by_id(scenario, set, reference))
}

/// The agents `keep` selects, labelled by name as the exporter does by default.
#[allow(dead_code)]
pub fn agent_views(
    scenario: &connect_simulator::scenario::Scenario,
    keep: impl Fn(&connect_simulator::scenario::Agent) -> bool,
    reference: f64,
) -> Vec<AgentView> {
    with_names(scenario, agent_views_by_id(scenario, keep, reference))
}

/// `views` with queue and routing profile IDs replaced by the simulator's (unique) names.
fn with_names(
    scenario: &connect_simulator::scenario::Scenario,
    mut views: Vec<AgentView>,
) -> Vec<AgentView> {
    let queue_names: std::collections::HashMap<&str, &str> = scenario
        .queues
        .iter()
        .map(|q| (q.id.as_str(), q.name.as_str()))
        .collect();
    let profile_names: std::collections::HashMap<&str, &str> = scenario
        .routing_profiles
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    let unique = |names: &std::collections::HashMap<&str, &str>| {
        names
            .values()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == names.len()
    };
    assert!(
        unique(&queue_names) && unique(&profile_names),
        "the simulator names every queue and profile uniquely"
    );
    for agent in &mut views {
        agent.routing_profile = profile_names[agent.routing_profile.as_str()].to_string();
        for contact in &mut agent.contacts {
            contact.queue = queue_names[contact.queue.as_str()].to_string();
        }
    }
    views
}

/// [`scenario_views`] labelled by ID (`label_values: ids`).
pub fn scenario_views_by_id(
    scenario: &connect_simulator::scenario::Scenario,
    set: &[String],
    reference: f64,
) -> Vec<AgentView> {
    let wanted: std::collections::BTreeSet<&str> = set.iter().map(String::as_str).collect();
    let serving: std::collections::HashMap<&str, bool> = scenario
        .routing_profiles
        .iter()
        .map(|profile| {
            let serves = profile
                .queues
                .iter()
                .any(|q| wanted.contains(q.queue_id.as_str()));
            (profile.id.as_str(), serves)
        })
        .collect();
    agent_views_by_id(
        scenario,
        |agent| serving.get(agent.routing_profile_id.as_str()) == Some(&true),
        reference,
    )
}

/// The agents `keep` selects, labelled by ID.
pub fn agent_views_by_id(
    scenario: &connect_simulator::scenario::Scenario,
    keep: impl Fn(&connect_simulator::scenario::Agent) -> bool,
    reference: f64,
) -> Vec<AgentView> {
    scenario
        .agents
        .iter()
        .filter(|agent| keep(agent))
        .map(|agent| AgentView {
            status: agent.status_name.clone(),
            routing_profile: agent.routing_profile_id.clone(),
            next_status: agent.next_status.clone(),
            status_age_at_reference: reference - agent.status_start,
            slots: agent
                .max_slots
                .keys()
                .chain(agent.active_slots.keys())
                .chain(agent.available_slots.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|channel| {
                    let get = |map: &std::collections::BTreeMap<String, i32>| {
                        i64::from(map.get(channel).copied().unwrap_or(0))
                    };
                    (
                        channel.clone(),
                        get(&agent.max_slots),
                        get(&agent.active_slots),
                        get(&agent.available_slots),
                    )
                })
                .collect(),
            contacts: agent
                .contacts
                .iter()
                .map(|c| ContactView {
                    queue: c.queue_id.clone(),
                    channel: c.channel.clone(),
                    state: c.state.clone(),
                    initiation_method: c.initiation_method.clone(),
                    age_at_reference: reference - c.state_start,
                })
                .collect(),
        })
        .collect()
}

/// The real binary, killed on drop if a test fails before stopping it.
pub struct RunningBinary(pub std::process::Child);

impl RunningBinary {
    /// Sends a signal (`TERM`, `HUP`, ...) with the shell's `kill` builtin.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("sh")
            .args(["-c", &format!("kill -{name} {}", self.0.id())])
            .status()
            .expect("sh runs");
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the process to exit, at most `limit`.
    pub async fn wait_for_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        eventually(limit, async || self.0.try_wait().ok().flatten()).await
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args` plus `--web.listen-address 127.0.0.1:0` and returns it with
/// the address its "exporter started" log line names.
pub fn spawn_exporter(args: &[&str], envs: &[(&str, &str)]) -> (RunningBinary, SocketAddr) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amazon-connect-exporter"))
        .args(args)
        .args(["--web.listen-address", "127.0.0.1:0"])
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    // Owned before waiting, so a failed wait below still kills the process on unwinding.
    let running = RunningBinary(child);
    let (found, receive) = std::sync::mpsc::channel();
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
    (running, address)
}

/// Starts a simulator with `options` on a free loopback port.
pub async fn start_simulator(
    options: connect_simulator::SimulatorOptions,
) -> connect_simulator::RunningSimulator {
    connect_simulator::RunningSimulator::start(options, "127.0.0.1:0")
        .await
        .expect("simulator starts")
}

/// The official SDK client for a simulator at `endpoint_url`, with static test keys.
#[allow(dead_code)]
pub fn sdk_client(endpoint_url: &str) -> aws_sdk_connect::Client {
    use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_connect::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-2"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(endpoint_url)
        .build();
    aws_sdk_connect::Client::from_conf(config)
}

/// A small contact centre (40 agents, 12 queues, 10 routing profiles) of `seed` as instance
/// `instance_id`, frozen at `clock_at` (epoch seconds), for tests that compare whole
/// expositions with a golden file.
#[allow(dead_code)]
pub async fn start_simulator_frozen_at(
    clock_at: f64,
    seed: u64,
    instance_id: &str,
) -> connect_simulator::RunningSimulator {
    start_simulator(connect_simulator::SimulatorOptions {
        frozen: true,
        clock_at: Some(clock_at),
        seed,
        agents: 40,
        instance_id: instance_id.to_string(),
        ..Default::default()
    })
    .await
}

/// The instance ID of a simulator started by [`start_simulator_frozen_at`].
#[allow(dead_code)]
pub fn simulator_instance_id(running: &connect_simulator::RunningSimulator) -> String {
    running.simulator().instance_id().to_string()
}

/// The default contact centre, frozen for exact tests.
pub fn frozen() -> connect_simulator::SimulatorOptions {
    connect_simulator::SimulatorOptions {
        frozen: true,
        ..Default::default()
    }
}

/// Fails `test` unless the external program `name` can be run (`name --version`), with a
/// message that says how to install it: a check that cannot run must not pass.
pub fn require_tool(name: &str, test: &str) {
    if let Err(error) = std::process::Command::new(name)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        panic!("{test}: {}", missing_tool(name, &error));
    }
}

/// What to do about a missing tool: install it as `.ci/test` does.
fn missing_tool(name: &str, error: &std::io::Error) -> String {
    let package = match name {
        "chromium" => "chromium",
        _ => "prometheus",
    };
    format!(
        "{name} cannot be run ({error}); it comes with Debian's {package} package: \
         `apt-get install {package}`, or run the suite with `.ci/test`, which installs it"
    )
}
