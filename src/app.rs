//! Assembles the exporter from a configuration and runs it: one SDK client per instance, one
//! polling task per queue set, the exposition and the HTTP server; reloads the configuration
//! on SIGHUP or `POST /-/reload` and stops on request.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_connect::config::Credentials;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::{Config, ConfigError, Instance};
use crate::config::{LabelValues, PlannerMode};
use crate::connect::{
    BudgetKey, Budgets, ConnectSource, InstanceApi, InstanceBudgets, RequestLog, RetryPolicy,
    SourceError, MAX_QUEUES_PER_REQUEST,
};
use crate::metrics::{Exposition, ExpositionError, SeriesOptions, WallboardOptions};
use crate::model::agent_events::{EventBatch, StreamHealth};
use crate::model::{IntradayReport, LabelNames, PollReport, RoundReport, TargetKey};
use crate::poll::{
    EventStreamTarget, Liveness, PollSink, PollThread, QueueSetTarget, Scheduler, Target, TaskKind,
    WallClock,
};
use crate::web::server::{self, ReloadRequest, ServerError, ServerState};
use crate::web::{Health, WebConfig};

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision this build was made from, or `unknown`.
pub const REVISION: &str = env!("BUILD_REVISION");

/// Reads and validates the configuration; called at start and on every reload.
pub type ConfigLoader = Arc<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>;

/// Everything needed to start the exporter.
#[derive(Clone)]
pub struct Settings {
    /// Where the configuration comes from.
    pub config_loader: ConfigLoader,
    /// `host:port` or `:port`.
    pub listen_address: String,
    /// Path of the metrics endpoint.
    pub telemetry_path: String,
    /// Static credentials replacing the AWS credential chain (the demo's test keys).
    pub credentials: Option<Credentials>,
    /// Connections the HTTP server serves at once.
    pub max_connections: usize,
    /// TLS and basic authentication.
    pub web: WebConfig,
    /// Where polls read the time they started (fixed only in tests).
    pub clock: WallClock,
    /// `--web.enable-lifecycle`: whether `POST /-/reload` reloads (it answers 403 without).
    pub enable_lifecycle: bool,
}

/// Why the exporter could not start, or a configuration could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An instance's client could not be set up.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The HTTP server could not listen.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The metric families could not be built.
    #[error(transparent)]
    Exposition(#[from] ExpositionError),
    /// The polling thread could not be started (the system is out of threads or memory).
    #[error("cannot start the polling thread: {0}")]
    PollThread(std::io::Error),
}

/// The budgets an instance's requests draw from: its account's and region's.
fn instance_budgets(instance: &Instance, budgets: &Arc<Budgets>) -> InstanceBudgets {
    InstanceBudgets::new(
        Arc::clone(budgets),
        instance.account_id.as_deref(),
        instance.region.as_deref(),
    )
}

/// The budget an instance's requests of `operation` draw from.
fn budget_key(instance: &Instance, operation: &str) -> BudgetKey {
    BudgetKey::new(
        instance.account_id.as_deref(),
        instance.region.as_deref(),
        operation,
    )
}

/// The fewest GetCurrentUserData (more with more than 100 agents) and GetCurrentMetricData
/// requests per second the configuration needs, by budget.
pub fn minimum_request_rates(config: &Config) -> BTreeMap<BudgetKey, f64> {
    let mut needed: BTreeMap<BudgetKey, f64> = BTreeMap::new();
    for instance in &config.instances {
        // A routing-profile sweep serves every set with one request per 100 agents (at least
        // one); queue filters cost one per chunk of 100 queues of each set.
        let per_poll: usize = match instance.request_planner {
            PlannerMode::Queues => instance
                .queue_sets
                .iter()
                // A discovered set's size is not known before the queue list is read: at
                // least one request.
                .map(|set| set.queue_ids.len().div_ceil(MAX_QUEUES_PER_REQUEST).max(1))
                .sum(),
            PlannerMode::Auto | PlannerMode::RoutingProfiles => 1,
        };
        let interval = instance.poll_interval.as_secs_f64();
        *needed
            .entry(budget_key(instance, "GetCurrentUserData"))
            .or_default() += per_poll as f64 / interval;
        if instance.queue_metrics {
            // GetCurrentMetricData pages by rows, one per queue and channel: at least one
            // request per 100 distinct queues, one per 100 rows where queues serve several
            // channels (a discovered set's queues are not known yet: at least one).
            let queues: std::collections::BTreeSet<&String> = instance
                .queue_sets
                .iter()
                .flat_map(|set| &set.queue_ids)
                .collect();
            let requests = queues.len().div_ceil(MAX_QUEUES_PER_REQUEST).max(1);
            *needed
                .entry(budget_key(instance, "GetCurrentMetricData"))
                .or_default() += requests as f64 / interval;
        }
        let intraday_sets: Vec<_> = instance
            .queue_sets
            .iter()
            .filter(|set| set.reads_intraday(&instance.intraday))
            .collect();
        if !intraday_sets.is_empty() {
            // Per window: one request per 100 distinct configured queues (at least one) and
            // one for occupancy; discovered queues are not known before the directory read.
            let queues: std::collections::BTreeSet<&String> = intraday_sets
                .iter()
                .flat_map(|set| &set.queue_ids)
                .collect();
            let per_window = queues.len().div_ceil(MAX_QUEUES_PER_REQUEST).max(1) + 1;
            let requests = per_window * instance.intraday.windows.len();
            *needed
                .entry(budget_key(instance, "GetMetricDataV2"))
                .or_default() += requests as f64 / instance.intraday.interval.as_secs_f64();
        }
    }
    needed
}

