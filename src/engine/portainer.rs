//! Portainer as the way in: the Docker API under `/api/endpoints/{id}/docker/...`, with the
//! API key in the `X-API-Key` header of every request. bollard drops any path from the
//! address it connects to, so the connection goes to scheme and authority and a request
//! modifier puts the prefix and the header on each request. Over `https://` the connection
//! is rustls (`tls.rs`), with the same modifier.

use bollard::Docker;
use http::header::HeaderValue;

use super::tls::{self, TlsVerify};
use super::{certificate, EngineError};

/// How to reach an engine through Portainer.
#[derive(Clone)]
pub struct Portainer {
    /// `http://host:9000` or `https://host:9443` (a path, e.g. behind a reverse proxy, is kept as a prefix).
    pub url: String,
    /// The Portainer environment (endpoint) id.
    pub endpoint: String,
    pub api_key: String,
    /// How an `https://` URL's certificate is checked.
    pub tls: TlsVerify,
}

impl std::fmt::Debug for Portainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portainer")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("api_key", &"<redacted>")
            .field("tls", &self.tls)
            .finish()
    }
}

/// Where berth talks to the engine.
#[derive(Debug, Clone, Default)]
pub enum Target {
    /// `DOCKER_HOST`, else the local socket (as the docker CLI).
    #[default]
    DockerHost,
    Portainer(Portainer),
}

impl Portainer {
    /// The API prefix of the environment: `<url path>/api/endpoints/<id>/docker`.
    fn prefix(base_path: &str, endpoint: &str) -> String {
        format!(
            "{}/api/endpoints/{endpoint}/docker",
            base_path.trim_end_matches('/')
        )
    }

    /// The URL, checked: whether it is HTTPS, its authority and its path.
    fn parse(&self) -> Result<(bool, http::uri::Authority, String), EngineError> {
        let bad = |message: String| EngineError::Config { message };
        let uri: http::Uri = self
            .url
            .parse()
            .map_err(|e| bad(format!("--portainer-url {:?} is not a URL: {e}", self.url)))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(bad(format!(
                    "--portainer-url {:?} must start with http:// or https://",
                    self.url
                )))
            }
        };
        if !https && self.tls != TlsVerify::SystemRoots {
            return Err(bad(format!(
                "--portainer-ca and --portainer-insecure-skip-verify need an https:// --portainer-url, not {:?}",
                self.url
            )));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| bad(format!("--portainer-url {:?} has no host", self.url)))?
            .clone();
        Ok((https, authority, uri.path().to_string()))
    }

    /// A connection whose every request carries the prefix and the key; also returns the
    /// endpoint as messages show it. Over HTTPS without verification, warns (every time).
    pub(super) fn connect(&self) -> Result<(Docker, String), EngineError> {
        let shown = format!(
            "{}/api/endpoints/{}/docker",
            self.url.trim_end_matches('/'),
            self.endpoint
        );
        let bad = |message: String| EngineError::Config { message };
        let (https, authority, path) = self.parse()?;
        if self.endpoint.is_empty() || !self.endpoint.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad(format!(
                "--portainer-endpoint {:?} must be the numeric environment id",
                self.endpoint
            )));
        }
        let key = HeaderValue::from_str(self.api_key.trim()).map_err(|_| {
            bad("the Portainer API key contains characters a header cannot carry".into())
        })?;
        let prefix = Portainer::prefix(&path, &self.endpoint);
        let docker = if https {
            let base = format!("https://{authority}");
            if self.tls == TlsVerify::Skip {
                tracing::warn!(
                    "TLS certificate verification is OFF for {base} (--portainer-insecure-skip-verify): this connection can be intercepted, and whoever intercepts it gets the Portainer API key and control of the engine"
                );
            }
            tls::connect(&base, &self.tls)?
        } else {
            Docker::connect_with_http(
                &format!("http://{authority}"),
                120,
                bollard::API_DEFAULT_VERSION,
            )
            .map_err(|e| EngineError::from_bollard("connect", &shown, e))?
        };
        let docker = docker.with_request_modifier(move |mut req| {
            let uri = req.uri().clone();
            let path_and_query = uri
                .path_and_query()
                .map_or("/".to_string(), |pq| pq.as_str().to_string());
            let mut parts = uri.into_parts();
            parts.path_and_query = format!("{prefix}{path_and_query}").parse().ok();
            if let Ok(u) = http::Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
            req.headers_mut().insert("X-API-Key", key.clone());
            req
        });
        Ok((docker, shown))
    }

    /// The certificate Portainer presents, from a handshake of berth's own; `None` over
    /// plain HTTP.
    pub(super) async fn peer_certificate(
        &self,
    ) -> Option<Result<super::PeerCertificate, EngineError>> {
        let (https, authority, _) = match self.parse() {
            Ok(parsed) => parsed,
            Err(e) => return Some(Err(e)),
        };
        if !https {
            return None;
        }
        let url = format!("https://{authority}");
        let port = authority.port_u16().unwrap_or(443);
        Some(certificate::fetch(&url, authority.host(), port, &self.tls).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_keeps_a_base_path() {
        assert_eq!(Portainer::prefix("/", "3"), "/api/endpoints/3/docker");
        assert_eq!(
            Portainer::prefix("/portainer/", "12"),
            "/portainer/api/endpoints/12/docker"
        );
    }

    #[test]
    fn bad_settings_are_refused_before_any_call() {
        let p = |url: &str, endpoint: &str, tls: TlsVerify| Portainer {
            url: url.into(),
            endpoint: endpoint.into(),
            api_key: "k".into(),
            tls,
        };
        let none = TlsVerify::SystemRoots;
        for (url, endpoint, tls, want) in [
            (
                "p:9000",
                "1",
                none.clone(),
                "must start with http:// or https://",
            ),
            (
                "ftp://p",
                "1",
                none.clone(),
                "must start with http:// or https://",
            ),
            (
                "http://p:9000",
                "one",
                none.clone(),
                "numeric environment id",
            ),
            (
                "http://p:9000",
                "1",
                TlsVerify::Skip,
                "need an https:// --portainer-url",
            ),
            (
                "https://p:9443",
                "1",
                TlsVerify::CaFile("/nonexistent/ca.pem".into()),
                "cannot read the CA bundle /nonexistent/ca.pem",
            ),
        ] {
            let e = p(url, endpoint, tls).connect().unwrap_err().to_string();
            assert!(e.contains(want), "{url} {endpoint}: {e}");
        }
        assert!(p("https://p:9443", "1", TlsVerify::Skip).connect().is_ok());
        assert!(!format!("{:?}", p("http://p", "1", none)).contains("\"k\""));
    }
}
