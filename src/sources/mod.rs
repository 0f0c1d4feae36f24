//! The data sources, one module each: what to request of the API for a round and how the
//! answers become each queue set's model data. They build on [`crate::connect`] and know
//! nothing of Prometheus, the scheduler or each other.
//!
//! - [`user_data`]: GetCurrentUserData, the agents of every queue set, with the request
//!   planner that serves many sets from one routing-profile sweep;
//! - [`queue_backlog`]: GetCurrentMetricData, contacts waiting in each set's queues.
//!
//! A new source (intraday KPIs, the agent event stream) is a new module here.

pub mod queue_backlog;
pub mod user_data;
