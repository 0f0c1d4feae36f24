//! The HTTP server: `/metrics` (or the configured path), the landing page with the wallboard
//! at `/`, the wallboard's JSON and files, `/-/healthy` and `/-/ready`. Handlers only read the
//! latest published exposition; they never wait for a poll.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    VARY, X_CONTENT_TYPE_OPTIONS,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::assets::{self, Asset};
use super::body::Pieces;
use super::config::{WebConfig, REALM};
use super::deadlines::{ConnectionClock, Deadlines, TimedIo};
use super::status_page::{landing_page, CONTENT_SECURITY_POLICY as PAGE_POLICY};
use super::{
    Health, MetricsSource, TargetStatus, CONTENT_TYPE as METRICS_CONTENT_TYPE, WALLBOARD_PATH,
};

/// How long open connections get to finish when the server stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Default cap on connections served at once; more wait in the listen backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// A request to reload the configuration; the reply is the number of queue sets now polled,
/// or why the reload was refused.
pub type ReloadRequest = oneshot::Sender<Result<usize, String>>;

/// What the handlers need.
#[derive(Debug)]
pub struct ServerState {
    /// The metrics to serve.
    pub exposition: Arc<dyn MetricsSource>,
    /// Path of the metrics endpoint, e.g. `/metrics`.
    pub telemetry_path: String,
    /// Version shown on the landing page.
    pub version: String,
    /// Where `/-/reload` sends its requests; `None` when the lifecycle API is off
    /// (`--web.enable-lifecycle` not given): it answers 403.
    pub reload: Option<mpsc::Sender<ReloadRequest>>,
    /// What `/-/healthy` checks; `None`: always healthy.
    pub health: Option<Arc<dyn Health>>,
    /// Connections served at once.
    pub max_connections: usize,
    /// TLS and basic authentication (`--web.config.file`).
    pub web: WebConfig,
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address is not `host:port` or `:port`.
    #[error("invalid --web.listen-address {address:?}: {reason}")]
    Address {
        /// The address given.
        address: String,
        /// Why it is not usable.
        reason: String,
    },
    /// Binding failed (address in use, permission).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address given.
        address: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Binds the listen address. `:10061` means every IPv4 interface, as in Go exporters.
pub async fn bind(address: &str) -> Result<TcpListener, ServerError> {
    let target = match address.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => address.to_string(),
    };
    if target
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(ServerError::Address {
            address: address.to_string(),
            reason: "expected host:port or :port, e.g. :10061 or 127.0.0.1:10061".into(),
        });
    }
    TcpListener::bind(&target)
        .await
        .map_err(|source| ServerError::Bind {
            address: address.to_string(),
            source,
        })
}

/// Serves the exporter's endpoints on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) {
    let max_connections = state.max_connections;
    let tls = state.web.tls.clone();
    let handler = move |request: Request<Incoming>| {
        let state = Arc::clone(&state);
        async move { Ok(handle(&state, &request).await) }
    };
    serve_http(
        listener,
        handler,
        max_connections,
        tls,
        Deadlines::default(),
        shutdown,
    )
    .await;
}

