use thiserror::Error;

/// What went wrong talking to the engine, in the project's own terms. Every variant is an
/// infrastructure failure except [`EngineError::ImageMissing`], which the user fixes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The object does not exist (404).
    #[error("{operation}: not found: {message}")]
    NotFound { operation: String, message: String },
    /// The image is not present on the engine; berth never pulls.
    #[error(
        "image {image:?} is not on the engine (berth never pulls): build, load or pull it first"
    )]
    ImageMissing { image: String },
    /// A name conflict or an object in use (409).
    #[error("{operation}: conflict: {message}")]
    Conflict { operation: String, message: String },
    /// Refused (403): by a socket proxy in front of the engine (`by_proxy`, the answer was an
    /// HTML page) or by the engine itself (an authorization plugin). The message names the
    /// proxy setting that would allow the call.
    #[error("{}", forbidden(operation, *by_proxy, message))]
    Forbidden {
        operation: String,
        by_proxy: bool,
        message: String,
    },
    /// Portainer (or another authenticating front) refused the credentials (401).
    #[error("{operation}: {endpoint} refused the API key (401 Unauthorized: {message}): check PORTAINER_API_KEY or --portainer-api-key-file")]
    Unauthorized {
        operation: String,
        endpoint: String,
        message: String,
    },
    /// The connection settings are wrong; nothing was sent.
    #[error("{message}")]
    Config { message: String },
    /// berth refused the TLS connection: the server's certificate did not verify (the
    /// message names the certificate and the problem), or the handshake failed.
    #[error("{message}")]
    Tls { endpoint: String, message: String },
    /// No connection could be opened to the endpoint (refused, no socket, no permission,
    /// a name that does not resolve); the reason says which, with a hint where one helps.
    #[error("cannot connect to the engine at {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    /// The connection broke, or the engine did not answer in time.
    #[error("cannot reach the engine at {endpoint} ({operation}): {message}")]
    Unreachable {
        operation: String,
        endpoint: String,
        message: String,
    },
    /// Any other answer from the engine (4xx, 5xx).
    #[error("{operation}: the engine answered {status}: {message}")]
    Engine {
        operation: String,
        status: u16,
        message: String,
    },
}

impl EngineError {
    pub(crate) fn from_bollard(operation: &str, endpoint: &str, e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        let operation = operation.to_string();
        match e {
            B::DockerResponseServerError {
                status_code,
                message,
            } => {
                let by_proxy = message.trim_start().starts_with('<');
                let message = short(&message);
                match status_code {
                    404 => EngineError::NotFound { operation, message },
                    409 => EngineError::Conflict { operation, message },
                    // Podman answers a name conflict with 500.
                    500 if message.contains("is already in use") => {
                        EngineError::Conflict { operation, message }
                    }
                    // Docker refuses to remove a network still in use with 403: it is in
                    // use, not forbidden.
                    403 if !by_proxy && message.contains("has active endpoints") => {
                        EngineError::Conflict { operation, message }
                    }
                    401 => EngineError::Unauthorized {
                        operation,
                        endpoint: endpoint.to_string(),
                        message,
                    },
                    403 => EngineError::Forbidden {
                        operation,
                        by_proxy,
                        message,
                    },
                    status => EngineError::Engine {
                        operation,
                        status,
                        message,
                    },
                }
            }
            B::JsonDataError { message, .. } => EngineError::Engine {
                operation,
                status: 200,
                message: format!("unreadable answer: {message}"),
            },
            other => match super::tls::refused_in(&other) {
                Some(message) => EngineError::Tls {
                    endpoint: endpoint.to_string(),
                    message,
                },
                None => match connect_failure(&other, endpoint) {
                    Some(reason) => EngineError::Connect {
                        endpoint: endpoint.to_string(),
                        reason,
                    },
                    None => EngineError::Unreachable {
                        operation,
                        endpoint: endpoint.to_string(),
                        message: chain(&other),
                    },
                },
            },
        }
    }

    /// The failure class (see docs/architecture.md).
    pub fn class(&self) -> crate::model::FailureClass {
        match self {
            EngineError::ImageMissing { .. } => crate::model::FailureClass::Workload,
            _ => crate::model::FailureClass::Infrastructure,
        }
    }
}

