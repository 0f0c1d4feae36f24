//! A slow or hostile client cannot starve Prometheus: idle connections do not block a scrape,
//! and the connection cap holds extra clients back only until a slot frees.

mod common;

use std::time::Duration;

use connect_simulator::RunningSimulator;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use common::{http_get, scrape_when_up, start_exporter_with};

async fn exporter(
    max_connections: usize,
) -> (RunningSimulator, amazon_connect_exporter::app::Exporter) {
    let simulator = common::start_simulator(common::frozen()).await;
    let scenario = simulator.simulator().scenario();
    let yaml = format!(
        "instances:\n  - name: sim\n    instance_id: {}\n    region: eu-west-2\n    endpoint_url: {}\n    queue_sets: [{{ name: s, queues: [{}] }}]\n",
        scenario.instance_id,
        simulator.endpoint_url(),
        scenario.queues[0].id
    );
    let exporter = start_exporter_with(
        std::sync::Arc::new(move || {
            amazon_connect_exporter::config::parse(&yaml, std::path::Path::new("test.yaml"))
        }),
        max_connections,
    )
    .await;
    (simulator, exporter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_idle_connections_do_not_block_a_scrape() {
    let (simulator, exporter) =
        exporter(amazon_connect_exporter::web::server::DEFAULT_MAX_CONNECTIONS).await;
    let address = exporter.address();
    scrape_when_up(address, &["s"]).await;
    let mut idle = Vec::new();
    for n in 0..500 {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        if n % 2 == 0 {
            // Half of them start a request and never finish it.
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("write");
        }
        idle.push(stream);
    }
    // Idle clients are cut off after 10 s; the scrape must not wait for that.
    let scrape = tokio::time::timeout(Duration::from_secs(5), http_get(address, "/metrics"))
        .await
        .expect("the scrape is answered while 500 idle connections are open");
    assert_eq!(scrape.status, 200);
    assert!(scrape.body.contains("amazon_connect_up"));
    drop(idle);
    exporter.stop().await;
    simulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_extra_clients_until_a_slot_frees() {
    let (simulator, exporter) = exporter(4).await;
    let address = exporter.address();
    scrape_when_up(address, &["s"]).await;
    // Let the connections of scrape_when_up close and give back their slots.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(address).await.expect("connect"));
    }
    let scrape = tokio::spawn(http_get(address, "/metrics"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !scrape.is_finished(),
        "a fifth client waits while four hold every slot"
    );
    drop(idle);
    let answered = tokio::time::timeout(Duration::from_secs(5), scrape)
        .await
        .expect("answered once a slot frees")
        .expect("task");
    assert_eq!(answered.status, 200);
    exporter.stop().await;
    simulator.stop().await;
}
