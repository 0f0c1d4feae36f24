//! A stand-in for the Amazon Connect API, for the exporter's demo, its tests and benchmarks.
//!
//! It speaks the service's real REST-JSON wire format (paths, JSON member names, epoch-second
//! timestamps, error status codes with `x-amzn-ErrorType`), so the real AWS SDK pointed at it
//! with `endpoint_url` works unchanged, for GetCurrentUserData, GetCurrentMetricData (over a
//! simulated queue backlog), GetMetricDataV2 (over a contact history), SearchRoutingProfiles
//! and the List* look-ups.
//! Signatures are not checked. Everything random comes from a seed: the same options give
//! byte-identical answers.
//!
//! The exporter starts it only for `--demo` and its `simulate` subcommand (and its tests and
//! benchmarks do); the exporter's production modules never name it, and this crate knows
//! nothing of the exporter.
//!
//! Start one with [`RunningSimulator::start`], or build a [`Simulator`] and [`Simulator::serve`]
//! it on a listener of your own. [`Faults`] injects throttling, errors, latency, truncated JSON,
//! connection resets and unknown enum values on purpose.
//!
//! With [`SimulatorOptions::agent_events`] it also publishes Amazon Connect agent events to a
//! Kinesis Data Streams stand-in on the same listener (AWS JSON 1.1, `X-Amz-Target:
//! Kinesis_20131202.*`: DescribeStreamSummary, ListShards, GetShardIterator, GetRecords), so
//! that the real Kinesis SDK reads them; [`Simulator::agent_event_log`] is the record of truth.

mod agent_event_api;
pub mod api;
pub mod faults;
mod hash_key;
mod http;
mod ids;
mod quota;
mod rng;
mod running;
pub mod scenario;
mod stream;
mod wire;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;

pub use api::MissedPair;
pub use faults::Faults;
pub use quota::Quota;
pub use running::{RunningSimulator, StartError};
pub use scenario::{
    AgentActivity, AgentEventStreamOptions, AgentEventType, AgentTimeSpan, AnsweredContact,
    HistoricalContact, PublishedAgentEvent, StatusChange,
};
use scenario::{Scenario, Size, Timing, World};

/// The instance ID the simulator uses unless told otherwise (also in `config/demo.yaml`).
pub const DEMO_INSTANCE_ID: &str = "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20";

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulatorOptions {
    /// Instance ID (a UUID).
    pub instance_id: String,
    /// Region, used in ARNs.
    pub region: String,
    /// Account ID, used in ARNs.
    pub account_id: String,
    /// Number of agents.
    pub agents: usize,
    /// Number of STANDARD queues.
    pub queues: usize,
    /// Number of routing profiles.
    pub routing_profiles: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// Never advance after warm-up, for exact tests.
    pub frozen: bool,
    /// Real time per simulated step.
    pub tick: Duration,
    /// Where the simulated clock stands when warm-up ends, epoch seconds; `None`: now. With
    /// `frozen`, a fixed value makes every answer the same from run to run (golden tests).
    pub clock_at: Option<f64>,
    /// Where the contact history's backfill starts, epoch seconds; it runs up to the start of
    /// warm-up, and the live history follows. `None`: UTC midnight of the simulated clock at
    /// the end of warm-up, so that "today so far" has data from the start.
    pub history_start: Option<f64>,
    /// Faults to inject.
    pub faults: Faults,
    /// Operations (`SearchRoutingProfiles`, `ListQueues`, ...) answered `403
    /// AccessDeniedException`, as for a role without their IAM action; see
    /// [`Simulator::deny_operation`] to change them while serving.
    pub deny_operations: BTreeSet<String>,
    /// Every n-th routing profile of the instance (1-based, in instance order) comes from
    /// SearchRoutingProfiles without `AssociatedQueueIds`, so that a client's fallback to
    /// ListRoutingProfileQueues can be tested; `None`: every profile has it. `Some(0)` is
    /// refused.
    pub omit_associated_queue_ids_every: Option<usize>,
    /// Publish Amazon Connect agent events to a Kinesis data stream served on the same
    /// listener (see [`AgentEventStreamOptions`]); `None` publishes nothing and costs nothing.
    pub agent_events: Option<AgentEventStreamOptions>,
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        Self {
            instance_id: DEMO_INSTANCE_ID.to_string(),
            region: "eu-west-2".to_string(),
            account_id: "123456789012".to_string(),
            agents: 200,
            queues: 12,
            routing_profiles: 10,
            seed: 1,
            frozen: false,
            tick: Duration::from_secs(1),
            clock_at: None,
            history_start: None,
            faults: Faults::default(),
            deny_operations: BTreeSet::new(),
            omit_associated_queue_ids_every: None,
            agent_events: None,
        }
    }
}

/// The simulator could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The options make no sense.
    #[error("invalid simulator options: {0}")]
    InvalidOptions(String),
}

