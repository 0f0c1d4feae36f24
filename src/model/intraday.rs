//! Plain data of one read of the intraday KPIs (GetMetricDataV2): "how are we doing today",
//! per queue and channel and per routing profile, for each window read.

use std::sync::Arc;

use super::{ApiValue, TargetKey};

/// A KPI read per queue and channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueueKpi {
    /// `SERVICE_LEVEL` with a threshold: share of contacts removed from the queue within it.
    ServiceLevel,
    /// `SUM_CONTACTS_ANSWERED_IN_X` with a threshold.
    AnsweredInThreshold,
    /// `CONTACTS_QUEUED`.
    ContactsQueued,
    /// `CONTACTS_HANDLED`.
    ContactsHandled,
    /// `CONTACTS_HANDLED` with the metric filter `INITIATION_METHOD = CALLBACK`.
    CallbackContactsHandled,
    /// `CONTACTS_ABANDONED`.
    ContactsAbandoned,
    /// `ABANDONMENT_RATE`.
    AbandonmentRate,
    /// `CONTACTS_TRANSFERRED_OUT`.
    ContactsTransferredOut,
    /// `AVG_HANDLE_TIME`.
    AverageHandleTime,
    /// `AVG_QUEUE_ANSWER_TIME`.
    AverageQueueAnswerTime,
    /// `AVG_ABANDON_TIME`.
    AverageAbandonTime,
    /// `MAX_QUEUED_TIME`.
    MaxQueuedTime,
    /// `AVG_AFTER_CONTACT_WORK_TIME`.
    AverageAfterContactWorkTime,
    /// `AVG_HOLD_TIME`.
    AverageHoldTime,
}

/// The metric filter that tells callback contacts from the others.
pub const CALLBACK_FILTER: (&str, &str) = ("INITIATION_METHOD", "CALLBACK");

impl QueueKpi {
    /// Every KPI, in the order of the request and of the exposition.
    pub const ALL: [QueueKpi; 14] = [
        QueueKpi::ServiceLevel,
        QueueKpi::AnsweredInThreshold,
        QueueKpi::ContactsQueued,
        QueueKpi::ContactsHandled,
        QueueKpi::CallbackContactsHandled,
        QueueKpi::ContactsAbandoned,
        QueueKpi::AbandonmentRate,
        QueueKpi::ContactsTransferredOut,
        QueueKpi::AverageHandleTime,
        QueueKpi::AverageQueueAnswerTime,
        QueueKpi::AverageAbandonTime,
        QueueKpi::MaxQueuedTime,
        QueueKpi::AverageAfterContactWorkTime,
        QueueKpi::AverageHoldTime,
    ];

    /// The API's name of the metric.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::ServiceLevel => "SERVICE_LEVEL",
            Self::AnsweredInThreshold => "SUM_CONTACTS_ANSWERED_IN_X",
            Self::ContactsQueued => "CONTACTS_QUEUED",
            Self::ContactsHandled | Self::CallbackContactsHandled => "CONTACTS_HANDLED",
            Self::ContactsAbandoned => "CONTACTS_ABANDONED",
            Self::AbandonmentRate => "ABANDONMENT_RATE",
            Self::ContactsTransferredOut => "CONTACTS_TRANSFERRED_OUT",
            Self::AverageHandleTime => "AVG_HANDLE_TIME",
            Self::AverageQueueAnswerTime => "AVG_QUEUE_ANSWER_TIME",
            Self::AverageAbandonTime => "AVG_ABANDON_TIME",
            Self::MaxQueuedTime => "MAX_QUEUED_TIME",
            Self::AverageAfterContactWorkTime => "AVG_AFTER_CONTACT_WORK_TIME",
            Self::AverageHoldTime => "AVG_HOLD_TIME",
        }
    }

    /// Whether each request entry of it takes one service-level threshold.
    pub fn takes_threshold(self) -> bool {
        matches!(self, Self::ServiceLevel | Self::AnsweredInThreshold)
    }

    /// The metric filter it is asked with, if any.
    pub fn metric_filter(self) -> Option<(&'static str, &'static str)> {
        (self == Self::CallbackContactsHandled).then_some(CALLBACK_FILTER)
    }

    /// Whether the API gives it in percent (it is kept as a ratio from 0 to 1).
    pub fn is_percent(self) -> bool {
        matches!(self, Self::ServiceLevel | Self::AbandonmentRate)
    }

    /// Whether it is a count: a queue and channel without a row count 0, where an average
    /// or a ratio has no value.
    pub fn is_count(self) -> bool {
        matches!(
            self,
            Self::AnsweredInThreshold
                | Self::ContactsQueued
                | Self::ContactsHandled
                | Self::CallbackContactsHandled
                | Self::ContactsAbandoned
                | Self::ContactsTransferredOut
        )
    }

    /// The KPI a returned metric is: its name and whether it came with the callback filter.
    pub fn from_api(name: &str, callback_filter: bool) -> Option<Self> {
        Self::ALL.into_iter().find(|kpi| {
            kpi.api_name() == name && (kpi.metric_filter().is_some() == callback_filter)
        })
    }
}

/// One value of a KPI: the threshold (whole seconds) where the KPI takes one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KpiValue {
    /// Which KPI.
    pub kpi: QueueKpi,
    /// Its threshold, seconds.
    pub threshold: Option<u32>,
    /// The value; percentages already ratios from 0 to 1. A value the service sent as null
    /// (it could not compute it) is left out, never 0.
    pub value: f64,
}

/// The KPIs of one queue and channel over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRow {
    /// The window's label (`today`, `1h`).
    pub window: String,
    /// `Dimensions.QUEUE`.
    pub queue_id: String,
    /// `Dimensions.CHANNEL`, as sent.
    pub channel: ApiValue,
    /// The values sent.
    pub values: Vec<KpiValue>,
}

/// AGENT_OCCUPANCY of one routing profile over one window, a ratio from 0 to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupancyRow {
    /// The window's label.
    pub window: String,
    /// `Dimensions.ROUTING_PROFILE`.
    pub routing_profile_id: String,
    /// Time on contacts over time on contacts and idle.
    pub ratio: f64,
}

/// The intraday KPIs of one queue set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetIntraday {
    /// Rows of the set's queues; a queue and channel without a row in a window has its counts
    /// at 0 there and no averages.
    pub rows: Vec<Arc<KpiRow>>,
    /// Occupancy of the routing profiles serving the set's queues.
    pub occupancy: Vec<Arc<OccupancyRow>>,
    /// The set's service-level target, a ratio.
    pub target: Option<f64>,
}

/// What one read of the intraday KPIs of an instance produced.
#[derive(Debug, Clone, PartialEq)]
pub struct IntradayReport {
    /// When the read started, epoch seconds.
    pub started_at: f64,
    /// How long it took, failed or not.
    pub duration: std::time::Duration,
    /// Each set that reads the KPIs with its data, or why the instance has none this time
    /// (a failure drops the instance's intraday series, not its real-time ones).
    pub outcome: Result<Vec<(TargetKey, SetIntraday)>, String>,
}