/// Says at start, with the numbers, when the intervals cannot be met inside the budget.
fn warn_if_over_budget(config: &Config, budgets: &Budgets) {
    for (key, needed) in minimum_request_rates(config) {
        let Some(limit) = budgets.limit(&key.operation) else {
            continue;
        };
        if needed > limit.rate {
            tracing::warn!(
                account = %key.account,
                region = %key.region,
                operation = %key.operation,
                needed_per_second = needed,
                budget_per_second = limit.rate,
                "the configured poll intervals need more requests than this account's budget allows; polls will wait for the budget and run late (lengthen poll_interval, merge queue sets, or raise the quota and api_rate_limits)"
            );
        }
    }
}

/// Rounds go to the exposition (the glue between polling and metrics, which know nothing of
/// each other).
impl PollSink for Exposition {
    fn record_round(
        &self,
        instance: &str,
        polls: Vec<(TargetKey, PollReport)>,
        round: RoundReport,
        names: Option<Arc<LabelNames>>,
    ) {
        if let Err(error) = Exposition::record_round(self, instance, polls, round, names) {
            // The previous exposition stays published; scrapes still get a consistent page.
            tracing::error!(%error, connect_instance = %instance, "metrics not updated");
        }
    }

    fn record_intraday(&self, instance: &str, report: IntradayReport) {
        if let Err(error) = Exposition::record_intraday(self, instance, report) {
            tracing::error!(%error, connect_instance = %instance, "intraday metrics not updated");
        }
    }

    fn record_agent_events(&self, health: StreamHealth, batches: Vec<(String, EventBatch)>) {
        let stream = health.stream.clone();
        if let Err(error) = Exposition::record_agent_events(self, health, batches) {
            tracing::error!(%error, %stream, "agent event metrics not updated");
        }
    }

    fn record_task_failure(
        &self,
        instance: &str,
        task: TaskKind,
        reason: &str,
        sets: &[TargetKey],
    ) {
        if let Err(error) = Exposition::record_task_failure(self, task.as_str(), reason, sets) {
            tracing::error!(%error, connect_instance = %instance, "metrics not updated after a task failure");
        }
    }
}

/// A running exporter.
pub struct Exporter {
    settings: Settings,
    address: SocketAddr,
    exposition: Arc<Exposition>,
    budgets: Arc<Budgets>,
    scheduler: Scheduler,
    /// Kept for the thread's sake: dropping it ends polling.
    _poll_thread: PollThread,
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
    reload_requests: mpsc::Receiver<ReloadRequest>,
    /// SIGHUP, listened for from the start.
    hangups: Option<tokio::signal::unix::Signal>,
    /// The configuration in force.
    config: Config,
    /// The client of each instance of `config`, by name.
    sources: BTreeMap<String, InstanceSource>,
}

/// One instance's client, ready to poll.
#[derive(Clone)]
pub(crate) struct InstanceSource {
    instance: Instance,
    source: Arc<dyn InstanceApi>,
    log: RequestLog,
    /// The Kinesis client of its agent event stream, when it has one.
    stream: Option<EventStreamTarget>,
}

