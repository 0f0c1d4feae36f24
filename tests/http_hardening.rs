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

/// A server with short deadlines whose every answer is `body_bytes` long.
async fn server_with_deadlines(
    max_connections: usize,
    body_bytes: usize,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    use amazon_connect_exporter::web::body::Pieces;
    use amazon_connect_exporter::web::deadlines::Deadlines;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let body = bytes::Bytes::from(vec![b'x'; body_bytes]);
    let handler = move |_request| {
        let body = body.clone();
        async move { Ok(hyper::Response::new(Pieces::from(body))) }
    };
    let deadlines = Deadlines {
        idle: Duration::from_millis(1500),
        header_read: Duration::from_millis(300),
        write: Duration::from_millis(500),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(amazon_connect_exporter::web::server::serve_http(
        listener,
        handler,
        max_connections,
        None,
        deadlines,
        async {
            let _ = stopped.await;
        },
    ));
    (address, stop)
}

/// Reads until the server closes the connection; how long that took and the bytes read.
async fn read_until_closed(stream: &mut TcpStream) -> (Duration, usize) {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut total = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), total),
            Ok(Ok(read)) => total += read,
            Err(_) => panic!("the server kept the connection open for 10 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_loses_its_slot_at_the_write_deadline() {
    // One slot, and an answer far larger than the socket buffers.
    let body_bytes = 64 << 20;
    let (address, stop) = server_with_deadlines(1, body_bytes).await;
    let mut stalled = TcpStream::connect(address).await.expect("connect");
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    // The stalled client reads nothing; the next one is served once the write deadline
    // has freed the only slot.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let next = tokio::time::timeout(Duration::from_secs(5), http_get(address, "/metrics"))
        .await
        .expect("the next client is served after the stalled one's write deadline");
    assert_eq!(next.status, 200);
    assert_eq!(next.body.len(), body_bytes);
    let (_, read) = read_until_closed(&mut stalled).await;
    assert!(
        read < body_bytes,
        "the stalled response was abandoned, not finished ({read} bytes)"
    );
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_close_at_their_deadlines_and_keep_alive_survives_a_pause() {
    let (address, stop) = server_with_deadlines(8, 16).await;
    // Headers that stop coming: closed at the header deadline (300 ms), long before the
    // idle one (1.5 s).
    let mut half = TcpStream::connect(address).await.expect("connect");
    half.write_all(b"GET / HTTP/1.1\r\nHo")
        .await
        .expect("write");
    let (closed_after, _) = read_until_closed(&mut half).await;
    assert!(
        closed_after < Duration::from_millis(1200),
        "half-sent headers held the connection for {closed_after:?}"
    );
    // A connection that never sends: closed at the idle deadline, not before.
    let mut silent = TcpStream::connect(address).await.expect("connect");
    let (closed_after, read) = read_until_closed(&mut silent).await;
    assert_eq!(read, 0);
    assert!(
        closed_after >= Duration::from_millis(1400),
        "an idle connection was closed after only {closed_after:?}"
    );
    // A kept-alive connection quiet for longer than the header and write deadlines but
    // within the idle one still serves the next request.
    let mut kept = tokio::io::BufReader::new(TcpStream::connect(address).await.expect("connect"));
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(Duration::from_millis(800)).await;
        }
        kept.get_mut()
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let response = read_one_response(&mut kept).await;
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "round {round}: {response}"
        );
    }
    // Silent after its answer: closed at the idle deadline (hyper's read was already waiting
    // while it answered, and must be woken to start it).
    let (closed_after, read) = read_until_closed(kept.get_mut()).await;
    assert_eq!(read, 0);
    assert!(
        closed_after >= Duration::from_millis(1400),
        "closed {closed_after:?} after the answer"
    );
    let _ = stop.send(());
}

/// Reads one response with a `content-length` body from a kept-alive connection.
async fn read_one_response(stream: &mut tokio::io::BufReader<TcpStream>) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_line(&mut line))
            .await
            .expect("a response line within 5 s")
            .expect("read");
        assert!(read > 0, "the connection closed; so far: {head}");
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().expect("content-length");
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.expect("body");
    head
}
