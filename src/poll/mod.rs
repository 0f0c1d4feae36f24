//! Polling: one round task per instance on its interval, within the request budget; one
//! directory task per instance; queue sets resolved against the directory; all on a polling
//! thread of its own. Knows no metric names: each round's results go to a [`PollSink`].

mod agent_events;
pub mod clock;
mod directory;
mod event_subscribers;
mod intraday;
pub mod queue_sets;
mod round;
pub mod scheduler;
pub mod supervisor;
pub mod thread;

pub use clock::WallClock;
pub use directory::{check_directory, DirectoryCheck};
pub use queue_sets::{resolve_names, resolve_queue_names, QueueSetTarget};
pub use scheduler::{EventStreamTarget, PollSink, Scheduler, Target};
pub use supervisor::TaskKind;
pub use thread::{Liveness, PollThread};
