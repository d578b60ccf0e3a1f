//! `--listen`: where `berth run` serves its endpoints. The forms Prometheus exporters take:
//! `:PORT` (every IPv4 interface), `HOST:PORT` with an IP address or a host name (resolved
//! when berth starts; IPv4 addresses first, as Go programs bind them), and `[IPv6]:PORT`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// A listen address as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    host: Host,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// `:PORT`.
    Any,
    Ip(IpAddr),
    Name(String),
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let form = "use HOST:PORT, :PORT (every interface) or [IPv6]:PORT, e.g. 127.0.0.1:9325";
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (ip, port) = rest.split_once("]:").ok_or_else(|| {
                format!("{s:?}: an IPv6 address in brackets needs a port: [::1]:9325")
            })?;
            let ip: std::net::Ipv6Addr = ip
                .parse()
                .map_err(|_| format!("{s:?}: {ip:?} is not an IPv6 address"))?;
            (Host::Ip(IpAddr::V6(ip)), port)
        } else {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| format!("{s:?} has no port: {form}"))?;
            let host = if host.is_empty() {
                Host::Any
            } else if host.contains(':') {
                return Err(format!(
                    "{s:?}: write an IPv6 address in brackets, [{host}]:{port}"
                ));
            } else if let Ok(ip) = host.parse::<IpAddr>() {
                Host::Ip(ip)
            } else if is_host_name(host) {
                Host::Name(host.to_string())
            } else {
                return Err(format!(
                    "{s:?}: {host:?} is not a host name or an IP address: {form}"
                ));
            };
            (host, port)
        };
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("{s:?}: {port:?} is not a port (0 to 65535)"))?;
        Ok(ListenAddr { host, port })
    }
}

/// Letters, digits, `-` and `.`, in labels of at most 63.
fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl ListenAddr {
    /// The addresses to try, in order: one for `:PORT` and an IP address, those the resolver
    /// gives for a host name (IPv4 first).
    pub async fn resolve(&self) -> std::io::Result<Vec<SocketAddr>> {
        match &self.host {
            Host::Any => Ok(vec![SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                self.port,
            )]),
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, self.port)]),
            Host::Name(name) => {
                let mut found: Vec<SocketAddr> =
                    tokio::net::lookup_host((name.as_str(), self.port))
                        .await?
                        .collect();
                found.sort_by_key(|a| a.is_ipv6());
                found.dedup();
                if found.is_empty() {
                    return Err(std::io::Error::other(format!(
                        "{name} resolves to no address"
                    )));
                }
                Ok(found)
            }
        }
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Any => write!(f, ":{}", self.port),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            Host::Ip(ip) => write!(f, "{ip}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

/// `--api`: a unix socket (`unix:/run/berth/api.sock`) or a listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAddr {
    Unix(std::path::PathBuf),
    Net(ListenAddr),
}

impl FromStr for ApiAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("unix:") {
            Some(path) if path.starts_with('/') => Ok(ApiAddr::Unix(path.into())),
            Some(_) => Err(format!(
                "{s:?}: a unix socket needs an absolute path, e.g. unix:/run/berth/api.sock"
            )),
            None => s.parse().map(ApiAddr::Net),
        }
    }
}

impl fmt::Display for ApiAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ApiAddr::Net(a) => a.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ListenAddr, String> {
        s.parse()
    }

    #[test]
    fn the_forms_exporters_take_parse() {
        for (text, shown) in [
            (":9325", ":9325"),
            ("127.0.0.1:9325", "127.0.0.1:9325"),
            ("0.0.0.0:0", "0.0.0.0:0"),
            ("localhost:9325", "localhost:9325"),
            ("metrics.example.internal:80", "metrics.example.internal:80"),
            ("[::1]:9325", "[::1]:9325"),
            ("[::]:9325", "[::]:9325"),
        ] {
            assert_eq!(
                parse(text).map(|a| a.to_string()),
                Ok(shown.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn other_forms_are_refused_with_the_reason() {
        let refused = |s: &str, says: &str| {
            let e = parse(s).unwrap_err();
            assert!(e.contains(says), "{s}: {e}");
        };
        refused("9325", "has no port");
        refused("localhost", "has no port");
        refused(":http", "is not a port");
        refused(":70000", "is not a port");
        refused("::1:9325", "in brackets, [::1]:9325");
        refused("[::1]", "needs a port");
        refused("[nope]:1", "is not an IPv6 address");
        refused("bad_host:1", "is not a host name");
        refused("-x:1", "is not a host name");
    }

    #[test]
    fn api_addresses_are_sockets_or_listen_addresses() {
        assert_eq!(
            "unix:/run/b.sock".parse::<ApiAddr>(),
            Ok(ApiAddr::Unix("/run/b.sock".into()))
        );
        assert!("unix:rel.sock"
            .parse::<ApiAddr>()
            .unwrap_err()
            .contains("absolute path"));
        assert_eq!(
            "127.0.0.1:9326".parse::<ApiAddr>().unwrap().to_string(),
            "127.0.0.1:9326"
        );
    }

    #[tokio::test]
    async fn addresses_resolve_ipv4_first() {
        let any = parse(":9325").unwrap().resolve().await.unwrap();
        assert_eq!(any, vec!["0.0.0.0:9325".parse().unwrap()]);
        let v6 = parse("[::1]:1").unwrap().resolve().await.unwrap();
        assert_eq!(v6, vec!["[::1]:1".parse().unwrap()]);
        let local = parse("localhost:9325").unwrap().resolve().await.unwrap();
        assert_eq!(local[0], "127.0.0.1:9325".parse::<SocketAddr>().unwrap());
    }
}
