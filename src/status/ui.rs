//! The dashboard at `/ui`, read-only: a page rendered on the server, so that it lists every
//! object without JavaScript, and a script (`/ui/app.js`) that polls `/status` every second
//! and renders the tables again in place.
//!
//! The page is rendered from the report *as the JSON that `/status` serves*, not from the
//! Rust types: the script reads that same document, so both read the same fields, and the
//! optional ones (`usage`, `alerts`, `observed.createdAtMs`) show as soon as `/status`
//! carries them, and `-` while it does not. The template (`ui/page.html`) escapes every
//! value (minijinja's HTML auto-escape); the script only ever sets `textContent`.

mod view;

use std::sync::{Arc, OnceLock};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Deserialize;
use serde_json::Value;

use super::shared::Shared;
use super::wake::{self, WAKE_HEADER};
use super::{now_ms, Report};

const PAGE: &str = include_str!("ui/page.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/style.css");

/// Only this server's own script, style sheet and `/status`: nothing inline runs, even if
/// a value ever slipped past the escaping.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

/// `/ui?selector=user%3Du1`.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub selector: String,
}

/// `GET /ui`. A wake request (a router's, for an idle object whose own path is `/ui`) goes
/// to the wake endpoint, as on every path that is not one of berth's.
pub async fn page(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    if headers.contains_key(WAKE_HEADER) {
        return wake::handle(State(s), headers, uri).await;
    }
    let selector =
        Query::<PageQuery>::try_from_uri(&uri).map_or_else(|_| String::new(), |q| q.0.selector);
    let doc = serde_json::to_value(&*s.report.read().expect("not poisoned"))
        .expect("a report serializes");
    match render_document(&doc, &selector, now_ms()) {
        Ok(html) => asset("text/html; charset=utf-8", html),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render the dashboard: {e:#}\n"),
        )
            .into_response(),
    }
}

/// `GET /ui/app.js`.
pub async fn script(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    if headers.contains_key(WAKE_HEADER) {
        return wake::handle(State(s), headers, uri).await;
    }
    asset("text/javascript; charset=utf-8", SCRIPT.to_string())
}

/// `GET /ui/style.css`.
pub async fn style(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    if headers.contains_key(WAKE_HEADER) {
        return wake::handle(State(s), headers, uri).await;
    }
    asset("text/css; charset=utf-8", STYLE.to_string())
}

