//! The real transport: GetCurrentUserData, GetCurrentMetricData and the look-ups through
//! `aws-sdk-connect`, with the standard credential chain, optional role assumption and
//! endpoint override. Answers are converted to model data by [`super::convert`].

use aws_sdk_connect::config::http::HttpResponse;
use aws_sdk_connect::config::Credentials;
use aws_sdk_connect::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_connect::primitives::DateTime;
use aws_sdk_connect::types::{
    Channel, CurrentMetric, CurrentMetricName, FilterV2, Filters, Grouping, IntervalDetails,
    IntervalPeriod, MetricFilterV2, MetricV2, ThresholdV2, Unit, UserDataFilters,
};
use aws_sdk_connect::Client;
use futures_util::future::BoxFuture;

use super::attempts::AttemptCounter;
use super::convert::{agent_from_sdk, metric_data_row_from_sdk, queue_metric_row_from_sdk};
use super::pages::{
    ListEntry, ListPage, Listing, Listings, MetricDataPage, MetricDataPages, MetricDataQuery,
    MetricSpec, QueueMetricPage, QueueMetricPages, SearchPage, SearchedProfile, UserDataFilter,
    UserDataPage, UserDataPages, PAGE_SIZE, SEARCH_PAGE_SIZE,
};
use super::request::{RequestError, RequestLog, RequestOutcome, SourceError};
use super::sdk_config::{shared_config, CONNECT_TIMEOUT};
use crate::config::{AgeUnit, Instance};
use crate::model::QueueMetric;

/// Page size of ListQueues, ListRoutingProfiles and ListUsers: the API maximum.
const LIST_PAGE_SIZE: i32 = 1000;

/// GetCurrentUserData for one Connect instance.
#[derive(Debug, Clone)]
pub struct ConnectSource {
    client: Client,
    instance_id: String,
    /// Whether agents keep their hierarchy path (`hierarchy_labels`); memory otherwise.
    keep_hierarchy: bool,
    /// The unit of OLDEST_CONTACT_AGE (`oldest_contact_age_unit`).
    age_unit: AgeUnit,
    /// The instance ARN GetMetricDataV2 takes: from the configuration, or DescribeInstance's
    /// answer, asked once.
    instance_arn: std::sync::Arc<tokio::sync::OnceCell<String>>,
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
        let shared = shared_config(
            &format!("instance {}", instance.name),
            instance.region.as_deref(),
            instance.role_arn.as_deref(),
            credentials,
        )
        .await?;
        let timeouts = aws_sdk_connect::config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(instance.poll_timeout)
            .build();
        // Retries are ours (paging::with_retries), so that every attempt waits for a
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
            age_unit: instance.oldest_contact_age_unit,
            instance_arn: std::sync::Arc::new(tokio::sync::OnceCell::new_with(
                instance.instance_arn.clone(),
            )),
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
    fn search_routing_profiles_page(
        &self,
        next_token: Option<String>,
    ) -> BoxFuture<'_, Result<SearchPage, RequestError>> {
        Box::pin(self.search_page(next_token))
    }

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

impl ConnectSource {
    /// One page of SearchRoutingProfiles, at the largest page size.
    async fn search_page(&self, next_token: Option<String>) -> Result<SearchPage, RequestError> {
        let operation = "SearchRoutingProfiles";
        let output = self
            .client
            .search_routing_profiles()
            .instance_id(&self.instance_id)
            .max_results(SEARCH_PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| request_error(error, operation))?;
        let profiles = output
            .routing_profiles()
            .iter()
            .enumerate()
            .map(|(index, profile)| {
                let id = profile.routing_profile_id().ok_or_else(|| RequestError {
                    outcome: RequestOutcome::MalformedResponse,
                    code: None,
                    message: format!(
                        "{operation}: RoutingProfiles[{index}] has no RoutingProfileId"
                    ),
                })?;
                Ok(SearchedProfile {
                    id: id.to_string(),
                    name: profile.name().map(str::to_string),
                    // The SDK gives an empty list for a missing field; `_is_none` tells them apart.
                    queue_ids: profile.associated_queue_ids.clone(),
                    associated_queues: profile.number_of_associated_queues(),
                })
            })
            .collect::<Result<Vec<_>, RequestError>>()?;
        Ok(SearchPage {
            profiles,
            next_token: output.next_token().map(str::to_string),
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
            let rows = convert_rows(output.metric_results, |result| {
                queue_metric_row_from_sdk(result, self.age_unit)
            })?;
            Ok(QueueMetricPage { rows, next_token })
        })
    }
}

impl MetricDataPages for ConnectSource {
    fn fetch_metric_data<'a>(
        &'a self,
        query: &'a MetricDataQuery<'a>,
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<MetricDataPage, RequestError>> {
        Box::pin(async move {
            let mut request = self
                .client
                .get_metric_data_v2()
                .resource_arn(query.resource_arn)
                .start_time(DateTime::from_secs_f64(query.start))
                .end_time(DateTime::from_secs_f64(query.end))
                .interval(
                    IntervalDetails::builder()
                        .time_zone(query.time_zone)
                        .interval_period(IntervalPeriod::Total)
                        .build(),
                )
                .filters(
                    FilterV2::builder()
                        .filter_key(query.filter_key)
                        .set_filter_values(Some(query.ids.to_vec()))
                        .build(),
                )
                .max_results(PAGE_SIZE)
                .set_next_token(next_token);
            for grouping in query.groupings {
                request = request.groupings(*grouping);
            }
            for metric in query.metrics {
                request = request.metrics(metric_v2(metric));
            }
            let output = request
                .send()
                .await
                .map_err(|error| request_error(error, "GetMetricDataV2"))?;
            let next_token = output.next_token;
            let rows = convert_rows(output.metric_results, metric_data_row_from_sdk)?;
            Ok(MetricDataPage { rows, next_token })
        })
    }