/// Serves HTTP/1.1 with `handler` on `listener` until `shutdown` completes, then gives open
/// connections [`SHUTDOWN_GRACE`] to finish. At most `max_connections` are served at once;
/// further clients wait in the listen backlog until one closes, and each connection lives
/// within its `deadlines` (idle, headers, whole response; the TLS handshake gets the header
/// deadline), so idle, slow or stalled clients cannot hold the server.
pub async fn serve_http<H, F>(
    listener: TcpListener,
    handler: H,
    max_connections: usize,
    tls: Option<Arc<rustls::ServerConfig>>,
    deadlines: Deadlines,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Pieces>, Infallible>> + Send + 'static,
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
        let tls = tls.clone().map(tokio_rustls::TlsAcceptor::from);
        tokio::spawn(async move {
            let result = match tls {
                None => serve_connection(stream, handler, deadlines, watcher).await,
                // The handshake runs in the connection's own task, bounded like a request's
                // headers, so a client that stalls it holds only its own slot.
                Some(acceptor) => {
                    match tokio::time::timeout(deadlines.header_read, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, handler, deadlines, watcher).await
                        }
                        Ok(Err(error)) => Err(error.into()),
                        Err(_) => Err("TLS handshake timed out".into()),
                    }
                }
            };
            if let Err(error) = result {
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

/// Serves HTTP/1.1 on one accepted connection, plain or TLS.
async fn serve_connection<IO, H, F>(
    io: IO,
    handler: H,
    deadlines: Deadlines,
    watcher: hyper_util::server::graceful::Watcher,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Pieces>, Infallible>> + Send + 'static,
{
    let clock = ConnectionClock::new(deadlines);
    let io = TimedIo::new(io, Arc::clone(&clock));
    let service = service_fn(move |request| {
        // hyper calls the service once a request's headers are complete.
        clock.request_complete();
        let clock = Arc::clone(&clock);
        let answer = handler(request);
        async move {
            let response = answer.await?;
            Ok::<_, Infallible>(response.map(|body| clock.answer(body)))
        }
    });
    // The deadlines are the stream's: hyper's own header timer would also run while the
    // connection is idle, and would close kept-alive connections before the next scrape.
    let connection = http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(io), service);
    watcher.watch(connection).await.map_err(Into::into)
}

/// Answers one request: basic authentication first, when configured.
pub async fn handle(state: &ServerState, request: &Request<Incoming>) -> Response<Pieces> {
    if let Some(auth) = &state.web.basic_auth {
        let auth = Arc::clone(auth);
        let header = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|value| value.as_bytes().to_vec());
        // bcrypt is slow on purpose: keep it off the threads that serve other requests.
        let allowed = tokio::task::spawn_blocking(move || auth.allows(header.as_deref()))
            .await
            .unwrap_or(false);
        if !allowed {
            let mut response = text(StatusCode::UNAUTHORIZED, "Unauthorized\n".into());
            if let Ok(challenge) = HeaderValue::from_str(&format!("Basic realm=\"{REALM}\"")) {
                response
                    .headers_mut()
                    .insert(hyper::header::WWW_AUTHENTICATE, challenge);
            }
            return response;
        }
    }
    let accept_encoding = request
        .headers()
        .get(hyper::header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok());
    route(
        state,
        request.method(),
        request.uri().path(),
        accept_encoding,
    )
    .await
}

async fn route(
    state: &ServerState,
    method: &Method,
    path: &str,
    accept_encoding: Option<&str>,
) -> Response<Pieces> {
    if path == "/-/reload" {
        return reload(state, method).await;
    }
    let readable = method == Method::GET || method == Method::HEAD;
    let asset = assets::find(path);
    let known = path == state.telemetry_path
        || path == "/"
        || path == "/-/healthy"
        || path == "/-/ready"
        || path == WALLBOARD_PATH
        || asset.is_some();
    if !known {
        return text(
            StatusCode::NOT_FOUND,
            format!("404 page not found: {path}\n"),
        );
    }
    if !readable {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} is not allowed on {path}\n"),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if path == state.telemetry_path {
        let gzip = accepts_gzip(accept_encoding);
        let body = if gzip {
            Pieces::from(state.exposition.encoded_gzip())
        } else {
            Pieces::new(state.exposition.encoded_pieces())
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE));
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        return response;
    }
    if let Some(asset) = asset {
        return asset_response(asset);
    }
    match path {
        WALLBOARD_PATH => {
            let mut response = Response::new(Pieces::from(state.exposition.wallboard()));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            // Each refresh must see the latest publish, never a cached one.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        "/-/healthy" => match state.health.as_ref().map(|health| health.check()) {
            Some(Err(reason)) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Unhealthy: {reason}\n"),
            ),
            _ => text(StatusCode::OK, "Healthy\n".into()),
        },
        "/-/ready" => readiness(&state.exposition.statuses()),
        _ => {
            let statuses = state.exposition.statuses();
            let page = landing_page(&state.version, &state.telemetry_path, &statuses);
            let mut response = Response::new(Pieces::from(page));
            let headers = response.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            );
            headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
    }
}

