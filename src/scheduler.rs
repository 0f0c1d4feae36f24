//! Runs one polling task per target (instance × queue set) on its interval, with jitter and a
//! timeout, and hands each poll's result to a [`PollSink`]. Knows no metric names.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::budget::RateLimiter;
use crate::model::{PollReport, Snapshot, TargetKey};
use crate::source::{sweep_queues, RetryPolicy, SweepBudget, UserDataPages};

/// The first poll of each target waits a random part of this (capped by a tenth of the
/// interval), so targets started together do not hit the API in the same instant.
const MAX_START_JITTER: Duration = Duration::from_secs(2);
/// Each later wait is the interval stretched or shrunk by up to this fraction.
const INTERVAL_JITTER: f64 = 0.05;

/// Receives the result of every poll.
pub trait PollSink: Send + Sync {
    /// Called once per finished poll, successful or not.
    fn record(&self, key: &TargetKey, report: PollReport);
}

/// One queue set of one instance, with everything needed to poll it.
#[derive(Clone)]
pub struct Target {
    /// Labels of the target.
    pub key: TargetKey,
    /// Queue IDs of the set; any number (the source chunks them).
    pub queue_ids: Vec<String>,
    /// Time between poll starts.
    pub interval: Duration,
    /// Upper bound on one poll.
    pub timeout: Duration,
    /// Where the data comes from.
    pub source: Arc<dyn UserDataPages>,
    /// The request budget of the instance's account and region for GetCurrentUserData.
    pub limiter: Arc<RateLimiter>,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
}

/// The running polling tasks.
pub struct Scheduler {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Scheduler {
    /// Starts one task per target.
    pub fn start(targets: Vec<Target>, sink: Arc<dyn PollSink>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for target in targets {
            tasks.spawn(poll_loop(target, Arc::clone(&sink), stopped.clone()));
        }
        Self { tasks, stop }
    }

    /// Stops every task, abandoning polls in flight, and waits for them to end.
    pub async fn stop(&mut self) {
        // Receivers live inside the tasks; if all have ended already there is no one to tell.
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn poll_loop(target: Target, sink: Arc<dyn PollSink>, mut stopped: watch::Receiver<bool>) {
    let span = info_span!(
        "poll",
        connect_instance = %target.key.instance,
        queue_set = %target.key.queue_set,
    );
    let mut next_start = Instant::now() + start_jitter(target.interval);
    let mut last_error: Option<String> = None;
    let mut overran = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next_start) => {}
            _ = stopped.changed() => return,
        }
        let started = Instant::now();
        let started_at = epoch_seconds(SystemTime::now());
        let budget = SweepBudget {
            limiter: &target.limiter,
            retry: target.retry,
            deadline: started + target.timeout,
        };
        // The deadline inside the sweep ends polls cleanly; this timeout is the backstop for a
        // request in flight at the deadline.
        let poll = tokio::time::timeout(
            target.timeout,
            sweep_queues(target.source.as_ref(), &target.queue_ids, &budget),
        )
        .instrument(span.clone());
        let result = tokio::select! {
            result = poll => result,
            _ = stopped.changed() => return,
        };
        let duration = started.elapsed();
        let outcome = match result {
            Ok(Ok(agents)) => Ok(Snapshot {
                fetched_at: started_at,
                agents,
            }),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "poll timed out after {}",
                humantime::format_duration(target.timeout)
            )),
        };
        span.in_scope(|| {
            log_outcome(&outcome, duration, &mut last_error);
            log_overrun(duration, target.interval, &mut overran);
        });
        sink.record(
            &target.key,
            PollReport {
                started_at,
                duration,
                outcome,
            },
        );
        // Polls of one target never overlap: a slow poll pushes the next one back.
        next_start = (started + jittered(target.interval)).max(Instant::now());
    }
}

/// Logs a failure once at warning level while it stays the same, and the recovery.
fn log_outcome(
    outcome: &Result<Snapshot, String>,
    duration: Duration,
    last_error: &mut Option<String>,
) {
    let duration_ms = duration.as_millis() as u64;
    match outcome {
        Ok(snapshot) => {
            if last_error.take().is_some() {
                info!(
                    agents = snapshot.agents.len(),
                    duration_ms, "poll succeeded again"
                );
            } else {
                debug!(
                    agents = snapshot.agents.len(),
                    duration_ms, "poll succeeded"
                );
            }
        }
        Err(error) if last_error.as_deref() == Some(error.as_str()) => {
            debug!(%error, duration_ms, "poll failed again");
        }
        Err(error) => {
            warn!(%error, duration_ms, "poll failed; serving up=0 and no data for this queue set");
            *last_error = Some(error.clone());
        }
    }
}

