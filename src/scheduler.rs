//! Runs one round task per instance on its interval, with jitter and a timeout: each round
//! plans its requests ([`crate::planner`]), sweeps, and hands each queue set's result to a
//! [`PollSink`]. A directory task per instance keeps the routing profiles' queues fresh for
//! the planner. Knows no metric names.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, info_span, warn, Instrument};

use crate::budget::RateLimiter;
use crate::config::{AgentSelector, IdOrName, QueueDiscovery};
use crate::ids::ResourceKind;
use crate::model::{AgentRecord, PollReport, QueueMetricRow, Snapshot, TargetKey};
use crate::names::{resolve_names, resolve_queue_names, LabelNames, LabelValues};
use crate::planner::{self, AgentsByProfile, Plan, PlannerMode, RoutingDirectory, SetFilter};
use crate::source::{
    fetch_queue_metrics, fetch_routing_directory, sweep_hierarchy_group, sweep_queues,
    sweep_routing_profiles, DirectoryReads, InstanceApi, ListingBudgets, RequestLog, RetryPolicy,
    SweepBudget,
};

/// The first poll of each target waits a random part of this (capped by a tenth of the
/// interval), so targets started together do not hit the API in the same instant.
const MAX_START_JITTER: Duration = Duration::from_secs(2);
/// Each later wait is the interval stretched or shrunk by up to this fraction.
const INTERVAL_JITTER: f64 = 0.05;

/// Where a round reads the time it started (the `fetched_at` of its data, the base of every
/// age): the system clock, or a fixed instant for tests that compare whole expositions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum WallClock {
    /// The system clock.
    #[default]
    System,
    /// Always this instant, epoch seconds.
    Fixed(f64),
}

impl WallClock {
    /// Now, epoch seconds.
    pub fn now(self) -> f64 {
        match self {
            Self::System => epoch_seconds(SystemTime::now()),
            Self::Fixed(at) => at,
        }
    }
}

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
}

/// What one round of an instance planned and spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundReport {
    /// GetCurrentUserData requests the planner expected.
    pub planned_requests: usize,
    /// GetCurrentUserData attempts made, retries included.
    pub made_requests: u64,
    /// Queue sets served by the routing-profile sweep.
    pub swept_sets: usize,
    /// Queue sets polled with their own queue filter.
    pub queue_filter_sets: usize,
}

/// One queue set of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSetTarget {
    /// Labels of the target.
    pub key: TargetKey,
    /// Queue IDs of the set; any number (the source chunks them). Empty when discovered.
    pub queue_ids: Vec<String>,
    /// Queues given by name: resolved at each round against the routing directory.
    pub queue_names: Vec<String>,
    /// `queues: all`: the set's queues are taken from each routing-directory read instead.
    pub discovery: Option<QueueDiscovery>,
    /// Whether the agents are those of the queues, or of routing profiles or a hierarchy group.
    pub selector: AgentSelector,
}

/// One queue set as a round asks for it: its agents' filter and the queues whose backlog
/// it carries.
#[derive(Debug, Clone, PartialEq)]
struct ResolvedSet {
    filter: SetFilter,
    backlog_queues: Vec<String>,
}

impl QueueSetTarget {
    /// The set resolved against `directory`: IDs for every name, the queues of `queues: all`,
    /// and the queues whose backlog the set carries (for routing-profile sets, the queues
    /// their profiles serve; a hierarchy group has none).
    fn resolve(&self, directory: Option<&RoutingDirectory>) -> Result<ResolvedSet, String> {
        let unread = |what: &str| {
            format!("this queue set names its {what}, and the instance's directory has not been read yet (see the routing directory in the log)")
        };
        match &self.selector {
            AgentSelector::Queues => {
                let queues = self.queue_ids(directory)?;
                Ok(ResolvedSet {
                    filter: SetFilter::Queues(queues.clone()),
                    backlog_queues: queues,
                })
            }
            AgentSelector::RoutingProfiles { ids, names } => {
                let mut profiles = ids.clone();
                if !names.is_empty() {
                    let directory = directory.ok_or_else(|| unread("routing profiles"))?;
                    let resolved = resolve_names(
                        ResourceKind::RoutingProfile,
                        names,
                        &directory.profile_names,
                    )?;
                    profiles = given_then_resolved(ids, resolved);
                }
                // Without the directory the set's backlog queues are unknown, and a set served
                // without its backlog would look complete.
                let directory = directory.ok_or_else(|| unread("routing profiles"))?;
                let served: std::collections::BTreeSet<&String> = profiles
                    .iter()
                    .filter_map(|profile| directory.profile_queues.get(profile))
                    .flatten()
                    .collect();
                let backlog_queues = served.into_iter().cloned().collect();
                Ok(ResolvedSet {
                    filter: SetFilter::RoutingProfiles(profiles),
                    backlog_queues,
                })
            }
            AgentSelector::HierarchyGroup(group) => {
                let id = match group {
                    IdOrName::Id(id) => id.clone(),
                    IdOrName::Name(name) => {
                        let directory = directory.ok_or_else(|| unread("hierarchy group"))?;
                        if let Some(error) = &directory.hierarchy_groups_error {
                            return Err(format!(
                                "hierarchy group name {name:?} cannot be looked up: {error}"
                            ));
                        }
                        let found = resolve_names(
                            ResourceKind::HierarchyGroup,
                            std::slice::from_ref(name),
                            &directory.hierarchy_group_names,
                        )?;
                        found.into_iter().next().ok_or_else(|| {
                            format!("internal: hierarchy group name {name:?} resolved to nothing")
                        })?
                    }
                };
                Ok(ResolvedSet {
                    filter: SetFilter::HierarchyGroup(id),
                    backlog_queues: Vec::new(),
                })
            }
        }
    }

