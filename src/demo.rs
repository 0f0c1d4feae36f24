//! The zero-setup demo: the simulator on a loopback port, polled through the real SDK with the
//! bundled `config/demo.yaml` and static test credentials.

use std::net::SocketAddr;
use std::path::Path;

use aws_sdk_connect::config::Credentials;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{self, Config, ConfigError};
use crate::simulator::{Simulator, SimulatorError, SimulatorOptions};

/// The bundled demo configuration, also shipped as `config/demo.yaml`.
pub const DEMO_CONFIG_YAML: &str = include_str!("../config/demo.yaml");
/// How the built-in demo configuration is named in messages.
pub const DEMO_CONFIG_NAME: &str = "config/demo.yaml (built in)";

/// The demo configuration with every instance pointed at `endpoint_url`.
pub fn config(endpoint_url: &str) -> Result<Config, ConfigError> {
    let mut config = config::parse(DEMO_CONFIG_YAML, Path::new(DEMO_CONFIG_NAME))?;
    for instance in &mut config.instances {
        instance.endpoint_url = Some(endpoint_url.to_string());
    }
    Ok(config)
}

/// Static keys for the simulator, which accepts any signature; never valid on AWS.
pub fn credentials() -> Credentials {
    Credentials::new(
        "AKIDEXAMPLEDEMO",
        "demo-secret-not-valid-on-aws",
        None,
        None,
        "amazon-connect-exporter-demo",
    )
}

/// A simulator serving on a loopback port in this process.
pub struct RunningSimulator {
    simulator: Simulator,
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), SimulatorError>>,
}

/// The simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Invalid simulator options.
    #[error(transparent)]
    Simulator(#[from] SimulatorError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address} for the simulator: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The error.
        source: std::io::Error,
    },
}

impl RunningSimulator {
    /// Starts a simulator with `options` on `listen_address` (use `127.0.0.1:0` for any port).
    pub async fn start(options: SimulatorOptions, listen_address: &str) -> Result<Self, DemoError> {
        let simulator = Simulator::new(options)?;
        let bind_error = |source| DemoError::Bind {
            address: listen_address.to_string(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(listen_address)
            .await
            .map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = simulator.clone();
        let task = tokio::spawn(async move {
            serving
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            simulator,
            address,
            stop,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, for `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The simulator itself, to read its scenario and request counts.
    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// Stops serving and waits for the server task.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "simulator stopped with an error"),
            Err(error) => tracing::error!(%error, "simulator task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The bundled config must name the default simulator's instance and queues, or the demo
    /// would show nothing.
    #[test]
    fn demo_config_matches_the_default_simulator() {
        let config = config("http://127.0.0.1:1").unwrap();
        let simulator = Simulator::new(SimulatorOptions::default()).unwrap();
        let scenario = simulator.scenario();
        let queues: BTreeSet<String> = scenario.queues.iter().map(|q| q.id.clone()).collect();
        for instance in &config.instances {
            assert_eq!(instance.instance_id, scenario.instance_id);
            assert_eq!(instance.endpoint_url.as_deref(), Some("http://127.0.0.1:1"));
            for set in &instance.queue_sets {
                for queue in &set.queue_ids {
                    assert!(
                        queues.contains(queue),
                        "{queue} of {} is not simulated",
                        set.name
                    );
                }
            }
        }
    }
}
