//! A small HTTP/1.1 server for the simulated API: plain TCP, bounded connections, cut-off
//! idle clients and a graceful stop. No TLS: the simulator only ever listens on loopback.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

/// A client that has not sent its request headers by then is cut off, so idle or slow
/// connections cannot pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish when the server stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A handler's answer that closes the connection without a response (the connection-reset
/// fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose")]
pub(crate) struct DropConnection;

/// Serves HTTP/1.1 with `handler` on `listener` until `shutdown` completes, then gives open
/// connections [`SHUTDOWN_GRACE`] to finish. At most `max_connections` are served at once;
/// further clients wait in the listen backlog until one closes, and a client that sends no
/// request within [`HEADER_READ_TIMEOUT`] is cut off, so idle or slow clients cannot hold the
/// server.
pub(crate) async fn serve_http<H, F>(
    listener: TcpListener,
    handler: H,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, DropConnection>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let handler = handler.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            if let Err(error) = serve_connection(stream, handler, watcher).await {
                debug!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        info!("open connections did not finish in time; closing them");
    }
}

/// Serves HTTP/1.1 on one accepted connection.
async fn serve_connection<H, F>(
    stream: TcpStream,
    handler: H,
    watcher: Watcher,
) -> Result<(), hyper::Error>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, DropConnection>> + Send + 'static,
{
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service_fn(handler));
    watcher.watch(connection).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    /// Sends one request with `Connection: close` and returns everything the server wrote.
    async fn exchange(address: std::net::SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        // A dropped connection may end in a reset rather than a clean end of stream.
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn answers_drops_on_request_and_stops_on_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handler = |request: Request<Incoming>| async move {
            if request.uri().path() == "/drop" {
                Err(DropConnection)
            } else {
                Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
            }
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve_http(listener, handler, 2, async {
            let _ = stopped.await;
        }));
        let answer = exchange(address, "/").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
        assert_eq!(exchange(address, "/drop").await, "");
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        assert!(TcpStream::connect(address).await.is_err());
    }
}
