//! Calls the Connect API and returns plain snapshots. Knows nothing of Prometheus.
//!
//! [`sweep_queues`] and [`sweep_routing_profiles`] run the requests of a sweep (chunks of at most
//! 100 IDs, every page followed, agents de-duplicated by user ID, retries within the budget and
//! deadline); [`fetch_routing_directory`] runs the look-ups the request planner needs. The
//! transport sits behind the [`UserDataPages`] and [`Listings`] traits so tests can swap in
//! fixtures; [`connect::ConnectSource`] is the real one, on `aws-sdk-connect`.

pub mod attempts;
pub mod connect;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use rand::Rng;
use tokio::time::Instant;

use crate::budget::RateLimiter;
use crate::model::{AgentRecord, QueueMetricRow};

/// GetCurrentUserData accepts at most this many queues in one filter.
pub const MAX_QUEUES_PER_REQUEST: usize = 100;
/// Page size asked for; the API maximum.
pub const PAGE_SIZE: i32 = 100;
/// A guard against a service that never stops paging: 10,000 pages is a million agents.
pub const MAX_PAGES_PER_CHUNK: usize = 10_000;

/// How one API request attempt ended: the `outcome` label of the request counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestOutcome {
    /// 2xx with a readable body.
    Success,
    /// HTTP 429 or `ThrottlingException`.
    Throttled,
    /// Other 4xx: configuration or permission problems.
    ClientError,
    /// 5xx.
    ServerError,
    /// No answer within the timeout.
    Timeout,
    /// Connection refused, reset, DNS or TLS failures.
    NetworkError,
    /// A 2xx whose body could not be read.
    MalformedResponse,
}

impl RequestOutcome {
    /// Every outcome, in label order.
    pub const ALL: [RequestOutcome; 7] = [
        RequestOutcome::Success,
        RequestOutcome::Throttled,
        RequestOutcome::ClientError,
        RequestOutcome::ServerError,
        RequestOutcome::Timeout,
        RequestOutcome::NetworkError,
        RequestOutcome::MalformedResponse,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Success => "success",
            RequestOutcome::Throttled => "throttled",
            RequestOutcome::ClientError => "client_error",
            RequestOutcome::ServerError => "server_error",
            RequestOutcome::Timeout => "timeout",
            RequestOutcome::NetworkError => "network_error",
            RequestOutcome::MalformedResponse => "malformed_response",
        }
    }

    /// Whether another attempt may succeed: throttling, 5xx, timeouts and connection errors.
    /// 4xx are configuration or permission problems and a malformed body will not heal.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            RequestOutcome::Throttled
                | RequestOutcome::ServerError
                | RequestOutcome::Timeout
                | RequestOutcome::NetworkError
        )
    }

    /// Classifies a response by HTTP status and error code.
    pub fn from_status(status: u16, error_code: Option<&str>) -> Self {
        if status == 429 || error_code == Some("ThrottlingException") {
            RequestOutcome::Throttled
        } else if (200..300).contains(&status) {
            RequestOutcome::Success
        } else if (400..500).contains(&status) {
            RequestOutcome::ClientError
        } else {
            RequestOutcome::ServerError
        }
    }
}

impl fmt::Display for RequestOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request attempts by (operation, outcome) for one instance, shared between the client that
/// makes them and the exposition that reports them.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    counts: Arc<Mutex<BTreeMap<(String, RequestOutcome), u64>>>,
}

impl RequestLog {
    /// Records one attempt.
    pub fn record(&self, operation: &str, outcome: RequestOutcome) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry((operation.to_string(), outcome)).or_default() += 1;
    }

    /// Attempts of `operation` so far, whatever their outcome.
    pub fn count_of(&self, operation: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|((name, _), _)| name == operation)
            .map(|(_, count)| count)
            .sum()
    }

    /// A copy of the counts so far.
    pub fn counts(&self) -> BTreeMap<(String, RequestOutcome), u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

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

