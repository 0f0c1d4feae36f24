//! The intraday source: GetMetricDataV2 for "how are we doing today" (service level,
//! abandonment, handle and answer times per queue and channel, occupancy per routing profile),
//! on its own interval and request budget. Each distinct queue of an instance is read once
//! per window and interval, however many queue sets list it; chunks of at most 100 IDs (the
//! API's limit on filter values), at most [`THRESHOLDS_PER_REQUEST`] thresholds per request,
//! every page followed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::{IntradayWindow, ThresholdComparison};
use crate::connect::paging::{each_page, PagedRequest};
use crate::connect::{
    MetricDataPages, MetricDataQuery, MetricDataRow, MetricSpec, SourceError, SweepBudget,
    MAX_QUEUES_PER_REQUEST,
};
use crate::model::{api_value, KpiRow, KpiValue, OccupancyRow, QueueKpi, SetIntraday};

/// Thresholds per request: each takes a SERVICE_LEVEL and a SUM_CONTACTS_ANSWERED_IN_X entry.
/// The model allows 20 SERVICE_LEVEL metrics per request; ten keeps the request well inside it
/// and under 40 metrics.
pub const THRESHOLDS_PER_REQUEST: usize = 10;
/// EndTime stays this far behind the clock: a request whose EndTime the service sees in the
/// future (clock skew) is refused.
pub const END_TIME_SKEW_SECONDS: f64 = 30.0;
/// The channels a queue's KPIs are grouped by, as the API spells them.
const KNOWN_CHANNELS: &[&str] = &["VOICE", "CHAT", "TASK", "EMAIL"];
/// Groupings of the queue KPIs.
const QUEUE_GROUPINGS: &[&str] = &["QUEUE", "CHANNEL"];
/// Groupings of occupancy, which the API computes per routing profile, agent or hierarchy.
const PROFILE_GROUPINGS: &[&str] = &["ROUTING_PROFILE"];

/// One window of a read: its label and bounds, epoch seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowBounds {
    /// The `window` label.
    pub label: String,
    /// `StartTime`.
    pub start: f64,
    /// `EndTime`.
    pub end: f64,
}

/// The bounds of `window` when the clock says `now`: `today` starts at midnight in
/// `time_zone` (through the time-zone database, so a daylight-saving day is 23 or 25 hours),
/// a trailing window its length before the end; the end is [`END_TIME_SKEW_SECONDS`] before
/// now. `None` when the window is empty (the first seconds after midnight) or the zone is
/// unknown.
pub fn window_bounds(window: IntradayWindow, now: f64, time_zone: &str) -> Option<WindowBounds> {
    let end = now - END_TIME_SKEW_SECONDS;
    let start = match window {
        IntradayWindow::Trailing(length) => end - length.as_secs_f64(),
        // Midnight of the day the clock is in: in the first seconds after it the window is
        // empty, not yesterday.
        IntradayWindow::Today => local_midnight(now, time_zone)?,
    };
    (start < end).then(|| WindowBounds {
        label: window.label(),
        start,
        end,
    })
}

/// The last midnight at or before `at` in `time_zone`, epoch seconds.
fn local_midnight(at: f64, time_zone: &str) -> Option<f64> {
    let zone = jiff::tz::TimeZone::get(time_zone).ok()?;
    let whole = at.floor();
    let instant = jiff::Timestamp::from_second(whole as i64).ok()?;
    let start = instant.to_zoned_datetime(zone).start_of_day().ok()?;
    Some(start.timestamp().as_second() as f64)
}

/// What one read asks for: the instance's distinct queues and routing profiles, the union of
/// its sets' thresholds, each window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IntradayPlan {
    /// The windows, with their bounds.
    pub windows: Vec<WindowBounds>,
    /// Every queue of the sets that read the KPIs, each once.
    pub queues: Vec<String>,
    /// Every routing profile serving those queues, each once (occupancy).
    pub profiles: Vec<String>,
    /// Every threshold any of those sets names, ascending.
    pub thresholds: Vec<u32>,
}

impl IntradayPlan {
    /// GetMetricDataV2 requests the plan makes, pages beyond the first not counted.
    pub fn expected_requests(&self) -> usize {
        let threshold_chunks = self
            .thresholds
            .len()
            .div_ceil(THRESHOLDS_PER_REQUEST)
            .max(1);
        let per_window = self.queues.len().div_ceil(MAX_QUEUES_PER_REQUEST) * threshold_chunks
            + self.profiles.len().div_ceil(MAX_QUEUES_PER_REQUEST);
        self.windows.len() * per_window
    }
}

