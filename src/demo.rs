//! The zero-setup demo's configuration: the bundled `config/demo.yaml` pointed at the
//! simulator (the `connect-simulator` crate, which `main` starts on a loopback port), and
//! static test credentials for it.

use std::path::Path;

use aws_sdk_connect::config::Credentials;

use crate::config::{self, Config, ConfigError};

/// The bundled demo configuration, also shipped as `config/demo.yaml`.
pub const DEMO_CONFIG_YAML: &str = include_str!("../config/demo.yaml");
/// How the built-in demo configuration is named in messages.
pub const DEMO_CONFIG_NAME: &str = "config/demo.yaml (built in)";

/// The demo configuration with every instance, and its agent event stream, pointed at
/// `endpoint_url` (the simulator serves Kinesis on the same address).
pub fn config(endpoint_url: &str) -> Result<Config, ConfigError> {
    let mut config = config::parse(DEMO_CONFIG_YAML, Path::new(DEMO_CONFIG_NAME))?;
    for instance in &mut config.instances {
        instance.endpoint_url = Some(endpoint_url.to_string());
        if let Some(events) = &mut instance.agent_events {
            events.endpoint_url = Some(endpoint_url.to_string());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use connect_simulator::{Simulator, SimulatorOptions};
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
            let events = instance
                .agent_events
                .as_ref()
                .expect("the demo reads its stream");
            assert_eq!(events.endpoint_url.as_deref(), Some("http://127.0.0.1:1"));
            assert_eq!(
                events.stream_name,
                connect_simulator::AgentEventStreamOptions::default().stream_name
            );
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
