//! SearchRoutingProfiles (`POST /search-routing-profiles`): the instance's routing profiles
//! with what they serve, filtered by `SearchCriteria`, paged by `MaxResults` (1 to 500) and
//! `NextToken`.
//!
//! As the model says, the answer leaves out `LastModifiedRegion`, `LastModifiedTime`,
//! `AgentAvailabilityTimer` and `MediaConcurrencies[].CrossChannelBehavior`.
//! `NumberOfAssociatedQueues` counts (queue, channel) associations, the rows
//! ListRoutingProfileQueues gives for the profile, so a profile serving a queue on two channels
//! counts it twice; `AssociatedQueueIds` lists each queue once.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::paging::{fingerprint, page_size_up_to, shaped_page_bounds};
use super::{invalid, Failure};
use crate::scenario::{RoutingProfile, World};

/// The description every simulated routing profile has.
const PROFILE_DESCRIPTION: &str = "Simulated routing profile";
/// The longest `MaxResults`.
const MAX_PAGE: usize = 500;

/// SearchRoutingProfiles request body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SearchRoutingProfilesRequest {
    instance_id: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    search_filter: Option<SearchFilter>,
    search_criteria: Option<Criteria>,
}

/// `SearchFilter`: only `TagFilter`, which no simulated profile can match (none has tags).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SearchFilter {
    tag_filter: Option<TagFilter>,
}

/// `SearchFilter.TagFilter` (`ControlPlaneTagFilter`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagFilter {
    or_conditions: Option<Vec<Vec<Value>>>,
    and_conditions: Option<Vec<Value>>,
    tag_condition: Option<Value>,
}

/// `RoutingProfileSearchCriteria`: its members all hold (an empty one holds for every
/// profile).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Criteria {
    or_conditions: Option<Vec<Criteria>>,
    and_conditions: Option<Vec<Criteria>>,
    string_condition: Option<StringCondition>,
}

/// `StringCondition`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StringCondition {
    field_name: Option<String>,
    value: Option<String>,
    comparison_type: Option<String>,
}

/// A routing profile as the criteria see it.
struct Candidate<'a> {
    profile: &'a RoutingProfile,
    queue_ids: Vec<&'a str>,
}

