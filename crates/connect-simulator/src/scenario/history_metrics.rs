//! GetMetricDataV2's values, computed from the history as a pure function.
//!
//! **Window rule.** Amazon Connect's contact-record metrics count a contact in the interval in
//! which its record's disconnect timestamp falls: the data lake reference queries of the
//! administrator guide filter abandonment rate and contacts abandoned on `disconnect_timestamp`,
//! and the service has separate `CONTACTS_QUEUED_BY_ENQUEUE` and
//! `CONTACTS_HANDLED_BY_CONNECTED_TO_AGENT` metrics precisely because the plain ones are not
//! counted at enqueue or connection. So every contact metric here takes the contacts whose
//! [`HistoricalContact::disconnected_at`](super::HistoricalContact::disconnected_at) lies in
//! `[start, end)` of the interval; an answered contact counts with its whole after-contact
//! work even when that ends after the interval. AGENT_OCCUPANCY is agent-activity driven: the
//! part of each agent-time span that overlaps the interval.
//!
//! **Which contacts.** A QUEUE or CHANNEL filter keeps the contacts of those queues or
//! channels. ROUTING_PROFILE, AGENT and AGENT_HIERARCHY_LEVEL_* describe the agent, so with one
//! of them (or ROUTING_PROFILE grouping) only answered contacts take part: an abandoned contact
//! never had an agent, and each dimension of a row must have a value.
//!
//! Sums are taken in the history's order ([`crate::Simulator::contact_history`]); averages and
//! percentages divide once at the end (percentages as `num / den × 100`). A ratio with nothing
//! to divide by is `None` (null).

use std::collections::{BTreeMap, HashSet};

use super::history::{ContactRecord, History, HISTORY_CHANNELS, INITIATION_METHODS};
use super::Scenario;

/// A historical metric of GetMetricDataV2 the simulator serves. Each variant's documentation
/// gives its formula over the contacts that count in the interval (see the module's window
/// rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoricalMetric {
    /// `ABANDONMENT_RATE` (percent): abandoned / queued × 100.
    AbandonmentRate,
    /// `AGENT_OCCUPANCY` (percent): on-contact time / (on-contact time + available time) × 100,
    /// over the agent-time spans' overlap with the interval.
    AgentOccupancy,
    /// `AVG_ABANDON_TIME` (seconds): Σ (abandoned − enqueued) / abandoned.
    AvgAbandonTime,
    /// `AVG_AFTER_CONTACT_WORK_TIME` (seconds): Σ after-contact work / handled.
    AvgAfterContactWorkTime,
    /// `AVG_HANDLE_TIME` (seconds): Σ (talk + hold + after-contact work) / handled.
    AvgHandleTime,
    /// `AVG_HOLD_TIME` (seconds, "average customer hold time"): Σ hold / handled contacts that
    /// were put on hold (hold > 0); `AVG_HOLD_TIME_ALL_CONTACTS` is the service's average over
    /// all handled contacts.
    AvgHoldTime,
    /// `AVG_QUEUE_ANSWER_TIME` (seconds): Σ (dequeued − enqueued) / handled.
    AvgQueueAnswerTime,
    /// `CONTACTS_ABANDONED` (count): contacts abandoned in the queue.
    ContactsAbandoned,
    /// `CONTACTS_HANDLED` (count): contacts connected to an agent.
    ContactsHandled,
    /// `CONTACTS_QUEUED` (count): contacts that went through a queue (answered + abandoned).
    ContactsQueued,
    /// `CONTACTS_TRANSFERRED_OUT` (count): handled contacts the agent transferred out.
    ContactsTransferredOut,
    /// `MAX_QUEUED_TIME` (seconds): the longest (dequeued − enqueued), answered or abandoned.
    MaxQueuedTime,
    /// `SERVICE_LEVEL` (percent) with threshold X: contacts removed from the queue (answered or
    /// abandoned) within X seconds of being enqueued (`<` X for LT, `≤` X for LTE) / queued ×
    /// 100.
    ServiceLevel,
    /// `SUM_CONTACTS_ABANDONED_IN_X` (count): abandoned within X seconds (LT or LTE).
    SumContactsAbandonedInX,
    /// `SUM_CONTACTS_ANSWERED_IN_X` (count): answered within X seconds of being enqueued.
    SumContactsAnsweredInX,
}

