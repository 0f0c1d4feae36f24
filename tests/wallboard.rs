//! The wallboard in a real browser: Debian's headless Chromium loads `/` from the exporter
//! polling the frozen simulator (real-time rounds every 2 s, intraday KPIs with two
//! thresholds), waits for the page to refresh itself, and every number the page shows equals
//! what `/metrics` of the same generation gives, each cell's colour what the configured
//! thresholds say; at 1920×1080 and at 390×844 the page does not scroll sideways, and the
//! browser reports no Content-Security-Policy violation.
//!
//! Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: fds 3
//! and 4, JSON messages ending in NUL) rather than with `--window-size` and `--dump-dom`: a
//! headless window is at least 500 pixels wide, so only the protocol's device-metrics override
//! gives a 390-pixel viewport, and the test can wait for the page's own refresh instead of a
//! guessed time budget.

mod common;

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{http_get, metric, value};

/// Where the simulated clock stands: 2026-09-21T21:46:40Z, late in a UTC day, so that "today"
/// has contacts.
const SIMULATED_NOW: f64 = 1_790_027_200.0;
/// The exporter's polls read a fixed clock half a second later.
const EXPORTER_NOW: f64 = SIMULATED_NOW + 0.5;
/// A queue set name that is also markup: the page must show it as text. (No `"`: the
/// exposition reader of the tests does not undo the text format's escapes.)
const MARKUP_NAME: &str = "<i>front</i> & co";
/// The thresholds the configuration below sets, as (amber, red, higher is worse).
const THRESHOLDS: [(&str, f64, f64, bool); 5] = [
    ("contacts_in_queue", 1.0, 4.0, true),
    ("oldest_contact_age_seconds", 10.0, 120.0, true),
    ("missed_last_15m", 1.0, 3.0, true),
    ("service_level_today", 0.9, 0.7, false),
    ("abandonment_today", 0.02, 0.2, true),
];

/// A headless Chromium spoken to over the DevTools protocol on a pipe; killed on drop.
struct Chromium {
    child: Child,
    commands: ChildStdin,
    messages: mpsc::Receiver<Value>,
    next_id: u64,
    /// Events received so far (console and log entries, exceptions), in order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    fn start() -> Self {
        let profile = tempfile::tempdir().expect("a profile directory");
        // The shell hands our pipes to Chromium as fds 3 (commands) and 4 (answers).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --no-default-browser-check --disable-extensions --disable-background-networking --remote-debugging-pipe --user-data-dir="$0" about:blank 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg(profile.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh runs");
        let commands = child.stdin.take().expect("stdin");
        let answers = child.stdout.take().expect("stdout");
        let (send, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(answers);
            let mut message = Vec::new();
            let mut byte = [0u8; 1];
            while reader.read_exact(&mut byte).is_ok() {
                if byte[0] != 0 {
                    message.push(byte[0]);
                    continue;
                }
                if let Ok(parsed) = serde_json::from_slice::<Value>(&message) {
                    if send.send(parsed).is_err() {
                        return;
                    }
                }
                message.clear();
            }
        });
        Self {
            child,
            commands,
            messages,
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        }
    }

    /// Sends `method` (to `session`, or the browser) and returns its result.
    fn call(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("JSON");
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .and_then(|()| self.commands.flush())
            .unwrap_or_else(|error| panic!("Chromium took no command ({error})"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self
                .messages
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("Chromium did not answer {method} within 30 s"));
            if answer["id"] == id {
                assert!(
                    answer.get("error").is_none(),
                    "{method} failed: {}",
                    answer["error"]
                );
                return answer["result"].clone();
            }
            if answer.get("method").is_some() {
                self.events.push(answer);
            }
        }
    }

    /// A new tab with a `width`×`height` viewport (a phone's below 500 pixels), its console
    /// and log reported; returns its session.
    fn tab(&mut self, width: u32, height: u32) -> String {
        let target = self.call("Target.createTarget", json!({"url": "about:blank"}), None);
        let attached = self.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
            None,
        );
        let session = attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_string();
        self.call("Log.enable", json!({}), Some(&session));
        self.call("Runtime.enable", json!({}), Some(&session));
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500}),
            Some(&session),
        );
        session
    }

    /// The value of `expression` in the tab's page (a JSON text, parsed).
    fn evaluate(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
            Some(session),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "the expression failed: {}",
            result["exceptionDetails"]
        );
        let text = result["result"]["value"].as_str().unwrap_or("null");
        serde_json::from_str(text).expect("the expression gives JSON")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the page shows, read from its DOM: the board's generation and drawings, the document's
