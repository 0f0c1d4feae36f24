//! The wallboard's JSON (`/api/v1/wallboard`): per queue set the few numbers a wall screen
//! shows, the state (ok, amber, red) of each cell that has thresholds, and the generation of
//! the publish it belongs to. Plain data in, serde out; [`super::Exposition`] builds it in
//! the same publish as `/metrics`, so a page and a scrape of one generation agree.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use super::summary::{label_value, Summary};
use crate::config::{Levels, Wallboard as Thresholds, Worse, DEFAULT_POLL_INTERVAL};
use crate::model::{LabelNames, QueueKpi, QueueMetric, SetIntraday, TargetKey};

/// The intraday window the wallboard shows.
pub const TODAY: &str = "today";
/// The page refreshes at most this often, in seconds, however short the poll interval: more
/// often only redraws the same numbers.
pub const MIN_REFRESH_SECONDS: u64 = 2;

/// What the wallboard is built with besides the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WallboardOptions {
    /// When cells turn amber or red.
    pub thresholds: Thresholds,
    /// How often the page asks for the JSON again, in seconds.
    pub refresh_seconds: u64,
}

impl Default for WallboardOptions {
    fn default() -> Self {
        Self::new(Thresholds::default(), None)
    }
}

impl WallboardOptions {
    /// `thresholds`, and a refresh as often as the most frequent poll (`shortest_poll`; the
    /// default poll interval when there is none), but at most every [`MIN_REFRESH_SECONDS`].
    pub fn new(thresholds: Thresholds, shortest_poll: Option<Duration>) -> Self {
        let poll = shortest_poll.unwrap_or(DEFAULT_POLL_INTERVAL);
        Self {
            thresholds,
            refresh_seconds: poll.as_secs().max(MIN_REFRESH_SECONDS),
        }
    }
}

/// What the wallboard shows of one queue set, as the publish has it.
#[derive(Debug, Clone, Copy)]
pub struct SetData<'a> {
    /// The set.
    pub key: &'a TargetKey,
    /// Whether any poll of it has finished.
    pub polled: bool,
    /// Its last poll's error.
    pub error: Option<&'a str>,
    /// Its last good poll's aggregates; `None` when the last poll failed (or none finished).
    pub summary: Option<&'a Summary>,
    /// Queue names for labels; `None` labels queues by ID.
    pub names: Option<&'a LabelNames>,
    /// Missed contacts counted in the rounds of the last 15 minutes.
    pub missed_last_15m: u64,
    /// Its intraday KPIs, where it reads them and the last read succeeded.
    pub intraday: Option<&'a SetIntraday>,
}

/// The state of a cell against its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CellState {
    /// Better than amber.
    Ok,
    /// At amber or worse, better than red.
    Amber,
    /// At red or worse.
    Red,
}

fn state_of(value: f64, levels: Levels, worse: Worse) -> CellState {
    let (red, amber) = match worse {
        Worse::Higher => (value >= levels.red, value >= levels.amber),
        Worse::Lower => (value < levels.red, value < levels.amber),
    };
    if red {
        CellState::Red
    } else if amber {
        CellState::Amber
    } else {
        CellState::Ok
    }
}

/// The whole document.
#[derive(Debug, Serialize)]
struct Board<'a> {
    generation: u64,
    published_at: f64,
    refresh_seconds: u64,
    sets: Vec<SetCells<'a>>,
}

/// One queue set's cells; every data cell is null while the set is down.
#[derive(Debug, Serialize)]
struct SetCells<'a> {
    instance: &'a str,
    queue_set: &'a str,
    polled: bool,
    up: bool,
    error: Option<&'a str>,
    agents_by_status: Option<&'a BTreeMap<String, u64>>,
    slots: Option<Vec<SlotCells<'a>>>,
    contacts_in_queue: Option<f64>,
    oldest_contact_age_seconds: Option<f64>,
    missed_last_15m: Option<u64>,
    service_level_today: Option<ServiceLevel<'a>>,
    abandonment_today: Option<f64>,
    /// The state of each cell with thresholds; null where the cell has no value.
    states: States,
}

#[derive(Debug, Serialize)]
struct SlotCells<'a> {
    channel: &'a str,
    available: i64,
    active: i64,
}

/// Today's service level of the set's lowest queue and channel at the set's first threshold.
#[derive(Debug, Serialize)]
struct ServiceLevel<'a> {
    threshold_seconds: u32,
    lowest_queue: &'a str,
    channel: String,
    ratio: f64,
}

