//! Reads one agent event stream for every instance that publishes to it: lists the shards,
//! reads each open one from LATEST at the configured interval, follows a reshard (a closed
//! shard is read to its end, then its children from their start once all their parents are
//! done), backs off when the shard's throughput is used up, renews iterators that expired, and
//! drops repeated records by `EventId`. Every second that events came (or a shard failed or
//! recovered), their counts and the stream's health go to the sink; otherwise the health alone
//! every [`IDLE_HEALTH_INTERVAL`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, info_span, warn, Instrument};

use super::clock::WallClock;
use super::event_subscribers::Subscribers;
use super::scheduler::{until_or_stopped, PollSink};
use crate::config::AgentEvents;
use crate::connect::{RequestError, RequestLog, RequestOutcome};
use crate::kinesis::{RecordsPage, Shard, StartAt, StreamApi, EXPIRED_ITERATOR};
use crate::model::agent_events::{EventBatch, ShardHealth, StreamHealth};
use crate::sources::agent_events::{decode, RecentEventIds};

/// How often counts are handed over while events flow: the event families are never staler.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// How often the health alone is handed over while no event comes (each hand-over publishes
/// the whole exposition again).
pub const IDLE_HEALTH_INTERVAL: Duration = Duration::from_secs(10);
/// The longest wait after failures; waits double from the read interval up to it.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Event IDs remembered to find repeats: minutes of a large centre's events...
const RECENT_IDS: usize = 200_000;
/// ...and none of an event more than ten minutes older than the newest.
const RECENT_WINDOW_SECONDS: f64 = 600.0;
/// An undecodable record is logged as a warning the first time on a shard and every this
/// many after (each one at debug).
const UNDECODABLE_WARN_EVERY: u64 = 1000;

/// One stream as the scheduler starts it.
pub(super) struct StreamRun {
    pub(super) settings: AgentEvents,
    pub(super) api: Arc<dyn StreamApi>,
    pub(super) requests: RequestLog,
    pub(super) subscribers: Arc<Subscribers>,
    pub(super) sink: Arc<dyn PollSink>,
    pub(super) clock: WallClock,
}

/// What the shard readers of a stream share.
struct Shared {
    health: Mutex<StreamHealth>,
    recent: Mutex<RecentEventIds>,
    subscribers: Arc<Subscribers>,
    clock: WallClock,
    /// Whether events came, or a shard failed or recovered, since the last hand-over.
    changed: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn health(&self) -> std::sync::MutexGuard<'_, StreamHealth> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shard_error(&self, shard: &str, error: Option<String>) {
        let mut health = self.health();
        let entry = health.shards.entry(shard.to_string()).or_default();
        if entry.error != error {
            self.changed
                .store(true, std::sync::atomic::Ordering::Relaxed);
            match &error {
                Some(message) => {
                    warn!(shard, error = %message, "reading the shard failed; retrying")
                }
                None => info!(shard, "reading the shard works again"),
            }
        }
        entry.error = error;
    }
}

/// How a shard reader ended.
struct ShardEnd {
    shard: String,
    /// The shards that continue it (empty when it was told to stop).
    children: Vec<Shard>,
}

