//! amazon-connect-exporter: Amazon Connect real-time agent data as Prometheus metrics.
//!
//! The flow, one folder per stage, dependencies pointing one way:
//!
//! ```text
//! config ──► poll ──► sources ──► connect ──► (Connect API)
//!   (YAML)   (rounds,   (user_data,  (SDK client, paging,
//!             budget,    queue_backlog, retries, directory)
//!             shard      intraday,
//!             readers)   agent_events) kinesis ──► (agent event stream)
//!             │
//!             ▼ model (plain data of a round)
//!           metrics (families, series limit, segments) ──► web (/metrics, /, /-/…)
//! ```
//!
//! - where config is checked: [`config`] (a leaf: `config/validate.rs`);
//! - where a request is made: [`connect`] (`connect/client.rs`, on `aws-sdk-connect`), and
//!   for the agent event stream [`kinesis`] (`kinesis/client.rs`, on `aws-sdk-kinesis`);
//! - what a data source asks for and makes of the answers: [`sources`], one module each;
//! - when requests are made: [`poll`] (scheduler, rounds, directory task, the agent event
//!   stream's shard readers, polling thread);
//! - where a metric is built: [`metrics`] (`metrics/families/`, one writer per source);
//! - what is served: [`web`], through the [`web::MetricsSource`] trait.
//!
//! A new data source is a module under `sources/`, a writer under `metrics/families/` and a
//! segment of the exposition. A scrape never calls AWS: polls run on their schedule and a
//! scrape serves the latest encoded result. [`app`] assembles the parts; [`demo`] runs them
//! against the simulator crate; [`online_check`] runs the AWS-side checks of
//! `check-config --online`.

pub mod app;
pub mod cli;
pub mod config;
pub mod connect;
pub mod demo;
pub mod kinesis;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod online_check;
pub mod poll;
#[cfg(test)]
mod proptest_settings;
pub mod sources;
pub mod web;
