//! The transport of each operation as a small trait ([`UserDataPages`], [`QueueMetricPages`],
//! [`Listings`]) returning one page of plain data: [`super::ConnectSource`] is the real one on
//! the SDK; tests swap in fixtures.

use futures_util::future::BoxFuture;

use super::request::RequestError;
use crate::model::{AgentRecord, QueueMetricRow};

/// GetCurrentUserData accepts at most this many queues in one filter.
pub const MAX_QUEUES_PER_REQUEST: usize = 100;
/// Page size asked for; the API maximum.
pub const PAGE_SIZE: i32 = 100;
/// One page of GetCurrentUserData, converted to plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserDataPage {
    /// The agents on this page.
    pub agents: Vec<AgentRecord>,
    /// The token of the next page; `None` on the last.
    pub next_token: Option<String>,
}

/// One page of GetCurrentMetricData grouped by queue and channel, converted to plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueMetricPage {
    /// One row per (queue, channel) on this page.
    pub rows: Vec<QueueMetricRow>,
    /// The token of the next page; `None` on the last.
    pub next_token: Option<String>,
}

/// What a GetCurrentUserData request is filtered by: at most 100 IDs of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDataFilter<'a> {
    /// Agents whose routing profile serves any of these queues.
    Queues(&'a [String]),
    /// Agents with any of these routing profiles.
    RoutingProfiles(&'a [String]),
    /// Agents of this user hierarchy group (exactly one), as the API's filter selects them.
    UserHierarchyGroups(&'a [String]),
}

impl<'a> UserDataFilter<'a> {
    /// The IDs filtered by.
    pub fn ids(&self) -> &'a [String] {
        match self {
            Self::Queues(ids) | Self::RoutingProfiles(ids) | Self::UserHierarchyGroups(ids) => ids,
        }
    }

    /// What the IDs are, for messages.
    pub fn noun(&self) -> &'static str {
        match self {
            Self::Queues(_) => "queues",
            Self::RoutingProfiles(_) => "routing profiles",
            Self::UserHierarchyGroups(_) => "hierarchy groups",
        }
    }
}

/// Fetches pages of GetCurrentUserData.
pub trait UserDataPages: Send + Sync {
    /// Fetches one page for `filter` (at most [`MAX_QUEUES_PER_REQUEST`] IDs).
    fn fetch_page<'a>(
        &'a self,
        filter: UserDataFilter<'a>,
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<UserDataPage, RequestError>>;
}

/// A look-up the request planner needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing<'a> {
    /// ListQueues: every queue ID of the instance.
    Queues,
    /// ListRoutingProfiles: every routing profile ID.
    RoutingProfiles,
    /// ListRoutingProfileQueues: the queue IDs one routing profile serves.
    RoutingProfileQueues(&'a str),
    /// ListUsers: every user ID with its login name.
    Users,
    /// ListUserHierarchyGroups: every hierarchy group ID with its name.
    HierarchyGroups,
}

impl Listing<'_> {
    /// The API operation.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Queues => "ListQueues",
            Self::RoutingProfiles => "ListRoutingProfiles",
            Self::RoutingProfileQueues(_) => "ListRoutingProfileQueues",
            Self::Users => "ListUsers",
            Self::HierarchyGroups => "ListUserHierarchyGroups",
        }
    }
}

/// One entry of a listing: an ID and, where the API gives one, its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListEntry {
    /// The resource's ID.
    pub id: String,
    /// Its name; `None` where the API leaves it out (agent queues have none).
    pub name: Option<String>,
    /// `QueueType` of a ListQueues entry (`STANDARD`, `AGENT`); `None` elsewhere.
    pub queue_type: Option<String>,
}

impl ListEntry {
    /// An entry with a name.
    pub fn named(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: Some(name.into()),
            queue_type: None,
        }
    }
}

/// One page of a listing: entries, possibly repeated (a queue is listed once per channel).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    /// The entries on this page.
    pub entries: Vec<ListEntry>,
    /// The token of the next page; `None` on the last.
    pub next_token: Option<String>,
}

/// One routing profile as SearchRoutingProfiles returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchedProfile {
    /// `RoutingProfileId`.
    pub id: String,
    /// `Name`.
    pub name: Option<String>,
    /// `AssociatedQueueIds`: the queues the profile serves, on any channel; `None` where the
    /// service left the field out.
    pub queue_ids: Option<Vec<String>>,
    /// `NumberOfAssociatedQueues`. Read as the number of (queue, channel) associations, the
    /// rows ListRoutingProfileQueues returns, so at least the number of distinct queue IDs.
    pub associated_queues: Option<i64>,
}

impl SearchedProfile {
    /// The queues the profile serves, where the search gave them whole: the list is there,
    /// and not empty while the count says the profile serves queues. Whether the count is of
    /// queues or of (queue, channel) pairs, a multichannel profile's list passes.
    pub fn complete_queue_ids(&self) -> Option<&[String]> {
        let ids = self.queue_ids.as_deref()?;
        let count_says_some = self.associated_queues.is_some_and(|count| count > 0);
        (!(ids.is_empty() && count_says_some)).then_some(ids)
    }
}

