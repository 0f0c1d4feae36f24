//! The API request budget: a token bucket per (AWS account, region, operation), shared by every
//! instance and queue set that spends that account's Connect quota.
//!
//! Requests reserve a token and wait for it instead of firing; the wait is computed under a
//! short lock and slept outside it, so waiters are served in order. After a throttled request
//! the rate halves (down to a tenth of the configured rate) and then recovers slowly with each
//! success: the exporter must never be the tool that starves the Connect console.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::rate_limits::{default_limits, DIRECTORY_OPERATIONS};
use crate::config::{RateLimit, DEFAULT_DIRECTORY_BUDGET_SHARE};

/// After a throttle the rate is multiplied by this.
const THROTTLE_FACTOR: f64 = 0.5;
/// The rate never adapts below this share of the configured rate.
const MIN_RATE_SHARE: f64 = 0.1;
/// Each success gives back this share of the configured rate.
const RECOVERY_SHARE: f64 = 0.02;

/// The bucket would only have a token after the deadline.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the request budget has no token before the poll's deadline (next in {wait:?})")]
pub struct NoTokenBeforeDeadline {
    /// How long the request would have had to wait.
    pub wait: Duration,
}

#[derive(Debug)]
struct BucketState {
    rate: f64,
    tokens: f64,
    updated: Instant,
    waited: Duration,
    throttles: u64,
}

/// One token bucket with an adaptive rate.
#[derive(Debug)]
pub struct RateLimiter {
    configured: RateLimit,
    state: Mutex<BucketState>,
}

/// A snapshot of a limiter, for self-metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterStatus {
    /// The configured rate.
    pub configured_rate: f64,
    /// The rate in force now (lower after throttling).
    pub current_rate: f64,
    /// Total time requests spent waiting for tokens.
    pub waited: Duration,
    /// Throttled responses that lowered the rate.
    pub throttles: u64,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            configured: limit,
            state: Mutex::new(BucketState {
                rate: limit.rate,
                tokens: limit.burst,
                updated: Instant::now(),
                waited: Duration::ZERO,
                throttles: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BucketState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the tokens earned since the last update, up to the burst.
    fn refill(&self, state: &mut BucketState, now: Instant) {
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.tokens = (state.tokens + elapsed * state.rate).min(self.configured.burst);
        state.updated = now;
    }

    /// Waits for a token. Fails at once, taking nothing, if the token would only come after
    /// `deadline`.
    pub async fn acquire(&self, deadline: Instant) -> Result<Duration, NoTokenBeforeDeadline> {
        let wait = {
            let mut state = self.lock();
            let now = Instant::now();
            self.refill(&mut state, now);
            let wait = if state.tokens >= 1.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - state.tokens) / state.rate)
            };
            if now + wait > deadline {
                return Err(NoTokenBeforeDeadline { wait });
            }
            // Reserve now, pay by waiting: later callers queue behind this one.
            state.tokens -= 1.0;
            state.waited += wait;
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(wait)
    }

    /// The service said "too fast": slow down.
    pub fn throttled(&self) {
        let mut state = self.lock();
        state.rate = (state.rate * THROTTLE_FACTOR).max(self.configured.rate * MIN_RATE_SHARE);
        state.throttles += 1;
    }

    /// A request went through: creep back towards the configured rate.
    pub fn succeeded(&self) {
        let mut state = self.lock();
        state.rate = (state.rate + self.configured.rate * RECOVERY_SHARE).min(self.configured.rate);
    }

    /// The limiter's figures now.
    pub fn status(&self) -> LimiterStatus {
        let state = self.lock();
        LimiterStatus {
            configured_rate: self.configured.rate,
            current_rate: state.rate,
            waited: state.waited,
            throttles: state.throttles,
        }
    }
}

/// Which quota a request spends: Connect throttles per account and region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BudgetKey {
    /// AWS account ID, or `unknown` when the configuration does not reveal it (all such
    /// instances of a region then share one bucket: slower, never over the quota).
    pub account: String,
    /// AWS region, or `default` for the SDK's region chain.
    pub region: String,
    /// API operation.
    pub operation: String,
}