/// What a read returned: rows by queue and channel, occupancy by routing profile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IntradayData {
    /// One row per (window, queue, channel) the service returned.
    pub rows: Vec<Arc<KpiRow>>,
    /// One row per (window, routing profile) with a value.
    pub occupancy: Vec<Arc<OccupancyRow>>,
}

/// The metrics of a queue request: every KPI without a threshold (only in the first chunk of
/// thresholds), and SERVICE_LEVEL and SUM_CONTACTS_ANSWERED_IN_X per threshold of `chunk`.
fn queue_metrics(
    first_chunk: bool,
    chunk: &[u32],
    comparison: ThresholdComparison,
) -> Vec<MetricSpec> {
    let mut metrics = Vec::new();
    for kpi in QueueKpi::ALL {
        if kpi.takes_threshold() {
            metrics.extend(chunk.iter().map(|&seconds| MetricSpec {
                name: kpi.api_name(),
                threshold: Some((comparison.api_name(), seconds)),
                metric_filter: kpi.metric_filter(),
            }));
        } else if first_chunk {
            metrics.push(MetricSpec {
                name: kpi.api_name(),
                threshold: None,
                metric_filter: kpi.metric_filter(),
            });
        }
    }
    metrics
}

/// Where a read goes and how it compares thresholds.
#[derive(Debug, Clone, Copy)]
pub struct ReadSettings<'a> {
    /// The instance ARN.
    pub resource_arn: &'a str,
    /// The instance's IANA time zone.
    pub time_zone: &'a str,
    /// LT or LTE.
    pub comparison: ThresholdComparison,
}

/// Runs `plan`: every window, chunk and page, each attempt within `budget`.
pub async fn read(
    api: &dyn MetricDataPages,
    plan: &IntradayPlan,
    settings: ReadSettings<'_>,
    budget: &SweepBudget<'_>,
) -> Result<IntradayData, SourceError> {
    let threshold_chunks: Vec<&[u32]> = if plan.thresholds.is_empty() {
        vec![&[]]
    } else {
        plan.thresholds.chunks(THRESHOLDS_PER_REQUEST).collect()
    };
    let mut data = IntradayData::default();
    for window in &plan.windows {
        let mut rows: BTreeMap<(String, String), KpiRow> = BTreeMap::new();
        for (index, chunk) in threshold_chunks.iter().enumerate() {
            let metrics = queue_metrics(index == 0, chunk, settings.comparison);
            let found = read_chunks(
                api,
                window,
                settings,
                "QUEUE",
                &plan.queues,
                &metrics,
                budget,
            );
            for row in found.await? {
                merge_queue_row(&mut rows, &window.label, &row);
            }
        }
        data.rows.extend(rows.into_values().map(Arc::new));
        let occupancy = [MetricSpec {
            name: "AGENT_OCCUPANCY",
            threshold: None,
            metric_filter: None,
        }];
        let found = read_chunks(
            api,
            window,
            settings,
            "ROUTING_PROFILE",
            &plan.profiles,
            &occupancy,
            budget,
        );
        for row in found.await? {
            data.occupancy
                .extend(occupancy_row(&window.label, &row).map(Arc::new));
        }
    }
    Ok(data)
}

/// Every chunk of at most 100 of `ids`, every page, for one window and set of metrics.
async fn read_chunks(
    api: &dyn MetricDataPages,
    window: &WindowBounds,
    settings: ReadSettings<'_>,
    filter_key: &'static str,
    ids: &[String],
    metrics: &[MetricSpec],
    budget: &SweepBudget<'_>,
) -> Result<Vec<MetricDataRow>, SourceError> {
    let noun = if filter_key == "QUEUE" {
        "queues"
    } else {
        "routing profiles"
    };
    let groupings = if filter_key == "QUEUE" {
        QUEUE_GROUPINGS
    } else {
        PROFILE_GROUPINGS
    };
    let mut rows = Vec::new();
    let mut first = 1;
    for chunk in ids.chunks(MAX_QUEUES_PER_REQUEST) {
        let last = first + chunk.len() - 1;
        let query = MetricDataQuery {
            resource_arn: settings.resource_arn,
            start: window.start,
            end: window.end,
            time_zone: settings.time_zone,
            filter_key,
            ids: chunk,
            groupings,
            metrics,
        };
        let at = PagedRequest {
            operation: "GetMetricDataV2",
            noun,
            first,
            last,
        };
        each_page(
            budget,
            at,
            |token| api.fetch_metric_data(&query, token),
            |page, source| SourceError::MetricData {
                noun,
                window: window.label.clone(),
                first,
                last,
                total: ids.len(),
                page,
                source,
            },
            |page| {
                rows.extend(page.rows);
                page.next_token
            },
        )
        .await?;
        first = last + 1;
    }
    Ok(rows)
}

