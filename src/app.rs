//! Assembles the exporter from a validated configuration and runs it: one SDK client per
//! instance, one polling task per queue set, the exposition and the HTTP server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_connect::config::Credentials;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::info;

use crate::budget::{BudgetKey, Budgets};
use crate::config::{Config, Instance};
use crate::exposition::{Exposition, ExpositionError};
use crate::model::TargetKey;
use crate::scheduler::{Scheduler, Target};
use crate::server::{self, ServerError, ServerState};
use crate::source::connect::ConnectSource;
use crate::source::{RequestLog, RetryPolicy, SourceError, UserDataPages, MAX_QUEUES_PER_REQUEST};

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision this build was made from, or `unknown`.
pub const REVISION: &str = env!("BUILD_REVISION");

/// Everything needed to start the exporter.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The validated configuration.
    pub config: Config,
    /// `host:port` or `:port`.
    pub listen_address: String,
    /// Path of the metrics endpoint.
    pub telemetry_path: String,
    /// Static credentials replacing the AWS credential chain (the demo's test keys).
    pub credentials: Option<Credentials>,
}

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An instance's client could not be set up.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The HTTP server could not listen.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The metric families could not be built.
    #[error(transparent)]
    Exposition(#[from] ExpositionError),
}

/// The budget an instance's requests of `operation` draw from.
fn budget_key(instance: &Instance, operation: &str) -> BudgetKey {
    BudgetKey {
        account: instance
            .account_id
            .clone()
            .unwrap_or_else(|| "unknown".to_string()),
        region: instance
            .region
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        operation: operation.to_string(),
    }
}

/// The fewest GetCurrentUserData requests per second the configuration needs, by budget:
/// each poll costs at least one request per chunk of 100 queues (more with more than 100
/// agents).
pub fn minimum_request_rates(config: &Config) -> BTreeMap<BudgetKey, f64> {
    let mut needed: BTreeMap<BudgetKey, f64> = BTreeMap::new();
    for instance in &config.instances {
        let per_poll: usize = instance
            .queue_sets
            .iter()
            .map(|set| set.queue_ids.len().div_ceil(MAX_QUEUES_PER_REQUEST))
            .sum();
        *needed
            .entry(budget_key(instance, "GetCurrentUserData"))
            .or_default() += per_poll as f64 / instance.poll_interval.as_secs_f64();
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

/// A running exporter.
pub struct Exporter {
    address: SocketAddr,
    exposition: Arc<Exposition>,
    scheduler: Scheduler,
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
}

impl Exporter {
    /// Builds the clients, starts polling and starts serving.
    pub async fn start(settings: Settings) -> Result<Self, StartError> {
        let budgets = Arc::new(Budgets::new(settings.config.api_rate_limits.clone()));
        let mut request_logs = BTreeMap::new();
        let mut targets = Vec::new();
        for instance in &settings.config.instances {
            let limiter = budgets.limiter(budget_key(instance, "GetCurrentUserData"));
            let log = RequestLog::default();
            let source: Arc<dyn UserDataPages> = Arc::new(
                ConnectSource::new(instance, settings.credentials.clone(), log.clone()).await?,
            );
            request_logs.insert(instance.name.clone(), log);
            for set in &instance.queue_sets {
                targets.push(Target {
                    key: TargetKey {
                        instance: instance.name.clone(),
                        queue_set: set.name.clone(),
                    },
                    queue_ids: set.queue_ids.clone(),
                    interval: instance.poll_interval,
                    timeout: instance.poll_timeout,
                    source: Arc::clone(&source),
                    limiter: Arc::clone(&limiter),
                    retry: RetryPolicy::default(),
                });
            }
        }
        warn_if_over_budget(&settings.config, &budgets);
        let keys: Vec<TargetKey> = targets.iter().map(|t| t.key.clone()).collect();
        let exposition = Arc::new(Exposition::new(
            &keys,
            request_logs,
            Arc::clone(&budgets),
            VERSION,
            REVISION,
        )?);
        let listener = server::bind(&settings.listen_address).await?;
        let address = listener.local_addr().map_err(|source| ServerError::Bind {
            address: settings.listen_address.clone(),
            source,
        })?;
        let scheduler = Scheduler::start(targets, exposition.clone());
        let state = Arc::new(ServerState {
            exposition: Arc::clone(&exposition),
            telemetry_path: settings.telemetry_path.clone(),
            version: VERSION.to_string(),
        });
        let (stop_server, stopped) = oneshot::channel();
        let server = tokio::spawn(server::serve(listener, state, async {
            // A dropped sender means the exporter is gone: stop too.
            let _ = stopped.await;
        }));
        info!(
            %address,
            telemetry_path = %settings.telemetry_path,
            queue_sets = keys.len(),
            version = VERSION,
            revision = REVISION,
            "exporter started"
        );
        Ok(Self {
            address,
            exposition,
            scheduler,
            server,
            stop_server,
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

    /// Stops polling and serving; returns when both have ended.
    pub async fn stop(self) {
        self.scheduler.stop().await;
        let _ = self.stop_server.send(());
        if let Err(error) = self.server.await {
            tracing::error!(%error, "the HTTP server task failed");
        }
        info!("exporter stopped");
    }
}
