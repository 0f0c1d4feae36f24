//! One Kinesis record of an agent event stream, as Amazon Connect writes it (JSON, the agent
//! event stream data model of the administrator guide), decoded into an [`AgentEvent`].
//!
//! Only what the metrics need is read; every other member, and members Connect adds later,
//! are ignored. A record without the members every agent event has (`EventId`, `EventType`,
//! `EventTimestamp`, `InstanceARN`) is refused with the reason.

use serde::Deserialize;

use crate::model::agent_events::{
    AgentEvent, AgentEventType, ContactStateReached, StatusChange, COUNTED_CONTACT_STATES,
};
use crate::model::api_value;

/// Channels Connect knows today; others are kept as sent.
const CHANNELS: &[&str] = &["VOICE", "CHAT", "TASK", "EMAIL"];

/// Why a record is not an agent event this exporter can read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or JSON of another shape (a contact trace record on the same stream).
    #[error("not an agent event: {0}")]
    NotAnEvent(String),
    /// A member has a value that cannot be what the model says.
    #[error("agent event {event_id}: {problem}")]
    Invalid {
        /// The event's `EventId`.
        event_id: String,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "EventId")]
    event_id: String,
    #[serde(rename = "EventType")]
    event_type: &'a str,
    #[serde(rename = "EventTimestamp")]
    event_timestamp: &'a str,
    #[serde(rename = "InstanceARN")]
    instance_arn: &'a str,
    #[serde(rename = "CurrentAgentSnapshot", default)]
    current: Option<RawSnapshot>,
    #[serde(rename = "PreviousAgentSnapshot", default)]
    previous: Option<RawSnapshot>,
}

#[derive(Deserialize)]
struct RawSnapshot {
    #[serde(rename = "AgentStatus", default)]
    status: Option<RawStatus>,
    #[serde(rename = "Configuration", default)]
    configuration: Option<RawConfiguration>,
    #[serde(rename = "Contacts", default)]
    contacts: Option<Vec<RawContact>>,
}

#[derive(Deserialize)]
struct RawStatus {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "StartTimestamp", default)]
    start: Option<String>,
}

#[derive(Deserialize)]
struct RawConfiguration {
    #[serde(rename = "RoutingProfile", default)]
    routing_profile: Option<RawRoutingProfile>,
    #[serde(rename = "AgentHierarchyGroups", default)]
    hierarchy_groups: Option<RawHierarchyGroups>,
}

#[derive(Deserialize)]
struct RawRoutingProfile {
    #[serde(rename = "ARN", default)]
    arn: Option<String>,
    #[serde(rename = "InboundQueues", default)]
    inbound_queues: Option<Vec<RawArn>>,
}

#[derive(Deserialize)]
struct RawHierarchyGroups {
    #[serde(rename = "Level1", default)]
    level1: Option<RawArn>,
    #[serde(rename = "Level2", default)]
    level2: Option<RawArn>,
    #[serde(rename = "Level3", default)]
    level3: Option<RawArn>,
    #[serde(rename = "Level4", default)]
    level4: Option<RawArn>,
    #[serde(rename = "Level5", default)]
    level5: Option<RawArn>,
}

#[derive(Deserialize)]
struct RawArn {
    #[serde(rename = "ARN", default)]
    arn: Option<String>,
}

#[derive(Deserialize)]
struct RawContact {
    #[serde(rename = "ContactId")]
    contact_id: String,
    #[serde(rename = "Channel", default)]
    channel: Option<String>,
    #[serde(rename = "State", default)]
    state: Option<String>,
    #[serde(rename = "Queue", default)]
    queue: Option<RawArn>,
}