/// A threshold's comparison: `LT` or `LTE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
}

/// A filter or grouping dimension, as the service model lists them per metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dimension {
    Queue,
    Channel,
    RoutingProfile,
    Agent,
    AgentHierarchy,
}

use Dimension::{Agent, AgentHierarchy, Channel, Queue, RoutingProfile};

impl HistoricalMetric {
    /// Every metric the simulator serves, in alphabetical order of names.
    pub const ALL: [HistoricalMetric; 15] = [
        Self::AbandonmentRate,
        Self::AgentOccupancy,
        Self::AvgAbandonTime,
        Self::AvgAfterContactWorkTime,
        Self::AvgHandleTime,
        Self::AvgHoldTime,
        Self::AvgQueueAnswerTime,
        Self::ContactsAbandoned,
        Self::ContactsHandled,
        Self::ContactsQueued,
        Self::ContactsTransferredOut,
        Self::MaxQueuedTime,
        Self::ServiceLevel,
        Self::SumContactsAbandonedInX,
        Self::SumContactsAnsweredInX,
    ];

    /// The API's name, e.g. `SERVICE_LEVEL`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AbandonmentRate => "ABANDONMENT_RATE",
            Self::AgentOccupancy => "AGENT_OCCUPANCY",
            Self::AvgAbandonTime => "AVG_ABANDON_TIME",
            Self::AvgAfterContactWorkTime => "AVG_AFTER_CONTACT_WORK_TIME",
            Self::AvgHandleTime => "AVG_HANDLE_TIME",
            Self::AvgHoldTime => "AVG_HOLD_TIME",
            Self::AvgQueueAnswerTime => "AVG_QUEUE_ANSWER_TIME",
            Self::ContactsAbandoned => "CONTACTS_ABANDONED",
            Self::ContactsHandled => "CONTACTS_HANDLED",
            Self::ContactsQueued => "CONTACTS_QUEUED",
            Self::ContactsTransferredOut => "CONTACTS_TRANSFERRED_OUT",
            Self::MaxQueuedTime => "MAX_QUEUED_TIME",
            Self::ServiceLevel => "SERVICE_LEVEL",
            Self::SumContactsAbandonedInX => "SUM_CONTACTS_ABANDONED_IN_X",
            Self::SumContactsAnsweredInX => "SUM_CONTACTS_ANSWERED_IN_X",
        }
    }

    /// The metric called `name` in the API, if the simulator serves it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|metric| metric.name() == name)
    }

    /// Whether the metric takes exactly one threshold (LT or LTE, 1 to 604800 seconds).
    pub fn takes_threshold(self) -> bool {
        matches!(
            self,
            Self::ServiceLevel | Self::SumContactsAbandonedInX | Self::SumContactsAnsweredInX
        )
    }

    /// Whether the model lists INITIATION_METHOD as a metric filter key of the metric.
    pub fn takes_initiation_method_filter(self) -> bool {
        matches!(
            self,
            Self::AvgAbandonTime
                | Self::AvgAfterContactWorkTime
                | Self::AvgQueueAnswerTime
                | Self::ContactsAbandoned
                | Self::ContactsHandled
        )
    }

    /// The filters and groupings the model allows with the metric, among those simulated.
    pub(crate) fn valid_dimensions(self) -> &'static [Dimension] {
        match self {
            Self::AgentOccupancy => &[RoutingProfile, Agent, AgentHierarchy],
            Self::AvgQueueAnswerTime
            | Self::ServiceLevel
            | Self::SumContactsAbandonedInX
            | Self::SumContactsAnsweredInX => &[Queue, Channel, RoutingProfile],
            _ => &[Queue, Channel, RoutingProfile, Agent, AgentHierarchy],
        }
    }
}

/// One requested metric: which, its threshold, its INITIATION_METHOD metric filters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricSpec {
    pub(crate) metric: HistoricalMetric,
    /// The threshold in seconds, for the metrics that take one.
    pub(crate) threshold: Option<(Comparison, f64)>,
    /// INITIATION_METHOD filters, each (values, negate): a contact counts when its method is
    /// among the values (not among them with negate) for every filter.
    pub(crate) method_filters: Vec<(Vec<String>, bool)>,
}

