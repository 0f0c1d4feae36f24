//! `--web.config.file`: TLS and basic authentication in the Prometheus exporter-toolkit format.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # or NoClientCert, VerifyClientCertIfGiven
//!   client_ca_file: ca.crt
//!   min_version: TLS12                             # or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...                         # bcrypt hash
//! ```
//! Relative paths are relative to the web configuration file. The certificate and key are
//! read again when their files change ([`super::certificates`]); the rest of the file is read
//! at start. Keys of the toolkit format this
//! exporter does not implement are errors, never silently ignored: a security setting that
//! does nothing is worse than a refusal to start.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;

use super::certificates::ReloadingCertificate;

/// Realm sent with `401 Unauthorized`.
pub const REALM: &str = "amazon-connect-exporter";
/// Successful logins remembered, so that bcrypt (slow on purpose) runs once per credential.
const MAX_REMEMBERED_LOGINS: usize = 64;

/// A loaded web configuration.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// TLS settings; `None` serves plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    /// Users allowed in; `None` allows everyone.
    pub basic_auth: Option<Arc<BasicAuth>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.basic_auth.is_some())
            .finish()
    }
}

/// The web configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct WebConfigError {
    /// The web configuration file.
    pub file: PathBuf,
    /// What is wrong, with the key path.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: PathBuf,
    key_file: PathBuf,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    min_version: Option<String>,
}

/// Reads, validates and prepares the web configuration at `file`.
pub fn load(file: &Path) -> Result<WebConfig, WebConfigError> {
    let fail = |message: String| WebConfigError {
        file: file.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(file)
        .map_err(|error| fail(format!("cannot read the web configuration file: {error}")))?;
    let raw: RawWebConfig = serde_yaml::from_str(&text).map_err(|error| {
        fail(format!(
            "{error} (supported keys: tls_server_config.{{cert_file, key_file, client_auth_type, client_ca_file, min_version}}, basic_auth_users)"
        ))
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let tls = raw
        .tls_server_config
        .map(|tls| tls_config(&tls, base).map(Arc::new))
        .transpose()
        .map_err(fail)?;
    let basic_auth = raw
        .basic_auth_users
        .map(|users| BasicAuth::new(users).map(Arc::new))
        .transpose()
        .map_err(fail)?;
    Ok(WebConfig { tls, basic_auth })
}

fn tls_config(raw: &RawTls, base: &Path) -> Result<ServerConfig, String> {
    let resolve = |path: &Path| base.join(path);
    let versions: &[&rustls::SupportedProtocolVersion] = match raw.min_version.as_deref() {
        None | Some("TLS12") => rustls::ALL_VERSIONS,
        Some("TLS13") => &[&rustls::version::TLS13],
        Some(other) => {
            return Err(format!(
                "tls_server_config.min_version: {other:?} is not supported; use TLS12 or TLS13"
            ))
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certificate = ReloadingCertificate::load(
        resolve(&raw.cert_file),
        resolve(&raw.key_file),
        Arc::clone(&provider),
    )?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|error| format!("tls_server_config: {error}"))?;
    let client_auth = raw.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match client_auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
            let ca_file = raw.client_ca_file.as_ref().ok_or_else(|| {
                format!("tls_server_config.client_ca_file is required with client_auth_type {client_auth}")
            })?;
            let ca_path = resolve(ca_file);
            let mut roots = RootCertStore::empty();
            for certificate in CertificateDer::pem_file_iter(&ca_path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|error| {
                    format!(
                        "tls_server_config.client_ca_file: cannot read {}: {error}",
                        ca_path.display()
                    )
                })?
            {
                roots.add(certificate).map_err(|error| {
                    format!("tls_server_config.client_ca_file: {error}")
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if client_auth == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|error| format!("tls_server_config.client_ca_file: {error}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: {other:?} is not supported; use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ))
        }
    };
    let mut config = builder.with_cert_resolver(Arc::new(certificate));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Users and their bcrypt hashes.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// Checked for unknown users, so that their answer takes as long as a known user's and
    /// does not reveal which users exist.
    dummy_hash: String,
    remembered: Mutex<HashSet<(String, String)>>,
}

impl BasicAuth {
    /// Checks every hash up front: a typo must fail at start, not lock everyone out later.
    fn new(users: BTreeMap<String, String>) -> Result<Self, String> {
        if users.is_empty() {
            return Err(
                "basic_auth_users is empty; remove it to allow everyone, or add users".into(),
            );
        }
        let mut cost = bcrypt::DEFAULT_COST;
        for (user, hash) in &users {
            if user.is_empty() || user.contains(':') {
                return Err(format!(
                    "basic_auth_users: user name {user:?} must be non-empty and contain no ':'"
                ));
            }
            let parts = hash.parse::<bcrypt::HashParts>().map_err(|error| {
                format!("basic_auth_users.{user}: not a bcrypt hash ({error}); make one with `htpasswd -nBC 10 {user}`")
            })?;
            cost = parts.get_cost();
        }
        let dummy_hash = bcrypt::hash("not a password", cost).map_err(|error| {
            format!("basic_auth_users: cannot prepare password checks: {error}")
        })?;
        Ok(Self {
            users,
            dummy_hash,
            remembered: Mutex::new(HashSet::new()),
        })
    }

    /// Whether an `Authorization` header value lets its sender in. Slow (bcrypt) the first time
    /// for each credential: call it off the async threads.
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(decode_basic) else {
            return false;
        };
        let key = (user, password);
        let mut remembered = self
            .remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if remembered.contains(&key) {
            return true;
        }
        drop(remembered);
        let (user, password) = &key;
        let allowed = match self.users.get(user) {
            Some(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            None => {
                // Same work as for a known user, then no.
                let _ = bcrypt::verify(password, &self.dummy_hash);
                false
            }
        };
        if allowed {
            remembered = self
                .remembered
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if remembered.len() >= MAX_REMEMBERED_LOGINS {
                remembered.clear();
            }
            remembered.insert(key);
        }
        allowed
    }
}

/// `Basic base64(user:password)` → (user, password).
fn decode_basic(header: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(header).ok()?;
    let (scheme, encoded) = text.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "web.yml", text);
        load(&file).unwrap_err().to_string()
    }

    #[test]
    fn unsupported_or_wrong_settings_are_refused() {
        assert!(error("http_server_config: {}\n").contains("unknown field `http_server_config`"));
        assert!(error("basic_auth_users:\n  alice: plaintext\n")
            .contains("basic_auth_users.alice: not a bcrypt hash"));
        assert!(error("basic_auth_users: {}\n").contains("basic_auth_users is empty"));
        assert!(
            error("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
                .contains("tls_server_config.cert_file: cannot read certificates from")
        );
    }

    #[test]
    fn basic_auth_accepts_the_right_password_only() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new(BTreeMap::from([("prometheus".to_string(), hash)])).unwrap();
        let header = |user: &str, password: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        };
        assert!(auth.allows(Some(header("prometheus", "s3cret").as_bytes())));
        assert!(
            auth.allows(Some(header("prometheus", "s3cret").as_bytes())),
            "remembered"
        );
        assert!(!auth.allows(Some(header("prometheus", "wrong").as_bytes())));
        assert!(!auth.allows(Some(header("mallory", "s3cret").as_bytes())));
        assert!(!auth.allows(Some(b"Bearer abc")));
        assert!(!auth.allows(None));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let config = WebConfig {
            tls: None,
            basic_auth: Some(Arc::new(
                BasicAuth::new(BTreeMap::from([("u".to_string(), hash.clone())])).unwrap(),
            )),
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains(&hash) && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
