//! Turns poll results into Prometheus metric families, encodes them once per poll and keeps
//! the encoded text ready for scrapes. Never calls AWS.
//!
//! Data families are rebuilt from scratch on every poll, so a series whose agent, queue, status
//! or state disappeared from the data disappears from `/metrics` too; a failed poll drops its
//! target's data series and keeps the self-metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::budget::Budgets;
use crate::missed::StateCounter;
use crate::model::{AgentRecord, PollReport, QueueMetric, TargetKey};
use crate::names::LabelNames;
use crate::scheduler::RoundReport;
use crate::source::{RequestLog, RequestOutcome};
use crate::summary::{label_value, Summary};
use crate::text_format::{Family, Kind, TextWriter};

/// `Content-Type` of the text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const POLLED: &str = "Polled from GetCurrentUserData on the exporter's schedule, not at scrape time; see amazon_connect_last_poll_success_timestamp_seconds for its age.";

/// The terminal agent contact states counted per (contact, agent) pair: API state, metric
/// name, help.
const TERMINAL_STATES: [(&str, &str, &str); 3] = [
    (
        "MISSED",
        "amazon_connect_missed_contacts_total",
        "Distinct (contact, agent) pairs seen in the MISSED agent contact state (agent non-response) since the exporter started. One contact offered to three agents who do not answer counts three. Seen only at poll times.",
    ),
    (
        "REJECTED",
        "amazon_connect_rejected_contacts_total",
        "Distinct (contact, agent) pairs seen in the REJECTED agent contact state (the agent declined the contact) since the exporter started. Seen only at poll times.",
    ),
    (
        "ERROR",
        "amazon_connect_error_contacts_total",
        "Distinct (contact, agent) pairs seen in the ERROR agent contact state since the exporter started. Seen only at poll times.",
    ),
];

const QUEUE_METRICS_SOURCE: &str =
    "From GetCurrentMetricData, read on the exporter's schedule with the queue set's agents.";

/// The family of each GetCurrentMetricData metric: name and help.
fn queue_metric_family(metric: QueueMetric) -> (&'static str, &'static str) {
    match metric {
        QueueMetric::ContactsInQueue => (
            "amazon_connect_queue_contacts_in_queue",
            "Contacts waiting in the queue (CONTACTS_IN_QUEUE), by channel.",
        ),
        QueueMetric::OldestContactAge => (
            "amazon_connect_queue_oldest_contact_age_seconds",
            "Seconds the longest-waiting contact in the queue has waited (OLDEST_CONTACT_AGE, sent in milliseconds and converted); 0 when none waits.",
        ),
        QueueMetric::ContactsScheduled => (
            "amazon_connect_queue_contacts_scheduled",
            "Scheduled callbacks waiting for their time in the queue (CONTACTS_SCHEDULED).",
        ),
        QueueMetric::EstimatedWaitTime => (
            "amazon_connect_queue_estimated_wait_time_seconds",
            "The service's estimate of how long a new contact would wait (ESTIMATED_WAIT_TIME); absent when the service cannot compute it (no agents staffed).",
        ),
        QueueMetric::AgentsOnline => (
            "amazon_connect_queue_agents_online",
            "Agents serving the queue on the channel in any status but Offline (AGENTS_ONLINE).",
        ),
        QueueMetric::AgentsAvailable => (
            "amazon_connect_queue_agents_available",
            "Agents serving the queue on the channel in the Available status (AGENTS_AVAILABLE).",
        ),
        QueueMetric::AgentsOnContact => (
            "amazon_connect_queue_agents_on_contact",
            "Agents serving the queue on the channel who are on a contact (AGENTS_ON_CONTACT).",
        ),
        QueueMetric::AgentsAfterContactWork => (
            "amazon_connect_queue_agents_after_contact_work",
            "Agents serving the queue on the channel in after-contact work (AGENTS_AFTER_CONTACT_WORK).",
        ),
        QueueMetric::AgentsError => (
            "amazon_connect_queue_agents_error",
            "Agents serving the queue on the channel in an error state, such as after a missed contact (AGENTS_ERROR).",
        ),
        QueueMetric::AgentsStaffed => (
            "amazon_connect_queue_agents_staffed",
            "Agents serving the queue on the channel who are available, on contact or in after-contact work (AGENTS_STAFFED).",
        ),
        QueueMetric::SlotsActive => (
            "amazon_connect_queue_slots_active",
            "Slots in use of the agents serving the queue on the channel (SLOTS_ACTIVE).",
        ),
        QueueMetric::SlotsAvailable => (
            "amazon_connect_queue_slots_available",
            "Free slots of the agents serving the queue on the channel (SLOTS_AVAILABLE).",
        ),
    }
}