/// Adds the values of `row` to its (queue, channel) row of the window: a row of another chunk
/// of thresholds carries the same queue and channel. A row without a queue or channel, or a
/// metric the read did not ask for, is left out.
fn merge_queue_row(
    rows: &mut BTreeMap<(String, String), KpiRow>,
    window: &str,
    row: &MetricDataRow,
) {
    let (Some(queue), Some(channel)) = (row.dimension("QUEUE"), row.dimension("CHANNEL")) else {
        return;
    };
    let entry = rows
        .entry((queue.to_string(), channel.to_string()))
        .or_insert_with(|| KpiRow {
            window: window.to_string(),
            queue_id: queue.to_string(),
            channel: api_value(channel, KNOWN_CHANNELS),
            values: Vec::new(),
        });
    for value in &row.values {
        let callback = value.metric_filters.iter().any(|(key, values)| {
            key == crate::model::CALLBACK_FILTER.0
                && values.iter().any(|v| v == crate::model::CALLBACK_FILTER.1)
        });
        let (Some(kpi), Some(number)) = (QueueKpi::from_api(&value.name, callback), value.value)
        else {
            continue;
        };
        let threshold = if kpi.takes_threshold() {
            match value.threshold.and_then(whole_seconds) {
                Some(seconds) => Some(seconds),
                None => continue,
            }
        } else {
            None
        };
        entry.values.push(KpiValue {
            kpi,
            threshold,
            value: if kpi.is_percent() {
                number / 100.0
            } else {
                number
            },
        });
    }
}

fn whole_seconds(value: f64) -> Option<u32> {
    (value >= 0.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX)).then_some(value as u32)
}

/// The occupancy of one routing profile, a ratio; `None` without a profile or a value.
fn occupancy_row(window: &str, row: &MetricDataRow) -> Option<OccupancyRow> {
    let profile = row.dimension("ROUTING_PROFILE")?;
    let percent = row
        .values
        .iter()
        .find(|value| value.name == "AGENT_OCCUPANCY")?
        .value?;
    Some(OccupancyRow {
        window: window.to_string(),
        routing_profile_id: profile.to_string(),
        ratio: percent / 100.0,
    })
}

/// The channels of `data`'s rows, as sent.
pub fn channels_of(data: &IntradayData) -> BTreeSet<String> {
    data.rows
        .iter()
        .map(|row| row.channel.to_string())
        .collect()
}

/// The KPIs one set publishes: the rows of its queues, and for each queue, window and channel
/// of `channels` (those the instance's reads have returned so far) without a row, a row of zero
/// counts (so that `increase` and sums see a 0, while averages and ratios stay absent); the
/// occupancy of its routing profiles; only its own thresholds.
pub fn for_set(
    data: &IntradayData,
    windows: &[WindowBounds],
    channels: &BTreeSet<String>,
    set: (&[String], &BTreeSet<String>, &[u32]),
    target: Option<f64>,
) -> SetIntraday {
    let (queues, profiles, thresholds) = set;
    let mut by_key: BTreeMap<(&str, &str, &str), &Arc<KpiRow>> = BTreeMap::new();
    for row in &data.rows {
        by_key.insert(
            (
                row.window.as_str(),
                row.queue_id.as_str(),
                row.channel.as_ref(),
            ),
            row,
        );
    }
    let mut rows = Vec::new();
    for window in windows {
        for queue in queues {
            for channel in channels.iter().map(String::as_str) {
                match by_key.get(&(window.label.as_str(), queue.as_str(), channel)) {
                    Some(row) => rows.push(own_thresholds(row, thresholds)),
                    None => rows.push(Arc::new(zero_row(
                        &window.label,
                        queue,
                        channel,
                        thresholds,
                    ))),
                }
            }
        }
    }
    let occupancy = data
        .occupancy
        .iter()
        .filter(|row| profiles.contains(&row.routing_profile_id))
        .cloned()
        .collect();
    SetIntraday {
        rows,
        occupancy,
        target,
    }
}