/// A failed request, already classified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    /// How it failed.
    pub outcome: RequestOutcome,
    /// The service's error code, if it sent one (`AccessDeniedException`, ...).
    pub code: Option<String>,
    /// What went wrong, with a hint at the fix where one is known.
    pub message: String,
}

/// Why a sweep produced no snapshot.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// A request failed (after the SDK's own retries).
    #[error(
        "GetCurrentUserData for {noun} {first}..{last} of {total} (page {page}) failed: {source}"
    )]
    Request {
        /// `queues` or `routing profiles`.
        noun: &'static str,
        /// 1-based index of the first queue of the failed chunk.
        first: usize,
        /// 1-based index of its last queue.
        last: usize,
        /// Queues in the set.
        total: usize,
        /// 1-based page number within the chunk.
        page: usize,
        /// The request's error.
        source: RequestError,
    },
    /// A GetCurrentMetricData request failed (after retries).
    #[error(
        "GetCurrentMetricData for queues {first}..{last} of {total} (page {page}) failed: {source}"
    )]
    QueueMetrics {
        /// 1-based index of the first queue of the failed chunk.
        first: usize,
        /// 1-based index of its last queue.
        last: usize,
        /// Queues asked for in the round.
        total: usize,
        /// 1-based page number within the chunk.
        page: usize,
        /// The request's error.
        source: RequestError,
    },
    /// The service returned the same NextToken twice, or more pages than any instance can have.
    #[error("{operation} for {noun} {first}..{last} did not stop paging ({reason}); the poll was abandoned")]
    Paging {
        /// The operation.
        operation: &'static str,
        /// What was paged through (`queues`, `routing profiles`, ...).
        noun: &'static str,
        /// 1-based index of the first queue of the chunk.
        first: usize,
        /// 1-based index of its last queue.
        last: usize,
        /// What looked wrong.
        reason: String,
    },
    /// A look-up of the request planner failed.
    #[error("{operation}{} failed: {source}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Listing {
        /// The operation.
        operation: &'static str,
        /// Which item, where it matters (the routing profile).
        detail: Option<String>,
        /// The request's error.
        source: RequestError,
    },
    /// The client for this instance could not be set up.
    #[error("{0}")]
    Setup(String),
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

/// Fetches pages of the List* look-ups.
pub trait Listings: Send + Sync {
    /// Fetches one page of `listing`.
    fn list_page<'a>(
        &'a self,
        listing: Listing<'a>,
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<ListPage, RequestError>>;
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

/// Everything polling an instance needs from the API.
pub trait InstanceApi: UserDataPages + Listings + QueueMetricPages {}

impl<T: UserDataPages + Listings + QueueMetricPages> InstanceApi for T {}

/// How failed requests are retried: exponential backoff with full jitter, within the poll's
/// deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Upper bound of the first backoff.
    pub initial_backoff: Duration,
    /// Upper bound of any backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `next_attempt` (2, 3, ...): random in [0, min(max, initial × 2^(n-2))].
    fn backoff(&self, next_attempt: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32 << (next_attempt.saturating_sub(2)).min(16))
            .min(self.max_backoff);
        ceiling.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

/// What one sweep may spend: the request budget it draws from, how it retries, and when it
/// must be done.
#[derive(Debug, Clone, Copy)]
pub struct SweepBudget<'a> {
    /// The token bucket of this instance's account, region and operation.
    pub limiter: &'a RateLimiter,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// The poll's deadline: no request starts and no backoff ends after it.
    pub deadline: Instant,
}

/// Fetches every agent serving any of `queue_ids`: chunks of at most 100 queues, every page of
/// every chunk, each agent once (an agent whose profile serves queues in several chunks comes
/// back from each of them, with the same data). Every attempt waits for a token of `budget`.
pub async fn sweep_queues(
    pages: &dyn UserDataPages,
    queue_ids: &[String],
    budget: &SweepBudget<'_>,
) -> Result<Vec<Arc<AgentRecord>>, SourceError> {
    let chunks: Vec<&[String]> = queue_ids.chunks(MAX_QUEUES_PER_REQUEST).collect();
    sweep(pages, &chunks, UserDataFilter::Queues, budget).await
}

