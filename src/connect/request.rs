//! How a request to the Connect API went: its outcome (the `outcome` label), the count of
//! attempts per operation, and the errors a request or a sweep ends with.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// How one API request attempt ended: the `outcome` label of the request counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestOutcome {
    /// 2xx with a readable body.
    Success,
    /// HTTP 429, `ThrottlingException`, or Kinesis' `ProvisionedThroughputExceededException` and
    /// `LimitExceededException`.
    Throttled,
    /// Other 4xx: configuration or permission problems.
    ClientError,
    /// 5xx.
    ServerError,
    /// No answer within the timeout.
    Timeout,
    /// Connection refused, reset, DNS or TLS failures.
    NetworkError,
    /// A 2xx whose body could not be parsed at all (cut short, not JSON): usually the
    /// connection or something between, so another attempt may get a whole one.
    UnreadableResponse,
    /// A 2xx whose body was read but breaks the API's model (a required member missing): the
    /// same request would get the same answer.
    MalformedResponse,
}

impl RequestOutcome {
    /// Every outcome, in label order.
    pub const ALL: [RequestOutcome; 8] = [
        RequestOutcome::Success,
        RequestOutcome::Throttled,
        RequestOutcome::ClientError,
        RequestOutcome::ServerError,
        RequestOutcome::Timeout,
        RequestOutcome::NetworkError,
        RequestOutcome::UnreadableResponse,
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
            RequestOutcome::UnreadableResponse => "unreadable_response",
            RequestOutcome::MalformedResponse => "malformed_response",
        }
    }

    /// Whether another attempt may succeed: throttling, 5xx, timeouts, connection errors and
    /// bodies cut short. 4xx are configuration or permission problems, and a body that breaks
    /// the model will not heal.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            RequestOutcome::Throttled
                | RequestOutcome::ServerError
                | RequestOutcome::Timeout
                | RequestOutcome::NetworkError
                | RequestOutcome::UnreadableResponse
        )
    }

    /// Classifies a response by HTTP status and error code.
    pub fn from_status(status: u16, error_code: Option<&str>) -> Self {
        // Kinesis says ProvisionedThroughputExceededException (a shard's reads) and
        // LimitExceededException (the stream's listing calls) where Connect says 429.
        let throttled = matches!(
            error_code,
            Some(
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "LimitExceededException"
            )
        );
        if status == 429 || throttled {
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

impl RequestError {
    /// A request this transport cannot make (a test fixture without that operation).
    pub fn unsupported(operation: &str) -> Self {
        Self {
            outcome: RequestOutcome::ClientError,
            code: Some(UNSUPPORTED.into()),
            message: format!("{operation} is not available from this source"),
        }
    }

    /// Whether the operation itself is refused here (no IAM permission, not offered), as
    /// opposed to a request that failed: a fallback may do without it.
    pub fn is_refused(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDeniedException" | "UnknownOperationException" | UNSUPPORTED)
        )
    }
}

/// The code of [`RequestError::unsupported`].
const UNSUPPORTED: &str = "UnsupportedBySource";

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
    /// A GetMetricDataV2 request failed (after retries).
    #[error("GetMetricDataV2 for {noun} {first}..{last} of {total}, window {window} (page {page}) failed: {source}")]
    MetricData {
        /// `queues` or `routing profiles`.
        noun: &'static str,
        /// The window read.
        window: String,
        /// 1-based index of the first ID of the failed chunk.
        first: usize,
        /// 1-based index of its last.
        last: usize,
        /// IDs asked for in the read.
        total: usize,
        /// 1-based page number within the chunk.
        page: usize,
        /// The request's error.
        source: RequestError,
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(RequestOutcome::UnreadableResponse.is_retryable());
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