#[derive(Debug, Default, Serialize)]
struct States {
    contacts_in_queue: Option<CellState>,
    oldest_contact_age_seconds: Option<CellState>,
    missed_last_15m: Option<CellState>,
    service_level_today: Option<CellState>,
    abandonment_today: Option<CellState>,
}

/// The wallboard JSON of `sets` for publish number `generation`, published at
/// `published_at` (epoch seconds).
pub fn encode(
    generation: u64,
    published_at: f64,
    options: &WallboardOptions,
    sets: &[SetData<'_>],
) -> Result<Bytes, serde_json::Error> {
    let board = Board {
        generation,
        published_at,
        refresh_seconds: options.refresh_seconds,
        sets: sets
            .iter()
            .map(|set| cells(set, &options.thresholds))
            .collect(),
    };
    serde_json::to_vec(&board).map(Bytes::from)
}

fn cells<'a>(set: &SetData<'a>, thresholds: &Thresholds) -> SetCells<'a> {
    let mut cells = SetCells {
        instance: &set.key.instance,
        queue_set: &set.key.queue_set,
        polled: set.polled,
        up: set.summary.is_some(),
        error: set.error,
        agents_by_status: None,
        slots: None,
        contacts_in_queue: None,
        oldest_contact_age_seconds: None,
        missed_last_15m: None,
        service_level_today: None,
        abandonment_today: None,
        states: States::default(),
    };
    let Some(summary) = set.summary else {
        return cells;
    };
    cells.agents_by_status = Some(&summary.agents_by_status);
    cells.slots = Some(slots(summary));
    let backlog = |metric| {
        summary
            .queue_metrics
            .values()
            .filter_map(move |values| values.get(&metric).copied())
    };
    // No row at all (no backlog read, or a hierarchy-group set): no value, rather than a 0
    // that would read as "nobody waiting".
    cells.contacts_in_queue = backlog(QueueMetric::ContactsInQueue).reduce(|a, b| a + b);
    cells.oldest_contact_age_seconds = backlog(QueueMetric::OldestContactAge).reduce(f64::max);
    cells.missed_last_15m = Some(set.missed_last_15m);
    if let Some(intraday) = set.intraday {
        cells.service_level_today = lowest_service_level(intraday, set.names);
        cells.abandonment_today = abandonment(intraday);
    }
    let state = |value: Option<f64>, levels: Levels, worse: Worse| {
        value.map(|value| state_of(value, levels, worse))
    };
    cells.states = States {
        contacts_in_queue: state(
            cells.contacts_in_queue,
            thresholds.contacts_in_queue,
            Worse::Higher,
        ),
        oldest_contact_age_seconds: state(
            cells.oldest_contact_age_seconds,
            thresholds.oldest_contact_age,
            Worse::Higher,
        ),
        missed_last_15m: state(
            cells.missed_last_15m.map(|n| n as f64),
            thresholds.missed_last_15m,
            Worse::Higher,
        ),
        service_level_today: state(
            cells.service_level_today.as_ref().map(|sl| sl.ratio),
            thresholds.service_level_today,
            Worse::Lower,
        ),
        abandonment_today: state(
            cells.abandonment_today,
            thresholds.abandonment_today,
            Worse::Higher,
        ),
    };
    cells
}

/// Available and active slots of every channel either has.
fn slots(summary: &Summary) -> Vec<SlotCells<'_>> {
    let channels: std::collections::BTreeSet<&String> = summary
        .slots_available
        .keys()
        .chain(summary.slots_active.keys())
        .collect();
    channels
        .into_iter()
        .map(|channel| SlotCells {
            channel,
            available: summary.slots_available.get(channel).copied().unwrap_or(0),
            active: summary.slots_active.get(channel).copied().unwrap_or(0),
        })
        .collect()
}

