//! The HTTP side: the server and its routes ([`server`]), the landing page with its wallboard
//! ([`status_page`]) and the wallboard's script and stylesheet ([`assets`]), TLS and basic
//! authentication ([`config`]) with certificates that follow their files ([`certificates`]),
//! the deadlines of each connection ([`deadlines`]). It reads the metrics through
//! the small [`MetricsSource`] trait defined here, which the exposition implements, and never
//! waits for a poll.

mod assets;
pub mod body;
mod certificates;
pub mod config;
pub mod deadlines;
pub mod server;
mod status_page;

use bytes::Bytes;

use crate::model::TargetKey;

pub use config::WebConfig;

/// What the server needs of the published metrics.
pub trait MetricsSource: Send + Sync + std::fmt::Debug {
    /// The latest exposition in the text format 0.0.4, as the pieces to send one after
    /// another. Cheap: reference-counted copies.
    fn encoded_pieces(&self) -> Vec<Bytes>;
    /// The same exposition, gzip-compressed once when it was published.
    fn encoded_gzip(&self) -> Bytes;
    /// The state of each queue set, for the status page and `/-/ready`.
    fn statuses(&self) -> Vec<TargetStatus>;
    /// The wallboard's JSON, built by the same publish as the exposition read with it.
    fn wallboard(&self) -> Bytes;
}

/// Whether the exporter's own machinery runs, for `/-/healthy`.
pub trait Health: Send + Sync + std::fmt::Debug {
    /// `Err` says what is gone (the polling thread): the process serves stale data for ever
    /// and is to be restarted.
    fn check(&self) -> Result<(), String>;
}

/// What the landing page shows of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStatus {
    /// The target.
    pub key: TargetKey,
    /// Whether any poll has finished yet.
    pub polled: bool,
    /// Whether the last poll succeeded.
    pub up: bool,
    /// When the last poll, successful or not, finished, epoch seconds.
    pub last_poll: Option<f64>,
    /// When the last successful poll started, epoch seconds: the time the data served is from.
    pub last_success: Option<f64>,
    /// The last poll's error, if it failed.
    pub last_error: Option<String>,
    /// API request attempts of the target's instance (shared by its queue sets) so far.
    pub instance_requests: u64,
    /// Of those, the throttled ones.
    pub instance_throttled: u64,
    /// The instance's intraday KPIs, where it reads them.
    pub intraday: Option<SourceStatus>,
}

/// The state of a data source of an instance beside the real-time polls.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatus {
    /// Whether its last read succeeded.
    pub up: bool,
    /// When its last good read started, epoch seconds.
    pub last_success: Option<f64>,
    /// Its last read's error.
    pub last_error: Option<String>,
}

/// Where the wallboard's JSON is served.
pub const WALLBOARD_PATH: &str = "/api/v1/wallboard";

/// `Content-Type` of the text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
