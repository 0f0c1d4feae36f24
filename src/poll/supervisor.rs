//! Keeps an instance's polling tasks running. A panic in a round, directory or intraday task
//! would otherwise end that task quietly: the instance would stop polling while its `up` kept
//! the last value. Here it is caught, logged with the instance, reported to the sink (its queue
//! sets go to `up` 0 and a restart is counted), and the task starts again after a backoff.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::error;

use super::scheduler::{until_or_stopped, PollSink};
use crate::model::TargetKey;

/// The wait before the first restart of a task that panicked.
pub const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between restarts: a task that panics on every run costs little.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);
/// A task that ran this long before it panicked starts again after the first delay.
const HEALTHY_RUN: Duration = Duration::from_secs(300);

/// The kinds of task an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// The rounds of GetCurrentUserData (and the queue backlog).
    Rounds,
    /// The routing directory reads.
    Directory,
    /// The intraday KPI reads.
    Intraday,
    /// The reader of an agent event stream (counted for the instance that started it).
    AgentEvents,
}

impl TaskKind {
    /// Every kind, for counters that start at 0.
    pub const ALL: [TaskKind; 4] = [
        TaskKind::Rounds,
        TaskKind::Directory,
        TaskKind::Intraday,
        TaskKind::AgentEvents,
    ];

    /// The label value of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Rounds => "round",
            TaskKind::Directory => "directory",
            TaskKind::Intraday => "intraday",
            TaskKind::AgentEvents => "agent_events",
        }
    }
}

/// What a supervised task belongs to.
pub(super) struct Supervised {
    pub(super) kind: TaskKind,
    pub(super) instance: String,
    /// The instance's queue sets: a panic takes them all down.
    pub(super) sets: Vec<TargetKey>,
    pub(super) sink: Arc<dyn PollSink>,
}

/// Runs the task `run` makes until it ends by itself (it was told to stop); makes it again
/// after each panic, waiting [`FIRST_RESTART_DELAY`], doubling up to [`MAX_RESTART_DELAY`].
pub(super) async fn supervise<F, Fut>(
    supervised: Supervised,
    mut stopped: watch::Receiver<bool>,
    run: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let Supervised {
        kind,
        instance,
        sets,
        sink,
    } = supervised;
    let mut delay = FIRST_RESTART_DELAY;
    loop {
        let started = Instant::now();
        // The task's state is dropped with it and made anew, so nothing half-updated by the
        // panic is seen again.
        let Err(payload) = AssertUnwindSafe(run()).catch_unwind().await else {
            return;
        };
        if started.elapsed() >= HEALTHY_RUN {
            delay = FIRST_RESTART_DELAY;
        }
        let message = panic_message(payload.as_ref());
        let restart_in = humantime::format_duration(delay).to_string();
        error!(
            connect_instance = %instance,
            task = kind.as_str(),
            panic = %message,
            %restart_in,
            "a polling task panicked; the instance's queue sets are down until it runs again"
        );
        let reason = format!(
            "the exporter's {} task of this instance panicked ({message}); it restarts in {restart_in}",
            kind.as_str()
        );
        sink.record_task_failure(&instance, kind, &reason, &sets);
        if !until_or_stopped(Instant::now() + delay, &mut stopped).await {
            return;
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
    }
}

/// The text a panic was raised with.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IntradayReport, LabelNames, PollReport, RoundReport};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Failures(Mutex<Vec<(String, TaskKind, String, usize)>>);

    impl PollSink for Failures {
        fn record_round(
            &self,
            _: &str,
            _: Vec<(TargetKey, PollReport)>,
            _: RoundReport,
            _: Option<Arc<LabelNames>>,
        ) {
        }

        fn record_intraday(&self, _: &str, _: IntradayReport) {}

        fn record_task_failure(
            &self,
            instance: &str,
            kind: TaskKind,
            reason: &str,
            sets: &[TargetKey],
        ) {
            self.0.lock().unwrap().push((
                instance.to_string(),
                kind,
                reason.to_string(),
                sets.len(),
            ));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_reported_and_restarted_with_backoff_until_it_runs() {
        let sink = Arc::new(Failures::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (_stop, stopped) = watch::channel(false);
        let started = Instant::now();
        let supervised = Supervised {
            kind: TaskKind::Rounds,
            instance: "main".into(),
            sets: vec![TargetKey {
                instance: "main".into(),
                queue_set: "support".into(),
            }],
            sink: sink.clone(),
        };
        let counted = Arc::clone(&runs);
        supervise(supervised, stopped, move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if run < 3 {
                    panic!("run {run} failed");
                }
            }
        })
        .await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            4,
            "three panics, then a run that ends"
        );
        let failures = sink.0.lock().unwrap().clone();
        assert_eq!(failures.len(), 3);
        assert_eq!(failures[0].0, "main");
        assert_eq!(failures[0].1, TaskKind::Rounds);
        assert!(failures[0].2.contains("run 0 failed"), "{}", failures[0].2);
        assert!(
            failures[0].2.contains("restarts in 1s"),
            "{}",
            failures[0].2
        );
        assert!(
            failures[2].2.contains("restarts in 4s"),
            "{}",
            failures[2].2
        );
        assert_eq!(failures[0].3, 1);
        // 1 s + 2 s + 4 s of backoff.
        assert_eq!(started.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_during_the_backoff_ends_the_supervisor() {
        let sink = Arc::new(Failures::default());
        let (stop, stopped) = watch::channel(false);
        let supervised = Supervised {
            kind: TaskKind::Directory,
            instance: "main".into(),
            sets: Vec::new(),
            sink: sink.clone(),
        };
        let supervisor = tokio::spawn(supervise(supervised, stopped, || async {
            panic!("always");
        }));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(1), supervisor)
            .await
            .expect("the supervisor ends when told to stop")
            .unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), 2, "panicked at 0 s and 1 s");
    }
}
