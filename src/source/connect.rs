//! The real source: GetCurrentUserData and the planner's look-ups through `aws-sdk-connect`, with the standard credential
//! chain, optional role assumption and endpoint override.

use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_config::BehaviorVersion;
use aws_sdk_connect::config::http::HttpResponse;
use aws_sdk_connect::config::{Credentials, Region, SharedCredentialsProvider};
use aws_sdk_connect::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_connect::primitives::DateTime;
use aws_sdk_connect::types::{
    Channel, ContactInitiationMethod, ContactState, CurrentMetric, CurrentMetricName,
    CurrentMetricResult, Filters, Grouping, Unit, UserData, UserDataFilters,
};
use aws_sdk_connect::Client;
use futures_util::future::BoxFuture;

use super::attempts::AttemptCounter;
use super::{
    ListEntry, ListPage, Listing, Listings, QueueMetricPage, QueueMetricPages, RequestError,
    RequestLog, RequestOutcome, SourceError, UserDataFilter, UserDataPage, UserDataPages,
    PAGE_SIZE,
};
use crate::config::Instance;
use crate::model::{
    api_value, AgentRecord, ContactRecord, QueueMetric, QueueMetricRow, SlotsByChannel,
};

/// Connecting to the API should never take long; a slow connect is a network problem.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Page size of ListQueues, ListRoutingProfiles and ListUsers: the API maximum.
const LIST_PAGE_SIZE: i32 = 1000;
/// Session name for assumed roles, visible in the customer's CloudTrail.
const ROLE_SESSION_NAME: &str = "amazon-connect-exporter";

/// GetCurrentUserData for one Connect instance.
#[derive(Debug, Clone)]
pub struct ConnectSource {
    client: Client,
    instance_id: String,
    /// Whether agents keep their hierarchy path (`hierarchy_labels`); memory otherwise.
    keep_hierarchy: bool,
}

impl ConnectSource {
    /// Builds the SDK client for `instance`: its region (or the SDK's region chain), endpoint
    /// override, role, and the poll timeout as the operation timeout. `credentials` replaces the
    /// credential chain (the demo's static test keys). Every attempt is recorded in `requests`.
    pub async fn new(
        instance: &Instance,
        credentials: Option<Credentials>,
        requests: RequestLog,
    ) -> Result<Self, SourceError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &instance.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(credentials) = credentials {
            loader = loader.credentials_provider(credentials);
        }
        let mut shared = loader.load().await;
        if shared.region().is_none() {
            return Err(SourceError::Setup(format!(
                "instance {}: no AWS region; set `region` in the configuration or AWS_REGION in the environment",
                instance.name
            )));
        }
        if let Some(role_arn) = &instance.role_arn {
            let provider = AssumeRoleProvider::builder(role_arn.clone())
                .session_name(ROLE_SESSION_NAME)
                .configure(&shared)
                .build()
                .await;
            shared = shared
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }
        let timeouts = aws_sdk_connect::config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(instance.poll_timeout)
            .build();
        // Retries are ours (source::fetch_with_retries), so that every attempt waits for a
        // token of the shared request budget and backs off within the poll's deadline.
        let mut config = aws_sdk_connect::config::Builder::from(&shared)
            .retry_config(aws_sdk_connect::config::retry::RetryConfig::disabled())
            .timeout_config(timeouts)
            .interceptor(AttemptCounter::new(requests));
        if let Some(url) = &instance.endpoint_url {
            config = config.endpoint_url(url.clone());
        }
        Ok(Self {
            client: Client::from_conf(config.build()),
            instance_id: instance.instance_id.clone(),
            keep_hierarchy: instance.hierarchy_labels,
        })
    }
}