/// What a queue set publishes beyond the aggregates, and how much it may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesOptions {
    /// Series per agent (`amazon_connect_per_agent_*`).
    pub agent_series: bool,
    /// Most data series of one queue set; the rest are dropped and counted.
    pub series_limit: usize,
}

impl Default for SeriesOptions {
    fn default() -> Self {
        Self {
            agent_series: false,
            series_limit: crate::config::DEFAULT_SERIES_LIMIT,
        }
    }
}

/// Buckets for poll duration: a small set answers in tens of milliseconds, a 10,000-agent
/// instance at the default rate needs most of a minute.
const POLL_DURATION_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

impl crate::scheduler::PollSink for Exposition {
    fn record_round(
        &self,
        instance: &str,
        polls: Vec<(TargetKey, PollReport)>,
        round: RoundReport,
        names: Option<Arc<LabelNames>>,
    ) {
        if let Err(error) = Exposition::record_round(self, instance, polls, round, names) {
            // The previous exposition stays published; scrapes still get a consistent page.
            tracing::error!(%error, connect_instance = %instance, "metrics not updated");
        }
    }
}

/// What the landing page shows of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStatus {
    /// The target.
    pub key: TargetKey,
    /// Whether any poll has finished yet.
    pub polled: bool,
    /// Whether the last poll succeeded.
    pub up: bool,
    /// When the last poll, successful or not, finished, epoch seconds.
    pub last_poll: Option<f64>,
    /// When the last successful poll started, epoch seconds: the time the data served is from.
    pub last_success: Option<f64>,
    /// The last poll's error, if it failed.
    pub last_error: Option<String>,
    /// API request attempts of the target's instance (shared by its queue sets) so far.
    pub instance_requests: u64,
    /// Of those, the throttled ones.
    pub instance_throttled: u64,
}

#[derive(Debug)]
struct TargetState {
    summary: Option<Summary>,
    polled: bool,
    last_poll: Option<f64>,
    last_success: Option<f64>,
    last_error: Option<String>,
    /// Pairs counted in the terminal agent contact states, one counter per [`TERMINAL_STATES`].
    terminal: Vec<StateCounter>,
    /// Label values of queue and routing profile IDs; `None` labels with IDs.
    names: Option<Arc<LabelNames>>,
    /// The last successful poll's agents, kept only for per-agent series.
    agents: Vec<Arc<AgentRecord>>,
    /// When the data of the last successful poll was read, epoch seconds.
    data_at: f64,
    /// Data series left out of the last exposition by the series limit.
    dropped_series: usize,
}

impl TargetState {
    fn new() -> Self {
        Self {
            summary: None,
            polled: false,
            last_poll: None,
            last_success: None,
            last_error: None,
            terminal: TERMINAL_STATES
                .iter()
                .map(|(state, _, _)| StateCounter::new(state))
                .collect(),
            names: None,
            agents: Vec::new(),
            data_at: 0.0,
            dropped_series: 0,
        }
    }
}

/// The metric state of every target and the latest encoded exposition.
#[derive(Debug)]
pub struct Exposition {
    targets: Mutex<BTreeMap<TargetKey, TargetState>>,
    /// The last round of each instance.
    rounds: Mutex<BTreeMap<String, RoundReport>>,
    request_logs: Mutex<BTreeMap<String, RequestLog>>,
    /// Per-agent series and series limit by instance; instances not listed get the defaults.
    series_options: Mutex<BTreeMap<String, SeriesOptions>>,
    budgets: Arc<Budgets>,
    poll_duration: HistogramVec,
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
}

/// One published exposition, plain and gzip-compressed.
#[derive(Debug, Default)]
struct Encoded {
    plain: Bytes,
    gzip: Bytes,
}

