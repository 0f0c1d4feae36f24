//! The metric state of one queue set between rounds: its last summary, the counters of
//! terminal contact states, the labels, and what the last poll said.

use std::sync::Arc;

use super::counters::StateCounter;
use super::families::user_data::TERMINAL_STATES;
use super::recent_increase::RecentIncrease;
use super::series_limit::SeriesOptions;
use super::summary::Summary;
use crate::model::{AgentRecord, IntradayReport, LabelNames, PollReport, SetIntraday, TargetKey};

#[derive(Debug)]
pub(super) struct TargetState {
    pub(super) summary: Option<Summary>,
    pub(super) polled: bool,
    pub(super) last_poll: Option<f64>,
    pub(super) last_success: Option<f64>,
    pub(super) last_error: Option<String>,
    /// Pairs counted in the terminal agent contact states, one counter per [`TERMINAL_STATES`].
    pub(super) terminal: Vec<StateCounter>,
    /// The rise of the MISSED totals round by round, for the wallboard's last 15 minutes.
    pub(super) recent_missed: RecentIncrease,
    /// Label values of queue and routing profile IDs; `None` labels with IDs.
    pub(super) names: Option<Arc<LabelNames>>,
    /// The last successful poll's agents, kept only for per-agent series.
    pub(super) agents: Vec<Arc<AgentRecord>>,
    /// When the data of the last successful poll was read, epoch seconds.
    pub(super) data_at: f64,
    /// Data series left out of the last exposition by the series limit.
    pub(super) dropped_series: usize,
    /// Aggregate and backlog series the last real-time encode wrote: what the series limit
    /// leaves for the intraday KPIs starts after them.
    pub(super) realtime_series: usize,
    /// Intraday series the last intraday encode wrote and dropped: the per-agent series come
    /// after them in the limit's order.
    pub(super) intraday_series: (usize, usize),
}

/// The intraday source's state of one instance.
#[derive(Debug, Default)]
pub(super) struct IntradayState {
    /// Whether the last read succeeded.
    pub(super) up: bool,
    /// When the last good read started.
    pub(super) last_success: Option<f64>,
    /// The last read's error.
    pub(super) last_error: Option<String>,
    /// The sets' KPIs from the last good read; none after a failed one.
    pub(super) sets: Vec<(TargetKey, SetIntraday)>,
}

impl IntradayState {
    /// Applies one read: its sets' data, or the error that drops them.
    pub(super) fn apply(&mut self, report: IntradayReport) {
        match report.outcome {
            Ok(sets) => {
                self.up = true;
                self.last_success = Some(report.started_at);
                self.last_error = None;
                self.sets = sets;
            }
            Err(error) => {
                self.up = false;
                self.last_error = Some(error);
                self.sets = Vec::new();
            }
        }
    }
}

impl TargetState {
    pub(super) fn new() -> Self {
        Self {
            summary: None,
            polled: false,
            last_poll: None,
            last_success: None,
            last_error: None,
            terminal: TERMINAL_STATES
                .iter()
                .map(|(state, _, _)| StateCounter::new(state))
                .collect(),
            recent_missed: RecentIncrease::default(),
            names: None,
            agents: Vec::new(),
            data_at: 0.0,
            dropped_series: 0,
            realtime_series: 0,
            intraday_series: (0, 0),
        }
    }

    /// Turns the set down for `reason` (its polling task failed): no data series until its
    /// next good poll.
    pub(super) fn fail(&mut self, reason: &str) {
        self.polled = true;
        self.summary = None;
        self.agents = Vec::new();
        self.last_error = Some(reason.to_string());
    }

    /// Applies one poll's result: the new summary and counters, or the error that drops the
    /// set's data series. Agents are kept only where per-agent series are asked for.
    pub(super) fn apply(
        &mut self,
        report: PollReport,
        names: Option<Arc<LabelNames>>,
        options: SeriesOptions,
    ) {
        self.polled = true;
        self.names = names;
        self.last_poll = Some(report.started_at + report.duration.as_secs_f64());
        match report.outcome {
            Ok(snapshot) => {
                let summary = Summary::from_snapshot(&snapshot);
                for counter in &mut self.terminal {
                    counter.observe(&snapshot, &summary, options.counter_ttl.as_secs_f64());
                    if counter.state() == "MISSED" {
                        self.recent_missed
                            .observe(snapshot.fetched_at, counter.totals());
                    }
                }
                self.summary = Some(summary);
                self.data_at = snapshot.fetched_at;
                self.agents = if options.agent_series {
                    snapshot.agents
                } else {
                    Vec::new()
                };
                self.last_success = Some(report.started_at);
                self.last_error = None;
            }
            Err(message) => {
                self.summary = None;
                self.agents = Vec::new();
                self.last_error = Some(message);
            }
        }
    }
}
