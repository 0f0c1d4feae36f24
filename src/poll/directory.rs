//! The routing directory task of an instance: reads it at start and every
//! `directory_refresh_interval` (sooner when a round meets an ID it does not list, or after a
//! failed read), off the rounds' path, and keeps the latest read for the rounds.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tracing::{info, warn, Instrument};

use super::scheduler::Target;
use crate::config::{AgentSelector, IdOrName, LabelValues, PlannerMode};
use crate::connect::{
    fetch_routing_directory, DirectoryProgress, DirectoryReads, Listing, ListingBudgets,
    SourceError, SweepBudget,
};
use crate::model::{AgentRecord, LabelNames, RoutingDirectory};

/// The shortest time between a directory read and one out of turn.
const MIN_REREAD_GAP: Duration = Duration::from_secs(30);

/// The latest routing directory of an instance, shared by its directory and round tasks.
pub(super) struct DirectoryCache {
    directory: Mutex<Option<(Arc<RoutingDirectory>, Arc<LabelNames>)>>,
    /// Asks the directory task to refresh now (a round saw a routing profile it lacks).
    pub(super) refresh: Notify,
    /// Becomes true once the first read has finished, successfully or not.
    first_read_done: watch::Sender<bool>,
}

impl DirectoryCache {
    pub(super) fn new() -> Self {
        Self {
            directory: Mutex::new(None),
            refresh: Notify::new(),
            first_read_done: watch::channel(false).0,
        }
    }

    /// Waits until the first read has finished or `limit` has passed, so that the first
    /// round is labelled and planned like the ones after it.
    pub(super) async fn first_read(&self, limit: Duration) {
        let mut done = self.first_read_done.subscribe();
        let _ = tokio::time::timeout(limit, done.wait_for(|done| *done)).await;
    }