/// Fetches every agent of the routing profiles in `chunks` (each at most 100 IDs). Each agent
/// has one routing profile, so each comes back once.
pub async fn sweep_routing_profiles(
    pages: &dyn UserDataPages,
    chunks: &[Vec<String>],
    budget: &SweepBudget<'_>,
) -> Result<Vec<Arc<AgentRecord>>, SourceError> {
    let chunks: Vec<&[String]> = chunks.iter().map(Vec::as_slice).collect();
    sweep(pages, &chunks, UserDataFilter::RoutingProfiles, budget).await
}

/// Fetches every agent of user hierarchy group `group` (the filter takes exactly one).
pub async fn sweep_hierarchy_group(
    pages: &dyn UserDataPages,
    group: &String,
    budget: &SweepBudget<'_>,
) -> Result<Vec<Arc<AgentRecord>>, SourceError> {
    let chunks = [std::slice::from_ref(group)];
    sweep(pages, &chunks, UserDataFilter::UserHierarchyGroups, budget).await
}

async fn sweep<'a>(
    pages: &dyn UserDataPages,
    chunks: &[&'a [String]],
    filter: fn(&'a [String]) -> UserDataFilter<'a>,
    budget: &SweepBudget<'_>,
) -> Result<Vec<Arc<AgentRecord>>, SourceError> {
    let mut agents = Vec::new();
    let mut seen_users = rustc_hash::FxHashSet::default();
    let total: usize = chunks.iter().map(|chunk| chunk.len()).sum();
    let mut first = 1;
    for chunk in chunks {
        let filter = filter(chunk);
        let last = first + chunk.len() - 1;
        let at = PagedRequest {
            operation: "GetCurrentUserData",
            noun: filter.noun(),
            first,
            last,
        };
        each_page(
            budget,
            at,
            |token| pages.fetch_page(filter, token),
            |page, source| SourceError::Request {
                noun: filter.noun(),
                first,
                last,
                total,
                page,
                source,
            },
            |page| {
                for agent in page.agents {
                    if seen_users.insert(agent.user_id.clone()) {
                        // Shared from here on: the queue sets of a round hold the same records.
                        agents.push(Arc::new(agent));
                    }
                }
                page.next_token
            },
        )
        .await?;
        first = last + 1;
    }
    Ok(agents)
}

/// GetCurrentMetricData of every queue in `queue_ids`: chunks of at most 100 queues, every
/// page of every chunk, each (queue, channel) row once. Every attempt waits for a token of
/// `budget` (GetCurrentMetricData has its own quota).
pub async fn fetch_queue_metrics(
    pages: &dyn QueueMetricPages,
    queue_ids: &[String],
    budget: &SweepBudget<'_>,
) -> Result<Vec<QueueMetricRow>, SourceError> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    let total = queue_ids.len();
    let mut first = 1;
    for chunk in queue_ids.chunks(MAX_QUEUES_PER_REQUEST) {
        let last = first + chunk.len() - 1;
        let at = PagedRequest {
            operation: "GetCurrentMetricData",
            noun: "queues",
            first,
            last,
        };
        each_page(
            budget,
            at,
            |token| pages.fetch_queue_metrics(chunk, token),
            |page, source| SourceError::QueueMetrics {
                first,
                last,
                total,
                page,
                source,
            },
            |page| {
                for row in page.rows {
                    if seen.insert((row.queue_id.clone(), row.channel.clone())) {
                        rows.push(row);
                    }
                }
                page.next_token
            },
        )
        .await?;
        first = last + 1;
    }
    Ok(rows)
}

