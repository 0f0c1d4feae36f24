//! The server certificate and key of `tls_server_config`, read again when their files change,
//! so that a rotation (cert-manager, a renewed Let's Encrypt certificate) needs no restart. As
//! exporter-toolkit does, the files are looked at when a client connects; here at most once a
//! second, by size and modification time. A new pair that cannot be read or does not fit is
//! logged and the previous one stays in use until the files change again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tracing::{info, warn};

/// The files are looked at no more often than this.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What identifies one version of a file: its modification time and size.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

#[derive(Debug)]
struct Current {
    key: Arc<CertifiedKey>,
    /// The stamps of the certificate and key files last read (successfully or not).
    stamps: (Stamp, Stamp),
    checked: Instant,
}

/// The server's certificate chain and key, from files that may be replaced while it runs.
#[derive(Debug)]
pub struct ReloadingCertificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
}

impl ReloadingCertificate {
    /// Reads the pair now; an error names the file and what is wrong with it.
    pub fn load(
        cert_path: PathBuf,
        key_path: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        let stamps = (stamp(&cert_path), stamp(&key_path));
        let key = read_pair(&cert_path, &key_path, &provider)?;
        Ok(Self {
            cert_path,
            key_path,
            provider,
            current: Mutex::new(Current {
                key: Arc::new(key),
                stamps,
                checked: Instant::now(),
            }),
        })
    }

    /// The pair to present now: read again first if either file changed.
    fn key(&self) -> Arc<CertifiedKey> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.checked.elapsed() < CHECK_EVERY {
            return Arc::clone(&current.key);
        }
        current.checked = Instant::now();
        let stamps = (stamp(&self.cert_path), stamp(&self.key_path));
        if stamps == current.stamps {
            return Arc::clone(&current.key);
        }
        current.stamps = stamps;
        match read_pair(&self.cert_path, &self.key_path, &self.provider) {
            Ok(key) => {
                info!(
                    cert_file = %self.cert_path.display(),
                    "TLS certificate and key read again after a change"
                );
                current.key = Arc::new(key);
            }
            Err(error) => warn!(
                %error,
                "the changed TLS certificate or key is not usable; still serving the previous one"
            ),
        }
        Arc::clone(&current.key)
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key())
    }
}

/// Reads a PEM certificate chain and its private key and checks that they belong together.
fn read_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect())
        .map_err(|error| {
            format!(
                "tls_server_config.cert_file: cannot read certificates from {}: {error}",
                cert_path.display()
            )
        })?;
    if certificates.is_empty() {
        return Err(format!(
            "tls_server_config.cert_file: {} holds no PEM certificate",
            cert_path.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|error| {
        format!(
            "tls_server_config.key_file: cannot read a private key from {}: {error}",
            key_path.display()
        )
    })?;
    CertifiedKey::from_der(certificates, key, provider)
        .map_err(|error| format!("tls_server_config: certificate and key do not fit: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_path = dir.join("server.crt");
        let key_path = dir.join("server.key");
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path, cert.der().to_vec())
    }

    fn served(resolver: &ReloadingCertificate) -> Vec<u8> {
        resolver.key().cert[0].to_vec()
    }

    /// Lets the next look at the files happen now.
    fn age(resolver: &ReloadingCertificate) {
        let mut current = resolver.current.lock().unwrap();
        current.checked = Instant::now() - CHECK_EVERY;
    }

    #[test]
    fn a_replaced_pair_is_served_and_a_broken_one_keeps_the_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (cert_path, key_path, first) = pair(dir.path(), "first.example");
        let resolver = ReloadingCertificate::load(cert_path.clone(), key_path, provider).unwrap();
        assert_eq!(served(&resolver), first);

        // Rotated: served once the files have been looked at again.
        std::thread::sleep(Duration::from_millis(20));
        let (_, _, second) = pair(dir.path(), "second.example.org");
        assert_eq!(
            served(&resolver),
            first,
            "not looked at again within a second"
        );
        age(&resolver);
        assert_eq!(served(&resolver), second);

        // Half written: the certificate file is garbage; the last good pair stays.
        std::fs::write(&cert_path, "-----BEGIN CERTIFICATE-----\ngarbage\n").unwrap();
        age(&resolver);
        assert_eq!(served(&resolver), second);
    }

    #[test]
    fn a_pair_that_does_not_fit_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (cert_path, _, _) = pair(dir.path(), "a.example");
        let other_key = dir.path().join("other.key");
        std::fs::write(
            &other_key,
            rcgen::KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        let error = ReloadingCertificate::load(cert_path, other_key, provider).unwrap_err();
        assert!(error.contains("do not fit"), "{error}");
    }
}
