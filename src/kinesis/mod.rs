//! Everything that talks to Kinesis Data Streams, for the agent event stream: the SDK client
//! ([`KinesisStream`], on `aws-sdk-kinesis`, with the credential chain and role assumption the
//! Connect client uses) behind the small [`StreamApi`] trait, so that the reader in
//! [`crate::poll`] can be tested with fixtures. Knows nothing of agent events or Prometheus.
//!
//! The client is compiled with the `agent-events` cargo feature (on by default); a build
//! without it has no Kinesis client and refuses a configuration that asks for one.

#[cfg(feature = "agent-events")]
mod client;

#[cfg(feature = "agent-events")]
pub use client::KinesisStream;

use futures_util::future::BoxFuture;

use crate::connect::RequestError;

/// What DescribeStreamSummary says of a stream (`check-config --online` asks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// `StreamStatus`: ACTIVE, CREATING, DELETING or UPDATING.
    pub status: String,
    /// `OpenShardCount`.
    pub open_shards: i32,
    /// `KeyId` when the stream is encrypted with KMS (`EncryptionType` KMS): reading it needs
    /// `kms:Decrypt` on that key.
    pub kms_key: Option<String>,
    /// `ConsumerCount`: enhanced fan-out consumers registered (they do not share the shards'
    /// read throughput).
    pub consumers: Option<i32>,
}

/// One shard of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// `ShardId`.
    pub id: String,
    /// The shards it was split or merged from (`ParentShardId`, `AdjacentParentShardId`).
    pub parents: Vec<String>,
    /// Whether records can still be added: a closed shard was split or merged, and its
    /// records up to the end are still read before its children's.
    pub open: bool,
}

/// Where a shard iterator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAt {
    /// After the newest record: what a reader that starts now sees.
    Latest,
    /// At the oldest record kept: a child shard, read whole after its parents.
    TrimHorizon,
    /// After a record already read: an iterator renewed where the last one stopped.
    AfterSequence(String),
}

/// One record of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// `SequenceNumber`, where a renewed iterator continues.
    pub sequence_number: String,
    /// `Data`, the producer's bytes.
    pub data: Vec<u8>,
}

/// One GetRecords answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordsPage {
    /// The records, oldest first.
    pub records: Vec<StreamRecord>,
    /// Where to read next; `None` once a closed shard has been read to its end.
    pub next_iterator: Option<String>,
    /// How far behind the shard's newest record this answer is, in milliseconds.
    pub millis_behind_latest: Option<i64>,
    /// The shards that continue a closed shard (with its end).
    pub child_shards: Vec<Shard>,
}

/// The calls the agent event reader makes of one stream.
pub trait StreamApi: Send + Sync {
    /// The stream's status, shards and encryption (DescribeStreamSummary).
    fn describe(&self) -> BoxFuture<'_, Result<StreamSummary, RequestError>>;

    /// Every shard of the stream (ListShards, all pages).
    fn list_shards(&self) -> BoxFuture<'_, Result<Vec<Shard>, RequestError>>;

    /// An iterator of `shard` starting `at` (GetShardIterator).
    fn shard_iterator<'a>(
        &'a self,
        shard: &'a str,
        at: &'a StartAt,
    ) -> BoxFuture<'a, Result<String, RequestError>>;

    /// The records at `iterator` (GetRecords).
    fn get_records(&self, iterator: String) -> BoxFuture<'_, Result<RecordsPage, RequestError>>;
}

/// The error code of an iterator past its five minutes: get a new one.
pub const EXPIRED_ITERATOR: &str = "ExpiredIteratorException";