/// What a GetMetricDataV2 request asks of the history, IDs already stripped of ARNs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HistoryQuery {
    /// The intervals, in order, each `[start, end)` in epoch seconds, end to start.
    pub(crate) intervals: Vec<(f64, f64)>,
    pub(crate) queues: Option<Vec<String>>,
    pub(crate) channels: Option<Vec<String>>,
    pub(crate) routing_profiles: Option<Vec<String>>,
    pub(crate) agents: Option<Vec<String>>,
    /// AGENT_HIERARCHY_LEVEL_n filters: (level 1 to 5, group IDs). The simulated agents have
    /// level one only.
    pub(crate) hierarchy: Vec<(u8, Vec<String>)>,
    pub(crate) by_queue: bool,
    pub(crate) by_channel: bool,
    pub(crate) by_routing_profile: bool,
    pub(crate) metrics: Vec<MetricSpec>,
}

/// One row: its dimensions, its interval and one value per requested metric.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistoryRow {
    pub(crate) queue_id: Option<String>,
    pub(crate) channel: Option<&'static str>,
    pub(crate) routing_profile_id: Option<String>,
    pub(crate) interval: (f64, f64),
    pub(crate) values: Vec<Option<f64>>,
}

/// A row's grouping values: queue, channel and profile index, each only when grouped by it.
type Key = (Option<u32>, Option<u8>, Option<u32>);

/// What one metric of one row adds up.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    num: f64,
    den: f64,
    max: Option<f64>,
}

/// The resolved filters of a query.
struct Selection {
    queues: Option<HashSet<u32>>,
    channels: [bool; 4],
    profiles: Option<HashSet<u32>>,
    /// Per agent index, whether the AGENT and hierarchy filters keep it; `None` without them.
    agents: Option<Vec<bool>>,
}

/// GetMetricDataV2's rows for `query` over `history` (open agent-time spans up to `now`): one
/// per combination of grouping values and interval that has data (a contact that counts, when
/// a contact metric is asked; agent time, when AGENT_OCCUPANCY is), ordered by queue (the
/// instance's order), channel ([`HISTORY_CHANNELS`] order), routing profile, then interval. A
/// queue without contacts in an interval has no row, as with the real service.
pub(crate) fn history_metric_rows(
    scenario: &Scenario,
    history: &History,
    now: f64,
    query: &HistoryQuery,
) -> Vec<HistoryRow> {
    let selection = Selection::new(scenario, query);
    let mut cells: BTreeMap<(Key, usize), Vec<Tally>> = BTreeMap::new();
    let blank = vec![Tally::default(); query.metrics.len()];
    let occupancy = |m: &MetricSpec| m.metric == HistoricalMetric::AgentOccupancy;
    if query.metrics.iter().any(|m| !occupancy(m)) {
        for record in &history.contacts {
            let Some(key) = selection.contact_key(record, query) else {
                continue;
            };
            let Some(interval) = interval_of(&query.intervals, record.disconnected_at) else {
                continue;
            };
            let tallies = cells
                .entry((key, interval))
                .or_insert_with(|| blank.clone());
            for (spec, tally) in query.metrics.iter().zip(tallies.iter_mut()) {
                tally.add_contact(spec, record);
            }
        }
    }
    if query.metrics.iter().any(occupancy) && !query.by_queue && !query.by_channel {
        for span in history.spans_until(now) {
            if !selection.keeps_agent(span.agent, span.profile) {
                continue;
            }
            let key = (None, None, query.by_routing_profile.then_some(span.profile));
            let first = query.intervals.partition_point(|iv| iv.1 <= span.start);
            for (index, (start, end)) in query.intervals.iter().enumerate().skip(first) {
                let overlap = end.min(span.end) - start.max(span.start);
                if *start >= span.end {
                    break;
                }
                if overlap <= 0.0 {
                    continue;
                }
                let tallies = cells.entry((key, index)).or_insert_with(|| blank.clone());
                for (spec, tally) in query.metrics.iter().zip(tallies.iter_mut()) {
                    if occupancy(spec) {
                        tally.num += if span.on_contact { overlap } else { 0.0 };
                        tally.den += overlap;
                    }
                }
            }
        }
    }
    cells
        .into_iter()
        .map(|((key, interval), tallies)| HistoryRow {
            queue_id: key
                .0
                .and_then(|q| scenario.queues.get(q as usize).map(|q| q.id.clone())),
            channel: key.1.map(|c| HISTORY_CHANNELS[usize::from(c)]),
            routing_profile_id: key.2.and_then(|p| {
                scenario
                    .routing_profiles
                    .get(p as usize)
                    .map(|p| p.id.clone())
            }),
            interval: query.intervals[interval],
            values: query
                .metrics
                .iter()
                .zip(&tallies)
                .map(|(spec, tally)| tally.value(spec.metric))
                .collect(),
        })
        .collect()
}

