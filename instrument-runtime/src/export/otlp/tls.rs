//! TLS for OTLP: the collector verified against `OTEL_EXPORTER_OTLP_CERTIFICATE` (or the
//! system's roots), our certificate and key for mTLS, rustls with the `ring` provider.
//!
//! The provider is passed explicitly to every config built here, so nothing depends on (or
//! installs) rustls' process-wide default provider, which the application may set its own way.
//! Certificate files are read and parsed when the exporter is built, so a missing or bad file
//! is a clear error naming the file, not a handshake failure later.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::config::TlsFiles;

/// Certificates and key of one signal, read and checked.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsMaterial {
    /// PEM of the CA file, with its parsed certificates.
    ca: Option<(Vec<u8>, Vec<CertificateDer<'static>>)>,
    /// PEM of our chain and key, with the parsed chain.
    identity: Option<Identity>,
}

#[derive(Clone, Debug)]
struct Identity {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    chain: Vec<CertificateDer<'static>>,
}

impl TlsMaterial {
    /// Reads the files; a file that cannot be read or holds no certificate (or key) is an error
    /// naming it. A client certificate without a key (or the reverse) is an error.
    pub(crate) fn load(files: &TlsFiles) -> Result<TlsMaterial, String> {
        let ca = match &files.ca {
            Some(path) => Some(read_certs(path, "CA certificate")?),
            None => None,
        };
        let identity = match (&files.client_cert, &files.client_key) {
            (Some(cert), Some(key)) => {
                let (cert_pem, chain) = read_certs(cert, "client certificate")?;
                let key_pem = read(key, "client key")?;
                PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    format!(
                        "client key file {} holds no private key: {e}",
                        key.display()
                    )
                })?;
                Some(Identity {
                    cert_pem,
                    key_pem,
                    chain,
                })
            }
            (None, None) => None,
            (Some(cert), None) => {
                return Err(format!(
                    "client certificate {} is set but no client key",
                    cert.display()
                ))
            }
            (None, Some(key)) => {
                return Err(format!(
                    "client key {} is set but no client certificate",
                    key.display()
                ))
            }
        };
        Ok(TlsMaterial { ca, identity })
    }

    /// A rustls client config offering `alpn`, verifying the server against the CA file or,
    /// without one, the system's roots.
    pub(crate) fn rustls_config(
        &self,
        alpn: &[&[u8]],
    ) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca {
            Some((_, certs)) => {
                for cert in certs {
                    roots
                        .add(cert.clone())
                        .map_err(|e| format!("unusable CA certificate: {e}"))?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for cert in native.certs {
                    // Some system stores hold certificates rustls cannot use: skip those.
                    let _ = roots.add(cert);
                }
                if roots.is_empty() {
                    return Err(
                        "no system root certificates found; set OTEL_EXPORTER_OTLP_CERTIFICATE"
                            .to_owned(),
                    );
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            Some(identity) => {
                let key = PrivateKeyDer::from_pem_slice(&identity.key_pem)
                    .map_err(|e| format!("client key: {e}"))?;
                builder
                    .with_client_auth_cert(identity.chain.clone(), key)
                    .map_err(|e| format!("client certificate and key do not fit: {e}"))?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// The same settings for tonic's TLS (which also uses rustls with `ring`).
    pub(crate) fn tonic_config(&self) -> tonic::transport::ClientTlsConfig {
        let mut config = tonic::transport::ClientTlsConfig::new();
        config = match &self.ca {
            Some((pem, _)) => config.ca_certificate(tonic::transport::Certificate::from_pem(pem)),
            None => config.with_native_roots(),
        };
        if let Some(identity) = &self.identity {
            config = config.identity(tonic::transport::Identity::from_pem(
                &identity.cert_pem,
                &identity.key_pem,
            ));
        }
        config
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))
}

fn read_certs(path: &Path, what: &str) -> Result<(Vec<u8>, Vec<CertificateDer<'static>>), String> {
    let pem = read(path, what)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the {what} file {} is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "the {what} file {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok((pem, certs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp(name: &str, contents: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("instrument-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let missing = TlsFiles {
            ca: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..TlsFiles::default()
        };
        let err = TlsMaterial::load(&missing).unwrap_err();
        assert!(
            err.contains("cannot read the CA certificate file /nonexistent/ca.pem"),
            "{err}"
        );

        let garbage = TlsFiles {
            ca: Some(temp("garbage.pem", "not a certificate\n")),
            ..TlsFiles::default()
        };
        let err = TlsMaterial::load(&garbage).unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");

        let half = TlsFiles {
            client_key: Some(PathBuf::from("/k.pem")),
            ..TlsFiles::default()
        };
        assert!(TlsMaterial::load(&half)
            .unwrap_err()
            .contains("no client certificate"));
    }
}