/// One of the wallboard's files, cached by the browser (its link carries its version).
fn asset_response(asset: &Asset) -> Response<Pieces> {
    let mut response = Response::new(Pieces::from(bytes::Bytes::from_static(
        asset.body.as_bytes(),
    )));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(assets::CACHE_CONTROL),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `/-/ready`: 200 once every queue set has made its first attempt, whatever its outcome, so
/// that one set whose name no longer resolves does not take the whole exporter out of its
/// Service; the body lists the sets that are not up, and why.
fn readiness(statuses: &[TargetStatus]) -> Response<Pieces> {
    let waiting = statuses.iter().filter(|s| !s.polled).count();
    if waiting > 0 {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Not ready: {waiting} of {} queue sets have not finished their first poll\n",
                statuses.len()
            ),
        );
    }
    let down: Vec<&TargetStatus> = statuses.iter().filter(|s| !s.up).collect();
    let mut body = String::from("Ready\n");
    if !down.is_empty() {
        body.push_str(&format!(
            "{} of {} queue sets are not up:\n",
            down.len(),
            statuses.len()
        ));
        for status in down {
            body.push_str(&format!(
                "  {}/{}: {}\n",
                status.key.instance,
                status.key.queue_set,
                status.last_error.as_deref().unwrap_or("no data yet")
            ));
        }
    }
    text(StatusCode::OK, body)
}

/// `POST` or `PUT /-/reload`, as in Prometheus: 200 when the new configuration runs, 500 with
/// the reason when it was refused (the old one keeps running).
async fn reload(state: &ServerState, method: &Method) -> Response<Pieces> {
    if method != Method::POST && method != Method::PUT {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST or PUT to reload the configuration\n".into(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, PUT"));
        return response;
    }
    let Some(requests) = &state.reload else {
        // As Prometheus: a reload rebuilds clients and reads the directory again, so it is not
        // open to whoever reaches the port unless asked for. SIGHUP always reloads.
        return text(
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled: start the exporter with --web.enable-lifecycle to reload over HTTP, or send it SIGHUP\n".into(),
        );
    };
    let (reply, answer) = oneshot::channel();
    if requests.send(reply).await.is_err() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the exporter is shutting down\n".into(),
        );
    }
    match answer.await {
        Ok(Ok(queue_sets)) => text(
            StatusCode::OK,
            format!("configuration reloaded: {queue_sets} queue set(s)\n"),
        ),
        Ok(Err(reason)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "failed to reload the configuration; the previous one stays in force: {reason}\n"
            ),
        ),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the exporter stopped before the reload finished\n".into(),
        ),
    }
}

/// Whether an `Accept-Encoding` header value allows gzip (`gzip` or `*`, without `q=0`).
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|value| {
        value.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
    })
}

