//! A small HTTP/1.1 client for the session API tests: one request per connection, over
//! TCP or a unix socket, JSON in and out.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

/// Where the API listens.
#[derive(Debug, Clone)]
pub enum At {
    Tcp(String),
    Unix(std::path::PathBuf),
}

/// An answer: status, content type, body (JSON when it parses, else a string).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

/// One request. `token` goes into `Authorization: Bearer`.
pub fn call(at: &At, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Answer {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: berth\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut raw = Vec::new();
    match at {
        At::Tcp(addr) => {
            let mut s = std::net::TcpStream::connect(addr).expect("the API accepts");
            s.set_read_timeout(Some(Duration::from_secs(400))).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            s.read_to_end(&mut raw).unwrap();
        }
        At::Unix(path) => {
            let mut s = std::os::unix::net::UnixStream::connect(path).expect("the API accepts");
            s.set_read_timeout(Some(Duration::from_secs(400))).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            s.read_to_end(&mut raw).unwrap();
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    Answer {
        status,
        content_type,
        body,
    }
}
