//! The simulator's handles on the agent event stream and its clock, for tests: resharding,
//! on-demand throttling and iterator expiry, the record of truth, and thawing a frozen clock.

use std::sync::atomic::Ordering;

use crate::{PublishedAgentEvent, Simulator};

impl Simulator {
    /// Splits open shard `shard_id` of the agent event stream as `SplitShard` at the middle of
    /// its hash key range would: the parent closes at the current end of the stream and two
    /// children open, each with half the range and `ParentShardId` set; new events for the
    /// range go to the children. Their IDs (low half first), or `None` without such an open
    /// shard or without the stream.
    pub fn split_shard(&self, shard_id: &str) -> Option<(String, String)> {
        self.service.change_world(|world| {
            let now = world.now;
            let events = world.agent_events.as_mut()?;
            events.stream.split(shard_id, now)
        })
    }

    /// Merges open shards `a` and `b` (adjacent hash key ranges) as `MergeShards` would: both
    /// close, and a child covering both opens with `ParentShardId` `a` and
    /// `AdjacentParentShardId` `b`. Its ID, or `None` if the shards are not open and adjacent.
    pub fn merge_shards(&self, a: &str, b: &str) -> Option<String> {
        self.service.change_world(|world| {
            let now = world.now;
            let events = world.agent_events.as_mut()?;
            events.stream.merge(a, b, now)
        })
    }

    /// IDs of the agent event stream's open shards, in creation order (empty without it).
    pub fn open_shards(&self) -> Vec<String> {
        self.service.with_world(|world| {
            let events = world.agent_events.as_ref();
            events
                .map(|events| events.stream.open_shards())
                .unwrap_or_default()
        })
    }

    /// Answers this share (0 to 1) of GetRecords calls with
    /// `ProvisionedThroughputExceededException`, on top of the real limit of 5 calls per shard
    /// per second. Deterministic: rate 1 throttles every call, 0.5 every second one, 0 none.
    pub fn set_get_records_throttle_rate(&self, rate: f64) {
        self.service.kinesis.set_throttle_rate(rate);
    }

    /// Expires every shard iterator issued so far: GetRecords with one answers
    /// `ExpiredIteratorException` (as for one older than 5 minutes), and the client must get
    /// a new one.
    pub fn expire_shard_iterators(&self) {
        self.service.kinesis.expire_iterators();
    }

    /// Every event published to the agent event stream, in publish order (duplicates
    /// included, flagged), computed from the world's changes rather than from the published
    /// JSON. Bounded like the stream: the oldest beyond `retention_records` are gone. Empty
    /// without the stream.
    pub fn agent_event_log(&self) -> Vec<PublishedAgentEvent> {
        self.service.with_world(|world| {
            let events = world.agent_events.as_ref();
            events.map(|events| events.log()).unwrap_or_default()
        })
    }

    /// Records published to the agent event stream so far, duplicates included (trimmed ones
    /// too).
    pub fn agent_events_published(&self) -> u64 {
        self.service.with_world(|world| {
            let events = world.agent_events.as_ref();
            events.map_or(0, |events| events.published())
        })
    }

    /// Starts the clock again after [`Simulator::freeze`] (or `frozen`): it resumes from where
    /// it stood and then follows real time, so the time it was frozen is skipped rather than
    /// caught up on (no burst of ticks or events).
    pub fn thaw(&self) {
        self.service.thaw();
    }

    /// Whether the clock is stopped.
    pub fn is_frozen(&self) -> bool {
        self.service.frozen.load(Ordering::Relaxed)
    }
}