/// One page of SearchRoutingProfiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchPage {
    /// The profiles on this page.
    pub profiles: Vec<SearchedProfile>,
    /// The token of the next page; `None` on the last.
    pub next_token: Option<String>,
}

/// The largest page SearchRoutingProfiles returns.
pub const SEARCH_PAGE_SIZE: i32 = 500;

/// Fetches pages of the List* look-ups.
pub trait Listings: Send + Sync {
    /// Fetches one page of `listing`.
    fn list_page<'a>(
        &'a self,
        listing: Listing<'a>,
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<ListPage, RequestError>>;

    /// Fetches one page of SearchRoutingProfiles (every profile of the instance, with the
    /// queues it serves). A source without it (a test's) answers that it is unsupported, and
    /// the directory falls back to ListRoutingProfiles and ListRoutingProfileQueues.
    fn search_routing_profiles_page(
        &self,
        next_token: Option<String>,
    ) -> BoxFuture<'_, Result<SearchPage, RequestError>> {
        let _ = next_token;
        Box::pin(async { Err(RequestError::unsupported("SearchRoutingProfiles")) })
    }
}

/// Fetches pages of GetCurrentMetricData.
pub trait QueueMetricPages: Send + Sync {
    /// Fetches one page of the real-time metrics of `queue_ids` (at most
    /// [`MAX_QUEUES_PER_REQUEST`]) grouped by queue and channel.
    fn fetch_queue_metrics<'a>(
        &'a self,
        queue_ids: &'a [String],
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<QueueMetricPage, RequestError>>;
}

/// One metric of a GetMetricDataV2 request, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricSpec {
    /// `Name`, e.g. `SERVICE_LEVEL`.
    pub name: &'static str,
    /// `Threshold`: comparison (`LT`, `LTE`) and value in seconds.
    pub threshold: Option<(&'static str, u32)>,
    /// `MetricFilters`: one key with one value, e.g. `INITIATION_METHOD = CALLBACK`.
    pub metric_filter: Option<(&'static str, &'static str)>,
}

/// One GetMetricDataV2 request: a window over at most 100 queues or routing profiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDataQuery<'a> {
    /// The instance ARN (`ResourceArn`).
    pub resource_arn: &'a str,
    /// `StartTime`, epoch seconds.
    pub start: f64,
    /// `EndTime`, epoch seconds.
    pub end: f64,
    /// `Interval.TimeZone` (IANA); the interval period is always `TOTAL`.
    pub time_zone: &'a str,
    /// The resource filter: `QUEUE` or `ROUTING_PROFILE`.
    pub filter_key: &'static str,
    /// Its values (at most 100).
    pub ids: &'a [String],
    /// `Groupings`, e.g. `QUEUE` and `CHANNEL`.
    pub groupings: &'static [&'static str],
    /// `Metrics`.
    pub metrics: &'a [MetricSpec],
}

/// One value of a returned metric: its name, threshold and whether it came with a metric
/// filter, as returned, and the value (`None`: the service sent null).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataValue {
    /// `Metric.Name`.
    pub name: String,
    /// `Metric.Threshold[0].ThresholdValue`.
    pub threshold: Option<f64>,
    /// `Metric.MetricFilters`, each as (key, values).
    pub metric_filters: Vec<(String, Vec<String>)>,
    /// `Value`.
    pub value: Option<f64>,
}

/// One row of GetMetricDataV2: its dimensions and values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricDataRow {
    /// `Dimensions` (`QUEUE`, `CHANNEL`, `ROUTING_PROFILE`, ...), sorted by key.
    pub dimensions: Vec<(String, String)>,
    /// `Collections`.
    pub values: Vec<MetricDataValue>,
}

impl MetricDataRow {
    /// The value of dimension `key`.
    pub fn dimension(&self, key: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// One page of GetMetricDataV2.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricDataPage {
    /// The rows on this page.
    pub rows: Vec<MetricDataRow>,
    /// The token of the next page; `None` on the last.
    pub next_token: Option<String>,
}

/// Fetches pages of GetMetricDataV2 (the intraday KPIs). The default methods refuse, for
/// transports that serve only the real-time operations.
pub trait MetricDataPages: Send + Sync {
    /// Fetches one page of `query`.
    fn fetch_metric_data<'a>(
        &'a self,
        query: &'a MetricDataQuery<'a>,
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<MetricDataPage, RequestError>> {
        let _ = (query, next_token);
        Box::pin(async { Err(RequestError::unsupported("GetMetricDataV2")) })
    }

    /// The instance's ARN, which GetMetricDataV2 takes instead of its ID: from the
    /// configuration when it tells the account, else from DescribeInstance.
    fn instance_arn(&self) -> BoxFuture<'_, Result<String, RequestError>> {
        Box::pin(async { Err(RequestError::unsupported("DescribeInstance")) })
    }
}

/// Everything polling an instance needs from the API.
pub trait InstanceApi: UserDataPages + Listings + QueueMetricPages + MetricDataPages {}

impl<T: UserDataPages + Listings + QueueMetricPages + MetricDataPages> InstanceApi for T {}
