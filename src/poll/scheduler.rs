//! Runs one round task per instance on its interval, with jitter and a timeout: each round
//! plans its requests ([`crate::sources::user_data::planner`]), runs them ([`super::round`]),
//! and hands each queue set's result to a [`PollSink`]. A directory task per instance keeps
//! the routing directory fresh ([`super::directory`]). Knows no metric names.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, info_span, Instrument, Span};

use super::agent_events::{stream_loop, StreamRun};
use super::clock::WallClock;
use super::directory::{directory_loop, has_unknown_id, needs_directory, DirectoryCache};
use super::event_subscribers::{Subscriber, Subscribers};
use super::intraday::intraday_loop;
use super::queue_sets::{log_discovery, QueueSetTarget, ResolvedSets};
use super::round::{log_outcome, log_overrun, run_round, RoundStart, SetOutcome, USER_DATA};
use super::supervisor::{supervise, Supervised, TaskKind};
use crate::config::{AgentEvents, Intraday, LabelValues, PlannerMode};
use crate::connect::{InstanceApi, InstanceBudgets, RequestLog, RetryPolicy};
use crate::kinesis::StreamApi;
use crate::model::agent_events::{EventBatch, StreamHealth};
use crate::model::{
    AgentRecord, IntradayReport, LabelNames, PollReport, RoundReport, RoutingDirectory, TargetKey,
};
use crate::sources::user_data::planner::{self, AgentsByProfile, Plan};

/// The first poll of each target waits a random part of this (capped by a tenth of the
/// interval), so targets started together do not hit the API in the same instant.
const MAX_START_JITTER: Duration = Duration::from_secs(2);
/// Each later wait is the interval stretched or shrunk by up to this fraction.
const INTERVAL_JITTER: f64 = 0.05;

/// Receives the result of every round.
pub trait PollSink: Send + Sync {
    /// Called once per finished round of an instance with the poll of each of its queue sets,
    /// successful or not, and what the round planned and spent.
    /// `names` gives the label values of queue and routing profile IDs; `None` keeps the IDs.
    fn record_round(
        &self,
        instance: &str,
        polls: Vec<(TargetKey, PollReport)>,
        round: RoundReport,
        names: Option<Arc<LabelNames>>,
    );

    /// Called once per read of an instance's intraday KPIs. A sink that publishes no such KPIs
    /// (a test's) leaves this as it is.
    fn record_intraday(&self, instance: &str, report: IntradayReport) {
        let _ = (instance, report);
    }

    /// Called every second that an agent event stream brought events, with what they added to
    /// each instance's sets and the stream's health; without events, with the health alone
    /// now and then. A sink that publishes no events (a test's) leaves this as it is.
    fn record_agent_events(&self, health: StreamHealth, batches: Vec<(String, EventBatch)>) {
        let _ = (health, batches);
    }

    /// Called when a task of `instance` panicked: its queue sets `sets` are down for
    /// `reason` until the restarted task reports again, and the restart is counted. A test's
    /// sink may leave this as it is.
    fn record_task_failure(
        &self,
        instance: &str,
        task: TaskKind,
        reason: &str,
        sets: &[TargetKey],
    ) {
        let _ = (instance, task, reason, sets);
    }
}

/// One instance with its queue sets and everything needed to poll them.
#[derive(Clone)]
pub struct Target {
    /// The instance's config name.
    pub instance: String,
    /// Its queue sets, in config order.
    pub sets: Vec<QueueSetTarget>,
    /// Time between round starts.
    pub interval: Duration,
    /// Upper bound on one round.
    pub timeout: Duration,
    /// Where the data comes from.
    pub api: Arc<dyn InstanceApi>,
    /// How rounds are planned.
    pub planner: PlannerMode,
    /// How often the routing directory (names, queues of each routing profile) is read again.
    pub directory_refresh: Duration,
    /// Upper bound on one directory read (the first round waits for the first read at most
    /// `timeout`, then goes on with queue filters while the read continues).
    pub directory_timeout: Duration,
    /// Whether queue and routing profile labels carry names or IDs.
    pub label_values: LabelValues,
    /// The request budgets of the instance's account and region, by operation.
    pub budgets: InstanceBudgets,
    /// Whether directory reads list the users, for the login names per-agent series carry.
    pub agent_names: bool,
    /// Whether directory reads list the hierarchy groups, for the names of the
    /// `hierarchy_group` label.
    pub hierarchy_names: bool,
    /// Whether rounds also read the queues' real-time metrics (`queue_metrics`).
    pub queue_metrics: bool,
    /// The instance's request counts, to report the attempts each round made.
    pub requests: RequestLog,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// Where rounds read the time they started.
    pub clock: WallClock,
    /// The intraday KPIs' interval, windows, time zone and comparison.
    pub intraday: Intraday,
    /// The instance's agent event stream, when it has one.
    pub agent_events: Option<EventStreamTarget>,
}

/// An instance's agent event stream and the client that reads it.
#[derive(Clone)]
pub struct EventStreamTarget {
    /// Where and how the stream is read; instances with equal settings share one reader.
    pub settings: AgentEvents,
    /// The instance ID its events name in `InstanceARN`.
    pub instance_id: String,
    /// The Kinesis calls (used when this instance starts the stream's reader).
    pub api: Arc<dyn StreamApi>,
    /// Where the reader's requests are counted.
    pub requests: RequestLog,
}

