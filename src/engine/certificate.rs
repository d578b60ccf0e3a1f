//! The certificate an `https://` Portainer presents, for `berth doctor`: a TLS handshake of
//! berth's own with the same trust as the connection, recording the certificate and the
//! verdict even when the verdict is "refused".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_cert::der::Decode;

use super::tls::{self, TlsVerify};
use super::EngineError;

/// What the server's certificate says, and whether berth trusts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerCertificate {
    /// `https://host:port`.
    pub url: String,
    /// `TLS 1.3`.
    pub protocol: Option<String>,
    /// RFC 4514 (last RDN first), e.g. `O=Example,CN=portainer`.
    pub subject: String,
    pub issuer: String,
    /// RFC 3339 UTC.
    pub not_before: String,
    pub not_after: String,
    /// Whole days from now to `not_after` (negative once expired).
    pub expires_in_days: i64,
    /// SHA-256 of the certificate (DER), as `AB:CD:...`.
    pub sha256: String,
    /// The certificate was verified (false when skipped or refused).
    pub verified: bool,
    pub verification: Verification,
}

/// The verdict on the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Verification {
    /// Signed by `against` and valid for the host.
    Verified { against: String },
    /// `--portainer-insecure-skip-verify`: nothing was checked.
    Skipped,
    /// berth refuses it; `message` says why (as the connection's error does).
    Refused { message: String },
}

/// What the verifier saw in the handshake.
type Seen = (CertificateDer<'static>, Result<(), rustls::Error>);

/// Wraps the connection's verifier and records the certificate and the verdict.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Option<Seen>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((
                end_entity.clone().into_owned(),
                verdict.as_ref().map(|_| ()).map_err(Clone::clone),
            ));
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Shakes hands with `host:port` (shown as `url`) and reports the certificate it presents.
/// Fails only when no certificate was seen (nothing answers, or it does not speak TLS).
pub(super) async fn fetch(
    url: &str,
    host: &str,
    port: u16,
    verify: &TlsVerify,
) -> Result<PeerCertificate, EngineError> {
    let unreachable = |message: String| EngineError::Unreachable {
        operation: "TLS handshake".into(),
        endpoint: url.to_string(),
        message,
    };
    let recording = Arc::new(Recording {
        inner: tls::verifier(verify)?,
        seen: Mutex::new(None),
    });
    let config = tls::client_config(recording.clone())?;
    // An IPv6 authority is `[::1]`; the name and the socket address want `::1`.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string()).map_err(|e| EngineError::Config {
        message: format!("{url}: {host:?} is not a host name for TLS: {e}"),
    })?;
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map(|stream| {
                stream.get_ref().1.protocol_version().map(|v| match v {
                    rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_string(),
                    rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_string(),
                    other => format!("{other:?}"),
                })
            })
            .map_err(|e| match tls::find_rustls(&e) {
                Some(t) => t.clone(),
                None => rustls::Error::General(e.to_string()),
            })
            .map_err(Handshake::Tls)
    };
    let outcome = match tokio::time::timeout(Duration::from_secs(10), handshake).await {
        Ok(Ok(protocol)) => Ok(protocol),
        Ok(Err(Handshake::Tls(e))) => Err(e),
        Ok(Err(Handshake::Other(e))) => return Err(e),
        Err(_) => return Err(unreachable("no TLS answer within 10 s".into())),
    };
    let seen = recording.seen.lock().ok().and_then(|mut s| s.take());
    let trust = verify.trust();
    let Some((der, verdict)) = seen else {
        // The handshake ended before any certificate came.
        let e = outcome
            .err()
            .unwrap_or(rustls::Error::NoCertificatesPresented);
        return Err(EngineError::Tls {
            endpoint: url.to_string(),
            message: tls::refusal(url, &trust, &e),
        });
    };
    let verification = match (verdict.as_ref(), &outcome) {
        (Err(e), _) | (Ok(()), Err(e)) => Verification::Refused {
            message: tls::refusal(url, &trust, e),
        },
        (Ok(()), Ok(_)) if *verify == TlsVerify::Skip => Verification::Skipped,
        (Ok(()), Ok(_)) => Verification::Verified { against: trust },
    };
    describe(url, &der, outcome.ok().flatten(), verification)
}

/// Why the handshake future ended.
enum Handshake {
    Tls(rustls::Error),
    Other(EngineError),
}

impl From<EngineError> for Handshake {
    fn from(e: EngineError) -> Self {
        Handshake::Other(e)
    }
}

/// Reads subject, issuer and validity from the certificate.
fn describe(
    url: &str,
    der: &CertificateDer<'_>,
    protocol: Option<String>,
    verification: Verification,
) -> Result<PeerCertificate, EngineError> {
    let cert = x509_cert::Certificate::from_der(der.as_ref()).map_err(|e| EngineError::Tls {
        endpoint: url.to_string(),
        message: format!("the certificate of {url} cannot be read: {e}"),
    })?;
    let tbs = cert.tbs_certificate();
    let not_after = tbs.validity().not_after;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let expires_in_days =
        (not_after.to_unix_duration().as_secs() as i64 - now.as_secs() as i64).div_euclid(86_400);
    let sha256 = Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(PeerCertificate {
        url: url.to_string(),
        protocol,
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        not_before: tbs.validity().not_before.to_string(),
        not_after: not_after.to_string(),
        expires_in_days,
        sha256,
        verified: matches!(verification, Verification::Verified { .. }),
        verification,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_subject_issuer_expiry_and_fingerprint() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["portainer".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "portainer");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 6, 30);
        let cert = params.self_signed(&key).unwrap();
        let c = describe(
            "https://portainer:9443",
            cert.der(),
            Some("TLS 1.3".into()),
            Verification::Skipped,
        )
        .unwrap();
        // RFC 4514 order: the last RDN of the DER sequence first.
        assert_eq!(c.subject, "O=Example,CN=portainer");
        assert_eq!(c.issuer, c.subject);
        assert_eq!(c.not_before, "2020-01-01T00:00:00Z");
        assert_eq!(c.not_after, "2021-06-30T00:00:00Z");
        assert!(c.expires_in_days < 0, "long expired");
        assert_eq!(c.sha256.len(), 32 * 3 - 1);
        assert!(!c.verified);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["verification"],
            serde_json::json!({"result": "skipped"})
        );
        assert_eq!(json["notAfter"], "2021-06-30T00:00:00Z");
    }
}
