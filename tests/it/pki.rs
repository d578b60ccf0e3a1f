//! Certificates made at test time (rcgen, no external tool): a test CA, a second CA that
//! signed nothing the server shows, and server certificates for 127.0.0.1 in the form
//! HAProxy's `bind ... ssl crt FILE` wants (certificate and key in one PEM file).

use std::path::PathBuf;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
};

/// The CN of the test CA, as `berth doctor` shows it as the issuer.
pub const CA_NAME: &str = "berth test CA";
/// The CN of the server certificates.
pub const SERVER_NAME: &str = "berth test portainer";

/// A directory of PEM files, removed when dropped.
pub struct Pki {
    /// The CA that signed `server` and `expired`.
    pub ca: PathBuf,
    /// Another CA: signed nothing the server shows.
    pub other_ca: PathBuf,
    /// Certificate + key for 127.0.0.1 and localhost, signed by `ca`, valid until
    /// `not_after_year`-01-01.
    pub server: PathBuf,
    /// The same, but its validity ended in 2021.
    pub expired: PathBuf,
    /// Certificate + key for 127.0.0.1, self-signed (as Portainer's default one).
    pub self_signed: PathBuf,
    /// The certificate of `self_signed` alone, to give as its own CA.
    pub self_signed_cert: PathBuf,
    pub not_after_year: i32,
    _dir: tempfile::TempDir,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// `cert + key` PEM for 127.0.0.1, signed by `issuer`, valid `from`..`until` (years).
fn server(issuer: &CertifiedIssuer<'static, KeyPair>, from: i32, until: i32) -> String {
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, SERVER_NAME);
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(until, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    format!("{}{}", cert.pem(), key.serialize_pem())
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let this_year = 1970
            + (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                / 31_556_952) as i32;
        let not_after_year = this_year + 2;
        let test_ca = ca(CA_NAME);
        let other = ca("some other CA");
        let write = |name: &str, text: String| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let own_key = KeyPair::generate().unwrap();
        let mut own = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        own.distinguished_name
            .push(DnType::CommonName, "self-signed portainer");
        let own = own.self_signed(&own_key).unwrap();
        Pki {
            ca: write("ca.pem", test_ca.pem()),
            other_ca: write("other-ca.pem", other.pem()),
            server: write(
                "server.pem",
                server(&test_ca, this_year - 1, not_after_year),
            ),
            expired: write("expired.pem", server(&test_ca, 2020, 2021)),
            self_signed: write(
                "self-signed.pem",
                format!("{}{}", own.pem(), own_key.serialize_pem()),
            ),
            self_signed_cert: write("self-signed-cert.pem", own.pem()),
            not_after_year,
            _dir: dir,
        }
    }
}