/// Decodes one record's data.
pub fn decode(data: &[u8]) -> Result<AgentEvent, DecodeError> {
    let raw: RawEvent<'_> =
        serde_json::from_slice(data).map_err(|error| DecodeError::NotAnEvent(error.to_string()))?;
    let invalid = |problem: String| DecodeError::Invalid {
        event_id: raw.event_id.clone(),
        problem,
    };
    let timestamp = epoch_seconds(raw.event_timestamp).ok_or_else(|| {
        invalid(format!(
            "EventTimestamp {:?} is not an ISO 8601 time",
            raw.event_timestamp
        ))
    })?;
    let instance_id = last_segment(raw.instance_arn, "instance/").ok_or_else(|| {
        invalid(format!(
            "InstanceARN {:?} is not a Connect instance ARN",
            raw.instance_arn
        ))
    })?;
    let configuration = raw
        .current
        .as_ref()
        .and_then(|snapshot| snapshot.configuration.as_ref())
        .or_else(|| raw.previous.as_ref().and_then(|s| s.configuration.as_ref()));
    let profile = configuration.and_then(|c| c.routing_profile.as_ref());
    Ok(AgentEvent {
        event_type: AgentEventType::from_api(raw.event_type),
        timestamp,
        instance_id: instance_id.to_string(),
        routing_profile_id: profile
            .and_then(|p| p.arn.as_deref())
            .and_then(|arn| last_segment(arn, "routing-profile/"))
            .map(str::to_string),
        inbound_queue_ids: profile
            .and_then(|p| p.inbound_queues.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|queue| queue_id(queue.arn.as_deref()))
            .collect(),
        hierarchy_group_ids: configuration
            .and_then(|c| c.hierarchy_groups.as_ref())
            .map(hierarchy_group_ids)
            .unwrap_or_default(),
        status_change: status_change(raw.previous.as_ref(), raw.current.as_ref()),
        contact_states_reached: contact_states_reached(raw.previous.as_ref(), raw.current.as_ref()),
        event_id: raw.event_id,
    })
}

/// The status change between the two snapshots, when both name a status and the names differ.
fn status_change(
    previous: Option<&RawSnapshot>,
    current: Option<&RawSnapshot>,
) -> Option<StatusChange> {
    let before = previous?.status.as_ref()?;
    let after = current?.status.as_ref()?;
    let (from, to) = (before.name.as_ref()?, after.name.as_ref()?);
    if from == to {
        return None;
    }
    let start = |status: &RawStatus| status.start.as_deref().and_then(epoch_seconds);
    let seconds_in_from = match (start(before), start(after)) {
        (Some(began), Some(ended)) if ended >= began => Some(ended - began),
        _ => None,
    };
    Some(StatusChange {
        from: from.clone(),
        to: to.clone(),
        seconds_in_from,
    })
}

/// The current snapshot's contacts that are in a counted state they were not in before.
fn contact_states_reached(
    previous: Option<&RawSnapshot>,
    current: Option<&RawSnapshot>,
) -> Vec<ContactStateReached> {
    fn contacts(snapshot: Option<&RawSnapshot>) -> std::slice::Iter<'_, RawContact> {
        snapshot
            .and_then(|s| s.contacts.as_deref())
            .unwrap_or_default()
            .iter()
    }
    contacts(current)
        .filter_map(|contact| {
            let state = contact.state.as_deref()?;
            let counted = COUNTED_CONTACT_STATES
                .iter()
                .find(|counted| **counted == state)?;
            let before = contacts(previous)
                .find(|earlier| earlier.contact_id == contact.contact_id)
                .and_then(|earlier| earlier.state.as_deref());
            (before != Some(state)).then(|| ContactStateReached {
                channel: api_value(contact.channel.as_deref().unwrap_or(""), CHANNELS),
                state: std::borrow::Cow::Borrowed(*counted),
                queue_id: queue_id(contact.queue.as_ref().and_then(|q| q.arn.as_deref())),
            })
        })
        .collect()
}

fn hierarchy_group_ids(groups: &RawHierarchyGroups) -> Vec<String> {
    [
        &groups.level1,
        &groups.level2,
        &groups.level3,
        &groups.level4,
        &groups.level5,
    ]
    .into_iter()
    .filter_map(|level| level.as_ref()?.arn.as_deref())
    .filter_map(|arn| last_segment(arn, "agent-group/"))
    .map(str::to_string)
    .collect()
}

