//! The queue backlog source: GetCurrentMetricData of the queue sets' queues (chunks of at
//! most 100 queues, grouped by queue and channel, each queue read once per round however many
//! sets list it), handed to each set as the rows of its own queues.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::connect::paging::{each_page, PagedRequest};
use crate::connect::{QueueMetricPages, SourceError, SweepBudget, MAX_QUEUES_PER_REQUEST};
use crate::model::{QueueMetricRow, RoutingDirectory, Snapshot};

/// GetCurrentMetricData of every queue in `queue_ids`: chunks of at most 100 queues, every
/// page of every chunk, each (queue, channel) row once. Every attempt waits for a token of
/// `budget` (GetCurrentMetricData has its own quota).
pub async fn fetch_queue_metrics(
    pages: &dyn QueueMetricPages,
    queue_ids: &[String],
    budget: &SweepBudget<'_>,
) -> Result<Vec<QueueMetricRow>, SourceError> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    let total = queue_ids.len();
    let mut first = 1;
    for chunk in queue_ids.chunks(MAX_QUEUES_PER_REQUEST) {
        let last = first + chunk.len() - 1;
        let at = PagedRequest {
            operation: "GetCurrentMetricData",
            noun: "queues",
            first,
            last,
        };
        each_page(
            budget,
            at,
            |token| pages.fetch_queue_metrics(chunk, token),
            |page, source| SourceError::QueueMetrics {
                first,
                last,
                total,
                page,
                source,
            },
            |page| {
                for row in page.rows {
                    if seen.insert((row.queue_id.clone(), row.channel.clone())) {
                        rows.push(row);
                    }
                }
                page.next_token
            },
        )
        .await?;
        first = last + 1;
    }
    Ok(rows)
}

/// Every queue of the round's sets, each once, in first-seen order: one GetCurrentMetricData
/// row per queue and channel serves every set that lists the queue.
pub fn distinct_queues(set_queues: &[&[String]]) -> Vec<String> {
    let mut seen = rustc_hash::FxHashSet::default();
    set_queues
        .iter()
        .flat_map(|queues| queues.iter())
        .filter(|queue| seen.insert(queue.as_str()))
        .cloned()
        .collect()
}

/// Gives each set with data the metric rows of its queues, or fails it with the reason the
/// rows could not be read: a set served without its backlog would look complete while the
/// alerts on waiting contacts saw nothing.
pub fn attach_queue_metrics(
    results: &mut [(Duration, Result<Snapshot, String>)],
    set_queues: &[&[String]],
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

/// The backlog rows of one round: every queue of `set_queues` once, leaving out those the
/// directory does not list (the service would refuse their whole chunk, failing every set;
/// the set that lists one fails on its own instead), within `timeout`. The error says how to
/// turn the backlog off.
pub async fn read_for_round(
    pages: &dyn QueueMetricPages,
    set_queues: &[&[String]],
    directory: Option<&RoutingDirectory>,
    budget: &SweepBudget<'_>,
    timeout: Duration,
) -> Result<Vec<QueueMetricRow>, String> {
    let queue_ids: Vec<String> = distinct_queues(set_queues)
        .into_iter()
        .filter(|queue| directory.is_none_or(|known| known.queues.contains(queue)))
        .collect();
    if queue_ids.is_empty() {
        return Ok(Vec::new());
    }
    match tokio::time::timeout(timeout, fetch_queue_metrics(pages, &queue_ids, budget)).await {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(error)) => Err(format!(
            "{error}; the queue backlog is part of every queue set's data (turn it off with `queue_metrics: false`)"
        )),
        Err(_) => Err(format!(
            "poll timed out after {}",
            humantime::format_duration(timeout)
        )),
    }
}
