//! A Kinesis data stream's shards and records, as plain data: where a partition key goes
//! (MD5 hash key into the open shard whose hash key range covers it), sequence numbers,
//! resharding (split, merge) and retention (the oldest records trimmed beyond a count). No I/O:
//! `api/kinesis.rs` serves it on the wire.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::hash_key;

/// The prefix of every sequence number; real ones are 56 decimal digits too, so a client that
/// tries to read them as a 64- or 128-bit integer fails here as it would on AWS.
const SEQUENCE_PREFIX: &str = "49";
/// Digits after [`SEQUENCE_PREFIX`].
const SEQUENCE_DIGITS: usize = 54;

/// A sequence number as Kinesis writes it: 56 decimal digits, ordered as strings and numbers.
pub(crate) fn format_sequence(sequence: u128) -> String {
    format!("{SEQUENCE_PREFIX}{sequence:0SEQUENCE_DIGITS$}")
}

/// The counter behind a sequence number of [`format_sequence`]'s form; `None` for others.
pub(crate) fn parse_sequence(text: &str) -> Option<u128> {
    let digits = text.strip_prefix(SEQUENCE_PREFIX)?;
    if digits.len() != SEQUENCE_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One record: what a producer put and when it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The stream-wide counter behind its sequence number.
    pub(crate) sequence: u128,
    /// Epoch seconds.
    pub(crate) arrival: f64,
    /// The payload (shared with duplicates).
    pub(crate) data: Bytes,
    pub(crate) partition_key: String,
}

/// One shard: a hash key range and the records put into it while it was open.
#[derive(Debug, Clone)]
pub(crate) struct Shard {
    /// `shardId-000000000000`.
    pub(crate) id: String,
    pub(crate) parent: Option<String>,
    /// The other parent of a merged shard.
    pub(crate) adjacent_parent: Option<String>,
    /// First hash key covered.
    pub(crate) hash_start: u128,
    /// Last hash key covered (inclusive).
    pub(crate) hash_end: u128,
    pub(crate) starting_sequence: u128,
    /// Set when the shard closed (split or merged): no record after it.
    pub(crate) ending_sequence: Option<u128>,
    /// Epoch seconds it opened and closed.
    pub(crate) opened: f64,
    pub(crate) closed: Option<f64>,
    /// Retained records, oldest first.
    pub(crate) records: VecDeque<Record>,
}

impl Shard {
    /// Index of the first retained record at or after `sequence`.
    pub(crate) fn position_of(&self, sequence: u128) -> usize {
        self.records.partition_point(|r| r.sequence < sequence)
    }
}

/// A stream: its shards (open and closed, in the order they were created) and its retention.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub(crate) name: String,
    pub(crate) arn: String,
    /// Epoch seconds.
    pub(crate) created: f64,
    pub(crate) shards: Vec<Shard>,
    /// The counter of the next record's sequence number.
    pub(crate) next_sequence: u128,
    /// At most this many records are kept over all shards.
    retention: usize,
    retained: usize,
}

impl Stream {
    /// A stream of `shards` open shards splitting the hash key space evenly, created at `now`.
    pub(crate) fn new(name: &str, arn: String, shards: usize, retention: usize, now: f64) -> Self {
        let count = shards.max(1) as u128;
        let width = u128::MAX / count;
        let shards = (0..count)
            .map(|index| Shard {
                id: shard_id(index as usize),
                parent: None,
                adjacent_parent: None,
                hash_start: index * width,
                hash_end: if index + 1 == count {
                    u128::MAX
                } else {
                    (index + 1) * width - 1
                },
                starting_sequence: 1,
                ending_sequence: None,
                opened: now,
                closed: None,
                records: VecDeque::new(),
            })
            .collect();
        Self {
            name: name.to_string(),
            arn,
            created: now,
            shards,
            next_sequence: 1,
            retention: retention.max(1),
            retained: 0,
        }
    }

    /// The shard called `id`.
    pub(crate) fn shard(&self, id: &str) -> Option<&Shard> {
        self.shards.iter().find(|shard| shard.id == id)
    }

    /// IDs of the open shards, in creation order.
    pub(crate) fn open_shards(&self) -> Vec<String> {
        let open = self.shards.iter().filter(|s| s.ending_sequence.is_none());
        open.map(|s| s.id.clone()).collect()
    }