/// Compresses `text` at the fastest level: the exposition is text with long repeated label
/// sets, so even that level shrinks it about tenfold, for a few milliseconds per round.
fn gzip(text: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(capacity), flate2::Compression::fast());
    encoder.write_all(text)?;
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
        let self_registry = Registry::new();
        self_registry.register(Box::new(poll_duration.clone()))?;
        let exposition = Self {
            targets: Mutex::new(
                targets
                    .iter()
                    .map(|key| (key.clone(), TargetState::new()))
                    .collect(),
            ),
            rounds: Mutex::new(BTreeMap::new()),
            request_logs: Mutex::new(request_logs),
            series_options: Mutex::new(BTreeMap::new()),
            budgets,
            poll_duration,
            self_registry,
            encoded: RwLock::new(Encoded::default()),
            version: version.to_string(),
            revision: revision.to_string(),
        };
        exposition.publish()?;
        Ok(exposition)
    }

    /// Applies one poll's result (labelled with IDs) and re-encodes the exposition.
    pub fn record(&self, key: &TargetKey, report: PollReport) -> Result<(), ExpositionError> {
        self.apply(key, report, None);
        self.publish()
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
        self.publish()
    }

    /// Sets what each instance's queue sets publish beyond the aggregates (from the next
    /// poll on).
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
        state.polled = true;
        state.names = names;
        state.last_poll = Some(report.started_at + report.duration.as_secs_f64());
        match report.outcome {
            Ok(snapshot) => {
                let summary = Summary::from_snapshot(&snapshot);
                for counter in &mut state.terminal {
                    counter.observe(&snapshot, &summary);
                }
                state.summary = Some(summary);
                state.data_at = snapshot.fetched_at;
                state.agents = if options.agent_series {
                    snapshot.agents
                } else {
                    Vec::new()
                };
                state.last_success = Some(report.started_at);
                state.last_error = None;
            }
            Err(message) => {
                state.summary = None;
                state.agents = Vec::new();
                state.last_error = Some(message);
            }
        }
    }

    /// Replaces the set of targets and request logs (after a reload). Targets that stay keep
    /// their data, counters and histograms; the series of removed ones go.
    pub fn set_targets(
        &self,
        keys: &[TargetKey],
        request_logs: BTreeMap<String, RequestLog>,
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
                }
                keep
            });
            for key in keys {
                targets.entry(key.clone()).or_insert_with(TargetState::new);
            }
            self.rounds
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|instance, _| request_logs.contains_key(instance));
            *self
                .request_logs
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = request_logs;
        }
        self.publish()
    }

    /// The request log of `instance`, if it is configured (to keep its counts over a reload).
    pub fn request_log(&self, instance: &str) -> Option<RequestLog> {
        self.request_logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(instance)
            .cloned()
    }

    /// The latest encoded exposition (text format 0.0.4). Cheap: a reference-counted copy.
    pub fn encoded(&self) -> Bytes {
        self.encoded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .plain
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

    /// True once every target has finished its first poll, successful or not.
    pub fn ready(&self) -> bool {
        self.lock_targets().values().all(|state| state.polled)
    }

    /// The state of each target, for the landing page.
    pub fn statuses(&self) -> Vec<TargetStatus> {
        let request_counts: BTreeMap<String, (u64, u64)> = self
            .request_logs
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
            .collect();
        self.lock_targets()
            .iter()
            .map(|(key, state)| {
                let (instance_requests, instance_throttled) = request_counts
                    .get(&key.instance)
                    .copied()
                    .unwrap_or_default();
                TargetStatus {
                    key: key.clone(),
                    polled: state.polled,
                    up: state.summary.is_some(),
                    last_poll: state.last_poll,
                    last_success: state.last_success,
                    last_error: state.last_error.clone(),
                    instance_requests,
                    instance_throttled,
                }
            })
            .collect()
    }

    fn lock_targets(&self) -> std::sync::MutexGuard<'_, BTreeMap<TargetKey, TargetState>> {
        self.targets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rebuilds and swaps the encoded exposition. Runs entirely under the state lock, so two
    /// polls finishing together cannot publish out of order; scrapes only take the short read
    /// lock of `encoded` and never wait for this.
    fn publish(&self) -> Result<(), ExpositionError> {
        let mut targets = self.lock_targets();
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
        let (plain_capacity, gzip_capacity) = {
            let current = self.encoded.read().unwrap_or_else(PoisonError::into_inner);
            (current.plain.len().max(4096), current.gzip.len().max(1024))
        };
        let mut counts: Vec<SeriesCount> = targets
            .keys()
            .map(|key| SeriesCount {
                limit: self.options_of(&key.instance).series_limit,
                ..SeriesCount::default()
            })
            .collect();
        let mut writer = TextWriter::with_capacity(plain_capacity);
        write_target_families(&mut writer, &targets, &mut counts);
        write_series_counts(&mut writer, &targets, &counts);
        let mut buffer = writer.into_bytes();
        TextEncoder::new().encode(&families, &mut buffer)?;
        let gzip = gzip(&buffer, gzip_capacity)?;
        *self.encoded.write().unwrap_or_else(PoisonError::into_inner) = Encoded {
            plain: Bytes::from(buffer),
            gzip: Bytes::from(gzip),
        };
        for ((key, state), count) in targets.iter_mut().zip(&counts) {
            if state.summary.is_none() {
                continue;
            }
            log_series_limit(key, state.dropped_series, count);
            state.dropped_series = count.dropped;
        }
        drop(targets);
        Ok(())
    }
}

