//! GetCurrentUserData: agents selected by exactly one filter, optionally by contact state,
//! paged; MISSED contacts served are remembered for the tests' expectations.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use hyper::StatusCode;
use serde_json::Value;

use super::paging::{page_bounds, page_size};
use super::{invalid, Failure, MissedPair};
use crate::scenario::{Agent, Scenario, World};
use crate::wire::{
    GetCurrentUserDataRequest, GetCurrentUserDataResponse, UserData, UserDataFilters,
};

const CONTACT_STATES: [&str; 9] = [
    "INCOMING",
    "PENDING",
    "CONNECTING",
    "CONNECTED",
    "CONNECTED_ONHOLD",
    "MISSED",
    "ERROR",
    "ENDED",
    "REJECTED",
];

/// Answers GetCurrentUserData. Bad input gets the error the service gives: a
/// `SerializationException` for an unreadable body, `InvalidRequestException` without
/// `Filters`, `InvalidParameterException` for bad values.
pub(super) fn get_current_user_data(
    world: &World,
    body: &[u8],
    served_missed: &Mutex<BTreeSet<MissedPair>>,
) -> Result<Value, Failure> {
    let request: GetCurrentUserDataRequest = serde_json::from_slice(body).map_err(|error| {
        (
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("cannot read the request body: {error}"),
        )
    })?;
    let filters = request.filters.ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Filters is required".to_string(),
        )
    })?;
    let page_size = page_size(request.max_results)?;
    let (filter_name, values) = the_one_filter(&filters)?;
    let states = contact_states(
        filters
            .contact_filter
            .as_ref()
            .and_then(|f| f.contact_states.as_ref()),
    )?;
    let wanted: BTreeSet<&str> = values.iter().map(|v| last_id(v)).collect();
    let scenario = &world.scenario;
    let matching = matching_agents(scenario, filter_name, &wanted, states.as_ref());
    let (start, end, next_token) =
        page_bounds(matching.len(), request.next_token.as_deref(), page_size)?;
    remember_missed(served_missed, &matching[start..end]);
    let response = GetCurrentUserDataResponse {
        user_data_list: matching[start..end]
            .iter()
            .map(|agent| UserData::from_agent(agent, &scenario.instance_arn))
            .collect(),
        next_token,
        approximate_total_count: matching.len(),
    };
    serde_json::to_value(response).map_err(|error| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceException",
            error.to_string(),
        )
    })
}

/// The one filter given among Queues, RoutingProfiles, Agents and UserHierarchyGroups, with
/// its values, checked against the filter's limit.
fn the_one_filter(filters: &UserDataFilters) -> Result<(&'static str, &Vec<String>), Failure> {
    let given: Vec<(&str, &Vec<String>, usize)> = [
        ("Queues", &filters.queues, 100),
        ("RoutingProfiles", &filters.routing_profiles, 100),
        ("Agents", &filters.agents, 100),
        ("UserHierarchyGroups", &filters.user_hierarchy_groups, 1),
    ]
    .into_iter()
    .filter_map(|(name, list, limit)| list.as_ref().map(|list| (name, list, limit)))
    .collect();
    let [(filter_name, values, limit)] = given.as_slice() else {
        return Err(invalid(format!(
            "exactly one of Queues, RoutingProfiles, Agents and UserHierarchyGroups is required, got {}",
            given.len()
        )));
    };
    if values.is_empty() || values.len() > *limit {
        return Err(invalid(format!(
            "{filter_name} takes 1 to {limit} values, got {}",
            values.len()
        )));
    }
    Ok((filter_name, values))
}

/// `ContactFilter.ContactStates` checked, as a set; `None` when not given.
fn contact_states(states: Option<&Vec<String>>) -> Result<Option<BTreeSet<&'static str>>, Failure> {
    match states {
        None => Ok(None),
        Some(states) if states.len() > 9 => Err(invalid(format!(
            "ContactStates takes at most 9 values, got {}",
            states.len()
        ))),
        Some(states) => {
            if let Some(unknown) = states
                .iter()
                .find(|s| !CONTACT_STATES.contains(&s.as_str()))
            {
                return Err(invalid(format!("ContactStates: unknown state {unknown:?}")));
            }
            Ok(Some(
                CONTACT_STATES
                    .iter()
                    .copied()
                    .filter(|s| states.iter().any(|x| x == s))
                    .collect(),
            ))
        }
    }
}