    pub(super) fn get(&self) -> Option<(Arc<RoutingDirectory>, Arc<LabelNames>)> {
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

/// Whether rounds of `target` use the routing directory: to sweep by routing profile or to
/// label by name.
pub(super) fn needs_directory(target: &Target) -> bool {
    target.planner != PlannerMode::Queues
        || target.label_values == LabelValues::Names
        || target.sets.iter().any(|set| {
            set.discovery.is_some()
                || !set.queue_names.is_empty()
                || set.selector != AgentSelector::Queues
                || set.intraday
        })
}

/// Which optional look-ups the reads of `target` make.
fn directory_reads(target: &Target) -> DirectoryReads {
    DirectoryReads {
        // Routing-profile sets need the queues their profiles serve for their backlog, and
        // the intraday KPIs the profiles serving each set's queues for occupancy.
        profile_queues: target.planner != PlannerMode::Queues
            || target.sets.iter().any(|set| {
                set.intraday || matches!(set.selector, AgentSelector::RoutingProfiles { .. })
            }),
        users: target.agent_names,
        hierarchy_groups: target.hierarchy_names
            || target.sets.iter().any(|set| {
                matches!(
                    set.selector,
                    AgentSelector::HierarchyGroup(IdOrName::Name(_))
                )
            }),
    }
}

/// One read of the directory within the target's `directory_timeout`, each look-up on the
/// budget of its own operation. `None` when it timed out (`progress` keeps what was read).
async fn read_directory(
    target: &Target,
    reads: DirectoryReads,
    started: Instant,
    progress: &mut DirectoryProgress,
) -> Option<Result<RoutingDirectory, SourceError>> {
    let (retry, deadline) = (target.retry, started + target.directory_timeout);
    let limiter = |listing: Listing<'_>| target.budgets.limiter(listing.operation());
    let queues = limiter(Listing::Queues);
    let routing_profiles = limiter(Listing::RoutingProfiles);
    let search_routing_profiles = target.budgets.limiter("SearchRoutingProfiles");
    let routing_profile_queues = limiter(Listing::RoutingProfileQueues(""));
    let users = limiter(Listing::Users);
    let hierarchy_groups = limiter(Listing::HierarchyGroups);
    let budget = |limiter| SweepBudget {
        limiter,
        retry,
        deadline,
    };
    let budgets = ListingBudgets {
        queues: budget(&queues),
        routing_profiles: budget(&routing_profiles),
        search_routing_profiles: budget(&search_routing_profiles),
        routing_profile_queues: budget(&routing_profile_queues),
        users: budget(&users),
        hierarchy_groups: budget(&hierarchy_groups),
    };
    tokio::time::timeout(
        target.directory_timeout,
        fetch_routing_directory(target.api.as_ref(), &budgets, reads, progress),
    )
    .await
    .ok()
}

/// What one directory read of `target` says about its queue sets, as the polls would see it
/// (for `check-config --online`): `None` when its sets need no directory; else the read's
/// error, or each set's resolution error (a name that does not resolve) and the optional
/// look-ups that failed, by operation.
pub async fn check_directory(target: &Target) -> Option<Result<DirectoryCheck, String>> {
    if !needs_directory(target) {
        return None;
    }
    let mut progress = DirectoryProgress::default();
    let read = read_directory(
        target,
        directory_reads(target),
        Instant::now(),
        &mut progress,
    )
    .await;
    let directory = match read {
        Some(Ok(directory)) => Arc::new(directory),
        Some(Err(error)) => return Some(Err(error.to_string())),
        None => {
            return Some(Err(format!(
                "reading the routing directory timed out after {} (directory_timeout)",
                humantime::format_duration(target.directory_timeout)
            )))
        }
    };
    let resolved =
        super::queue_sets::ResolvedSets::resolve(&target.sets, Some(Arc::clone(&directory)));
    let set_errors = target
        .sets
        .iter()
        .zip(resolved.sets())
        .filter_map(|(set, resolved)| Some((set.key.queue_set.clone(), resolved.error.clone()?)))
        .collect();
    let optional_errors = [
        ("ListUsers", &directory.users_error),
        ("ListUserHierarchyGroups", &directory.hierarchy_groups_error),
    ]
    .into_iter()
    .filter_map(|(operation, error)| Some((operation, error.clone()?)))
    .collect();
    Some(Ok(DirectoryCheck {
        search_refused: directory.search_refused.clone(),
        directory,
        set_errors,
        optional_errors,
    }))
}

/// The outcome of [`check_directory`].
#[derive(Debug)]
pub struct DirectoryCheck {
    /// The directory read.
    pub directory: Arc<RoutingDirectory>,
    /// Sets that do not resolve against it, by name, with the reason.
    pub set_errors: Vec<(String, String)>,
    /// Optional look-ups that failed, by operation.
    pub optional_errors: Vec<(&'static str, String)>,
    /// Why SearchRoutingProfiles was refused, when the read fell back to listing each
    /// profile's queues.
    pub search_refused: Option<String>,
}

/// Logs a successful read: its size, optional look-ups that failed, shared names.
fn log_read(target: &Target, directory: &RoutingDirectory, started: Instant) {
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
        for (kind, name, count) in LabelNames::ambiguous(directory) {
            warn!(
                kind,
                name, count, "this name is shared; those resources are labelled by ID"
            );
        }
    }
}

/// Reads the routing directory at start and every `directory_refresh` (sooner when a round
/// asks), off the rounds' path: until the first read succeeds, rounds use queue filters.
pub(super) async fn directory_loop(
    target: Target,
    cache: Arc<DirectoryCache>,
    mut stopped: watch::Receiver<bool>,
) {
    let span = tracing::info_span!("routing_directory", connect_instance = %target.instance);
    let mut failing = false;
    let reads = directory_reads(&target);
    // What an unfinished read has gathered, continued by the next attempt.
    let mut progress = DirectoryProgress::default();
    let mut search_refusal_logged = false;
    loop {
        let started = Instant::now();
        let read = read_directory(&target, reads, started, &mut progress).instrument(span.clone());
        let result = tokio::select! {
            result = read => result,
            _ = stopped.changed() => return,
        };
        // A read in progress knows it (and the profiles still to list); a finished one handed
        // its progress to the directory (and listed every profile).
        let refused = match (progress.search_refused(), &result) {
            (Some(reason), _) => Some((reason.to_string(), progress.profiles_to_list())),
            (None, Some(Ok(directory))) => directory
                .search_refused
                .clone()
                .map(|reason| (reason, directory.profile_queues.len())),
            (None, _) => None,
        };
        if let (Some((reason, profiles)), false) = (refused, search_refusal_logged) {
            search_refusal_logged = true;
            span.in_scope(|| warn!(error = %reason, routing_profiles_listed_one_by_one = profiles, "SearchRoutingProfiles is refused; the directory lists each routing profile's queues with one ListRoutingProfileQueues instead (allow connect:SearchRoutingProfiles to read it in a few requests)"));
        }
        failing = span.in_scope(|| match result {
            Some(Ok(directory)) => {
                log_read(&target, &directory, started);
                cache.set(directory);
                false
            }
            Some(Err(error)) => {
                if !failing {
                    warn!(%error, retry_in = %humantime::format_duration(shortest_reread(&target)), "cannot read the routing directory; rounds use queue filters (more requests) and IDs in labels until it can be read");
                }
                true
            }
            None => {
                if !failing {
                    warn!(directory_timeout = %humantime::format_duration(target.directory_timeout), "reading the routing directory timed out; the next read continues where this one stopped, and rounds use queue filters until it is complete");
                }
                true
            }
        });
        cache.first_read_done.send_replace(true);
        if !wait_for_next_read(&target, &cache, started, failing, &mut stopped).await {
            return;
        }
    }
}

/// Waits until the next read is due: the refresh interval after a good read, sooner after a
/// failed one or when a round asks. False when the task is to stop.
async fn wait_for_next_read(
    target: &Target,
    cache: &DirectoryCache,
    started: Instant,
    failing: bool,
    stopped: &mut watch::Receiver<bool>,
) -> bool {
    // A refresh a round asks for waits a little after the last read, so that an ID the
    // API never lists (a deleted queue still on a contact) cannot spend the List* budget
    // round after round.
    let soonest = started + shortest_reread(target);
    let asked = async {
        cache.refresh.notified().await;
        tokio::time::sleep_until(soonest).await;
    };
    // A failed read is tried again sooner than the refresh interval: names, the sweep and
    // discovered queue sets all wait for it.
    let next_read = if failing {
        shortest_reread(target)
    } else {
        target.directory_refresh
    };
    tokio::select! {
        () = tokio::time::sleep(next_read) => true,
        () = asked => true,
        _ = stopped.changed() => false,
    }
}

/// Whether any agent's routing profile or contact's queue is missing from `known`, or, where
/// `known` lists the users, the agent itself: each distinct ID is looked up once, not once
/// per agent.
pub(super) fn has_unknown_id(agents: &[&AgentRecord], known: &RoutingDirectory) -> bool {
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
