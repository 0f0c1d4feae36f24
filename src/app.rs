//! Assembles the exporter from a configuration and runs it: one SDK client per instance, one
//! polling task per queue set, the exposition and the HTTP server; reloads the configuration
//! on SIGHUP or `POST /-/reload` and stops on request.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_connect::config::Credentials;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::ids::ResourceKind;
use crate::config::{AgentSelector, IdOrName, LabelValues, PlannerMode};
use crate::config::{Config, ConfigError, Instance};
use crate::connect::{
    list_all, names_by_id, BudgetKey, Budgets, ConnectSource, InstanceApi, InstanceBudgets,
    Listing, RequestLog, RetryPolicy, SourceError, SweepBudget, MAX_QUEUES_PER_REQUEST,
};
use crate::metrics::{Exposition, ExpositionError, SeriesOptions};
use crate::model::{IntradayReport, LabelNames, PollReport, RoundReport, TargetKey};
use crate::poll::{
    resolve_names, PollSink, PollThread, QueueSetTarget, Scheduler, Target, WallClock,
};
use crate::web::server::{self, ReloadRequest, ServerError, ServerState};
use crate::web::WebConfig;

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
    /// Names in the configuration (queues, routing profiles, hierarchy groups) that the
    /// instance's look-ups do not resolve.
    #[error("names that do not resolve:\n{}", .0.join("\n"))]
    Names(Vec<String>),
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
}

/// A running exporter.
pub struct Exporter {
    settings: Settings,
    address: SocketAddr,
    exposition: Arc<Exposition>,
    budgets: Arc<Budgets>,
    scheduler: Scheduler,
    poll_thread: PollThread,
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
    reload_requests: mpsc::Receiver<ReloadRequest>,
}

/// One instance's client, ready to poll.
struct InstanceSource {
    instance: Instance,
    source: Arc<dyn InstanceApi>,
    log: RequestLog,
}