/// Builds the SDK client of one instance, logging its requests in `log`.
pub(crate) async fn build_source(
    instance: &Instance,
    credentials: Option<&Credentials>,
    log: RequestLog,
) -> Result<InstanceSource, StartError> {
    let source = ConnectSource::new(instance, credentials.cloned(), log.clone()).await?;
    let stream = match &instance.agent_events {
        Some(events) => Some(build_stream(instance, events, credentials).await?),
        None => None,
    };
    Ok(InstanceSource {
        instance: instance.clone(),
        source: Arc::new(source),
        log,
        stream,
    })
}

/// Builds the Kinesis client of an instance's agent event stream.
#[cfg(feature = "agent-events")]
async fn build_stream(
    instance: &Instance,
    events: &crate::config::AgentEvents,
    credentials: Option<&Credentials>,
) -> Result<EventStreamTarget, StartError> {
    let requests = RequestLog::default();
    let api =
        crate::kinesis::KinesisStream::new(events, credentials.cloned(), requests.clone()).await?;
    Ok(EventStreamTarget {
        settings: events.clone(),
        instance_id: instance.instance_id.clone(),
        api: Arc::new(api),
        requests,
    })
}

/// A build without the `agent-events` feature has no Kinesis client.
#[cfg(not(feature = "agent-events"))]
async fn build_stream(
    instance: &Instance,
    _events: &crate::config::AgentEvents,
    _credentials: Option<&Credentials>,
) -> Result<EventStreamTarget, StartError> {
    Err(StartError::Source(SourceError::Setup(format!(
        "instance {}: agent_events needs the `agent-events` cargo feature, which this build was made without",
        instance.name
    ))))
}

/// The polling target of one instance, drawing from its account's budgets.
pub(crate) fn target(source: &InstanceSource, budgets: &Arc<Budgets>, clock: WallClock) -> Target {
    let InstanceSource {
        instance,
        source,
        log,
        stream,
    } = source;
    Target {
        instance: instance.name.clone(),
        sets: instance
            .queue_sets
            .iter()
            .map(|set| QueueSetTarget {
                key: TargetKey {
                    instance: instance.name.clone(),
                    queue_set: set.name.clone(),
                },
                queue_ids: set.queue_ids.clone(),
                queue_names: set.queue_names.clone(),
                discovery: set.discovery.clone(),
                selector: set.selector.clone(),
                intraday: set.reads_intraday(&instance.intraday),
                service_level_thresholds: set.service_level_thresholds.clone(),
                service_level_target: set.service_level_target,
            })
            .collect(),
        interval: instance.poll_interval,
        timeout: instance.poll_timeout,
        api: Arc::clone(source),
        planner: instance.request_planner,
        directory_refresh: instance.directory_refresh_interval,
        directory_timeout: instance.directory_timeout,
        label_values: instance.label_values,
        budgets: instance_budgets(instance, budgets),
        agent_names: instance.agent_series && instance.label_values == LabelValues::Names,
        hierarchy_names: instance.hierarchy_labels && instance.label_values == LabelValues::Names,
        queue_metrics: instance.queue_metrics,
        requests: log.clone(),
        retry: RetryPolicy::default(),
        clock,
        intraday: instance.intraday.clone(),
        agent_events: stream.clone(),
    }
}

/// The instances that read an agent event stream, and the streams read, by name.
fn event_streams(config: &Config) -> (BTreeSet<String>, BTreeSet<String>) {
    config
        .instances
        .iter()
        .filter_map(|instance| {
            let events = instance.agent_events.as_ref()?;
            Some((instance.name.clone(), events.stream_name.clone()))
        })
        .unzip()
}

/// What each instance's queue sets publish beyond the aggregates, and their series limit.
fn series_options(config: &Config) -> BTreeMap<String, SeriesOptions> {
    config
        .instances
        .iter()
        .map(|instance| {
            (
                instance.name.clone(),
                SeriesOptions {
                    agent_series: instance.agent_series,
                    series_limit: instance.series_limit,
                    counter_ttl: config.counter_ttl,
                },
            )
        })
        .collect()
}

/// The wallboard's thresholds, and its refresh: as often as the most frequent poll.
fn wallboard_options(config: &Config) -> WallboardOptions {
    let shortest_poll = config
        .instances
        .iter()
        .map(|instance| instance.poll_interval)
        .min();
    WallboardOptions::new(config.wallboard, shortest_poll)
}

