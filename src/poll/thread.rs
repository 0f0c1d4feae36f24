//! The polling thread: polls run on a runtime of their own, at a lower CPU priority than the
//! one that serves scrapes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tracing::debug;

/// A thread of its own for polling, at a lower CPU priority. Reading a page of a hundred agents
/// takes a millisecond or two of CPU, a 50,000-agent round five hundred of them plus a few
/// hundred milliseconds to summarise and encode; on the runtime that serves `/metrics` scrapes
/// would queue behind that. On threads of their own with a nice value of
/// [`POLL_THREAD_NICENESS`], the operating system gives the cores to a scrape first; polling
/// only uses what is left, and on a busy host a round takes longer rather than a scrape.
///
/// One thread serves every instance: at the API's rates (GetCurrentUserData defaults to 2
/// requests a second per account) a page costs a millisecond or two, so even twenty accounts
/// keep it a few per cent busy; a worker per core measured more CPU and memory per round at
/// 50,000 agents (work stealing, per-thread allocator heaps) for no gain.
pub struct PollThread {
    runtime: tokio::runtime::Handle,
    /// Dropping it ends the thread and the tasks on it.
    _stop: tokio::sync::oneshot::Sender<()>,
    running: Liveness,
}

/// Whether the polling thread still runs: what `/-/healthy` reports, since nothing polls
/// once it is gone.
#[derive(Debug, Clone)]
pub struct Liveness(Arc<AtomicBool>);

impl Liveness {
    /// True while the thread runs.
    pub fn is_running(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Marks the thread as gone when it ends, by returning or by a panic.
struct EndsWithThread(Arc<AtomicBool>);

impl Drop for EndsWithThread {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl PollThread {
    /// Starts the thread and its runtime.
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("poll-blocking")
            .on_thread_start(lower_this_threads_priority)
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = Arc::new(AtomicBool::new(true));
        let ends_with_thread = EndsWithThread(Arc::clone(&running));
        std::thread::Builder::new()
            .name("poll".into())
            .spawn(move || {
                let _ends_with_thread = ends_with_thread;
                lower_this_threads_priority();
                // Ends when the sender is dropped; the runtime is then dropped here, outside
                // any async context, which cancels what still runs on it.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Self {
            runtime: handle,
            _stop: stop,
            running: Liveness(running),
        })
    }

    /// Tells whether the thread still runs, also after this handle is gone.
    pub fn liveness(&self) -> Liveness {
        self.running.clone()
    }

    /// Where polling tasks are spawned.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }
}

/// The nice value of the polling threads (0 is the default, 19 the lowest priority).
pub const POLL_THREAD_NICENESS: i32 = 10;

/// Gives the calling thread the nice value [`POLL_THREAD_NICENESS`]. On Linux a nice value
/// belongs to a thread; elsewhere, or where it is refused, the thread keeps its priority, which
/// costs scrape latency under load, not correctness, so a failure is only logged.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
        let result = unsafe {
            let thread = libc::gettid();
            libc::setpriority(
                libc::PRIO_PROCESS,
                thread as libc::id_t,
                POLL_THREAD_NICENESS,
            )
        };
        if result != 0 {
            debug!(error = %std::io::Error::last_os_error(), "cannot lower the polling thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_turns_false_when_the_thread_ends() {
        let thread = PollThread::start().unwrap();
        let liveness = thread.liveness();
        assert!(liveness.is_running());
        drop(thread);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while liveness.is_running() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!liveness.is_running(), "the thread ended, liveness says so");
    }
}