    fn instance_arn(&self) -> BoxFuture<'_, Result<String, RequestError>> {
        Box::pin(async move {
            let arn = self
                .instance_arn
                .get_or_try_init(|| async {
                    let output = self
                        .client
                        .describe_instance()
                        .instance_id(&self.instance_id)
                        .send()
                        .await
                        .map_err(|error| request_error(error, "DescribeInstance"))?;
                    output
                        .instance
                        .and_then(|instance| instance.arn)
                        .ok_or_else(|| RequestError {
                            outcome: RequestOutcome::MalformedResponse,
                            code: None,
                            message: "DescribeInstance answered without Instance.Arn".into(),
                        })
                })
                .await?;
            Ok(arn.clone())
        })
    }
}

/// Converts every entry of a page's `MetricResults`; one that cannot be converted makes the
/// page malformed, naming its index.
fn convert_rows<T, R>(
    results: Option<Vec<T>>,
    convert: impl Fn(T) -> Result<R, String>,
) -> Result<Vec<R>, RequestError> {
    results
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            convert(result).map_err(|problem| RequestError {
                outcome: RequestOutcome::MalformedResponse,
                code: None,
                message: format!("MetricResults[{index}] {problem}"),
            })
        })
        .collect()
}

/// One metric of a request in the SDK's shape.
fn metric_v2(spec: &MetricSpec) -> MetricV2 {
    let mut metric = MetricV2::builder().name(spec.name);
    if let Some((comparison, value)) = spec.threshold {
        metric = metric.threshold(
            ThresholdV2::builder()
                .comparison(comparison)
                .threshold_value(f64::from(value))
                .build(),
        );
    }
    if let Some((key, value)) = spec.metric_filter {
        metric = metric.metric_filters(
            MetricFilterV2::builder()
                .metric_filter_key(key)
                .metric_filter_values(value)
                .build(),
        );
    }
    metric.build()
}

/// Classifies an SDK error of `operation` and words it for the log, with the fix where it is
/// known.
fn request_error<E>(error: SdkError<E, HttpResponse>, operation: &str) -> RequestError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    sdk_request_error(error, operation, Service::Connect)
}

/// The AWS service a request went to, for the hints of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "agent-events"), allow(dead_code))]
pub(crate) enum Service {
    /// Amazon Connect (`connect:` actions).
    Connect,
    /// Kinesis Data Streams (`kinesis:` actions), the agent event stream.
    Kinesis,
}

/// Classifies a failed SDK request of `service` and words it with a hint at the fix where one
/// is known.
pub(crate) fn sdk_request_error<E>(
    error: SdkError<E, HttpResponse>,
    operation: &str,
    service: Service,
) -> RequestError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        // A 2xx that still failed: the body could not be parsed.
        SdkError::ServiceError(context) if context.raw().status().is_success() => RequestError {
            outcome: RequestOutcome::UnreadableResponse,
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
            let hint = error_hint(service, code.as_deref(), operation);
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
            outcome: RequestOutcome::UnreadableResponse,
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

/// What to check for an error `code` of `service`'s `operation`; empty when nothing is known.
fn error_hint(service: Service, code: Option<&str>, operation: &str) -> String {
    match (service, code) {
        (Service::Connect, Some("AccessDeniedException")) => {
            format!(" (the exporter's IAM identity needs connect:{operation} on this instance)")
        }
        (Service::Connect, Some("ResourceNotFoundException")) => {
            " (check the instance_id, region and the queue IDs of this queue set)".into()
        }
        (Service::Connect, Some("ThrottlingException")) => format!(
            " (the account's {operation} rate is used up: poll less often or raise the quota)"
        ),
        (Service::Kinesis, Some("AccessDeniedException")) => format!(
            " (the exporter's IAM identity needs kinesis:{operation} on this stream, and kms:Decrypt on its key when the stream is encrypted with a customer-managed key)"
        ),
        (Service::Kinesis, Some("ResourceNotFoundException")) => {
            " (check agent_events.stream and its region)".into()
        }
        (Service::Kinesis, Some("ProvisionedThroughputExceededException")) => {
            " (the shard's 5 reads a second are shared with every consumer of the stream: raise agent_events.read_interval)".into()
        }
        (Service::Kinesis, Some(kms)) if kms.starts_with("KMS") => {
            " (the stream is encrypted: the exporter's IAM identity needs kms:Decrypt on its key)".into()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
        // Failures are kept beside this file, not in a folder at the project's top level.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::SourceParallel("proptest-regressions"),
        )),
        ..ProptestConfig::with_cases(256)
    })]

        /// A page converts whole, in order, or is malformed naming the first entry that is not
        /// (`None` for a missing `MetricResults` is an empty page).
        #[test]
        fn a_page_converts_whole_or_names_its_first_bad_entry(
            results in prop::option::of(prop::collection::vec(
                prop::result::maybe_ok(any::<i32>(), "\\PC{0,8}"),
                0..8,
            )),
        ) {
            let first_bad = results
                .iter()
                .flatten()
                .position(Result::is_err);
            match convert_rows(results.clone(), |entry: Result<i32, String>| entry) {
                Ok(rows) => {
                    prop_assert!(first_bad.is_none());
                    let expected: Vec<i32> = results.into_iter().flatten().flatten().collect();
                    prop_assert_eq!(rows, expected);
                }
                Err(error) => {
                    let index = first_bad.unwrap_or(usize::MAX);
                    prop_assert_eq!(error.outcome, RequestOutcome::MalformedResponse);
                    let prefix = format!("MetricResults[{index}] ");
                    prop_assert!(error.message.starts_with(&prefix), "{}", error.message);
                }
            }
        }
    }
}