/// Every entry of `listing`, all pages, each ID once, in the order first seen.
pub async fn list_all(
    listings: &dyn Listings,
    listing: Listing<'_>,
    budget: &SweepBudget<'_>,
) -> Result<Vec<ListEntry>, SourceError> {
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let detail = match listing {
        Listing::RoutingProfileQueues(profile) => Some(format!("routing profile {profile}")),
        _ => None,
    };
    let at = PagedRequest {
        operation: listing.operation(),
        noun: "pages",
        first: 1,
        last: MAX_PAGES_PER_CHUNK,
    };
    each_page(
        budget,
        at,
        |token| listings.list_page(listing, token),
        |_, source| SourceError::Listing {
            operation: listing.operation(),
            detail: detail.clone(),
            source,
        },
        |page| {
            for entry in page.entries {
                if seen.insert(entry.id.clone()) {
                    entries.push(entry);
                }
            }
            page.next_token
        },
    )
    .await?;
    Ok(entries)
}

/// One paged request, for the message when its paging goes wrong.
#[derive(Debug, Clone, Copy)]
struct PagedRequest {
    operation: &'static str,
    noun: &'static str,
    first: usize,
    last: usize,
}

/// Follows NextToken through every page of one request, each attempt within `budget`:
/// `take` consumes a page and returns its NextToken. A token that comes back twice, or more
/// than [`MAX_PAGES_PER_CHUNK`] pages, abandons the request (a service that never stops
/// paging must not hold a poll forever); `failed` words a failed request, given its 1-based
/// page number.
async fn each_page<'a, P>(
    budget: &SweepBudget<'_>,
    at: PagedRequest,
    fetch: impl Fn(Option<String>) -> BoxFuture<'a, Result<P, RequestError>>,
    failed: impl Fn(usize, RequestError) -> SourceError,
    mut take: impl FnMut(P) -> Option<String>,
) -> Result<(), SourceError> {
    let paging = |reason: String| SourceError::Paging {
        operation: at.operation,
        noun: at.noun,
        first: at.first,
        last: at.last,
        reason,
    };
    let mut next_token: Option<String> = None;
    let mut tokens_seen = HashSet::new();
    for page_number in 1..=MAX_PAGES_PER_CHUNK {
        let token = next_token.take();
        let page = with_retries(budget, || fetch(token.clone()))
            .await
            .map_err(|source| failed(page_number, source))?;
        match take(page) {
            Some(token) if !tokens_seen.insert(token.clone()) => {
                return Err(paging(format!("NextToken {token:?} came back twice")));
            }
            Some(token) => next_token = Some(token),
            None => return Ok(()),
        }
    }
    Err(paging(format!("more than {MAX_PAGES_PER_CHUNK} pages")))
}

/// The budgets of the look-ups: each operation has its own quota.
#[derive(Debug, Clone, Copy)]
pub struct ListingBudgets<'a> {
    /// ListQueues.
    pub queues: SweepBudget<'a>,
    /// ListRoutingProfiles.
    pub routing_profiles: SweepBudget<'a>,
    /// ListRoutingProfileQueues.
    pub routing_profile_queues: SweepBudget<'a>,
    /// ListUsers.
    pub users: SweepBudget<'a>,
    /// ListUserHierarchyGroups.
    pub hierarchy_groups: SweepBudget<'a>,
}

/// Which optional look-ups a routing-directory read makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectoryReads {
    /// ListRoutingProfileQueues for every routing profile (the sweep needs them).
    pub profile_queues: bool,
    /// ListUsers (login names for per-agent series).
    pub users: bool,
    /// ListUserHierarchyGroups (queue sets that name their hierarchy group).
    pub hierarchy_groups: bool,
}