/// The index of the interval `[start, end)` holding `at`.
fn interval_of(intervals: &[(f64, f64)], at: f64) -> Option<usize> {
    let index = intervals.partition_point(|iv| iv.1 <= at);
    intervals.get(index).filter(|iv| iv.0 <= at).map(|_| index)
}

impl Selection {
    fn new(scenario: &Scenario, query: &HistoryQuery) -> Self {
        let indexes = |wanted: &Option<Vec<String>>, ids: Vec<&str>| {
            wanted.as_ref().map(|wanted| {
                ids.iter()
                    .enumerate()
                    .filter(|(_, id)| wanted.iter().any(|w| w == *id))
                    .map(|(index, _)| index as u32)
                    .collect::<HashSet<u32>>()
            })
        };
        let queues = indexes(
            &query.queues,
            scenario.queues.iter().map(|q| q.id.as_str()).collect(),
        );
        let profiles = indexes(
            &query.routing_profiles,
            scenario
                .routing_profiles
                .iter()
                .map(|p| p.id.as_str())
                .collect(),
        );
        let mut channels = [true; 4];
        if let Some(wanted) = &query.channels {
            for (index, channel) in HISTORY_CHANNELS.iter().enumerate() {
                channels[index] = wanted.iter().any(|w| w == channel);
            }
        }
        let agents = (query.agents.is_some() || !query.hierarchy.is_empty()).then(|| {
            scenario
                .agents
                .iter()
                .map(|agent| {
                    let named = query
                        .agents
                        .as_ref()
                        .is_none_or(|ids| ids.contains(&agent.id));
                    // The simulated agents' one group is their level one.
                    let grouped = query.hierarchy.iter().all(|(level, groups)| {
                        *level == 1
                            && agent
                                .hierarchy_group_id
                                .as_ref()
                                .is_some_and(|g| groups.contains(g))
                    });
                    named && grouped
                })
                .collect()
        });
        Self {
            queues,
            channels,
            profiles,
            agents,
        }
    }

    /// Whether the agent filters keep agent `agent` of profile `profile`.
    fn keeps_agent(&self, agent: u32, profile: u32) -> bool {
        self.profiles.as_ref().is_none_or(|p| p.contains(&profile))
            && self
                .agents
                .as_ref()
                .is_none_or(|a| a.get(agent as usize).copied().unwrap_or(false))
    }

    /// The row key of `record`, or `None` when the filters leave it out.
    fn contact_key(&self, record: &ContactRecord, query: &HistoryQuery) -> Option<Key> {
        if self
            .queues
            .as_ref()
            .is_some_and(|q| !q.contains(&record.queue))
            || !self.channels[usize::from(record.channel)]
        {
            return None;
        }
        let needs_agent =
            self.profiles.is_some() || self.agents.is_some() || query.by_routing_profile;
        let profile = match record.answered {
            Some(answered) if needs_agent => {
                if !self.keeps_agent(answered.agent, answered.profile) {
                    return None;
                }
                Some(answered.profile)
            }
            None if needs_agent => return None,
            _ => None,
        };
        Some((
            query.by_queue.then_some(record.queue),
            query.by_channel.then_some(record.channel),
            profile.filter(|_| query.by_routing_profile),
        ))
    }
}

