//! The intraday task of an instance: reads the intraday KPIs on their own interval (default a
//! minute) and budget, for the queue sets that ask for them, resolved against the same routing
//! directory as the rounds. Its failures are its own: they never touch the sets' `up`.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, info_span, warn, Instrument};

use super::directory::DirectoryCache;
use super::queue_sets::ResolvedSets;
use super::scheduler::{
    first_directory_read, jittered, start_jitter, until_or_stopped, PollSink, Target,
};
use crate::connect::paging::with_retries;
use crate::connect::{RequestOutcome, SourceError, SweepBudget};
use crate::model::{IntradayReport, RoutingDirectory, SetIntraday, TargetKey};
use crate::sources::intraday::{self, window_bounds, IntradayPlan, ReadSettings};

/// The operation, for its budget and attempt counts.
const OPERATION: &str = "GetMetricDataV2";

/// Reads the KPIs every `intraday.interval` until stopped.
pub(super) async fn intraday_loop(
    target: Target,
    directory: Arc<DirectoryCache>,
    sink: Arc<dyn PollSink>,
    mut stopped: watch::Receiver<bool>,
) {
    let span = info_span!("intraday", connect_instance = %target.instance);
    let interval = target.intraday.interval;
    let mut next_start = Instant::now() + start_jitter(interval);
    let mut last_error: Option<String> = None;
    let mut last_plan: Option<usize> = None;
    // Every channel the instance's reads have returned: a queue without a row on one of them
    // gets zero counts there, also after a read that returned no row at all.
    let mut channels: BTreeSet<String> = BTreeSet::new();
    if !first_directory_read(&target, &directory, &mut stopped).await {
        return;
    }
    while until_or_stopped(next_start, &mut stopped).await {
        let started = Instant::now();
        let started_at = target.clock.now();
        let current = directory.get().map(|(directory, _)| directory);
        let resolved = ResolvedSets::resolve(&target.sets, current.clone());
        let sets = intraday_sets(&target, &resolved, current.as_deref());
        let plan = plan(&target, &sets, started_at);
        span.in_scope(|| log_plan(&target, &plan, &mut last_plan));
        if plan.windows.is_empty() {
            // The first seconds after midnight with `today` alone: nothing to read, and the
            // last read stays published rather than an empty success.
            next_start = (started + jittered(interval)).max(Instant::now());
            continue;
        }
        let read = read_sets(&target, &sets, &plan, &mut channels, started);
        let outcome = tokio::select! {
            outcome = read.instrument(span.clone()) => outcome,
            _ = stopped.changed() => return,
        };
        span.in_scope(|| log_outcome(&outcome, &mut last_error));
        sink.record_intraday(
            &target.instance,
            IntradayReport {
                started_at,
                duration: started.elapsed(),
                outcome,
            },
        );
        next_start = (started + jittered(interval)).max(Instant::now());
    }
}

/// The sets that read the KPIs, with their resolved queues and the routing profiles serving
/// them: (key, queues, profiles, thresholds, target).
type IntradaySet<'a> = (
    &'a TargetKey,
    &'a [String],
    BTreeSet<String>,
    &'a [u32],
    Option<f64>,
);

fn intraday_sets<'a>(
    target: &'a Target,
    resolved: &'a ResolvedSets,
    directory: Option<&RoutingDirectory>,
) -> Vec<IntradaySet<'a>> {
    target
        .sets
        .iter()
        .zip(resolved.sets())
        .filter(|(set, resolved)| set.intraday && resolved.error.is_none())
        .map(|(set, resolved)| {
            let queues = resolved.backlog_queues.as_slice();
            let profiles = directory.map_or_else(BTreeSet::new, |d| d.profiles_serving(queues));
            (
                &set.key,
                queues,
                profiles,
                set.service_level_thresholds.as_slice(),
                set.service_level_target,
            )
        })
        .collect()
}

