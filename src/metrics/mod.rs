//! Model data to Prometheus families: summaries per queue set ([`summary`]), the counters of
//! terminal contact states ([`counters`]), one family writer per source ([`families`]), the
//! series limit ([`series_limit`]), the text writer ([`text_format`]), the self-metrics
//! ([`self_metrics`]), the wallboard's JSON ([`wallboard`]) with its recent missed contacts
//! ([`recent_increase`]), and the published exposition ([`exposition`]), which the web server
//! reads through its [`crate::web::MetricsSource`] trait. Never calls AWS.

pub mod counters;
mod event_totals;
pub mod exposition;
mod families;
pub(crate) mod recent_increase;
mod self_metrics;
pub mod series_limit;
mod store;
pub mod summary;
pub mod text_format;
pub mod wallboard;

pub use exposition::{Exposition, ExpositionError, POLLING_TASKS};
pub use series_limit::SeriesOptions;
pub use wallboard::WallboardOptions;