/// Warns when a target starts to drop series at its limit, and says when it stops.
fn log_series_limit(key: &TargetKey, dropped_before: usize, count: &SeriesCount) {
    if count.dropped > 0 && dropped_before == 0 {
        tracing::warn!(
            connect_instance = %key.instance,
            queue_set = %key.queue_set,
            series_limit = count.limit,
            dropped = count.dropped,
            "the queue set has more data series than its series_limit; the rest (per-agent series first) are left out and counted in amazon_connect_exporter_series_dropped"
        );
    } else if count.dropped == 0 && dropped_before > 0 {
        tracing::info!(
            connect_instance = %key.instance,
            queue_set = %key.queue_set,
            series = count.written,
            "the queue set fits in its series_limit again"
        );
    }
}

/// The request budget's state: configured and current (adapted) rate, time spent waiting.
fn budget_families(budgets: &Budgets) -> Result<Vec<MetricFamily>, prometheus::Error> {
    const LABELS: &[&str] = &["account", "region", "operation"];
    let configured = gauge(
        "amazon_connect_exporter_request_budget_configured_rate",
        "Requests per second the exporter allows itself per AWS account, region and operation (api_rate_limits).",
        LABELS,
    )?;
    let current = gauge(
        "amazon_connect_exporter_request_budget_rate",
        "Requests per second allowed now: lower than the configured rate after throttling, recovering with each success.",
        LABELS,
    )?;
    let waited = prometheus::CounterVec::new(
        Opts::new(
            "amazon_connect_exporter_request_budget_wait_seconds_total",
            "Time requests spent waiting for the request budget.",
        ),
        LABELS,
    )?;
    for (key, status) in budgets.statuses() {
        let labels = [
            key.account.as_str(),
            key.region.as_str(),
            key.operation.as_str(),
        ];
        configured
            .with_label_values(&labels)
            .set(status.configured_rate);
        current.with_label_values(&labels).set(status.current_rate);
        waited
            .with_label_values(&labels)
            .inc_by(status.waited.as_secs_f64());
    }
    let registry = Registry::new();
    registry.register(Box::new(configured))?;
    registry.register(Box::new(current))?;
    registry.register(Box::new(waited))?;
    Ok(registry.gather())
}

/// What the request planner expected of each instance's last round, and what it took.
fn round_families(
    rounds: &BTreeMap<String, RoundReport>,
) -> Result<Vec<MetricFamily>, prometheus::Error> {
    let planned = gauge(
        "amazon_connect_exporter_round_planned_requests",
        "GetCurrentUserData requests the request planner expected the instance's last poll round to need (one round polls every queue set of the instance).",
        &["connect_instance"],
    )?;
    let made = gauge(
        "amazon_connect_exporter_round_requests",
        "GetCurrentUserData attempts the instance's last poll round made, retries included.",
        &["connect_instance"],
    )?;
    let sets = gauge(
        "amazon_connect_exporter_round_queue_sets",
        "Queue sets of the instance's last round by how they were polled: routing_profiles (the shared sweep) or queues (their own queue filter).",
        &["connect_instance", "method"],
    )?;
    for (instance, round) in rounds {
        planned
            .with_label_values(&[instance.as_str()])
            .set(round.planned_requests as f64);
        made.with_label_values(&[instance.as_str()])
            .set(round.made_requests as f64);
        sets.with_label_values(&[instance.as_str(), "routing_profiles"])
            .set(round.swept_sets as f64);
        sets.with_label_values(&[instance.as_str(), "queues"])
            .set(round.queue_filter_sets as f64);
    }
    let registry = Registry::new();
    registry.register(Box::new(planned))?;
    registry.register(Box::new(made))?;
    registry.register(Box::new(sets))?;
    Ok(registry.gather())
}

/// The labels every data family starts with.
const SET: &[&str] = &["connect_instance", "queue_set"];
const CHANNEL: &[&str] = &["connect_instance", "queue_set", "channel"];
const STATUS: &[&str] = &["connect_instance", "queue_set", "status"];
const CONTACT: &[&str] = &["connect_instance", "queue_set", "queue", "channel", "state"];
const TERMINAL: &[&str] = &["connect_instance", "queue_set", "queue", "channel"];

/// The `queue` label of queue `id`: its name where `names` has one.
fn queue_label<'a>(names: Option<&'a LabelNames>, id: &'a str) -> &'a str {
    names.map_or(id, |names| names.queue(id))
}

/// The `routing_profile` label of routing profile `id`: its name where `names` has one.
fn profile_label<'a>(names: Option<&'a LabelNames>, id: &'a str) -> &'a str {
    names.map_or(id, |names| names.routing_profile(id))
}

/// Data series written and dropped for one target in the exposition being built.
#[derive(Debug, Clone, Copy, Default)]
struct SeriesCount {
    limit: usize,
    written: usize,
    dropped: usize,
    /// The target's per-agent series do not fit in what the limit leaves: all are left out,
    /// rather than those of whichever agents the API happened to list last (which would
    /// change from round to round).
    agents_left_out: bool,
}

