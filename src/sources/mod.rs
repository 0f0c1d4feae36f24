//! The data sources, one module each: what to request of the API for a round and how the
//! answers become each queue set's model data. They build on [`crate::connect`] and know
//! nothing of Prometheus, the scheduler or each other.
//!
//! - [`user_data`]: GetCurrentUserData, the agents of every queue set, with the request
//!   planner that serves many sets from one routing-profile sweep;
//! - [`queue_backlog`]: GetCurrentMetricData, contacts waiting in each set's queues;
//! - [`intraday`]: GetMetricDataV2, today's service level, abandonment and handle times;
//! - [`agent_events`]: the agent event stream (Kinesis records), counted per queue set.
//!
//! A new source is a new module here.

pub mod agent_events;
pub mod intraday;
pub mod queue_backlog;
pub mod user_data;