/// widths as the page measured them, and every element with a `data-field`.
const READ_PAGE: &str = r#"(() => {
  const board = document.getElementById("wallboard");
  if (!board) {
    return JSON.stringify({ renders: 0 }); // still loading
  }
  const root = document.documentElement;
  const shown = (node) => (node.querySelector(".value") || node.querySelector(".count") || node).textContent;
  return JSON.stringify({
    renders: Number(board.dataset.renders || 0),
    generation: board.dataset.generation === undefined ? null : Number(board.dataset.generation),
    scrollWidth: Number(root.dataset.scrollWidth),
    clientWidth: Number(root.dataset.clientWidth),
    markupElements: board.querySelectorAll("i").length,
    sets: [...board.querySelectorAll("article.set")].map((set) => ({
      instance: set.dataset.instance,
      queueSet: set.dataset.queueSet,
      title: set.querySelector(".set-name").textContent,
      up: set.dataset.up === "true",
      cells: [...set.querySelectorAll("[data-field]")].map((node) => ({
        field: node.dataset.field,
        status: node.dataset.status || null,
        channel: node.dataset.channel || null,
        value: node.dataset.value,
        state: node.dataset.state || null,
        text: shown(node),
        note: (node.querySelector(".note") || {}).textContent || null,
      })),
    })),
  });
})()"#;