/// Reads the stream of `run` until `stopped`.
pub(super) async fn stream_loop(run: StreamRun, mut stopped: watch::Receiver<bool>) {
    let span = info_span!("agent_events", stream = %run.settings.stream_name);
    let shared = Arc::new(Shared {
        health: Mutex::new(StreamHealth {
            stream: run.settings.stream_name.clone(),
            ..StreamHealth::default()
        }),
        recent: Mutex::new(RecentEventIds::new(RECENT_IDS, RECENT_WINDOW_SECONDS)),
        subscribers: Arc::clone(&run.subscribers),
        clock: run.clock,
        changed: std::sync::atomic::AtomicBool::new(false),
    });
    let Some(shards) = list_shards(&run, &shared, &mut stopped)
        .instrument(span.clone())
        .await
    else {
        return;
    };
    let open: Vec<&Shard> = shards.iter().filter(|shard| shard.open).collect();
    span.in_scope(|| {
        info!(
            shards = open.len(),
            instances = ?run.subscribers.instances(),
            "reading the agent event stream from its newest records"
        )
    });
    let mut readers = JoinSet::new();
    let mut started = BTreeSet::new();
    for shard in open {
        started.insert(shard.id.clone());
        let reader = read_shard(
            Arc::clone(&run.api),
            run.settings.read_interval,
            Arc::clone(&shared),
            shard.id.clone(),
            StartAt::Latest,
            stopped.clone(),
        );
        readers.spawn(reader.instrument(span.clone()));
    }
    let mut finished = BTreeSet::new();
    let mut waiting: Vec<Shard> = Vec::new();
    let mut flush = tokio::time::interval(FLUSH_INTERVAL);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_health = Instant::now();
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = flush.tick() => {
                hand_over(&run, &shared, &mut last_health).instrument(span.clone()).await;
            }
            Some(ended) = readers.join_next() => {
                let ended = match ended {
                    Ok(ended) => ended,
                    // A reader that panicked takes the stream down, to be restarted whole by
                    // the supervisor rather than left reading some shards and not others.
                    Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                    Err(_) => return,
                };
                if ended.children.is_empty() && !*stopped.borrow() {
                    debug!(shard = %ended.shard, "shard reader ended");
                }
                shared.health().shards.entry(ended.shard.clone()).or_default().finished = true;
                finished.insert(ended.shard);
                for child in ended.children {
                    if !started.contains(&child.id) && !waiting.iter().any(|w| w.id == child.id) {
                        waiting.push(child);
                    }
                }
                // A merged shard waits for both its parents: its first records follow theirs.
                let (ready, still): (Vec<Shard>, Vec<Shard>) = waiting
                    .drain(..)
                    .partition(|child| child.parents.iter().all(|p| finished.contains(p) || !started.contains(p)));
                waiting = still;
                for child in ready {
                    span.in_scope(|| info!(shard = %child.id, parents = ?child.parents, "following a reshard"));
                    started.insert(child.id.clone());
                    let reader = read_shard(
                        Arc::clone(&run.api),
                        run.settings.read_interval,
                        Arc::clone(&shared),
                        child.id,
                        StartAt::TrimHorizon,
                        stopped.clone(),
                    );
                    readers.spawn(reader.instrument(span.clone()));
                }
            }
        }
    }
}

/// Lists the shards, retrying with backoff until it works; `None` when told to stop first.
async fn list_shards(
    run: &StreamRun,
    shared: &Shared,
    stopped: &mut watch::Receiver<bool>,
) -> Option<Vec<Shard>> {
    let mut failures = 0;
    loop {
        match run.api.list_shards().await {
            Ok(shards) => {
                shared.health().error = None;
                // The first hand-over says so at once: the sets' event families start at 0.
                shared
                    .changed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                return Some(shards);
            }
            Err(failure) => {
                failures += 1;
                error!(error = %failure, "cannot list the agent event stream's shards; retrying");
                shared.health().error = Some(format!("ListShards failed: {failure}"));
                // Said at once, not after the next event: nothing is read until this works.
                publish(run, stream_health(run, shared), Vec::new()).await;
                let wait = backoff(run.settings.read_interval, failures);
                if !until_or_stopped(Instant::now() + wait, stopped).await {
                    return None;
                }
            }
        }
    }
}

/// Reads `shard` from `start` until it is read to its end (a reshard closed it) or `stopped`.
async fn read_shard(
    api: Arc<dyn StreamApi>,
    interval: Duration,
    shared: Arc<Shared>,
    shard: String,
    start: StartAt,
    mut stopped: watch::Receiver<bool>,
) -> ShardEnd {
    let mut resume_at = start;
    let mut iterator: Option<String> = None;
    let mut failures = 0;
    let mut next_read = Instant::now();
    let mut undecodable_logged = 0;
    loop {
        if !until_or_stopped(next_read, &mut stopped).await {
            return ShardEnd {
                shard,
                children: Vec::new(),
            };
        }
        let started = Instant::now();
        let current = match iterator.take() {
            Some(current) => current,
            None => match api.shard_iterator(&shard, &resume_at).await {
                Ok(fresh) => fresh,
                Err(failure) => {
                    failures += 1;
                    shared.shard_error(&shard, Some(format!("GetShardIterator failed: {failure}")));
                    next_read = Instant::now() + backoff(interval, failures);
                    continue;
                }
            },
        };
        match api.get_records(current.clone()).await {
            Ok(page) => {
                failures = 0;
                shared.shard_error(&shard, None);
                if let Some(last) = page.records.last() {
                    resume_at = StartAt::AfterSequence(last.sequence_number.clone());
                }
                let next = page.next_iterator.clone();
                let children = page.child_shards.clone();
                take_page(&shared, &shard, page, &mut undecodable_logged);
                match next {
                    Some(next) => iterator = Some(next),
                    None => return ShardEnd { shard, children },
                }
                next_read = started + interval;
            }
            Err(failure) => {
                failures += 1;
                iterator = keep_iterator(&failure).then_some(current);
                let wait = if failure.code.as_deref() == Some(EXPIRED_ITERATOR) {
                    // Renewed at once where the last read stopped; nothing is lost.
                    Duration::ZERO
                } else {
                    shared.shard_error(&shard, Some(format!("GetRecords failed: {failure}")));
                    backoff(interval, failures)
                };
                next_read = Instant::now() + wait;
            }
        }
    }
}