/// Says once, and again after recovering, that polls take longer than the interval: they then
/// run back to back (never overlapping), so data is older than the interval suggests.
fn log_overrun(duration: Duration, interval: Duration, overran: &mut bool) {
    match (duration > interval, *overran) {
        (true, false) => {
            warn!(
                duration_ms = duration.as_millis() as u64,
                interval_ms = interval.as_millis() as u64,
                "a poll took longer than poll_interval (slow API or too small a request budget); polls now run back to back"
            );
            *overran = true;
        }
        (false, true) => {
            info!("polls fit in poll_interval again");
            *overran = false;
        }
        _ => {}
    }
}

fn start_jitter(interval: Duration) -> Duration {
    let cap = MAX_START_JITTER.min(interval / 10);
    cap.mul_f64(rand::rng().random_range(0.0..=1.0))
}

fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(1.0 - INTERVAL_JITTER..=1.0 + INTERVAL_JITTER))
}

fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AgentRecord;
    use crate::source::{RequestError, UserDataPage};
    use futures_util::future::BoxFuture;
    use std::sync::Mutex;

    struct SlowPages {
        delay: Duration,
        calls: Mutex<u32>,
    }

    impl UserDataPages for SlowPages {
        fn fetch_page<'a>(
            &'a self,
            _queue_ids: &'a [String],
            _next_token: Option<String>,
        ) -> BoxFuture<'a, Result<UserDataPage, RequestError>> {
            Box::pin(async move {
                *self.calls.lock().unwrap() += 1;
                tokio::time::sleep(self.delay).await;
                Ok(UserDataPage {
                    agents: vec![AgentRecord {
                        user_id: "u".into(),
                        status_name: "Available".into(),
                        ..Default::default()
                    }],
                    next_token: None,
                })
            })
        }
    }

    /// Records each report with the (paused, virtual) time it arrived.
    #[derive(Default)]
    struct Reports(Mutex<Vec<(tokio::time::Instant, PollReport)>>);

    impl PollSink for Reports {
        fn record(&self, _key: &TargetKey, report: PollReport) {
            self.0
                .lock()
                .unwrap()
                .push((tokio::time::Instant::now(), report));
        }
    }

    fn target(delay: Duration, interval: Duration, timeout: Duration) -> (Target, Arc<SlowPages>) {
        let pages = Arc::new(SlowPages {
            delay,
            calls: Mutex::new(0),
        });
        let target = Target {
            key: TargetKey {
                instance: "i".into(),
                queue_set: "s".into(),
            },
            queue_ids: vec!["q".into()],
            interval,
            timeout,
            source: pages.clone(),
            limiter: Arc::new(RateLimiter::new(crate::budget::RateLimit {
                rate: 100.0,
                burst: 100.0,
            })),
            retry: RetryPolicy::default(),
        };
        (target, pages)
    }

    #[tokio::test(start_paused = true)]
    async fn polls_on_the_interval_and_never_overlaps() {
        let (target, pages) = target(
            Duration::from_secs(3),
            Duration::from_secs(10),
            Duration::from_secs(60),
        );
        let reports = Arc::new(Reports::default());
        let mut scheduler = Scheduler::start(vec![target], reports.clone());
        tokio::time::sleep(Duration::from_secs(55)).await;
        scheduler.stop().await;
        let reports = reports.0.lock().unwrap();
        // Starts at 0–1 s, then every 9.5–10.5 s: five or six polls in 55 s, all successful.
        assert!((5..=6).contains(&reports.len()), "{} polls", reports.len());
        assert!(reports.iter().all(|(_, r)| r.outcome.is_ok()));
        // Every poll takes 3 s, so the gaps between reports are the gaps between starts.
        let gaps: Vec<Duration> = reports.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(
            gaps.iter()
                .all(|gap| *gap >= Duration::from_millis(9_500)
                    && *gap <= Duration::from_millis(10_500)),
            "{gaps:?}"
        );
        assert_eq!(*pages.calls.lock().unwrap() as usize, reports.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_past_its_timeout_is_reported_as_failed() {
        let (target, _) = target(
            Duration::from_secs(30),
            Duration::from_secs(10),
            Duration::from_secs(5),
        );
        let reports = Arc::new(Reports::default());
        let mut scheduler = Scheduler::start(vec![target], reports.clone());
        tokio::time::sleep(Duration::from_secs(8)).await;
        scheduler.stop().await;
        let reports = reports.0.lock().unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(
            reports[0].1.outcome.as_ref().unwrap_err(),
            "poll timed out after 5s"
        );
    }
}