/// Answers SearchRoutingProfiles; every `omit_queue_ids_every`-th profile of the instance
/// (1-based, in instance order) comes without `AssociatedQueueIds`.
pub(super) fn search_routing_profiles(
    world: &World,
    body: &[u8],
    omit_queue_ids_every: Option<NonZeroUsize>,
) -> Result<Value, Failure> {
    let request: SearchRoutingProfilesRequest = serde_json::from_slice(body).map_err(|error| {
        (
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("cannot read the request body: {error}"),
        )
    })?;
    let scenario = &world.scenario;
    let instance = request
        .instance_id
        .ok_or_else(|| invalid("InstanceId is required".to_string()))?;
    if instance != scenario.instance_id && instance != scenario.instance_arn {
        return Err((
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Instance {instance} not found"),
        ));
    }
    let page_size = page_size_up_to(request.max_results, MAX_PAGE)?;
    let criteria = request.search_criteria.unwrap_or_default();
    check_criteria(&criteria)?;
    let filter = request.search_filter.unwrap_or_default();
    let wants_tags = filter.tag_filter.as_ref().is_some_and(has_conditions);

    let mut users: HashMap<&str, usize> = HashMap::new();
    for agent in &scenario.agents {
        *users.entry(agent.routing_profile_id.as_str()).or_default() += 1;
    }
    let matching: Vec<(usize, Candidate)> = scenario
        .routing_profiles
        .iter()
        .map(candidate)
        .enumerate()
        .filter(|(_, candidate)| !wants_tags && matches(&criteria, candidate))
        .collect();
    let shape = fingerprint(&format!("{criteria:?}|{filter:?}"));
    let (start, end, next_token) = shaped_page_bounds(
        matching.len(),
        request.next_token.as_deref(),
        page_size,
        &shape,
    )?;
    let profiles: Vec<Value> = matching[start..end]
        .iter()
        .map(|(index, candidate)| {
            let omit = omit_queue_ids_every.is_some_and(|every| (index + 1) % every.get() == 0);
            let users = users.get(candidate.profile.id.as_str()).copied();
            render(candidate, &scenario.instance_id, users.unwrap_or(0), omit)
        })
        .collect();
    let mut body = json!({
        "RoutingProfiles": profiles,
        "ApproximateTotalCount": matching.len(),
    });
    if let Some(token) = next_token {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

/// The profile with the distinct IDs of the queues it serves, in the order it lists them.
fn candidate(profile: &RoutingProfile) -> Candidate<'_> {
    let mut queue_ids: Vec<&str> = Vec::new();
    for entry in &profile.queues {
        if !queue_ids.contains(&entry.queue_id.as_str()) {
            queue_ids.push(&entry.queue_id);
        }
    }
    Candidate { profile, queue_ids }
}

/// One `RoutingProfiles` entry.
fn render(candidate: &Candidate, instance_id: &str, users: usize, omit_queue_ids: bool) -> Value {
    let profile = candidate.profile;
    let concurrencies: Vec<Value> = profile
        .concurrency
        .iter()
        .map(|(channel, concurrency)| json!({"Channel": channel, "Concurrency": concurrency}))
        .collect();
    let mut entry = json!({
        "InstanceId": instance_id,
        "Name": profile.name,
        "RoutingProfileArn": profile.arn,
        "RoutingProfileId": profile.id,
        "Description": PROFILE_DESCRIPTION,
        "MediaConcurrencies": concurrencies,
        "Tags": {},
        "NumberOfAssociatedQueues": profile.queues.len(),
        "NumberOfAssociatedUsers": users,
        "IsDefault": false,
    });
    // Connect makes a default outbound queue compulsory; here it is the first queue served.
    if let Some(queue) = candidate.queue_ids.first() {
        entry["DefaultOutboundQueueId"] = json!(queue);
    }
    if !omit_queue_ids {
        entry["AssociatedQueueIds"] = json!(candidate.queue_ids);
    }
    entry
}

/// Whether a `TagFilter` asks for any tag at all.
fn has_conditions(filter: &TagFilter) -> bool {
    filter.tag_condition.is_some()
        || filter
            .and_conditions
            .as_ref()
            .is_some_and(|c| !c.is_empty())
        || filter
            .or_conditions
            .as_ref()
            .is_some_and(|c| c.iter().any(|and| !and.is_empty()))
}

/// Checks every `StringCondition` of `criteria`: a field the service searches, a known
/// comparison, a value, and 2 to 25 characters for CONTAINS on `name` and `description`.
fn check_criteria(criteria: &Criteria) -> Result<(), Failure> {
    for nested in criteria
        .or_conditions
        .iter()
        .chain(&criteria.and_conditions)
        .flatten()
    {
        check_criteria(nested)?;
    }
    let Some(condition) = &criteria.string_condition else {
        return Ok(());
    };
    let field = condition.field_name.as_deref().unwrap_or_default();
    if !matches!(
        field,
        "name" | "description" | "resourceID" | "associatedQueueIds"
    ) {
        return Err(invalid(format!(
            "SearchCriteria: StringCondition.FieldName {field:?} is not one of name, description, resourceID, associatedQueueIds"
        )));
    }
    let comparison = condition.comparison_type.as_deref().unwrap_or_default();
    if !matches!(comparison, "EXACT" | "CONTAINS" | "STARTS_WITH") {
        return Err(invalid(format!(
            "SearchCriteria: StringCondition.ComparisonType {comparison:?} is not one of EXACT, CONTAINS, STARTS_WITH"
        )));
    }
    let Some(value) = &condition.value else {
        return Err(invalid(
            "SearchCriteria: StringCondition.Value is required".to_string(),
        ));
    };
    let length = value.chars().count();
    if comparison == "CONTAINS"
        && matches!(field, "name" | "description")
        && !(2..=25).contains(&length)
    {
        return Err(invalid(format!(
            "SearchCriteria: StringCondition.Value for CONTAINS on {field} must be 2 to 25 characters, got {length}"
        )));
    }
    Ok(())
}

/// Whether `candidate` meets `criteria` (checked by [`check_criteria`]). Comparisons ignore
/// ASCII case.
fn matches(criteria: &Criteria, candidate: &Candidate) -> bool {
    let any = criteria
        .or_conditions
        .as_ref()
        .is_none_or(|list| list.iter().any(|c| matches(c, candidate)));
    let all = criteria
        .and_conditions
        .as_ref()
        .is_none_or(|list| list.iter().all(|c| matches(c, candidate)));
    let leaf = criteria.string_condition.as_ref().is_none_or(|condition| {
        let profile = candidate.profile;
        let value = condition.value.as_deref().unwrap_or_default();
        let comparison = condition.comparison_type.as_deref().unwrap_or_default();
        let compare = |text: &str| compares(text, value, comparison);
        match condition.field_name.as_deref().unwrap_or_default() {
            "name" => compare(&profile.name),
            "description" => compare(PROFILE_DESCRIPTION),
            "resourceID" => compare(&profile.id),
            _ => candidate.queue_ids.iter().any(|id| compare(id)),
        }
    });
    any && all && leaf
}

/// `text` against `value` by `comparison` (EXACT, CONTAINS or STARTS_WITH), ignoring ASCII
/// case.
fn compares(text: &str, value: &str, comparison: &str) -> bool {
    let (text, value) = (text.to_ascii_lowercase(), value.to_ascii_lowercase());
    match comparison {
        "EXACT" => text == value,
        "CONTAINS" => text.contains(&value),
        _ => text.starts_with(&value),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use hyper::{Method, StatusCode};
    use serde_json::{json, Value};

    use super::super::test_support::{list_all, search_routing_profiles, service, INSTANCE};
    use super::super::{route, Service};
    use crate::faults::Faults;
    use crate::scenario::{Size, World};

    /// Every page of SearchRoutingProfiles for `body` (with `InstanceId`), and the number of
    /// pages.
    fn search_all(service: &Service, body: Value) -> (Vec<Value>, usize) {
        let (mut profiles, mut pages, mut token) = (Vec::new(), 0, None::<Value>);
        let mut totals = BTreeSet::new();
        loop {
            let mut request = body.clone();
            request["InstanceId"] = json!(INSTANCE);
            if let Some(token) = token.take() {
                request["NextToken"] = token;
            }
            let (status, _, reply) = search_routing_profiles(service, request);
            assert_eq!(status, StatusCode::OK, "{reply}");
            profiles.extend(reply["RoutingProfiles"].as_array().unwrap().iter().cloned());
            pages += 1;
            totals.insert(reply["ApproximateTotalCount"].as_u64().unwrap() as usize);
            match &reply["NextToken"] {
                Value::Null => break,
                next => token = Some(next.clone()),
            }
        }
        assert_eq!(totals, BTreeSet::from([profiles.len()]));
        (profiles, pages)
    }

    fn names(profiles: &[Value]) -> Vec<&str> {
        profiles
            .iter()
            .map(|p| p["Name"].as_str().unwrap())
            .collect()
    }

    fn condition(field: &str, comparison: &str, value: &str) -> Value {
        json!({"StringCondition": {"FieldName": field, "ComparisonType": comparison, "Value": value}})
    }

    /// The error type and message of a refused search.
    fn refused(service: &Service, mut body: Value) -> (StatusCode, String, String) {
        if body.get("InstanceId").is_none() {
            body["InstanceId"] = json!(INSTANCE);
        }
        let (status, error_type, reply) = search_routing_profiles(service, body);
        let message = reply["Message"].as_str().unwrap_or_default().to_string();
        (status, error_type.unwrap_or_default(), message)
    }

    #[test]
    fn profiles_carry_what_they_serve_as_list_routing_profile_queues_says() {
        let service = service();
        let scenario = service.with_world(|w| w.scenario.clone());
        let (profiles, pages) = search_all(&service, json!({"MaxResults": 500}));
        assert_eq!(pages, 1);
        let listed = list_all(
            &service,
            &format!("/routing-profiles-summary/{INSTANCE}"),
            "RoutingProfileSummaryList",
            1000,
        )
        .0;
        let listed: Vec<&str> = listed.iter().map(|p| p["Id"].as_str().unwrap()).collect();
        let found: Vec<&str> = profiles
            .iter()
            .map(|p| p["RoutingProfileId"].as_str().unwrap())
            .collect();
        assert_eq!(found, listed);
        let mut multichannel = 0;
        for profile in &profiles {
            let id = profile["RoutingProfileId"].as_str().unwrap();
            let keys: BTreeSet<&str> = profile
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let expected: BTreeSet<&str> = [
                "AssociatedQueueIds",
                "DefaultOutboundQueueId",
                "Description",
                "InstanceId",
                "IsDefault",
                "MediaConcurrencies",
                "Name",
                "NumberOfAssociatedQueues",
                "NumberOfAssociatedUsers",
                "RoutingProfileArn",
                "RoutingProfileId",
                "Tags",
            ]
            .into();
            assert_eq!(keys, expected, "{profile}");
            assert_eq!(profile["InstanceId"], INSTANCE);
            assert_eq!(profile["Tags"], json!({}));
            let rows = list_all(
                &service,
                &format!("/routing-profiles/{INSTANCE}/{id}/queues"),
                "RoutingProfileQueueConfigSummaryList",
                100,
            )
            .0;
            assert_eq!(profile["NumberOfAssociatedQueues"], json!(rows.len()));
            let mut distinct: Vec<&str> = Vec::new();
            for row in &rows {
                let queue = row["QueueId"].as_str().unwrap();
                if !distinct.contains(&queue) {
                    distinct.push(queue);
                }
            }
            assert_eq!(profile["AssociatedQueueIds"], json!(distinct));
            assert_eq!(profile["DefaultOutboundQueueId"], json!(distinct[0]));
            multichannel += usize::from(rows.len() > distinct.len());
            let source = scenario
                .routing_profiles
                .iter()
                .find(|p| p.id == id)
                .unwrap();
            let concurrencies: BTreeMap<String, i32> = profile["MediaConcurrencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    assert_eq!(m.as_object().unwrap().len(), 2, "{m}");
                    (
                        m["Channel"].as_str().unwrap().to_string(),
                        m["Concurrency"].as_i64().unwrap() as i32,
                    )
                })
                .collect();
            assert_eq!(concurrencies, source.concurrency);
            let users = scenario
                .agents
                .iter()
                .filter(|a| a.routing_profile_id == id)
                .count();
            assert_eq!(profile["NumberOfAssociatedUsers"], json!(users));
        }
        assert!(
            multichannel > 0,
            "no profile serves a queue on two channels"
        );
        assert_eq!(service.request_count("SearchRoutingProfiles"), 1);
    }

    #[test]
    fn pages_follow_max_results_and_tokens_continue_only_their_search() {
        let service = service();
        let (all, pages) = search_all(&service, json!({}));
        assert_eq!((all.len(), pages), (40, 1), "default MaxResults is 100");
        let (paged, pages) = search_all(&service, json!({"MaxResults": 7}));
        assert_eq!(pages, 6);
        assert_eq!(paged, all);
        let first = |body: Value| {
            let mut body = body;
            body["InstanceId"] = json!(INSTANCE);
            search_routing_profiles(&service, body).2
        };
        let page = first(json!({"MaxResults": 7}));
        assert_eq!(page["ApproximateTotalCount"], 40);
        let token = page["NextToken"].clone();
        let criteria = condition("name", "STARTS_WITH", "Profile");
        for (body, field) in [
            (
                json!({"NextToken": token, "SearchCriteria": criteria}),
                "NextToken",
            ),
            (json!({"NextToken": "sim:nope"}), "NextToken"),
            (json!({"NextToken": ""}), "NextToken"),
            (json!({"MaxResults": 0}), "MaxResults"),
            (json!({"MaxResults": 501}), "MaxResults"),
        ] {
            let (status, error_type, message) = refused(&service, body.clone());
            assert_eq!(
                (status, error_type.as_str()),
                (StatusCode::BAD_REQUEST, "InvalidParameterException"),
                "{body}: {message}"
            );
            assert!(message.contains(field), "{body}: {message}");
        }
        let (_, _, reply) =
            search_routing_profiles(&service, json!({"InstanceId": INSTANCE, "MaxResults": 500}));
        assert_eq!(reply["RoutingProfiles"].as_array().unwrap().len(), 40);
    }

    #[test]
    fn the_instance_and_the_body_are_checked_as_for_the_other_operations() {
        let service = service();
        let arn = service.with_world(|w| w.scenario.instance_arn.clone());
        let (status, _, reply) = search_routing_profiles(&service, json!({"InstanceId": arn}));
        assert_eq!(status, StatusCode::OK, "{reply}");
        let (status, error_type, reply) = search_routing_profiles(&service, json!({}));
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameterException"))
        );
        assert!(reply["Message"].as_str().unwrap().contains("InstanceId"));
        let other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
        for instance in [other, "nope"] {
            let (status, error_type, _) = refused(&service, json!({"InstanceId": instance}));
            assert_eq!(
                (status, error_type.as_str()),
                (StatusCode::NOT_FOUND, "ResourceNotFoundException")
            );
        }
        for body in [&b"{not json"[..], b"", b"{\"InstanceId\": 5}"] {
            let response = route(
                &service,
                &Method::POST,
                "/search-routing-profiles",
                None,
                body,
            );
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert_eq!(
                response.headers()["x-amzn-errortype"],
                "SerializationException"
            );
        }
        let (status, error_type, _) =
            search_routing_profiles(&service, json!({"InstanceId": INSTANCE}));
        assert_eq!((status, error_type), (StatusCode::OK, None));
        let response = route(
            &service,
            &Method::GET,
            "/search-routing-profiles",
            None,
            b"{}",
        );
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn search_criteria_select_by_name_id_and_queue() {
        let service = service();
        let scenario = service.with_world(|w| w.scenario.clone());
        let search = |criteria: Value| search_all(&service, json!({"SearchCriteria": criteria})).0;
        assert_eq!(
            names(&search(condition("name", "EXACT", "Profile 03"))),
            ["Profile 03"]
        );
        assert_eq!(
            names(&search(condition("name", "EXACT", "profile 03"))),
            ["Profile 03"]
        );
        assert_eq!(search(condition("name", "EXACT", "Profile 3")).len(), 0);
        assert_eq!(
            search(condition("name", "STARTS_WITH", "Profile 1")).len(),
            10
        );
        assert_eq!(search(condition("name", "CONTAINS", "e 0")).len(), 9);
        assert_eq!(
            search(condition("description", "CONTAINS", "simulated")).len(),
            40
        );
        let id = &scenario.routing_profiles[5].id;
        let found = search(condition("resourceID", "EXACT", id));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["RoutingProfileId"], json!(id));
        let queue = &scenario.queues[0].id;
        let serving: Vec<&str> = scenario
            .routing_profiles
            .iter()
            .filter(|p| p.queues.iter().any(|e| &e.queue_id == queue))
            .map(|p| p.name.as_str())
            .collect();
        assert!(!serving.is_empty());
        assert_eq!(
            names(&search(condition("associatedQueueIds", "EXACT", queue))),
            serving
        );
        let either = json!({"OrConditions": [
            condition("name", "EXACT", "Profile 02"),
            condition("name", "EXACT", "Profile 31"),
        ]});
        assert_eq!(names(&search(either)), ["Profile 02", "Profile 31"]);
        let both = json!({"AndConditions": [
            condition("name", "STARTS_WITH", "Profile 1"),
            {"OrConditions": [
                condition("name", "EXACT", "Profile 12"),
                condition("name", "EXACT", "Profile 25"),
            ]},
        ]});
        assert_eq!(names(&search(both)), ["Profile 12"]);
        assert_eq!(search(json!({})).len(), 40);

        let tagged = json!({"TagFilter": {"TagCondition": {"TagKey": "team", "TagValue": "a"}}});
        let (status, _, reply) = search_routing_profiles(
            &service,
            json!({"InstanceId": INSTANCE, "SearchFilter": tagged}),
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (
                reply["RoutingProfiles"].clone(),
                reply["ApproximateTotalCount"].clone()
            ),
            (json!([]), json!(0))
        );
        let untagged = json!({"TagFilter": {"OrConditions": [[]]}});
        assert_eq!(
            search_all(&service, json!({"SearchFilter": untagged}))
                .0
                .len(),
            40
        );

        for (criteria, words) in [
            (condition("name", "CONTAINS", "P"), "2 to 25"),
            (condition("name", "CONTAINS", &"x".repeat(26)), "2 to 25"),
            (condition("description", "CONTAINS", "s"), "2 to 25"),
            (condition("queueName", "EXACT", "Support"), "FieldName"),
            (
                json!({"AndConditions": [condition("name", "LIKE", "Profile")]}),
                "ComparisonType",
            ),
            (
                json!({"StringCondition": {"FieldName": "name", "ComparisonType": "EXACT"}}),
                "Value",
            ),
        ] {
            let (status, error_type, message) =
                refused(&service, json!({"SearchCriteria": criteria}));
            assert_eq!(
                (status, error_type.as_str()),
                (StatusCode::BAD_REQUEST, "InvalidParameterException"),
                "{criteria}"
            );
            assert!(message.contains(words), "{criteria}: {message}");
        }
        // A single character is fine for EXACT and STARTS_WITH.
        assert_eq!(search(condition("name", "STARTS_WITH", "P")).len(), 40);
    }

    #[test]
    fn denied_operations_answer_access_denied_and_some_profiles_lack_queue_ids() {
        let service = service();
        service.switches.set_denied("SearchRoutingProfiles", true);
        let (status, error_type, message) = refused(&service, json!({}));
        assert_eq!(
            (status, error_type.as_str()),
            (StatusCode::FORBIDDEN, "AccessDeniedException")
        );
        assert!(
            message.starts_with("User: arn:aws:sts::123456789012:assumed-role/")
                && message.contains(
                    "is not authorized to perform: connect:SearchRoutingProfiles on resource: arn:aws:connect:eu-west-2:123456789012:instance/"
                ),
            "{message}"
        );
        let queues = format!("/queues-summary/{INSTANCE}");
        let (status, _, _) =
            super::super::test_support::call(&service, Method::GET, &queues, None, json!({}));
        assert_eq!(status, StatusCode::OK);
        service.switches.set_denied("ListQueues", true);
        let (status, error_type, _) =
            super::super::test_support::call(&service, Method::GET, &queues, None, json!({}));
        assert_eq!(
            (status, error_type.as_deref()),
            (StatusCode::FORBIDDEN, Some("AccessDeniedException"))
        );
        service.switches.set_denied("SearchRoutingProfiles", false);
        assert_eq!(refused(&service, json!({})).0, StatusCode::OK);
        assert_eq!(service.request_count("SearchRoutingProfiles"), 2);
        assert_eq!(service.request_count("ListQueues"), 2);

        service.switches.set_omit_queue_ids_every(Some(3));
        let (profiles, _) = search_all(&service, json!({}));
        for (index, profile) in profiles.iter().enumerate() {
            let omitted = (index + 1) % 3 == 0;
            assert_eq!(
                profile.get("AssociatedQueueIds").is_none(),
                omitted,
                "{index}"
            );
            assert!(profile["NumberOfAssociatedQueues"].as_u64().unwrap() >= 1);
        }
        // Counted in the instance's order, whatever the search selects.
        let one = |name: &str| {
            search_all(
                &service,
                json!({"SearchCriteria": condition("name", "EXACT", name)}),
            )
            .0
        };
        assert!(one("Profile 03")[0].get("AssociatedQueueIds").is_none());
        assert!(one("Profile 04")[0].get("AssociatedQueueIds").is_some());
        service.switches.set_omit_queue_ids_every(None);
        assert!(search_all(&service, json!({}))
            .0
            .iter()
            .all(|p| p.get("AssociatedQueueIds").is_some()));
    }

    /// The size the exporter's directory reads are tested at: 4 pages of SearchRoutingProfiles
    /// at 500, 5 of ListQueues at 1,000.
    #[test]
    fn a_large_directory_builds_quickly_and_pages_as_the_service_does() {
        let started = std::time::Instant::now();
        let world = World::new(
            INSTANCE,
            "eu-west-2",
            "123456789012",
            Size {
                agents: 10_000,
                queues: 5_000,
                routing_profiles: 2_000,
            },
            3,
            1_700_000_000.0,
            1.0,
        );
        eprintln!(
            "built 10,000 agents, 5,000 queues, 2,000 profiles in {:?}",
            started.elapsed()
        );
        let service = Service::new(world, true, Faults::default());
        let (profiles, pages) = search_all(&service, json!({"MaxResults": 500}));
        assert_eq!((profiles.len(), pages), (2_000, 4));
        let ids: BTreeSet<&str> = profiles
            .iter()
            .map(|p| p["RoutingProfileId"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2_000);
        let (queues, pages) = list_all(
            &service,
            &format!("/queues-summary/{INSTANCE}"),
            "QueueSummaryList",
            1000,
        );
        assert_eq!((queues.len(), pages), (5_000, 5));
        let (_, pages) = list_all(
            &service,
            &format!("/routing-profiles-summary/{INSTANCE}"),
            "RoutingProfileSummaryList",
            1000,
        );
        assert_eq!(pages, 2);
        // A realistic spread: several queues a profile, some on more than one channel, every
        // queue served.
        let served: Vec<usize> = profiles
            .iter()
            .map(|p| p["AssociatedQueueIds"].as_array().unwrap().len())
            .collect();
        let mean = served.iter().sum::<usize>() as f64 / served.len() as f64;
        assert!((2.0..6.0).contains(&mean), "{mean} queues a profile");
        assert!(served.iter().filter(|n| **n >= 3).count() > 500);
        let multichannel = profiles
            .iter()
            .filter(|p| {
                p["NumberOfAssociatedQueues"].as_u64().unwrap() as usize
                    > p["AssociatedQueueIds"].as_array().unwrap().len()
            })
            .count();
        assert!(multichannel > 500, "{multichannel} multichannel profiles");
        let covered: BTreeSet<&str> = profiles
            .iter()
            .flat_map(|p| p["AssociatedQueueIds"].as_array().unwrap())
            .map(|q| q.as_str().unwrap())
            .collect();
        assert_eq!(covered.len(), 5_000);
        let users: u64 = profiles
            .iter()
            .map(|p| p["NumberOfAssociatedUsers"].as_u64().unwrap())
            .sum();
        assert_eq!(users, 10_000);
    }
}
