//! `check-config --online`: the checks that need AWS, on demand, for first set-up and CI
//! pipelines. The exporter itself never refuses to start over them (a queue set whose name
//! does not resolve is served at `up` 0 until it does); this command says before a deployment
//! what would be wrong: names that do not resolve, exactly as the polls resolve them (one real
//! routing-directory read), and each API action the configuration needs that the identity may
//! not call, with one cheap request per operation.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_connect::config::Credentials;
use futures_util::future::BoxFuture;
use tokio::time::Instant;

use crate::app::{build_source, target};
use crate::config::Config;
use crate::connect::paging::with_retries;
use crate::connect::{
    Budgets, Listing, MetricDataQuery, MetricSpec, RequestError, RequestLog, SweepBudget,
    UserDataFilter,
};
use crate::kinesis::StartAt;
use crate::poll::{check_directory, EventStreamTarget, Target, WallClock};

/// What the checks found.
#[derive(Debug, Default)]
pub struct OnlineReport {
    /// What was checked and passed, a line each.
    pub passed: Vec<String>,
    /// What is wrong, a line each, with the key or the IAM action to fix.
    pub problems: Vec<String>,
}

/// The metric the GetMetricDataV2 probe asks for: valid with a queue filter and grouping.
const PROBE_METRIC: [MetricSpec; 1] = [MetricSpec {
    name: "CONTACTS_QUEUED",
    threshold: None,
    metric_filter: None,
}];

/// Runs every AWS-side check of `config`: per instance, the client, the routing directory and
/// the names of each queue set, and one request per further operation its sets need.
pub async fn check_online(config: &Config, credentials: Option<&Credentials>) -> OnlineReport {
    let budgets = Arc::new(Budgets::with_directory_share(
        config.api_rate_limits.clone(),
        config.directory_budget_share,
    ));
    let mut report = OnlineReport::default();
    for (index, instance) in config.instances.iter().enumerate() {
        let place = format!("instances[{index}] ({})", instance.name);
        let source = match build_source(instance, credentials, RequestLog::default()).await {
            Ok(source) => source,
            Err(error) => {
                report.problems.push(format!("{place}: {error}"));
                continue;
            }
        };
        let target = target(&source, &budgets, WallClock::System);
        check_instance(index, instance, &target, &mut report).await;
    }
    report
}

/// The checks of one instance.
async fn check_instance(
    index: usize,
    instance: &crate::config::Instance,
    target: &Target,
    report: &mut OnlineReport,
) {
    let place = &format!("instances[{index}] ({})", instance.name);
    // A queue to aim the probes at: one the configuration names by ID, else the first the
    // directory lists.
    let mut sample_queue = target
        .sets
        .iter()
        .flat_map(|set| set.queue_ids.first())
        .next()
        .cloned();
    let mut sample_profile = None;
    match check_directory(target).await {
        None => {}
        Some(Err(error)) => report.problems.push(format!(
            "{place}: the routing directory cannot be read: {error}"
        )),
        Some(Ok(check)) => {
            report.passed.push(format!(
                "{place}: routing directory read: {} queues, {} routing profiles",
                check.directory.queues.len(),
                check.directory.profile_queues.len()
            ));
            for (set, error) in check.set_errors {
                let set_index = instance
                    .queue_sets
                    .iter()
                    .position(|configured| configured.name == set)
                    .unwrap_or_default();
                report.problems.push(format!(
                    "instances[{index}].queue_sets[{set_index}] ({}/{set}): {error}",
                    instance.name
                ));
            }
            if let Some(error) = &check.search_refused {
                let profiles = check.directory.profile_queues.len();
                report.problems.push(format!(
                    "{place}: missing IAM action connect:SearchRoutingProfiles: each directory read lists the queues of each of the {profiles} routing profiles with one ListRoutingProfileQueues instead of one request per 500 profiles: {error}"
                ));
            }
            for (operation, error) in check.optional_errors {
                report
                    .problems
                    .push(format!("{place}: {operation}: {error}"));
            }
            sample_queue =
                sample_queue.or_else(|| check.directory.standard_queues.first().cloned());
            sample_profile = check.directory.profile_queues.keys().next().cloned();
        }
    }
    let Some(queue) = sample_queue else {
        report.problems.push(format!(
            "{place}: the instance lists no queue, so nothing can be polled"
        ));
        return;
    };
    let queues = [queue];
    let api = target.api.as_ref();
    let user_data = probe(target, "GetCurrentUserData", || {
        api.fetch_page(UserDataFilter::Queues(&queues), None)
    })
    .await;
    record(report, place, "GetCurrentUserData", "every poll", user_data);
    if target.queue_metrics {
        let metrics = probe(target, "GetCurrentMetricData", || {
            api.fetch_queue_metrics(&queues, None)
        })
        .await;
        record(
            report,
            place,
            "GetCurrentMetricData",
            "queue_metrics",
            metrics,
        );
    }
    if let Some(profile) = &sample_profile {
        // The directory read of a routing-profile sweep lists each profile's queues where
        // the search does not give them.
        let listing = Listing::RoutingProfileQueues(profile);
        let listed = probe(target, listing.operation(), || api.list_page(listing, None)).await;
        record(
            report,
            place,
            listing.operation(),
            "the queues of each routing profile",
            listed,
        );
    }
    if target.sets.iter().any(|set| set.intraday) {
        check_intraday(place, instance, target, &queues, report).await;
    }
    if let Some(events) = &target.agent_events {
        check_stream(place, events, report).await;
    }
}

