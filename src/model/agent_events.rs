//! Plain data of the agent event stream: one decoded agent event, and what a batch of events
//! adds to each queue set's counters and histograms. No I/O.

use std::collections::BTreeMap;

use super::{ApiValue, TargetKey};

/// The agent contact states whose arrival the event families count.
pub const COUNTED_CONTACT_STATES: [&str; 4] = ["MISSED", "REJECTED", "ERROR", "ENDED"];

/// Upper bounds of the time-in-status histogram, seconds: statuses last from seconds (a missed
/// contact's error state) to hours (a shift's Available, Offline overnight).
pub const STATUS_DURATION_BUCKETS: [f64; 14] = [
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14_400.0, 28_800.0,
    86_400.0,
];

/// The `EventType` of an agent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEventType {
    /// `LOGIN`.
    Login,
    /// `LOGOUT`.
    Logout,
    /// `STATE_CHANGE`: status, a contact's state or the configuration changed.
    StateChange,
    /// `HEART_BEAT`: nothing changed for 120 s.
    HeartBeat,
    /// A type newer than this exporter, kept as sent.
    Other(String),
}

impl AgentEventType {
    /// The type named `name` in the record.
    pub fn from_api(name: &str) -> Self {
        match name {
            "LOGIN" => Self::Login,
            "LOGOUT" => Self::Logout,
            "STATE_CHANGE" => Self::StateChange,
            "HEART_BEAT" => Self::HeartBeat,
            other => Self::Other(other.to_string()),
        }
    }
}

/// An agent's status ending: from which to which, after how long.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// The previous snapshot's `AgentStatus.Name`.
    pub from: String,
    /// The current snapshot's `AgentStatus.Name`.
    pub to: String,
    /// Seconds in `from`: the new status's start less the old one's; `None` when a start is
    /// missing or the difference is negative (clocks of two systems).
    pub seconds_in_from: Option<f64>,
}

/// A contact of the agent that entered one of [`COUNTED_CONTACT_STATES`] with this event.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactStateReached {
    /// `Channel` (`VOICE`, `CHAT`, ...), as sent.
    pub channel: ApiValue,
    /// The state entered (`MISSED`, ...), as sent.
    pub state: ApiValue,
    /// The contact's `Queue` ID, when it has one.
    pub queue_id: Option<String>,
}

/// One agent event, reduced to what the metrics need.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentEvent {
    /// `EventId`: the de-duplication key (Kinesis delivers at least once).
    pub event_id: String,
    /// `EventType`.
    pub event_type: AgentEventType,
    /// `EventTimestamp`, epoch seconds.
    pub timestamp: f64,
    /// The instance ID of `InstanceARN`.
    pub instance_id: String,
    /// The routing profile ID of the current snapshot (else the previous one's).
    pub routing_profile_id: Option<String>,
    /// The queue IDs of that routing profile (`InboundQueues`), as the event lists them.
    pub inbound_queue_ids: Vec<String>,
    /// The IDs of the agent's hierarchy groups, level one down (`AgentHierarchyGroups`).
    pub hierarchy_group_ids: Vec<String>,
    /// Set when the agent's status changed with this event.
    pub status_change: Option<StatusChange>,
    /// The agent's contacts that entered a counted state with this event.
    pub contact_states_reached: Vec<ContactStateReached>,
}

/// A histogram of seconds over [`STATUS_DURATION_BUCKETS`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DurationHistogram {
    /// Observations at or below each bound (not cumulative), then above the last.
    pub buckets: [u64; STATUS_DURATION_BUCKETS.len() + 1],
    /// Sum of the observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl DurationHistogram {
    /// Adds one observation.
    pub fn observe(&mut self, seconds: f64) {
        let index = STATUS_DURATION_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(STATUS_DURATION_BUCKETS.len());
        self.buckets[index] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    /// Adds every observation of `other`.
    pub fn merge(&mut self, other: &DurationHistogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }

    /// `(upper bound, observations at or below it)` for each bound, then `+Inf`: the
    /// cumulative buckets of the exposition format.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = STATUS_DURATION_BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY));
        bounds.zip(self.buckets.iter().scan(0, |total, count| {
            *total += count;
            Some(*total)
        }))
    }
}

/// What events added to one queue set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetEventCounts {
    /// Status changes by (from, to).
    pub transitions: BTreeMap<(String, String), u64>,
    /// Time spent in a status when it ended, by that status.
    pub status_durations: BTreeMap<String, DurationHistogram>,
    /// `LOGIN` events.
    pub logins: u64,
    /// `LOGOUT` events.
    pub logouts: u64,
    /// Contacts that entered a counted state, by (queue ID or `""`, channel, state).
    pub contact_states: BTreeMap<(String, ApiValue, ApiValue), u64>,
}