/// The running polling tasks, by instance: each instance's tasks start and stop on their own,
/// so that a reload restarts only the instances whose settings changed.
pub struct Scheduler {
    runtime: tokio::runtime::Handle,
    sink: Arc<dyn PollSink>,
    instances: BTreeMap<String, InstanceTasks>,
    /// The agent event streams being read, by their settings, each for its instances.
    streams: BTreeMap<AgentEvents, StreamTasks>,
}

/// The reader of one agent event stream, the instances it reads for, and its switch.
struct StreamTasks {
    subscribers: Arc<Subscribers>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// What every task of one instance starts from.
struct InstanceRun<'a> {
    target: &'a Target,
    /// The instance's queue sets: a panic takes them all down.
    sets: Vec<TargetKey>,
    /// The directory its tasks share.
    directory: &'a Arc<DirectoryCache>,
    /// The switch that stops them.
    stopped: &'a watch::Receiver<bool>,
}

/// The tasks of one instance and the switch that stops them.
struct InstanceTasks {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Scheduler {
    /// [`Scheduler::start_on`] the current runtime.
    pub fn start(targets: Vec<Target>, sink: Arc<dyn PollSink>) -> Self {
        Self::start_on(targets, sink, &tokio::runtime::Handle::current())
    }

    /// Starts, on `runtime`, the tasks of every target (see [`Scheduler::start_instance`]).
    pub fn start_on(
        targets: Vec<Target>,
        sink: Arc<dyn PollSink>,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let mut scheduler = Self {
            runtime: runtime.clone(),
            sink,
            instances: BTreeMap::new(),
            streams: BTreeMap::new(),
        };
        for target in targets {
            scheduler.start_instance(target);
        }
        scheduler
    }

    /// Starts one round task for the instance of `target`, a directory task where its planner
    /// may sweep by routing profiles or its labels carry names, and an intraday task where a
    /// set reads the KPIs; each supervised, so that a panic restarts it instead of ending it.
    /// An instance of the same name that runs already is stopped (without waiting for its
    /// tasks to end: they end at their next await).
    pub fn start_instance(&mut self, target: Target) {
        if let Some(running) = self.instances.remove(&target.instance) {
            let _ = running.stop.send(true);
        }
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let directory = Arc::new(DirectoryCache::new());
        let run = InstanceRun {
            target: &target,
            sets: target.sets.iter().map(|set| set.key.clone()).collect(),
            directory: &directory,
            stopped: &stopped,
        };
        if needs_directory(&target) {
            self.spawn_supervised(
                &mut tasks,
                TaskKind::Directory,
                &run,
                |target, directory, _, stopped| directory_loop(target, directory, stopped),
            );
        }
        if target.sets.iter().any(|set| set.intraday) {
            self.spawn_supervised(&mut tasks, TaskKind::Intraday, &run, intraday_loop);
        }
        self.spawn_supervised(&mut tasks, TaskKind::Rounds, &run, round_loop);
        if let Some(events) = &target.agent_events {
            self.subscribe(&target, events, &directory);
        }
        // A stream the instance no longer reads goes on for the others; one left without an
        // instance is told to stop (its tasks end at their next await, like the instance's).
        let keep = target.agent_events.as_ref().map(|events| &events.settings);
        drop(self.unsubscribe(&target.instance, keep));
        let instance = target.instance.clone();
        self.instances
            .insert(instance, InstanceTasks { stop, tasks });
    }

    /// Spawns `task` of the instance `run` starts on the polling runtime, supervised: made
    /// anew, with fresh copies of what it takes, after each panic.
    fn spawn_supervised<F, Fut>(
        &self,
        tasks: &mut JoinSet<()>,
        kind: TaskKind,
        run: &InstanceRun<'_>,
        task: F,
    ) where
        F: Fn(Target, Arc<DirectoryCache>, Arc<dyn PollSink>, watch::Receiver<bool>) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let supervised = Supervised {
            kind,
            instance: run.target.instance.clone(),
            sets: run.sets.clone(),
            sink: Arc::clone(&self.sink),
        };
        let (target, directory, sink, stopped) = (
            run.target.clone(),
            Arc::clone(run.directory),
            Arc::clone(&self.sink),
            run.stopped.clone(),
        );
        tasks.spawn_on(
            supervise(supervised, run.stopped.clone(), move || {
                task(
                    target.clone(),
                    Arc::clone(&directory),
                    Arc::clone(&sink),
                    stopped.clone(),
                )
            }),
            &self.runtime,
        );
    }