/// The agents the filter selects, in the instance's order; with `states`, only those with a
/// contact in one of them. A queue selects the agents whose routing profile serves it.
fn matching_agents<'a>(
    scenario: &'a Scenario,
    filter_name: &str,
    wanted: &BTreeSet<&str>,
    states: Option<&BTreeSet<&str>>,
) -> Vec<&'a Agent> {
    let serving_profiles: BTreeSet<&str> = match filter_name {
        "Queues" => scenario
            .routing_profiles
            .iter()
            .filter(|p| {
                p.queues
                    .iter()
                    .any(|q| wanted.contains(q.queue_id.as_str()))
            })
            .map(|p| p.id.as_str())
            .collect(),
        _ => BTreeSet::new(),
    };
    scenario
        .agents
        .iter()
        .filter(|agent| match filter_name {
            "Queues" => serving_profiles.contains(agent.routing_profile_id.as_str()),
            "RoutingProfiles" => wanted.contains(agent.routing_profile_id.as_str()),
            "Agents" => wanted.contains(agent.id.as_str()),
            _ => agent
                .hierarchy_group_id
                .as_deref()
                .is_some_and(|g| wanted.contains(g)),
        })
        .filter(|agent| {
            states.is_none_or(|states| {
                agent
                    .contacts
                    .iter()
                    .any(|c| states.contains(c.state.as_str()))
            })
        })
        .collect()
}

/// Remembers the MISSED contacts of the agents served.
fn remember_missed(served_missed: &Mutex<BTreeSet<MissedPair>>, agents: &[&Agent]) {
    let mut served = served_missed.lock().unwrap_or_else(PoisonError::into_inner);
    for agent in agents {
        for contact in agent.contacts.iter().filter(|c| c.state == "MISSED") {
            served.insert(MissedPair {
                contact_id: contact.contact_id.clone(),
                user_id: agent.id.clone(),
                queue_id: contact.queue_id.clone(),
                channel: contact.channel.clone(),
            });
        }
    }
}

/// The resource ID at the end of an ID or ARN (`…/queue/ID` → `ID`).
fn last_id(value: &str) -> &str {
    value.rsplit('/').next().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use hyper::{Method, StatusCode};
    use serde_json::json;

    use super::super::route;
    use super::super::test_support::{queue_ids, service, user_data, INSTANCE};

    #[test]
    fn filter_rules_are_enforced() {
        let service = service();
        let queues = queue_ids(&service);
        let cases = [
            (json!({}), "InvalidRequestException"),
            (json!({"Filters": {}}), "InvalidParameterException"),
            (
                json!({"Filters": {"Queues": [queues[0]], "Agents": ["x"]}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": queues[..101]}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": []}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"UserHierarchyGroups": ["a", "b"]}}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]]}, "MaxResults": 0}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]]}, "MaxResults": 101}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]]}, "NextToken": "bogus"}),
                "InvalidParameterException",
            ),
            (
                json!({"Filters": {"Queues": [queues[0]], "ContactFilter": {"ContactStates": ["NAPPING"]}}}),
                "InvalidParameterException",
            ),
        ];
        for (body, expected) in cases {
            let (status, error_type, reply) = user_data(&service, body.clone());
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(error_type.as_deref(), Some(expected), "{body}: {reply}");
            assert!(reply["Message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let response = route(
            &service,
            &Method::POST,
            &format!("/metrics/userdata/{INSTANCE}"),
            None,
            b"{not json",
        );
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "SerializationException"
        );
    }

    #[test]
    fn paging_returns_every_agent_once() {
        let service = service();
        let queues = queue_ids(&service);
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"Filters": {"Queues": queues[..100]}, "MaxResults": 7});
            if let Some(token) = &token {
                body["NextToken"] = json!(token);
            }
            let (status, _, reply) = user_data(&service, body);
            assert_eq!(status, StatusCode::OK, "{reply}");
            for user in reply["UserDataList"].as_array().unwrap() {
                seen.push(user["User"]["Id"].as_str().unwrap().to_string());
            }
            match reply["NextToken"].as_str() {
                Some(next) => token = Some(next.to_string()),
                None => {
                    assert_eq!(
                        reply["ApproximateTotalCount"].as_u64(),
                        Some(seen.len() as u64)
                    );
                    break;
                }
            }
        }
        let distinct: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len());
        assert!(seen.len() > 7);
    }

    #[test]
    fn queue_chunks_return_shared_agents_from_each_chunk() {
        let service = service();
        let queues = queue_ids(&service);
        let ids = |chunk: &[String]| -> BTreeSet<String> {
            let (_, _, reply) = user_data(&service, json!({"Filters": {"Queues": chunk}}));
            reply["UserDataList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["User"]["Id"].as_str().unwrap().to_string())
                .collect()
        };
        let first = ids(&queues[..100]);
        let second = ids(&queues[100..]);
        assert!(
            !first.is_disjoint(&second),
            "some agent serves queues in both chunks"
        );
    }
}