/// `row` with only the threshold values of `thresholds` (shared as is when it has no other).
fn own_thresholds(row: &Arc<KpiRow>, thresholds: &[u32]) -> Arc<KpiRow> {
    let foreign = |value: &KpiValue| value.threshold.is_some_and(|t| !thresholds.contains(&t));
    if !row.values.iter().any(foreign) {
        return Arc::clone(row);
    }
    let mut own = KpiRow::clone(row);
    own.values.retain(|value| !foreign(value));
    Arc::new(own)
}

/// The counts of a queue and channel the service returned no row for: all 0.
fn zero_row(window: &str, queue: &str, channel: &str, thresholds: &[u32]) -> KpiRow {
    let mut values = Vec::new();
    for kpi in QueueKpi::ALL.into_iter().filter(|kpi| kpi.is_count()) {
        if kpi.takes_threshold() {
            values.extend(thresholds.iter().map(|&threshold| KpiValue {
                kpi,
                threshold: Some(threshold),
                value: 0.0,
            }));
        } else {
            values.push(KpiValue {
                kpi,
                threshold: None,
                value: 0.0,
            });
        }
    }
    KpiRow {
        window: window.to_string(),
        queue_id: queue.to_string(),
        channel: api_value(channel, KNOWN_CHANNELS),
        values,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::connect::MetricDataValue;

    fn value(name: &str, threshold: Option<f64>, value: Option<f64>) -> MetricDataValue {
        MetricDataValue {
            name: name.to_string(),
            threshold,
            metric_filters: Vec::new(),
            value,
        }
    }

    fn row(queue: &str, channel: &str, values: Vec<MetricDataValue>) -> MetricDataRow {
        MetricDataRow {
            dimensions: vec![
                ("CHANNEL".to_string(), channel.to_string()),
                ("QUEUE".to_string(), queue.to_string()),
            ],
            values,
        }
    }

    #[test]
    fn today_starts_at_local_midnight_also_on_daylight_saving_days() {
        // 2026-03-29 is the spring-forward day in London: midnight is 00:00 GMT.
        let noon_utc = 1_774_785_600.0; // 2026-03-29T12:00:00Z
        let bounds = window_bounds(IntradayWindow::Today, noon_utc, "Europe/London").unwrap();
        assert_eq!(bounds.start, 1_774_742_400.0); // 2026-03-29T00:00:00Z
        assert_eq!(bounds.end, noon_utc - END_TIME_SKEW_SECONDS);
        assert_eq!(bounds.label, "today");
        // The next day midnight is 00:00 BST, 23:00 UTC the day before.
        let next_noon = noon_utc + 86_400.0;
        let bounds = window_bounds(IntradayWindow::Today, next_noon, "Europe/London").unwrap();
        assert_eq!(bounds.start, 1_774_825_200.0); // 2026-03-29T23:00:00Z
                                                   // New York is behind UTC: its midnight is 04:00 or 05:00 UTC.
        let bounds = window_bounds(IntradayWindow::Today, noon_utc, "America/New_York").unwrap();
        assert_eq!(bounds.start, 1_774_756_800.0); // 2026-03-29T04:00:00Z
    }

    #[test]
    fn trailing_windows_and_empty_windows() {
        let now = 1_774_785_600.0;
        let hour = IntradayWindow::Trailing(Duration::from_secs(3600));
        let bounds = window_bounds(hour, now, "UTC").unwrap();
        assert_eq!(
            (bounds.label.as_str(), bounds.end - bounds.start),
            ("1h", 3600.0)
        );
        // Ten seconds after midnight "today so far" ends before it starts: not read.
        let just_after = 1_774_742_410.0;
        assert_eq!(
            window_bounds(IntradayWindow::Today, just_after, "UTC"),
            None
        );
        assert_eq!(
            window_bounds(IntradayWindow::Today, now, "Mars/Olympus"),
            None
        );
    }

    #[test]
    fn requests_carry_each_threshold_once_and_the_other_kpis_in_the_first_chunk() {
        let first = queue_metrics(true, &[20, 60], ThresholdComparison::Lte);
        let service_levels: Vec<_> = first
            .iter()
            .filter(|m| m.name == "SERVICE_LEVEL")
            .map(|m| m.threshold)
            .collect();
        assert_eq!(service_levels, vec![Some(("LTE", 20)), Some(("LTE", 60))]);
        assert_eq!(first.len(), 2 * 2 + 12);
        assert!(first.iter().any(|m| m.name == "CONTACTS_HANDLED"
            && m.metric_filter == Some(("INITIATION_METHOD", "CALLBACK"))));
        let later = queue_metrics(false, &[90], ThresholdComparison::Lt);
        assert_eq!(later.len(), 2, "only the thresholded metrics again");
    }

    #[test]
    fn expected_requests_count_windows_chunks_and_threshold_groups() {
        let plan = IntradayPlan {
            windows: vec![
                WindowBounds {
                    label: "today".into(),
                    start: 0.0,
                    end: 1.0,
                },
                WindowBounds {
                    label: "1h".into(),
                    start: 0.0,
                    end: 1.0,
                },
            ],
            queues: (0..250).map(|i| format!("q{i}")).collect(),
            profiles: (0..30).map(|i| format!("p{i}")).collect(),
            thresholds: (1..=12).collect(),
        };
        // Per window: 3 queue chunks × 2 threshold groups + 1 profile chunk.
        assert_eq!(plan.expected_requests(), 2 * (3 * 2 + 1));
    }

    #[test]
    fn rows_merge_across_threshold_chunks_percentages_become_ratios_and_nulls_stay_out() {
        let mut rows = BTreeMap::new();
        merge_queue_row(
            &mut rows,
            "today",
            &row(
                "q1",
                "VOICE",
                vec![
                    value("SERVICE_LEVEL", Some(20.0), Some(75.0)),
                    value("CONTACTS_QUEUED", None, Some(8.0)),
                    value("AVG_HANDLE_TIME", None, None),
                    value("SOMETHING_NEW", None, Some(1.0)),
                ],
            ),
        );
        merge_queue_row(
            &mut rows,
            "today",
            &row(
                "q1",
                "VOICE",
                vec![value("SERVICE_LEVEL", Some(60.0), Some(100.0))],
            ),
        );
        merge_queue_row(&mut rows, "today", &row("q2", "", vec![]));
        let merged = &rows[&("q1".to_string(), "VOICE".to_string())];
        let values: Vec<(QueueKpi, Option<u32>, f64)> = merged
            .values
            .iter()
            .map(|v| (v.kpi, v.threshold, v.value))
            .collect();
        assert_eq!(
            values,
            vec![
                (QueueKpi::ServiceLevel, Some(20), 0.75),
                (QueueKpi::ContactsQueued, None, 8.0),
                (QueueKpi::ServiceLevel, Some(60), 1.0),
            ]
        );
        assert_eq!(
            rows.len(),
            2,
            "a row without a channel keeps an empty channel"
        );
    }

    #[test]
    fn a_set_gets_zero_counts_where_a_queue_has_no_row_and_only_its_thresholds() {
        let kpi_row = KpiRow {
            window: "today".into(),
            queue_id: "q1".into(),
            channel: "VOICE".into(),
            values: vec![
                KpiValue {
                    kpi: QueueKpi::ServiceLevel,
                    threshold: Some(20),
                    value: 0.5,
                },
                KpiValue {
                    kpi: QueueKpi::ServiceLevel,
                    threshold: Some(60),
                    value: 0.9,
                },
                KpiValue {
                    kpi: QueueKpi::AverageHandleTime,
                    threshold: None,
                    value: 200.0,
                },
            ],
        };
        let data = IntradayData {
            rows: vec![Arc::new(kpi_row)],
            occupancy: vec![Arc::new(OccupancyRow {
                window: "today".into(),
                routing_profile_id: "p1".into(),
                ratio: 0.6,
            })],
        };
        let windows = [WindowBounds {
            label: "today".into(),
            start: 0.0,
            end: 1.0,
        }];
        let queues = ["q1".to_string(), "q2".to_string()];
        let channels = channels_of(&data);
        let profiles = BTreeSet::from(["p2".to_string()]);
        let set = for_set(
            &data,
            &windows,
            &channels,
            (&queues, &profiles, &[60]),
            Some(0.8),
        );
        assert_eq!(set.rows.len(), 2);
        let own: Vec<_> = set.rows[0]
            .values
            .iter()
            .map(|v| (v.kpi, v.threshold))
            .collect();
        assert_eq!(
            own,
            vec![
                (QueueKpi::ServiceLevel, Some(60)),
                (QueueKpi::AverageHandleTime, None)
            ]
        );
        let empty = &set.rows[1];
        assert_eq!(
            (empty.queue_id.as_str(), empty.channel.as_ref()),
            ("q2", "VOICE")
        );
        assert!(empty
            .values
            .iter()
            .all(|v| v.kpi.is_count() && v.value == 0.0));
        assert!(empty
            .values
            .iter()
            .any(|v| v.kpi == QueueKpi::AnsweredInThreshold && v.threshold == Some(60)));
        assert!(set.occupancy.is_empty(), "p1 does not serve the set");
        assert_eq!(set.target, Some(0.8));
    }
}
