//! The intraday KPIs end to end: the real exporter reads GetMetricDataV2 from the frozen
//! simulator through the real SDK on an injected clock, and every published KPI equals what the
//! simulator's recorded contacts and agent time give by the metric definitions (computed here,
//! independently of the simulator's own formulas): two thresholds, two windows, a null
//! average (no sample), a queue with no rows (counts 0), and paging (a set of 60 queues on
//! three channels has more rows than a page holds). The simulator counts the requests, so the
//! budget is checked too.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use connect_simulator::{AgentActivity, HistoricalContact, SimulatorOptions};

use common::{metric, value};

/// Where the simulated clock stands: 2026-09-21T21:46:40Z, late in a UTC day.
const SIMULATED_NOW: f64 = 1_790_027_200.0;
/// The exporter's clock, half a second later: its windows end 30 s before this.
const EXPORTER_NOW: f64 = SIMULATED_NOW + 0.5;
const END_SKEW: f64 = 30.0;
/// The budget given to GetMetricDataV2, to check the exporter keeps to it.
const RATE: f64 = 4.0;
const BURST: f64 = 4.0;

/// The KPIs of one (queue, channel) over one window, by the administrator guide's
/// definitions: a contact counts in the window its disconnect falls in.
#[derive(Debug, Default)]
struct Expected {
    queued: f64,
    handled: f64,
    callbacks: f64,
    abandoned: f64,
    transferred: f64,
    answered_in: BTreeMap<u32, f64>,
    removed_in: BTreeMap<u32, f64>,
    handle: Vec<f64>,
    answer: Vec<f64>,
    abandon: Vec<f64>,
    acw: Vec<f64>,
    hold: Vec<f64>,
    max_queued: Option<f64>,
}

