//! Everything that talks to the Connect API: the SDK client per instance ([`ConnectSource`]),
//! the conversion of its answers to model data, paging, retries within the request budget,
//! attempt counting, and the one routing-directory read every name look-up uses. Knows
//! nothing of Prometheus.
//!
//! The transport sits behind small traits ([`UserDataPages`], [`QueueMetricPages`],
//! [`Listings`]) so tests can swap in fixtures; the data sources in [`crate::sources`] build
//! on them.

mod attempts;
pub mod budget;
mod client;
pub mod convert;
pub mod directory;
pub mod pages;
pub mod paging;
pub mod request;
mod sdk_config;

pub use attempts::AttemptCounter;
pub use budget::{BudgetKey, Budgets, InstanceBudgets, RateLimiter};
pub use client::ConnectSource;
#[cfg(feature = "agent-events")]
pub(crate) use client::{sdk_request_error, Service};
pub use directory::{
    fetch_routing_directory, names_by_id, DirectoryProgress, DirectoryReads, ListingBudgets,
};
pub use pages::{
    InstanceApi, ListEntry, ListPage, Listing, Listings, MetricDataPage, MetricDataPages,
    MetricDataQuery, MetricDataRow, MetricDataValue, MetricSpec, QueueMetricPage, QueueMetricPages,
    SearchPage, SearchedProfile, UserDataFilter, UserDataPage, UserDataPages,
    MAX_QUEUES_PER_REQUEST, PAGE_SIZE, SEARCH_PAGE_SIZE,
};
pub use paging::{list_all, RetryPolicy, SweepBudget};
pub use request::{RequestError, RequestLog, RequestOutcome, SourceError};
#[cfg(feature = "agent-events")]
pub(crate) use sdk_config::{shared_config, CONNECT_TIMEOUT};