/// Every limiter, by key. Reused across reloads so that a reload does not refill buckets.
#[derive(Debug, Default)]
pub struct Budgets {
    /// The limit of each operation, the directory's look-ups already cut to their share.
    limits: Mutex<BTreeMap<String, RateLimit>>,
    limiters: Mutex<BTreeMap<BudgetKey, Arc<RateLimiter>>>,
}

/// `limits` over the defaults, with the directory's look-ups cut to `directory_share` of
/// their budget (the burst to at least one request).
fn effective_limits(
    limits: BTreeMap<String, RateLimit>,
    directory_share: f64,
) -> BTreeMap<String, RateLimit> {
    let mut merged = default_limits();
    merged.extend(limits);
    for operation in DIRECTORY_OPERATIONS {
        if let Some(limit) = merged.get_mut(operation) {
            limit.rate *= directory_share;
            limit.burst = (limit.burst * directory_share).max(1.0);
        }
    }
    merged
}

impl Budgets {
    /// Budgets with `limits` by operation (operations not listed use the defaults), the
    /// directory's look-ups at the default share of theirs.
    pub fn new(limits: BTreeMap<String, RateLimit>) -> Self {
        Self::with_directory_share(limits, DEFAULT_DIRECTORY_BUDGET_SHARE)
    }

    /// Budgets with `limits` by operation, the directory's look-ups (List*, Search*) at
    /// `directory_share` of theirs.
    pub fn with_directory_share(limits: BTreeMap<String, RateLimit>, directory_share: f64) -> Self {
        Self {
            limits: Mutex::new(effective_limits(limits, directory_share)),
            limiters: Mutex::new(BTreeMap::new()),
        }
    }

    /// Applies new limits (after a reload): limiters whose limit changed start afresh, the
    /// others keep their state, so a reload never refills a throttled bucket for free.
    pub fn reconfigure(&self, limits: BTreeMap<String, RateLimit>, directory_share: f64) {
        let merged = effective_limits(limits, directory_share);
        self.limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|key, limiter| merged.get(&key.operation) == Some(&limiter.configured));
        *self.limits.lock().unwrap_or_else(PoisonError::into_inner) = merged;
    }

    /// The limiter for `key`, created on first use.
    pub fn limiter(&self, key: BudgetKey) -> Arc<RateLimiter> {
        let limit = self.limit(&key.operation).unwrap_or(RateLimit {
            rate: 1.0,
            burst: 1.0,
        });
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            limiters
                .entry(key)
                .or_insert_with(|| Arc::new(RateLimiter::new(limit))),
        )
    }

    /// The configured limit of `operation`.
    pub fn limit(&self, operation: &str) -> Option<RateLimit> {
        self.limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .copied()
    }

    /// Status of every limiter, for self-metrics.
    pub fn statuses(&self) -> Vec<(BudgetKey, LimiterStatus)> {
        self.limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(key, limiter)| (key.clone(), limiter.status()))
            .collect()
    }
}

impl BudgetKey {
    /// The budget of `operation` in `account` (`None`: not known from the configuration) and
    /// `region` (`None`: the SDK's region chain).
    pub fn new(account: Option<&str>, region: Option<&str>, operation: &str) -> Self {
        Self {
            account: account.unwrap_or("unknown").to_string(),
            region: region.unwrap_or("default").to_string(),
            operation: operation.to_string(),
        }
    }
}

/// The budgets of one instance's account and region, looked up by operation.
#[derive(Debug, Clone)]
pub struct InstanceBudgets {
    budgets: Arc<Budgets>,
    account: Option<String>,
    region: Option<String>,
}

impl InstanceBudgets {
    /// The budgets of `account` in `region` (see [`BudgetKey::new`]).
    pub fn new(budgets: Arc<Budgets>, account: Option<&str>, region: Option<&str>) -> Self {
        Self {
            budgets,
            account: account.map(str::to_string),
            region: region.map(str::to_string),
        }
    }