/// One family's samples of one target, within the target's series limit: once the limit is
/// reached, samples are counted instead of written.
struct TargetSamples<'f, 'w> {
    family: &'f mut Family<'w>,
    count: &'f mut SeriesCount,
}

impl TargetSamples<'_, '_> {
    /// Whether the target's per-agent series are left out this time.
    fn agents_left_out(&self) -> bool {
        self.count.agents_left_out
    }

    fn sample(&mut self, label_values: &[&str], value: f64) {
        if self.count.written < self.count.limit {
            self.family.sample(label_values, value);
            self.count.written += 1;
        } else {
            self.count.dropped += 1;
        }
    }
}

/// Writes one data family: `write` is called for every target with data (a successful last
/// poll), with the target's labels, summary and state; `counts` (one per target, in order)
/// keep each target within its series limit.
fn data_family(
    writer: &mut TextWriter,
    targets: &BTreeMap<TargetKey, TargetState>,
    counts: &mut [SeriesCount],
    (name, help, kind, labels): (&'static str, &str, Kind, &'static [&'static str]),
    mut write: impl FnMut(&mut TargetSamples<'_, '_>, [&str; 2], &Summary, &TargetState),
) {
    let mut family = writer.family(name, help, kind, labels);
    for ((key, state), count) in targets.iter().zip(counts.iter_mut()) {
        if let Some(summary) = &state.summary {
            let set = [key.instance.as_str(), key.queue_set.as_str()];
            let mut samples = TargetSamples {
                family: &mut family,
                count,
            };
            write(&mut samples, set, summary, state);
        }
    }
}

/// Writes the families of every target's data, `up` and the last-success time.
///
/// Families are written most useful first (aggregates, queue backlog, then per-agent series),
/// so that a target over its series limit loses its per-agent detail before anything else.
fn write_target_families(
    writer: &mut TextWriter,
    targets: &BTreeMap<TargetKey, TargetState>,
    counts: &mut [SeriesCount],
) {
    let polled = || targets.iter().filter(|(_, state)| state.polled);
    let mut up = writer.family(
        "amazon_connect_up",
        "1 if the last poll of the queue set succeeded, 0 if it failed (its data series are then dropped).",
        Kind::Gauge,
        SET,
    );
    for (key, state) in polled() {
        let value = if state.summary.is_some() { 1.0 } else { 0.0 };
        up.sample(&[&key.instance, &key.queue_set], value);
    }
    let mut last_success = writer.family(
        "amazon_connect_last_poll_success_timestamp_seconds",
        "Unix time at which the last successful poll of the queue set started: the age of the data served.",
        Kind::Gauge,
        SET,
    );
    for (key, state) in polled() {
        if let Some(at) = state.last_success {
            last_success.sample(&[&key.instance, &key.queue_set], at);
        }
    }
    type SlotsOf = fn(&Summary) -> &BTreeMap<String, i64>;
    let slot_families: [(&'static str, String, SlotsOf); 3] = [
        (
            "amazon_connect_agent_slots_available",
            format!("Sum of AvailableSlotsByChannel over the queue set's agents. {POLLED}"),
            |summary| &summary.slots_available,
        ),
        (
            "amazon_connect_agent_slots_active",
            format!("Sum of ActiveSlotsByChannel over the queue set's agents. {POLLED}"),
            |summary| &summary.slots_active,
        ),
        (
            "amazon_connect_agent_slots_max",
            format!("Sum of MaxSlotsByChannel over the queue set's agents. {POLLED}"),
            |summary| &summary.slots_max,
        ),
    ];
    for (name, help, values) in &slot_families {
        data_family(
            writer,
            targets,
            counts,
            (name, help, Kind::Gauge, CHANNEL),
            |family, set, summary, _| {
                for (channel, value) in values(summary) {
                    family.sample(&[set[0], set[1], channel], *value as f64);
                }
            },
        );
    }
    let help = format!("Agents serving the queue set, by agent status name. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        ("amazon_connect_agents", &help, Kind::Gauge, STATUS),
        |family, set, summary, _| {
            for (status, count) in &summary.agents_by_status {
                family.sample(&[set[0], set[1], status], *count as f64);
            }
        },
    );
    let help = format!("Contacts with the queue set's agents, by the contact's queue, channel and agent contact state. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        ("amazon_connect_agent_contacts", &help, Kind::Gauge, CONTACT),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for (contact, stats) in &summary.contacts {
                let queue = queue_label(names, &contact.queue);
                family.sample(
                    &[set[0], set[1], queue, &contact.channel, &contact.state],
                    stats.count as f64,
                );
            }
        },
    );
    let help = format!("Seconds the oldest of these contacts has been in its state, measured at poll start. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agent_contact_state_age_seconds_max",
            &help,
            Kind::Gauge,
            CONTACT,
        ),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for (contact, stats) in &summary.contacts {
                if let Some(age) = stats.oldest_state_age {
                    let queue = queue_label(names, &contact.queue);
                    family.sample(
                        &[set[0], set[1], queue, &contact.channel, &contact.state],
                        age,
                    );
                }
            }
        },
    );
    for (index, (_, name, help)) in TERMINAL_STATES.iter().enumerate() {
        data_family(
            writer,
            targets,
            counts,
            (name, help, Kind::Counter, TERMINAL),
            |family, set, _, state| {
                let names = state.names.as_deref();
                for ((queue_id, channel), total) in state.terminal[index].totals() {
                    family.sample(
                        &[set[0], set[1], queue_label(names, &queue_id), &channel],
                        total as f64,
                    );
                }
            },
        );
    }
    let help = format!("Agents serving the queue set by routing profile (name, or ID where there is none) and agent status name. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_by_routing_profile",
            &help,
            Kind::Gauge,
            &["connect_instance", "queue_set", "routing_profile", "status"],
        ),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for ((profile, status), count) in &summary.agents_by_profile_status {
                family.sample(
                    &[set[0], set[1], profile_label(names, profile), status],
                    *count as f64,
                );
            }
        },
    );
    let help = format!(
        "Agents with a pending next status (set while on contacts), by that status name. {POLLED}"
    );
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_next_status",
            &help,
            Kind::Gauge,
            &["connect_instance", "queue_set", "next_status"],
        ),
        |family, set, summary, _| {
            for (next, count) in &summary.agents_by_next_status {
                family.sample(&[set[0], set[1], next], *count as f64);
            }
        },
    );
    let help = format!("Seconds the longest-running agent in each status has been in it, measured at poll start. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agent_status_age_seconds_max",
            &help,
            Kind::Gauge,
            STATUS,
        ),
        |family, set, summary, _| {
            for (status, age) in &summary.oldest_status_age {
                family.sample(&[set[0], set[1], status], *age);
            }
        },
    );
    let help = format!("Contacts with the queue set's agents by initiation method (lower case; unknown when not reported) and channel. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agent_contacts_by_initiation_method",
            &help,
            Kind::Gauge,
            &[
                "connect_instance",
                "queue_set",
                "initiation_method",
                "channel",
            ],
        ),
        |family, set, summary, _| {
            for ((method, channel), count) in &summary.contacts_by_initiation {
                family.sample(&[set[0], set[1], method, channel], *count as f64);
            }
        },
    );
    let help =
        format!("Agents of the queue set with at least one contact in the MISSED state. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_with_missed_contacts",
            &help,
            Kind::Gauge,
            SET,
        ),
        |family, set, summary, _| {
            family.sample(&set, summary.agents_with_missed as f64);
        },
    );
    let help = format!("Agents of the queue set by user hierarchy group (name, or ID where there is none) at each level of their hierarchy path, and agent status name; only with hierarchy_labels. {POLLED}");
    data_family(
        writer,
        targets,
        counts,
        (
            "amazon_connect_agents_by_hierarchy_group",
            &help,
            Kind::Gauge,
            &[
                "connect_instance",
                "queue_set",
                "hierarchy_level",
                "hierarchy_group",
                "status",
            ],
        ),
        |family, set, summary, state| {
            let names = state.names.as_deref();
            for ((level, group, status), count) in &summary.agents_by_hierarchy {
                // The API has five levels; a longer path (not sent today) is left out.
                let Some(level) = level.checked_sub(1).and_then(|i| HIERARCHY_LEVELS.get(i)) else {
                    continue;
                };
                let group = names.map_or(group.as_str(), |names| names.hierarchy_group(group));
                family.sample(&[set[0], set[1], level, group, status], *count as f64);
            }
        },
    );
    for metric in QueueMetric::ALL {
        let (name, help) = queue_metric_family(metric);
        let help = format!("{help} {QUEUE_METRICS_SOURCE}");
        data_family(
            writer,
            targets,
            counts,
            (name, &help, Kind::Gauge, TERMINAL),
            |family, set, summary, state| {
                let names = state.names.as_deref();
                for ((queue, channel), values) in &summary.queue_metrics {
                    if let Some(value) = values.get(&metric) {
                        family.sample(
                            &[set[0], set[1], queue_label(names, queue), channel],
                            *value,
                        );
                    }
                }
            },
        );
    }
    write_per_agent_families(writer, targets, counts);
}