impl UserDataPages for ConnectSource {
    fn fetch_page<'a>(
        &'a self,
        filter: UserDataFilter<'a>,
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<UserDataPage, RequestError>> {
        Box::pin(async move {
            let filters = match filter {
                UserDataFilter::Queues(ids) => {
                    UserDataFilters::builder().set_queues(Some(ids.to_vec()))
                }
                UserDataFilter::RoutingProfiles(ids) => {
                    UserDataFilters::builder().set_routing_profiles(Some(ids.to_vec()))
                }
                UserDataFilter::UserHierarchyGroups(ids) => {
                    UserDataFilters::builder().set_user_hierarchy_groups(Some(ids.to_vec()))
                }
            }
            .build();
            let output = self
                .client
                .get_current_user_data()
                .instance_id(&self.instance_id)
                .filters(filters)
                .max_results(PAGE_SIZE)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|error| request_error(error, "GetCurrentUserData"))?;
            // Taken apart rather than copied: the records keep the strings the SDK allocated.
            let next_token = output.next_token;
            let agents = output
                .user_data_list
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(index, user)| {
                    agent_from_sdk(user, self.keep_hierarchy).map_err(|problem| RequestError {
                        outcome: RequestOutcome::MalformedResponse,
                        code: None,
                        message: format!("UserDataList[{index}] {problem}"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(UserDataPage { agents, next_token })
        })
    }
}

/// Sends one page of a List* summary operation (instance ID, the largest page, the token) and
/// classifies a failure: the four operations differ only in their SDK builder's type.
macro_rules! send_list_page {
    ($source:expr, $operation:ident, $next_token:expr, $name:expr) => {
        $source
            .client
            .$operation()
            .instance_id(&$source.instance_id)
            .max_results(LIST_PAGE_SIZE)
            .set_next_token($next_token)
            .send()
            .await
            .map_err(|error| request_error(error, $name))?
    };
}

impl Listings for ConnectSource {
    fn list_page<'a>(
        &'a self,
        listing: Listing<'a>,
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<ListPage, RequestError>> {
        let operation = listing.operation();
        Box::pin(async move {
            match listing {
                Listing::Queues => {
                    let output = send_list_page!(self, list_queues, next_token, operation);
                    summary_page(
                        operation,
                        output.queue_summary_list(),
                        output.next_token(),
                        |queue| {
                            let queue_type = queue.queue_type().map(|t| t.as_str().to_string());
                            (queue.id(), queue.name(), queue_type)
                        },
                    )
                }
                Listing::RoutingProfiles => {
                    let output =
                        send_list_page!(self, list_routing_profiles, next_token, operation);
                    summary_page(
                        operation,
                        output.routing_profile_summary_list(),
                        output.next_token(),
                        |profile| (profile.id(), profile.name(), None),
                    )
                }
                Listing::Users => {
                    let output = send_list_page!(self, list_users, next_token, operation);
                    summary_page(
                        operation,
                        output.user_summary_list(),
                        output.next_token(),
                        |user| (user.id(), user.username(), None),
                    )
                }
                Listing::HierarchyGroups => {
                    let output =
                        send_list_page!(self, list_user_hierarchy_groups, next_token, operation);
                    summary_page(
                        operation,
                        output.user_hierarchy_group_summary_list(),
                        output.next_token(),
                        |group| (group.id(), group.name(), None),
                    )
                }
                Listing::RoutingProfileQueues(profile) => {
                    let output = self
                        .client
                        .list_routing_profile_queues()
                        .instance_id(&self.instance_id)
                        .routing_profile_id(profile)
                        .max_results(PAGE_SIZE)
                        .set_next_token(next_token)
                        .send()
                        .await
                        .map_err(|error| request_error(error, operation))?;
                    Ok(ListPage {
                        entries: output
                            .routing_profile_queue_config_summary_list()
                            .iter()
                            .map(|queue| ListEntry::named(queue.queue_id(), queue.queue_name()))
                            .collect(),
                        next_token: output.next_token().map(str::to_string),
                    })
                }
            }
        })
    }
}

/// One page of a List* summary answer: `fields` gives each item's ID (required: an entry
/// without one is malformed), name and queue type.
fn summary_page<T>(
    operation: &str,
    items: &[T],
    next_token: Option<&str>,
    fields: impl Fn(&T) -> (Option<&str>, Option<&str>, Option<String>),
) -> Result<ListPage, RequestError> {
    let entries = items
        .iter()
        .map(|item| {
            let (id, name, queue_type) = fields(item);
            Ok(ListEntry {
                id: id
                    .ok_or_else(|| RequestError {
                        outcome: RequestOutcome::MalformedResponse,
                        code: None,
                        message: format!("{operation}: an entry has no Id"),
                    })?
                    .to_string(),
                name: name.map(str::to_string),
                queue_type,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(ListPage {
        entries,
        next_token: next_token.map(str::to_string),
    })
}

/// The channels GetCurrentMetricData reports on: it accepts at most these three in its filter
/// (email and other newer channels are not offered by the operation).
const METRIC_CHANNELS: [Channel; 3] = [Channel::Voice, Channel::Chat, Channel::Task];

impl QueueMetricPages for ConnectSource {
    fn fetch_queue_metrics<'a>(
        &'a self,
        queue_ids: &'a [String],
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<QueueMetricPage, RequestError>> {
        Box::pin(async move {
            let filters = Filters::builder()
                .set_queues(Some(queue_ids.to_vec()))
                .set_channels(Some(METRIC_CHANNELS.to_vec()))
                .build();
            let metrics = QueueMetric::ALL
                .into_iter()
                .map(|metric| {
                    CurrentMetric::builder()
                        .name(CurrentMetricName::from(metric.api_name()))
                        .unit(if metric.is_seconds() {
                            Unit::Seconds
                        } else {
                            Unit::Count
                        })
                        .build()
                })
                .collect();
            let output = self
                .client
                .get_current_metric_data()
                .instance_id(&self.instance_id)
                .filters(filters)
                .groupings(Grouping::Queue)
                .groupings(Grouping::Channel)
                .set_current_metrics(Some(metrics))
                .max_results(PAGE_SIZE)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|error| request_error(error, "GetCurrentMetricData"))?;
            let next_token = output.next_token;
            let rows = output
                .metric_results
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(index, result)| {
                    queue_metric_row_from_sdk(result).map_err(|problem| RequestError {
                        outcome: RequestOutcome::MalformedResponse,
                        code: None,
                        message: format!("MetricResults[{index}] {problem}"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(QueueMetricPage { rows, next_token })
        })
    }
}

/// Converts one row of GetCurrentMetricData grouped by queue and channel. The queue and the
/// channel are required (without them the numbers belong nowhere); a metric sent as null is
/// left out, and one the exporter did not ask for is ignored.
///
/// `OLDEST_CONTACT_AGE` comes back in milliseconds when the request is grouped (always, here)
/// although its unit says SECONDS; it is converted to seconds.
pub fn queue_metric_row_from_sdk(result: CurrentMetricResult) -> Result<QueueMetricRow, String> {
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
            value / 1000.0
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

/// Classifies an SDK error of `operation` and words it for the log, with the fix where it is
/// known.
fn request_error<E>(error: SdkError<E, HttpResponse>, operation: &str) -> RequestError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        // A 2xx that still failed: the body could not be parsed.
        SdkError::ServiceError(context) if context.raw().status().is_success() => RequestError {
            outcome: RequestOutcome::MalformedResponse,
            code: None,
            message: format!(
                "unreadable response (HTTP {}): {}",
                context.raw().status().as_u16(),
                DisplayErrorContext(&error)
            ),
        },
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().map(str::to_string);
            let outcome = RequestOutcome::from_status(status, code.as_deref());
            let hint = match code.as_deref() {
                Some("AccessDeniedException") => format!(
                    " (the exporter's IAM identity needs connect:{operation} on this instance)"
                ),
                Some("ResourceNotFoundException") => {
                    " (check the instance_id, region and the queue IDs of this queue set)".into()
                }
                Some("ThrottlingException") => format!(
                    " (the account's {operation} rate is used up: poll less often or raise the quota)"
                ),
                _ => String::new(),
            };
            RequestError {
                message: format!(
                    "{} (HTTP {status}): {}{hint}",
                    code.as_deref().unwrap_or("unnamed error"),
                    context.err().message().unwrap_or("no message"),
                ),
                outcome,
                code,
            }
        }
        SdkError::TimeoutError(_) => RequestError {
            outcome: RequestOutcome::Timeout,
            code: None,
            message: "no answer within the poll timeout".into(),
        },
        SdkError::DispatchFailure(failure) => RequestError {
            outcome: if failure.is_timeout() {
                RequestOutcome::Timeout
            } else {
                RequestOutcome::NetworkError
            },
            code: None,
            message: format!("request not delivered: {}", DisplayErrorContext(&error)),
        },
        SdkError::ResponseError(_) => RequestError {
            outcome: RequestOutcome::MalformedResponse,
            code: None,
            message: format!("unreadable response: {}", DisplayErrorContext(&error)),
        },
        _ => RequestError {
            outcome: RequestOutcome::ClientError,
            code: None,
            message: format!("request not built: {}", DisplayErrorContext(&error)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_connect::types::{
        AgentContactReference, AgentStatusReference, ContactInitiationMethod, ContactState,
        QueueReference, UserReference,
    };

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
            .collections(data("OLDEST_CONTACT_AGE", Unit::Seconds, Some(24_113.0)))
            .collections(data("ESTIMATED_WAIT_TIME", Unit::Seconds, None))
            .collections(data("SOMETHING_NEW", Unit::Count, Some(1.0)))
            .build();
        let row = queue_metric_row_from_sdk(result).unwrap();
        assert_eq!(row.queue_id, "q1");
        assert_eq!(row.channel, "CHAT");
        assert_eq!(
            row.values,
            vec![
                (QueueMetric::ContactsInQueue, 3.0),
                (QueueMetric::OldestContactAge, 24.113),
            ]
        );
        let no_queue = CurrentMetricResult::builder()
            .dimensions(Dimensions::builder().channel(Channel::Voice).build())
            .build();
        assert_eq!(
            queue_metric_row_from_sdk(no_queue).unwrap_err(),
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