/// The queues of an instance and of each of its routing profiles: one ListQueues, one
/// ListRoutingProfiles and, as `reads` asks, one ListRoutingProfileQueues per profile and
/// ListUsers (all paged), each attempt drawing from its operation's budget (not
/// GetCurrentUserData's). Without the per-profile look-ups (no routing-profile sweep planned)
/// every profile is listed with no queues: names and `queues: all` need only the first two.
pub async fn fetch_routing_directory(
    listings: &dyn Listings,
    budgets: &ListingBudgets<'_>,
    reads: DirectoryReads,
) -> Result<crate::planner::RoutingDirectory, SourceError> {
    let queues = list_all(listings, Listing::Queues, &budgets.queues).await?;
    let profiles = list_all(
        listings,
        Listing::RoutingProfiles,
        &budgets.routing_profiles,
    )
    .await?;
    let mut directory = crate::planner::RoutingDirectory::default();
    for queue in queues {
        if let Some(name) = queue.name {
            directory.queue_names.insert(queue.id.clone(), name);
        }
        if queue.queue_type.as_deref() == Some("STANDARD") {
            directory.standard_queues.insert(queue.id.clone());
        }
        directory.queues.insert(queue.id);
    }
    for profile in profiles {
        let served = if reads.profile_queues {
            list_all(
                listings,
                Listing::RoutingProfileQueues(&profile.id),
                &budgets.routing_profile_queues,
            )
            .await?
        } else {
            Vec::new()
        };
        if let Some(name) = profile.name {
            directory.profile_names.insert(profile.id.clone(), name);
        }
        directory.profile_queues.insert(
            profile.id,
            served.into_iter().map(|queue| queue.id).collect(),
        );
    }
    // The last two are optional: without them labels carry IDs (and a set that names its
    // hierarchy group says why it cannot be resolved), the rest of the directory stands.
    if reads.users {
        match list_all(listings, Listing::Users, &budgets.users).await {
            Ok(users) => {
                directory.user_names = names_by_id(users);
                directory.users_read = true;
            }
            Err(error) => directory.users_error = Some(error.to_string()),
        }
    }
    if reads.hierarchy_groups {
        let groups = list_all(
            listings,
            Listing::HierarchyGroups,
            &budgets.hierarchy_groups,
        );
        match groups.await {
            Ok(groups) => directory.hierarchy_group_names = names_by_id(groups),
            Err(error) => directory.hierarchy_groups_error = Some(error.to_string()),
        }
    }
    Ok(directory)
}

/// The names of `entries` by ID, for those that have one: what name resolution looks names
/// up in.
pub fn names_by_id(entries: Vec<ListEntry>) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .filter_map(|entry| Some((entry.id, entry.name?)))
        .collect()
}