fn asset(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// The page for `report`, its rows filtered by `selector` (kubectl syntax).
pub fn render(report: &Report, selector: &str, now_ms: u64) -> Result<String, minijinja::Error> {
    let doc = serde_json::to_value(report).expect("a report serializes");
    render_document(&doc, selector, now_ms)
}

fn render_document(doc: &Value, selector: &str, now_ms: u64) -> Result<String, minijinja::Error> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = Environment::new();
        // The name ends in .html: HTML auto-escape for every value.
        env.add_template("page.html", PAGE)
            .expect("the embedded template parses");
        env
    });
    let view = view::page(doc, selector, now_ms);
    env.get_template("page.html")?
        .render(minijinja::value::Serde(&view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{LastAction, ObjectStatus, ObservedSummary, Phase};

    fn object(name: &str, labels: &[(&str, &str)]) -> ObjectStatus {
        ObjectStatus {
            kind: "agent".into(),
            name: name.into(),
            phase: Phase::Running,
            desired: None,
            observed: Some(ObservedSummary {
                container: format!("berth_t_agent_{name}"),
                id: "0123456789ab".into(),
                state: "running".into(),
                health: None,
                status: "Up 3 seconds".into(),
                spec_hash: None,
                created_at_ms: 1_700_000_000_000,
                started_at_ms: None,
            }),
            restarts: 2,
            backoff_ms: None,
            next_retry_ms: None,
            waiting: None,
            expires_at_ms: None,
            last_action: Some(LastAction {
                action: "start".into(),
                reason: "crashed: exited with code 137".into(),
                result: "ok".into(),
                at_ms: 1_700_000_000_000,
            }),
            last_error: None,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            template: None,
            url: None,
            ports: Vec::new(),
            usage: None,
            alerts: Vec::new(),
        }
    }

    fn report(objects: Vec<ObjectStatus>) -> Report {
        Report {
            instance: "t".into(),
            ready: true,
            last_reconcile_ms: Some(1_700_000_000_000),
            objects,
            ..Report::default()
        }
    }

    /// The `<tr>` of one object, as the page renders it (minijinja escapes `/` too).
    fn tr<'a>(html: &'a str, key: &str) -> &'a str {
        let key = key.replace('/', "&#x2f;");
        let start = html
            .find(&format!("<tr data-object=\"{key}\""))
            .unwrap_or_else(|| panic!("no row {key} in\n{html}"));
        let len = html[start..].find("</tr>").unwrap();
        &html[start..start + len]
    }

    #[test]
    fn the_page_lists_every_object_and_escapes_what_it_shows() {
        let hostile = "<script>alert(1)</script>";
        let mut r = report(vec![
            object("alpha", &[("user", "u1")]),
            object("beta", &[("user", hostile)]),
        ]);
        r.engine_error = Some("<b>engine</b> & co".into());
        r.diagnostics = vec!["a.yaml:1:1: <x>".into()];
        let html = render(&r, "", 1_700_000_000_000).unwrap();
        for name in ["alpha", "beta"] {
            let row = tr(&html, &format!("agent/{name}"));
            assert!(row.contains(&format!(">{name}<")), "{row}");
            assert!(!row.contains(" hidden"), "{row}");
        }
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("user=&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;b&gt;engine&lt;&#x2f;b&gt; &amp; co"),
            "{html}"
        );
        assert!(html.contains("a.yaml:1:1: &lt;x&gt;"), "{html}");
        // The only script is the page's own.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(html.contains("<script src=\"/ui/app.js\"></script>"));
        assert!(html.contains("2023-11-14T22:13:20Z"), "{html}");
    }

    #[test]
    fn a_selector_hides_the_rows_it_does_not_match() {
        let r = report(vec![
            object("alpha", &[("user", "u1")]),
            object("beta", &[("user", "u2")]),
        ]);
        let html = render(&r, "user=u1", 0).unwrap();
        assert!(!tr(&html, "agent/alpha").contains(" hidden"));
        assert!(tr(&html, "agent/beta").contains(" hidden"));
        assert!(html.contains("value=\"user=u1\""), "{html}");
        assert!(html.contains("1 of 2"), "{html}");
        let html = render(&r, "user!=u1", 0).unwrap();
        assert!(tr(&html, "agent/alpha").contains(" hidden"));
        // One that does not parse says why and hides nothing.
        let html = render(&r, "user in (u1", 0).unwrap();
        assert!(html.contains("unbalanced parentheses"), "{html}");
        assert!(html.contains("2 of 2"), "{html}");
    }

    #[test]
    fn usage_alerts_and_age_show_when_status_carries_them_and_a_dash_when_not() {
        let r = report(vec![object("alpha", &[]), object("beta", &[])]);
        let mut doc = serde_json::to_value(&r).unwrap();
        let alpha = &mut doc["objects"][0];
        alpha["observed"]["createdAtMs"] = serde_json::json!(1_000);
        alpha["usage"] = serde_json::json!({
            "cpuPercent": 12.345, "memoryBytes": 12 * 1024 * 1024,
            "memoryLimitBytes": 64 * 1024 * 1024, "rxBytes": 1, "txBytes": 2, "pids": 3,
            "sampledAtMs": 1_000,
            "history": [
                {"atMs": 1, "cpuPercent": 1.0, "memoryBytes": 6 * 1024 * 1024},
                {"atMs": 2, "cpuPercent": 4.0, "memoryBytes": 12 * 1024 * 1024},
            ],
        });
        alpha["alerts"] = serde_json::json!([
            {"name": "memory", "state": "firing", "sinceMs": 1, "message": "over <90%>"},
        ]);
        let html = render_document(&doc, "", 1_000 + 300_000).unwrap();
        let a = tr(&html, "agent/alpha");
        assert!(a.contains(">5m<"), "{a}");
        assert!(a.contains(">12.3%<"), "{a}");
        assert!(a.contains(">12.0 MiB &#x2f; 64.0 MiB<"), "{a}");
        assert!(a.contains("points=\"0.0,11.5 60.0,1.0\""), "{a}");
        assert!(a.contains("points=\"0.0,8.0 60.0,1.0\""), "{a}");
        assert!(a.contains("class=\"badge alert-memory\" title=\"over &lt;90%&gt;\">memory<"));
        let b = tr(&html, "agent/beta");
        for cell in ["age num", "cpu", "memory", "alerts"] {
            let at = b.find(&format!("class=\"{cell}\"")).unwrap();
            assert!(b[at..].contains("\">-<"), "{cell}: {b}");
        }
        assert!(!b.contains("<svg"), "{b}");
    }

    #[tokio::test]
    async fn a_wake_request_on_the_dashboards_paths_goes_to_the_wake_endpoint() {
        let shared = Arc::new(Shared::new("t"));
        let get = |path: &str, wake: bool| {
            let mut headers = HeaderMap::new();
            if wake {
                headers.insert(WAKE_HEADER, "agent/idle".parse().unwrap());
            }
            (State(shared.clone()), headers, path.parse::<Uri>().unwrap())
        };
        let (s, h, u) = get("/ui?selector=user%3Du1", false);
        let r = page(s, h, u).await;
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("value=\"user=u1\""), "{html}");
        let (s, h, u) = get("/ui", true);
        // The wake endpoint's answer: it knows no object agent/idle.
        assert_eq!(page(s, h, u).await.status(), StatusCode::NOT_FOUND);
        let (s, h, u) = get("/ui/app.js", true);
        assert_eq!(script(s, h, u).await.status(), StatusCode::NOT_FOUND);
        let (s, h, u) = get("/ui/style.css", false);
        assert_eq!(style(s, h, u).await.status(), StatusCode::OK);
    }
}