fn expected(contacts: &[&HistoricalContact], thresholds: &[u32]) -> Expected {
    let mut e = Expected::default();
    for c in contacts {
        let waited = c.dequeued_at - c.enqueued_at;
        e.queued += 1.0;
        e.max_queued = Some(e.max_queued.map_or(waited, |m: f64| m.max(waited)));
        for &t in thresholds {
            if waited < f64::from(t) {
                *e.removed_in.entry(t).or_default() += 1.0;
                if c.answered.is_some() {
                    *e.answered_in.entry(t).or_default() += 1.0;
                }
            }
        }
        match &c.answered {
            Some(a) => {
                e.handled += 1.0;
                if c.initiation_method == "CALLBACK" {
                    e.callbacks += 1.0;
                }
                if a.transferred_out {
                    e.transferred += 1.0;
                }
                e.handle
                    .push(a.talk_seconds + a.hold_seconds + a.after_contact_work_seconds);
                e.answer.push(waited);
                e.acw.push(a.after_contact_work_seconds);
                if a.hold_seconds > 0.0 {
                    e.hold.push(a.hold_seconds);
                }
            }
            None => {
                e.abandoned += 1.0;
                e.abandon.push(waited);
            }
        }
    }
    e
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn close(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (Some(got), Some(want)) => assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{what}: published {got}, the records give {want}"
        ),
        (got, want) => assert_eq!(got, want, "{what}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_intraday_kpi_equals_the_simulators_records() {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 300,
        queues: 60,
        routing_profiles: 20,
        frozen: true,
        clock_at: Some(SIMULATED_NOW),
        ..SimulatorOptions::default()
    })
    .await;
    let sim = simulator.simulator();
    let scenario = sim.scenario();
    let queues: Vec<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
    let some_profile = scenario.routing_profiles[0].id.clone();
    // A queue created now has no history: the service returns no row for it.
    let empty = sim
        .add_queue("Brand new", &some_profile, "VOICE")
        .expect("a new queue");
    let arn = format!(
        "arn:aws:connect:eu-west-2:123456789012:instance/{}",
        scenario.instance_id
    );
    let yaml = format!(
        "api_rate_limits:\n  GetMetricDataV2: {{ rate: {RATE}, burst: {BURST} }}\ninstances:\n  - name: sim\n    instance_id: {arn}\n    endpoint_url: {}\n    poll_interval: 1h\n    intraday: true\n    intraday_interval: 10s\n    intraday_windows: [today, 1h]\n    label_values: ids\n    queue_sets:\n      - name: front\n        queues: [{}, {}, {}, {empty}]\n        service_level_thresholds: [20s, 60s]\n        service_level_target: 0.8\n      - name: everything\n        queues: all\n",
        simulator.endpoint_url(),
        queues[0],
        queues[1],
        queues[2],
    );
    let exporter = common::start_exporter_at(&yaml, EXPORTER_NOW).await;
    let text = common::eventually(Duration::from_secs(40), async || {
        let text = common::http_get(exporter.address(), "/metrics").await.body;
        (value(&text, "amazon_connect_source_up", &[("source", "intraday")]) == Some(1.0))
            .then_some(text)
    })
    .await;
    exporter.stop().await;

    let end = EXPORTER_NOW - END_SKEW;
    let windows = [
        ("today", (end / 86_400.0).floor() * 86_400.0),
        ("1h", end - 3600.0),
    ];
    let history = sim.contact_history();
    let channels: BTreeSet<String> = history.iter().map(|c| c.channel.to_lowercase()).collect();
    let front = [&queues[0], &queues[1], &queues[2], &empty];
    for (window, start) in windows {
        for queue in front {
            for channel in &channels {
                let contacts: Vec<&HistoricalContact> = history
                    .iter()
                    .filter(|c| &c.queue_id == queue && c.channel.to_lowercase() == *channel)
                    .filter(|c| c.disconnected_at >= start && c.disconnected_at < end)
                    .collect();
                let e = expected(&contacts, &[20, 60]);
                let labels = [
                    ("queue_set", "front"),
                    ("queue", queue.as_str()),
                    ("channel", channel.as_str()),
                    ("window", window),
                ];
                let got = |name: &str| value(&text, name, &labels);
                let at = |what: &str| format!("{what} of {queue}/{channel} over {window}");
                for (name, want) in [
                    ("amazon_connect_queue_contacts_queued", e.queued),
                    ("amazon_connect_queue_contacts_handled", e.handled),
                    (
                        "amazon_connect_queue_callback_contacts_handled",
                        e.callbacks,
                    ),
                    ("amazon_connect_queue_contacts_abandoned", e.abandoned),
                    (
                        "amazon_connect_queue_contacts_transferred_out",
                        e.transferred,
                    ),
                ] {
                    close(got(name), Some(want), &at(name));
                }
                let ratio = |num: f64| (e.queued > 0.0).then(|| num / e.queued);
                close(
                    got("amazon_connect_queue_abandonment_ratio"),
                    ratio(e.abandoned),
                    &at("abandonment"),
                );
                close(
                    got("amazon_connect_queue_average_handle_time_seconds"),
                    mean(&e.handle),
                    &at("AHT"),
                );
                close(
                    got("amazon_connect_queue_average_answer_time_seconds"),
                    mean(&e.answer),
                    &at("ASA"),
                );
                close(
                    got("amazon_connect_queue_average_abandon_time_seconds"),
                    mean(&e.abandon),
                    &at("abandon time"),
                );
                close(
                    got("amazon_connect_queue_average_after_contact_work_time_seconds"),
                    mean(&e.acw),
                    &at("ACW"),
                );
                close(
                    got("amazon_connect_queue_average_hold_time_seconds"),
                    mean(&e.hold),
                    &at("hold"),
                );
                close(
                    got("amazon_connect_queue_max_queued_time_seconds"),
                    e.max_queued,
                    &at("max queued"),
                );
                for threshold in [20u32, 60] {
                    let t = threshold.to_string();
                    let mut with = labels.to_vec();
                    with.push(("threshold", t.as_str()));
                    let removed = e.removed_in.get(&threshold).copied().unwrap_or(0.0);
                    close(
                        value(&text, "amazon_connect_queue_service_level_ratio", &with),
                        ratio(removed),
                        &at("service level"),
                    );
                    let answered = e.answered_in.get(&threshold).copied().unwrap_or(0.0);
                    close(
                        value(
                            &text,
                            "amazon_connect_queue_contacts_answered_in_threshold",
                            &with,
                        ),
                        Some(answered),
                        &at("answered in"),
                    );
                }
            }
        }
    }
    // The cases the test must contain to mean something.
    let today_start = windows[0].1;
    let counted = |queue: &String| {
        history
            .iter()
            .filter(|c| {
                &c.queue_id == queue && c.disconnected_at >= today_start && c.disconnected_at < end
            })
            .count()
    };
    assert_eq!(counted(&empty), 0, "the new queue has no history");
    assert!(
        front[..3].iter().all(|q| counted(q) > 0),
        "the front queues have contacts today"
    );
    assert!(
        metric(&text, "amazon_connect_queue_contacts_queued")
            .iter()
            .any(|(l, v)| l["queue"] == empty && l["window"] == "today" && *v == 0.0),
        "the queue without rows publishes 0 counts"
    );
    let null_average = metric(&text, "amazon_connect_queue_contacts_abandoned")
        .into_iter()
        .any(|(l, v)| {
            v == 0.0
                && l["queue_set"] == "front"
                && value(
                    &text,
                    "amazon_connect_queue_average_abandon_time_seconds",
                    &[
                        ("queue_set", "front"),
                        ("queue", &l["queue"]),
                        ("channel", &l["channel"]),
                        ("window", &l["window"]),
                    ],
                )
                .is_none()
        });
    assert!(
        null_average,
        "an average with nothing to divide by has no sample"
    );
    let everything_rows = metric(&text, "amazon_connect_queue_contacts_queued")
        .into_iter()
        .filter(|(l, _)| l["queue_set"] == "everything" && l["window"] == "today")
        .count();
    assert!(
        everything_rows > 100,
        "more rows than one page: {everything_rows}"
    );

    // Occupancy of the routing profiles serving the front queues, from the agent time.
    let serving: BTreeSet<&str> = scenario
        .routing_profiles
        .iter()
        .filter(|p| p.queues.iter().any(|q| front[..3].contains(&&q.queue_id)))
        .map(|p| p.id.as_str())
        .collect();
    let spans = sim.agent_time();
    for (window, start) in windows {
        for profile in &serving {
            let (mut on, mut idle) = (0.0, 0.0);
            for span in spans.iter().filter(|s| s.routing_profile_id == *profile) {
                let overlap = span.end.min(end) - span.start.max(start);
                if overlap > 0.0 {
                    match span.activity {
                        AgentActivity::OnContact => on += overlap,
                        AgentActivity::Available => idle += overlap,
                    }
                }
            }
            let want = (on + idle > 0.0).then(|| on / (on + idle));
            let got = value(
                &text,
                "amazon_connect_routing_profile_agent_occupancy_ratio",
                &[
                    ("queue_set", "front"),
                    ("routing_profile", profile),
                    ("window", window),
                ],
            );
            close(got, want, &format!("occupancy of {profile} over {window}"));
        }
    }
    close(
        value(
            &text,
            "amazon_connect_queue_set_service_level_target_ratio",
            &[("queue_set", "front")],
        ),
        Some(0.8),
        "target",
    );

    // The budget: in every window of W seconds at most burst + rate × W requests.
    let times = sim.request_times("GetMetricDataV2");
    assert!(times.len() >= 4, "{} requests", times.len());
    for (i, first) in times.iter().enumerate() {
        for (j, last) in times.iter().enumerate().skip(i) {
            let span = (*last - *first).as_secs_f64();
            assert!(
                (j - i + 1) as f64 <= BURST + RATE * span + 1.0,
                "{} requests in {span:.3} s",
                j - i + 1
            );
        }
    }
    common::promtool_check_metrics(&text);
    simulator.stop().await;
}