fn queue_id(arn: Option<&str>) -> Option<String> {
    last_segment(arn?, "queue/").map(str::to_string)
}

/// The resource ID after the last `/`, when `arn` has `marker` (`queue/`, `instance/`, ...)
/// in its resource part: `arn:aws:connect:eu-west-2:123:instance/ID/queue/QID` gives `QID`.
fn last_segment<'a>(arn: &'a str, marker: &str) -> Option<&'a str> {
    let at = arn.rfind(marker)?;
    let id = &arn[at + marker.len()..];
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// An ISO 8601 time with offset (`2019-08-13T20:52:30.704Z`) as epoch seconds.
fn epoch_seconds(text: &str) -> Option<f64> {
    let timestamp: jiff::Timestamp = text.parse().ok()?;
    Some(timestamp.as_millisecond() as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTANCE: &str =
        "arn:aws:connect:us-west-2:012345678901:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111";

    /// The sample of the administrator guide, trimmed: an agent goes from Available to a
    /// custom status while a chat is missed.
    fn sample() -> String {
        format!(
            r#"{{
  "AWSAccountId": "012345678901",
  "AgentARN": "{INSTANCE}/agent/agent-1",
  "CurrentAgentSnapshot": {{
    "AgentStatus": {{"ARN": "{INSTANCE}/agent-state/s2", "Name": "Lunch", "StartTimestamp": "2019-08-13T20:58:00.004Z"}},
    "NextAgentStatus": null,
    "Configuration": {{
      "AgentHierarchyGroups": {{"Level1": {{"ARN": "{INSTANCE}/agent-group/g1", "Name": "EMEA"}}, "Level2": null}},
      "FirstName": "A", "LastName": "B", "Username": "ab",
      "RoutingProfile": {{
        "ARN": "{INSTANCE}/routing-profile/rp-1",
        "Concurrency": [{{"AvailableSlots": 3, "Channel": "CHAT", "MaximumSlots": 3}}],
        "DefaultOutboundQueue": {{"ARN": "{INSTANCE}/queue/q-out", "Channels": ["VOICE"], "Name": "Out"}},
        "InboundQueues": [{{"ARN": "{INSTANCE}/queue/q-1", "Channels": ["CHAT"], "Name": "Support"}}, {{"ARN": "{INSTANCE}/queue/q-2", "Channels": ["VOICE"], "Name": "Sales"}}]
      }}
    }},
    "Contacts": [
      {{"ContactId": "c1", "Channel": "CHAT", "State": "MISSED", "StateStartTimestamp": "2019-08-13T20:58:00.004Z", "Queue": {{"ARN": "{INSTANCE}/queue/q-1", "Name": "Support"}}}},
      {{"ContactId": "c2", "Channel": "VOICE", "State": "ENDED", "Queue": {{"ARN": "{INSTANCE}/queue/q-2"}}}}
    ]
  }},
  "EventId": "477f2c4f-cd1a-4785-b1a8-d1fb44129c4e",
  "EventTimestamp": "2019-08-13T20:58:44.031Z",
  "EventType": "STATE_CHANGE",
  "InstanceARN": "{INSTANCE}",
  "PreviousAgentSnapshot": {{
    "AgentStatus": {{"ARN": "{INSTANCE}/agent-state/s1", "Name": "Available", "StartTimestamp": "2019-08-13T20:52:30.704Z"}},
    "Contacts": [
      {{"ContactId": "c1", "Channel": "CHAT", "State": "CONNECTING"}},
      {{"ContactId": "c2", "Channel": "VOICE", "State": "ENDED"}}
    ]
  }},
  "Version": "2019-05-25",
  "SomethingNew": {{"Connect": "adds members"}}
}}"#
        )
    }

    #[test]
    fn the_guides_sample_gives_the_status_change_and_the_contact_newly_missed() {
        let event = decode(sample().as_bytes()).expect("the sample decodes");
        assert_eq!(event.event_id, "477f2c4f-cd1a-4785-b1a8-d1fb44129c4e");
        assert_eq!(event.event_type, AgentEventType::StateChange);
        assert_eq!(event.instance_id, "aaaaaaaa-bbbb-cccc-dddd-111111111111");
        assert_eq!(event.routing_profile_id.as_deref(), Some("rp-1"));
        assert_eq!(event.inbound_queue_ids, ["q-1", "q-2"]);
        assert_eq!(event.hierarchy_group_ids, ["g1"]);
        assert!((event.timestamp - 1_565_729_924.031).abs() < 1e-6);
        let change = event.status_change.expect("Available to Lunch");
        assert_eq!(
            (change.from.as_str(), change.to.as_str()),
            ("Available", "Lunch")
        );
        let seconds = change.seconds_in_from.expect("both starts given");
        assert!((seconds - 329.3).abs() < 1e-6, "{seconds}");
        // c2 was ENDED already: only c1 reached a counted state with this event.
        assert_eq!(
            event.contact_states_reached,
            [ContactStateReached {
                channel: "CHAT".into(),
                state: "MISSED".into(),
                queue_id: Some("q-1".into()),
            }]
        );
    }

    #[test]
    fn a_login_without_a_previous_snapshot_has_no_change() {
        let text = format!(
            r#"{{"EventId": "e1", "EventType": "LOGIN", "EventTimestamp": "2024-01-01T00:00:00.000Z",
                "InstanceARN": "{INSTANCE}", "PreviousAgentSnapshot": null,
                "CurrentAgentSnapshot": {{"AgentStatus": {{"Name": "Offline"}}, "Contacts": []}}}}"#
        );
        let event = decode(text.as_bytes()).expect("decodes");
        assert_eq!(event.event_type, AgentEventType::Login);
        assert_eq!(event.status_change, None);
        assert!(event.contact_states_reached.is_empty());
        assert_eq!(event.routing_profile_id, None);
    }

    #[test]
    fn records_that_are_not_agent_events_say_why() {
        assert!(matches!(
            decode(b"{not json"),
            Err(DecodeError::NotAnEvent(_))
        ));
        let contact_record = br#"{"ContactId": "c", "Channel": "VOICE"}"#;
        let refused = decode(contact_record).expect_err("no EventId");
        assert!(refused.to_string().contains("EventId"), "{refused}");
        let bad_time = format!(
            r#"{{"EventId": "e2", "EventType": "LOGIN", "EventTimestamp": "yesterday", "InstanceARN": "{INSTANCE}"}}"#
        );
        let refused = decode(bad_time.as_bytes()).expect_err("bad time");
        assert_eq!(
            refused.to_string(),
            "agent event e2: EventTimestamp \"yesterday\" is not an ISO 8601 time"
        );
        let bad_instance = r#"{"EventId": "e3", "EventType": "LOGIN", "EventTimestamp": "2024-01-01T00:00:00Z", "InstanceARN": "arn:aws:connect:x"}"#;
        let refused = decode(bad_instance.as_bytes()).expect_err("bad ARN");
        assert!(refused.to_string().contains("InstanceARN"), "{refused}");
    }

    #[test]
    fn a_status_start_going_backwards_gives_no_duration() {
        let text = format!(
            r#"{{"EventId": "e4", "EventType": "STATE_CHANGE", "EventTimestamp": "2024-01-01T00:00:00Z", "InstanceARN": "{INSTANCE}",
                "PreviousAgentSnapshot": {{"AgentStatus": {{"Name": "Break", "StartTimestamp": "2024-01-01T00:10:00Z"}}}},
                "CurrentAgentSnapshot": {{"AgentStatus": {{"Name": "Available", "StartTimestamp": "2024-01-01T00:05:00Z"}}}}}}"#
        );
        let change = decode(text.as_bytes())
            .expect("decodes")
            .status_change
            .expect("a change");
        assert_eq!(change.seconds_in_from, None);
    }
}
