//! The real exporter (real `aws-sdk-connect` client, real HTTP server) against a Connect
//! stand-in this project did not write: `wiremock` serving frozen GetCurrentUserData data
//! over 127.0.0.1, with the API's queue-filter and paging semantics. Every core gauge must
//! equal what the data says, for a set of 3 queues and a set of 120 (two chunks whose agents
//! overlap).

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{assert_set_matches, scrape_when_up, start_exporter, value, AgentView, ContactView};

const INSTANCE: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// Agents per page: small, so that paging is exercised even with a handful of agents.
const PAGE_SIZE: usize = 2;

fn queue_id(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

struct FixtureContact {
    channel: &'static str,
    state: &'static str,
    queue: usize,
    age_seconds: f64,
}

struct FixtureAgent {
    id: &'static str,
    serves: &'static [usize],
    status: &'static str,
    /// (channel, max, active, available)
    slots: &'static [(&'static str, i64, i64, i64)],
    contacts: Vec<FixtureContact>,
}

fn contact(channel: &'static str, state: &'static str, queue: usize, age: f64) -> FixtureContact {
    FixtureContact {
        channel,
        state,
        queue,
        age_seconds: age,
    }
}

/// The frozen contact centre. Agents straddle the 100-queue chunk boundary of the wide set, one
/// serves neither set, and some values are ones the SDK does not know (VIDEO, PAUSED).
fn agents() -> Vec<FixtureAgent> {
    vec![
        FixtureAgent {
            id: "agent-1",
            serves: &[0, 110],
            status: "Available",
            slots: &[("VOICE", 1, 1, 0), ("CHAT", 2, 1, 1)],
            contacts: vec![
                contact("VOICE", "CONNECTED", 0, 40.0),
                contact("CHAT", "CONNECTING", 110, 5.0),
            ],
        },
        FixtureAgent {
            id: "agent-2",
            serves: &[1],
            status: "Available",
            slots: &[("VOICE", 1, 0, 1)],
            contacts: vec![],
        },
        FixtureAgent {
            id: "agent-3",
            serves: &[105, 115],
            status: "Lunch",
            slots: &[("VOICE", 1, 0, 0), ("CHAT", 3, 0, 0)],
            contacts: vec![],
        },
        FixtureAgent {
            id: "agent-4",
            serves: &[2, 50],
            status: "Available",
            slots: &[("VOICE", 1, 0, 0)],
            contacts: vec![contact("VOICE", "MISSED", 2, 3.0)],
        },
        FixtureAgent {
            id: "agent-5",
            serves: &[125],
            status: "Available",
            slots: &[("VOICE", 1, 1, 0)],
            contacts: vec![contact("VOICE", "CONNECTED", 125, 70.0)],
        },
        FixtureAgent {
            id: "agent-6",
            serves: &[99, 100],
            status: "Available",
            slots: &[("TASK", 2, 1, 1), ("VIDEO", 1, 1, 0)],
            contacts: vec![
                contact("TASK", "CONNECTED", 100, 120.0),
                contact("VIDEO", "PAUSED", 99, 9.0),
            ],
        },
        FixtureAgent {
            id: "agent-7",
            serves: &[0, 1, 2, 119],
            status: "Offline",
            slots: &[],
            contacts: vec![],
        },
        FixtureAgent {
            id: "agent-8",
            serves: &[0],
            status: "Available",
            slots: &[("VOICE", 1, 1, 0), ("CHAT", 2, 2, 0)],
            contacts: vec![
                contact("VOICE", "CONNECTED_ONHOLD", 0, 15.0),
                contact("CHAT", "CONNECTED", 0, 100.0),
                contact("CHAT", "CONNECTED", 1, 60.0),
            ],
        },
    ]
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn user_data_json(agent: &FixtureAgent, at: f64) -> Value {
    let slots = |pick: fn(&(&str, i64, i64, i64)) -> i64| -> Value {
        agent
            .slots
            .iter()
            .map(|slot| (slot.0.to_string(), json!(pick(slot))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    json!({
        "User": {"Id": agent.id, "Arn": format!("arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}/agent/{}", agent.id)},
        "RoutingProfile": {"Id": "rp-1", "Arn": "arn:rp-1"},
        "Status": {"StatusName": agent.status, "StatusArn": "arn:status", "StatusStartTimestamp": at - 300.0},
        "MaxSlotsByChannel": slots(|s| s.1),
        "ActiveSlotsByChannel": slots(|s| s.2),
        "AvailableSlotsByChannel": slots(|s| s.3),
        "Contacts": agent.contacts.iter().enumerate().map(|(n, c)| json!({
            "ContactId": format!("{}-contact-{n}", agent.id),
            "Channel": c.channel,
            "InitiationMethod": "INBOUND",
            "AgentContactState": c.state,
            "StateStartTimestamp": at - c.age_seconds,
            "Queue": {"Id": queue_id(c.queue), "Arn": format!("arn:queue:{}", c.queue)},
        })).collect::<Vec<_>>(),
    })
}

/// GetCurrentUserData with the queue filter's semantics: every agent whose profile serves any
/// of the requested queues, all its contacts, `PAGE_SIZE` per page.
struct UserDataFixture {
    agents: Vec<FixtureAgent>,
    frozen_at: f64,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl Respond for UserDataFixture {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400)
                .insert_header("x-amzn-ErrorType", "SerializationException")
                .set_body_json(json!({"Message": "bad JSON"}));
        };
        self.requests.lock().unwrap().push(body.clone());
        let wanted: BTreeSet<String> = body["Filters"]["Queues"]
            .as_array()
            .map(|queues| {
                queues
                    .iter()
                    .filter_map(|q| q.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let matching: Vec<&FixtureAgent> = self
            .agents
            .iter()
            .filter(|agent| agent.serves.iter().any(|q| wanted.contains(&queue_id(*q))))
            .collect();
        let start: usize = body["NextToken"]
            .as_str()
            .and_then(|token| token.strip_prefix("page-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let end = (start + PAGE_SIZE).min(matching.len());
        let mut response = json!({
            "UserDataList": matching[start..end].iter().map(|a| user_data_json(a, self.frozen_at)).collect::<Vec<_>>(),
            "ApproximateTotalCount": matching.len(),
        });
        if end < matching.len() {
            response["NextToken"] = json!(format!("page-{end}"));
        }
        ResponseTemplate::new(200)
            .insert_header("x-amzn-RequestId", "fixture")
            .set_body_json(response)
    }
}

/// The set's agents as the checker in `common` wants them.
fn views(set: &[usize]) -> Vec<AgentView> {
    agents()
        .iter()
        .filter(|agent| agent.serves.iter().any(|q| set.contains(q)))
        .map(|agent| AgentView {
            status: agent.status.to_string(),
            routing_profile: "rp-1".into(),
            next_status: None,
            status_age_at_reference: 300.0,
            slots: agent
                .slots
                .iter()
                .map(|(c, max, active, available)| (c.to_string(), *max, *active, *available))
                .collect(),
            contacts: agent
                .contacts
                .iter()
                .map(|c| ContactView {
                    queue: queue_id(c.queue),
                    channel: c.channel.to_string(),
                    state: c.state.to_string(),
                    initiation_method: "INBOUND".into(),
                    age_at_reference: c.age_seconds,
                })
                .collect(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_core_gauge_equals_the_frozen_data_for_3_and_120_queues() {
    let server = MockServer::start().await;
    let requests = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path(format!("/metrics/userdata/{INSTANCE}")))
        .respond_with(UserDataFixture {
            agents: agents(),
            frozen_at: now(),
            requests: Arc::clone(&requests),
        })
        .mount(&server)
        .await;

    // The stand-in answers GetCurrentUserData only (the queue backlog is tested against the
    // simulator): queue_metrics is off.
    let small: Vec<usize> = vec![0, 1, 2];
    let wide: Vec<usize> = (0..120).collect();
    let list = |set: &[usize]| {
        set.iter()
            .map(|q| queue_id(*q))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let yaml = format!(
        "instances:\n  - name: prod\n    instance_id: {INSTANCE}\n    region: eu-west-2\n    endpoint_url: {}\n    poll_interval: 1s\n    queue_metrics: false\n    queue_sets:\n      - name: small\n        queues: [{}]\n      - name: wide\n        queues: [{}]\n",
        server.uri(),
        list(&small),
        list(&wide)
    );
    let exporter = start_exporter(&yaml).await;
    let text = scrape_when_up(exporter.address(), &["small", "wide"]).await;
    exporter.stop().await;

    assert_set_matches(&text, "small", &views(&small));
    assert_set_matches(&text, "wide", &views(&wide));

    // Agents 1, 6 and 7 come back from both chunks of the wide set; counted once each.
    assert_eq!(
        value(
            &text,
            "amazon_connect_agents",
            &[("queue_set", "wide"), ("status", "Available")]
        ),
        Some(5.0)
    );
    assert_eq!(
        value(
            &text,
            "amazon_connect_missed_contacts_total",
            &[
                ("queue_set", "small"),
                ("queue", &queue_id(2)),
                ("channel", "voice")
            ]
        ),
        Some(1.0)
    );

    let requests = requests.lock().unwrap();
    assert!(requests.iter().all(|r| r["MaxResults"] == json!(100)));
    let chunk_sizes: BTreeSet<usize> = requests
        .iter()
        .map(|r| r["Filters"]["Queues"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(
        chunk_sizes,
        BTreeSet::from([3, 20, 100]),
        "chunks of at most 100 queues"
    );
    assert!(
        requests.iter().any(|r| r["NextToken"].is_string()),
        "pages after the first were requested"
    );
}
