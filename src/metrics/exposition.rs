//! The published exposition: the metric state of every queue set, the encoded segments of
//! each source and instance, and the joined text (plain and gzip) that scrapes get. Never
//! calls AWS.
//!
//! Data families are rebuilt from each round's data, so a series whose agent, queue, status
//! or state disappeared from the data disappears from `/metrics` too; a failed poll drops its
//! target's data series and keeps the self-metrics. A round re-encodes only its own
//! instance's segment: another instance, or a source on another interval, does not encode
//! the user-data families again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

use super::event_totals::EventTotals;
use super::families::intraday as intraday_families;
use super::families::write_segment;
use super::self_metrics::{
    budget_families, exporter_families, round_families, POLL_DURATION_BUCKETS,
};
use super::series_limit::{log_series_limit, SeriesCount, SeriesOptions};
use super::store::{IntradayState, TargetState};
use super::text_format::{concat, join, Segment, TextWriter};
use super::wallboard::{self, SetData, WallboardOptions};
use crate::connect::{Budgets, RequestLog, RequestOutcome};
use crate::model::agent_events::{EventBatch, StreamHealth};
use crate::model::{IntradayReport, LabelNames, PollReport, RoundReport, TargetKey};
use crate::web::{MetricsSource, SourceStatus, TargetStatus};

/// The polling tasks of an instance, as the scheduler names them in
/// `amazon_connect_exporter_task_restarts_total`.
pub const POLLING_TASKS: [&str; 4] = ["round", "directory", "intraday", "agent_events"];

/// The data source a segment comes from; segments join in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// GetCurrentUserData with the queue backlog of the same round.
    UserData,
    /// GetMetricDataV2, on its own interval.
    Intraday,
    /// The agent event stream's totals of the instance's sets.
    AgentEvents,
    /// The health of every agent event stream (one segment, under the instance name "").
    EventStreams,
}

/// Which segment: a source's families for one instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SegmentKey {
    source: Source,
    instance: String,
}