/// What one read asks for: each window's bounds, the distinct queues and profiles of the sets
/// that read the KPIs, the union of their thresholds.
fn plan(target: &Target, sets: &[IntradaySet<'_>], now: f64) -> IntradayPlan {
    let mut queues = Vec::new();
    let mut seen = BTreeSet::new();
    for (_, set_queues, _, _, _) in sets {
        for queue in set_queues.iter() {
            if seen.insert(queue.as_str()) {
                queues.push(queue.clone());
            }
        }
    }
    let profiles: BTreeSet<&String> = sets.iter().flat_map(|set| &set.2).collect();
    let thresholds: BTreeSet<u32> = sets.iter().flat_map(|set| set.3.iter().copied()).collect();
    let windows = target
        .intraday
        .windows
        .iter()
        .filter_map(|window| window_bounds(*window, now, &target.intraday.time_zone))
        .collect();
    IntradayPlan {
        windows,
        queues,
        profiles: profiles.into_iter().cloned().collect(),
        thresholds: thresholds.into_iter().collect(),
    }
}

/// Runs the plan within the instance's timeout and hands each set its rows.
async fn read_sets(
    target: &Target,
    sets: &[IntradaySet<'_>],
    plan: &IntradayPlan,
    channels: &mut BTreeSet<String>,
    started: Instant,
) -> Result<Vec<(TargetKey, SetIntraday)>, String> {
    let limiter = target.budgets.limiter(OPERATION);
    let budget = SweepBudget {
        limiter: limiter.as_ref(),
        retry: target.retry,
        deadline: started + target.timeout,
    };
    let read = async {
        // DescribeInstance (once, where the configuration has no ARN) on a budget of its own,
        // retried like every request.
        let describe_limiter = target.budgets.limiter("DescribeInstance");
        let describe_budget = SweepBudget {
            limiter: describe_limiter.as_ref(),
            ..budget
        };
        let arn = with_retries(&describe_budget, || target.api.instance_arn())
            .await
            .map_err(|error| SourceError::Listing {
                operation: "DescribeInstance",
                detail: Some("the instance ARN GetMetricDataV2 takes; give instance_id as an ARN to skip this look-up".into()),
                source: error,
            })?;
        let settings = ReadSettings {
            resource_arn: &arn,
            time_zone: &target.intraday.time_zone,
            comparison: target.intraday.comparison,
        };
        intraday::read(target.api.as_ref(), plan, settings, &budget).await
    };
    let data = match tokio::time::timeout(target.timeout, read).await {
        Ok(Ok(data)) => data,
        Ok(Err(error)) => return Err(describe(&error)),
        Err(_) => {
            return Err(format!(
                "reading the intraday KPIs timed out after {}",
                humantime::format_duration(target.timeout)
            ))
        }
    };
    channels.extend(intraday::channels_of(&data));
    Ok(sets
        .iter()
        .map(|(key, queues, profiles, thresholds, set_target)| {
            let set = intraday::for_set(
                &data,
                &plan.windows,
                channels,
                (queues, profiles, thresholds),
                *set_target,
            );
            (TargetKey::clone(key), set)
        })
        .collect())
}

/// The error, with the IAM action to add where the service refused the call.
fn describe(error: &SourceError) -> String {
    let denied = match error {
        SourceError::MetricData { source, .. } | SourceError::Listing { source, .. } => {
            source.outcome == RequestOutcome::ClientError
                && source.code.as_deref() == Some("AccessDeniedException")
        }
        _ => false,
    };
    if denied {
        format!("{error}; the IAM policy must allow connect:GetMetricDataV2 (and connect:DescribeInstance where instance_id is not an ARN)")
    } else {
        error.to_string()
    }
}

/// Logs the plan's size and budget arithmetic when it changes.
fn log_plan(target: &Target, plan: &IntradayPlan, last: &mut Option<usize>) {
    let requests = plan.expected_requests();
    if *last == Some(requests) {
        return;
    }
    *last = Some(requests);
    let interval = target.intraday.interval.as_secs_f64();
    info!(
        requests_per_read = requests,
        interval_seconds = interval,
        requests_per_second = requests as f64 / interval,
        windows = plan.windows.len(),
        queues = plan.queues.len(),
        routing_profiles = plan.profiles.len(),
        thresholds = plan.thresholds.len(),
        "intraday KPI plan (GetMetricDataV2)"
    );
}

/// Logs a failure once while it stays the same, and the recovery.
fn log_outcome(
    outcome: &Result<Vec<(TargetKey, SetIntraday)>, String>,
    last_error: &mut Option<String>,
) {
    match outcome {
        Ok(sets) => {
            if last_error.take().is_some() {
                info!(queue_sets = sets.len(), "intraday KPIs read again");
            } else {
                debug!(queue_sets = sets.len(), "intraday KPIs read");
            }
        }
        Err(error) if last_error.as_deref() == Some(error.as_str()) => {
            debug!(%error, "intraday KPIs failed again");
        }
        Err(error) => {
            warn!(%error, "cannot read the intraday KPIs; their series are dropped for this instance until the next read succeeds (the real-time data is not affected)");
            *last_error = Some(error.clone());
        }
    }
}