impl Tally {
    /// Adds what `record` contributes to metric `spec`.
    fn add_contact(&mut self, spec: &MetricSpec, record: &ContactRecord) {
        let method = INITIATION_METHODS[usize::from(record.method)];
        let methods_pass = spec
            .method_filters
            .iter()
            .all(|(values, negate)| values.iter().any(|v| v == method) != *negate);
        let queued = record.queue_seconds();
        let within = spec
            .threshold
            .is_some_and(|(comparison, x)| match comparison {
                Comparison::Lt => queued < x,
                Comparison::Lte => queued <= x,
            });
        let answered = record.answered.filter(|_| methods_pass);
        let abandoned = record.answered.is_none() && methods_pass;
        let count = |yes: bool| if yes { 1.0 } else { 0.0 };
        match spec.metric {
            HistoricalMetric::ContactsQueued => self.num += 1.0,
            HistoricalMetric::ContactsHandled => self.num += count(answered.is_some()),
            HistoricalMetric::ContactsAbandoned => self.num += count(abandoned),
            HistoricalMetric::ContactsTransferredOut => {
                self.num += count(answered.is_some_and(|a| a.transferred_out));
            }
            HistoricalMetric::AbandonmentRate => {
                self.num += count(abandoned);
                self.den += 1.0;
            }
            HistoricalMetric::ServiceLevel => {
                self.num += count(within);
                self.den += 1.0;
            }
            HistoricalMetric::SumContactsAnsweredInX => {
                self.num += count(answered.is_some() && within);
            }
            HistoricalMetric::SumContactsAbandonedInX => self.num += count(abandoned && within),
            HistoricalMetric::AvgAbandonTime if abandoned => self.mean(queued),
            HistoricalMetric::AvgQueueAnswerTime if answered.is_some() => self.mean(queued),
            HistoricalMetric::MaxQueuedTime => {
                self.max = Some(self.max.map_or(queued, |max| max.max(queued)));
            }
            _ => {
                if let Some(a) = answered {
                    match spec.metric {
                        HistoricalMetric::AvgHandleTime => {
                            self.mean(a.talk + a.hold + a.after_contact_work);
                        }
                        HistoricalMetric::AvgAfterContactWorkTime => {
                            self.mean(a.after_contact_work);
                        }
                        HistoricalMetric::AvgHoldTime if a.hold > 0.0 => self.mean(a.hold),
                        _ => {}
                    }
                }
            }
        }
    }

    /// One more term of an average.
    fn mean(&mut self, term: f64) {
        self.num += term;
        self.den += 1.0;
    }