    /// The budget of `operation`.
    pub fn limiter(&self, operation: &str) -> Arc<RateLimiter> {
        let key = BudgetKey::new(self.account.as_deref(), self.region.as_deref(), operation);
        self.budgets.limiter(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let limiter = RateLimiter::new(RateLimit {
            rate: 2.0,
            burst: 5.0,
        });
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.acquire(far()).await.unwrap(), Duration::ZERO);
        }
        for _ in 0..10 {
            limiter.acquire(far()).await.unwrap();
        }
        // 5 from the burst, then 10 at 2/s.
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_rate() {
        let limiter = Arc::new(RateLimiter::new(RateLimit {
            rate: 4.0,
            burst: 1.0,
        }));
        let start = Instant::now();
        let tasks: Vec<_> = (0..9)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move { limiter.acquire(far()).await.unwrap() })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_deadline_fails_without_taking_a_token() {
        let limiter = RateLimiter::new(RateLimit {
            rate: 1.0,
            burst: 1.0,
        });
        limiter.acquire(far()).await.unwrap();
        let soon = Instant::now() + Duration::from_millis(500);
        let error = limiter.acquire(soon).await.unwrap_err();
        assert_eq!(error.wait, Duration::from_secs(1));
        // The failed call took nothing: the next token is still one second away.
        let waited = limiter.acquire(far()).await.unwrap();
        assert_eq!(waited, Duration::from_secs(1));
    }

    #[test]
    fn throttling_halves_the_rate_down_to_a_floor_and_success_recovers_slowly() {
        let limiter = RateLimiter::new(RateLimit {
            rate: 10.0,
            burst: 1.0,
        });
        limiter.throttled();
        assert_eq!(limiter.status().current_rate, 5.0);
        for _ in 0..10 {
            limiter.throttled();
        }
        assert_eq!(limiter.status().current_rate, 1.0);
        assert_eq!(limiter.status().throttles, 11);
        for _ in 0..10 {
            limiter.succeeded();
        }
        assert!((limiter.status().current_rate - 3.0).abs() < 1e-9);
        for _ in 0..100 {
            limiter.succeeded();
        }
        assert_eq!(limiter.status().current_rate, 10.0);
    }

    #[test]
    fn budgets_share_one_limiter_per_key() {
        let budgets = Budgets::new(BTreeMap::new());
        let key = BudgetKey {
            account: "123456789012".into(),
            region: "eu-west-2".into(),
            operation: "GetCurrentUserData".into(),
        };
        let a = budgets.limiter(key.clone());
        let b = budgets.limiter(key.clone());
        assert!(Arc::ptr_eq(&a, &b));
        let other = budgets.limiter(BudgetKey {
            region: "us-east-1".into(),
            ..key.clone()
        });
        assert!(!Arc::ptr_eq(&a, &other));
        assert_eq!(a.status().configured_rate, 2.0);
        budgets.reconfigure(BTreeMap::new(), DEFAULT_DIRECTORY_BUDGET_SHARE);
        assert!(
            Arc::ptr_eq(&a, &budgets.limiter(key.clone())),
            "unchanged limit, same bucket"
        );
        budgets.reconfigure(
            BTreeMap::from([(
                "GetCurrentUserData".to_string(),
                RateLimit {
                    rate: 7.0,
                    burst: 7.0,
                },
            )]),
            DEFAULT_DIRECTORY_BUDGET_SHARE,
        );
        let changed = budgets.limiter(key);
        assert!(!Arc::ptr_eq(&a, &changed));
        assert_eq!(changed.status().configured_rate, 7.0);
    }

    #[test]
    fn directory_look_ups_spend_only_their_share_of_the_budget() {
        let budgets = Budgets::with_directory_share(BTreeMap::new(), 0.5);
        let key = |operation: &str| BudgetKey::new(None, None, operation);
        let search = budgets.limiter(key("SearchRoutingProfiles")).status();
        assert_eq!(search.configured_rate, 1.0, "half of the assumed 2/s");
        assert_eq!(budgets.limit("ListQueues").map(|l| l.rate), Some(5.0));
        assert_eq!(
            budgets.limit("GetCurrentUserData").map(|l| l.rate),
            Some(2.0),
            "polls are not directory look-ups"
        );
        budgets.reconfigure(BTreeMap::new(), 0.1);
        let list = budgets.limit("ListRoutingProfileQueues").unwrap();
        assert_eq!(
            (list.rate, list.burst),
            (1.0, 1.0),
            "a burst of at least one request"
        );
    }
}
