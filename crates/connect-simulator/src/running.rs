//! A simulator serving on a loopback port in this process: what `--demo`, `simulate` and the
//! exporter's tests start.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Simulator, SimulatorError, SimulatorOptions};

/// A simulator serving on a loopback port in this process.
pub struct RunningSimulator {
    simulator: Simulator,
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), SimulatorError>>,
}

/// The simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
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
    pub async fn start(
        options: SimulatorOptions,
        listen_address: &str,
    ) -> Result<Self, StartError> {
        let simulator = Simulator::new(options)?;
        let bind_error = |source| StartError::Bind {
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
    use crate::DEMO_INSTANCE_ID;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn serves_on_loopback_until_stopped() {
        let running = RunningSimulator::start(SimulatorOptions::default(), "127.0.0.1:0")
            .await
            .unwrap();
        let url = running.endpoint_url();
        let address = url.strip_prefix("http://").unwrap().to_string();
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let request = format!(
            "GET /queues-summary/{DEMO_INSTANCE_ID} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.contains("\"QueueSummaryList\""), "{answer}");
        assert_eq!(running.simulator().request_count("ListQueues"), 1);
        running.stop().await;
        assert!(tokio::net::TcpStream::connect(&address).await.is_err());
    }

    #[tokio::test]
    async fn bad_options_and_addresses_are_refused() {
        let options = SimulatorOptions {
            agents: 0,
            ..SimulatorOptions::default()
        };
        let error = RunningSimulator::start(options, "127.0.0.1:0").await.err();
        assert!(matches!(error, Some(StartError::Simulator(_))), "{error:?}");
        let error = RunningSimulator::start(SimulatorOptions::default(), "not an address")
            .await
            .err();
        assert!(matches!(error, Some(StartError::Bind { .. })), "{error:?}");
    }

    /// One request on a fresh connection; the raw answer ("" when the server hung up).
    async fn send(address: &str, method: &str, path: &str, body: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer
    }

    fn frozen(faults: crate::Faults) -> SimulatorOptions {
        SimulatorOptions {
            agents: 30,
            queues: 4,
            routing_profiles: 3,
            frozen: true,
            clock_at: Some(1_700_000_000.0),
            faults,
            ..SimulatorOptions::default()
        }
    }

    #[tokio::test]
    async fn metric_data_v2_is_served_counted_and_faulted_like_the_others() {
        let simulator = crate::Simulator::new(frozen(crate::Faults::default())).unwrap();
        let scenario = simulator.scenario();
        let body = serde_json::json!({
            "ResourceArn": scenario.instance_arn,
            "StartTime": 1_699_920_000.0,
            "EndTime": simulator.simulated_now(),
            "Filters": [{"FilterKey": "QUEUE", "FilterValues": [scenario.queues[0].id]}],
            "Metrics": [{"Name": "CONTACTS_QUEUED"}],
        })
        .to_string();
        for (faults, expect) in [
            (crate::Faults::default(), "HTTP/1.1 200 OK"),
            (
                crate::Faults {
                    throttle_rate: 1.0,
                    ..crate::Faults::default()
                },
                "HTTP/1.1 429",
            ),
            (
                crate::Faults {
                    server_error_rate: 1.0,
                    ..crate::Faults::default()
                },
                "HTTP/1.1 500",
            ),
            (
                crate::Faults {
                    reset_rate: 1.0,
                    ..crate::Faults::default()
                },
                "",
            ),
        ] {
            let running = RunningSimulator::start(frozen(faults), "127.0.0.1:0")
                .await
                .unwrap();
            let address = running.endpoint_url().replace("http://", "");
            let answer = send(&address, "POST", "/metrics/data", &body).await;
            assert!(answer.starts_with(expect), "{expect:?}: {answer}");
            if expect.contains("200") {
                assert!(answer.contains("\"MetricResults\":[{"), "{answer}");
            }
            let simulator = running.simulator();
            assert_eq!(simulator.request_count("GetMetricDataV2"), 1);
            assert_eq!(simulator.request_times("GetMetricDataV2").len(), 1);
            assert!(simulator.request_times("GetCurrentUserData").is_empty());
            running.stop().await;
        }
    }

    #[test]
    fn the_history_is_fixed_by_seed_and_clock() {
        let build = |seed| {
            let options = SimulatorOptions {
                seed,
                ..frozen(crate::Faults::default())
            };
            crate::Simulator::new(options).unwrap()
        };
        let (a, b, c) = (build(1), build(1), build(2));
        assert!(!a.contact_history().is_empty() && !a.agent_time().is_empty());
        assert_eq!(a.contact_history(), b.contact_history());
        assert_eq!(a.agent_time(), b.agent_time());
        assert_ne!(a.contact_history(), c.contact_history());
        let options = SimulatorOptions {
            history_start: Some(f64::NAN),
            ..SimulatorOptions::default()
        };
        assert!(crate::Simulator::new(options).is_err());
    }

    #[tokio::test]
    async fn search_routing_profiles_is_served_counted_and_faulted_like_the_others() {
        let body = format!("{{\"InstanceId\": \"{DEMO_INSTANCE_ID}\", \"MaxResults\": 2}}");
        let faults = |f: fn(&mut crate::Faults)| {
            let mut faults = crate::Faults::default();
            f(&mut faults);
            faults
        };
        for (faults, expect) in [
            (crate::Faults::default(), "HTTP/1.1 200 OK"),
            (faults(|f| f.throttle_rate = 1.0), "HTTP/1.1 429"),
            (faults(|f| f.server_error_rate = 1.0), "HTTP/1.1 500"),
            (faults(|f| f.malformed_rate = 1.0), "HTTP/1.1 200 OK"),
            (faults(|f| f.reset_rate = 1.0), ""),
        ] {
            let malformed = faults.malformed_rate > 0.0;
            let running = RunningSimulator::start(frozen(faults), "127.0.0.1:0")
                .await
                .unwrap();
            let address = running.endpoint_url().replace("http://", "");
            let answer = send(&address, "POST", "/search-routing-profiles", &body).await;
            assert!(answer.starts_with(expect), "{expect:?}: {answer}");
            if expect.contains("200") {
                let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
                let parsed = serde_json::from_str::<serde_json::Value>(json);
                assert_eq!(parsed.is_err(), malformed, "{answer}");
                if let Ok(parsed) = parsed {
                    assert_eq!(parsed["RoutingProfiles"].as_array().unwrap().len(), 2);
                    assert_eq!(parsed["ApproximateTotalCount"], 3);
                    assert!(parsed["NextToken"].is_string());
                }
            }
            let simulator = running.simulator();
            assert_eq!(simulator.request_count("SearchRoutingProfiles"), 1);
            assert_eq!(simulator.request_times("SearchRoutingProfiles").len(), 1);
            running.stop().await;
        }
    }

    #[tokio::test]
    async fn denied_operations_and_profiles_without_queue_ids_on_the_wire() {
        let options = SimulatorOptions {
            deny_operations: ["SearchRoutingProfiles".to_string()].into(),
            omit_associated_queue_ids_every: Some(2),
            ..frozen(crate::Faults::default())
        };
        let running = RunningSimulator::start(options, "127.0.0.1:0")
            .await
            .unwrap();
        let address = running.endpoint_url().replace("http://", "");
        let body = format!("{{\"InstanceId\": \"{DEMO_INSTANCE_ID}\"}}");
        let search = || send(&address, "POST", "/search-routing-profiles", &body);
        let answer = search().await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("x-amzn-errortype: accessdeniedexception"),
            "{answer}"
        );
        assert!(
            answer.contains("is not authorized to perform: connect:SearchRoutingProfiles"),
            "{answer}"
        );
        let simulator = running.simulator();
        simulator.allow_operation("SearchRoutingProfiles");
        let answer = search().await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        let json: serde_json::Value =
            serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let lacking: Vec<bool> = json["RoutingProfiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.get("AssociatedQueueIds").is_none())
            .collect();
        assert_eq!(lacking, [false, true, false]);
        simulator.set_omit_associated_queue_ids_every(None);
        assert!(search().await.contains("\"AssociatedQueueIds\""));
        simulator.deny_operation("ListQueues");
        let queues = format!("/queues-summary/{DEMO_INSTANCE_ID}");
        assert!(send(&address, "GET", &queues, "")
            .await
            .starts_with("HTTP/1.1 403"));
        assert_eq!(simulator.request_count("ListQueues"), 1);
        running.stop().await;

        let options = SimulatorOptions {
            omit_associated_queue_ids_every: Some(0),
            ..SimulatorOptions::default()
        };
        assert!(crate::Simulator::new(options).is_err());
    }

    #[test]
    fn queues_and_unused_profiles_can_be_deleted() {
        let simulator = crate::Simulator::new(frozen(crate::Faults::default())).unwrap();
        let scenario = simulator.scenario();
        let queue = &scenario.queues[1].id;
        assert!(simulator.delete_queue(queue));
        assert!(!simulator.delete_queue(queue));
        let after = simulator.scenario();
        assert_eq!(after.queues.len(), 3);
        assert!(after
            .routing_profiles
            .iter()
            .flat_map(|p| &p.queues)
            .all(|entry| &entry.queue_id != queue));
        assert!(simulator
            .contact_history()
            .iter()
            .all(|c| &c.queue_id != queue));
        let used = &scenario.agents[0].routing_profile_id;
        assert!(!simulator.delete_routing_profile(used));
        assert_eq!(simulator.scenario().routing_profiles.len(), 3);
    }
}
