//! The user-data source: GetCurrentUserData sweeps (chunks of at most 100 IDs, every page
//! followed, agents de-duplicated by user ID) and the request planner that decides which
//! queue sets one routing-profile sweep serves.

pub mod planner;

use std::sync::Arc;

use crate::connect::paging::{each_page, PagedRequest};
use crate::connect::{
    SourceError, SweepBudget, UserDataFilter, UserDataPages, MAX_QUEUES_PER_REQUEST,
};
use crate::model::AgentRecord;

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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use futures_util::future::BoxFuture;
    use tokio::time::Instant;

    use super::*;
    use crate::config::RateLimit;
    use crate::connect::budget::RateLimiter;
    use crate::connect::{RequestError, RequestOutcome, RetryPolicy, UserDataPage};
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
}