fn text(status: StatusCode, body: String) -> Response<Pieces> {
    let mut response = Response::new(Pieces::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The address a bound listener really uses, for the log.
pub fn local_address(listener: &TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::{RequestLog, RequestOutcome};
    use crate::metrics::Exposition;
    use crate::model::{PollReport, TargetKey};
    use http_body_util::BodyExt;
    use std::collections::BTreeMap;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn state() -> ServerState {
        let key = TargetKey {
            instance: "prod".into(),
            queue_set: "<script>".into(),
        };
        let exposition = Exposition::new(
            std::slice::from_ref(&key),
            BTreeMap::new(),
            Arc::default(),
            "0.1.0",
            "r",
        )
        .unwrap();
        exposition
            .record(
                &key,
                PollReport {
                    started_at: 1.0,
                    duration: Duration::from_millis(5),
                    outcome: Err("AccessDeniedException & more".into()),
                },
            )
            .unwrap();
        ServerState {
            exposition: Arc::new(exposition),
            telemetry_path: "/metrics".into(),
            version: "0.1.0".into(),
            reload: None,
            health: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            web: WebConfig::default(),
        }
    }

    async fn body(response: Response<Pieces>) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn routes_answer_with_the_right_status_and_type() {
        let state = state();
        let metrics = route(&state, &Method::GET, "/metrics", None).await;
        assert_eq!(metrics.status(), StatusCode::OK);
        assert_eq!(metrics.headers()[CONTENT_TYPE], METRICS_CONTENT_TYPE);
        assert!(body(metrics).await.contains("amazon_connect_up{"));
        assert_eq!(
            route(&state, &Method::GET, "/-/healthy", None)
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            route(&state, &Method::GET, "/-/ready", None).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            route(&state, &Method::GET, "/nope", None).await.status(),
            StatusCode::NOT_FOUND
        );
        let gzipped = route(
            &state,
            &Method::GET,
            "/metrics",
            Some("deflate, gzip;q=0.8"),
        )
        .await;
        assert_eq!(gzipped.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(gzipped.headers()[VARY], "Accept-Encoding");
        let compressed = gzipped.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(compressed, state.exposition.encoded_gzip());
        let refused = route(&state, &Method::GET, "/metrics", Some("gzip;q=0")).await;
        assert!(refused.headers().get(CONTENT_ENCODING).is_none());
        let post = route(&state, &Method::POST, "/metrics", None).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
    }

    #[tokio::test]
    async fn landing_page_escapes_names_and_errors() {
        let state = state();
        let page = body(route(&state, &Method::GET, "/", None).await).await;
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(page.contains("AccessDeniedException &amp; more"));
        assert!(page.contains("<td class=\"down\">down</td>"));
        assert!(!page.contains("<script>"));
    }

    #[tokio::test]
    async fn the_page_sends_its_policy_and_its_files_and_json_their_types() {
        let state = state();
        let page = route(&state, &Method::GET, "/", None).await;
        assert_eq!(page.headers()[CONTENT_SECURITY_POLICY], PAGE_POLICY);
        assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
        for (path, content_type) in [
            ("/static/wallboard.js", "text/javascript; charset=utf-8"),
            ("/static/wallboard.css", "text/css; charset=utf-8"),
        ] {
            let response = route(&state, &Method::GET, path, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[CONTENT_TYPE], content_type);
            assert_eq!(response.headers()[CACHE_CONTROL], assets::CACHE_CONTROL);
            assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(!body(response).await.is_empty());
        }
        let json = route(&state, &Method::GET, WALLBOARD_PATH, None).await;
        assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(json.headers()[CACHE_CONTROL], "no-store");
        let board: serde_json::Value = serde_json::from_str(&body(json).await).unwrap();
        assert_eq!(board["sets"][0]["queue_set"], "<script>", "JSON, not HTML");
        assert_eq!(board["sets"][0]["up"], false);
        assert_eq!(
            route(&state, &Method::POST, WALLBOARD_PATH, None)
                .await
                .status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            route(&state, &Method::GET, "/static/nope.js", None)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn landing_page_shows_poll_times_and_the_instance_requests() {
        let log = RequestLog::default();
        log.record("GetCurrentUserData", RequestOutcome::Success);
        log.record("GetCurrentUserData", RequestOutcome::Throttled);
        log.record("GetCurrentUserData", RequestOutcome::Success);
        let key = TargetKey {
            instance: "prod".into(),
            queue_set: "support".into(),
        };
        let exposition = Exposition::new(
            std::slice::from_ref(&key),
            BTreeMap::from([("prod".to_string(), log)]),
            Arc::default(),
            "v",
            "r",
        )
        .unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        exposition
            .record(
                &key,
                PollReport {
                    started_at: now - 600.0,
                    duration: Duration::ZERO,
                    outcome: Ok(Default::default()),
                },
            )
            .unwrap();
        exposition
            .record(
                &key,
                PollReport {
                    started_at: now - 30.0,
                    duration: Duration::ZERO,
                    outcome: Err("throttled".into()),
                },
            )
            .unwrap();
        let mut state = state();
        state.exposition = Arc::new(exposition);
        let page = body(route(&state, &Method::GET, "/", None).await).await;
        let row = page
            .lines()
            .find(|line| line.contains("<td>support</td>"))
            .unwrap_or_else(|| panic!("no row for the queue set: {page}"));
        assert!(
            row.contains(
                "<td>30 s ago</td><td>10 min ago</td><td>3</td><td>1</td><td>throttled</td>"
            ),
            "{row}"
        );
    }

    #[test]
    fn gzip_is_sent_only_where_accepted() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("identity, GZIP; q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("deflate, br")));
        assert!(!accepts_gzip(None));
    }

    #[tokio::test]
    async fn not_ready_until_every_target_polled() {
        let keys = [TargetKey {
            instance: "a".into(),
            queue_set: "b".into(),
        }];
        let state = ServerState {
            exposition: Arc::new(
                Exposition::new(&keys, BTreeMap::new(), Arc::default(), "v", "r").unwrap(),
            ),
            telemetry_path: "/metrics".into(),
            version: "v".into(),
            reload: None,
            health: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            web: WebConfig::default(),
        };
        let response = route(&state, &Method::GET, "/-/ready", None).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body(response).await.contains("1 of 1 queue sets"));
    }

    #[derive(Debug)]
    struct Gone;

    impl Health for Gone {
        fn check(&self) -> Result<(), String> {
            Err("the polling thread has ended".into())
        }
    }

    #[tokio::test]
    async fn healthy_fails_when_the_health_check_does() {
        let mut state = state();
        let healthy = route(&state, &Method::GET, "/-/healthy", None).await;
        assert_eq!(healthy.status(), StatusCode::OK);
        state.health = Some(Arc::new(Gone));
        let unhealthy = route(&state, &Method::GET, "/-/healthy", None).await;
        assert_eq!(unhealthy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body(unhealthy).await,
            "Unhealthy: the polling thread has ended\n"
        );
    }

    #[tokio::test]
    async fn ready_once_every_set_polled_even_where_one_failed_and_lists_it() {
        // `state()` has one set whose first poll failed.
        let response = route(&state(), &Method::GET, "/-/ready", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            body(response).await,
            "Ready\n1 of 1 queue sets are not up:\n  prod/<script>: AccessDeniedException & more\n"
        );
    }

    #[tokio::test]
    async fn reload_without_the_lifecycle_flag_is_forbidden_and_names_it() {
        let response = route(&state(), &Method::POST, "/-/reload", None).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(body(response).await.contains("--web.enable-lifecycle"));
    }

    #[tokio::test]
    async fn reload_answers_with_the_outcome() {
        let (sender, mut requests) = mpsc::channel::<ReloadRequest>(1);
        let mut state = state();
        state.reload = Some(sender);
        tokio::spawn(async move {
            let mut outcomes = vec![
                Err("instances[0].name: must not be empty".to_string()),
                Ok(3),
            ];
            while let Some(reply) = requests.recv().await {
                let _ = reply.send(outcomes.remove(0));
            }
        });
        let refused = route(&state, &Method::POST, "/-/reload", None).await;
        assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body(refused)
            .await
            .contains("previous one stays in force: instances[0].name"));
        let done = route(&state, &Method::PUT, "/-/reload", None).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert_eq!(body(done).await, "configuration reloaded: 3 queue set(s)\n");
        assert_eq!(
            route(&state, &Method::GET, "/-/reload", None)
                .await
                .status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn bind_rejects_malformed_addresses() {
        assert!(matches!(
            bind("10061").await,
            Err(ServerError::Address { .. })
        ));
        assert!(matches!(
            bind("localhost:http").await,
            Err(ServerError::Address { .. })
        ));
    }
}