/// Whether the iterator a failed GetRecords was given is still good: it is after throttling,
/// 5xx and network trouble; an expired or refused one is renewed.
fn keep_iterator(failure: &RequestError) -> bool {
    failure.code.as_deref() != Some(EXPIRED_ITERATOR)
        && failure.outcome != RequestOutcome::ClientError
        && failure.outcome != RequestOutcome::MalformedResponse
}

/// `interval` doubled for each failure in a row, at most [`MAX_BACKOFF`].
fn backoff(interval: Duration, failures: u32) -> Duration {
    let doubled = interval.saturating_mul(1 << failures.min(16));
    doubled.min(MAX_BACKOFF).max(interval)
}

/// Decodes a page's records, drops repeats, counts the events into their instances' sets and
/// notes the shard's health.
fn take_page(shared: &Shared, shard: &str, page: RecordsPage, undecodable_logged: &mut u64) {
    let mut decoded = Vec::with_capacity(page.records.len());
    let mut undecodable = 0;
    for record in &page.records {
        match decode(&record.data) {
            Ok(event) => decoded.push(event),
            Err(problem) => {
                undecodable += 1;
                if undecodable_logged.is_multiple_of(UNDECODABLE_WARN_EVERY) {
                    warn!(shard, sequence_number = %record.sequence_number, %problem, "a record of the agent event stream is not an agent event; counted and skipped");
                } else {
                    debug!(shard, sequence_number = %record.sequence_number, %problem, "record skipped");
                }
                *undecodable_logged += 1;
            }
        }
    }
    // Decoded first and looked up under one lock: the other shards' readers share the IDs.
    let events: Vec<_> = {
        let mut recent = shared.recent.lock().unwrap_or_else(PoisonError::into_inner);
        decoded
            .into_iter()
            .filter(|event| recent.first_time(&event.event_id, event.timestamp))
            .collect()
    };
    let duplicates = (page.records.len() - undecodable - events.len()) as u64;
    let now = shared.clock.now();
    let newest = events
        .iter()
        .map(|event| event.timestamp)
        .fold(None, |newest: Option<f64>, at| {
            Some(newest.map_or(at, |n| n.max(at)))
        });
    if !events.is_empty() {
        shared.subscribers.add(&events);
        shared
            .changed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let mut health = shared.health();
    let entry: &mut ShardHealth = health.shards.entry(shard.to_string()).or_default();
    entry.records += page.records.len() as u64;
    entry.duplicates += duplicates;
    entry.undecodable += undecodable as u64;
    entry.events += events.len() as u64;
    entry.behind_latest_seconds = page
        .millis_behind_latest
        .map(|millis| millis.max(0) as f64 / 1000.0);
    if let Some(newest) = newest {
        entry.lag_seconds = Some((now - newest).max(0.0));
    }
    entry.last_read_at = Some(now);
}

/// Hands the counts of the last second, and the health, to the sink when events came or a
/// shard failed or recovered; otherwise the health alone every [`IDLE_HEALTH_INTERVAL`].
async fn hand_over(run: &StreamRun, shared: &Arc<Shared>, last_health: &mut Instant) {
    let changed = shared
        .changed
        .swap(false, std::sync::atomic::Ordering::Relaxed);
    if !changed && last_health.elapsed() < IDLE_HEALTH_INTERVAL {
        return;
    }
    *last_health = Instant::now();
    let batches = shared.subscribers.take_pending();
    publish(run, stream_health(run, shared), batches).await;
}

/// Hands `health` and `batches` to the sink. Publishing encodes and compresses the whole
/// exposition: off the async workers.
async fn publish(run: &StreamRun, health: StreamHealth, batches: Vec<(String, EventBatch)>) {
    let sink = Arc::clone(&run.sink);
    if let Err(error) =
        tokio::task::spawn_blocking(move || sink.record_agent_events(health, batches)).await
    {
        error!(%error, "recording agent events failed");
    }
}

/// The stream's health as it stands, with the request counts so far.
fn stream_health(run: &StreamRun, shared: &Shared) -> StreamHealth {
    let mut health = shared.health().clone();
    health.instances = shared.subscribers.instances();
    health.up = health.error.is_none() && health.shards.values().all(|s| s.error.is_none());
    health.requests = run
        .requests
        .counts()
        .into_iter()
        .map(|((operation, outcome), count)| ((operation, outcome.as_str().to_string()), count))
        .collect::<BTreeMap<_, _>>();
    health
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinesis::StreamRecord;
    use crate::model::agent_events::EventBatch;
    use futures_util::future::BoxFuture;

    const INSTANCE_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-111111111111";

    fn record(sequence: &str, event_id: &str) -> StreamRecord {
        let data = format!(
            r#"{{"EventId": "{event_id}", "EventType": "LOGIN", "EventTimestamp": "2024-01-01T00:00:00Z",
                "InstanceARN": "arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE_ID}"}}"#
        );
        StreamRecord {
            sequence_number: sequence.into(),
            data: data.into_bytes(),
        }
    }

    /// Shards A and B, merged into C: each parent has records and then ends; C has one record
    /// and stays open. Remembers in which order the shards were asked for iterators.
    #[derive(Default)]
    struct MergedStream {
        iterators: Mutex<Vec<(String, StartAt)>>,
    }

    impl StreamApi for MergedStream {
        fn describe(&self) -> BoxFuture<'_, Result<crate::kinesis::StreamSummary, RequestError>> {
            Box::pin(async { Err(RequestError::unsupported("DescribeStreamSummary")) })
        }

        fn list_shards(&self) -> BoxFuture<'_, Result<Vec<Shard>, RequestError>> {
            let open = |id: &str| Shard {
                id: id.into(),
                parents: vec![],
                open: true,
            };
            Box::pin(async move { Ok(vec![open("A"), open("B")]) })
        }

        fn shard_iterator<'a>(
            &'a self,
            shard: &'a str,
            at: &'a StartAt,
        ) -> BoxFuture<'a, Result<String, RequestError>> {
            self.iterators
                .lock()
                .unwrap()
                .push((shard.to_string(), at.clone()));
            Box::pin(async move { Ok(format!("{shard}-0")) })
        }

        fn get_records(
            &self,
            iterator: String,
        ) -> BoxFuture<'_, Result<RecordsPage, RequestError>> {
            let merged = Shard {
                id: "C".into(),
                parents: vec!["A".into(), "B".into()],
                open: true,
            };
            let page = match iterator.as_str() {
                // A ends at once; B has a record, a repeat and garbage, and ends a read later.
                "A-0" => RecordsPage {
                    records: vec![record("1", "e-a")],
                    child_shards: vec![merged],
                    ..RecordsPage::default()
                },
                "B-0" => RecordsPage {
                    records: vec![
                        record("2", "e-b"),
                        record("3", "e-b"),
                        StreamRecord {
                            sequence_number: "4".into(),
                            data: b"{not an event".to_vec(),
                        },
                    ],
                    next_iterator: Some("B-1".into()),
                    millis_behind_latest: Some(2500),
                    ..RecordsPage::default()
                },
                "B-1" => RecordsPage {
                    child_shards: vec![merged],
                    ..RecordsPage::default()
                },
                "C-0" => RecordsPage {
                    records: vec![record("5", "e-c")],
                    next_iterator: Some("C-1".into()),
                    millis_behind_latest: Some(0),
                    ..RecordsPage::default()
                },
                _ => RecordsPage {
                    next_iterator: Some(iterator.clone()),
                    millis_behind_latest: Some(0),
                    ..RecordsPage::default()
                },
            };
            Box::pin(async move { Ok(page) })
        }
    }

    /// One hand-over: the health and the batches by instance.
    type Handover = (StreamHealth, Vec<(String, EventBatch)>);

    #[derive(Default)]
    struct Handovers(Mutex<Vec<Handover>>);

    impl PollSink for Handovers {
        fn record_round(
            &self,
            _: &str,
            _: Vec<(crate::model::TargetKey, crate::model::PollReport)>,
            _: crate::model::RoundReport,
            _: Option<Arc<crate::model::LabelNames>>,
        ) {
        }

        fn record_agent_events(&self, health: StreamHealth, batches: Vec<(String, EventBatch)>) {
            self.0.lock().unwrap().push((health, batches));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_merged_shard_is_read_after_both_parents_and_bad_records_are_counted() {
        let api = Arc::new(MergedStream::default());
        let sink = Arc::new(Handovers::default());
        let subscribers = Arc::new(Subscribers::default());
        subscribers.insert(
            INSTANCE_ID,
            super::super::event_subscribers::Subscriber {
                instance: "prod".into(),
                sets: vec![],
                directory: Arc::new(super::super::directory::DirectoryCache::new()),
            },
        );
        let run = StreamRun {
            settings: AgentEvents {
                stream_name: "s".into(),
                stream_arn: None,
                region: None,
                role_arn: None,
                endpoint_url: None,
                read_interval: Duration::from_secs(1),
            },
            api: api.clone(),
            requests: RequestLog::default(),
            subscribers,
            sink: sink.clone(),
            clock: WallClock::Fixed(1_704_067_230.0),
        };
        let (stop, stopped) = watch::channel(false);
        let reader = tokio::spawn(stream_loop(run, stopped));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = stop.send(true);
        reader.await.expect("the reader ends when told");

        let iterators = api.iterators.lock().unwrap().clone();
        let at: Vec<(&str, &StartAt)> = iterators.iter().map(|(s, a)| (s.as_str(), a)).collect();
        assert_eq!(at.len(), 3, "{at:?}");
        assert!(at[..2].contains(&("A", &StartAt::Latest)));
        assert!(at[..2].contains(&("B", &StartAt::Latest)));
        assert_eq!(
            at[2],
            ("C", &StartAt::TrimHorizon),
            "C only after A and B ended"
        );

        let handovers = sink.0.lock().unwrap();
        let health = &handovers.last().expect("handed over").0;
        assert!(health.up);
        assert_eq!(health.instances, ["prod"]);
        let shard = |id: &str| health.shards[id].clone();
        assert!(shard("A").finished && shard("B").finished && !shard("C").finished);
        assert_eq!((shard("B").records, shard("B").events), (3, 1));
        assert_eq!((shard("B").duplicates, shard("B").undecodable), (1, 1));
        assert_eq!(shard("C").events, 1);
        assert_eq!(shard("C").behind_latest_seconds, Some(0.0));
        // 2024-01-01T00:00:00Z read at 00:00:30.
        assert_eq!(shard("C").lag_seconds, Some(30.0));
    }

    #[test]
    fn backoff_doubles_from_the_interval_up_to_the_cap() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 0), second);
        assert_eq!(backoff(second, 1), 2 * second);
        assert_eq!(backoff(second, 3), 8 * second);
        assert_eq!(backoff(second, 40), MAX_BACKOFF);
        assert_eq!(backoff(Duration::from_secs(50), 1), Duration::from_secs(50));
    }

    #[test]
    fn only_a_good_iterator_is_kept_after_a_failure() {
        let failure = |outcome, code: Option<&str>| RequestError {
            outcome,
            code: code.map(str::to_string),
            message: String::new(),
        };
        assert!(keep_iterator(&failure(
            RequestOutcome::Throttled,
            Some("ProvisionedThroughputExceededException")
        )));
        assert!(keep_iterator(&failure(RequestOutcome::NetworkError, None)));
        assert!(!keep_iterator(&failure(
            RequestOutcome::ClientError,
            Some(EXPIRED_ITERATOR)
        )));
        assert!(!keep_iterator(&failure(
            RequestOutcome::ClientError,
            Some("InvalidArgumentException")
        )));
    }
}