/// What a publish encodes again.
#[derive(Debug, Clone, Copy)]
enum Reencode<'a> {
    /// The segment of one instance (its round finished).
    Instance(&'a str),
    /// The intraday segment of one instance (its KPIs were read).
    Intraday(&'a str),
    /// The agent event segments of these instances and the streams' health.
    AgentEvents(&'a BTreeSet<String>),
    /// Every segment (the targets or their options changed).
    All,
}

impl MetricsSource for Exposition {
    fn encoded_pieces(&self) -> Vec<Bytes> {
        Exposition::encoded_pieces(self)
    }

    fn encoded_gzip(&self) -> Bytes {
        Exposition::encoded_gzip(self)
    }

    fn statuses(&self) -> Vec<TargetStatus> {
        Exposition::statuses(self)
    }

    fn wallboard(&self) -> Bytes {
        Exposition::wallboard(self)
    }
}

/// The metric state of every target and the latest encoded exposition.
#[derive(Debug)]
pub struct Exposition {
    targets: Mutex<BTreeMap<TargetKey, TargetState>>,
    /// The encoded data families of each source and instance, joined when published.
    segments: Mutex<BTreeMap<SegmentKey, Segment>>,
    /// The intraday source's state by instance (only those that read it).
    intraday: Mutex<BTreeMap<String, IntradayState>>,
    /// The agent event totals by set and the streams' health.
    events: Mutex<EventTotals>,
    /// The last round of each instance.
    rounds: Mutex<BTreeMap<String, RoundReport>>,
    request_logs: Mutex<BTreeMap<String, RequestLog>>,
    /// Per-agent series and series limit by instance; instances not listed get the defaults.
    series_options: Mutex<BTreeMap<String, SeriesOptions>>,
    budgets: Arc<Budgets>,
    poll_duration: HistogramVec,
    /// Restarts of polling tasks after a panic, by instance and task.
    task_restarts: IntCounterVec,
    /// Publishes so far: the generation of the latest, in `/metrics` and the wallboard.
    publishes: IntCounter,
    /// Thresholds and refresh of the wallboard.
    wallboard_options: Mutex<WallboardOptions>,
    self_registry: Registry,
    encoded: RwLock<Encoded>,
    version: String,
    revision: String,
}

/// The exposition could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExpositionError {
    /// A metric family was refused.
    #[error("cannot build the metrics exposition: {0}")]
    Metrics(#[from] prometheus::Error),
    /// Compression failed (writing to memory; not expected).
    #[error("cannot compress the metrics exposition: {0}")]
    Compress(#[from] std::io::Error),
    /// The wallboard's JSON could not be written (not expected: plain data).
    #[error("cannot build the wallboard: {0}")]
    Wallboard(#[from] serde_json::Error),
}

/// One published exposition: the plain text as the pieces of its segments (never joined into
/// another copy), gzip-compressed, and the wallboard of the same data.
#[derive(Debug, Default)]
struct Encoded {
    pieces: Vec<Bytes>,
    gzip: Bytes,
    /// The state of each target when these were encoded.
    statuses: Vec<TargetStatus>,
    /// The wallboard's JSON, of the same generation as `pieces`.
    wallboard: Bytes,
}

/// Compresses the pieces as one text at the fastest level: the exposition is text with long
/// repeated label sets, so even that level shrinks it about tenfold, for a few milliseconds
/// per round.
fn gzip(pieces: &[Bytes], capacity: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(capacity), flate2::Compression::fast());
    for piece in pieces {
        encoder.write_all(piece)?;
    }
    encoder.finish()
}

impl Exposition {
    /// State for `targets`, with the request logs of each instance by config name.
    pub fn new(
        targets: &[TargetKey],
        request_logs: BTreeMap<String, RequestLog>,
        budgets: Arc<Budgets>,
        version: &str,
        revision: &str,
    ) -> Result<Self, ExpositionError> {
        let poll_duration = HistogramVec::new(
            HistogramOpts::new(
                "amazon_connect_exporter_poll_duration_seconds",
                "Wall time of one poll of a queue set, all chunks and pages, failed polls included.",
            )
            .buckets(POLL_DURATION_BUCKETS.to_vec()),
            &["connect_instance", "queue_set"],
        )?;
        let task_restarts = IntCounterVec::new(
            Opts::new(
                "amazon_connect_exporter_task_restarts_total",
                "Polling tasks (round, directory, intraday) restarted after a panic; the instance's queue sets were down until the task ran again.",
            ),
            &["connect_instance", "task"],
        )?;
        // A counter rather than a "generation" gauge: it only ever rises, and its rate is the
        // publishes per second.
        let publishes = IntCounter::new(
            "amazon_connect_exporter_publishes_total",
            "Expositions published since the exporter started (each poll round, intraday read, polling task failure and reload publishes one): the generation of this page, which the wallboard's JSON (/api/v1/wallboard) carries too.",
        )?;
        let self_registry = Registry::new();
        self_registry.register(Box::new(poll_duration.clone()))?;
        self_registry.register(Box::new(task_restarts.clone()))?;
        self_registry.register(Box::new(publishes.clone()))?;
        let exposition = Self {
            targets: Mutex::new(
                targets
                    .iter()
                    .map(|key| (key.clone(), TargetState::new()))
                    .collect(),
            ),
            segments: Mutex::new(BTreeMap::new()),
            intraday: Mutex::new(BTreeMap::new()),
            events: Mutex::new(EventTotals::default()),
            rounds: Mutex::new(BTreeMap::new()),
            request_logs: Mutex::new(request_logs),
            series_options: Mutex::new(BTreeMap::new()),
            budgets,
            poll_duration,
            task_restarts,
            publishes,
            wallboard_options: Mutex::new(WallboardOptions::default()),
            self_registry,
            encoded: RwLock::new(Encoded::default()),
            version: version.to_string(),
            revision: revision.to_string(),
        };
        exposition.start_task_restarts_at_zero(targets);
        exposition.publish(Reencode::All)?;
        Ok(exposition)
    }

    /// Creates the restart counters of the instances of `targets` at 0, so that the first
    /// restart is an increase.
    fn start_task_restarts_at_zero(&self, targets: &[TargetKey]) {
        for key in targets {
            for task in POLLING_TASKS {
                self.task_restarts
                    .with_label_values(&[key.instance.as_str(), task]);
            }
        }
    }

    /// A polling task of the instance of `sets` panicked: counts its restart and turns each
    /// of `sets` down with `reason` until its next poll.
    pub fn record_task_failure(
        &self,
        task: &str,
        reason: &str,
        sets: &[TargetKey],
    ) -> Result<(), ExpositionError> {
        let Some(instance) = sets.first().map(|key| key.instance.clone()) else {
            return Ok(());
        };
        self.task_restarts
            .with_label_values(&[instance.as_str(), task])
            .inc();
        {
            let mut targets = self.lock_targets();
            for key in sets {
                if let Some(state) = targets.get_mut(key) {
                    state.fail(reason);
                }
            }
        }
        self.publish(Reencode::Instance(&instance))
    }

    /// Applies one poll's result (labelled with IDs) and re-encodes the exposition.
    pub fn record(&self, key: &TargetKey, report: PollReport) -> Result<(), ExpositionError> {
        self.apply(key, report, None);
        self.publish(Reencode::Instance(&key.instance))
    }

    /// Applies the polls of one round of `instance` and what the round planned and spent,
    /// then re-encodes the exposition once. `names` labels queues and routing profiles by
    /// name; `None` labels them by ID.
    pub fn record_round(
        &self,
        instance: &str,
        polls: Vec<(TargetKey, PollReport)>,
        round: RoundReport,
        names: Option<Arc<LabelNames>>,
    ) -> Result<(), ExpositionError> {
        for (key, report) in polls {
            self.apply(&key, report, names.clone());
        }
        self.rounds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(instance.to_string(), round);
        self.publish(Reencode::Instance(instance))
    }

    /// Applies one read of `instance`'s intraday KPIs and publishes them: only their own
    /// segment is encoded.
    pub fn record_intraday(
        &self,
        instance: &str,
        report: IntradayReport,
    ) -> Result<(), ExpositionError> {
        self.intraday
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(instance.to_string())
            .or_default()
            .apply(report);
        self.publish(Reencode::Intraday(instance))
    }

    /// Sets what each instance's queue sets publish beyond the aggregates (from the next
    /// poll on).
    /// Adds what an agent event stream's readers handed over (see
    /// [`crate::poll::PollSink::record_agent_events`]) and publishes the event segments of
    /// the instances it touched and the streams' health.
    pub fn record_agent_events(
        &self,
        health: StreamHealth,
        batches: Vec<(String, EventBatch)>,
    ) -> Result<(), ExpositionError> {
        let touched = {
            let targets = self.lock_targets();
            let sets_of = |instance: &str| {
                targets
                    .keys()
                    .filter(|key| key.instance == instance)
                    .cloned()
                    .collect()
            };
            self.events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .apply(health, batches, sets_of)
        };
        self.publish(Reencode::AgentEvents(&touched))
    }

    /// The queue sets a reload keeps (`keys`, those it passes to [`Exposition::set_targets`]),
    /// the instances that read an agent event stream and the streams read: the event totals of
    /// every other set, instance and stream end (at the next publish, which `set_targets`
    /// makes).
    pub fn set_event_streams(
        &self,
        keys: &[TargetKey],
        instances: BTreeSet<String>,
        streams: BTreeSet<String>,
    ) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(keys, &instances, &streams);
    }

    pub fn set_series_options(&self, options: BTreeMap<String, SeriesOptions>) {
        {
            // Per-agent series turned off by a reload go now, not at the set's next poll.
            let mut targets = self.lock_targets();
            for (key, state) in targets.iter_mut() {
                if !options.get(&key.instance).is_some_and(|o| o.agent_series) {
                    state.agents = Vec::new();
                }
            }
        }
        *self
            .series_options
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = options;
    }

    /// Sets the wallboard's thresholds and refresh (from the next publish on).
    pub fn set_wallboard_options(&self, options: WallboardOptions) {
        *self
            .wallboard_options
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = options;
    }

    fn options_of(&self, instance: &str) -> SeriesOptions {
        self.series_options
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(instance)
            .copied()
            .unwrap_or_default()
    }

    fn apply(&self, key: &TargetKey, report: PollReport, names: Option<Arc<LabelNames>>) {
        let options = self.options_of(&key.instance);
        let mut targets = self.lock_targets();
        let Some(state) = targets.get_mut(key) else {
            // A target removed while its last poll was in flight: nothing to apply.
            return;
        };
        self.poll_duration
            .with_label_values(&[key.instance.as_str(), key.queue_set.as_str()])
            .observe(report.duration.as_secs_f64());
        state.apply(report, names, options);
    }

    /// Replaces the set of targets and request logs (after a reload). Targets that stay keep
    /// their data, counters and histograms; the series of removed ones go.
    pub fn set_targets(
        &self,
        keys: &[TargetKey],
        request_logs: BTreeMap<String, RequestLog>,
        intraday_instances: &BTreeSet<String>,
    ) -> Result<(), ExpositionError> {
        {
            let mut targets = self.lock_targets();
            targets.retain(|key, _| {
                let keep = keys.contains(key);
                if !keep {
                    // The series may not exist if the target never finished a poll.
                    let _ = self
                        .poll_duration
                        .remove_label_values(&[key.instance.as_str(), key.queue_set.as_str()]);
                    if !keys.iter().any(|kept| kept.instance == key.instance) {
                        for task in POLLING_TASKS {
                            // Gone already where another set of the instance went first.
                            let _ = self
                                .task_restarts
                                .remove_label_values(&[key.instance.as_str(), task]);
                        }
                    }
                }
                keep
            });
            for key in keys {
                targets.entry(key.clone()).or_insert_with(TargetState::new);
            }
            self.start_task_restarts_at_zero(keys);
            self.rounds
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|instance, _| request_logs.contains_key(instance));
            // Instances that read the intraday KPIs keep their last read until the restarted
            // task reads again; the others' KPIs go now (nothing would ever replace them).
            self.intraday
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|instance, _| intraday_instances.contains(instance));
            *self
                .request_logs
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = request_logs;
        }
        self.publish(Reencode::All)
    }

    /// The latest encoded exposition (text format 0.0.4) as one text: a copy, for tests and
    /// tools (the server sends [`Exposition::encoded_pieces`]).
    pub fn encoded(&self) -> Bytes {
        concat(&self.encoded_pieces())
    }

    /// The latest encoded exposition as the pieces to send one after another. Cheap:
    /// reference-counted copies.
    pub fn encoded_pieces(&self) -> Vec<Bytes> {
        self.encoded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .pieces
            .clone()
    }

    /// The same exposition, gzip-compressed once when it was published.
    pub fn encoded_gzip(&self) -> Bytes {
        self.encoded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .gzip
            .clone()
    }

    /// The wallboard's JSON, of the same publish as [`Exposition::encoded_pieces`] read now.
    pub fn wallboard(&self) -> Bytes {
        self.encoded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .wallboard
            .clone()
    }

    /// True once every target has finished its first poll, successful or not.
    pub fn ready(&self) -> bool {
        self.statuses().iter().all(|status| status.polled)
    }

    /// The state of each target as last published, for the landing page and `/-/ready`: the
    /// same moment `/metrics` shows, read without waiting for a publish in progress; the
    /// request counts are read now.
    pub fn statuses(&self) -> Vec<TargetStatus> {
        let mut statuses = self
            .encoded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .statuses
            .clone();
        let request_counts = self.request_counts();
        for status in &mut statuses {
            (status.instance_requests, status.instance_throttled) = request_counts
                .get(&status.key.instance)
                .copied()
                .unwrap_or_default();
        }
        statuses
    }

    /// Request attempts and, of those, throttled ones, by instance.
    fn request_counts(&self) -> BTreeMap<String, (u64, u64)> {
        self.request_logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(instance, log)| {
                let counts = log.counts();
                let all = counts.values().sum();
                let throttled = counts
                    .iter()
                    .filter(|((_, outcome), _)| *outcome == RequestOutcome::Throttled)
                    .map(|(_, count)| count)
                    .sum();
                (instance.clone(), (all, throttled))
            })
            .collect()
    }

    /// The state of each of `targets` now (the request counts are filled in when read).
    fn statuses_of(&self, targets: &BTreeMap<TargetKey, TargetState>) -> Vec<TargetStatus> {
        let intraday: BTreeMap<String, SourceStatus> = self
            .intraday
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(instance, state)| {
                let status = SourceStatus {
                    up: state.up,
                    last_success: state.last_success,
                    last_error: state.last_error.clone(),
                };
                (instance.clone(), status)
            })
            .collect();
        targets
            .iter()
            .map(|(key, state)| TargetStatus {
                key: key.clone(),
                polled: state.polled,
                up: state.summary.is_some(),
                last_poll: state.last_poll,
                last_success: state.last_success,
                last_error: state.last_error.clone(),
                instance_requests: 0,
                instance_throttled: 0,
                intraday: intraday.get(&key.instance).cloned(),
            })
            .collect()
    }

    fn lock_targets(&self) -> std::sync::MutexGuard<'_, BTreeMap<TargetKey, TargetState>> {
        self.targets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-encodes the data families `reencode` names, joins them with the other segments and
    /// fresh self-metrics, compresses, and swaps the result in. Runs under the state lock, so
    /// two polls finishing together cannot publish out of order; scrapes, the landing page and
    /// `/-/ready` only take the short read lock of `encoded` and never wait for this.
    fn publish(&self, reencode: Reencode<'_>) -> Result<(), ExpositionError> {
        let mut targets = self.lock_targets();
        let mut segments = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        let reencoded: Vec<SegmentKey> = match reencode {
            // The intraday segment follows: its room under the series limit is what the fresh
            // aggregates and backlog leave (it is small and cheap to encode again).
            Reencode::Instance(instance) => [Source::UserData, Source::Intraday]
                .map(|source| SegmentKey {
                    source,
                    instance: instance.to_string(),
                })
                .to_vec(),
            Reencode::Intraday(instance) => vec![SegmentKey {
                source: Source::Intraday,
                instance: instance.to_string(),
            }],
            Reencode::AgentEvents(instances) => instances
                .iter()
                .map(|instance| SegmentKey {
                    source: Source::AgentEvents,
                    instance: instance.clone(),
                })
                .chain(std::iter::once(SegmentKey {
                    source: Source::EventStreams,
                    instance: String::new(),
                }))
                .collect(),
            Reencode::All => {
                segments.clear();
                let mut all: Vec<String> = targets.keys().map(|key| key.instance.clone()).collect();
                all.dedup();
                // Intraday first here: the real-time segments then count what it wrote (or,
                // for an instance whose KPIs a reload turned off, nothing).
                all.into_iter()
                    .flat_map(|instance| {
                        [Source::Intraday, Source::UserData, Source::AgentEvents].map(|source| {
                            SegmentKey {
                                source,
                                instance: instance.clone(),
                            }
                        })
                    })
                    .chain(std::iter::once(SegmentKey {
                        source: Source::EventStreams,
                        instance: String::new(),
                    }))
                    .collect()
            }
        };
        for key in reencoded {
            // Sized like the last encode: a growing buffer would copy itself several times
            // over and hold twice the text for a while at 50,000 agents.
            let capacity = segments.get(&key).map_or(0, Segment::len).max(4096);
            let writer = TextWriter::with_capacity(capacity);
            let segment = match key.source {
                Source::UserData => self.encode_instance(&mut targets, &key.instance, writer),
                Source::Intraday => self.encode_intraday(&mut targets, &key.instance, writer),
                Source::AgentEvents => self
                    .events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .encode_instance(&targets, &key.instance, writer),
                Source::EventStreams => self
                    .events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .encode_streams(writer),
            };
            match segment {
                Some(segment) => segments.insert(key, segment),
                // A removed instance's last round, or an instance without intraday KPIs.
                None => segments.remove(&key),
            };
        }
        let statuses = self.statuses_of(&targets);
        // Counted and read under the segments lock, which every publish holds to the end: the
        // generation the self-metrics below show is this one's.
        self.publishes.inc();
        let wallboard = self.encode_wallboard(&targets, self.publishes.get())?;
        drop(targets);
        let tail = self.self_metrics()?;
        let gzip_capacity = self
            .encoded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .gzip
            .len()
            .max(1024);
        let parts: Vec<&Segment> = segments.values().collect();
        let pieces = join(&parts, Bytes::from(tail));
        let gzip = gzip(&pieces, gzip_capacity)?;
        *self.encoded.write().unwrap_or_else(PoisonError::into_inner) = Encoded {
            pieces,
            gzip: Bytes::from(gzip),
            statuses,
            wallboard,
        };
        drop(segments);
        Ok(())
    }

    /// The data families of `instance`'s queue sets, within each set's series limit; `None`
    /// when the instance has no queue set (any more).
    fn encode_instance(
        &self,
        targets: &mut BTreeMap<TargetKey, TargetState>,
        instance: &str,
        mut writer: TextWriter,
    ) -> Option<Segment> {
        let options = self.options_of(instance);
        let (segment, counts) = {
            let of_instance: Vec<(&TargetKey, &TargetState)> = targets
                .iter()
                .filter(|(key, _)| key.instance == instance)
                .collect();
            if of_instance.is_empty() {
                return None;
            }
            let mut counts = vec![
                SeriesCount {
                    limit: options.series_limit,
                    ..SeriesCount::default()
                };
                of_instance.len()
            ];
            write_segment(&mut writer, &of_instance, &mut counts);
            (writer.into_segment(), counts)
        };
        let of_instance = targets
            .iter_mut()
            .filter(|(key, _)| key.instance == instance);
        for ((key, state), count) in of_instance.zip(&counts) {
            if state.summary.is_none() {
                continue;
            }
            log_series_limit(key, state.dropped_series, count);
            state.dropped_series = count.dropped;
            state.realtime_series = count.realtime;
        }
        Some(segment)
    }

    /// The intraday families of `instance`, each set within what its series limit leaves
    /// after the real-time aggregates and backlog; `None` when the instance has no intraday
    /// state (it reads none, or has not read yet).
    fn encode_intraday(
        &self,
        targets: &mut BTreeMap<TargetKey, TargetState>,
        instance: &str,
        mut writer: TextWriter,
    ) -> Option<Segment> {
        let limit = self.options_of(instance).series_limit;
        let intraday = self.intraday.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(state) = intraday.get(instance) else {
            // No intraday series (any more): the real-time segment counts none for them.
            for (_, target) in targets
                .iter_mut()
                .filter(|(key, _)| key.instance == instance)
            {
                target.intraday_series = (0, 0);
            }
            return None;
        };
        let (segment, counts) = {
            let sets = intraday_families::targets_of(state, targets, limit);
            let counts = intraday_families::write_segment(&mut writer, instance, state, &sets);
            let keys: Vec<TargetKey> = sets.iter().map(|set| set.key.clone()).collect();
            (
                writer.into_segment(),
                keys.into_iter().zip(counts).collect::<Vec<_>>(),
            )
        };
        for (key, target) in targets
            .iter_mut()
            .filter(|(key, _)| key.instance == instance)
        {
            target.intraday_series = counts
                .iter()
                .find(|(of, _)| of == key)
                .map_or((0, 0), |(_, count)| *count);
        }
        Some(segment)
    }

    /// The wallboard of every target as it stands, for publish number `generation`.
    fn encode_wallboard(
        &self,
        targets: &BTreeMap<TargetKey, TargetState>,
        generation: u64,
    ) -> Result<Bytes, ExpositionError> {
        let options = *self
            .wallboard_options
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let intraday = self.intraday.lock().unwrap_or_else(PoisonError::into_inner);
        let sets: Vec<SetData<'_>> = targets
            .iter()
            .map(|(key, state)| SetData {
                key,
                polled: state.polled,
                error: state.last_error.as_deref(),
                summary: state.summary.as_ref(),
                names: state.names.as_deref(),
                missed_last_15m: state.recent_missed.in_window(),
                intraday: intraday
                    .get(&key.instance)
                    .filter(|source| source.up)
                    .and_then(|source| source.sets.iter().find(|(of, _)| of == key))
                    .map(|(_, data)| data),
            })
            .collect();
        let published_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        Ok(wallboard::encode(
            generation,
            published_at,
            &options,
            &sets,
        )?)
    }

    /// The self-metric families, encoded by the `prometheus` crate, sorted by name.
    fn self_metrics(&self) -> Result<Vec<u8>, ExpositionError> {
        let request_logs = self
            .request_logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let rounds = self
            .rounds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut families = exporter_families(&request_logs, &self.version, &self.revision)?;
        families.extend(round_families(&rounds)?);
        families.extend(budget_families(&self.budgets)?);
        families.extend(self.self_registry.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&families, &mut buffer)?;
        Ok(buffer)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        shared, AgentRecord, ContactRecord, KpiRow, KpiValue, OccupancyRow, QueueKpi, QueueMetric,
        SetIntraday, Snapshot,
    };
    use std::time::Duration;

    fn key(set: &str) -> TargetKey {
        TargetKey {
            instance: "prod".into(),
            queue_set: set.into(),
        }
    }

    fn snapshot(status: &str, contact_state: &str) -> Snapshot {
        Snapshot {
            queue_metrics: Vec::new(),
            fetched_at: 1_000.0,
            agents: shared(vec![AgentRecord {
                user_id: "u1".into(),
                status_name: status.into(),
                available_slots: vec![("VOICE".into(), 0)],
                active_slots: vec![("VOICE".into(), 1)],
                max_slots: vec![("VOICE".into(), 1)],
                contacts: vec![ContactRecord {
                    contact_id: "c1".into(),
                    channel: "VOICE".into(),
                    state: contact_state.to_string().into(),
                    queue_id: Some("q1".into()),
                    state_start: Some(990.0),
                    ..Default::default()
                }],
                ..Default::default()
            }]),
        }
    }

    fn report(outcome: Result<Snapshot, String>) -> PollReport {
        PollReport {
            started_at: 1_000.0,
            duration: Duration::from_millis(30),
            outcome,
        }
    }

    fn text(exposition: &Exposition) -> String {
        String::from_utf8(exposition.encoded().to_vec()).unwrap()
    }

    fn exposition(sets: &[&str]) -> Exposition {
        let keys: Vec<TargetKey> = sets.iter().map(|s| key(s)).collect();
        Exposition::new(&keys, BTreeMap::new(), Arc::default(), "1.2.3", "abc").unwrap()
    }

    #[test]
    fn publishes_gauges_and_drops_vanished_series() {
        let exposition = exposition(&["support"]);
        assert!(!exposition.ready());
        assert!(!text(&exposition).contains("amazon_connect_up"));
        exposition
            .record(
                &key("support"),
                report(Ok(snapshot("Available", "CONNECTED"))),
            )
            .unwrap();
        assert!(exposition.ready());
        let first = text(&exposition);
        for line in [
            "amazon_connect_up{connect_instance=\"prod\",queue_set=\"support\"} 1",
            "amazon_connect_agent_slots_active{channel=\"voice\",connect_instance=\"prod\",queue_set=\"support\"} 1",
            "amazon_connect_agents{connect_instance=\"prod\",queue_set=\"support\",status=\"Available\"} 1",
            "amazon_connect_agent_contacts{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\",state=\"connected\"} 1",
            "amazon_connect_agent_contact_state_age_seconds_max{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\",state=\"connected\"} 10",
            "amazon_connect_last_poll_success_timestamp_seconds{connect_instance=\"prod\",queue_set=\"support\"} 1000",
            "amazon_connect_exporter_build_info{revision=\"abc\",version=\"1.2.3\"} 1",
            "amazon_connect_exporter_poll_duration_seconds_count{connect_instance=\"prod\",queue_set=\"support\"} 1",
        ] {
            assert!(first.contains(line), "missing {line} in\n{first}");
        }
        exposition
            .record(&key("support"), report(Ok(snapshot("Lunch", "MISSED"))))
            .unwrap();
        let second = text(&exposition);
        assert!(!second.contains("status=\"Available\""), "{second}");
        assert!(!second.contains("state=\"connected\""), "{second}");
        assert!(second.contains("amazon_connect_missed_contacts_total{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\"} 1"), "{second}");
    }

    /// Lines of family `name` in `text`.
    fn lines_of<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        text.lines()
            .filter(|line| line.starts_with(&format!("{name}{{")))
            .collect()
    }

    #[test]
    fn queue_metrics_become_backlog_gauges_and_nulls_stay_absent() {
        let exposition = exposition(&["support"]);
        let mut data = snapshot("Available", "CONNECTED");
        data.queue_metrics = vec![Arc::new(crate::model::QueueMetricRow {
            queue_id: "q1".into(),
            channel: "CHAT".into(),
            values: vec![
                (QueueMetric::ContactsInQueue, 4.0),
                (QueueMetric::OldestContactAge, 24.113),
                (QueueMetric::AgentsStaffed, 0.0),
            ],
        })];
        exposition
            .record(&key("support"), report(Ok(data)))
            .unwrap();
        let text = text(&exposition);
        let labels =
            "{channel=\"chat\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\"}";
        for line in [
            format!("amazon_connect_queue_contacts_in_queue{labels} 4"),
            format!("amazon_connect_queue_oldest_contact_age_seconds{labels} 24.113"),
            format!("amazon_connect_queue_agents_staffed{labels} 0"),
        ] {
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
        assert!(
            !text.contains("amazon_connect_queue_estimated_wait_time_seconds"),
            "a metric the service did not compute is not published: {text}"
        );
    }

    /// A poll of `agents` agents, each Available with one connected voice contact.
    fn many_agents(agents: usize) -> Snapshot {
        let one = snapshot("Available", "CONNECTED").agents[0]
            .as_ref()
            .clone();
        Snapshot {
            fetched_at: 1_000.0,
            agents: shared(
                (0..agents)
                    .map(|index| AgentRecord {
                        user_id: format!("u{index:03}"),
                        status_start: Some(900.0),
                        ..one.clone()
                    })
                    .collect(),
            ),
            queue_metrics: Vec::new(),
        }
    }

    #[test]
    fn per_agent_series_are_published_only_when_asked_for() {
        let exposition = exposition(&["support"]);
        exposition
            .record(&key("support"), report(Ok(many_agents(2))))
            .unwrap();
        assert!(!text(&exposition).contains("amazon_connect_per_agent_"));
        exposition.set_series_options(BTreeMap::from([(
            "prod".to_string(),
            SeriesOptions {
                agent_series: true,
                series_limit: 1_000,
                ..SeriesOptions::default()
            },
        )]));
        exposition
            .record(&key("support"), report(Ok(many_agents(2))))
            .unwrap();
        let text = text(&exposition);
        let set = "connect_instance=\"prod\",queue_set=\"support\"";
        for line in [
            format!("amazon_connect_per_agent_status{{agent=\"u001\",{set},status=\"Available\"}} 1"),
            format!("amazon_connect_per_agent_status_age_seconds{{agent=\"u000\",{set}}} 100"),
            format!("amazon_connect_per_agent_slots_active{{agent=\"u001\",channel=\"voice\",{set}}} 1"),
            format!("amazon_connect_per_agent_slots_max{{agent=\"u000\",channel=\"voice\",{set}}} 1"),
            format!("amazon_connect_per_agent_contacts{{agent=\"u000\",channel=\"voice\",{set},state=\"connected\"}} 1"),
        ] {
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn the_series_limit_drops_per_agent_series_first_and_counts_them() {
        // Per set: 3 slot families + agents + contacts + state age + by profile + initiation
        // + with missed + status age max + the missed, rejected and error totals (started at
        // 0 for the queue and channel seen) = 13 aggregate series; 100 agents × 6 per-agent
        // series (status, status age, 3 slot families, contacts) = 600.
        let published = |limit: usize| -> String {
            let exposition = exposition(&["support", "sales"]);
            exposition.set_series_options(BTreeMap::from([(
                "prod".to_string(),
                SeriesOptions {
                    agent_series: true,
                    series_limit: limit,
                    ..SeriesOptions::default()
                },
            )]));
            for set in ["support", "sales"] {
                exposition
                    .record(&key(set), report(Ok(many_agents(100))))
                    .unwrap();
            }
            text(&exposition)
        };
        let of_set = |text: &str, name: &str, set: &str| {
            lines_of(text, name)
                .into_iter()
                .filter(|line| line.contains(&format!("queue_set=\"{set}\"")))
                .count()
        };
        let count = |text: &str, name: &str, set: &str| -> f64 {
            let prefix = format!("{name}{{connect_instance=\"prod\",queue_set=\"{set}\"}} ");
            text.lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("no {prefix} in {text}"))
        };
        let data_lines = |text: &str| {
            text.lines()
                .filter(|line| !line.starts_with('#'))
                .filter(|line| {
                    ![
                        "amazon_connect_up",
                        "amazon_connect_last_poll",
                        "amazon_connect_exporter_",
                    ]
                    .iter()
                    .any(|prefix| line.starts_with(prefix))
                })
                .count()
        };
        // Room for the aggregates but not for every agent: the per-agent series go whole.
        let text = published(400);
        for set in ["support", "sales"] {
            assert_eq!(
                of_set(&text, "amazon_connect_agents", set),
                1,
                "aggregates stay"
            );
            assert_eq!(of_set(&text, "amazon_connect_per_agent_status", set), 0);
            assert_eq!(count(&text, "amazon_connect_exporter_series", set), 13.0);
            assert_eq!(
                count(&text, "amazon_connect_exporter_series_dropped", set),
                600.0
            );
        }
        assert_eq!(data_lines(&text), 26);
        // Room for everything.
        let text = published(613);
        for set in ["support", "sales"] {
            assert_eq!(of_set(&text, "amazon_connect_per_agent_status", set), 100);
            assert_eq!(
                count(&text, "amazon_connect_exporter_series_dropped", set),
                0.0
            );
        }
        // Not even room for the aggregates: exactly the limit, the rest counted.
        let text = published(5);
        for set in ["support", "sales"] {
            assert_eq!(count(&text, "amazon_connect_exporter_series", set), 5.0);
            assert_eq!(
                count(&text, "amazon_connect_exporter_series_dropped", set),
                608.0
            );
        }
        assert_eq!(data_lines(&text), 10, "two sets, 5 data series each");
    }

    /// "support" polled with a missed contact, "sales" with a connected one.
    fn two_polled_sets() -> Exposition {
        let exposition = exposition(&["support", "sales"]);
        exposition
            .record(&key("support"), report(Ok(snapshot("Available", "MISSED"))))
            .unwrap();
        exposition
            .record(
                &key("sales"),
                report(Ok(snapshot("Available", "CONNECTED"))),
            )
            .unwrap();
        exposition
    }

    #[test]
    fn failed_poll_sets_up_to_zero_and_drops_data_series_only() {
        let exposition = two_polled_sets();
        exposition
            .record(&key("support"), report(Err("AccessDeniedException".into())))
            .unwrap();
        let output = text(&exposition);
        assert!(
            output.contains("amazon_connect_up{connect_instance=\"prod\",queue_set=\"support\"} 0")
        );
        assert!(
            output.contains("amazon_connect_up{connect_instance=\"prod\",queue_set=\"sales\"} 1")
        );
        assert!(
            !output.contains("queue_set=\"support\",status="),
            "{output}"
        );
        assert!(!output.contains("amazon_connect_missed_contacts_total{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\"}"));
        assert!(output.contains("amazon_connect_last_poll_success_timestamp_seconds{connect_instance=\"prod\",queue_set=\"support\"} 1000"));
        assert!(output.contains("amazon_connect_exporter_poll_duration_seconds_count{connect_instance=\"prod\",queue_set=\"support\"} 2"));
        let statuses = exposition.statuses();
        let support = statuses.iter().find(|s| s.key == key("support")).unwrap();
        assert_eq!(support.last_error.as_deref(), Some("AccessDeniedException"));
        assert!(!support.up);
    }

    #[test]
    fn a_task_failure_downs_the_sets_and_counts_a_restart_from_zero() {
        let exposition = two_polled_sets();
        let restarts = |text: &str, task: &str| {
            text.lines()
                .find(|line| {
                    line.starts_with(&format!(
                        "amazon_connect_exporter_task_restarts_total{{connect_instance=\"prod\",task=\"{task}\"}}"
                    ))
                })
                .map(str::to_string)
        };
        let before = text(&exposition);
        assert!(restarts(&before, "round").is_some_and(|line| line.ends_with(" 0")));
        exposition
            .record_task_failure(
                "round",
                "the round task panicked (boom)",
                &[key("support"), key("sales")],
            )
            .unwrap();
        let after = text(&exposition);
        assert!(
            restarts(&after, "round").is_some_and(|line| line.ends_with(" 1")),
            "{after}"
        );
        assert!(restarts(&after, "directory").is_some_and(|line| line.ends_with(" 0")));
        for set in ["support", "sales"] {
            assert!(after.contains(&format!(
                "amazon_connect_up{{connect_instance=\"prod\",queue_set=\"{set}\"}} 0"
            )));
        }
        let statuses = exposition.statuses();
        assert!(statuses
            .iter()
            .all(|s| !s.up && s.last_error.as_deref() == Some("the round task panicked (boom)")));
    }

    fn intraday(outcome: Result<Vec<(TargetKey, SetIntraday)>, String>) -> IntradayReport {
        IntradayReport {
            started_at: 990.0,
            duration: Duration::from_millis(40),
            outcome,
        }
    }

    fn kpis() -> SetIntraday {
        let value = |kpi, threshold, value| KpiValue {
            kpi,
            threshold,
            value,
        };
        SetIntraday {
            rows: vec![Arc::new(KpiRow {
                window: "today".into(),
                queue_id: "q1".into(),
                channel: "VOICE".into(),
                values: vec![
                    value(QueueKpi::ServiceLevel, Some(20), 0.75),
                    value(QueueKpi::ContactsQueued, None, 8.0),
                ],
            })],
            occupancy: vec![Arc::new(OccupancyRow {
                window: "today".into(),
                routing_profile_id: "p1".into(),
                ratio: 0.5,
            })],
            target: Some(0.8),
        }
    }

    #[test]
    fn intraday_kpis_publish_in_their_own_segment_and_fail_on_their_own() {
        let exposition = two_polled_sets();
        let before = text(&exposition);
        exposition
            .record_intraday("prod", intraday(Ok(vec![(key("support"), kpis())])))
            .unwrap();
        let output = text(&exposition);
        for line in [
            "amazon_connect_queue_service_level_ratio{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\",threshold=\"20\",window=\"today\"} 0.75",
            "amazon_connect_queue_contacts_queued{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\",window=\"today\"} 8",
            "amazon_connect_routing_profile_agent_occupancy_ratio{connect_instance=\"prod\",queue_set=\"support\",routing_profile=\"p1\",window=\"today\"} 0.5",
            "amazon_connect_queue_set_service_level_target_ratio{connect_instance=\"prod\",queue_set=\"support\"} 0.8",
            "amazon_connect_source_up{connect_instance=\"prod\",source=\"intraday\"} 1",
            "amazon_connect_source_last_success_timestamp_seconds{connect_instance=\"prod\",source=\"intraday\"} 990",
        ] {
            assert!(output.contains(line), "{line} missing from:\n{output}");
        }
        // Every real-time line is still there, unchanged: only the new segment was added (and
        // the publish counted).
        for line in before
            .lines()
            .filter(|l| !l.contains("exporter_series") && !l.contains("exporter_publishes"))
        {
            assert!(output.contains(line), "{line} changed");
        }
        // The intraday series count towards the set's series, after the aggregates.
        let series = |text: &str| {
            lines_of(text, "amazon_connect_exporter_series")
                .into_iter()
                .find(|l| l.contains("queue_set=\"support\""))
                .map(str::to_string)
        };
        exposition
            .record(
                &key("support"),
                report(Ok(snapshot("Available", "CONNECTED"))),
            )
            .unwrap();
        let recounted = text(&exposition);
        assert_ne!(
            series(&before),
            series(&recounted),
            "4 intraday series counted"
        );

        exposition
            .record_intraday("prod", intraday(Err("GetMetricDataV2 refused".into())))
            .unwrap();
        let failed = text(&exposition);
        assert!(failed
            .contains("amazon_connect_source_up{connect_instance=\"prod\",source=\"intraday\"} 0"));
        assert!(
            !failed.contains("amazon_connect_queue_service_level_ratio"),
            "{failed}"
        );
        assert!(
            failed.contains("amazon_connect_up{connect_instance=\"prod\",queue_set=\"support\"} 1")
        );
        let status = exposition
            .statuses()
            .into_iter()
            .find(|s| s.key == key("support"))
            .unwrap();
        let intraday = status.intraday.unwrap();
        assert!(!intraday.up && intraday.last_error.as_deref() == Some("GetMetricDataV2 refused"));
    }

    #[test]
    fn a_reload_that_turns_the_intraday_kpis_off_drops_them_at_once() {
        let exposition = two_polled_sets();
        let series = |text: &str| {
            lines_of(text, "amazon_connect_exporter_series")
                .into_iter()
                .find(|l| l.contains("queue_set=\"support\""))
                .map(str::to_string)
        };
        let before = series(&text(&exposition));
        exposition
            .record_intraday("prod", intraday(Ok(vec![(key("support"), kpis())])))
            .unwrap();
        let keys = [key("support"), key("sales")];
        let instances = BTreeSet::from(["prod".to_string()]);
        exposition
            .set_targets(&keys, BTreeMap::new(), &instances)
            .unwrap();
        let kept = text(&exposition);
        assert!(
            kept.contains("amazon_connect_queue_service_level_ratio"),
            "still read: kept"
        );
        assert_ne!(series(&kept), before, "and counted");
        exposition
            .set_targets(&keys, BTreeMap::new(), &BTreeSet::new())
            .unwrap();
        let dropped = text(&exposition);
        assert!(
            !dropped.contains("amazon_connect_queue_service_level_ratio"),
            "{dropped}"
        );
        assert!(!dropped.contains("amazon_connect_source_up"), "{dropped}");
        assert_eq!(series(&dropped), before, "no longer counted");
        assert!(exposition.statuses().iter().all(|s| s.intraday.is_none()));
    }

    #[test]
    fn the_wallboard_is_of_the_same_publish_as_the_text_and_counts_recent_misses() {
        let exposition = two_polled_sets();
        let generation = |text: &str| -> f64 {
            text.lines()
                .find_map(|line| line.strip_prefix("amazon_connect_exporter_publishes_total "))
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("no publishes_total in {text}"))
        };
        let board = board_of;
        // new() published once, each poll once.
        assert_eq!(generation(&text(&exposition)), 3.0);
        assert_eq!(board(&exposition)["generation"], 3);
        // The miss of support's first poll counts at its second.
        exposition
            .record(&key("support"), report(Ok(snapshot("Available", "MISSED"))))
            .unwrap();
        let (text, board) = (text(&exposition), board(&exposition));
        assert_eq!(generation(&text), 4.0);
        assert_eq!(board["generation"], 4);
        let sets = board["sets"].as_array().unwrap();
        let support = sets.iter().find(|s| s["queue_set"] == "support").unwrap();
        assert!(text.contains("amazon_connect_missed_contacts_total{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\"} 1"));
        assert_eq!(support["missed_last_15m"], 1);
        assert_eq!(support["agents_by_status"]["Available"], 1);
        let sales = sets.iter().find(|s| s["queue_set"] == "sales").unwrap();
        assert_eq!(sales["missed_last_15m"], 0);
        exposition.set_wallboard_options(WallboardOptions::new(
            crate::config::Wallboard::default(),
            Some(Duration::from_secs(30)),
        ));
        exposition
            .record(&key("sales"), report(Err("throttled".into())))
            .unwrap();
        let board = board_of(&exposition);
        assert_eq!(board["refresh_seconds"], 30);
        let sales = &board["sets"].as_array().unwrap()[0];
        assert_eq!(
            (sales["queue_set"].as_str(), sales["up"].as_bool()),
            (Some("sales"), Some(false))
        );
        assert_eq!(sales["error"], "throttled");
    }

    fn board_of(exposition: &Exposition) -> serde_json::Value {
        serde_json::from_slice(&exposition.wallboard()).unwrap()
    }

    #[test]
    fn the_gzip_copy_decompresses_to_the_plain_text() {
        use std::io::Read as _;
        let exposition = two_polled_sets();
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(exposition.encoded_gzip().as_ref())
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, exposition.encoded().to_vec());
        assert!(exposition.encoded_gzip().len() < exposition.encoded().len());
    }

    #[test]
    fn set_targets_keeps_state_of_kept_targets_and_drops_removed_ones() {
        let exposition = two_polled_sets();
        exposition
            .set_targets(
                &[key("support"), key("billing")],
                BTreeMap::new(),
                &BTreeSet::new(),
            )
            .unwrap();
        let output = text(&exposition);
        assert!(
            output.contains("amazon_connect_up{connect_instance=\"prod\",queue_set=\"support\"} 1")
        );
        // Born at 0 by the set's only poll (its miss counts at the next one), and kept.
        assert!(output.contains("amazon_connect_missed_contacts_total{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\"} 0"));
        assert!(!output.contains("queue_set=\"sales\""), "{output}");
        assert!(!output.contains("queue_set=\"billing\""), "not polled yet");
        assert!(!exposition.ready(), "billing has not polled");
    }

    #[test]
    fn request_counts_are_exported_by_instance_operation_and_outcome() {
        let log = RequestLog::default();
        log.record("GetCurrentUserData", RequestOutcome::Throttled);
        let exposition = Exposition::new(
            &[key("s")],
            BTreeMap::from([("prod".to_string(), log.clone())]),
            Arc::default(),
            "v",
            "r",
        )
        .unwrap();
        log.record("GetCurrentUserData", RequestOutcome::Throttled);
        exposition
            .record(&key("s"), report(Err("x".into())))
            .unwrap();
        assert!(text(&exposition).contains("amazon_connect_exporter_api_requests_total{connect_instance=\"prod\",operation=\"GetCurrentUserData\",outcome=\"throttled\"} 2"));
        log.record("GetCurrentUserData", RequestOutcome::Success);
        let status = &exposition.statuses()[0];
        assert_eq!(
            (status.instance_requests, status.instance_throttled),
            (3, 2)
        );
        assert!((status.last_poll.unwrap() - 1_000.03).abs() < 1e-9);
        assert_eq!(status.last_success, None);
    }
}