    /// Shards created from `parent` (by a split, or a merge it took part in).
    pub(crate) fn children_of(&self, parent: &str) -> Vec<&Shard> {
        let is_child = |s: &&Shard| {
            s.parent.as_deref() == Some(parent) || s.adjacent_parent.as_deref() == Some(parent)
        };
        self.shards.iter().filter(is_child).collect()
    }

    /// Puts one record, routed by the MD5 hash of `partition_key`; returns the shard's ID and
    /// the record's sequence counter. The oldest records go beyond the retention.
    pub(crate) fn put(&mut self, partition_key: &str, data: Bytes, now: f64) -> (String, u128) {
        let hash = hash_key::hash_key(partition_key);
        let covers =
            |s: &Shard| s.ending_sequence.is_none() && (s.hash_start..=s.hash_end).contains(&hash);
        // The open shards always cover the whole hash key space, so this finds one; the first
        // shard is only a guard against a bookkeeping bug.
        let index = self.shards.iter().position(covers).unwrap_or(0);
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let shard = &mut self.shards[index];
        shard.records.push_back(Record {
            sequence,
            arrival: now,
            data,
            partition_key: partition_key.to_string(),
        });
        self.retained += 1;
        let id = shard.id.clone();
        while self.retained > self.retention {
            self.trim_oldest();
        }
        (id, sequence)
    }

    /// Drops the stream's oldest record (the smallest sequence number over all shards).
    fn trim_oldest(&mut self) {
        let oldest = self
            .shards
            .iter_mut()
            .filter(|s| !s.records.is_empty())
            .min_by_key(|s| s.records.front().map_or(u128::MAX, |r| r.sequence));
        if let Some(shard) = oldest {
            shard.records.pop_front();
            self.retained -= 1;
        } else {
            self.retained = 0;
        }
    }

    /// Closes open shard `id` and opens two children, each with half its hash key range;
    /// `None` if there is no such open shard or its range cannot be halved.
    pub(crate) fn split(&mut self, id: &str, now: f64) -> Option<(String, String)> {
        let parent = self.close(id, now, |s| s.hash_end > s.hash_start)?;
        let middle = parent.hash_start + (parent.hash_end - parent.hash_start) / 2;
        let low = self.open_child(&parent.id, None, (parent.hash_start, middle), now);
        let high = self.open_child(&parent.id, None, (middle + 1, parent.hash_end), now);
        Some((low, high))
    }

    /// Closes open shards `a` and `b`, whose hash key ranges must be adjacent, and opens one
    /// child covering both (parent `a`, adjacent parent `b`); `None` otherwise.
    pub(crate) fn merge(&mut self, a: &str, b: &str, now: f64) -> Option<String> {
        let find = |id: &str| {
            self.shards
                .iter()
                .find(|s| s.id == id && s.ending_sequence.is_none())
        };
        let (first, second) = (find(a)?, find(b)?);
        let adjacent = first.hash_end.checked_add(1) == Some(second.hash_start)
            || second.hash_end.checked_add(1) == Some(first.hash_start);
        if !adjacent || a == b {
            return None;
        }
        let range = (
            first.hash_start.min(second.hash_start),
            first.hash_end.max(second.hash_end),
        );
        self.close(a, now, |_| true)?;
        self.close(b, now, |_| true)?;
        Some(self.open_child(a, Some(b), range, now))
    }

    /// Closes open shard `id` if `allowed` holds for it; a copy of it as it closed.
    fn close(&mut self, id: &str, now: f64, allowed: impl Fn(&Shard) -> bool) -> Option<Shard> {
        let ending = self.next_sequence - 1;
        let shard = self
            .shards
            .iter_mut()
            .find(|s| s.id == id && s.ending_sequence.is_none() && allowed(s))?;
        shard.ending_sequence = Some(ending);
        shard.closed = Some(now);
        let mut copy = shard.clone();
        copy.records.clear();
        Some(copy)
    }

    /// Opens a new shard over `range`, created from `parent` (and `adjacent`).
    fn open_child(
        &mut self,
        parent: &str,
        adjacent: Option<&str>,
        range: (u128, u128),
        now: f64,
    ) -> String {
        let id = shard_id(self.shards.len());
        self.shards.push(Shard {
            id: id.clone(),
            parent: Some(parent.to_string()),
            adjacent_parent: adjacent.map(str::to_string),
            hash_start: range.0,
            hash_end: range.1,
            starting_sequence: self.next_sequence,
            ending_sequence: None,
            opened: now,
            closed: None,
            records: VecDeque::new(),
        });
        id
    }
}

