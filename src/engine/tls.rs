//! HTTPS to Portainer: rustls (ring provider) with the trust the command line chose — the
//! system's roots, a CA bundle file, or (for a lab only) none. bollard's own TLS constructor
//! insists on a client certificate, so the connection is a custom transport: a hyper client
//! with a rustls connector of ours. A certificate berth refuses comes back as
//! [`EngineError::Tls`] with a sentence that names the certificate and the problem.

use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::Arc;

use bollard::{BollardRequest, Docker};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::EngineError;

/// How berth checks the certificate of an `https://` Portainer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsVerify {
    /// Against the system's CA certificates (`/etc/ssl/certs`).
    #[default]
    SystemRoots,
    /// Against the CA certificate(s) in this PEM file only (`--portainer-ca`).
    CaFile(PathBuf),
    /// Not at all (`--portainer-insecure-skip-verify`): anyone on the path can intercept.
    Skip,
}

impl TlsVerify {
    /// What a certificate is checked against, as messages say it.
    pub fn trust(&self) -> String {
        match self {
            TlsVerify::SystemRoots => "a CA in the system roots".into(),
            TlsVerify::CaFile(path) => format!("the CA in {}", path.display()),
            TlsVerify::Skip => "nothing (verification is skipped)".into(),
        }
    }
}

/// The one crypto provider berth uses (ring), named explicitly so that no process-wide
/// default has to be installed.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(message: String) -> EngineError {
    EngineError::Config { message }
}

/// The trust anchors for `verify` (never called for [`TlsVerify::Skip`]).
fn roots(verify: &TlsVerify) -> Result<RootCertStore, EngineError> {
    let mut store = RootCertStore::empty();
    match verify {
        TlsVerify::CaFile(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                config_error(format!(
                    "cannot read the CA bundle {} (--portainer-ca): {e}",
                    path.display()
                ))
            })?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    config_error(format!(
                        "the CA bundle {} (--portainer-ca) is not valid PEM: {e}",
                        path.display()
                    ))
                })?;
            let (added, _ignored) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(config_error(format!(
                    "the CA bundle {} (--portainer-ca) holds no usable CA certificate (a PEM file with BEGIN CERTIFICATE blocks)",
                    path.display()
                )));
            }
        }
        TlsVerify::SystemRoots | TlsVerify::Skip => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(config_error(
                    "no system CA certificates were found (install the ca-certificates package), or give Portainer's CA with --portainer-ca FILE".into(),
                ));
            }
        }
    }
    Ok(store)
}

/// The verifier for `verify`: webpki against the chosen roots, or one that accepts any
/// certificate but still checks that the server holds its key.
pub(super) fn verifier(verify: &TlsVerify) -> Result<Arc<dyn ServerCertVerifier>, EngineError> {
    let provider = provider();
    if *verify == TlsVerify::Skip {
        return Ok(Arc::new(SkipVerify(provider)));
    }
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots(verify)?),
        provider,
    )
    .build()
    .map_err(|e| config_error(format!("cannot set up TLS verification: {e}")))?;
    Ok(verifier)
}

/// A client configuration that checks certificates with `verifier`.
pub(super) fn client_config(
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<ClientConfig, EngineError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// A bollard client for `base` (`https://host:port`) over rustls, checking the server's
/// certificate as `verify` says.
pub(super) fn connect(base: &str, verify: &TlsVerify) -> Result<Docker, EngineError> {
    let config = client_config(verifier(verify)?)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    // As bollard's own clients: no idle connections kept (each request connects afresh).
    let client = Arc::new(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(https),
    );
    let url = base.to_string();
    let trust = verify.trust();
    let transport = move |req: BollardRequest| {
        let client = Arc::clone(&client);
        let (url, trust) = (url.clone(), trust.clone());
        async move {
            client
                .request(req)
                .await
                .map_err(|e| match find_rustls(&e) {
                    Some(t) => bollard::errors::Error::IOError {
                        err: std::io::Error::other(Refused(refusal(&url, &trust, t))),
                    },
                    None => bollard::errors::Error::from(e),
                })
        }
    };
    Docker::connect_with_custom_transport(transport, Some(base), 120, bollard::API_DEFAULT_VERSION)
        .map_err(|e| EngineError::from_bollard("connect", base, e))
}

/// A TLS refusal carried through bollard (inside an I/O error) to [`EngineError::Tls`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct Refused(pub String);

/// The refusal inside a bollard error, if it is one.
pub(super) fn refused_in(e: &bollard::errors::Error) -> Option<String> {
    match e {
        bollard::errors::Error::IOError { err } => err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Refused>())
            .map(|r| r.0.clone()),
        _ => None,
    }
}

/// The rustls error somewhere in a hyper error's chain. An I/O error hides its inner error
/// from `source()` (and hyper-rustls wraps tokio-rustls' I/O error in another), so step into
/// those with `get_ref`.
pub(super) fn find_rustls<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    None
}

