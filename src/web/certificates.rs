//! The server certificate and key of `tls_server_config`, read again when their files change,
//! so that a rotation (cert-manager, a renewed Let's Encrypt certificate) needs no restart. As
//! exporter-toolkit does, the files are looked at when a client connects; here at most once a
//! second, by size and modification time, and by one handshake at a time: the others go on
//! with the pair in use and never wait for file I/O. A new pair that cannot be read or does
//! not fit is logged and the previous one stays in use until the files change again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
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

/// When the files were last looked at, and what they were then.
#[derive(Debug)]
struct LastCheck {
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
    /// The pair presented now.
    current: RwLock<Arc<CertifiedKey>>,
    /// Taken with `try_lock` by the handshake that looks at the files.
    last_check: Mutex<LastCheck>,
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
            current: RwLock::new(Arc::new(key)),
            last_check: Mutex::new(LastCheck {
                stamps,
                checked: Instant::now(),
            }),
        })
    }

    /// The pair to present now, read again first if either file changed (unless another
    /// handshake is looking at the files right now: this one then takes the current pair).
    fn key(&self) -> Arc<CertifiedKey> {
        if let Ok(mut last_check) = self.last_check.try_lock() {
            self.look_at_files(&mut last_check);
        }
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Reads the pair again if a second has passed and either file changed since.
    fn look_at_files(&self, last_check: &mut LastCheck) {
        if last_check.checked.elapsed() < CHECK_EVERY {
            return;
        }
        last_check.checked = Instant::now();
        let stamps = (stamp(&self.cert_path), stamp(&self.key_path));
        if stamps == last_check.stamps {
            return;
        }
        last_check.stamps = stamps;
        match read_pair(&self.cert_path, &self.key_path, &self.provider) {
            Ok(key) => {
                info!(
                    cert_file = %self.cert_path.display(),
                    "TLS certificate and key read again after a change"
                );
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
            }
            Err(error) => warn!(
                %error,
                "the changed TLS certificate or key is not usable; still serving the previous one"
            ),
        }
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
        let mut last_check = resolver.last_check.lock().unwrap();
        last_check.checked = Instant::now() - CHECK_EVERY;
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

        // While another handshake looks at the files, this one does not wait for it.
        std::thread::sleep(Duration::from_millis(20));
        let (_, _, third) = pair(dir.path(), "third.example.net");
        age(&resolver);
        {
            let _looking = resolver.last_check.lock().unwrap();
            assert_eq!(served(&resolver), second);
        }
        assert_eq!(served(&resolver), third);

        // Half written: the certificate file is garbage; the last good pair stays.
        std::fs::write(&cert_path, "-----BEGIN CERTIFICATE-----\ngarbage\n").unwrap();
        age(&resolver);
        assert_eq!(served(&resolver), third);
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
