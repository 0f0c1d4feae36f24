//! SDK answers to model data: one agent of GetCurrentUserData, one row of
//! GetCurrentMetricData. Values newer than the SDK are kept as sent; a missing required field
//! is an error that names it.

use aws_sdk_connect::primitives::DateTime;
use aws_sdk_connect::types::{
    Channel, ContactInitiationMethod, ContactState, CurrentMetricResult, MetricResultV2, UserData,
};

use super::pages::{MetricDataRow, MetricDataValue};

use crate::config::AgeUnit;
use crate::model::{
    api_value, AgentRecord, ContactRecord, QueueMetric, QueueMetricRow, SlotsByChannel,
};

/// Converts one row of GetCurrentMetricData grouped by queue and channel. The queue and the
/// channel are required (without them the numbers belong nowhere); a metric sent as null is
/// left out, and one the exporter did not ask for is ignored.
///
/// `OLDEST_CONTACT_AGE` of a grouped request (always, here) is in seconds by the current service
/// model; `age_unit` says otherwise for an account that sees milliseconds, and is converted.
pub fn queue_metric_row_from_sdk(
    result: CurrentMetricResult,
    age_unit: AgeUnit,
) -> Result<QueueMetricRow, String> {
    let dimensions = result.dimensions.ok_or("has no Dimensions")?;
    let queue_id = dimensions
        .queue
        .and_then(|queue| queue.id)
        .ok_or("has no Dimensions.Queue.Id")?;
    let channel = dimensions
        .channel
        .ok_or_else(|| format!("(queue {queue_id}) has no Dimensions.Channel"))?;
    let mut values = Vec::with_capacity(QueueMetric::ALL.len());
    for (index, data) in result
        .collections
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let name = data
            .metric
            .and_then(|metric| metric.name)
            .ok_or_else(|| format!("(queue {queue_id}) Collections[{index}] has no Metric.Name"))?;
        let (Some(metric), Some(value)) = (QueueMetric::from_api_name(name.as_str()), data.value)
        else {
            continue;
        };
        if !value.is_finite() {
            return Err(format!(
                "(queue {queue_id}) Collections[{index}] {} is {value}",
                metric.api_name()
            ));
        }
        let value = if metric == QueueMetric::OldestContactAge {
            value * age_unit.seconds()
        } else {
            value
        };
        values.push((metric, value));
    }
    Ok(QueueMetricRow {
        queue_id,
        channel: api_value(channel.as_str(), Channel::values()),
        values,
    })
}