/// The names one queue set gives, by the look-up that resolves them: queue names, routing
/// profile names, or the name of its hierarchy group. Each comes with the key that holds it.
fn named_resources(set: &crate::config::QueueSet) -> Vec<(ResourceKind, &'static str, &String)> {
    let mut named: Vec<(ResourceKind, &'static str, &String)> = set
        .queue_names
        .iter()
        .map(|name| (ResourceKind::Queue, "queues", name))
        .collect();
    match &set.selector {
        AgentSelector::RoutingProfiles { names, .. } => named.extend(
            names
                .iter()
                .map(|name| (ResourceKind::RoutingProfile, "routing_profiles", name)),
        ),
        AgentSelector::HierarchyGroup(IdOrName::Name(name)) => {
            named.push((ResourceKind::HierarchyGroup, "hierarchy_group", name));
        }
        AgentSelector::Queues | AgentSelector::HierarchyGroup(IdOrName::Id(_)) => {}
    }
    named
}

/// Checks the names every queue set gives (queues, routing profiles, hierarchy groups)
/// against the instance's ListQueues, ListRoutingProfiles and ListUserHierarchyGroups, so
/// that an unknown or shared name stops a start or a reload with the key that holds it. Where
/// a list cannot be read (no network, no permission) its check is skipped with a warning: the
/// sets' polls then report the names themselves once the list can be read.
async fn check_names(
    config: &Config,
    sources: &[InstanceSource],
    budgets: &Arc<Budgets>,
) -> Result<(), StartError> {
    let mut problems = Vec::new();
    for (index, (instance, source)) in config.instances.iter().zip(sources).enumerate() {
        for (kind, listing) in [
            (ResourceKind::Queue, Listing::Queues),
            (ResourceKind::RoutingProfile, Listing::RoutingProfiles),
            (ResourceKind::HierarchyGroup, Listing::HierarchyGroups),
        ] {
            let named: Vec<(usize, &'static str, &String)> = instance
                .queue_sets
                .iter()
                .enumerate()
                .flat_map(|(set_index, set)| {
                    named_resources(set)
                        .into_iter()
                        .filter(|(of, _, _)| *of == kind)
                        .map(move |(_, key, name)| (set_index, key, name))
                })
                .collect();
            if named.is_empty() {
                continue;
            }
            let operation = listing.operation();
            let limiter = instance_budgets(instance, budgets).limiter(operation);
            let budget = SweepBudget {
                limiter: limiter.as_ref(),
                retry: RetryPolicy::default(),
                deadline: tokio::time::Instant::now() + instance.poll_timeout,
            };
            let listed = tokio::time::timeout(
                instance.poll_timeout,
                list_all(source.source.as_ref(), listing, &budget),
            )
            .await;
            let entries = match listed {
                Ok(Ok(entries)) => entries,
                Ok(Err(error)) => {
                    warn!(connect_instance = %instance.name, operation, %error, "cannot check the names of this instance's queue sets now; a set reports a name that does not resolve when it polls");
                    continue;
                }
                Err(_) => {
                    warn!(connect_instance = %instance.name, operation, "the look-up to check names timed out; a set reports a name that does not resolve when it polls");
                    continue;
                }
            };
            let known = names_by_id(entries);
            for (set_index, key, name) in named {
                if let Err(reason) = resolve_names(kind, std::slice::from_ref(name), &known) {
                    problems.push(format!(
                        "  instances[{index}].queue_sets[{set_index}].{key}: {reason}"
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StartError::Names(problems))
    }
}

/// Builds the SDK client of every instance: the part of applying a configuration that can
/// fail. Request logs of instances `existing` already has are kept, so counters survive a
/// reload.
async fn build_sources(
    config: &Config,
    credentials: Option<&Credentials>,
    existing: Option<&Exposition>,
) -> Result<Vec<InstanceSource>, StartError> {
    let mut sources = Vec::with_capacity(config.instances.len());
    for instance in &config.instances {
        let log = existing
            .and_then(|exposition| exposition.request_log(&instance.name))
            .unwrap_or_default();
        let source = ConnectSource::new(instance, credentials.cloned(), log.clone()).await?;
        sources.push(InstanceSource {
            instance: instance.clone(),
            source: Arc::new(source),
            log,
        });
    }
    Ok(sources)
}

/// One polling target per instance, drawing from its account's budgets.
fn targets(sources: &[InstanceSource], budgets: &Arc<Budgets>, clock: WallClock) -> Vec<Target> {
    sources
        .iter()
        .map(
            |InstanceSource {
                 instance,
                 source,
                 log,
             }| Target {
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
                label_values: instance.label_values,
                budgets: instance_budgets(instance, budgets),
                agent_names: instance.agent_series && instance.label_values == LabelValues::Names,
                hierarchy_names: instance.hierarchy_labels
                    && instance.label_values == LabelValues::Names,
                queue_metrics: instance.queue_metrics,
                requests: log.clone(),
                retry: RetryPolicy::default(),
                clock,
                intraday: instance.intraday.clone(),
            },
        )
        .collect()
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
                },
            )
        })
        .collect()
}

fn request_logs(sources: &[InstanceSource]) -> BTreeMap<String, RequestLog> {
    sources
        .iter()
        .map(|s| (s.instance.name.clone(), s.log.clone()))
        .collect()
}

fn keys(targets: &[Target]) -> Vec<TargetKey> {
    targets
        .iter()
        .flat_map(|t| t.sets.iter().map(|set| set.key.clone()))
        .collect()
}

impl Exporter {
    /// Loads the configuration, builds the clients, starts polling and starts serving.
    pub async fn start(settings: Settings) -> Result<Self, StartError> {
        let config = (settings.config_loader)()?;
        let sources = build_sources(&config, settings.credentials.as_ref(), None).await?;
        let budgets = Arc::new(Budgets::new(config.api_rate_limits.clone()));
        check_names(&config, &sources, &budgets).await?;
        warn_if_over_budget(&config, &budgets);
        let targets = targets(&sources, &budgets, settings.clock);
        let keys = keys(&targets);
        let exposition = Arc::new(Exposition::new(
            &keys,
            request_logs(&sources),
            Arc::clone(&budgets),
            VERSION,
            REVISION,
        )?);
        exposition.set_series_options(series_options(&config));
        let listener = server::bind(&settings.listen_address).await?;
        let address = listener.local_addr().map_err(|source| ServerError::Bind {
            address: settings.listen_address.clone(),
            source,
        })?;
        let queue_sets = keys.len();
        let poll_thread = PollThread::start().map_err(StartError::PollThread)?;
        let scheduler = Scheduler::start_on(targets, exposition.clone(), poll_thread.runtime());
        let (reload_sender, reload_requests) = mpsc::channel(4);
        let state = Arc::new(ServerState {
            exposition: Arc::clone(&exposition) as Arc<dyn crate::web::MetricsSource>,
            telemetry_path: settings.telemetry_path.clone(),
            version: VERSION.to_string(),
            reload: Some(reload_sender),
            max_connections: settings.max_connections,
            web: settings.web.clone(),
        });
        let (stop_server, stopped) = oneshot::channel();
        let server = tokio::spawn(server::serve(listener, state, async {
            // A dropped sender means the exporter is gone: stop too.
            let _ = stopped.await;
        }));
        info!(
            %address,
            tls = settings.web.tls.is_some(),
            basic_auth = settings.web.basic_auth.is_some(),
            telemetry_path = %settings.telemetry_path,
            queue_sets,
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
            poll_thread,
            server,
            stop_server,
            reload_requests,
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

    /// Reads the configuration again and applies it. On any error the running configuration
    /// stays in force and the error says why. Returns the number of queue sets now polled.
    pub async fn reload(&mut self) -> Result<usize, StartError> {
        let config = (self.settings.config_loader)()?;
        // Everything that can fail comes before anything running is touched.
        let sources = build_sources(
            &config,
            self.settings.credentials.as_ref(),
            Some(&self.exposition),
        )
        .await?;
        check_names(&config, &sources, &self.budgets).await?;
        self.budgets.reconfigure(config.api_rate_limits.clone());
        warn_if_over_budget(&config, &self.budgets);
        let targets = targets(&sources, &self.budgets, self.settings.clock);
        let keys = keys(&targets);
        self.scheduler.stop().await;
        self.exposition.set_series_options(series_options(&config));
        let intraday_instances = config
            .instances
            .iter()
            .filter(|instance| {
                instance
                    .queue_sets
                    .iter()
                    .any(|set| set.reads_intraday(&instance.intraday))
            })
            .map(|instance| instance.name.clone())
            .collect();
        self.exposition
            .set_targets(&keys, request_logs(&sources), &intraday_instances)?;
        self.scheduler =
            Scheduler::start_on(targets, self.exposition.clone(), self.poll_thread.runtime());
        info!(queue_sets = keys.len(), "configuration reloaded");
        Ok(keys.len())
    }

    /// Serves until `shutdown` completes, reloading on SIGHUP and `POST /-/reload`; then stops.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut hangups =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(signal) => Some(signal),
                Err(problem) => {
                    warn!(error = %problem, "cannot listen for SIGHUP; reload with POST /-/reload");
                    None
                }
            };
        loop {
            let hangup = async {
                match hangups.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                Some(()) = hangup => {
                    if let Err(problem) = self.reload().await {
                        error!(error = %problem, "reload on SIGHUP failed; the previous configuration stays in force");
                    }
                }
                Some(reply) = self.reload_requests.recv() => {
                    let result = self.reload().await.map_err(|problem| {
                        error!(error = %problem, "reload through /-/reload failed; the previous configuration stays in force");
                        problem.to_string()
                    });
                    // The requester may have hung up; the reload happened all the same.
                    let _ = reply.send(result);
                }
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