/// Reads the page until it has drawn more than `renders` times; at most 20 s.
fn next_drawing(browser: &mut Chromium, session: &str, renders: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = browser.evaluate(session, READ_PAGE);
        if page["renders"].as_u64().unwrap_or(0) > renders {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "the page did not draw the wallboard again within 20 s: {page}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The generation of an exposition.
fn generation(text: &str) -> f64 {
    value(text, "amazon_connect_exporter_publishes_total", &[]).expect("the publish counter")
}

/// The samples of `name` of queue set `set`.
fn of_set(text: &str, name: &str, set: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    metric(text, name)
        .into_iter()
        .filter(|(labels, _)| labels.get("queue_set").map(String::as_str) == Some(set))
        .collect()
}

/// What each cell of `set` must show, computed from the exposition: (field, status or
/// channel) → value, `None` where the page must show no value.
fn expected_cells(text: &str, set: &str) -> BTreeMap<(String, String), Option<f64>> {
    let mut cells = BTreeMap::new();
    let sum = |name: &str| {
        let samples = of_set(text, name, set);
        (!samples.is_empty()).then(|| samples.iter().map(|(_, v)| v).sum::<f64>())
    };
    for (labels, count) in of_set(text, "amazon_connect_agents", set) {
        cells.insert(("agents".into(), labels["status"].clone()), Some(count));
    }
    for kind in ["available", "active"] {
        let name = format!("amazon_connect_agent_slots_{kind}");
        for (labels, count) in of_set(text, &name, set) {
            cells.insert(
                (format!("slots_{kind}"), labels["channel"].clone()),
                Some(count),
            );
        }
    }
    // A channel with slots of one kind only shows 0 for the other.
    let channels: Vec<String> = cells
        .keys()
        .filter(|(field, _)| field.starts_with("slots_"))
        .map(|(_, channel)| channel.clone())
        .collect();
    for channel in channels {
        for kind in ["slots_available", "slots_active"] {
            cells
                .entry((kind.to_string(), channel.clone()))
                .or_insert(Some(0.0));
        }
    }
    let none = String::new;
    cells.insert(
        ("contacts_in_queue".into(), none()),
        sum("amazon_connect_queue_contacts_in_queue"),
    );
    let oldest = of_set(text, "amazon_connect_queue_oldest_contact_age_seconds", set)
        .into_iter()
        .map(|(_, v)| v)
        .reduce(f64::max);
    cells.insert(("oldest_contact_age_seconds".into(), none()), oldest);
    // The exporter started less than 15 minutes ago and every total was published at 0 by
    // the round that created it: everything counted so far is within the last 15 minutes.
    cells.insert(
        ("missed_last_15m".into(), none()),
        Some(sum("amazon_connect_missed_contacts_total").unwrap_or(0.0)),
    );
    let today: Vec<(BTreeMap<String, String>, f64)> =
        of_set(text, "amazon_connect_queue_service_level_ratio", set)
            .into_iter()
            .filter(|(labels, _)| labels["window"] == "today")
            .collect();
    let first = today
        .iter()
        .filter_map(|(labels, _)| labels["threshold"].parse::<u32>().ok())
        .min();
    let lowest = today
        .iter()
        .filter(|(labels, _)| labels["threshold"].parse::<u32>().ok() == first)
        .map(|(_, ratio)| *ratio)
        .reduce(f64::min);
    cells.insert(("service_level_today".into(), none()), lowest);
    let today_sum = |name: &str| -> f64 {
        of_set(text, name, set)
            .into_iter()
            .filter(|(labels, _)| labels["window"] == "today")
            .map(|(_, v)| v)
            .sum()
    };
    let queued = today_sum("amazon_connect_queue_contacts_queued");
    cells.insert(
        ("abandonment_today".into(), none()),
        (queued > 0.0).then(|| today_sum("amazon_connect_queue_contacts_abandoned") / queued),
    );
    cells
}

/// The lowest today's service level at the set's first threshold, as the page's note names it
/// ("today, 20 s, lowest: QUEUE (channel)"): ties go to the first queue and channel by name.
fn expected_note(text: &str, set: &str) -> Option<String> {
    let mut rows: Vec<(f64, u32, String, String)> =
        of_set(text, "amazon_connect_queue_service_level_ratio", set)
            .into_iter()
            .filter(|(labels, _)| labels["window"] == "today")
            .filter_map(|(labels, ratio)| {
                Some((
                    ratio,
                    labels["threshold"].parse().ok()?,
                    labels["queue"].clone(),
                    labels["channel"].clone(),
                ))
            })
            .collect();
    let first = rows.iter().map(|row| row.1).min()?;
    rows.retain(|row| row.1 == first);
    rows.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| a.3.cmp(&b.3))
    });
    let (_, threshold, queue, channel) = rows.first()?;
    Some(format!("today, {threshold} s, lowest: {queue} ({channel})"))
}

/// The state a cell must be in under [`THRESHOLDS`].
fn expected_state(field: &str, value: Option<f64>) -> &'static str {
    let Some(value) = value else {
        return "none";
    };
    let Some(&(_, amber, red, higher_is_worse)) = THRESHOLDS.iter().find(|t| t.0 == field) else {
        return "none";
    };
    let (is_red, is_amber) = if higher_is_worse {
        (value >= red, value >= amber)
    } else {
        (value < red, value < amber)
    };
    match (is_red, is_amber) {
        (true, _) => "red",
        (false, true) => "amber",
        _ => "ok",
    }
}

/// Whether the text the page shows is `value` as the page formats its field.
fn shows(field: &str, value: f64, text: &str) -> bool {
    match field {
        "oldest_contact_age_seconds" => {
            let whole = value.round() as u64;
            let (hours, minutes, seconds) = (whole / 3600, whole % 3600 / 60, whole % 60);
            let want = if hours > 0 {
                format!("{hours}:{minutes:02}:{seconds:02}")
            } else {
                format!("{minutes}:{seconds:02}")
            };
            text == want
        }
        // One decimal of a percentage: JavaScript and Rust may round a tie differently.
        "service_level_today" | "abandonment_today" => text
            .strip_suffix(" %")
            .and_then(|number| number.parse::<f64>().ok())
            .is_some_and(|shown| (shown - value * 100.0).abs() <= 0.050_001),
        _ => text == format!("{}", value.round()),
    }
}