/// The lowest `today` service level among the set's queues and channels at the set's first
/// (shortest) threshold. The API gives service levels per queue, not the contacts behind
/// them, so a level of the whole set cannot be computed exactly; the lowest queue is what
/// needs attention.
fn lowest_service_level<'a>(
    intraday: &'a SetIntraday,
    names: Option<&'a LabelNames>,
) -> Option<ServiceLevel<'a>> {
    let today = || intraday.rows.iter().filter(|row| row.window == TODAY);
    let levels = || {
        today().flat_map(|row| {
            row.values
                .iter()
                .filter(|value| value.kpi == QueueKpi::ServiceLevel)
                .filter_map(move |value| Some((row, value.threshold?, value.value)))
        })
    };
    let first = levels().map(|(_, threshold, _)| threshold).min()?;
    let queue = |id: &'a str| names.map_or(id, |names| names.queue(id));
    levels()
        .filter(|(_, threshold, _)| *threshold == first)
        .map(|(row, threshold, ratio)| ServiceLevel {
            threshold_seconds: threshold,
            lowest_queue: queue(&row.queue_id),
            channel: label_value(&row.channel),
            ratio,
        })
        // Ties go to the first queue and channel by name, not to the API's row order.
        .min_by(|a, b| {
            a.ratio
                .total_cmp(&b.ratio)
                .then_with(|| a.lowest_queue.cmp(b.lowest_queue))
                .then_with(|| a.channel.cmp(&b.channel))
        })
}