/// Converts one `UserData`, keeping its strings. Fields every agent has are required: a
/// response without them is malformed, and guessing would publish wrong numbers. The
/// hierarchy path is kept only `with_hierarchy`.
pub fn agent_from_sdk(user: UserData, with_hierarchy: bool) -> Result<AgentRecord, String> {
    let user_id = user
        .user
        .and_then(|reference| reference.id)
        .ok_or("has no User.Id")?;
    let status = user
        .status
        .ok_or_else(|| format!("(user {user_id}) has no Status"))?;
    let status_name = status
        .status_name
        .ok_or_else(|| format!("(user {user_id}) has no Status.StatusName"))?;
    let contacts = user
        .contacts
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, contact)| {
            let field = |name: &str| format!("(user {user_id}) Contacts[{index}] has no {name}");
            Ok(ContactRecord {
                contact_id: contact.contact_id.ok_or_else(|| field("ContactId"))?,
                channel: api_value(
                    contact.channel.ok_or_else(|| field("Channel"))?.as_str(),
                    Channel::values(),
                ),
                state: api_value(
                    contact
                        .agent_contact_state
                        .ok_or_else(|| field("AgentContactState"))?
                        .as_str(),
                    ContactState::values(),
                ),
                initiation_method: contact
                    .initiation_method
                    .map(|method| api_value(method.as_str(), ContactInitiationMethod::values())),
                queue_id: contact.queue.and_then(|queue| queue.id),
                state_start: contact.state_start_timestamp.as_ref().map(epoch_seconds),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let hierarchy_path = match user.hierarchy_path.filter(|_| with_hierarchy) {
        Some(path) => [
            path.level_one,
            path.level_two,
            path.level_three,
            path.level_four,
            path.level_five,
        ]
        .into_iter()
        .map_while(|level| level.and_then(|group| group.id))
        .collect(),
        None => Vec::new(),
    };
    Ok(AgentRecord {
        hierarchy_path,
        status_start: status.status_start_timestamp.as_ref().map(epoch_seconds),
        next_status: user.next_status,
        routing_profile_id: user.routing_profile.and_then(|profile| profile.id),
        available_slots: slots(user.available_slots_by_channel),
        active_slots: slots(user.active_slots_by_channel),
        max_slots: slots(user.max_slots_by_channel),
        user_id,
        status_name,
        contacts,
    })
}

fn slots(map: Option<std::collections::HashMap<Channel, i32>>) -> SlotsByChannel {
    let map = map.unwrap_or_default();
    let mut slots = Vec::with_capacity(map.len());
    for (channel, count) in map {
        slots.push((
            api_value(channel.as_str(), Channel::values()),
            i64::from(count),
        ));
    }
    slots
}

fn epoch_seconds(time: &DateTime) -> f64 {
    time.as_secs_f64()
}

/// Converts one row of GetMetricDataV2: its dimensions sorted by key, each collection's metric
/// (name, threshold, metric filters) and value, `None` where the service sent null. A
/// collection without its metric's name is an error: its value would belong nowhere.
pub fn metric_data_row_from_sdk(result: MetricResultV2) -> Result<MetricDataRow, String> {
    let mut dimensions: Vec<(String, String)> =
        result.dimensions.unwrap_or_default().into_iter().collect();
    dimensions.sort();
    let values = result
        .collections
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, data)| {
            let metric = data
                .metric
                .ok_or_else(|| format!("has Collections[{index}] without Metric"))?;
            let name = metric
                .name
                .ok_or_else(|| format!("has Collections[{index}].Metric without Name"))?;
            let threshold = metric
                .threshold
                .unwrap_or_default()
                .first()
                .and_then(|threshold| threshold.threshold_value);
            let metric_filters = metric
                .metric_filters
                .unwrap_or_default()
                .into_iter()
                .map(|filter| {
                    (
                        filter.metric_filter_key.unwrap_or_default(),
                        filter.metric_filter_values.unwrap_or_default(),
                    )
                })
                .collect();
            Ok(MetricDataValue {
                name,
                threshold,
                metric_filters,
                value: data.value.filter(|value| value.is_finite()),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(MetricDataRow { dimensions, values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_connect::types::{
        AgentContactReference, AgentStatusReference, ContactInitiationMethod, ContactState,
        QueueReference, UserReference,
    };
    use aws_sdk_connect::types::{CurrentMetric, CurrentMetricName, Unit};

    fn group(id: &str) -> aws_sdk_connect::types::HierarchyGroupSummaryReference {
        aws_sdk_connect::types::HierarchyGroupSummaryReference::builder()
            .id(id)
            .build()
    }

    fn user() -> aws_sdk_connect::types::builders::UserDataBuilder {
        UserData::builder()
            .user(UserReference::builder().id("u1").build())
            .status(
                AgentStatusReference::builder()
                    .status_name("Available")
                    .status_start_timestamp(DateTime::from_secs_f64(1_700_000_000.5))
                    .build(),
            )
    }

    #[test]
    fn converts_slots_contacts_and_unknown_enum_values() {
        let data = user()
            .available_slots_by_channel(Channel::Voice, 0)
            .available_slots_by_channel(Channel::from("VIDEO"), 2)
            .max_slots_by_channel(Channel::Voice, 1)
            .next_status("Lunch")
            .hierarchy_path(
                aws_sdk_connect::types::HierarchyPathReference::builder()
                    .level_one(group("g1"))
                    .level_two(group("g2"))
                    .build(),
            )
            .contacts(
                AgentContactReference::builder()
                    .contact_id("c1")
                    .channel(Channel::Voice)
                    .agent_contact_state(ContactState::from("WRAPPING_UP"))
                    .initiation_method(ContactInitiationMethod::from("HOLOGRAM"))
                    .queue(QueueReference::builder().id("q1").build())
                    .state_start_timestamp(DateTime::from_secs(1_700_000_010))
                    .build(),
            )
            .build();
        let agent = agent_from_sdk(data.clone(), true).unwrap();
        assert_eq!(agent.hierarchy_path, vec!["g1".to_string(), "g2".into()]);
        assert!(
            agent_from_sdk(data.clone(), false)
                .unwrap()
                .hierarchy_path
                .is_empty(),
            "not kept unless asked for"
        );
        assert_eq!(agent.user_id, "u1");
        assert_eq!(agent.status_start, Some(1_700_000_000.5));
        assert_eq!(agent.next_status.as_deref(), Some("Lunch"));
        let count = |slots: &SlotsByChannel, channel: &str| {
            slots
                .iter()
                .find(|(name, _)| name == channel)
                .map(|(_, count)| *count)
        };
        assert_eq!(count(&agent.available_slots, "VIDEO"), Some(2));
        assert_eq!(count(&agent.available_slots, "VOICE"), Some(0));
        assert_eq!(count(&agent.max_slots, "VOICE"), Some(1));
        assert_eq!(agent.available_slots.len(), 2);
        assert!(agent.active_slots.is_empty());
        let contact = &agent.contacts[0];
        assert_eq!(contact.state, "WRAPPING_UP");
        assert_eq!(contact.initiation_method.as_deref(), Some("HOLOGRAM"));
        assert_eq!(contact.queue_id.as_deref(), Some("q1"));
        assert_eq!(contact.state_start, Some(1_700_000_010.0));
    }

    #[test]
    fn queue_metric_rows_convert_milliseconds_and_leave_nulls_out() {
        use aws_sdk_connect::types::{CurrentMetricData, Dimensions};
        let data = |name: &str, unit: Unit, value: Option<f64>| {
            CurrentMetricData::builder()
                .metric(
                    CurrentMetric::builder()
                        .name(CurrentMetricName::from(name))
                        .unit(unit)
                        .build(),
                )
                .set_value(value)
                .build()
        };
        let result = CurrentMetricResult::builder()
            .dimensions(
                Dimensions::builder()
                    .queue(QueueReference::builder().id("q1").build())
                    .channel(Channel::Chat)
                    .build(),
            )
            .collections(data("CONTACTS_IN_QUEUE", Unit::Count, Some(3.0)))
            .collections(data("OLDEST_CONTACT_AGE", Unit::Seconds, Some(24.113)))
            .collections(data("ESTIMATED_WAIT_TIME", Unit::Seconds, None))
            .collections(data("SOMETHING_NEW", Unit::Count, Some(1.0)))
            .build();
        let mut in_millis = result.clone();
        let row = queue_metric_row_from_sdk(result, AgeUnit::Seconds).unwrap();
        assert_eq!(row.queue_id, "q1");
        assert_eq!(row.channel, "CHAT");
        assert_eq!(
            row.values,
            vec![
                (QueueMetric::ContactsInQueue, 3.0),
                (QueueMetric::OldestContactAge, 24.113),
            ]
        );
        // An account that sees the old behaviour configures milliseconds.
        if let Some(collections) = in_millis.collections.as_mut() {
            collections[1] = data("OLDEST_CONTACT_AGE", Unit::Seconds, Some(24_113.0));
        }
        let row = queue_metric_row_from_sdk(in_millis, AgeUnit::Milliseconds).unwrap();
        assert_eq!(row.values[1], (QueueMetric::OldestContactAge, 24.113));
        let no_queue = CurrentMetricResult::builder()
            .dimensions(Dimensions::builder().channel(Channel::Voice).build())
            .build();
        assert_eq!(
            queue_metric_row_from_sdk(no_queue, AgeUnit::Seconds).unwrap_err(),
            "has no Dimensions.Queue.Id"
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        let no_user = UserData::builder().build();
        assert_eq!(
            agent_from_sdk(no_user, false).unwrap_err(),
            "has no User.Id"
        );
        let no_state = user()
            .contacts(
                AgentContactReference::builder()
                    .contact_id("c1")
                    .channel(Channel::Chat)
                    .build(),
            )
            .build();
        assert_eq!(
            agent_from_sdk(no_state, false).unwrap_err(),
            "(user u1) Contacts[0] has no AgentContactState"
        );
    }
}

#[cfg(test)]
mod properties;