    /// The metric's value; `None` for a ratio or average with nothing to divide by.
    fn value(&self, metric: HistoricalMetric) -> Option<f64> {
        match metric {
            HistoricalMetric::AbandonmentRate
            | HistoricalMetric::AgentOccupancy
            | HistoricalMetric::ServiceLevel => {
                (self.den > 0.0).then(|| self.num / self.den * 100.0)
            }
            HistoricalMetric::AvgAbandonTime
            | HistoricalMetric::AvgAfterContactWorkTime
            | HistoricalMetric::AvgHandleTime
            | HistoricalMetric::AvgHoldTime
            | HistoricalMetric::AvgQueueAnswerTime => (self.den > 0.0).then(|| self.num / self.den),
            HistoricalMetric::MaxQueuedTime => self.max,
            HistoricalMetric::ContactsAbandoned
            | HistoricalMetric::ContactsHandled
            | HistoricalMetric::ContactsQueued
            | HistoricalMetric::ContactsTransferredOut
            | HistoricalMetric::SumContactsAbandonedInX
            | HistoricalMetric::SumContactsAnsweredInX => Some(self.num),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::history::{AnsweredRecord, SpanRecord};
    use super::super::test_support::demo_world;
    use super::super::World;
    use super::*;
    use HistoricalMetric as M;

    const T: f64 = 1_700_000_000.0;

    /// A demo world and a hand-made history: three agents of three different profiles.
    struct Fixture {
        world: World,
        history: History,
        agents: [u32; 3],
        profiles: [u32; 3],
    }

    fn answered(agent: u32, profile: u32, talk: f64, hold: f64, acw: f64) -> AnsweredRecord {
        AnsweredRecord {
            agent,
            profile,
            talk,
            hold,
            after_contact_work: acw,
            transferred_out: false,
        }
    }

    fn fixture() -> Fixture {
        let world = demo_world(5);
        let scenario = &world.scenario;
        let mut agents = Vec::new();
        let mut profiles = Vec::new();
        for (index, agent) in scenario.agents.iter().enumerate() {
            let profile = scenario
                .routing_profiles
                .iter()
                .position(|p| p.id == agent.routing_profile_id)
                .unwrap() as u32;
            if !profiles.contains(&profile) {
                agents.push(index as u32);
                profiles.push(profile);
            }
        }
        let agents = [agents[0], agents[1], agents[2]];
        let profiles = [profiles[0], profiles[1], profiles[2]];
        let mut history = world.history.emptied();
        let contact = |id: &str, queue, channel, method, times: [f64; 3], done| ContactRecord {
            contact_id: id.into(),
            queue,
            channel,
            method,
            enqueued_at: times[0],
            dequeued_at: times[1],
            disconnected_at: times[2],
            answered: done,
        };
        let (a0, a1, a2) = (agents[0], agents[1], agents[2]);
        let (p0, p1, p2) = (profiles[0], profiles[1], profiles[2]);
        let mut transferred = answered(a1, p1, 60.0, 0.0, 20.0);
        transferred.transferred_out = true;
        history.contacts.extend([
            // Queue 0, VOICE (0), INBOUND (0): waited 15 s, talk 90, hold 15, ACW 30.
            contact(
                "a",
                0,
                0,
                0,
                [T - 20.0, T - 5.0, T + 100.0],
                Some(answered(a0, p0, 90.0, 15.0, 30.0)),
            ),
            // Queue 0, VOICE, CALLBACK (3): waited 30 s, transferred out.
            contact(
                "b",
                0,
                0,
                3,
                [T + 10.0, T + 40.0, T + 100.0],
                Some(transferred),
            ),
            // Queue 0, VOICE: abandoned after 20 s.
            contact("c", 0, 0, 0, [T + 200.0, T + 220.0, T + 220.0], None),
            // Queue 1, CHAT (1): waited 1 s, talk 200.
            contact(
                "d",
                1,
                1,
                0,
                [T + 300.0, T + 301.0, T + 501.0],
                Some(answered(a0, p0, 200.0, 0.0, 10.0)),
            ),
            // Queue 0, VOICE: abandoned after 60 s, disconnected on the second interval's start.
            contact("e", 0, 0, 1, [T + 840.0, T + 900.0, T + 900.0], None),
            // Queue 1, VOICE: long after the window.
            contact(
                "f",
                1,
                0,
                0,
                [T + 4000.0, T + 4001.0, T + 5000.0],
                Some(answered(a2, p2, 999.0, 0.0, 1.0)),
            ),
        ]);
        let span = |agent, profile, on_contact, start, end| SpanRecord {
            agent,
            profile,
            on_contact,
            start,
            end,
        };
        history.spans.extend([
            span(a0, p0, true, T - 100.0, T + 300.0),
            span(a0, p0, false, T + 300.0, T + 600.0),
            span(a1, p1, false, T, T + 900.0),
            span(a1, p1, true, T + 900.0, T + 1000.0),
        ]);
        Fixture {
            world,
            history,
            agents,
            profiles,
        }
    }

    fn spec(metric: HistoricalMetric) -> MetricSpec {
        MetricSpec {
            metric,
            threshold: None,
            method_filters: Vec::new(),
        }
    }

    fn with_threshold(metric: HistoricalMetric, comparison: Comparison, x: f64) -> MetricSpec {
        MetricSpec {
            threshold: Some((comparison, x)),
            ..spec(metric)
        }
    }

    fn rows(fixture: &Fixture, query: &HistoryQuery) -> Vec<HistoryRow> {
        // Open spans would reach to `now`; the fixture has none.
        history_metric_rows(&fixture.world.scenario, &fixture.history, T + 1800.0, query)
    }

    fn total() -> HistoryQuery {
        HistoryQuery {
            intervals: vec![(T, T + 1800.0)],
            ..HistoryQuery::default()
        }
    }

    #[test]
    fn each_formula_over_a_hand_made_history() {
        let fixture = fixture();
        let metrics = vec![
            spec(M::ContactsQueued),
            spec(M::ContactsHandled),
            spec(M::ContactsAbandoned),
            spec(M::ContactsTransferredOut),
            spec(M::AbandonmentRate),
            spec(M::AvgHandleTime),
            spec(M::AvgAfterContactWorkTime),
            spec(M::AvgHoldTime),
            spec(M::AvgQueueAnswerTime),
            spec(M::AvgAbandonTime),
            spec(M::MaxQueuedTime),
            with_threshold(M::ServiceLevel, Comparison::Lt, 20.0),
            with_threshold(M::ServiceLevel, Comparison::Lte, 20.0),
            with_threshold(M::SumContactsAnsweredInX, Comparison::Lte, 20.0),
            with_threshold(M::SumContactsAbandonedInX, Comparison::Lte, 20.0),
            MetricSpec {
                method_filters: vec![(vec!["CALLBACK".into()], false)],
                ..spec(M::ContactsHandled)
            },
            MetricSpec {
                method_filters: vec![(vec!["CALLBACK".into()], true)],
                ..spec(M::ContactsHandled)
            },
        ];
        let query = HistoryQuery {
            by_queue: true,
            metrics,
            ..total()
        };
        let rows = rows(&fixture, &query);
        let queues = &fixture.world.scenario.queues;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].queue_id.as_deref(), Some(queues[0].id.as_str()));
        assert_eq!(rows[0].interval, (T, T + 1800.0));
        let some = |values: &[f64]| values.iter().map(|v| Some(*v)).collect::<Vec<_>>();
        // Queue 0: a, b (answered), c, e (abandoned).
        assert_eq!(
            rows[0].values,
            some(&[
                4.0,                  // queued
                2.0,                  // handled
                2.0,                  // abandoned
                1.0,                  // transferred out
                50.0,                 // abandonment rate
                (135.0 + 80.0) / 2.0, // handle time: talk + hold + ACW
                25.0,                 // ACW
                15.0,                 // hold: only a was on hold
                22.5,                 // queue answer: 15 and 30
                40.0,                 // abandon: 20 and 60
                60.0,                 // max queued
                25.0,                 // SL < 20: a
                50.0,                 // SL ≤ 20: a, c
                1.0,                  // answered ≤ 20: a
                1.0,                  // abandoned ≤ 20: c
                1.0,                  // handled CALLBACK: b
                1.0,                  // handled not CALLBACK: a
            ])
        );
        // Queue 1: d only; nothing to average for abandons and holds.
        let q1 = &rows[1].values;
        assert_eq!(rows[1].queue_id.as_deref(), Some(queues[1].id.as_str()));
        assert_eq!(&q1[..5], some(&[1.0, 1.0, 0.0, 0.0, 0.0]).as_slice());
        assert_eq!(
            (q1[7], q1[9]),
            (None, None),
            "AVG_HOLD_TIME, AVG_ABANDON_TIME"
        );
        assert_eq!((q1[8], q1[10], q1[11]), (Some(1.0), Some(1.0), Some(100.0)));
    }