/// Today's abandoned contacts over queued contacts of all the set's queues and channels;
/// `None` while none was queued.
fn abandonment(intraday: &SetIntraday) -> Option<f64> {
    let (mut abandoned, mut queued) = (0.0, 0.0);
    for row in intraday.rows.iter().filter(|row| row.window == TODAY) {
        for value in &row.values {
            match value.kpi {
                QueueKpi::ContactsAbandoned => abandoned += value.value,
                QueueKpi::ContactsQueued => queued += value.value,
                _ => {}
            }
        }
    }
    (queued > 0.0).then(|| abandoned / queued)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};

    use super::*;
    use crate::model::{KpiRow, KpiValue};

    fn key(set: &str) -> TargetKey {
        TargetKey {
            instance: "prod".into(),
            queue_set: set.into(),
        }
    }

    fn summary() -> Summary {
        let mut summary = Summary {
            slots_available: BTreeMap::from([("voice".into(), 2), ("chat".into(), 5)]),
            slots_active: BTreeMap::from([("voice".into(), 3)]),
            agents_by_status: BTreeMap::from([("Available".into(), 4), ("Lunch".into(), 1)]),
            ..Summary::default()
        };
        for (queue, channel, waiting, oldest) in [
            ("q1", "voice", 3.0, 75.0),
            ("q2", "voice", 2.0, 20.0),
            ("q2", "chat", 0.0, 0.0),
        ] {
            summary.queue_metrics.insert(
                (queue.into(), channel.into()),
                BTreeMap::from([
                    (QueueMetric::ContactsInQueue, waiting),
                    (QueueMetric::OldestContactAge, oldest),
                ]),
            );
        }
        summary
    }

    fn row(
        window: &str,
        queue: &str,
        channel: &str,
        values: &[(QueueKpi, Option<u32>, f64)],
    ) -> Arc<KpiRow> {
        Arc::new(KpiRow {
            window: window.into(),
            queue_id: queue.into(),
            channel: channel.to_string().into(),
            values: values
                .iter()
                .map(|&(kpi, threshold, value)| KpiValue {
                    kpi,
                    threshold,
                    value,
                })
                .collect(),
        })
    }

    fn intraday() -> SetIntraday {
        use QueueKpi::{
            ContactsAbandoned as Abandoned, ContactsQueued as Queued, ServiceLevel as Sl,
        };
        SetIntraday {
            rows: vec![
                row(
                    "today",
                    "q1",
                    "VOICE",
                    &[
                        (Sl, Some(20), 0.9),
                        (Sl, Some(60), 0.5),
                        (Queued, None, 30.0),
                        (Abandoned, None, 3.0),
                    ],
                ),
                row(
                    "today",
                    "q2",
                    "VOICE",
                    &[
                        (Sl, Some(20), 0.7),
                        (Sl, Some(60), 0.95),
                        (Queued, None, 10.0),
                        (Abandoned, None, 1.0),
                    ],
                ),
                // Another window: not today's.
                row(
                    "1h",
                    "q2",
                    "VOICE",
                    &[
                        (Sl, Some(20), 0.1),
                        (Queued, None, 4.0),
                        (Abandoned, None, 4.0),
                    ],
                ),
            ],
            occupancy: Vec::new(),
            target: Some(0.8),
        }
    }

    fn board(sets: &[SetData<'_>]) -> Value {
        let bytes = encode(7, 1_000.5, &WallboardOptions::default(), sets).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn a_set_that_is_up_shows_its_cells_and_their_states() {
        let (key, summary, intraday) = (key("support"), summary(), intraday());
        let value = board(&[SetData {
            key: &key,
            polled: true,
            error: None,
            summary: Some(&summary),
            names: None,
            missed_last_15m: 2,
            intraday: Some(&intraday),
        }]);
        assert_eq!(value["generation"], 7);
        assert_eq!(value["published_at"], 1_000.5);
        assert_eq!(value["refresh_seconds"], 15, "the default poll interval");
        let set = &value["sets"][0];
        assert_eq!(
            set,
            &json!({
                "instance": "prod",
                "queue_set": "support",
                "polled": true,
                "up": true,
                "error": null,
                "agents_by_status": {"Available": 4, "Lunch": 1},
                "slots": [
                    {"channel": "chat", "available": 5, "active": 0},
                    {"channel": "voice", "available": 2, "active": 3},
                ],
                "contacts_in_queue": 5.0,
                "oldest_contact_age_seconds": 75.0,
                "missed_last_15m": 2,
                "service_level_today": {
                    "threshold_seconds": 20,
                    "lowest_queue": "q2",
                    "channel": "voice",
                    "ratio": 0.7,
                },
                "abandonment_today": 0.1,
                "states": {
                    // 5 waiting: at amber (5), below red (10).
                    "contacts_in_queue": "amber",
                    "oldest_contact_age_seconds": "amber",
                    "missed_last_15m": "amber",
                    // 0.7 is below amber (0.8), not below red (0.6).
                    "service_level_today": "amber",
                    "abandonment_today": "red",
                },
            })
        );
    }

    #[test]
    fn a_down_set_has_no_data_cells_and_a_set_without_backlog_or_kpis_no_such_cells() {
        let (down, quiet) = (key("down"), key("quiet"));
        let agents_only = Summary {
            agents_by_status: BTreeMap::from([("Offline".into(), 1)]),
            ..Summary::default()
        };
        let value = board(&[
            SetData {
                key: &down,
                polled: true,
                error: Some("AccessDeniedException"),
                summary: None,
                names: None,
                missed_last_15m: 4,
                intraday: None,
            },
            SetData {
                key: &quiet,
                polled: true,
                error: None,
                summary: Some(&agents_only),
                names: None,
                missed_last_15m: 0,
                intraday: Some(&SetIntraday::default()),
            },
        ]);
        let down = &value["sets"][0];
        assert_eq!(down["up"], false);
        assert_eq!(down["error"], "AccessDeniedException");
        for cell in [
            "agents_by_status",
            "slots",
            "contacts_in_queue",
            "missed_last_15m",
        ] {
            assert!(down[cell].is_null(), "{cell}: {down}");
        }
        let quiet = &value["sets"][1];
        assert_eq!(quiet["contacts_in_queue"], Value::Null, "no backlog rows");
        assert_eq!(quiet["oldest_contact_age_seconds"], Value::Null);
        assert_eq!(quiet["service_level_today"], Value::Null, "no KPI rows");
        assert_eq!(quiet["abandonment_today"], Value::Null, "nothing queued");
        assert_eq!(quiet["missed_last_15m"], 0);
        assert_eq!(
            quiet["states"],
            json!({
                "contacts_in_queue": null,
                "oldest_contact_age_seconds": null,
                "missed_last_15m": "ok",
                "service_level_today": null,
                "abandonment_today": null,
            })
        );
    }

    #[test]
    fn thresholds_colour_at_or_above_and_the_service_level_below() {
        let levels = Levels {
            amber: 5.0,
            red: 10.0,
        };
        assert_eq!(state_of(4.0, levels, Worse::Higher), CellState::Ok);
        assert_eq!(state_of(5.0, levels, Worse::Higher), CellState::Amber);
        assert_eq!(state_of(10.0, levels, Worse::Higher), CellState::Red);
        let service_level = Levels {
            amber: 0.8,
            red: 0.6,
        };
        assert_eq!(state_of(0.8, service_level, Worse::Lower), CellState::Ok);
        assert_eq!(
            state_of(0.79, service_level, Worse::Lower),
            CellState::Amber
        );
        assert_eq!(state_of(0.6, service_level, Worse::Lower), CellState::Amber);
        assert_eq!(state_of(0.59, service_level, Worse::Lower), CellState::Red);
    }

    #[test]
    fn the_refresh_follows_the_shortest_poll_but_not_below_two_seconds() {
        let of = |seconds| {
            WallboardOptions::new(Thresholds::default(), Some(Duration::from_secs(seconds)))
                .refresh_seconds
        };
        assert_eq!(of(1), MIN_REFRESH_SECONDS);
        assert_eq!(of(5), 5);
        assert_eq!(of(60), 60);
    }
}