/// Every queue set of the configuration.
fn keys(config: &Config) -> Vec<TargetKey> {
    config
        .instances
        .iter()
        .flat_map(|instance| {
            instance.queue_sets.iter().map(|set| TargetKey {
                instance: instance.name.clone(),
                queue_set: set.name.clone(),
            })
        })
        .collect()
}

/// The instances of which a queue set reads the intraday KPIs.
fn intraday_instances(config: &Config) -> BTreeSet<String> {
    config
        .instances
        .iter()
        .filter(|instance| {
            instance
                .queue_sets
                .iter()
                .any(|set| set.reads_intraday(&instance.intraday))
        })
        .map(|instance| instance.name.clone())
        .collect()
}

/// `/-/healthy` fails once the polling thread is gone: nothing would poll again.
impl Health for Liveness {
    fn check(&self) -> Result<(), String> {
        if self.is_running() {
            Ok(())
        } else {
            Err("the polling thread has ended; nothing polls any more".into())
        }
    }
}

impl Exporter {
    /// Loads the configuration, starts serving, builds the clients and starts polling. Only
    /// a configuration that cannot be read or applied, or an address that cannot be bound,
    /// stops the start: anything that depends on AWS (a name that does not resolve, an
    /// instance that does not exist, credentials that fail) fails only the queue sets it
    /// touches, which report it and come back by themselves.
    pub async fn start(settings: Settings) -> Result<Self, StartError> {
        let config = (settings.config_loader)()?;
        let listener = server::bind(&settings.listen_address).await?;
        let address = listener.local_addr().map_err(|source| ServerError::Bind {
            address: settings.listen_address.clone(),
            source,
        })?;
        let budgets = Arc::new(Budgets::with_directory_share(
            config.api_rate_limits.clone(),
            config.directory_budget_share,
        ));
        let logs: BTreeMap<String, RequestLog> = config
            .instances
            .iter()
            .map(|instance| (instance.name.clone(), RequestLog::default()))
            .collect();
        let keys = keys(&config);
        let exposition = Arc::new(Exposition::new(
            &keys,
            logs.clone(),
            Arc::clone(&budgets),
            VERSION,
            REVISION,
        )?);
        exposition.set_series_options(series_options(&config));
        // From the first round on; until then no set has a cell to colour.
        exposition.set_wallboard_options(wallboard_options(&config));
        let poll_thread = PollThread::start().map_err(StartError::PollThread)?;
        let (reload_sender, reload_requests) = mpsc::channel(4);
        let state = Arc::new(ServerState {
            exposition: Arc::clone(&exposition) as Arc<dyn crate::web::MetricsSource>,
            telemetry_path: settings.telemetry_path.clone(),
            version: VERSION.to_string(),
            reload: settings.enable_lifecycle.then_some(reload_sender),
            health: Some(Arc::new(poll_thread.liveness())),
            max_connections: settings.max_connections,
            web: settings.web.clone(),
        });
        // Listened for before the start is announced: SIGHUP's default action ends the
        // process, and a reload sent just after the start must not.
        let hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(signal) => Some(signal),
            Err(problem) => {
                warn!(error = %problem, "cannot listen for SIGHUP; reload with POST /-/reload (needs --web.enable-lifecycle)");
                None
            }
        };
        let (stop_server, stopped) = oneshot::channel();
        // Serving comes first: the status page and `/-/healthy` answer while the clients are
        // built and the first polls run.
        let server = tokio::spawn(server::serve(listener, state, async {
            // A dropped sender means the exporter is gone: stop too.
            let _ = stopped.await;
        }));
        let mut sources = BTreeMap::new();
        for instance in &config.instances {
            let log = logs.get(&instance.name).cloned().unwrap_or_default();
            let source = build_source(instance, settings.credentials.as_ref(), log).await?;
            sources.insert(instance.name.clone(), source);
        }
        warn_if_over_budget(&config, &budgets);
        let targets = sources
            .values()
            .map(|source| target(source, &budgets, settings.clock))
            .collect();
        let scheduler = Scheduler::start_on(targets, exposition.clone(), poll_thread.runtime());
        info!(
            %address,
            tls = settings.web.tls.is_some(),
            basic_auth = settings.web.basic_auth.is_some(),
            lifecycle = settings.enable_lifecycle,
            telemetry_path = %settings.telemetry_path,
            queue_sets = keys.len(),
            version = VERSION,
            revision = REVISION,
            "exporter started"
        );
        Ok(Self {
            settings,
            address,
            exposition,
            budgets,
            scheduler,
            _poll_thread: poll_thread,
            server,
            stop_server,
            reload_requests,
            hangups,
            config,
            sources,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The published metrics (for in-process tests and benchmarks).
    pub fn exposition(&self) -> &Arc<Exposition> {
        &self.exposition
    }

    /// Reads the configuration again and applies it. On an error in the configuration the
    /// running one stays in force and the error says why; names are not checked against the
    /// API here (a set whose name does not resolve reports it at `up` 0). Instances whose
    /// settings did not change keep running as they were: their directory, their rhythm.
    /// Returns the number of queue sets now polled.
    pub async fn reload(&mut self) -> Result<usize, StartError> {
        let config = (self.settings.config_loader)()?;
        let keys = keys(&config);
        if config == self.config {
            info!(
                queue_sets = keys.len(),
                "configuration unchanged; nothing restarted"
            );
            return Ok(keys.len());
        }
        // Everything that can fail comes before anything running is touched.
        let mut sources = BTreeMap::new();
        let mut restarted = Vec::new();
        for instance in &config.instances {
            let running = self.sources.get(&instance.name);
            if let Some(running) = running.filter(|running| running.instance == *instance) {
                sources.insert(instance.name.clone(), running.clone());
                continue;
            }
            // Counts of an instance that stays (by name) go on.
            let log = running
                .map(|running| running.log.clone())
                .unwrap_or_default();
            let source = build_source(instance, self.settings.credentials.as_ref(), log).await?;
            sources.insert(instance.name.clone(), source);
            restarted.push(instance.name.clone());
        }
        self.budgets.reconfigure(
            config.api_rate_limits.clone(),
            config.directory_budget_share,
        );
        warn_if_over_budget(&config, &self.budgets);
        let running: Vec<String> = self.scheduler.instances().map(str::to_string).collect();
        for instance in running {
            if !sources.contains_key(&instance) || restarted.contains(&instance) {
                self.scheduler.stop_instance(&instance).await;
            }
        }
        self.exposition.set_series_options(series_options(&config));
        self.exposition
            .set_wallboard_options(wallboard_options(&config));
        let request_logs = sources
            .iter()
            .map(|(name, source)| (name.clone(), source.log.clone()))
            .collect();
        let (event_instances, event_streams) = event_streams(&config);
        self.exposition
            .set_event_streams(&keys, event_instances, event_streams);
        self.exposition
            .set_targets(&keys, request_logs, &intraday_instances(&config))?;
        for instance in &restarted {
            if let Some(source) = sources.get(instance) {
                self.scheduler
                    .start_instance(target(source, &self.budgets, self.settings.clock));
            }
        }
        self.scheduler.stop_unused_streams().await;
        info!(
            queue_sets = keys.len(),
            restarted_instances = restarted.len(),
            kept_instances = sources.len() - restarted.len(),
            "configuration reloaded"
        );
        self.config = config;
        self.sources = sources;
        Ok(keys.len())
    }

    /// Serves until `shutdown` completes, reloading on SIGHUP and (with the lifecycle API)
    /// `POST /-/reload`; then stops. A shutdown that comes while a reload runs abandons the
    /// reload and stops at once.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut hangups = self.hangups.take();
        loop {
            let hangup = async {
                match hangups.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let reply = tokio::select! {
                () = &mut shutdown => break,
                Some(()) = hangup => None,
                Some(reply) = self.reload_requests.recv() => Some(reply),
            };
            let result = tokio::select! {
                () = &mut shutdown => {
                    info!("shutdown requested during a reload; the reload is abandoned");
                    break;
                }
                result = self.reload() => result,
            };
            let result = result.map_err(|problem| {
                let via = if reply.is_some() { "/-/reload" } else { "SIGHUP" };
                error!(error = %problem, via, "reload failed; the previous configuration stays in force");
                problem.to_string()
            });
            if let Some(reply) = reply {
                // The requester may have hung up; the reload happened all the same.
                let _ = reply.send(result);
            }
        }
        self.stop().await;
    }

    /// Stops polling and serving; returns when both have ended.
    pub async fn stop(mut self) {
        self.scheduler.stop().await;
        let _ = self.stop_server.send(());
        if let Err(problem) = self.server.await {
            error!(error = %problem, "the HTTP server task failed");
        }
        info!("exporter stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_counter_starts_every_task_kind_the_scheduler_has_at_zero() {
        let kinds: Vec<&str> = TaskKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(kinds, crate::metrics::POLLING_TASKS);
    }
}