/// One request, retried while the failure is retryable, attempts remain and the deadline
/// allows; every attempt waits for a token of the budget first.
async fn with_retries<'a, T>(
    budget: &SweepBudget<'_>,
    send: impl Fn() -> BoxFuture<'a, Result<T, RequestError>>,
) -> Result<T, RequestError> {
    let mut last_error: Option<RequestError> = None;
    for attempt in 1..=budget.retry.max_attempts.max(1) {
        if attempt > 1 {
            let backoff = budget.retry.backoff(attempt);
            if Instant::now() + backoff >= budget.deadline {
                break;
            }
            tokio::time::sleep(backoff).await;
        }
        if let Err(no_token) = budget.limiter.acquire(budget.deadline).await {
            return Err(last_error.unwrap_or_else(|| RequestError {
                outcome: RequestOutcome::Timeout,
                code: None,
                message: format!(
                    "not sent: {no_token}; this account's request budget cannot carry these polls at this interval (lengthen poll_interval or raise the quota and api_rate_limits)"
                ),
            }));
        }
        match send().await {
            Ok(page) => {
                budget.limiter.succeeded();
                return Ok(page);
            }
            Err(error) => {
                if error.outcome == RequestOutcome::Throttled {
                    budget.limiter.throttled();
                }
                let retryable = error.outcome.is_retryable();
                last_error = Some(RequestError {
                    message: format!("{} (attempt {attempt})", error.message),
                    ..error
                });
                if !retryable {
                    break;
                }
            }
        }
    }
    Err(last_error.unwrap_or_else(|| RequestError {
        outcome: RequestOutcome::Timeout,
        code: None,
        message: "no attempt fitted before the poll's deadline".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::RateLimit;
    use std::sync::Mutex;

    /// Serves `agents_per_queue` agents for any chunk, `per_page` per page, records every
    /// request, and fails the requests listed in `failures` (by 1-based request number).
    struct FakePages {
        agents_per_queue: usize,
        per_page: usize,
        requests: Mutex<Vec<(usize, Option<String>)>>,
        failures: Vec<(usize, RequestOutcome)>,
        loop_token: bool,
    }

    impl FakePages {
        fn new(agents_per_queue: usize, per_page: usize) -> Self {
            Self {
                agents_per_queue,
                per_page,
                requests: Mutex::new(Vec::new()),
                failures: Vec::new(),
                loop_token: false,
            }
        }

        fn request_count(&self) -> usize {
            self.requests.lock().unwrap().len()
        }
    }

    impl UserDataPages for FakePages {
        fn fetch_page<'a>(
            &'a self,
            filter: UserDataFilter<'a>,
            next_token: Option<String>,
        ) -> BoxFuture<'a, Result<UserDataPage, RequestError>> {
            Box::pin(async move {
                let mut requests = self.requests.lock().unwrap();
                requests.push((filter.ids().len(), next_token.clone()));
                if let Some((_, outcome)) = self.failures.iter().find(|(n, _)| *n == requests.len())
                {
                    return Err(RequestError {
                        outcome: *outcome,
                        code: None,
                        message: format!("{outcome}"),
                    });
                }
                // Every queue is served by the same agents, so every chunk returns the same
                // agents: the worst case for de-duplication.
                let start: usize = next_token.as_deref().map_or(0, |t| t.parse().unwrap_or(0));
                let end = (start + self.per_page).min(self.agents_per_queue);
                let agents = (start..end)
                    .map(|n| AgentRecord {
                        user_id: format!("agent{n}"),
                        status_name: "Available".into(),
                        ..Default::default()
                    })
                    .collect();
                let next_token = if self.loop_token {
                    Some("same".to_string())
                } else {
                    (end < self.agents_per_queue).then(|| end.to_string())
                };
                Ok(UserDataPage { agents, next_token })
            })
        }
    }

    fn queues(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("q{i}")).collect()
    }

    fn generous() -> RateLimiter {
        RateLimiter::new(RateLimit {
            rate: 1000.0,
            burst: 1000.0,
        })
    }

    async fn sweep(
        fake: &FakePages,
        queue_count: usize,
        limiter: &RateLimiter,
    ) -> Result<Vec<Arc<AgentRecord>>, SourceError> {
        let budget = SweepBudget {
            limiter,
            retry: RetryPolicy::default(),
            deadline: Instant::now() + Duration::from_secs(60),
        };
        sweep_queues(fake, &queues(queue_count), &budget).await
    }

    #[tokio::test(start_paused = true)]
    async fn chunks_of_one_hundred_every_page_and_agents_once() {
        let fake = FakePages::new(25, 10);
        let agents = sweep(&fake, 250, &generous()).await.unwrap();
        assert_eq!(agents.len(), 25);
        let requests = fake.requests.lock().unwrap().clone();
        let chunk_sizes: Vec<usize> = requests.iter().map(|(n, _)| *n).collect();
        assert_eq!(chunk_sizes, vec![100, 100, 100, 100, 100, 100, 50, 50, 50]);
        let tokens: Vec<Option<&str>> = requests[..3].iter().map(|(_, t)| t.as_deref()).collect();
        assert_eq!(tokens, vec![None, Some("10"), Some("20")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_page_fails_the_sweep_and_names_the_chunk() {
        let mut fake = FakePages::new(25, 10);
        fake.failures = vec![(5, RequestOutcome::ClientError)];
        let error = sweep(&fake, 250, &generous()).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "GetCurrentUserData for queues 101..200 of 250 (page 2) failed: client_error (attempt 1)"
        );
        assert_eq!(fake.request_count(), 5, "client errors are not retried");
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_and_throttling_slows_the_budget() {
        let mut fake = FakePages::new(25, 10);
        fake.failures = vec![
            (2, RequestOutcome::Throttled),
            (3, RequestOutcome::ServerError),
            (4, RequestOutcome::NetworkError),
        ];
        let limiter = generous();
        let agents = sweep(&fake, 3, &limiter).await.unwrap();
        assert_eq!(agents.len(), 25);
        assert_eq!(fake.request_count(), 6, "3 pages + 3 retries");
        let status = limiter.status();
        assert_eq!(status.throttles, 1);
        assert!(status.current_rate < 1000.0);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_after_the_last_attempt() {
        let mut fake = FakePages::new(25, 10);
        fake.failures = (1..=5).map(|n| (n, RequestOutcome::ServerError)).collect();
        let error = sweep(&fake, 3, &generous()).await.unwrap_err();
        assert!(
            error.to_string().ends_with("server_error (attempt 5)"),
            "{error}"
        );
        assert_eq!(fake.request_count(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_budget_fails_before_sending() {
        let fake = FakePages::new(25, 10);
        let limiter = RateLimiter::new(RateLimit {
            rate: 0.01,
            burst: 1.0,
        });
        let error = sweep(&fake, 3, &limiter).await.unwrap_err();
        assert!(
            error.to_string().contains("request budget cannot carry"),
            "{error}"
        );
        assert_eq!(
            fake.request_count(),
            1,
            "the first page used the only token"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeated_next_token_stops_the_sweep() {
        let mut fake = FakePages::new(25, 10);
        fake.loop_token = true;
        let error = sweep(&fake, 3, &generous()).await.unwrap_err();
        assert!(matches!(error, SourceError::Paging { .. }), "{error}");
        assert_eq!(fake.request_count(), 2);
    }

    #[test]
    fn backoff_grows_exponentially_within_bounds() {
        let policy = RetryPolicy::default();
        for attempt in 2..10 {
            let ceiling =
                Duration::from_millis(200 * (1 << (attempt - 2))).min(Duration::from_secs(5));
            assert!(policy.backoff(attempt) <= ceiling);
        }
    }

    #[test]
    fn outcome_classification() {
        assert_eq!(
            RequestOutcome::from_status(200, None),
            RequestOutcome::Success
        );
        assert_eq!(
            RequestOutcome::from_status(429, None),
            RequestOutcome::Throttled
        );
        assert_eq!(
            RequestOutcome::from_status(400, Some("ThrottlingException")),
            RequestOutcome::Throttled
        );
        assert_eq!(
            RequestOutcome::from_status(403, None),
            RequestOutcome::ClientError
        );
        assert_eq!(
            RequestOutcome::from_status(503, None),
            RequestOutcome::ServerError
        );
        assert!(RequestOutcome::Throttled.is_retryable());
        assert!(!RequestOutcome::ClientError.is_retryable());
        assert!(!RequestOutcome::MalformedResponse.is_retryable());
    }

    #[test]
    fn request_log_counts_by_operation_and_outcome() {
        let log = RequestLog::default();
        log.record("GetCurrentUserData", RequestOutcome::Success);
        log.record("GetCurrentUserData", RequestOutcome::Success);
        log.record("GetCurrentUserData", RequestOutcome::Throttled);
        let counts = log.counts();
        assert_eq!(
            counts[&("GetCurrentUserData".to_string(), RequestOutcome::Success)],
            2
        );
        assert_eq!(counts.len(), 2);
    }
}
