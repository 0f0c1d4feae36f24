//! The List* look-ups: queues, routing profiles and their queues, agent statuses, users and
//! hierarchy groups, with the service's query-string paging.

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{json, Value};

use super::paging::page_bounds;
use super::{invalid, Failure};
use crate::scenario::World;

/// Answers ListQueues, ListRoutingProfiles, ListAgentStatuses, ListUsers or (any other
/// `operation`) ListUserHierarchyGroups, with their type filters.
pub(super) fn list(
    world: &World,
    operation: &str,
    query: &[(String, String)],
) -> Result<Value, Failure> {
    let scenario = &world.scenario;
    let region = scenario.instance_arn.split(':').nth(3).unwrap_or("");
    let modified = world.now.floor();
    let filter_values = |key: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (list_key, items): (&str, Vec<Value>) = match operation {
        "ListQueues" => {
            let types = filter_values("queueTypes");
            ("QueueSummaryList", scenario
                .queues
                .iter()
                .filter(|q| types.is_empty() || types.contains(&q.queue_type.as_str()))
                .map(|q| json!({"Id": q.id, "Arn": q.arn, "Name": q.name, "QueueType": q.queue_type, "LastModifiedTime": modified, "LastModifiedRegion": region}))
                .collect())
        }
        "ListRoutingProfiles" => ("RoutingProfileSummaryList", scenario
            .routing_profiles
            .iter()
            .map(|p| json!({"Id": p.id, "Arn": p.arn, "Name": p.name, "LastModifiedTime": modified, "LastModifiedRegion": region}))
            .collect()),
        "ListAgentStatuses" => {
            let types = filter_values("AgentStatusTypes");
            ("AgentStatusSummaryList", scenario
                .agent_statuses
                .iter()
                .filter(|s| types.is_empty() || types.contains(&s.status_type.as_str()))
                .map(|s| json!({"Id": s.id, "Arn": s.arn, "Name": s.name, "Type": s.status_type, "LastModifiedTime": modified, "LastModifiedRegion": region}))
                .collect())
        }
        "ListUsers" => ("UserSummaryList", scenario
            .agents
            .iter()
            .map(|a| json!({"Id": a.id, "Arn": a.arn, "Username": a.username, "LastModifiedTime": modified, "LastModifiedRegion": region}))
            .collect()),
        _ => ("UserHierarchyGroupSummaryList", scenario
            .hierarchy_groups
            .iter()
            .map(|g| json!({"Id": g.id, "Arn": g.arn, "Name": g.name, "LastModifiedTime": modified, "LastModifiedRegion": region}))
            .collect()),
    };
    paged(list_key, items, query, 1000)
}

/// Answers ListRoutingProfileQueues for `profile` (ID or ARN).
pub(super) fn list_routing_profile_queues(
    world: &World,
    profile: &str,
    query: &[(String, String)],
) -> Result<Value, Failure> {
    let scenario = &world.scenario;
    let Some(profile) = scenario
        .routing_profiles
        .iter()
        .find(|p| p.id == profile || p.arn == profile)
    else {
        return Err((
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Routing profile {profile} not found"),
        ));
    };
    let names: BTreeMap<&str, (&str, &str)> = scenario
        .queues
        .iter()
        .map(|q| (q.id.as_str(), (q.name.as_str(), q.arn.as_str())))
        .collect();
    let items = profile
        .queues
        .iter()
        .map(|entry| {
            let (name, arn) = names.get(entry.queue_id.as_str()).copied().unwrap_or(("", ""));
            json!({"QueueId": entry.queue_id, "QueueArn": arn, "QueueName": name, "Priority": entry.priority, "Delay": entry.delay, "Channel": entry.channel})
        })
        .collect();
    paged("RoutingProfileQueueConfigSummaryList", items, query, 100)
}

/// One page of `items` under `list_key`, by the `maxResults` (up to `max_page`) and
/// `nextToken` of the query string.
fn paged(
    list_key: &str,
    items: Vec<Value>,
    query: &[(String, String)],
    max_page: usize,
) -> Result<Value, Failure> {
    let lookup = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let page_size = match lookup("maxResults") {
        None => 100.min(max_page),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max_page).contains(&n) => n,
            _ => {
                return Err(invalid(format!(
                    "maxResults {text:?} is outside 1..{max_page}"
                )))
            }
        },
    };
    let (start, end, next_token) = page_bounds(items.len(), lookup("nextToken"), page_size)?;
    let mut body = json!({ list_key: items[start..end] });
    if let Some(token) = next_token {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use hyper::{Method, StatusCode};
    use serde_json::json;

    use super::super::test_support::{call, service, INSTANCE};

    #[test]
    fn list_operations_page_and_validate() {
        let service = service();
        let (status, _, reply) = call(
            &service,
            Method::GET,
            &format!("/queues-summary/{INSTANCE}"),
            Some("maxResults=100&queueTypes=STANDARD"),
            json!({}),
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reply["QueueSummaryList"].as_array().unwrap().len(), 100);
        assert_eq!(reply["NextToken"], "sim:100");
        let (status, error_type, _) = call(
            &service,
            Method::GET,
            &format!("/users-summary/{INSTANCE}"),
            Some("maxResults=1001"),
            json!({}),
        );
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameterException"))
        );
        let profile = service.with_world(|w| w.scenario.routing_profiles[0].id.clone());
        let (status, _, reply) = call(
            &service,
            Method::GET,
            &format!("/routing-profiles/{INSTANCE}/{profile}/queues"),
            None,
            json!({}),
        );
        assert_eq!(status, StatusCode::OK);
        assert!(
            reply["RoutingProfileQueueConfigSummaryList"][0]["QueueName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        );
        let (status, _, _) = call(
            &service,
            Method::GET,
            &format!("/routing-profiles/{INSTANCE}/nope/queues"),
            None,
            json!({}),
        );
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(service.request_count("ListRoutingProfileQueues"), 2);
    }
}