/// A simulated Connect instance. Cheap to clone; clones share the state.
#[derive(Debug, Clone)]
pub struct Simulator {
    service: Arc<api::Service>,
    instance_id: String,
}

impl Simulator {
    /// Builds and warms up the contact centre.
    pub fn new(options: SimulatorOptions) -> Result<Self, SimulatorError> {
        let problem = if options.agents == 0 || options.queues == 0 || options.routing_profiles == 0
        {
            Some("agents, queues and routing profiles must each be at least 1".to_string())
        } else if options.tick.is_zero() {
            Some("tick must be longer than 0".to_string())
        } else if options.history_start.is_some_and(|t| !t.is_finite()) {
            Some("history_start must be a finite number of epoch seconds".to_string())
        } else if options.omit_associated_queue_ids_every == Some(0) {
            Some("omit_associated_queue_ids_every must be at least 1".to_string())
        } else if !ids::is_uuid(&options.instance_id) {
            Some(format!(
                "instance ID {:?} is not a UUID",
                options.instance_id
            ))
        } else if let Some(problem) = options
            .agent_events
            .as_ref()
            .and_then(|o| o.validate().err())
        {
            Some(problem)
        } else {
            options.faults.validate().err()
        };
        if let Some(problem) = problem {
            return Err(SimulatorError::InvalidOptions(problem));
        }
        let tick = options.tick.as_secs_f64();
        let now = options.clock_at.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        });
        // Start in the past so that warm-up ends now.
        let start = now - f64::from(scenario::WARM_UP_TICKS) * tick;
        let mut world = World::build(
            &options.instance_id,
            &options.region,
            &options.account_id,
            Size {
                agents: options.agents,
                queues: options.queues,
                routing_profiles: options.routing_profiles,
            },
            options.seed,
            Timing {
                start,
                tick_seconds: tick,
                history_start: options.history_start,
            },
        );
        if let Some(events) = options.agent_events {
            let place = (options.region.as_str(), options.account_id.as_str());
            world.enable_agent_events(events, place, options.seed);
        }
        let service = api::Service::new(world, options.frozen, options.faults);
        for operation in &options.deny_operations {
            service.switches.set_denied(operation, true);
        }
        service
            .switches
            .set_omit_queue_ids_every(options.omit_associated_queue_ids_every);
        Ok(Self {
            service: Arc::new(service),
            instance_id: options.instance_id,
        })
    }

    /// The simulated instance's ID.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The current state (advanced to now unless frozen), for tests to compute expected values.
    pub fn scenario(&self) -> Scenario {
        self.service.with_world(|world| world.scenario.clone())
    }

    /// The simulated clock: epoch seconds the state is at (advanced to now unless frozen).
    /// With a frozen simulator, `simulated_now() - enqueued_at` is the age GetCurrentMetricData
    /// reports for a waiting contact.
    pub fn simulated_now(&self) -> f64 {
        self.service.with_world(|world| world.now)
    }

    /// Renames queue `id`, as an administrator would in the console; false if there is none.
    pub fn rename_queue(&self, id: &str, name: &str) -> bool {
        self.service.change_world(|world| {
            let queue = world.scenario.queues.iter_mut().find(|q| q.id == id);
            queue.map(|queue| queue.name = name.to_string()).is_some()
        })
    }

    /// Creates a STANDARD queue named `name` that routing profile `profile_id` serves on
    /// `channel`; returns its ID, or `None` if there is no such profile.
    pub fn add_queue(&self, name: &str, profile_id: &str, channel: &str) -> Option<String> {
        self.service
            .change_world(|world| world.add_queue(name, profile_id, channel))
    }

    /// Renames routing profile `id`; false if there is none.
    pub fn rename_routing_profile(&self, id: &str, name: &str) -> bool {
        self.service.change_world(|world| {
            let profile = world
                .scenario
                .routing_profiles
                .iter_mut()
                .find(|p| p.id == id);
            profile
                .map(|profile| profile.name = name.to_string())
                .is_some()
        })
    }

    /// Deletes queue `id`, as an administrator would once no routing profile serves it (the
    /// simulator takes it out of every profile itself): ListQueues, ListRoutingProfileQueues,
    /// SearchRoutingProfiles and GetCurrentMetricData no longer show it, the contacts waiting
    /// in it are gone, and so are the agents' contacts that came from it (GetCurrentUserData's
    /// slots follow) and its records in the contact history. False if there is no such queue.
    pub fn delete_queue(&self, id: &str) -> bool {
        self.service.change_world(|world| world.delete_queue(id))
    }

    /// Deletes routing profile `id` if no agent has it, as Connect refuses to delete a profile
    /// users have; false if some agent has it or there is no such profile. (The simulator never
    /// moves agents between profiles: a profile no agent has from the start stays so.)
    pub fn delete_routing_profile(&self, id: &str) -> bool {
        self.service
            .change_world(|world| world.delete_routing_profile(id))
    }

    /// Makes `operation` (`SearchRoutingProfiles`, `ListQueues`, ... as
    /// [`Simulator::request_count`] names them) answer `403 AccessDeniedException`, with the
    /// message IAM gives a role without `connect:<operation>`; faults still apply before it.
    pub fn deny_operation(&self, operation: &str) {
        self.service.switches.set_denied(operation, true);
    }

    /// Answers `operation` again after [`Simulator::deny_operation`].
    pub fn allow_operation(&self, operation: &str) {
        self.service.switches.set_denied(operation, false);
    }

    /// [`SimulatorOptions::omit_associated_queue_ids_every`] while serving; `None` or `Some(0)`:
    /// every profile has `AssociatedQueueIds`.
    pub fn set_omit_associated_queue_ids_every(&self, every: Option<usize>) {
        self.service.switches.set_omit_queue_ids_every(every);
    }

    /// Stops the clock: from now on every answer shows the same state (what `frozen` does from
    /// the start), so that a test can let the exporter catch up and compare exactly.
    pub fn freeze(&self) {
        self.service
            .frozen
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every (contact, agent) pair a GetCurrentUserData answer has carried in the MISSED state
    /// (the agent did not answer): what the exporter's missed-contact counter must count, each
    /// pair once. Answers later spoiled by a fault (malformed, reset) count too, so compare
    /// against a run without faults.
    pub fn served_missed(&self) -> std::collections::BTreeSet<api::MissedPair> {
        self.service.served_missed()
    }

    /// Replaces the injected faults while serving, e.g. to stop them and watch the client
    /// recover; `rate_limit` keeps the quota the simulator was built with. Errors if a rate
    /// is not a probability.
    pub fn set_faults(&self, faults: Faults) -> Result<(), SimulatorError> {
        faults.validate().map_err(SimulatorError::InvalidOptions)?;
        self.service.set_faults(faults);
        Ok(())
    }

    /// Requests served per operation name (`GetCurrentUserData`, `ListQueues`, ...).
    pub fn request_count(&self, operation: &str) -> u64 {
        self.service.request_count(operation)
    }

    /// When each GetCurrentUserData request arrived (faulted ones included), as time since the
    /// simulator started: what a test needs to check the rate a client really sent at.
    pub fn user_data_request_times(&self) -> Vec<Duration> {
        self.request_times("GetCurrentUserData")
    }

    /// When each request of `operation` (`GetMetricDataV2`, `ListQueues`, ...) arrived, faulted
    /// ones included, as time since the simulator started (the first million requests).
    pub fn request_times(&self, operation: &str) -> Vec<Duration> {
        self.service.request_times(operation)
    }

    /// The contact history GetMetricDataV2 answers from (advanced to now unless frozen), in
    /// the order the contacts were completed: backfilled ones first, then live ones. A test
    /// computes the expected KPIs from these records; see the crate's README for what counts
    /// where. Bounded: the last 35 days, at most [`scenario::MAX_HISTORY_CONTACTS`].
    pub fn contact_history(&self) -> Vec<HistoricalContact> {
        self.service
            .with_world(|world| world.history.contacts(&world.scenario))
    }

    /// Every agent's time on contact and available (idle), as spans with their routing
    /// profile: closed spans in the order they closed, then each agent's current span up to
    /// [`Simulator::simulated_now`]. AGENT_OCCUPANCY over a window is the on-contact overlap
    /// with it over the on-contact plus available overlap. Bounded like the contacts (at most
    /// [`scenario::MAX_AGENT_TIME_SPANS`]).
    pub fn agent_time(&self) -> Vec<AgentTimeSpan> {
        self.service
            .with_world(|world| world.history.agent_time(&world.scenario, world.now))
    }

    /// Serves the API on `listener` until `shutdown` completes.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), SimulatorError> {
        let service = Arc::clone(&self.service);
        let handler = move |request| {
            let service = Arc::clone(&service);
            async move { api::handle(&service, request).await }
        };
        // Benchmarks drive many clients at once; the simulator is never exposed beyond tests.
        http::serve_http(listener, handler, 4096, shutdown).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_switch_while_serving_and_bad_rates_are_refused() {
        let all_errors = Faults {
            server_error_rate: 1.0,
            ..Faults::default()
        };
        let simulator = Simulator::new(SimulatorOptions {
            faults: all_errors.clone(),
            frozen: true,
            ..SimulatorOptions::default()
        })
        .expect("default options are valid");
        assert_eq!(simulator.service.faults(), all_errors);
        let refused = simulator.set_faults(Faults {
            reset_rate: 2.0,
            ..Faults::default()
        });
        assert!(
            matches!(refused, Err(SimulatorError::InvalidOptions(m)) if m.contains("reset rate"))
        );
        assert_eq!(
            simulator.service.faults(),
            all_errors,
            "a refused change changes nothing"
        );
        simulator
            .set_faults(Faults::default())
            .expect("no faults is valid");
        assert_eq!(simulator.service.faults(), Faults::default());
    }
}
