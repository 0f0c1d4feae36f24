//! One round of an instance: the plan's routing-profile sweep, each queue-filtered set and the
//! queue backlog at once, each on its operation's budget; then each set's outcome, in set
//! order.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::queue_sets::ResolvedSets;
use super::scheduler::Target;
use crate::connect::{SweepBudget, MAX_QUEUES_PER_REQUEST};
use crate::model::{AgentRecord, RoutingDirectory, Snapshot};
use crate::sources::queue_backlog;
use crate::sources::user_data::planner::{self, Plan, SetFilter};
use crate::sources::user_data::{sweep_hierarchy_group, sweep_queues, sweep_routing_profiles};

/// The operation whose attempts a round reports.
pub(super) const USER_DATA: &str = "GetCurrentUserData";

/// How long one set's poll took, and its snapshot or why there is none.
pub(super) type SetOutcome = (Duration, Result<Snapshot, String>);

/// When a round started, by the monotonic clock (deadlines) and the wall clock (data time).
#[derive(Debug, Clone, Copy)]
pub(super) struct RoundStart {
    /// For deadlines and durations.
    pub started: Instant,
    /// Epoch seconds: the `fetched_at` of the round's snapshots.
    pub started_at: f64,
}

/// Runs one round's plan: the routing-profile sweep and each queue-filtered set at once, all
/// drawing from the same budget, and the queue backlog on its own. Returns each set's
/// duration and outcome, in set order.
pub(super) async fn run_round(
    target: &Target,
    resolved: &ResolvedSets,
    plan: &Plan,
    directory: Option<&RoutingDirectory>,
    start: RoundStart,
) -> Vec<SetOutcome> {
    let limiter = target.budgets.limiter(USER_DATA);
    let budget = SweepBudget {
        limiter: limiter.as_ref(),
        retry: target.retry,
        deadline: start.started + target.timeout,
    };
    let set_queues = resolved.backlog_queues();
    let backlog = async {
        if !target.queue_metrics {
            return Ok(Vec::new());
        }
        let limiter = target.budgets.limiter("GetCurrentMetricData");
        let budget = SweepBudget {
            limiter: limiter.as_ref(),
            ..budget
        };
        let api = target.api.as_ref();
        queue_backlog::read_for_round(api, &set_queues, directory, &budget, target.timeout).await
    };
    let ((sweep_duration, swept), filtered, backlog) = tokio::join!(
        shared_sweep(target, plan, &budget, start.started),
        queue_filtered_sets(target, resolved, plan, &budget, start),
        backlog,
    );
    let mut results: Vec<Option<SetOutcome>> = vec![None; target.sets.len()];
    for (index, result) in filtered {
        results[index] = Some(result);
    }
    for &index in &plan.swept_sets {
        let outcome = match (&swept, directory) {
            (Err(error), _) => Err(error.clone()),
            (Ok(_), None) => {
                Err("internal: a sweep was planned without a routing directory".to_string())
            }
            (Ok(agents), Some(directory)) => {
                swept_set(&resolved.sets()[index].filter, agents, directory).map(|agents| {
                    Snapshot {
                        fetched_at: start.started_at,
                        agents,
                        queue_metrics: Vec::new(),
                    }
                })
            }
        };
        results[index] = Some((sweep_duration, outcome));
    }
    let mut results: Vec<SetOutcome> = results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| {
                (
                    start.started.elapsed(),
                    Err("internal: the plan left this queue set out".to_string()),
                )
            })
        })
        .collect();
    queue_backlog::attach_queue_metrics(&mut results, &set_queues, backlog);
    results
}

fn timed_out(target: &Target) -> String {
    format!(
        "poll timed out after {}",
        humantime::format_duration(target.timeout)
    )
}

/// The plan's routing-profile sweep, if any, and how long it took.
async fn shared_sweep(
    target: &Target,
    plan: &Plan,
    budget: &SweepBudget<'_>,
    started: Instant,
) -> (Duration, Result<Vec<Arc<AgentRecord>>, String>) {
    if plan.swept_sets.is_empty() {
        return (started.elapsed(), Ok(Vec::new()));
    }
    // The deadline inside the sweep ends polls cleanly; this timeout is the backstop for a
    // request in flight at the deadline.
    let result = tokio::time::timeout(
        target.timeout,
        sweep_routing_profiles(target.api.as_ref(), &plan.sweep_chunks, budget),
    )
    .await;
    let result = match result {
        Ok(Ok(agents)) => Ok(agents),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(timed_out(target)),
    };
    (started.elapsed(), result)
}

/// Each set the plan polls with its own filter, at once: (set index, outcome).
async fn queue_filtered_sets(
    target: &Target,
    resolved: &ResolvedSets,
    plan: &Plan,
    budget: &SweepBudget<'_>,
    start: RoundStart,
) -> Vec<(usize, SetOutcome)> {
    futures_util::future::join_all(plan.queue_filter_sets.iter().map(|&index| {
        let filter = &resolved.sets()[index].filter;
        async move {
            let api = target.api.as_ref();
            let agents = async {
                match filter {
                    SetFilter::Queues(queues) => sweep_queues(api, queues, budget).await,
                    SetFilter::RoutingProfiles(profiles) => {
                        let chunks: Vec<Vec<String>> = profiles
                            .chunks(MAX_QUEUES_PER_REQUEST)
                            .map(<[String]>::to_vec)
                            .collect();
                        sweep_routing_profiles(api, &chunks, budget).await
                    }
                    SetFilter::HierarchyGroup(group) => {
                        sweep_hierarchy_group(api, group, budget).await
                    }
                }
            };
            let outcome = match tokio::time::timeout(target.timeout, agents).await {
                Ok(Ok(agents)) => Ok(Snapshot {
                    fetched_at: start.started_at,
                    agents,
                    queue_metrics: Vec::new(),
                }),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(timed_out(target)),
            };
            (index, (start.started.elapsed(), outcome))
        }
    }))
    .await
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

/// Logs a failure once at warning level while it stays the same, and the recovery.
pub(super) fn log_outcome(
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
pub(super) fn log_overrun(duration: Duration, interval: Duration, overran: &mut bool) {
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
