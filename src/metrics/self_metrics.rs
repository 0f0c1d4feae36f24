//! The exporter's own metrics, through the `prometheus` crate: API requests, build info, the
//! request budgets, what each round planned and made, and poll durations.

use std::collections::BTreeMap;

use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};

use crate::connect::{Budgets, RequestLog};
use crate::model::RoundReport;

/// Buckets for poll duration: a small set answers in tens of milliseconds, a 10,000-agent
/// instance at the default rate needs most of a minute.
pub(super) const POLL_DURATION_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// The request budget's state: configured and current (adapted) rate, time spent waiting.
pub(super) fn budget_families(budgets: &Budgets) -> Result<Vec<MetricFamily>, prometheus::Error> {
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
pub(super) fn round_families(
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

/// The few families that stay with the `prometheus` crate: API requests and build info.
pub(super) fn exporter_families(
    request_logs: &BTreeMap<String, RequestLog>,
    version: &str,
    revision: &str,
) -> Result<Vec<MetricFamily>, prometheus::Error> {
    let api_requests = IntCounterVec::new(
        Opts::new(
            "amazon_connect_exporter_api_requests_total",
            "Amazon Connect API request attempts, the exporter's retries included (the SDK does not retry), by operation and outcome (success, throttled, client_error, server_error, timeout, network_error, unreadable_response, malformed_response).",
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
