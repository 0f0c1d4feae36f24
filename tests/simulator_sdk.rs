//! The simulator speaks the real wire format: the official SDK calls every operation it
//! serves, pages through small pages, and gets typed errors with the right codes.

mod common;

use std::collections::BTreeSet;

use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::types::{AgentStatusType, Channel, QueueType, UserDataFilters};
use aws_sdk_connect::Client;
use connect_simulator::RunningSimulator;
use connect_simulator::SimulatorOptions;

async fn start() -> (RunningSimulator, Client) {
    let simulator = common::start_simulator(SimulatorOptions {
        agents: 230,
        queues: 30,
        routing_profiles: 9,
        seed: 3,
        frozen: true,
        ..SimulatorOptions::default()
    })
    .await;
    let client = common::sdk_client(&simulator.endpoint_url());
    (simulator, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_works_through_the_sdk_with_paging() {
    let (simulator, client) = start().await;
    let scenario = simulator.simulator().scenario();
    let instance = scenario.instance_id.clone();

    let mut queues = Vec::new();
    let mut pages = client
        .list_queues()
        .instance_id(&instance)
        .queue_types(QueueType::Standard)
        .max_results(7)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        queues.extend(page.expect("ListQueues page").queue_summary_list().to_vec());
    }
    assert_eq!(queues.len(), scenario.queues.len());
    assert_eq!(queues[0].name(), Some(scenario.queues[0].name.as_str()));
    assert_eq!(queues[0].queue_type(), Some(&QueueType::Standard));

    let profiles = client
        .list_routing_profiles()
        .instance_id(&instance)
        .max_results(4)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListRoutingProfiles");
    assert_eq!(profiles.len(), scenario.routing_profiles.len());

    let profile = &scenario.routing_profiles[0];
    let entries = client
        .list_routing_profile_queues()
        .instance_id(&instance)
        .routing_profile_id(&profile.id)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListRoutingProfileQueues");
    assert_eq!(entries.len(), profile.queues.len());
    assert_eq!(entries[0].queue_id(), profile.queues[0].queue_id);
    assert_eq!(entries[0].channel().as_str(), profile.queues[0].channel);

    let statuses = client
        .list_agent_statuses()
        .instance_id(&instance)
        .agent_status_types(AgentStatusType::Custom)
        .send()
        .await
        .expect("ListAgentStatuses");
    let names: BTreeSet<&str> = statuses
        .agent_status_summary_list()
        .iter()
        .filter_map(|s| s.name())
        .collect();
    assert_eq!(names, BTreeSet::from(["Break", "Lunch", "Training"]));

    let users = client
        .list_users()
        .instance_id(&instance)
        .max_results(50)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListUsers");
    assert_eq!(users.len(), 230);
    assert_eq!(
        users[41].username(),
        Some(scenario.agents[41].username.as_str())
    );

    let groups = client
        .list_user_hierarchy_groups()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListUserHierarchyGroups");
    assert_eq!(
        groups.user_hierarchy_group_summary_list().len(),
        scenario.hierarchy_groups.len()
    );

    // GetCurrentUserData by routing profile returns each agent of the profile once, with
    // timestamps, slots and contacts exactly as simulated.
    let profile_ids: Vec<String> = scenario
        .routing_profiles
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let mut seen = Vec::new();
    let mut pages = client
        .get_current_user_data()
        .instance_id(&scenario.instance_arn)
        .filters(
            UserDataFilters::builder()
                .set_routing_profiles(Some(profile_ids))
                .build(),
        )
        .max_results(13)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        seen.extend(
            page.expect("GetCurrentUserData page")
                .user_data_list()
                .to_vec(),
        );
    }
    assert_eq!(seen.len(), 230);
    for data in &seen {
        let id = data.user().and_then(|u| u.id()).expect("user id");
        let agent = scenario
            .agents
            .iter()
            .find(|a| a.id == id)
            .expect("simulated agent");
        let status = data.status().expect("status");
        assert_eq!(status.status_name(), Some(agent.status_name.as_str()));
        let start = status
            .status_start_timestamp()
            .expect("status start")
            .as_secs_f64();
        assert!((start - agent.status_start).abs() < 0.001);
        let max: std::collections::BTreeMap<String, i32> = data
            .max_slots_by_channel()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_string(), *v))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(max, agent.max_slots);
        assert_eq!(data.contacts().len(), agent.contacts.len());
        for (got, want) in data.contacts().iter().zip(&agent.contacts) {
            assert_eq!(got.contact_id(), Some(want.contact_id.as_str()));
            assert_eq!(
                got.agent_contact_state().map(|s| s.as_str()),
                Some(want.state.as_str())
            );
            let channel = got.channel().map(|c| c.as_str()).unwrap_or_default();
            assert!(
                Channel::values().contains(&channel),
                "the SDK knows {channel:?}"
            );
            assert_eq!(
                got.queue().and_then(|q| q.id()),
                Some(want.queue_id.as_str())
            );
        }
    }
    assert_eq!(
        simulator.simulator().request_count("GetCurrentUserData"),
        18
    );
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_reach_the_sdk_with_their_codes() {
    let (simulator, client) = start().await;
    let instance = simulator.simulator().instance_id().to_string();

    let too_many: Vec<String> = (0..101)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    let error = client
        .get_current_user_data()
        .instance_id(&instance)
        .filters(
            UserDataFilters::builder()
                .set_queues(Some(too_many))
                .build(),
        )
        .send()
        .await
        .expect_err("101 queues are refused");
    let service_error = error.into_service_error();
    assert!(
        service_error.is_invalid_parameter_exception(),
        "{service_error:?}"
    );
    assert!(service_error
        .message()
        .is_some_and(|m| m.contains("Queues takes 1 to 100")));

    let error = client
        .get_current_user_data()
        .instance_id("11111111-2222-4333-8444-555555555555")
        .filters(
            UserDataFilters::builder()
                .set_agents(Some(vec!["x".into()]))
                .build(),
        )
        .send()
        .await
        .expect_err("unknown instance");
    assert!(error.into_service_error().is_resource_not_found_exception());

    let error = client
        .list_routing_profile_queues()
        .instance_id(&instance)
        .routing_profile_id("no-such-profile")
        .send()
        .await
        .expect_err("unknown profile");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    simulator.stop().await;
}
