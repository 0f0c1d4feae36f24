//! `--web.config.file` on the real binary: TLS with and without client certificates, and basic
//! authentication; the right client gets in, the wrong one does not.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use common::{parse_response, spawn_exporter, HttpResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`.
struct Pki {
    ca: CertificateDer<'static>,
    client_cert: CertificateDer<'static>,
    client_key: PrivateKeyDer<'static>,
}

/// A new certificate authority.
fn new_ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap()
}

/// A server certificate for 127.0.0.1 signed by `ca`, with its key.
fn server_certificate(ca: &CertifiedIssuer<'static, KeyPair>) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    (cert, key)
}

fn make_pki(dir: &Path) -> Pki {
    let ca = new_ca();
    let (server, server_key) = server_certificate(&ca);
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["prometheus".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.crt"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        ca: ca.der().clone(),
        client_cert: client.der().clone(),
        client_key: PrivateKeyDer::try_from(client_key.serialize_der()).unwrap(),
    }
}

fn connector(pki: &Pki, with_client_cert: bool) -> TlsConnector {
    TlsConnector::from(Arc::new(client_config(
        &pki.ca,
        with_client_cert.then(|| (pki.client_cert.clone(), pki.client_key.clone_key())),
    )))
}

/// A client that trusts `ca`, presenting `identity` when given.
fn client_config(
    ca: &CertificateDer<'static>,
    identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    match identity {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    }
}

/// GET over TLS; `None` when the TLS handshake itself is refused.
async fn tls_get(
    address: std::net::SocketAddr,
    connector: &TlsConnector,
    path: &str,
    authorization: Option<(&str, &str)>,
) -> Option<HttpResponse> {
    let tcp = TcpStream::connect(address).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let stream = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
        .await
        .expect("handshake ends")
        .ok()?;
    let header = authorization.map_or(String::new(), |(user, password)| {
        format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    });
    let mut stream = stream;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{header}\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    // With a required client certificate, TLS 1.3 reports the refusal only when reading.
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the server answers or closes within 10 s");
    (!raw.is_empty()).then(|| parse_response(raw))
}

fn start(dir: &Path, web_config: &str) -> (common::RunningBinary, std::net::SocketAddr) {
    let file = dir.join("web.yml");
    std::fs::write(&file, web_config).unwrap();
    let file = file.to_string_lossy().into_owned();
    spawn_exporter(&["--demo", "--web.config.file", &file], &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_admit_the_right_client_only() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let (_running, address) = start(
        dir.path(),
        &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: {hash}\n"),
    );
    let client = connector(&pki, false);

    let ok = tls_get(address, &client, "/metrics", Some(("prometheus", "s3cret")))
        .await
        .expect("TLS works");
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("amazon_connect_exporter_build_info"));
    let wrong = tls_get(address, &client, "/metrics", Some(("prometheus", "guess")))
        .await
        .expect("TLS works");
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.headers["www-authenticate"],
        "Basic realm=\"amazon-connect-exporter\""
    );
    assert!(!wrong.body.contains("amazon_connect"));
    // The page, the wallboard's JSON and its files are behind the same login as /metrics.
    for path in [
        "/",
        "/api/v1/wallboard",
        "/static/wallboard.js",
        "/static/wallboard.css",
    ] {
        let anonymous = tls_get(address, &client, path, None)
            .await
            .expect("TLS works");
        assert_eq!(anonymous.status, 401, "{path}");
        let admitted = tls_get(address, &client, path, Some(("prometheus", "s3cret")))
            .await
            .expect("TLS works");
        assert_eq!(admitted.status, 200, "{path}");
    }
    let board = tls_get(
        address,
        &client,
        "/api/v1/wallboard",
        Some(("prometheus", "s3cret")),
    )
    .await
    .expect("TLS works");
    assert!(board.body.contains("\"generation\""), "{}", board.body);
    let stranger = tls_get(address, &client, "/metrics", Some(("mallory", "s3cret")))
        .await
        .expect("TLS works");
    assert_eq!(stranger.status, 401);

    // Plain HTTP on a TLS port gets no metrics.
    let plain = tokio::time::timeout(Duration::from_secs(10), async {
        let stream = TcpStream::connect(address).await.unwrap();
        let mut raw = Vec::new();
        let mut stream = stream;
        let _ = stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let _ = stream.read_to_end(&mut raw).await;
        raw
    })
    .await
    .expect("the server ends the plain-text attempt");
    assert!(!String::from_utf8_lossy(&plain).contains("amazon_connect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_client_certificate_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (_running, address) = start(
        dir.path(),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let with_cert = tls_get(address, &connector(&pki, true), "/metrics", None).await;
    assert_eq!(with_cert.map(|r| r.status), Some(200));
    let without = tls_get(address, &connector(&pki, false), "/metrics", None).await;
    assert!(
        without.is_none(),
        "a client without a certificate must not get a response: {:?}",
        without.map(|r| r.status)
    );
}

/// The end-entity certificate the server presents to a new connection.
async fn presented_certificate(
    address: std::net::SocketAddr,
    connector: &TlsConnector,
) -> CertificateDer<'static> {
    let tcp = TcpStream::connect(address).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let stream = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
        .await
        .expect("handshake ends")
        .expect("handshake succeeds");
    let (_, connection) = stream.get_ref();
    connection
        .peer_certificates()
        .expect("a server certificate")[0]
        .clone()
}

/// Writes a new server certificate and key for 127.0.0.1, signed by a CA of its own; returns
/// the CA (for the client to trust) and the certificate.
fn rotate(dir: &Path) -> (CertificateDer<'static>, CertificateDer<'static>) {
    let ca = new_ca();
    let (cert, key) = server_certificate(&ca);
    // As cert-manager's mounted secret changes: both files replaced, each in one step.
    for (name, text) in [
        ("server.key", key.serialize_pem()),
        ("server.crt", cert.pem()),
    ] {
        let temporary = dir.join(format!("{name}.new"));
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, dir.join(name)).unwrap();
    }
    (ca.der().clone(), cert.der().clone())
}

fn trusting(ca: &CertificateDer<'static>) -> TlsConnector {
    TlsConnector::from(Arc::new(client_config(ca, None)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_certificate_is_served_without_a_restart_and_a_broken_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (_running, address) = start(
        dir.path(),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let first = presented_certificate(address, &connector(&pki, false)).await;

    let (new_ca, rotated) = rotate(dir.path());
    assert_ne!(first, rotated);
    let client = trusting(&new_ca);
    common::eventually(Duration::from_secs(10), async || {
        let tcp = TcpStream::connect(address).await.ok()?;
        let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
        let stream = client.connect(name, tcp).await.ok()?;
        let presented = stream.get_ref().1.peer_certificates()?[0].clone();
        (presented == rotated).then_some(())
    })
    .await;
    let answer = tls_get(address, &client, "/-/healthy", None).await;
    assert_eq!(answer.map(|r| r.status), Some(200));

    // A certificate file that is not one: the last good pair stays in use.
    std::fs::write(dir.path().join("server.crt"), "not a certificate\n").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(presented_certificate(address, &client).await, rotated);
}

#[test]
fn a_broken_web_config_stops_the_binary_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yml");
    std::fs::write(&file, "basic_auth_users:\n  prometheus: hunter2\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amazon-connect-exporter"))
        .args([
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
        ])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("basic_auth_users.prometheus: not a bcrypt hash"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "the secret is not logged: {stderr}"
    );
}
