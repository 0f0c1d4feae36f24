//! The whole exposition of one round, byte for byte: the simulator frozen at a fixed epoch,
//! the exporter's polls reading a fixed clock, every data family compared with the committed
//! `tests/fixtures/golden/metrics.prom`. A restructure that changes no behaviour leaves it
//! equal; a deliberate change of the output rewrites it with `UPDATE_GOLDEN=1 cargo test
//! --test golden` and shows in the diff.
//!
//! Self-metric families whose values depend on timing rather than on the data are left out by
//! name ([`TIME_DEPENDENT`]).

mod common;

/// Where the simulated clock stands: 2026-09-21T21:46:40Z.
const SIMULATED_NOW: f64 = 1_790_027_200.0;
/// The exporter's polls start half a second later.
const EXPORTER_NOW: f64 = SIMULATED_NOW + 0.5;

/// The two simulated instances (seeds 1 and 2).
const FIRST_INSTANCE: &str = "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20";
const SECOND_INSTANCE: &str = "7d2e9f40-1c3b-4a5d-8e6f-9a0b1c2d3e4f";

const CONFIG: &str = include_str!("fixtures/golden/connect-exporter.yaml");
const GOLDEN: &str = "tests/fixtures/golden/metrics.prom";

/// Families whose values depend on wall time, scheduling or the build, not on the data (how
/// many publishes there were depends on when the directory and intraday reads finished).
const TIME_DEPENDENT: [&str; 5] = [
    "amazon_connect_exporter_publishes_total",
    "amazon_connect_exporter_poll_duration_seconds",
    "amazon_connect_exporter_request_budget_wait_seconds_total",
    "amazon_connect_exporter_build_info",
    "amazon_connect_exporter_api_requests_total",
];

/// `text` without the lines of the [`TIME_DEPENDENT`] families (their samples, `_bucket`,
/// `_sum` and `_count` included, and their HELP and TYPE lines).
fn without_time_dependent(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let name = match line.strip_prefix("# ") {
                Some(comment) => comment.split(' ').nth(1).unwrap_or(""),
                None => line.split(['{', ' ']).next().unwrap_or(""),
            };
            !TIME_DEPENDENT.iter().any(|family| {
                name == *family
                    || name
                        .strip_prefix(family)
                        .is_some_and(|rest| ["_bucket", "_sum", "_count"].contains(&rest))
            })
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_of_the_frozen_simulator_equals_the_golden_exposition() {
    let first = common::start_simulator_frozen_at(SIMULATED_NOW, 1, FIRST_INSTANCE).await;
    let second = common::start_simulator_frozen_at(SIMULATED_NOW, 2, SECOND_INSTANCE).await;
    let yaml = CONFIG
        .replace("{first_endpoint_url}", &first.endpoint_url())
        .replace(
            "{first_instance_id}",
            &common::simulator_instance_id(&first),
        )
        .replace("{second_endpoint_url}", &second.endpoint_url())
        .replace(
            "{second_instance_id}",
            &common::simulator_instance_id(&second),
        );
    let exporter = common::start_exporter_at(&yaml, EXPORTER_NOW).await;
    let sets = [
        "support",
        "sales",
        "discovered",
        "profiles",
        "north",
        "support_by_id",
        "everything",
    ];
    // One round only (the clock is frozen and the interval long): wait for it to be up.
    let text = common::eventually(std::time::Duration::from_secs(40), async || {
        let text = common::http_get(exporter.address(), "/metrics").await.body;
        sets.iter()
            .all(|set| {
                common::value(&text, "amazon_connect_up", &[("queue_set", set)]) == Some(1.0)
            })
            .then_some(text)
    })
    .await;
    exporter.stop().await;
    first.stop().await;
    second.stop().await;
    assert_eq!(
        common::polls_of(&text, "north"),
        1.0,
        "one round, as poll_interval 1h promises"
    );
    let got = without_time_dependent(&text);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, &got).expect("write the golden file");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!("{}: {error}; write it with UPDATE_GOLDEN=1", path.display())
    });
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "the exposition differs from {GOLDEN} from line {} on:\n got: {:?}\nwant: {:?}\n({} vs {} lines; UPDATE_GOLDEN=1 rewrites it if the change is meant)",
            first + 1,
            got.lines().nth(first),
            want.lines().nth(first),
            got.lines().count(),
            want.lines().count(),
        );
    }
}
