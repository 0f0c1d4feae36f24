//! Calls the Connect API and returns plain snapshots. Knows nothing of Prometheus.
//!
//! [`sweep_queues`] owns the request plan of a queue-filtered sweep (chunks of at most 100
//! queues, every page followed, agents de-duplicated by user ID); the transport sits behind the
//! [`UserDataPages`] trait so tests can swap in fixtures. [`connect::ConnectSource`] is the real
//! one, on `aws-sdk-connect`.

pub mod attempts;
pub mod connect;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;

use crate::model::AgentRecord;

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
        "GetCurrentUserData for queues {first}..{last} of {total} (page {page}) failed: {source}"
    )]
    Request {
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
    /// The service returned the same NextToken twice, or more pages than any instance can have.
    #[error("GetCurrentUserData for queues {first}..{last} did not stop paging ({reason}); the poll was abandoned")]
    Paging {
        /// 1-based index of the first queue of the chunk.
        first: usize,
        /// 1-based index of its last queue.
        last: usize,
        /// What looked wrong.
        reason: String,
    },
    /// The client for this instance could not be set up.
    #[error("{0}")]
    Setup(String),
}

/// Fetches pages of GetCurrentUserData filtered by queues.
pub trait UserDataPages: Send + Sync {
    /// Fetches one page for `queue_ids` (at most [`MAX_QUEUES_PER_REQUEST`]).
    fn fetch_page<'a>(
        &'a self,
        queue_ids: &'a [String],
        next_token: Option<String>,
    ) -> BoxFuture<'a, Result<UserDataPage, RequestError>>;
}

/// Fetches every agent serving any of `queue_ids`: chunks of at most 100 queues, every page of
/// every chunk, each agent once (an agent whose profile serves queues in several chunks comes
/// back from each of them, with the same data).
pub async fn sweep_queues(
    pages: &dyn UserDataPages,
    queue_ids: &[String],
) -> Result<Vec<AgentRecord>, SourceError> {
    let mut agents = Vec::new();
    let mut seen_users = HashSet::new();
    let total = queue_ids.len();
    for (chunk_index, chunk) in queue_ids.chunks(MAX_QUEUES_PER_REQUEST).enumerate() {
        let first = chunk_index * MAX_QUEUES_PER_REQUEST + 1;
        let last = first + chunk.len() - 1;
        let mut next_token: Option<String> = None;
        let mut tokens_seen = HashSet::new();
        for page_number in 1..=MAX_PAGES_PER_CHUNK + 1 {
            if page_number > MAX_PAGES_PER_CHUNK {
                return Err(SourceError::Paging {
                    first,
                    last,
                    reason: format!("more than {MAX_PAGES_PER_CHUNK} pages"),
                });
            }
            let page = pages
                .fetch_page(chunk, next_token.take())
                .await
                .map_err(|source| SourceError::Request {
                    first,
                    last,
                    total,
                    page: page_number,
                    source,
                })?;
            for agent in page.agents {
                if seen_users.insert(agent.user_id.clone()) {
                    agents.push(agent);
                }
            }
            match page.next_token {
                Some(token) if !tokens_seen.insert(token.clone()) => {
                    return Err(SourceError::Paging {
                        first,
                        last,
                        reason: format!("NextToken {token:?} came back twice"),
                    });
                }
                Some(token) => next_token = Some(token),
                None => break,
            }
        }
    }
    Ok(agents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Serves agents `agent{n}` where n serves queue `q{n % modulo}`, `per_page` per page, and
    /// records every request.
    struct FakePages {
        agents_per_queue: usize,
        per_page: usize,
        requests: Mutex<Vec<(usize, Option<String>)>>,
        fail_on_request: Option<usize>,
        loop_token: bool,
    }

    impl FakePages {
        fn new(agents_per_queue: usize, per_page: usize) -> Self {
            Self {
                agents_per_queue,
                per_page,
                requests: Mutex::new(Vec::new()),
                fail_on_request: None,
                loop_token: false,
            }
        }
    }

    impl UserDataPages for FakePages {
        fn fetch_page<'a>(
            &'a self,
            queue_ids: &'a [String],
            next_token: Option<String>,
        ) -> BoxFuture<'a, Result<UserDataPage, RequestError>> {
            Box::pin(async move {
                let mut requests = self.requests.lock().unwrap();
                requests.push((queue_ids.len(), next_token.clone()));
                if self.fail_on_request == Some(requests.len()) {
                    return Err(RequestError {
                        outcome: RequestOutcome::ServerError,
                        code: Some("InternalServiceException".into()),
                        message: "boom".into(),
                    });
                }
                // Every queue is served by the same `agents_per_queue` agents, so every chunk
                // returns the same agents: the worst case for de-duplication.
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

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn chunks_of_one_hundred_every_page_and_agents_once() {
        let fake = FakePages::new(25, 10);
        let agents = block_on(sweep_queues(&fake, &queues(250))).unwrap();
        assert_eq!(agents.len(), 25);
        let requests = fake.requests.lock().unwrap().clone();
        let chunk_sizes: Vec<usize> = requests.iter().map(|(n, _)| *n).collect();
        assert_eq!(chunk_sizes, vec![100, 100, 100, 100, 100, 100, 50, 50, 50]);
        let tokens: Vec<Option<&str>> = requests[..3].iter().map(|(_, t)| t.as_deref()).collect();
        assert_eq!(tokens, vec![None, Some("10"), Some("20")]);
    }

    #[test]
    fn a_failed_page_fails_the_sweep_and_names_the_chunk() {
        let mut fake = FakePages::new(25, 10);
        fake.fail_on_request = Some(5);
        let error = block_on(sweep_queues(&fake, &queues(250))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "GetCurrentUserData for queues 101..200 of 250 (page 2) failed: boom"
        );
    }

    #[test]
    fn a_repeated_next_token_stops_the_sweep() {
        let mut fake = FakePages::new(25, 10);
        fake.loop_token = true;
        let error = block_on(sweep_queues(&fake, &queues(3))).unwrap_err();
        assert!(matches!(error, SourceError::Paging { .. }), "{error}");
        assert_eq!(fake.requests.lock().unwrap().len(), 2);
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