    /// The set's queue IDs for a round: the configured ones and those its names resolve to,
    /// or those `directory` lists that discovery selects. `Err` says why there are none: no
    /// directory to look names up in yet, or a name that does not resolve.
    fn queue_ids(&self, directory: Option<&RoutingDirectory>) -> Result<Vec<String>, String> {
        let unread = || {
            "this queue set names its queues (`queues: all` or queue names), and the instance's queue list has not been read yet (ListQueues; see the routing directory in the log)".to_string()
        };
        let Some(discovery) = &self.discovery else {
            if self.queue_names.is_empty() {
                return Ok(self.queue_ids.clone());
            }
            let directory = directory.ok_or_else(unread)?;
            let resolved = resolve_queue_names(&self.queue_names, &directory.queue_names)?;
            return Ok(given_then_resolved(&self.queue_ids, resolved));
        };
        let directory = directory.ok_or_else(unread)?;
        Ok(directory
            .standard_queues
            .iter()
            .filter(|id| {
                let name = directory
                    .queue_names
                    .get(*id)
                    .map_or(id.as_str(), String::as_str);
                discovery.selects(name)
            })
            .cloned()
            .collect())
    }
}

/// The IDs a set gives, then those its names resolve to that it does not give already (a
/// name and the ID of the same resource count once).
fn given_then_resolved(given: &[String], resolved: Vec<String>) -> Vec<String> {
    let mut ids = given.to_vec();
    for id in resolved {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The queue IDs of an instance's sets as resolved against one directory read. Kept until
/// the directory changes, so that queue names and `queues: all` patterns are resolved once per
/// read, not once per round.
struct ResolvedSets {
    /// The read they were resolved against; `None` before the first.
    directory: Option<Arc<RoutingDirectory>>,
    /// What each set asks for; no queues for a set that could not be resolved.
    filters: Vec<SetFilter>,
    /// The queues whose backlog each set carries.
    backlog_queues: Vec<Vec<String>>,
    /// Why a set could not be resolved, by set.
    errors: Vec<Option<String>>,
}

impl ResolvedSets {
    fn resolve(sets: &[QueueSetTarget], directory: Option<Arc<RoutingDirectory>>) -> Self {
        let mut resolved = Self {
            directory: None,
            filters: Vec::with_capacity(sets.len()),
            backlog_queues: Vec::with_capacity(sets.len()),
            errors: Vec::with_capacity(sets.len()),
        };
        for set in sets {
            match set.resolve(directory.as_deref()) {
                Ok(ResolvedSet {
                    filter,
                    backlog_queues,
                }) => {
                    resolved.filters.push(filter);
                    resolved.backlog_queues.push(backlog_queues);
                    resolved.errors.push(None);
                }
                Err(reason) => {
                    resolved.filters.push(SetFilter::Queues(Vec::new()));
                    resolved.backlog_queues.push(Vec::new());
                    resolved.errors.push(Some(reason));
                }
            }
        }
        resolved.directory = directory;
        resolved
    }

    /// Whether these were resolved against `directory`, the very same read.
    fn is_for(&self, directory: Option<&Arc<RoutingDirectory>>) -> bool {
        match (&self.directory, directory) {
            (None, None) => true,
            (Some(ours), Some(theirs)) => Arc::ptr_eq(ours, theirs),
            _ => false,
        }
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
    /// Whether queue and routing profile labels carry names or IDs.
    pub label_values: LabelValues,
    /// The request budget of the instance's account and region for GetCurrentUserData.
    pub limiter: Arc<RateLimiter>,
    /// The budgets of ListQueues, ListRoutingProfiles, ListRoutingProfileQueues, ListUsers and
    /// ListUserHierarchyGroups.
    pub listing_limiters: [Arc<RateLimiter>; 5],
    /// Whether directory reads list the users, for the login names per-agent series carry.
    pub agent_names: bool,
    /// Whether directory reads list the hierarchy groups, for the names of the
    /// `hierarchy_group` label.
    pub hierarchy_names: bool,
    /// The GetCurrentMetricData budget when rounds read the queues' real-time metrics
    /// (`queue_metrics`); `None` when they do not.
    pub queue_metrics: Option<Arc<RateLimiter>>,
    /// The instance's request counts, to report the attempts each round made.
    pub requests: RequestLog,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// Where rounds read the time they started.
    pub clock: WallClock,
}

/// The running polling tasks.
pub struct Scheduler {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Scheduler {
    /// [`Scheduler::start_on`] the current runtime.
    pub fn start(targets: Vec<Target>, sink: Arc<dyn PollSink>) -> Self {
        Self::start_on(targets, sink, &tokio::runtime::Handle::current())
    }

    /// Starts, on `runtime`, one round task per instance, and one directory task per instance
    /// whose planner may sweep by routing profiles or whose labels carry names.
    pub fn start_on(
        targets: Vec<Target>,
        sink: Arc<dyn PollSink>,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for target in targets {
            let directory = Arc::new(DirectoryCache::new());
            if needs_directory(&target) {
                tasks.spawn_on(
                    directory_loop(target.clone(), Arc::clone(&directory), stopped.clone()),
                    runtime,
                );
            }
            tasks.spawn_on(
                round_loop(target, directory, Arc::clone(&sink), stopped.clone()),
                runtime,
            );
        }
        Self { tasks, stop }
    }

    /// Stops every task, abandoning polls in flight, and waits for them to end.
    pub async fn stop(&mut self) {
        // Receivers live inside the tasks; if all have ended already there is no one to tell.
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Whether rounds of `target` use the routing directory: to sweep by routing profile or to
/// label by name.
fn needs_directory(target: &Target) -> bool {
    target.planner != PlannerMode::Queues
        || target.label_values == LabelValues::Names
        || target.sets.iter().any(|set| {
            set.discovery.is_some()
                || !set.queue_names.is_empty()
                || set.selector != AgentSelector::Queues
        })
}

/// A thread of its own for polling, at a lower CPU priority. Reading a page of a hundred agents
/// takes a millisecond or two of CPU, a 50,000-agent round five hundred of them plus a few
/// hundred milliseconds to summarise and encode; on the runtime that serves `/metrics` scrapes
/// would queue behind that. On threads of their own with a nice value of
/// [`POLL_THREAD_NICENESS`], the operating system gives the cores to a scrape first; polling
/// only uses what is left, and on a busy host a round takes longer rather than a scrape.
///
/// One thread serves every instance: at the API's rates (GetCurrentUserData defaults to 2
/// requests a second per account) a page costs a millisecond or two, so even twenty accounts
/// keep it a few per cent busy; a worker per core measured more CPU and memory per round at
/// 50,000 agents (work stealing, per-thread allocator heaps) for no gain.
pub struct PollThread {
    runtime: tokio::runtime::Handle,
    /// Dropping it ends the thread and the tasks on it.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl PollThread {
    /// Starts the thread and its runtime.
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("poll-blocking")
            .on_thread_start(lower_this_threads_priority)
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("poll".into())
            .spawn(move || {
                lower_this_threads_priority();
                // Ends when the sender is dropped; the runtime is then dropped here, outside
                // any async context, which cancels what still runs on it.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Self {
            runtime: handle,
            _stop: stop,
        })
    }

    /// Where polling tasks are spawned.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }
}

/// The nice value of the polling threads (0 is the default, 19 the lowest priority).
pub const POLL_THREAD_NICENESS: i32 = 10;

/// Gives the calling thread the nice value [`POLL_THREAD_NICENESS`]. On Linux a nice value
/// belongs to a thread; elsewhere, or where it is refused, the thread keeps its priority, which
/// costs scrape latency under load, not correctness, so a failure is only logged.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
        let result = unsafe {
            let thread = libc::gettid();
            libc::setpriority(
                libc::PRIO_PROCESS,
                thread as libc::id_t,
                POLL_THREAD_NICENESS,
            )
        };
        if result != 0 {
            debug!(error = %std::io::Error::last_os_error(), "cannot lower the polling thread's priority");
        }
    }
}

/// The latest routing directory of an instance, shared by its directory and round tasks.
struct DirectoryCache {
    directory: Mutex<Option<(Arc<RoutingDirectory>, Arc<LabelNames>)>>,
    /// Asks the directory task to refresh now (a round saw a routing profile it lacks).
    refresh: Notify,
    /// Becomes true once the first read has finished, successfully or not.
    first_read_done: watch::Sender<bool>,
}

impl DirectoryCache {
    fn new() -> Self {
        Self {
            directory: Mutex::new(None),
            refresh: Notify::new(),
            first_read_done: watch::channel(false).0,
        }
    }

    /// Waits until the first read has finished or `limit` has passed, so that the first
    /// round is labelled and planned like the ones after it.
    async fn first_read(&self, limit: Duration) {
        let mut done = self.first_read_done.subscribe();
        let _ = tokio::time::timeout(limit, done.wait_for(|done| *done)).await;
    }

    fn get(&self) -> Option<(Arc<RoutingDirectory>, Arc<LabelNames>)> {
        self.directory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, directory: RoutingDirectory) {
        let names = LabelNames::from_directory(&directory);
        *self
            .directory
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((Arc::new(directory), Arc::new(names)));
    }
}

/// Reads the routing directory at start and every `directory_refresh` (sooner when a round
/// asks), off the rounds' path: until the first read succeeds, rounds use queue filters.
async fn directory_loop(
    target: Target,
    cache: Arc<DirectoryCache>,
    mut stopped: watch::Receiver<bool>,
) {
    let span = info_span!("routing_directory", connect_instance = %target.instance);
    let mut failing = false;
    let reads = DirectoryReads {
        // Routing-profile sets need the queues their profiles serve for their backlog.
        profile_queues: target.planner != PlannerMode::Queues
            || target
                .sets
                .iter()
                .any(|set| matches!(set.selector, AgentSelector::RoutingProfiles { .. })),
        users: target.agent_names,
        hierarchy_groups: target.hierarchy_names
            || target.sets.iter().any(|set| {
                matches!(
                    set.selector,
                    AgentSelector::HierarchyGroup(IdOrName::Name(_))
                )
            }),
    };
    loop {
        let started = Instant::now();
        let (retry, deadline) = (target.retry, started + target.timeout);
        let [queues, routing_profiles, routing_profile_queues, users, hierarchy_groups] = target
            .listing_limiters
            .each_ref()
            .map(|limiter| SweepBudget {
                limiter: limiter.as_ref(),
                retry,
                deadline,
            });
        let budgets = ListingBudgets {
            queues,
            routing_profiles,
            routing_profile_queues,
            users,
            hierarchy_groups,
        };
        let fetch = tokio::time::timeout(
            target.timeout,
            fetch_routing_directory(target.api.as_ref(), &budgets, reads),
        )
        .instrument(span.clone());
        let result = tokio::select! {
            result = fetch => result,
            _ = stopped.changed() => return,
        };
        span.in_scope(|| match result {
            Ok(Ok(directory)) => {
                info!(
                    queues = directory.queues.len(),
                    routing_profiles = directory.profile_queues.len(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "routing directory read (names, queues of each routing profile)"
                );
                for (operation, error) in [
                    ("ListUsers", &directory.users_error),
                    ("ListUserHierarchyGroups", &directory.hierarchy_groups_error),
                ] {
                    if let Some(error) = error {
                        warn!(operation, %error, "an optional look-up failed; its labels carry IDs until the next directory read");
                    }
                }
                if target.label_values == LabelValues::Names {
                    for (kind, name, count) in LabelNames::ambiguous(&directory) {
                        warn!(kind, name, count, "this name is shared; those resources are labelled by ID");
                    }
                }
                cache.set(directory);
                failing = false;
            }
            Ok(Err(error)) => {
                if !failing {
                    warn!(%error, retry_in = %humantime::format_duration(shortest_reread(&target)), "cannot read the routing directory; rounds use queue filters (more requests) and IDs in labels until it can be read");
                }
                failing = true;
            }
            Err(_) => {
                if !failing {
                    warn!(timeout = %humantime::format_duration(target.timeout), "reading the routing directory timed out; rounds use queue filters until it can be read");
                }
                failing = true;
            }
        });
        // A refresh a round asks for waits a little after the last read, so that an ID the
        // API never lists (a deleted queue still on a contact) cannot spend the List* budget
        // round after round.
        let soonest = started + shortest_reread(&target);
        let asked = async {
            cache.refresh.notified().await;
            tokio::time::sleep_until(soonest).await;
        };
        cache.first_read_done.send_replace(true);
        // A failed read is tried again sooner than the refresh interval: names, the sweep and
        // discovered queue sets all wait for it.
        let next_read = if failing {
            shortest_reread(&target)
        } else {
            target.directory_refresh
        };
        tokio::select! {
            () = tokio::time::sleep(next_read) => {}
            () = asked => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Whether any agent's routing profile or contact's queue is missing from `known`, or, where
/// `known` lists the users, the agent itself: each distinct ID is looked up once, not once
/// per agent.
fn has_unknown_id(agents: &[&AgentRecord], known: &RoutingDirectory) -> bool {
    let mut profiles = rustc_hash::FxHashSet::default();
    let mut queues = rustc_hash::FxHashSet::default();
    if known.users_read
        && agents
            .iter()
            .any(|agent| !known.user_names.contains_key(&agent.user_id))
    {
        // A user created since the last read would be labelled by ID until the next one.
        return true;
    }
    for agent in agents {
        if let Some(profile) = &agent.routing_profile_id {
            profiles.insert(profile.as_str());
        }
        for contact in &agent.contacts {
            if let Some(queue) = &contact.queue_id {
                queues.insert(queue.as_str());
            }
        }
    }
    profiles
        .into_iter()
        .any(|profile| !known.profile_queues.contains_key(profile))
        || queues
            .into_iter()
            .any(|queue| !known.queues.contains(queue))
}

/// The wait before a directory read out of turn: a retry after a failed read, or one a round
/// asked for. Never longer than the regular refresh interval.
fn shortest_reread(target: &Target) -> Duration {
    target.directory_refresh.min(MIN_REREAD_GAP)
}

/// The shortest time between a directory read and one out of turn.
const MIN_REREAD_GAP: Duration = Duration::from_secs(30);

async fn round_loop(
    target: Target,
    directory: Arc<DirectoryCache>,
    sink: Arc<dyn PollSink>,
    mut stopped: watch::Receiver<bool>,
) {
    let span = info_span!("round", connect_instance = %target.instance);
    let mut discovered_counts: Vec<Option<usize>> = vec![None; target.sets.len()];
    let mut resolved = ResolvedSets::resolve(&target.sets, None);
    let mut next_start = Instant::now() + start_jitter(target.interval);
    let mut last_errors: Vec<Option<String>> = vec![None; target.sets.len()];
    let mut overran = false;
    let mut agent_counts = AgentsByProfile::new();
    let mut last_shape: Option<(usize, usize)> = None;
    if needs_directory(&target) {
        tokio::select! {
            () = directory.first_read(target.timeout) => {}
            _ = stopped.changed() => return,
        }
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next_start) => {}
            _ = stopped.changed() => return,
        }
        let started = Instant::now();
        let started_at = target.clock.now();
        let current = directory.get();
        let current_directory = current.as_ref().map(|(directory, _)| Arc::clone(directory));
        let names = match target.label_values {
            LabelValues::Names => current.as_ref().map(|(_, names)| Arc::clone(names)),
            LabelValues::Ids => None,
        };
        if !resolved.is_for(current_directory.as_ref()) {
            resolved = ResolvedSets::resolve(&target.sets, current_directory.clone());
            span.in_scope(|| log_discovery(&target.sets, &resolved, &mut discovered_counts));
        }
        let plan = planner::plan(
            target.planner,
            &resolved.filters,
            current_directory.as_deref(),
            &agent_counts,
        );
        let requests_before = target.requests.count_of(USER_DATA);
        let round = run_round(
            &target,
            &resolved,
            &plan,
            current_directory.as_deref(),
            started,
            started_at,
        )
        .instrument(span.clone());
        let mut results = tokio::select! {
            results = round => results,
            _ = stopped.changed() => return,
        };
        for ((_, outcome), error) in results.iter_mut().zip(&resolved.errors) {
            if let Some(reason) = error {
                *outcome = Err(reason.clone());
            }
        }
        let made_requests = target.requests.count_of(USER_DATA) - requests_before;
        let mut round_agents: Vec<&AgentRecord> = Vec::new();
        let mut seen_users = rustc_hash::FxHashSet::default();
        for (index, (duration, outcome)) in results.iter().enumerate() {
            let set = &target.sets[index];
            let set_span = info_span!(parent: &span, "poll", queue_set = %set.key.queue_set);
            set_span.in_scope(|| log_outcome(outcome, *duration, &mut last_errors[index]));
            if let Ok(snapshot) = outcome {
                for agent in &snapshot.agents {
                    if seen_users.insert(agent.user_id.as_str()) {
                        round_agents.push(agent.as_ref());
                    }
                }
            }
        }
        let unknown_id = current_directory
            .as_deref()
            .is_some_and(|known| has_unknown_id(&round_agents, known));
        if !round_agents.is_empty() {
            agent_counts = planner::agents_by_profile(round_agents.iter().copied());
        }
        if unknown_id {
            // A profile or queue created since the last read: its queues or name are unknown.
            directory.refresh.notify_one();
        }
        let duration = started.elapsed();
        span.in_scope(|| {
            let shape = (plan.swept_sets.len(), plan.queue_filter_sets.len());
            if last_shape != Some(shape) {
                info!(
                    planned_requests = plan.expected_requests,
                    swept_sets = shape.0,
                    queue_filter_sets = shape.1,
                    "request plan"
                );
                last_shape = Some(shape);
            }
            debug!(
                planned_requests = plan.expected_requests,
                made_requests,
                duration_ms = duration.as_millis() as u64,
                "round finished"
            );
            log_overrun(duration, target.interval, &mut overran);
        });
        let polls = target
            .sets
            .iter()
            .zip(results)
            .map(|(set, (duration, outcome))| {
                (
                    set.key.clone(),
                    PollReport {
                        started_at,
                        duration,
                        outcome,
                    },
                )
            })
            .collect();
        let report = RoundReport {
            planned_requests: plan.expected_requests,
            made_requests,
            swept_sets: plan.swept_sets.len(),
            queue_filter_sets: plan.queue_filter_sets.len(),
        };
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
        next_start = (started + jittered(target.interval)).max(Instant::now());
    }
}

const USER_DATA: &str = "GetCurrentUserData";

/// Runs one round's plan: the routing-profile sweep and each queue-filtered set at once, all
/// drawing from the same budget. Returns each set's duration and outcome, in set order.
async fn run_round(
    target: &Target,
    resolved: &ResolvedSets,
    plan: &Plan,
    directory: Option<&RoutingDirectory>,
    started: Instant,
    started_at: f64,
) -> Vec<(Duration, Result<Snapshot, String>)> {
    let budget = SweepBudget {
        limiter: target.limiter.as_ref(),
        retry: target.retry,
        deadline: started + target.timeout,
    };
    let timed_out = || {
        format!(
            "poll timed out after {}",
            humantime::format_duration(target.timeout)
        )
    };
    let sweep = async {
        if plan.swept_sets.is_empty() {
            return Ok(Vec::new());
        }
        // The deadline inside the sweep ends polls cleanly; this timeout is the backstop for
        // a request in flight at the deadline.
        let result = tokio::time::timeout(
            target.timeout,
            sweep_routing_profiles(target.api.as_ref(), &plan.sweep_chunks, &budget),
        )
        .await;
        match result {
            Ok(Ok(agents)) => Ok(agents),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(timed_out()),
        }
    };
    let sweep = async {
        let result = sweep.await;
        (started.elapsed(), result)
    };
    let filtered = futures_util::future::join_all(plan.queue_filter_sets.iter().map(|&index| {
        let filter = &resolved.filters[index];
        let budget = &budget;
        async move {
            let api = target.api.as_ref();
            let agents = async {
                match filter {
                    SetFilter::Queues(queues) => sweep_queues(api, queues, budget).await,
                    SetFilter::RoutingProfiles(profiles) => {
                        let chunks: Vec<Vec<String>> = profiles
                            .chunks(crate::source::MAX_QUEUES_PER_REQUEST)
                            .map(<[String]>::to_vec)
                            .collect();
                        sweep_routing_profiles(api, &chunks, budget).await
                    }
                    SetFilter::HierarchyGroup(group) => {
                        sweep_hierarchy_group(api, group, budget).await
                    }
                }
            };
            let result = tokio::time::timeout(target.timeout, agents).await;
            let outcome = match result {
                Ok(Ok(agents)) => Ok(Snapshot {
                    fetched_at: started_at,
                    agents,
                    queue_metrics: Vec::new(),
                }),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(timed_out()),
            };
            (index, (started.elapsed(), outcome))
        }
    }));
    let metrics = async {
        let Some(limiter) = &target.queue_metrics else {
            return Ok(Vec::new());
        };
        // A queue the instance does not have would make the service refuse its whole chunk,
        // failing every set; the set that lists it fails on its own (see swept_set).
        let queue_ids: Vec<String> = distinct_queues(&resolved.backlog_queues)
            .into_iter()
            .filter(|queue| directory.is_none_or(|known| known.queues.contains(queue)))
            .collect();
        if queue_ids.is_empty() {
            return Ok(Vec::new());
        }
        let budget = SweepBudget {
            limiter: limiter.as_ref(),
            ..budget
        };
        let result = tokio::time::timeout(
            target.timeout,
            fetch_queue_metrics(target.api.as_ref(), &queue_ids, &budget),
        )
        .await;
        match result {
            Ok(Ok(rows)) => Ok(rows),
            Ok(Err(error)) => Err(format!(
                "{error}; the queue backlog is part of every queue set's data (turn it off with `queue_metrics: false`)"
            )),
            Err(_) => Err(timed_out()),
        }
    };
    let ((sweep_duration, swept), filtered, metrics) = tokio::join!(sweep, filtered, metrics);
    let mut results: Vec<Option<(Duration, Result<Snapshot, String>)>> =
        vec![None; target.sets.len()];
    for (index, result) in filtered {
        results[index] = Some(result);
    }
    for &index in &plan.swept_sets {
        let outcome = match (&swept, directory) {
            (Err(error), _) => Err(error.clone()),
            (Ok(_), None) => {
                Err("internal: a sweep was planned without a routing directory".to_string())
            }
            (Ok(agents), Some(directory)) => swept_set(&resolved.filters[index], agents, directory)
                .map(|agents| Snapshot {
                    fetched_at: started_at,
                    agents,
                    queue_metrics: Vec::new(),
                }),
        };
        results[index] = Some((sweep_duration, outcome));
    }
    let mut results: Vec<(Duration, Result<Snapshot, String>)> = results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| {
                (
                    started.elapsed(),
                    Err("internal: the plan left this queue set out".to_string()),
                )
            })
        })
        .collect();
    attach_queue_metrics(&mut results, &resolved.backlog_queues, metrics);
    results
}

/// The agents of a set served by the sweep, as its own filter would return them; an ID the
/// directory does not list is an error (the API would refuse it too).
fn swept_set(
    filter: &SetFilter,
    swept: &[Arc<AgentRecord>],
    directory: &RoutingDirectory,
) -> Result<Vec<Arc<AgentRecord>>, String> {
    match filter {
        SetFilter::Queues(queues) => match directory.unknown_queue(queues) {
            Some(queue) => Err(format!(
                "queue {queue} is not a queue of this instance (ListQueues does not list it); check the queue IDs of this queue set"
            )),
            None => Ok(planner::agents_of_set(swept, queues, directory)),
        },
        SetFilter::RoutingProfiles(profiles) => {
            match profiles.iter().find(|p| !directory.profile_queues.contains_key(*p)) {
                Some(profile) => Err(format!(
                    "routing profile {profile} is not a routing profile of this instance (ListRoutingProfiles does not list it); check the routing_profiles of this queue set"
                )),
                None => Ok(planner::agents_of_profiles(
                    swept,
                    &profiles.iter().cloned().collect(),
                )),
            }
        }
        SetFilter::HierarchyGroup(_) => {
            Err("internal: a hierarchy-group set was planned into the sweep".to_string())
        }
    }
}

/// Every queue of the round's sets, each once, in first-seen order: one GetCurrentMetricData
/// row per queue and channel serves every set that lists the queue.
fn distinct_queues(set_queues: &[Vec<String>]) -> Vec<String> {
    let mut seen = rustc_hash::FxHashSet::default();
    set_queues
        .iter()
        .flatten()
        .filter(|queue| seen.insert(queue.as_str()))
        .cloned()
        .collect()
}

/// Gives each set with data the metric rows of its queues, or fails it with the reason the
/// rows could not be read: a set served without its backlog would look complete while the
/// alerts on waiting contacts saw nothing.
fn attach_queue_metrics(
    results: &mut [(Duration, Result<Snapshot, String>)],
    set_queues: &[Vec<String>],
    metrics: Result<Vec<QueueMetricRow>, String>,
) {
    let rows = match metrics {
        Ok(rows) => rows,
        Err(error) => {
            for ((_, outcome), queues) in results.iter_mut().zip(set_queues) {
                if outcome.is_ok() && !queues.is_empty() {
                    *outcome = Err(error.clone());
                }
            }
            return;
        }
    };
    let mut by_queue: rustc_hash::FxHashMap<&str, Vec<Arc<QueueMetricRow>>> =
        rustc_hash::FxHashMap::default();
    let rows: Vec<Arc<QueueMetricRow>> = rows.into_iter().map(Arc::new).collect();
    for row in &rows {
        by_queue
            .entry(row.queue_id.as_str())
            .or_default()
            .push(Arc::clone(row));
    }
    for ((_, outcome), queues) in results.iter_mut().zip(set_queues) {
        if let Ok(snapshot) = outcome {
            snapshot.queue_metrics = queues
                .iter()
                .filter_map(|queue| by_queue.get(queue.as_str()))
                .flatten()
                .cloned()
                .collect();
        }
    }
}

/// Logs how many queues each `queues: all` set found, when that changes; a set that finds
/// none is a warning (a pattern that matches no queue name).
fn log_discovery(sets: &[QueueSetTarget], resolved: &ResolvedSets, last: &mut [Option<usize>]) {
    let outcomes = resolved.filters.iter().zip(&resolved.errors);
    for ((set, (filter, error)), last) in sets.iter().zip(outcomes).zip(last.iter_mut()) {
        let SetFilter::Queues(queues) = filter else {
            continue;
        };
        if set.discovery.is_none() || error.is_some() {
            continue;
        }
        if *last == Some(queues.len()) {
            continue;
        }
        *last = Some(queues.len());
        if queues.is_empty() {
            warn!(queue_set = %set.key.queue_set, "`queues: all` finds no STANDARD queue whose name passes include/exclude; the set has no agents");
        } else {
            info!(queue_set = %set.key.queue_set, queues = queues.len(), "`queues: all` found the set's queues");
        }
    }
}

/// Logs a failure once at warning level while it stays the same, and the recovery.
fn log_outcome(
    outcome: &Result<Snapshot, String>,
    duration: Duration,
    last_error: &mut Option<String>,
) {
    let duration_ms = duration.as_millis() as u64;
    match outcome {
        Ok(snapshot) => {
            if last_error.take().is_some() {
                info!(
                    agents = snapshot.agents.len(),
                    duration_ms, "poll succeeded again"
                );
            } else {
                debug!(
                    agents = snapshot.agents.len(),
                    duration_ms, "poll succeeded"
                );
            }
        }
        Err(error) if last_error.as_deref() == Some(error.as_str()) => {
            debug!(%error, duration_ms, "poll failed again");
        }
        Err(error) => {
            warn!(%error, duration_ms, "poll failed; serving up=0 and no data for this queue set");
            *last_error = Some(error.clone());
        }
    }
}

/// Says once, and again after recovering, that polls take longer than the interval: they then
/// run back to back (never overlapping), so data is older than the interval suggests.
fn log_overrun(duration: Duration, interval: Duration, overran: &mut bool) {
    match (duration > interval, *overran) {
        (true, false) => {
            warn!(
                duration_ms = duration.as_millis() as u64,
                interval_ms = interval.as_millis() as u64,
                "a poll took longer than poll_interval (slow API or too small a request budget); polls now run back to back"
            );
            *overran = true;
        }
        (false, true) => {
            info!("polls fit in poll_interval again");
            *overran = false;
        }
        _ => {}
    }
}

fn start_jitter(interval: Duration) -> Duration {
    let cap = MAX_START_JITTER.min(interval / 10);
    cap.mul_f64(rand::rng().random_range(0.0..=1.0))
}

fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(1.0 - INTERVAL_JITTER..=1.0 + INTERVAL_JITTER))
}

fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QueueMetric;
    use crate::source::UserDataPages;
    use crate::source::{
        ListEntry, ListPage, Listing, Listings, QueueMetricPage, QueueMetricPages, RequestError,
        RequestOutcome, UserDataFilter, UserDataPage,
    };
    use futures_util::future::BoxFuture;
    use std::collections::{BTreeMap, BTreeSet};

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
                Ok(ListPage {
                    entries,
                    next_token: None,
                })
            })
        }
    }

    /// Records each round with the (paused, virtual) time it arrived.
    #[derive(Default)]
    struct Rounds(Mutex<Vec<RecordedRound>>);

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
    }

    fn limiter() -> Arc<RateLimiter> {
        Arc::new(RateLimiter::new(crate::budget::RateLimit {
            rate: 100.0,
            burst: 100.0,
        }))
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
                })
                .collect(),
            interval,
            timeout,
            api,
            planner,
            directory_refresh: Duration::from_secs(300),
            label_values: LabelValues::Ids,
            limiter: limiter(),
            listing_limiters: [limiter(), limiter(), limiter(), limiter(), limiter()],
            agent_names: false,
            hierarchy_names: false,
            queue_metrics: None,
            requests: RequestLog::default(),
            retry: RetryPolicy::default(),
            clock: WallClock::System,
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
        with_metrics.queue_metrics = Some(limiter());
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
        sets.queue_metrics = Some(limiter());
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
        denied.queue_metrics = Some(limiter());
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