/// `POST /containers/create was refused by the socket proxy: enable POST=1 and CONTAINERS=1`.
fn forbidden(operation: &str, by_proxy: bool, message: &str) -> String {
    let flags = super::proxy::flags_for(operation);
    match (by_proxy, flags.is_empty()) {
        (true, false) => format!(
            "{operation} was refused by the socket proxy: {}",
            super::proxy::enable_hint(&flags)
        ),
        (true, true) => format!("{operation} was refused by the socket proxy (403): {message}"),
        (false, _) => format!("{operation} was refused (403) by the engine: {message}"),
    }
}

/// An HTML error page (a socket proxy's 403) becomes its title or first text line.
fn short(message: &str) -> String {
    let m = message.trim();
    if m.starts_with('<') {
        let text: String = m
            .split('<')
            .filter_map(|part| part.split_once('>').map(|(_, t)| t.trim()))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        return text;
    }
    m.to_string()
}

/// Why no connection could be opened, as one short phrase plus a hint where one helps, or
/// `None` when the error is not about opening the connection. The HTTP client's own layers
/// ("client error (Connect)") say nothing a person can act on and are left out.
fn connect_failure(e: &bollard::errors::Error, endpoint: &str) -> Option<String> {
    use std::io::ErrorKind as K;
    let io = match e {
        bollard::errors::Error::HyperLegacyError { err } if err.is_connect() => {
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
            let mut found = None;
            while let Some(c) = cur {
                if let Some(io) = c.downcast_ref::<std::io::Error>() {
                    found = Some(io);
                }
                cur = c.source();
            }
            found
        }
        bollard::errors::Error::SocketNotFoundError(_) => {
            return Some(format!("no such socket{}", NO_ENGINE_HINT));
        }
        _ => return None,
    }?;
    let unix = endpoint.starts_with("unix://") || endpoint.starts_with('/');
    Some(match io.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::PermissionDenied if unix => format!("permission denied{PERMISSION_HINT}"),
        K::PermissionDenied => "permission denied".into(),
        K::NotFound if unix => format!("no such socket{NO_ENGINE_HINT}"),
        K::TimedOut => "timed out".into(),
        _ => plain_io(io),
    })
}

/// What a user can do about a socket they may not open.
const PERMISSION_HINT: &str = ": berth's user may not open the engine socket; adding the \
    user to the socket's group (docker) would do, but that group is root-equivalent: better \
    run berth through a socket proxy that allows only what it needs (docs/proxy.md)";

/// What a user can do about a socket that is not there.
const NO_ENGINE_HINT: &str = ": is the engine running? DOCKER_HOST says where berth looks";

/// An I/O error's text without the `(os error N)` that follows it, starting lower-case.
fn plain_io(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => text,
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> bollard::errors::Error {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: message.into(),
        }
    }

    #[test]
    fn io_errors_read_as_a_phrase() {
        let e = std::io::Error::from_raw_os_error(111);
        assert_eq!(plain_io(&e), "connection refused");
        let dns = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(
            plain_io(&dns),
            "failed to lookup address information: Name or service not known"
        );
    }

    #[test]
    fn maps_status_codes_to_classes() {
        let e =
            |s, m| EngineError::from_bollard("POST /containers/create", "unix:///x", server(s, m));
        assert!(matches!(
            e(404, "No such container: x"),
            EngineError::NotFound { .. }
        ));
        assert!(matches!(
            e(409, "name in use"),
            EngineError::Conflict { .. }
        ));
        assert_eq!(
            e(401, "Invalid API key").to_string(),
            "POST /containers/create: unix:///x refused the API key (401 Unauthorized: Invalid API key): check PORTAINER_API_KEY or --portainer-api-key-file"
        );
        assert!(matches!(
            e(500, "container create: creating container storage: the container name \"x\" is already in use by abc"),
            EngineError::Conflict { .. }
        ));
        assert!(matches!(
            e(
                403,
                "error while removing network: network n id 1 has active endpoints"
            ),
            EngineError::Conflict { .. }
        ));
        assert!(matches!(
            e(500, "boom"),
            EngineError::Engine { status: 500, .. }
        ));
        let forbidden = e(
            403,
            "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>",
        );
        assert_eq!(
            forbidden.to_string(),
            "POST /containers/create was refused by the socket proxy: enable POST=1 and CONTAINERS=1"
        );
        assert_eq!(forbidden.class().as_str(), "infrastructure");
        let by_engine = e(403, "authorization denied by plugin opa: privileged");
        assert_eq!(
            by_engine.to_string(),
            "POST /containers/create was refused (403) by the engine: authorization denied by plugin opa: privileged"
        );
    }
}