/// The agent event stream: DescribeStreamSummary, ListShards, then GetShardIterator (LATEST)
/// and one GetRecords on an open shard, which also tells whether an encrypted stream's key may
/// be used.
async fn check_stream(place: &str, events: &EventStreamTarget, report: &mut OnlineReport) {
    let stream = &events.settings.stream_name;
    let needed_for = format!("the agent event stream {stream}");
    let api = events.api.as_ref();
    let described = api.describe().await;
    if let Ok(summary) = &described {
        if summary.status != "ACTIVE" {
            report.problems.push(format!(
                "{place}: agent event stream {stream} is {}, not ACTIVE",
                summary.status
            ));
        }
        if let Some(key) = &summary.kms_key {
            report.passed.push(format!(
                "{place}: agent event stream {stream} is encrypted with KMS key {key}: the exporter's identity needs kms:Decrypt on it (checked by the read below)"
            ));
        }
    }
    record_action(
        report,
        place,
        "kinesis",
        "DescribeStreamSummary",
        &needed_for,
        described,
    );
    let shards = api.list_shards().await;
    let open = shards
        .as_ref()
        .ok()
        .and_then(|shards| shards.iter().find(|shard| shard.open).cloned());
    record_action(report, place, "kinesis", "ListShards", &needed_for, shards);
    let Some(shard) = open else {
        return;
    };
    let iterator = api.shard_iterator(&shard.id, &StartAt::Latest).await;
    let current = iterator.as_ref().ok().cloned();
    record_action(
        report,
        place,
        "kinesis",
        "GetShardIterator",
        &needed_for,
        iterator,
    );
    if let Some(current) = current {
        let read = api.get_records(current).await;
        record_action(report, place, "kinesis", "GetRecords", &needed_for, read);
    }
}

/// DescribeInstance (where the configuration gives no `instance_arn`) and GetMetricDataV2.
async fn check_intraday(
    place: &str,
    instance: &crate::config::Instance,
    target: &Target,
    queues: &[String],
    report: &mut OnlineReport,
) {
    let api = target.api.as_ref();
    let arn = match &instance.instance_arn {
        Some(arn) => arn.clone(),
        None => {
            let described = probe(target, "DescribeInstance", || api.instance_arn()).await;
            let arn = described.as_ref().ok().cloned();
            record(
                report,
                place,
                "DescribeInstance",
                "the intraday KPIs",
                described,
            );
            match arn {
                Some(arn) => arn,
                None => return,
            }
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64().floor());
    let query = MetricDataQuery {
        resource_arn: &arn,
        start: now - 3600.0,
        end: now - 60.0,
        time_zone: "UTC",
        filter_key: "QUEUE",
        ids: queues,
        groupings: &["QUEUE"],
        metrics: &PROBE_METRIC,
    };
    let read = probe(target, "GetMetricDataV2", || {
        api.fetch_metric_data(&query, None)
    })
    .await;
    record(report, place, "GetMetricDataV2", "the intraday KPIs", read);
}

/// One request of `operation` on its budget, retried as the polls retry it.
async fn probe<'a, T>(
    target: &Target,
    operation: &str,
    send: impl Fn() -> BoxFuture<'a, Result<T, RequestError>>,
) -> Result<T, RequestError> {
    let limiter = target.budgets.limiter(operation);
    let budget = SweepBudget {
        limiter: &limiter,
        retry: target.retry,
        deadline: Instant::now() + target.timeout,
    };
    with_retries(&budget, send).await
}

/// Words the outcome of a Connect probe: a denied action names the IAM action to allow.
fn record<T>(
    report: &mut OnlineReport,
    place: &str,
    operation: &str,
    needed_for: &str,
    outcome: Result<T, RequestError>,
) {
    record_action(report, place, "connect", operation, needed_for, outcome);
}

/// Words the outcome of a probe of `service`'s `operation`: a denied action names the IAM
/// action to allow (a KMS refusal, `kms:Decrypt`).
fn record_action<T>(
    report: &mut OnlineReport,
    place: &str,
    service: &str,
    operation: &str,
    needed_for: &str,
    outcome: Result<T, RequestError>,
) {
    match outcome {
        Ok(_) => report
            .passed
            .push(format!("{place}: {operation} allowed ({needed_for})")),
        Err(error) if error.code.as_deref() == Some("AccessDeniedException") => {
            report.problems.push(format!(
                "{place}: missing IAM action {service}:{operation} (needed for {needed_for}): {error}"
            ))
        }
        Err(error) if error.code.as_deref() == Some("KMSAccessDeniedException") => {
            report.problems.push(format!(
                "{place}: missing IAM action kms:Decrypt on the stream's key (needed for {needed_for}): {error}"
            ))
        }
        Err(error) => report.problems.push(format!(
            "{place}: {operation} (needed for {needed_for}) failed: {error}"
        )),
    }
}
