//! The `--portainer-*` flags → where berth talks to the engine.

use std::path::Path;

use super::Cli;
use crate::engine::{Portainer, Target, TlsVerify};

/// `--portainer-*` → Portainer, else DOCKER_HOST. The key is read here, once.
pub(super) fn target(cli: &Cli) -> Result<Target, String> {
    target_with(cli, || std::env::var("PORTAINER_API_KEY").ok())
}

/// [`target`], with the environment's key from `env_key`.
fn target_with(cli: &Cli, env_key: impl FnOnce() -> Option<String>) -> Result<Target, String> {
    let Some(url) = &cli.portainer_url else {
        if cli.portainer_endpoint.is_some()
            || cli.portainer_api_key_file.is_some()
            || cli.portainer_ca.is_some()
            || cli.portainer_insecure_skip_verify
        {
            return Err(
                "--portainer-endpoint, --portainer-api-key-file, --portainer-ca and --portainer-insecure-skip-verify need --portainer-url".into(),
            );
        }
        return Ok(Target::DockerHost);
    };
    let tls = tls_verify(
        url,
        cli.portainer_ca.as_deref(),
        cli.portainer_insecure_skip_verify,
    )?;
    let endpoint = cli
        .portainer_endpoint
        .clone()
        .ok_or("--portainer-url needs --portainer-endpoint (the environment id)")?;
    let api_key = match &cli.portainer_api_key_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the Portainer API key from {}: {e}",
                path.display()
            )
        })?,
        None => env_key().unwrap_or_default(),
    }
    .trim()
    .to_string();
    if api_key.is_empty() {
        return Err(
            "Portainer mode needs an API key: set PORTAINER_API_KEY or --portainer-api-key-file"
                .into(),
        );
    }
    Ok(Target::Portainer(Portainer {
        url: url.clone(),
        endpoint,
        api_key,
        tls,
    }))
}

/// How the certificate of `url` is checked: the TLS flags make sense only for `https://`,
/// and only one of them at a time.
fn tls_verify(url: &str, ca: Option<&Path>, skip: bool) -> Result<TlsVerify, String> {
    let https = url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let flag = match (ca, skip) {
        (Some(_), true) => {
            return Err(
                "--portainer-ca and --portainer-insecure-skip-verify exclude each other: give the CA, or (in a lab only) skip verification".into(),
            )
        }
        (Some(ca), false) => TlsVerify::CaFile(ca.to_path_buf()),
        (None, true) => TlsVerify::Skip,
        (None, false) => return Ok(TlsVerify::SystemRoots),
    };
    if !https {
        let name = if skip {
            "--portainer-insecure-skip-verify"
        } else {
            "--portainer-ca"
        };
        return Err(format!(
            "{name} applies to an https:// --portainer-url only, and {url:?} is not one"
        ));
    }
    Ok(flag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Target, String> {
        let cli = Cli::try_parse_from(["berth"].iter().chain(args).chain(&["get"]))
            .map_err(|e| e.to_string())?;
        target_with(&cli, || Some("ptr_key".into()))
    }

    fn portainer(args: &[&str]) -> Portainer {
        match parse(args) {
            Ok(Target::Portainer(p)) => p,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    const HTTPS: &[&str] = &[
        "--portainer-url",
        "https://p:9443",
        "--portainer-endpoint",
        "3",
    ];

    #[test]
    fn https_verifies_against_the_system_roots_unless_told_otherwise() {
        assert_eq!(portainer(HTTPS).tls, TlsVerify::SystemRoots);
        let with_ca = [HTTPS, &["--portainer-ca", "/etc/berth/ca.pem"]].concat();
        assert_eq!(
            portainer(&with_ca).tls,
            TlsVerify::CaFile("/etc/berth/ca.pem".into())
        );
        let skip = [HTTPS, &["--portainer-insecure-skip-verify"]].concat();
        assert_eq!(portainer(&skip).tls, TlsVerify::Skip);
        let upper = [
            "--portainer-url",
            "HTTPS://p",
            "--portainer-endpoint",
            "3",
            "--portainer-insecure-skip-verify",
        ];
        assert_eq!(portainer(&upper).tls, TlsVerify::Skip);
    }

    #[test]
    fn tls_flags_without_an_https_url_are_usage_errors() {
        let http = [
            "--portainer-url",
            "http://p:9000",
            "--portainer-endpoint",
            "3",
        ];
        assert_eq!(
            parse(&[&http[..], &["--portainer-ca", "ca.pem"]].concat()).unwrap_err(),
            "--portainer-ca applies to an https:// --portainer-url only, and \"http://p:9000\" is not one"
        );
        assert_eq!(
            parse(&[&http[..], &["--portainer-insecure-skip-verify"]].concat()).unwrap_err(),
            "--portainer-insecure-skip-verify applies to an https:// --portainer-url only, and \"http://p:9000\" is not one"
        );
        assert_eq!(
            parse(&["--portainer-ca", "ca.pem"]).unwrap_err(),
            "--portainer-endpoint, --portainer-api-key-file, --portainer-ca and --portainer-insecure-skip-verify need --portainer-url"
        );
        assert!(parse(&["--portainer-insecure-skip-verify"]).is_err());
        let both = [
            HTTPS,
            &[
                "--portainer-ca",
                "ca.pem",
                "--portainer-insecure-skip-verify",
            ],
        ]
        .concat();
        assert!(parse(&both).unwrap_err().contains("exclude each other"));
        // Plain HTTP with neither flag stays as it was.
        assert_eq!(portainer(&http).tls, TlsVerify::SystemRoots);
        assert!(matches!(parse(&[]), Ok(Target::DockerHost)));
    }
}
