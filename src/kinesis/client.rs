//! The real transport: ListShards, GetShardIterator and GetRecords through `aws-sdk-kinesis`,
//! configured like the Connect client (region, credential chain, role, endpoint override; the
//! SDK's own retries off, every attempt counted).

use std::time::Duration;

use aws_sdk_connect::config::Credentials;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use futures_util::future::BoxFuture;

use super::{RecordsPage, Shard, StartAt, StreamApi, StreamRecord, StreamSummary};
use crate::config::AgentEvents;
use crate::connect::{
    sdk_request_error, shared_config, AttemptCounter, RequestError, RequestLog, Service,
    SourceError, CONNECT_TIMEOUT,
};

/// Upper bound of one call: GetRecords answers at once, with or without records.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// One agent event stream's Kinesis client.
#[derive(Debug, Clone)]
pub struct KinesisStream {
    client: Client,
    /// The stream's name, unless the configuration gave its ARN.
    stream_name: Option<String>,
    stream_arn: Option<String>,
}

impl KinesisStream {
    /// Builds the client for `events`: its region, role and endpoint. `credentials` replaces
    /// the credential chain (the demo's static test keys). Every attempt is recorded in
    /// `requests`.
    pub async fn new(
        events: &AgentEvents,
        credentials: Option<Credentials>,
        requests: RequestLog,
    ) -> Result<Self, SourceError> {
        let shared = shared_config(
            &format!("agent event stream {}", events.stream_name),
            events.region.as_deref(),
            events.role_arn.as_deref(),
            credentials,
        )
        .await?;
        let timeouts = aws_sdk_kinesis::config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        // Retries are the reader's: it backs off on throttling and renews iterators itself.
        let mut config = aws_sdk_kinesis::config::Builder::from(&shared)
            .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
            .timeout_config(timeouts)
            .interceptor(AttemptCounter::new(requests));
        if let Some(url) = &events.endpoint_url {
            config = config.endpoint_url(url.clone());
        }
        let (stream_name, stream_arn) = match &events.stream_arn {
            Some(arn) => (None, Some(arn.clone())),
            None => (Some(events.stream_name.clone()), None),
        };
        Ok(Self {
            client: Client::from_conf(config.build()),
            stream_name,
            stream_arn,
        })
    }
}

impl StreamApi for KinesisStream {
    fn describe(&self) -> BoxFuture<'_, Result<StreamSummary, RequestError>> {
        Box::pin(async move {
            let output = self
                .client
                .describe_stream_summary()
                .set_stream_name(self.stream_name.clone())
                .set_stream_arn(self.stream_arn.clone())
                .send()
                .await
                .map_err(|error| {
                    sdk_request_error(error, "DescribeStreamSummary", Service::Kinesis)
                })?;
            let summary = output
                .stream_description_summary
                .ok_or_else(|| RequestError {
                    outcome: crate::connect::RequestOutcome::MalformedResponse,
                    code: None,
                    message: "DescribeStreamSummary answered without StreamDescriptionSummary"
                        .into(),
                })?;
            let encrypted = summary.encryption_type().map(|kind| kind.as_str()) == Some("KMS");
            Ok(StreamSummary {
                status: summary.stream_status().as_str().to_string(),
                open_shards: summary.open_shard_count(),
                kms_key: encrypted.then(|| summary.key_id().unwrap_or("(unnamed)").to_string()),
                consumers: summary.consumer_count(),
            })
        })
    }

    fn list_shards(&self) -> BoxFuture<'_, Result<Vec<Shard>, RequestError>> {
        Box::pin(async move {
            let mut shards = Vec::new();
            let mut next_token: Option<String> = None;
            loop {
                // A request with a NextToken names no stream: the token does.
                let request = match next_token.take() {
                    Some(token) => self.client.list_shards().next_token(token),
                    None => self
                        .client
                        .list_shards()
                        .set_stream_name(self.stream_name.clone())
                        .set_stream_arn(self.stream_arn.clone()),
                };
                let output = request
                    .send()
                    .await
                    .map_err(|error| sdk_request_error(error, "ListShards", Service::Kinesis))?;
                for shard in output.shards() {
                    let parents = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                        .into_iter()
                        .flatten()
                        .map(str::to_string)
                        .collect();
                    let open = shard
                        .sequence_number_range()
                        .is_none_or(|range| range.ending_sequence_number().is_none());
                    shards.push(Shard {
                        id: shard.shard_id().to_string(),
                        parents,
                        open,
                    });
                }
                match output.next_token() {
                    Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                    _ => return Ok(shards),
                }
            }
        })
    }

    fn shard_iterator<'a>(
        &'a self,
        shard: &'a str,
        at: &'a StartAt,
    ) -> BoxFuture<'a, Result<String, RequestError>> {
        Box::pin(async move {
            let request = self
                .client
                .get_shard_iterator()
                .set_stream_name(self.stream_name.clone())
                .set_stream_arn(self.stream_arn.clone())
                .shard_id(shard);
            let request = match at {
                StartAt::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
                StartAt::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
                StartAt::AfterSequence(sequence) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .starting_sequence_number(sequence),
            };
            let output = request
                .send()
                .await
                .map_err(|error| sdk_request_error(error, "GetShardIterator", Service::Kinesis))?;
            output.shard_iterator.ok_or_else(|| RequestError {
                outcome: crate::connect::RequestOutcome::MalformedResponse,
                code: None,
                message: format!("GetShardIterator of shard {shard} answered without an iterator"),
            })
        })
    }

    fn get_records(&self, iterator: String) -> BoxFuture<'_, Result<RecordsPage, RequestError>> {
        Box::pin(async move {
            let output = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .set_stream_arn(self.stream_arn.clone())
                .send()
                .await
                .map_err(|error| sdk_request_error(error, "GetRecords", Service::Kinesis))?;
            let child_shards = output
                .child_shards()
                .iter()
                .map(|child| Shard {
                    id: child.shard_id().to_string(),
                    parents: child.parent_shards().to_vec(),
                    open: true,
                })
                .collect();
            let millis_behind_latest = output.millis_behind_latest();
            let next_iterator = output.next_shard_iterator().map(str::to_string);
            // Taken apart rather than copied: the records keep the bytes the SDK decoded.
            let records = output
                .records
                .into_iter()
                .map(|record| StreamRecord {
                    sequence_number: record.sequence_number,
                    data: record.data.into_inner(),
                })
                .collect();
            Ok(RecordsPage {
                records,
                next_iterator,
                millis_behind_latest,
                child_shards,
            })
        })
    }
}