/// Checks one drawing of the page against the exposition of the same generation.
fn assert_page_matches(page: &Value, text: &str, size: &str) {
    let sets = page["sets"].as_array().expect("sets");
    let names: Vec<&str> = sets
        .iter()
        .map(|set| set["queueSet"].as_str().unwrap_or(""))
        .collect();
    // In the order of the status table: by instance, then by name ('<' before letters).
    assert_eq!(names, [MARKUP_NAME, "everything", "north"], "{size}");
    assert_eq!(page["markupElements"], 0, "a name was read as HTML");
    let mut states = Vec::new();
    for set in sets {
        let name = set["queueSet"].as_str().unwrap_or("");
        assert_eq!(set["title"], name, "the title is the name as text");
        assert_eq!(set["instance"], "sim");
        assert_eq!(set["up"], true, "{name} at {size}");
        let want = expected_cells(text, name);
        let mut got = BTreeMap::new();
        for cell in set["cells"].as_array().expect("cells") {
            let field = cell["field"].as_str().unwrap_or("").to_string();
            let detail = cell["status"]
                .as_str()
                .or(cell["channel"].as_str())
                .unwrap_or("")
                .to_string();
            let raw = cell["value"].as_str().unwrap_or("");
            let value: Option<f64> = (!raw.is_empty()).then(|| raw.parse().expect("a number"));
            let shown = cell["text"].as_str().unwrap_or("");
            match value {
                Some(value) => assert!(
                    shows(&field, value, shown),
                    "{name}/{field}/{detail} at {size}: shows {shown:?} for {value}"
                ),
                None => assert_eq!(shown, "–", "{name}/{field} at {size}"),
            }
            if !field.starts_with("slots_") && field != "agents" {
                let state = cell["state"].as_str().unwrap_or("");
                assert_eq!(
                    state,
                    expected_state(&field, value),
                    "{name}/{field} at {size}: {value:?}"
                );
                states.push(state.to_string());
            }
            if field == "service_level_today" && value.is_some() {
                assert_eq!(
                    cell["note"].as_str().map(str::to_string),
                    expected_note(text, name),
                    "{name} at {size}"
                );
            }
            got.insert((field, detail), value);
        }
        assert_eq!(
            got.len(),
            want.len(),
            "{name} at {size}: {got:?} vs {want:?}"
        );
        for (key, want) in &want {
            let got = got
                .get(key)
                .unwrap_or_else(|| panic!("{name} at {size}: no cell {key:?}"));
            match (got, want) {
                (Some(got), Some(want)) => assert!(
                    (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{name} {key:?} at {size}: the page shows {got}, /metrics gives {want}"
                ),
                _ => assert_eq!(got, want, "{name} {key:?} at {size}"),
            }
        }
    }
    // The cases the test must contain to mean something.
    let front = &sets[0]["cells"];
    let has = |field: &str| {
        front.as_array().is_some_and(|cells| {
            cells
                .iter()
                .any(|c| c["field"] == field && c["value"] != "")
        })
    };
    assert!(
        has("service_level_today") && has("abandonment_today") && has("contacts_in_queue"),
        "the front set has today's KPIs and a backlog: {front}"
    );
    let north = &sets[2]["cells"];
    assert!(
        north.as_array().is_some_and(|cells| cells
            .iter()
            .any(|c| c["field"] == "contacts_in_queue" && c["value"] == "")),
        "a hierarchy-group set has no backlog: {north}"
    );
    assert!(
        states.iter().any(|s| s != "ok" && s != "none"),
        "some cell is coloured: {states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_numbers_of_metrics_of_its_generation_without_overflow() {
    common::require_tool("chromium", "the wallboard test");
    let simulator = common::start_simulator(connect_simulator::SimulatorOptions {
        frozen: true,
        clock_at: Some(SIMULATED_NOW),
        ..Default::default()
    })
    .await;
    let scenario = simulator.simulator().scenario();
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let arn = format!(
        "arn:aws:connect:eu-west-2:123456789012:instance/{}",
        scenario.instance_id
    );
    let yaml = format!(
        r#"wallboard:
  contacts_in_queue: {{amber: 1, red: 4}}
  oldest_contact_age: {{amber: 10s, red: 2m}}
  missed_last_15m: {{amber: 1, red: 3}}
  service_level_today: {{amber: 0.9, red: 0.7}}
  abandonment_today: {{amber: 0.02, red: 0.2}}
instances:
  - name: sim
    instance_id: {arn}
    endpoint_url: {endpoint}
    poll_interval: 2s
    intraday: true
    intraday_interval: 10s
    queue_sets:
      - name: '{name}'
        queues: [{q0}, {q1}, {q2}]
        service_level_thresholds: [20s, 60s]
      - name: everything
        queues: all
      - name: north
        hierarchy_group: North
"#,
        endpoint = simulator.endpoint_url(),
        name = MARKUP_NAME.replace('\'', "''"),
        q0 = queues[0],
        q1 = queues[1],
        q2 = queues[2],
    );
    let exporter = common::start_exporter_at(&yaml, EXPORTER_NOW).await;
    let address = exporter.address();
    // Every set up after two rounds (the missed totals count from the second), today's KPIs
    // read.
    common::eventually(Duration::from_secs(60), async || {
        let text = http_get(address, "/metrics").await.body;
        let ready = [MARKUP_NAME, "everything", "north"].iter().all(|set| {
            value(&text, "amazon_connect_up", &[("queue_set", set)]) == Some(1.0)
                && common::polls_of(&text, set) >= 2.0
        }) && value(&text, "amazon_connect_source_up", &[("source", "intraday")])
            == Some(1.0);
        ready.then_some(())
    })
    .await;

    let page = http_get(address, "/").await;
    assert_eq!(
        page.headers.get("content-security-policy").map(String::as_str),
        Some("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    );
    let json = http_get(address, "/api/v1/wallboard").await;
    assert_eq!(json.headers["content-type"], "application/json");
    assert_eq!(json.headers["cache-control"], "no-store");

    let url = format!("http://{address}/");
    let mut browser = tokio::task::block_in_place(Chromium::start);
    for (width, height) in [(1920, 1080), (390, 844)] {
        let size = format!("{width}×{height}");
        let session = tokio::task::block_in_place(|| browser.tab(width, height));
        tokio::task::block_in_place(|| {
            browser.call("Page.navigate", json!({"url": url}), Some(&session))
        });
        // The first drawing, then a refresh: the page refreshes itself.
        let first = tokio::task::block_in_place(|| next_drawing(&mut browser, &session, 0));
        let mut renders = first["renders"].as_u64().unwrap_or(0);
        // A publish between the page's fetch and this scrape moves /metrics on: then the
        // next drawing is compared, and so on (rounds come every 2 s, the page refreshes
        // every 2 s, the scrape follows the drawing within tens of milliseconds).
        let mut compared = false;
        for _ in 0..10 {
            let page =
                tokio::task::block_in_place(|| next_drawing(&mut browser, &session, renders));
            renders = page["renders"].as_u64().unwrap_or(0);
            let text = http_get(address, "/metrics").await.body;
            let shown = page["generation"].as_f64().expect("a generation");
            let scraped = generation(&text);
            assert!(
                scraped >= shown,
                "/metrics is behind the page: {scraped} < {shown}"
            );
            if scraped != shown {
                continue;
            }
            assert_page_matches(&page, &text, &size);
            let (scroll, client) = (
                page["scrollWidth"].as_f64().unwrap_or(f64::MAX),
                page["clientWidth"].as_f64().unwrap_or(0.0),
            );
            assert_eq!(client, f64::from(width), "the viewport at {size}");
            assert!(
                scroll <= client,
                "the page scrolls sideways at {size}: {} > {}",
                page["scrollWidth"],
                page["clientWidth"]
            );
            compared = true;
            break;
        }
        assert!(
            compared,
            "no drawing at {size} matched the generation of a scrape"
        );
    }
    let policy_violations: Vec<&Value> = browser
        .events
        .iter()
        .filter(|event| {
            event.to_string().contains("Content Security Policy")
                || event["method"] == "Runtime.exceptionThrown"
        })
        .collect();
    assert!(
        policy_violations.is_empty(),
        "the browser reported: {policy_violations:?}"
    );
    drop(browser);
    exporter.stop().await;
    simulator.stop().await;
}