    /// Sends the agent events of `target`'s instance to it from `events`' stream, starting
    /// the stream's reader (supervised, its restarts counted for this instance) unless another
    /// instance's runs already.
    fn subscribe(
        &mut self,
        target: &Target,
        events: &EventStreamTarget,
        directory: &Arc<DirectoryCache>,
    ) {
        let subscriber = Subscriber {
            instance: target.instance.clone(),
            sets: target.sets.clone(),
            directory: Arc::clone(directory),
        };
        if let Some(running) = self.streams.get(&events.settings) {
            running.subscribers.insert(&events.instance_id, subscriber);
            return;
        }
        let subscribers = Arc::new(Subscribers::default());
        subscribers.insert(&events.instance_id, subscriber);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let supervised = Supervised {
            kind: TaskKind::AgentEvents,
            instance: target.instance.clone(),
            // A stream that fails leaves the polled data of the instances as it is.
            sets: Vec::new(),
            sink: Arc::clone(&self.sink),
        };
        let (settings, api, requests, sink, clock) = (
            events.settings.clone(),
            Arc::clone(&events.api),
            events.requests.clone(),
            Arc::clone(&self.sink),
            target.clock,
        );
        let shared_subscribers = Arc::clone(&subscribers);
        let task_stopped = stopped.clone();
        tasks.spawn_on(
            supervise(supervised, stopped, move || {
                let run = StreamRun {
                    settings: settings.clone(),
                    api: Arc::clone(&api),
                    requests: requests.clone(),
                    subscribers: Arc::clone(&shared_subscribers),
                    sink: Arc::clone(&sink),
                    clock,
                };
                stream_loop(run, task_stopped.clone())
            }),
            &self.runtime,
        );
        self.streams.insert(
            events.settings.clone(),
            StreamTasks {
                subscribers,
                stop,
                tasks,
            },
        );
    }

    /// Stops sending agent events to `instance` from every stream but `keep`; returns the
    /// readers of streams left without an instance, told to stop.
    fn unsubscribe(&mut self, instance: &str, keep: Option<&AgentEvents>) -> Vec<StreamTasks> {
        let emptied: Vec<AgentEvents> = self
            .streams
            .iter()
            .filter(|(settings, _)| Some(*settings) != keep)
            .filter(|(_, running)| running.subscribers.remove_instance(instance))
            .map(|(settings, _)| settings.clone())
            .collect();
        emptied
            .into_iter()
            .filter_map(|settings| self.streams.remove(&settings))
            .inspect(|running| {
                let _ = running.stop.send(true);
            })
            .collect()
    }

    /// The instances whose tasks run.
    pub fn instances(&self) -> impl Iterator<Item = &str> {
        self.instances.keys().map(String::as_str)
    }

    /// Stops the tasks of `instance`, abandoning polls in flight, and waits for them to end.
    /// Its agent event stream reads on, so that an instance restarted by a reload misses no
    /// event: [`Scheduler::stop_unused_streams`] ends what no running instance reads.
    pub async fn stop_instance(&mut self, instance: &str) {
        if let Some(running) = self.instances.remove(instance) {
            running.stop_and_wait().await;
        }
    }

    /// Stops sending agent events to instances that no longer run, and stops (and waits for)
    /// the readers of streams left without an instance.
    pub async fn stop_unused_streams(&mut self) {
        let gone: BTreeSet<String> = self
            .streams
            .values()
            .flat_map(|running| running.subscribers.instances())
            .filter(|instance| !self.instances.contains_key(instance))
            .collect();
        for instance in gone {
            for stream in self.unsubscribe(&instance, None) {
                stream.wait().await;
            }
        }
    }

    /// Stops every task, abandoning polls in flight, and waits for them to end.
    pub async fn stop(&mut self) {
        for (_, running) in std::mem::take(&mut self.instances) {
            running.stop_and_wait().await;
        }
        for (_, stream) in std::mem::take(&mut self.streams) {
            let _ = stream.stop.send(true);
            stream.wait().await;
        }
    }
}

