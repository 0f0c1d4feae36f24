//! amazon-connect-exporter: Amazon Connect real-time agent data as Prometheus metrics.
//!
//! The flow, one module per stage: [`config`] → [`scheduler`] → [`source`] → [`model`] →
//! [`summary`] → [`exposition`] → [`server`]. A scrape never calls AWS: polls run on their
//! schedule and a scrape serves the latest encoded result.

pub mod app;
pub mod budget;
pub mod cli;
pub mod config;
pub mod demo;
pub mod exposition;
pub mod ids;
pub mod logging;
pub mod missed;
pub mod model;
pub mod names;
pub mod planner;
pub mod scheduler;
pub mod server;
pub mod shard;
pub mod simulator;
pub mod source;
pub mod summary;
pub mod text_format;
pub mod web_config;