    #[test]
    fn intervals_filters_and_groupings_pick_the_contacts() {
        let fixture = fixture();
        let scenario = &fixture.world.scenario;
        let queued = vec![spec(M::ContactsQueued)];
        // FIFTEEN_MIN: e was disconnected on the second interval's first instant.
        let query = HistoryQuery {
            intervals: vec![(T, T + 900.0), (T + 900.0, T + 1800.0)],
            by_queue: true,
            metrics: queued.clone(),
            ..HistoryQuery::default()
        };
        type Row = (Option<String>, (f64, f64), Option<f64>);
        let got: Vec<Row> = rows(&fixture, &query)
            .into_iter()
            .map(|r| (r.queue_id, r.interval, r.values[0]))
            .collect();
        let q = |i: usize| Some(scenario.queues[i].id.clone());
        assert_eq!(
            got,
            vec![
                (q(0), (T, T + 900.0), Some(3.0)),
                (q(0), (T + 900.0, T + 1800.0), Some(1.0)),
                (q(1), (T, T + 900.0), Some(1.0)),
            ]
        );
        let count = |query: HistoryQuery| -> Vec<(Option<&'static str>, Option<String>, f64)> {
            rows(&fixture, &query)
                .into_iter()
                .map(|r| (r.channel, r.routing_profile_id, r.values[0].unwrap_or(-1.0)))
                .collect()
        };
        let base = || HistoryQuery {
            metrics: queued.clone(),
            ..total()
        };
        assert_eq!(count(base()), vec![(None, None, 5.0)]);
        let chat = HistoryQuery {
            channels: Some(vec!["CHAT".into()]),
            by_channel: true,
            ..base()
        };
        assert_eq!(count(chat), vec![(Some("CHAT"), None, 1.0)]);
        // By routing profile: abandoned contacts have no profile and drop out.
        let profile = |i: usize| {
            Some(
                scenario.routing_profiles[fixture.profiles[i] as usize]
                    .id
                    .clone(),
            )
        };
        let mut by_profile = count(HistoryQuery {
            by_routing_profile: true,
            ..base()
        });
        by_profile.sort_by(|a, b| a.1.cmp(&b.1));
        let mut expected = vec![(None, profile(0), 2.0), (None, profile(1), 1.0)];
        expected.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(by_profile, expected);
        let agent = &scenario.agents[fixture.agents[1] as usize];
        let one_agent = HistoryQuery {
            agents: Some(vec![agent.id.clone()]),
            ..base()
        };
        assert_eq!(count(one_agent), vec![(None, None, 1.0)]);
        let group = agent.hierarchy_group_id.clone().unwrap();
        let level_two = HistoryQuery {
            hierarchy: vec![(2, vec![group])],
            ..base()
        };
        assert_eq!(
            count(level_two),
            vec![],
            "simulated agents have level one only"
        );
        let nothing = HistoryQuery {
            queues: Some(vec!["no-such-queue".into()]),
            ..base()
        };
        assert!(count(nothing).is_empty(), "no contacts, no row");
    }

