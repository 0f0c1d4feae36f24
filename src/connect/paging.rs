//! Paging and retries: every page of a request followed through its NextToken, each attempt
//! waiting for a token of its operation's request budget, failures retried with backoff
//! within the poll's deadline.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rand::Rng;
use tokio::time::Instant;

use super::budget::RateLimiter;
use super::pages::{ListEntry, Listing, Listings};
use super::request::{RequestError, RequestOutcome, SourceError};

/// A guard against a service that never stops paging: 10,000 pages is a million agents.
pub const MAX_PAGES_PER_CHUNK: usize = 10_000;

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
    /// The most the backoff before attempt `next_attempt` (2, 3, ...) may be:
    /// min(max, initial × 2^(n-2)).
    fn backoff_ceiling(&self, next_attempt: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(1u32 << (next_attempt.saturating_sub(2)).min(16))
            .min(self.max_backoff)
    }

    /// The backoff before attempt `next_attempt`: random in [0, ceiling] (full jitter, so
    /// that clients throttled together do not retry together).
    fn backoff(&self, next_attempt: u32) -> Duration {
        self.backoff_ceiling(next_attempt)
            .mul_f64(rand::rng().random_range(0.0..=1.0))
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

/// Every entry of `listing`, all pages, each ID once, in the order first seen.
pub async fn list_all(
    listings: &dyn Listings,
    listing: Listing<'_>,
    budget: &SweepBudget<'_>,
) -> Result<Vec<ListEntry>, SourceError> {
    let detail = match listing {
        Listing::RoutingProfileQueues(profile) => Some(format!("routing profile {profile}")),
        _ => None,
    };
    collect_pages(
        budget,
        listing.operation(),
        detail,
        |token| listings.list_page(listing, token),
        |page| (page.entries, page.next_token),
        |entry| &entry.id,
    )
    .await
}

/// Every item of a look-up of `operation` (about `detail`, where it matters), all pages, each
/// ID once, in the order first seen: `fetch` gets a page, `split` gives its items and its
/// NextToken, `id_of` an item's ID.
pub(crate) async fn collect_pages<'a, P, T>(
    budget: &SweepBudget<'_>,
    operation: &'static str,
    detail: Option<String>,
    fetch: impl Fn(Option<String>) -> BoxFuture<'a, Result<P, RequestError>>,
    split: impl Fn(P) -> (Vec<T>, Option<String>),
    id_of: impl Fn(&T) -> &str,
) -> Result<Vec<T>, SourceError> {
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let at = PagedRequest {
        operation,
        noun: "pages",
        first: 1,
        last: MAX_PAGES_PER_CHUNK,
    };
    each_page(
        budget,
        at,
        fetch,
        |_, source| SourceError::Listing {
            operation,
            detail: detail.clone(),
            source,
        },
        |page| {
            let (page_items, next_token) = split(page);
            for item in page_items {
                if seen.insert(id_of(&item).to_string()) {
                    items.push(item);
                }
            }
            next_token
        },
    )
    .await?;
    Ok(items)
}

/// One paged request, for the message when its paging goes wrong.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PagedRequest {
    /// The operation.
    pub operation: &'static str,
    /// What is paged through (`queues`, `routing profiles`, `pages`).
    pub noun: &'static str,
    /// 1-based index of the chunk's first ID.
    pub first: usize,
    /// 1-based index of its last.
    pub last: usize,
}

/// Follows NextToken through every page of one request, each attempt within `budget`:
/// `take` consumes a page and returns its NextToken. A token that comes back twice, or more
/// than [`MAX_PAGES_PER_CHUNK`] pages, abandons the request (a service that never stops
/// paging must not hold a poll forever); `failed` words a failed request, given its 1-based
/// page number.
pub(crate) async fn each_page<'a, P>(
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

/// One request, retried while the failure is retryable, attempts remain and the deadline
/// allows; every attempt waits for a token of the budget first.
pub(crate) async fn with_retries<'a, T>(
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

    #[test]
    fn backoff_grows_exponentially_within_bounds() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u64> = (2..9)
            .map(|attempt| policy.backoff_ceiling(attempt).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, vec![200, 400, 800, 1600, 3200, 5000, 5000]);
        for attempt in 2..10 {
            let ceiling = policy.backoff_ceiling(attempt);
            let drawn: Vec<Duration> = (0..200).map(|_| policy.backoff(attempt)).collect();
            assert!(drawn.iter().all(|backoff| *backoff <= ceiling));
            // Full jitter spreads over the whole range: a backoff that is always 0 (or always
            // small) fails here; 200 draws all below half the ceiling has odds of 2^-200.
            let longest = drawn.iter().max().copied().unwrap_or_default();
            assert!(
                longest >= ceiling / 2,
                "attempt {attempt}: longest of 200 backoffs {longest:?}, ceiling {ceiling:?}"
            );
        }
    }
}