impl StreamTasks {
    async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

impl InstanceTasks {
    async fn stop_and_wait(mut self) {
        // Receivers live inside the tasks; if all have ended already there is no one to tell.
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// What a round task remembers from one round to the next.
struct RoundMemory {
    /// The sets as resolved against the directory read they were resolved against.
    resolved: ResolvedSets,
    /// How many queues each `queues: all` set found, to log changes.
    discovered_counts: Vec<Option<usize>>,
    /// Each set's last error, to log a failure once while it stays the same.
    last_errors: Vec<Option<String>>,
    /// Whether rounds overran the interval, to log it once.
    overran: bool,
    /// Agents per routing profile in the last round: the planner's cost model.
    agent_counts: AgentsByProfile,
    /// The last plan's (swept sets, queue-filter sets), to log the plan when it changes.
    last_shape: Option<(usize, usize)>,
}

impl RoundMemory {
    fn new(target: &Target) -> Self {
        Self {
            resolved: ResolvedSets::resolve(&target.sets, None),
            discovered_counts: vec![None; target.sets.len()],
            last_errors: vec![None; target.sets.len()],
            overran: false,
            agent_counts: AgentsByProfile::new(),
            last_shape: None,
        }
    }
}

async fn round_loop(
    target: Target,
    directory: Arc<DirectoryCache>,
    sink: Arc<dyn PollSink>,
    mut stopped: watch::Receiver<bool>,
) {
    let span = info_span!("round", connect_instance = %target.instance);
    let mut memory = RoundMemory::new(&target);
    let mut next_start = Instant::now() + start_jitter(target.interval);
    if !first_directory_read(&target, &directory, &mut stopped).await {
        return;
    }
    while until_or_stopped(next_start, &mut stopped).await {
        let start = RoundStart {
            started: Instant::now(),
            started_at: target.clock.now(),
        };
        let current = directory.get();
        let current_directory = current.as_ref().map(|(directory, _)| Arc::clone(directory));
        let names = match target.label_values {
            LabelValues::Names => current.as_ref().map(|(_, names)| Arc::clone(names)),
            LabelValues::Ids => None,
        };
        if !memory.resolved.is_for(current_directory.as_ref()) {
            memory.resolved = ResolvedSets::resolve(&target.sets, current_directory.clone());
            span.in_scope(|| {
                log_discovery(
                    &target.sets,
                    &memory.resolved,
                    &mut memory.discovered_counts,
                )
            });
        }
        let plan = planner::plan(
            target.planner,
            &memory.resolved.filters(),
            current_directory.as_deref(),
            &memory.agent_counts,
        );
        let requests_before = target.requests.count_of(USER_DATA);
        let round = run_round(
            &target,
            &memory.resolved,
            &plan,
            current_directory.as_deref(),
            start,
        )
        .instrument(span.clone());
        let results = tokio::select! {
            results = round => results,
            _ = stopped.changed() => return,
        };
        let made_requests = target.requests.count_of(USER_DATA) - requests_before;
        let finished = FinishedRound {
            plan: &plan,
            made_requests,
            directory: current_directory.as_deref(),
            start,
        };
        let (polls, report) =
            finish_round(&target, &mut memory, &directory, finished, results, &span);
        // Summarising and encoding a large round takes a CPU for a while: off the async
        // workers, so that scrapes and other instances' requests are not held up behind it.
        let recorder = Arc::clone(&sink);
        let instance = target.instance.clone();
        let recorded = tokio::task::spawn_blocking(move || {
            recorder.record_round(&instance, polls, report, names)
        })
        .await;
        if let Err(error) = recorded {
            span.in_scope(|| error!(%error, "recording the round failed"));
        }
        // Rounds of one instance never overlap: a slow round pushes the next one back.
        next_start = (start.started + jittered(target.interval)).max(Instant::now());
    }
}

/// What a finished round planned, spent and read against.
struct FinishedRound<'a> {
    plan: &'a Plan,
    made_requests: u64,
    directory: Option<&'a RoutingDirectory>,
    start: RoundStart,
}

/// After a round: fails the sets that could not be resolved, logs each set's outcome and the
/// plan, updates the planner's agent counts, asks for a directory read when the round met an
/// ID the directory lacks, and words the polls and the round report for the sink.
fn finish_round(
    target: &Target,
    memory: &mut RoundMemory,
    directory: &DirectoryCache,
    finished: FinishedRound<'_>,
    mut results: Vec<SetOutcome>,
    span: &Span,
) -> (Vec<(TargetKey, PollReport)>, RoundReport) {
    for ((_, outcome), resolved) in results.iter_mut().zip(memory.resolved.sets()) {
        if let Some(reason) = &resolved.error {
            *outcome = Err(reason.clone());
        }
    }
    let mut round_agents: Vec<&AgentRecord> = Vec::new();
    let mut seen_users = rustc_hash::FxHashSet::default();
    for (index, (duration, outcome)) in results.iter().enumerate() {
        let set = &target.sets[index];
        let set_span = info_span!(parent: span, "poll", queue_set = %set.key.queue_set);
        set_span.in_scope(|| log_outcome(outcome, *duration, &mut memory.last_errors[index]));
        if let Ok(snapshot) = outcome {
            for agent in &snapshot.agents {
                if seen_users.insert(agent.user_id.as_str()) {
                    round_agents.push(agent.as_ref());
                }
            }
        }
    }
    if !round_agents.is_empty() {
        memory.agent_counts = planner::agents_by_profile(round_agents.iter().copied());
    }
    if finished
        .directory
        .is_some_and(|known| has_unknown_id(&round_agents, known))
    {
        // A profile or queue created since the last read: its queues or name are unknown.
        directory.refresh.notify_one();
    }
    let plan = finished.plan;
    let duration = finished.start.started.elapsed();
    span.in_scope(|| {
        let shape = (plan.swept_sets.len(), plan.queue_filter_sets.len());
        if memory.last_shape != Some(shape) {
            info!(
                planned_requests = plan.expected_requests,
                swept_sets = shape.0,
                queue_filter_sets = shape.1,
                "request plan"
            );
            memory.last_shape = Some(shape);
        }
        debug!(
            planned_requests = plan.expected_requests,
            made_requests = finished.made_requests,
            duration_ms = duration.as_millis() as u64,
            "round finished"
        );
        log_overrun(duration, target.interval, &mut memory.overran);
    });
    let polls = target
        .sets
        .iter()
        .zip(results)
        .map(|(set, (duration, outcome))| {
            let report = PollReport {
                started_at: finished.start.started_at,
                duration,
                outcome,
            };
            (set.key.clone(), report)
        })
        .collect();
    let report = RoundReport {
        planned_requests: plan.expected_requests,
        made_requests: finished.made_requests,
        swept_sets: plan.swept_sets.len(),
        queue_filter_sets: plan.queue_filter_sets.len(),
    };
    (polls, report)
}

/// Waits for the instance's first directory read where its tasks need one, so that their first
/// round is labelled and planned like the ones after it. False when the task is to stop.
pub(super) async fn first_directory_read(
    target: &Target,
    directory: &DirectoryCache,
    stopped: &mut watch::Receiver<bool>,
) -> bool {
    if !needs_directory(target) {
        return true;
    }
    tokio::select! {
        () = directory.first_read(target.timeout) => true,
        _ = stopped.changed() => false,
    }
}

/// Sleeps until `at`; false when the task is to stop first.
pub(super) async fn until_or_stopped(at: Instant, stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep_until(at) => true,
        _ = stopped.changed() => false,
    }
}

pub(super) fn start_jitter(interval: Duration) -> Duration {
    let cap = MAX_START_JITTER.min(interval / 10);
    cap.mul_f64(rand::rng().random_range(0.0..=1.0))
}

pub(super) fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(1.0 - INTERVAL_JITTER..=1.0 + INTERVAL_JITTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rate_limits::known_operations;
    use crate::config::{AgentSelector, RateLimit};
    use crate::connect::{
        Budgets, ListEntry, ListPage, Listing, Listings, MetricDataPages, QueueMetricPage,
        QueueMetricPages, RequestError, RequestOutcome, UserDataFilter, UserDataPage,
        UserDataPages,
    };
    use crate::model::{QueueMetric, QueueMetricRow};
    use futures_util::future::BoxFuture;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    /// An instance whose agents have routing profiles serving queues; answers GetCurrentUserData
    /// by either filter, as the service does, after `delay`, and the three look-ups.
    struct FakeInstance {
        delay: Duration,
        profile_queues: BTreeMap<String, BTreeSet<String>>,
        agents: Vec<AgentRecord>,
        user_data_calls: Mutex<Vec<UserDataFilterKind>>,
        /// The queue IDs of each GetCurrentMetricData request.
        metric_calls: Mutex<Vec<Vec<String>>>,
        /// Whether GetCurrentMetricData answers AccessDeniedException.
        metrics_denied: bool,
        /// Whether the next GetCurrentUserData request panics (a bug in a conversion, say).
        panic_once: std::sync::atomic::AtomicBool,
        /// How long each page of a directory listing takes.
        listing_delay: Duration,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum UserDataFilterKind {
        Queues,
        RoutingProfiles,
        HierarchyGroups,
    }

    impl FakeInstance {
        fn new(delay: Duration, profiles: &[(&str, &[&str], usize)]) -> Self {
            let mut agents = Vec::new();
            for (profile, _, count) in profiles {
                for n in 0..*count {
                    agents.push(AgentRecord {
                        user_id: format!("{profile}-agent{n}"),
                        status_name: "Available".into(),
                        routing_profile_id: Some(profile.to_string()),
                        ..Default::default()
                    });
                }
            }
            Self {
                delay,
                profile_queues: profiles
                    .iter()
                    .map(|(profile, queues, _)| {
                        (
                            profile.to_string(),
                            queues.iter().map(|q| q.to_string()).collect(),
                        )
                    })
                    .collect(),
                agents,
                user_data_calls: Mutex::new(Vec::new()),
                metric_calls: Mutex::new(Vec::new()),
                metrics_denied: false,
                panic_once: std::sync::atomic::AtomicBool::new(false),
                listing_delay: Duration::ZERO,
            }
        }

        fn calls(&self) -> Vec<UserDataFilterKind> {
            self.user_data_calls.lock().unwrap().clone()
        }
    }

    impl UserDataPages for FakeInstance {
        fn fetch_page<'a>(
            &'a self,
            filter: UserDataFilter<'a>,
            next_token: Option<String>,
        ) -> BoxFuture<'a, Result<UserDataPage, RequestError>> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                if self
                    .panic_once
                    .swap(false, std::sync::atomic::Ordering::SeqCst)
                {
                    panic!("a page no one expected");
                }
                let matching: Vec<&AgentRecord> = self
                    .agents
                    .iter()
                    .filter(|agent| {
                        let profile = agent.routing_profile_id.as_deref().unwrap_or("");
                        match filter {
                            UserDataFilter::Queues(queues) => self.profile_queues[profile]
                                .iter()
                                .any(|queue| queues.contains(queue)),
                            UserDataFilter::RoutingProfiles(profiles) => {
                                profiles.iter().any(|p| p == profile)
                            }
                            UserDataFilter::UserHierarchyGroups(_) => false,
                        }
                    })
                    .collect();
                self.user_data_calls.lock().unwrap().push(match filter {
                    UserDataFilter::Queues(_) => UserDataFilterKind::Queues,
                    UserDataFilter::RoutingProfiles(_) => UserDataFilterKind::RoutingProfiles,
                    UserDataFilter::UserHierarchyGroups(_) => UserDataFilterKind::HierarchyGroups,
                });
                let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
                let end = (start + 100).min(matching.len());
                Ok(UserDataPage {
                    agents: matching[start..end].iter().map(|a| (*a).clone()).collect(),
                    next_token: (end < matching.len()).then(|| end.to_string()),
                })
            })
        }
    }

    /// One VOICE row per queue asked for, with as many contacts in queue as the queue name
    /// is long.
    impl MetricDataPages for FakeInstance {}

    impl QueueMetricPages for FakeInstance {
        fn fetch_queue_metrics<'a>(
            &'a self,
            queue_ids: &'a [String],
            _next_token: Option<String>,
        ) -> BoxFuture<'a, Result<QueueMetricPage, RequestError>> {
            self.metric_calls.lock().unwrap().push(queue_ids.to_vec());
            let known = |queue: &String| self.profile_queues.values().any(|q| q.contains(queue));
            let result = if let Some(unknown) = queue_ids.iter().find(|queue| !known(queue)) {
                // As the service does: one unknown queue refuses the whole request.
                Err(RequestError {
                    outcome: RequestOutcome::ClientError,
                    code: Some("InvalidParameterException".into()),
                    message: format!("no queue {unknown}"),
                })
            } else if self.metrics_denied {
                Err(RequestError {
                    outcome: RequestOutcome::ClientError,
                    code: Some("AccessDeniedException".into()),
                    message: "AccessDeniedException (HTTP 403)".into(),
                })
            } else {
                Ok(QueueMetricPage {
                    rows: queue_ids
                        .iter()
                        .map(|queue| QueueMetricRow {
                            queue_id: queue.clone(),
                            channel: "VOICE".into(),
                            values: vec![(QueueMetric::ContactsInQueue, queue.len() as f64)],
                        })
                        .collect(),
                    next_token: None,
                })
            };
            Box::pin(async move { result })
        }
    }

    impl Listings for FakeInstance {
        fn list_page<'a>(
            &'a self,
            listing: Listing<'a>,
            _next_token: Option<String>,
        ) -> BoxFuture<'a, Result<ListPage, RequestError>> {
            let ids: Vec<String> = match listing {
                Listing::Queues => self.profile_queues.values().flatten().cloned().collect(),
                Listing::RoutingProfiles => self.profile_queues.keys().cloned().collect(),
                Listing::RoutingProfileQueues(profile) => {
                    self.profile_queues[profile].iter().cloned().collect()
                }
                Listing::Users => self.agents.iter().map(|a| a.user_id.clone()).collect(),
                Listing::HierarchyGroups => Vec::new(),
            };
            let entries = ids
                .into_iter()
                .map(|id| ListEntry {
                    name: Some(format!("name of {id}")),
                    id,
                    queue_type: Some("STANDARD".into()),
                })
                .collect();
            Box::pin(async move {
                tokio::time::sleep(self.listing_delay).await;
                Ok(ListPage {
                    entries,
                    next_token: None,
                })
            })
        }
    }

    /// Records each round with the (paused, virtual) time it arrived, and task failures.
    #[derive(Default)]
    struct Rounds(Mutex<Vec<RecordedRound>>, Mutex<Vec<(TaskKind, String)>>);

    type RecordedRound = (Instant, Vec<(TargetKey, PollReport)>, RoundReport);

    impl PollSink for Rounds {
        fn record_round(
            &self,
            _instance: &str,
            polls: Vec<(TargetKey, PollReport)>,
            round: RoundReport,
            _names: Option<Arc<LabelNames>>,
        ) {
            self.0.lock().unwrap().push((Instant::now(), polls, round));
        }

        fn record_task_failure(
            &self,
            _instance: &str,
            task: TaskKind,
            reason: &str,
            sets: &[TargetKey],
        ) {
            assert_eq!(sets.len(), 1);
            self.1.lock().unwrap().push((task, reason.to_string()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_task_that_panics_is_reported_and_restarted() {
        let api = one_profile(Duration::from_millis(10));
        api.panic_once
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let rounds = Arc::new(Rounds::default());
        let mut scheduler = Scheduler::start(
            vec![target(
                Arc::clone(&api),
                &[&["q"]],
                PlannerMode::Queues,
                Duration::from_secs(1),
                Duration::from_secs(1),
            )],
            rounds.clone(),
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        scheduler.stop().await;
        let failures = rounds.1.lock().unwrap().clone();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, TaskKind::Rounds);
        assert!(
            failures[0].1.contains("a page no one expected"),
            "{}",
            failures[0].1
        );
        let recorded = rounds.0.lock().unwrap();
        assert!(
            recorded.len() >= 2
                && recorded
                    .iter()
                    .all(|(_, polls, _)| polls[0].1.outcome.is_ok()),
            "the restarted task polls again: {} rounds",
            recorded.len()
        );
    }

    /// Every operation at 100 requests a second.
    fn budgets() -> InstanceBudgets {
        let generous = RateLimit {
            rate: 100.0,
            burst: 100.0,
        };
        let limits = known_operations()
            .into_iter()
            .map(|operation| (operation, generous))
            .collect();
        InstanceBudgets::new(Arc::new(Budgets::new(limits)), None, None)
    }

    fn target(
        api: Arc<FakeInstance>,
        sets: &[&[&str]],
        planner: PlannerMode,
        interval: Duration,
        timeout: Duration,
    ) -> Target {
        Target {
            instance: "i".into(),
            sets: sets
                .iter()
                .enumerate()
                .map(|(index, queues)| QueueSetTarget {
                    key: TargetKey {
                        instance: "i".into(),
                        queue_set: format!("set{index}"),
                    },
                    queue_ids: queues.iter().map(|q| q.to_string()).collect(),
                    queue_names: Vec::new(),
                    discovery: None,
                    selector: AgentSelector::Queues,
                    intraday: false,
                    service_level_thresholds: Vec::new(),
                    service_level_target: None,
                })
                .collect(),
            interval,
            timeout,
            api,
            planner,
            directory_refresh: Duration::from_secs(300),
            directory_timeout: Duration::from_secs(120),
            label_values: LabelValues::Ids,
            budgets: budgets(),
            agent_names: false,
            hierarchy_names: false,
            queue_metrics: false,
            requests: RequestLog::default(),
            retry: RetryPolicy::default(),
            clock: WallClock::System,
            intraday: Intraday::default(),
            agent_events: None,
        }
    }

    fn one_profile(delay: Duration) -> Arc<FakeInstance> {
        Arc::new(FakeInstance::new(delay, &[("p", &["q"], 1)]))
    }

    fn users(report: &PollReport) -> BTreeSet<String> {
        report
            .outcome
            .as_ref()
            .unwrap()
            .agents
            .iter()
            .map(|a| a.user_id.clone())
            .collect()
    }

    /// The first round's polls of `target` on `api`.
    async fn first_round(target: Target) -> Vec<(TargetKey, PollReport)> {
        let rounds = Arc::new(Rounds::default());
        let mut scheduler = Scheduler::start(vec![target], rounds.clone());
        tokio::time::sleep(Duration::from_secs(5)).await;
        scheduler.stop().await;
        let rounds = rounds.0.lock().unwrap();
        rounds[0].1.clone()
    }

    #[tokio::test(start_paused = true)]
    async fn queue_metrics_are_read_once_per_queue_and_given_to_each_set_that_lists_it() {
        let api = Arc::new(FakeInstance::new(
            Duration::from_millis(10),
            &[("p0", &["a", "bb"], 2), ("p1", &["ccc"], 1)],
        ));
        let mut with_metrics = target(
            Arc::clone(&api),
            &[&["a", "bb"], &["bb", "ccc"]],
            PlannerMode::Auto,
            Duration::from_secs(10),
            Duration::from_secs(5),
        );
        with_metrics.queue_metrics = true;
        let polls = first_round(with_metrics).await;
        assert_eq!(
            *api.metric_calls.lock().unwrap(),
            vec![vec!["a".to_string(), "bb".into(), "ccc".into()]],
            "one request, each queue once"
        );
        let backlog = |index: usize| -> Vec<(String, f64)> {
            let snapshot = polls[index].1.outcome.as_ref().unwrap();
            snapshot
                .queue_metrics
                .iter()
                .map(|row| (row.queue_id.clone(), row.values[0].1))
                .collect()
        };
        assert_eq!(backlog(0), vec![("a".into(), 1.0), ("bb".into(), 2.0)]);
        assert_eq!(backlog(1), vec![("bb".into(), 2.0), ("ccc".into(), 3.0)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_queue_the_instance_lacks_fails_only_its_own_set_not_the_shared_backlog() {
        let api = Arc::new(FakeInstance::new(
            Duration::from_millis(10),
            &[("p", &["q"], 1)],
        ));
        let mut sets = target(
            Arc::clone(&api),
            &[&["q"], &["q", "ghost"]],
            PlannerMode::Auto,
            Duration::from_secs(10),
            Duration::from_secs(5),
        );
        sets.queue_metrics = true;
        let polls = first_round(sets).await;
        let good = polls[0]
            .1
            .outcome
            .as_ref()
            .expect("the set of known queues polls");
        assert_eq!(good.queue_metrics.len(), 1);
        let error = polls[1].1.outcome.as_ref().unwrap_err();
        assert!(
            error.contains("queue ghost is not a queue of this instance"),
            "{error}"
        );
        assert_eq!(
            *api.metric_calls.lock().unwrap(),
            vec![vec!["q".to_string()]],
            "the unknown queue is not asked for"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_queue_metrics_read_fails_the_sets_and_says_how_to_turn_it_off() {
        let mut instance = FakeInstance::new(Duration::from_millis(10), &[("p", &["q"], 1)]);
        instance.metrics_denied = true;
        let mut denied = target(
            Arc::new(instance),
            &[&["q"]],
            PlannerMode::Queues,
            Duration::from_secs(10),
            Duration::from_secs(5),
        );
        denied.queue_metrics = true;
        let polls = first_round(denied).await;
        let error = polls[0].1.outcome.as_ref().unwrap_err();
        assert!(
            error.contains("GetCurrentMetricData for queues 1..1 of 1"),
            "{error}"
        );
        assert!(error.contains("AccessDeniedException"), "{error}");
        assert!(error.contains("queue_metrics: false"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn overlapping_sets_share_one_sweep_with_the_queue_filters_results() {
        let api = Arc::new(FakeInstance::new(
            Duration::from_millis(10),
            &[
                ("p0", &["a"], 150),
                ("p1", &["b"], 120),
                ("p2", &["a", "c"], 30),
            ],
        ));
        let sets: &[&[&str]] = &[&["a", "b", "c"], &["a"], &["b", "c"]];
        let rounds = Arc::new(Rounds::default());
        let mut queue_filtered = Scheduler::start(
            vec![target(
                Arc::clone(&api),
                sets,
                PlannerMode::Queues,
                Duration::from_secs(10),
                Duration::from_secs(5),
            )],
            rounds.clone(),
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        queue_filtered.stop().await;
        let expected: Vec<BTreeSet<String>> = rounds.0.lock().unwrap()[0]
            .1
            .iter()
            .map(|(_, r)| users(r))
            .collect();
        assert_eq!(
            expected.iter().map(BTreeSet::len).collect::<Vec<_>>(),
            vec![300, 180, 150]
        );
        assert_eq!(
            api.calls().len(),
            3 + 2 + 2,
            "queue filters: one sweep per set"
        );

        let rounds = Arc::new(Rounds::default());
        let mut planned = Scheduler::start(
            vec![target(
                Arc::clone(&api),
                sets,
                PlannerMode::Auto,
                Duration::from_secs(10),
                Duration::from_secs(5),
            )],
            rounds.clone(),
        );
        tokio::time::sleep(Duration::from_secs(25)).await;
        planned.stop().await;
        let rounds = rounds.0.lock().unwrap();
        let (_, polls, last) = rounds.last().unwrap();
        let swept: Vec<BTreeSet<String>> = polls.iter().map(|(_, r)| users(r)).collect();
        assert_eq!(
            swept, expected,
            "the sweep assigns agents as the queue filters do"
        );
        assert_eq!(
            *last,
            RoundReport {
                planned_requests: 3,
                made_requests: 0, // the fake bypasses the SDK's request log
                swept_sets: 3,
                queue_filter_sets: 0,
            }
        );
        let calls = api.calls();
        let sweep_calls = calls
            .iter()
            .filter(|kind| **kind == UserDataFilterKind::RoutingProfiles)
            .count();
        assert_eq!(sweep_calls % 3, 0);
        assert!(sweep_calls >= 3, "at least one round swept: {calls:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_queue_the_instance_lacks_fails_its_set_only() {
        let api = Arc::new(FakeInstance::new(
            Duration::from_millis(10),
            &[("p0", &["a"], 3)],
        ));
        let rounds = Arc::new(Rounds::default());
        let mut scheduler = Scheduler::start(
            vec![target(
                api,
                &[&["a"], &["a", "gone"]],
                PlannerMode::RoutingProfiles,
                Duration::from_secs(10),
                Duration::from_secs(5),
            )],
            rounds.clone(),
        );
        tokio::time::sleep(Duration::from_secs(25)).await;
        scheduler.stop().await;
        let rounds = rounds.0.lock().unwrap();
        let (_, polls, last) = rounds.last().unwrap();
        assert_eq!(last.swept_sets, 2);
        assert_eq!(users(&polls[0].1).len(), 3);
        let error = polls[1].1.outcome.as_ref().unwrap_err();
        assert!(
            error.contains("queue gone is not a queue of this instance"),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn polls_on_the_interval_and_never_overlaps() {
        let api = one_profile(Duration::from_secs(3));
        let target = target(
            api.clone(),
            &[&["q"]],
            PlannerMode::Queues,
            Duration::from_secs(10),
            Duration::from_secs(60),
        );
        let reports = Arc::new(Rounds::default());
        let mut scheduler = Scheduler::start(vec![target], reports.clone());
        tokio::time::sleep(Duration::from_secs(55)).await;
        scheduler.stop().await;
        let reports: Vec<(Instant, PollReport)> = reports
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(at, polls, _)| (*at, polls[0].1.clone()))
            .collect();
        // Starts at 0–1 s, then every 9.5–10.5 s: five or six polls in 55 s, all successful.
        assert!((5..=6).contains(&reports.len()), "{} polls", reports.len());
        assert!(reports.iter().all(|(_, r)| r.outcome.is_ok()));
        // Every poll takes 3 s, so the gaps between reports are the gaps between starts.
        let gaps: Vec<Duration> = reports.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(
            gaps.iter()
                .all(|gap| *gap >= Duration::from_millis(9_500)
                    && *gap <= Duration::from_millis(10_500)),
            "{gaps:?}"
        );
        assert_eq!(api.calls().len(), reports.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_directory_read_has_a_deadline_of_its_own_not_the_polls() {
        let mut api = FakeInstance::new(Duration::ZERO, &[("p", &["q"], 1)]);
        // Each listing page takes 3 s: far over the poll's 1 s, a few of them in all.
        api.listing_delay = Duration::from_secs(3);
        let mut target = target(
            Arc::new(api),
            &[&["q"]],
            PlannerMode::Auto,
            Duration::from_secs(10),
            Duration::from_secs(1),
        );
        target.label_values = LabelValues::Names;
        target.directory_timeout = Duration::from_secs(60);
        let read = super::super::directory::check_directory(&target).await;
        assert!(matches!(read, Some(Ok(_))), "{:?}", read.map(|r| r.err()));
        target.directory_timeout = Duration::from_secs(2);
        let read = super::super::directory::check_directory(&target).await;
        let Some(Err(error)) = read else {
            panic!("a read longer than directory_timeout must time out");
        };
        assert!(
            error.contains("timed out after 2s (directory_timeout)"),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_past_its_timeout_is_reported_as_failed() {
        let target = target(
            one_profile(Duration::from_secs(30)),
            &[&["q"]],
            PlannerMode::Queues,
            Duration::from_secs(10),
            Duration::from_secs(5),
        );
        let reports = Arc::new(Rounds::default());
        let mut scheduler = Scheduler::start(vec![target], reports.clone());
        tokio::time::sleep(Duration::from_secs(8)).await;
        scheduler.stop().await;
        let reports = reports.0.lock().unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(
            reports[0].1[0].1.outcome.as_ref().unwrap_err(),
            "poll timed out after 5s"
        );
    }
}