/// The variant name of a rustls value without its fields, `...Context` folded into the
/// plain name: `UnknownIssuer`, `Expired`, `NotValidForName`.
fn code(debug: String) -> String {
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    name.strip_suffix("Context").unwrap_or(&name).to_string()
}

/// One sentence for a TLS failure with `url` (`https://host:port`), whose certificate is
/// checked against `trust` (see [`TlsVerify::trust`]).
pub(super) fn refusal(url: &str, trust: &str, e: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert) = e else {
        let hint = match e {
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                " (is it an HTTPS port? A plain-HTTP server answers this way)"
            }
            _ => "",
        };
        return format!("the TLS handshake with {url} failed: {e}{hint}");
    };
    let what = code(format!("{cert:?}"));
    let system = trust.starts_with("a CA in the system");
    match cert {
        CertificateError::UnknownIssuer => format!(
            "the certificate of {url} is not signed by {trust} ({what}){}",
            if system {
                ": give its CA with --portainer-ca FILE (`berth doctor` shows its issuer)"
            } else {
                ""
            }
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("the certificate of {url} has expired ({what})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the certificate of {url} is not valid yet ({what})")
        }
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "the certificate of {url} is not issued for that host name ({what}); it names {}",
            if presented.is_empty() {
                "no host".to_string()
            } else {
                presented.join(", ")
            }
        ),
        CertificateError::NotValidForName => {
            format!("the certificate of {url} is not issued for that host name ({what})")
        }
        other => format!("the certificate of {url} was refused: {other} ({what})"),
    }
}

/// Accepts any certificate (`--portainer-insecure-skip-verify`), but still checks the
/// handshake signature, so the server at least holds the key of the certificate it shows.
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_certificate_and_the_problem() {
        let url = "https://p:9443";
        let ca = TlsVerify::CaFile("/etc/berth/ca.pem".into()).trust();
        let system = TlsVerify::SystemRoots.trust();
        let bad = |e: CertificateError| rustls::Error::InvalidCertificate(e);
        assert_eq!(
            refusal(url, &ca, &bad(CertificateError::UnknownIssuer)),
            "the certificate of https://p:9443 is not signed by the CA in /etc/berth/ca.pem (UnknownIssuer)"
        );
        assert_eq!(
            refusal(url, &system, &bad(CertificateError::UnknownIssuer)),
            "the certificate of https://p:9443 is not signed by a CA in the system roots (UnknownIssuer): give its CA with --portainer-ca FILE (`berth doctor` shows its issuer)"
        );
        assert_eq!(
            refusal(
                url,
                &ca,
                &bad(CertificateError::ExpiredContext {
                    time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(20)),
                    not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(10)),
                })
            ),
            "the certificate of https://p:9443 has expired (Expired)"
        );
        assert_eq!(
            refusal(
                url,
                &ca,
                &bad(CertificateError::NotValidForNameContext {
                    expected: ServerName::try_from("p").unwrap(),
                    presented: vec!["DnsName(\"q\")".into()],
                })
            ),
            "the certificate of https://p:9443 is not issued for that host name (NotValidForName); it names DnsName(\"q\")"
        );
        let plain = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        let m = refusal(url, &ca, &plain);
        assert!(
            m.starts_with("the TLS handshake with https://p:9443 failed: ")
                && m.contains("HTTPS port"),
            "{m}"
        );
    }

    #[test]
    fn a_refusal_is_found_through_io_errors_and_comes_back_out_of_bollard() {
        let inner = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner.clone());
        assert_eq!(find_rustls(&io), Some(&inner));
        // As hyper-rustls hands it over: tokio-rustls' I/O error inside another one.
        let twice = std::io::Error::other(io);
        assert_eq!(find_rustls(&twice), Some(&inner));
        let b = bollard::errors::Error::IOError {
            err: std::io::Error::other(Refused("the certificate of x".into())),
        };
        assert_eq!(refused_in(&b).as_deref(), Some("the certificate of x"));
        let e = EngineError::from_bollard("GET /version", "https://p:9443", b);
        assert_eq!(
            e,
            EngineError::Tls {
                endpoint: "https://p:9443".into(),
                message: "the certificate of x".into()
            }
        );
        assert_eq!(e.to_string(), "the certificate of x");
        assert_eq!(e.class().as_str(), "infrastructure");
        let plain = bollard::errors::Error::IOError {
            err: std::io::Error::other("boom"),
        };
        assert_eq!(refused_in(&plain), None);
    }

    #[test]
    fn a_ca_file_that_is_missing_or_empty_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem");
        let e = verifier(&TlsVerify::CaFile(missing.clone())).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot read the CA bundle {}", missing.display())),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = verifier(&TlsVerify::CaFile(empty)).unwrap_err();
        assert!(
            e.to_string().contains("holds no usable CA certificate"),
            "{e}"
        );
        assert!(matches!(e, EngineError::Config { .. }));
    }
}