/// The `hierarchy_level` label values, level one first.
const HIERARCHY_LEVELS: [&str; 5] = ["1", "2", "3", "4", "5"];

const AGENT: &[&str] = &["connect_instance", "queue_set", "agent"];
const AGENT_STATUS: &[&str] = &["connect_instance", "queue_set", "agent", "status"];
const AGENT_CHANNEL: &[&str] = &["connect_instance", "queue_set", "agent", "channel"];
const AGENT_CONTACTS: &[&str] = &["connect_instance", "queue_set", "agent", "channel", "state"];

/// The `agent` label of user `id`: its login name where `names` has one.
fn agent_label<'a>(names: Option<&'a LabelNames>, id: &'a str) -> &'a str {
    names.map_or(id, |names| names.user(id))
}

/// The opt-in per-agent families (`agent_series: true`): only targets that kept their agents
/// write any.
fn write_per_agent_families(
    writer: &mut TextWriter,
    targets: &BTreeMap<TargetKey, TargetState>,
    counts: &mut [SeriesCount],
) {
    for ((_, state), count) in targets.iter().zip(counts.iter_mut()) {
        if state.summary.is_none() || state.agents.is_empty() {
            continue;
        }
        let series: usize = state
            .agents
            .iter()
            .map(|agent| per_agent_series(agent))
            .sum();
        if count.written + series > count.limit {
            count.dropped += series;
            count.agents_left_out = true;
        }
    }
    let help = format!("1 for each agent of the queue set, labelled with its login name and current agent status. {POLLED}");
    agent_family(
        writer,
        targets,
        counts,
        ("amazon_connect_per_agent_status", &help, AGENT_STATUS),
        |family, [instance, set, agent_name], agent, _| {
            family.sample(&[instance, set, agent_name, &agent.status_name], 1.0);
        },
    );
    let help =
        format!("Seconds each agent has been in its current status, at poll start. {POLLED}");
    agent_family(
        writer,
        targets,
        counts,
        ("amazon_connect_per_agent_status_age_seconds", &help, AGENT),
        |family, labels, agent, data_at| {
            if let Some(start) = agent.status_start {
                family.sample(&labels, (data_at - start).max(0.0));
            }
        },
    );
    type SlotsOf = fn(&AgentRecord) -> &crate::model::SlotsByChannel;
    let slot_families: [(&'static str, &str, SlotsOf); 3] = [
        (
            "amazon_connect_per_agent_slots_active",
            "ActiveSlotsByChannel of each agent.",
            |agent| &agent.active_slots,
        ),
        (
            "amazon_connect_per_agent_slots_available",
            "AvailableSlotsByChannel of each agent.",
            |agent| &agent.available_slots,
        ),
        (
            "amazon_connect_per_agent_slots_max",
            "MaxSlotsByChannel of each agent.",
            |agent| &agent.max_slots,
        ),
    ];
    for (name, help, slots_of) in slot_families {
        let help = format!("{help} {POLLED}");
        agent_family(
            writer,
            targets,
            counts,
            (name, &help, AGENT_CHANNEL),
            |family, [instance, set, agent_name], agent, _| {
                for (channel, count) in &slot_channels(slots_of(agent)) {
                    family.sample(&[instance, set, agent_name, channel], *count as f64);
                }
            },
        );
    }
    let help =
        format!("Each agent's current contacts by channel and agent contact state. {POLLED}");
    agent_family(
        writer,
        targets,
        counts,
        ("amazon_connect_per_agent_contacts", &help, AGENT_CONTACTS),
        |family, [instance, set, agent_name], agent, _| {
            for ((channel, state), count) in &contact_counts(agent) {
                family.sample(&[instance, set, agent_name, channel, state], *count as f64);
            }
        },
    );
}

/// Writes one per-agent family: `write` is called for every agent of every target that
/// kept its agents and whose per-agent series fit its limit, with the labels
/// `[connect_instance, queue_set, agent]`, the agent and the time its data was read.
fn agent_family(
    writer: &mut TextWriter,
    targets: &BTreeMap<TargetKey, TargetState>,
    counts: &mut [SeriesCount],
    (name, help, labels): (&'static str, &str, &'static [&'static str]),
    mut write: impl FnMut(&mut TargetSamples<'_, '_>, [&str; 3], &AgentRecord, f64),
) {
    data_family(
        writer,
        targets,
        counts,
        (name, help, Kind::Gauge, labels),
        |family, [instance, set], _, state| {
            if family.agents_left_out() {
                return;
            }
            let names = state.names.as_deref();
            for agent in &state.agents {
                let agent_name = agent_label(names, &agent.user_id);
                write(family, [instance, set, agent_name], agent, state.data_at);
            }
        },
    );
}

/// An agent's slots by lower-case channel, each channel once (a channel the API sent in two
/// spellings keeps one value: the format cannot carry a series twice).
fn slot_channels(slots: &crate::model::SlotsByChannel) -> Vec<(String, i64)> {
    let mut channels: Vec<(String, i64)> = slots
        .iter()
        .map(|(channel, count)| (label_value(channel), *count))
        .collect();
    channels.sort();
    channels.dedup_by(|a, b| a.0 == b.0);
    channels
}

/// An agent's contacts counted by (lower-case channel, lower-case agent contact state).
fn contact_counts(agent: &AgentRecord) -> BTreeMap<(String, String), u64> {
    let mut contacts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for contact in &agent.contacts {
        *contacts
            .entry((label_value(&contact.channel), label_value(&contact.state)))
            .or_default() += 1;
    }
    contacts
}

/// How many series the per-agent families write for `agent`: what [`slot_channels`] and
/// [`contact_counts`] would yield, counted without building their lower-case labels (this runs
/// for every agent before anything is written).
fn per_agent_series(agent: &AgentRecord) -> usize {
    let slot_series = |slots: &crate::model::SlotsByChannel| {
        distinct(slots, |(a, _), (b, _)| a.eq_ignore_ascii_case(b))
    };
    let contact_series = distinct(&agent.contacts, |a, b| {
        a.channel.eq_ignore_ascii_case(&b.channel) && a.state.eq_ignore_ascii_case(&b.state)
    });
    1 + usize::from(agent.status_start.is_some())
        + slot_series(&agent.active_slots)
        + slot_series(&agent.available_slots)
        + slot_series(&agent.max_slots)
        + contact_series
}

/// How many of `items` differ from every one before them by `same` (an agent has a handful of
/// channels and contacts, so pairwise is cheapest).
fn distinct<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> usize {
    items
        .iter()
        .enumerate()
        .filter(|(index, item)| !items[..*index].iter().any(|before| same(before, item)))
        .count()
}

/// How many data series each target published and how many its series limit dropped.
fn write_series_counts(
    writer: &mut TextWriter,
    targets: &BTreeMap<TargetKey, TargetState>,
    counts: &[SeriesCount],
) {
    type CountOf = fn(&SeriesCount) -> usize;
    let families: [(&'static str, &str, CountOf); 2] = [
        (
            "amazon_connect_exporter_series",
            "Data series the queue set publishes (self-metrics not counted); at most its series_limit.",
            |count| count.written,
        ),
        (
            "amazon_connect_exporter_series_dropped",
            "Data series of the queue set left out of the last exposition because they would pass its series_limit (per-agent series go first). Not 0: raise series_limit, split the set or turn agent_series off.",
            |count| count.dropped,
        ),
    ];
    for (name, help, value) in families {
        let mut family = writer.family(name, help, Kind::Gauge, SET);
        for ((key, state), count) in targets.iter().zip(counts) {
            if state.polled {
                family.sample(&[&key.instance, &key.queue_set], value(count) as f64);
            }
        }
    }
}

/// The few families that stay with the `prometheus` crate: API requests and build info.
fn exporter_families(
    request_logs: &BTreeMap<String, RequestLog>,
    version: &str,
    revision: &str,
) -> Result<Vec<MetricFamily>, prometheus::Error> {
    let api_requests = IntCounterVec::new(
        Opts::new(
            "amazon_connect_exporter_api_requests_total",
            "Amazon Connect API request attempts, SDK retries included, by operation and outcome (success, throttled, client_error, server_error, timeout, network_error, malformed_response).",
        ),
        &["connect_instance", "operation", "outcome"],
    )?;
    let build_info = gauge(
        "amazon_connect_exporter_build_info",
        "Always 1; the labels say which build of the exporter is running.",
        &["version", "revision"],
    )?;
    build_info.with_label_values(&[version, revision]).set(1.0);
    for (instance, log) in request_logs {
        for ((operation, outcome), count) in log.counts() {
            api_requests
                .with_label_values(&[instance.as_str(), operation.as_str(), outcome.as_str()])
                .inc_by(count);
        }
    }
    let registry = Registry::new();
    registry.register(Box::new(api_requests))?;
    registry.register(Box::new(build_info))?;
    Ok(registry.gather())
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> Result<GaugeVec, prometheus::Error> {
    GaugeVec::new(Opts::new(name, help), labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{shared, AgentRecord, ContactRecord, Snapshot};
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
            .set_targets(&[key("support"), key("billing")], BTreeMap::new())
            .unwrap();
        let output = text(&exposition);
        assert!(
            output.contains("amazon_connect_up{connect_instance=\"prod\",queue_set=\"support\"} 1")
        );
        assert!(output.contains("amazon_connect_missed_contacts_total{channel=\"voice\",connect_instance=\"prod\",queue=\"q1\",queue_set=\"support\"} 1"));
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