impl SetEventCounts {
    /// Adds what `event` says.
    pub fn add(&mut self, event: &AgentEvent) {
        match event.event_type {
            AgentEventType::Login => self.logins += 1,
            AgentEventType::Logout => self.logouts += 1,
            _ => {}
        }
        if let Some(change) = &event.status_change {
            *self
                .transitions
                .entry((change.from.clone(), change.to.clone()))
                .or_default() += 1;
            if let Some(seconds) = change.seconds_in_from {
                self.status_durations
                    .entry(change.from.clone())
                    .or_default()
                    .observe(seconds);
            }
        }
        for reached in &event.contact_states_reached {
            let queue = reached.queue_id.clone().unwrap_or_default();
            *self
                .contact_states
                .entry((queue, reached.channel.clone(), reached.state.clone()))
                .or_default() += 1;
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &SetEventCounts) {
        for (pair, count) in &other.transitions {
            *self.transitions.entry(pair.clone()).or_default() += count;
        }
        for (status, histogram) in &other.status_durations {
            self.status_durations
                .entry(status.clone())
                .or_default()
                .merge(histogram);
        }
        self.logins += other.logins;
        self.logouts += other.logouts;
        for (key, count) in &other.contact_states {
            *self.contact_states.entry(key.clone()).or_default() += count;
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        *self == SetEventCounts::default()
    }
}

/// The health of one shard's reader, as of its last GetRecords.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShardHealth {
    /// Records read, duplicates and undecodable ones included.
    pub records: u64,
    /// Agent events counted: records read less repeats and undecodable ones.
    pub events: u64,
    /// Records whose `EventId` had been read already (Kinesis delivers at least once).
    pub duplicates: u64,
    /// Records that were not an agent event this exporter can read.
    pub undecodable: u64,
    /// `MillisBehindLatest` of the last GetRecords, in seconds.
    pub behind_latest_seconds: Option<f64>,
    /// At the last GetRecords that returned events: read time less the newest `EventTimestamp`.
    pub lag_seconds: Option<f64>,
    /// When GetRecords last answered, epoch seconds.
    pub last_read_at: Option<f64>,
    /// Whether the shard was read to its end (closed by a reshard); its children follow.
    pub finished: bool,
    /// Why the last read of the shard failed, until one works.
    pub error: Option<String>,
}

/// The state of one stream's reader: per shard, and whether it is reading.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamHealth {
    /// The stream's name (the `stream` label).
    pub stream: String,
    /// The instances it is read for, by config name.
    pub instances: Vec<String>,
    /// Whether the last listing of shards and every shard's last read succeeded.
    pub up: bool,
    /// Why not, when not.
    pub error: Option<String>,
    /// Each shard read so far, by shard ID.
    pub shards: BTreeMap<String, ShardHealth>,
    /// Request attempts to Kinesis by (operation, outcome label).
    pub requests: BTreeMap<(String, String), u64>,
}

/// What a batch of an instance's events added, by queue set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventBatch {
    /// Counts by queue set; a set without events may be absent.
    pub sets: Vec<(TargetKey, SetEventCounts)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_inclusive_upper_bounds_and_cumulative() {
        let mut histogram = DurationHistogram::default();
        for seconds in [0.5, 5.0, 5.1, 100_000.0] {
            histogram.observe(seconds);
        }
        let cumulative: Vec<(f64, u64)> = histogram.cumulative().collect();
        assert_eq!(cumulative[0], (5.0, 2));
        assert_eq!(cumulative[1], (15.0, 3));
        assert_eq!(cumulative[13], (86_400.0, 3));
        assert_eq!(cumulative[14], (f64::INFINITY, 4));
        assert_eq!(histogram.count, 4);
        assert!((histogram.sum - 100_010.6).abs() < 1e-9);
    }

    #[test]
    fn counts_add_logins_transitions_durations_and_contact_states() {
        let event = AgentEvent {
            event_id: "e".into(),
            event_type: AgentEventType::Logout,
            timestamp: 10.0,
            instance_id: "i".into(),
            routing_profile_id: Some("rp".into()),
            inbound_queue_ids: vec![],
            hierarchy_group_ids: vec![],
            status_change: Some(StatusChange {
                from: "Available".into(),
                to: "Offline".into(),
                seconds_in_from: Some(42.0),
            }),
            contact_states_reached: vec![ContactStateReached {
                channel: "VOICE".into(),
                state: "MISSED".into(),
                queue_id: Some("q".into()),
            }],
        };
        let mut counts = SetEventCounts::default();
        counts.add(&event);
        let mut total = SetEventCounts::default();
        total.merge(&counts);
        total.merge(&counts);
        assert_eq!(total.logouts, 2);
        assert_eq!(total.logins, 0);
        assert_eq!(
            total.transitions[&("Available".to_string(), "Offline".to_string())],
            2
        );
        assert_eq!(total.status_durations["Available"].count, 2);
        assert_eq!(
            total.contact_states[&("q".to_string(), "VOICE".into(), "MISSED".into())],
            2
        );
        assert!(!total.is_empty());
        assert!(SetEventCounts::default().is_empty());
    }
}
