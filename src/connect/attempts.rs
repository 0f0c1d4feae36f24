//! An SDK interceptor that records every request attempt, retries included, by operation and
//! outcome. Counting attempts rather than calls is what tells operators how much of the
//! account's shared API budget the exporter really spends.

use aws_sdk_connect::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_connect::error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use super::{RequestLog, RequestOutcome};

/// Records each attempt into a [`RequestLog`].
#[derive(Debug)]
pub struct AttemptCounter {
    log: RequestLog,
}

impl AttemptCounter {
    /// An interceptor writing to `log`.
    pub fn new(log: RequestLog) -> Self {
        Self { log }
    }
}

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "AttemptCounter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("unknown", |metadata| metadata.name());
        self.log.record(operation, classify(context));
        Ok(())
    }
}

fn classify(context: &FinalizerInterceptorContextRef<'_>) -> RequestOutcome {
    match (context.response(), context.output_or_error()) {
        (Some(response), result) => {
            let error_type = response
                .headers()
                .get("x-amzn-errortype")
                .map(|value| value.split(':').next().unwrap_or(value));
            let outcome = RequestOutcome::from_status(response.status().as_u16(), error_type);
            // A 2xx that failed anyway could not be deserialized.
            if outcome == RequestOutcome::Success && matches!(result, Some(Err(_))) {
                RequestOutcome::UnreadableResponse
            } else {
                outcome
            }
        }
        (None, Some(Err(error)))
            if error.is_timeout_error()
                || error
                    .as_connector_error()
                    .is_some_and(|connector| connector.is_timeout()) =>
        {
            RequestOutcome::Timeout
        }
        (None, _) => RequestOutcome::NetworkError,
    }
}