/// The `index`-th shard's ID, as Kinesis names them.
fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(shards: usize, retention: usize) -> Stream {
        Stream::new("s", "arn".into(), shards, retention, 100.0)
    }

    #[test]
    fn sequence_numbers_round_trip_and_order_as_strings() {
        let (a, b) = (format_sequence(9), format_sequence(10));
        assert_eq!(a.len(), 56);
        assert!(a < b);
        assert_eq!(parse_sequence(&b), Some(10));
        assert_eq!(parse_sequence("4910"), None);
        assert_eq!(parse_sequence(&a.replace('9', "x")), None);
    }

    #[test]
    fn shards_cover_the_hash_key_space_and_keys_go_by_md5() {
        let mut stream = stream(3, 100);
        assert_eq!(stream.shards[0].hash_start, 0);
        assert_eq!(stream.shards[2].hash_end, u128::MAX);
        for pair in stream.shards.windows(2) {
            assert_eq!(pair[0].hash_end + 1, pair[1].hash_start);
        }
        for key in ["a", "b", "agent/1", "agent/2", "agent/3"] {
            let (shard, _) = stream.put(key, Bytes::from_static(b"x"), 100.0);
            let hash = hash_key::hash_key(key);
            let owner = stream.shard(&shard).unwrap();
            assert!((owner.hash_start..=owner.hash_end).contains(&hash), "{key}");
            // The same key always goes to the same shard.
            assert_eq!(stream.put(key, Bytes::new(), 100.0).0, shard);
        }
    }

    #[test]
    fn split_and_merge_keep_the_books() {
        let mut stream = stream(2, 100);
        stream.put("k", Bytes::new(), 1.0);
        let (low, high) = stream.split("shardId-000000000000", 2.0).unwrap();
        assert_eq!(
            (low.as_str(), high.as_str()),
            ("shardId-000000000002", "shardId-000000000003")
        );
        let parent = stream.shard("shardId-000000000000").unwrap();
        assert_eq!(parent.ending_sequence, Some(1));
        assert_eq!(parent.closed, Some(2.0));
        let (l, h) = (stream.shard(&low).unwrap(), stream.shard(&high).unwrap());
        assert_eq!(l.parent.as_deref(), Some("shardId-000000000000"));
        assert_eq!(
            (l.hash_start, h.hash_end),
            (parent.hash_start, parent.hash_end)
        );
        assert_eq!(l.hash_end + 1, h.hash_start);
        assert_eq!(l.starting_sequence, 2);
        assert!(
            stream.split("shardId-000000000000", 3.0).is_none(),
            "closed"
        );
        assert_eq!(stream.children_of("shardId-000000000000").len(), 2);
        // The high child and the second original shard are adjacent; the low one is not.
        assert!(stream.merge(&low, "shardId-000000000001", 3.0).is_none());
        let merged = stream.merge(&high, "shardId-000000000001", 3.0).unwrap();
        let child = stream.shard(&merged).unwrap();
        assert_eq!(child.parent.as_deref(), Some(high.as_str()));
        assert_eq!(
            child.adjacent_parent.as_deref(),
            Some("shardId-000000000001")
        );
        assert_eq!(child.hash_end, u128::MAX);
        assert_eq!(stream.open_shards(), vec![low.clone(), merged.clone()]);
        // Every key still finds an open shard covering it.
        for key in 0..50 {
            let (shard, _) = stream.put(&format!("agent/{key}"), Bytes::new(), 4.0);
            assert!(shard == low || shard == merged);
        }
    }

    #[test]
    fn the_oldest_records_are_trimmed_beyond_the_retention() {
        let mut stream = stream(2, 5);
        for key in 0..12 {
            stream.put(&format!("k{key}"), Bytes::new(), 1.0);
        }
        let mut kept: Vec<u128> = stream
            .shards
            .iter()
            .flat_map(|s| s.records.iter().map(|r| r.sequence))
            .collect();
        kept.sort_unstable();
        assert_eq!(kept, vec![8, 9, 10, 11, 12]);
        let shard = &stream.shards[0];
        // A position before the trim point reads from the trim point.
        assert_eq!(shard.position_of(0), 0);
    }
}