    #[test]
    fn occupancy_is_on_contact_over_on_contact_and_available() {
        let fixture = fixture();
        let scenario = &fixture.world.scenario;
        let profile = |i: usize| {
            scenario.routing_profiles[fixture.profiles[i] as usize]
                .id
                .clone()
        };
        let occupancy = vec![spec(M::AgentOccupancy)];
        let query = HistoryQuery {
            metrics: occupancy.clone(),
            ..total()
        };
        // (300 + 100) on contact, (300 + 900) available.
        assert_eq!(rows(&fixture, &query)[0].values, vec![Some(25.0)]);
        let query = HistoryQuery {
            intervals: vec![(T, T + 900.0), (T + 900.0, T + 1800.0)],
            by_routing_profile: true,
            metrics: vec![spec(M::AgentOccupancy), spec(M::ContactsHandled)],
            ..HistoryQuery::default()
        };
        let mut got: Vec<(String, f64, Option<f64>, Option<f64>)> = rows(&fixture, &query)
            .into_iter()
            .map(|r| {
                (
                    r.routing_profile_id.unwrap(),
                    r.interval.0,
                    r.values[0],
                    r.values[1],
                )
            })
            .collect();
        got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mut expected = vec![
            (profile(0), T, Some(50.0), Some(2.0)),
            (profile(1), T, Some(0.0), Some(1.0)),
            (profile(1), T + 900.0, Some(100.0), Some(0.0)),
        ];
        expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(got, expected);
        // A profile with contacts but no agent time: occupancy is null.
        let late = HistoryQuery {
            intervals: vec![(T + 4000.0, T + 5400.0)],
            by_routing_profile: true,
            metrics: vec![spec(M::AgentOccupancy), spec(M::ContactsHandled)],
            ..HistoryQuery::default()
        };
        let got = rows(&fixture, &late);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].routing_profile_id, Some(profile(2)));
        assert_eq!(got[0].values, vec![None, Some(1.0)]);
        let filtered = HistoryQuery {
            routing_profiles: Some(vec![profile(1)]),
            metrics: occupancy,
            ..total()
        };
        assert_eq!(rows(&fixture, &filtered)[0].values, vec![Some(10.0)]);
    }

    #[test]
    fn averages_and_ratios_without_contacts_are_null() {
        let fixture = fixture();
        let metrics: Vec<MetricSpec> = [
            M::AvgHandleTime,
            M::AvgAfterContactWorkTime,
            M::AvgQueueAnswerTime,
            M::ContactsHandled,
            M::AbandonmentRate,
        ]
        .into_iter()
        .map(spec)
        .chain([with_threshold(M::ServiceLevel, Comparison::Lt, 5.0)])
        .collect();
        // Only c (abandoned) in this interval.
        let query = HistoryQuery {
            intervals: vec![(T + 200.0, T + 300.0)],
            metrics,
            ..HistoryQuery::default()
        };
        assert_eq!(
            rows(&fixture, &query)[0].values,
            vec![None, None, None, Some(0.0), Some(100.0), Some(0.0)]
        );
    }
}
