//! The service and request helpers the API's unit tests share.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http_body_util::BodyExt;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::{route, Service};
use crate::faults::Faults;
use crate::scenario::{CurrentMetric, Size, World};

pub(super) const INSTANCE: &str = "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20";

pub(super) fn service() -> Service {
    let world = World::new(
        INSTANCE,
        "eu-west-2",
        "123456789012",
        Size {
            agents: 250,
            queues: 150,
            routing_profiles: 40,
        },
        11,
        1_700_000_000.0,
        1.0,
    );
    Service::new(world, true, Faults::default())
}

pub(super) fn call(
    service: &Service,
    method: Method,
    path: &str,
    query: Option<&str>,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let response = route(service, &method, path, query, body.to_string().as_bytes());
    let status = response.status();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes = now_or_never(response.into_body().collect())
        .and_then(Result::ok)
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (
        status,
        error_type,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub(super) fn user_data(service: &Service, body: Value) -> (StatusCode, Option<String>, Value) {
    call(
        service,
        Method::POST,
        &format!("/metrics/userdata/{INSTANCE}"),
        None,
        body,
    )
}

pub(super) fn queue_ids(service: &Service) -> Vec<String> {
    service.with_world(|w| w.scenario.queues.iter().map(|q| q.id.clone()).collect())
}

pub(super) fn metric_data(service: &Service, body: Value) -> (StatusCode, Option<String>, Value) {
    call(
        service,
        Method::POST,
        &format!("/metrics/current/{INSTANCE}"),
        None,
        body,
    )
}

pub(super) fn all_metrics() -> Vec<Value> {
    CurrentMetric::ALL
        .iter()
        .map(|m| json!({"Name": m.name(), "Unit": m.unit()}))
        .collect()
}

/// The value of metric `name` in one `MetricResults` entry (`None` for null).
pub(super) fn metric_value(row: &Value, name: &str) -> Option<f64> {
    let collections = row["Collections"].as_array().expect("Collections");
    let entry = collections
        .iter()
        .find(|c| c["Metric"]["Name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {row}"));
    entry["Value"].as_f64()
}

/// The output of a future that is ready at once (a full body is), without a runtime.
fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

pub(super) fn metric_data_v2(
    service: &Service,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    call(service, Method::POST, "/metrics/data", None, body)
}

pub(super) fn search_routing_profiles(
    service: &Service,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    call(
        service,
        Method::POST,
        "/search-routing-profiles",
        None,
        body,
    )
}

/// Every page of a List* operation at `path`, `maxResults` `page_size`, under `list_key`.
pub(super) fn list_all(
    service: &Service,
    path: &str,
    list_key: &str,
    page_size: usize,
) -> (Vec<Value>, usize) {
    let (mut items, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let mut query = format!("maxResults={page_size}");
        if let Some(token) = &token {
            query.push_str(&format!("&nextToken={token}"));
        }
        let (status, _, reply) = call(service, Method::GET, path, Some(&query), json!({}));
        assert_eq!(status, StatusCode::OK, "{reply}");
        items.extend(reply[list_key].as_array().expect(list_key).iter().cloned());
        pages += 1;
        match reply["NextToken"].as_str() {
            Some(next) => token = Some(next.replace(':', "%3A").replace('@', "%40")),
            None => return (items, pages),
        }
    }
}
