//! `expose` and `idle` of one object: placeholders filled in from the object, every value
//! checked so that what reaches a router's configuration is a plain path or host name (no
//! quoting, no directives, no `..`); and the routes claimed across objects, so that two
//! objects never share one.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::load::{Body, Document};
use crate::manifest::types::{ContainerSpec, IdleActionName};
use crate::model::{DesiredContainer, Exposure, IdleAction, IdleRule, ObjectKey};

use super::normalize::FieldError;

const PATH: &str = "/spec/expose/path";
const HOST: &str = "/spec/expose/host";

/// The object's exposure, placeholders filled in from its key and `labels`.
pub(super) fn exposure_of(
    c: &ContainerSpec,
    key: &ObjectKey,
    labels: &BTreeMap<String, String>,
) -> Result<Option<Exposure>, FieldError> {
    let Some(e) = &c.expose else { return Ok(None) };
    if e.path.is_none() && e.host.is_none() {
        return Err((
            "/spec/expose",
            "set a path (`/s/{name}/`), a host (`{name}.example.com`) or both".into(),
        ));
    }
    let path = match &e.path {
        Some(p) => Some(render(p, key, labels).map_err(|m| (PATH, m))?),
        None => None,
    };
    if let Some(p) = &path {
        check_path(p).map_err(|m| (PATH, m))?;
    }
    let host = match &e.host {
        Some(h) => Some(render(h, key, labels).map_err(|m| (HOST, m))?),
        None => None,
    };
    if let Some(h) = &host {
        check_host(h).map_err(|m| (HOST, m))?;
    }
    Ok(Some(Exposure {
        port: e.port,
        path,
        host,
        strip_prefix: e.strip_prefix.unwrap_or(true),
    }))
}

/// The placeholders of a Template's `expose`, checked for syntax (their values are checked
/// for each object that uses it).
pub(super) fn check_template(d: &Document) -> Vec<Diagnostic> {
    let Body::Template(t) = &d.body else {
        return Vec::new();
    };
    let Some(e) = &t.container.expose else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (pointer, text) in [(PATH, &e.path), (HOST, &e.host)] {
        if let Some(text) = text {
            if let Err(m) = placeholders(text).and_then(|ps| {
                ps.iter()
                    .try_for_each(|p| known(p).map(|_| ()))
                    .map(|()| ps)
            }) {
                out.push(d.error_at(pointer, m));
            }
        }
    }
    out
}

/// The `idle` of an Agent or Session.
pub(super) fn idle_of(d: &Document) -> Result<Option<IdleRule>, FieldError> {
    let idle = match &d.body {
        Body::Agent(a) => a.idle.as_ref(),
        Body::Session(s) => s.idle.as_ref(),
        _ => None,
    };
    let Some(i) = idle else { return Ok(None) };
    let after: Duration =
        humantime::parse_duration(&i.after).map_err(|e| ("/spec/idle/after", e.to_string()))?;
    if after < Duration::from_secs(1) {
        return Err(("/spec/idle/after", "must be at least 1s".into()));
    }
    let action = match i.action {
        None | Some(IdleActionName::Stop) => IdleAction::Stop,
        Some(IdleActionName::Remove) => IdleAction::Remove,
    };
    Ok(Some(IdleRule { after, action }))
}

enum Placeholder<'a> {
    Name,
    Kind,
    Label(&'a str),
}

fn known(p: &str) -> Result<Placeholder<'_>, String> {
    match p {
        "name" => Ok(Placeholder::Name),
        "kind" => Ok(Placeholder::Kind),
        _ => match p.strip_prefix("label.") {
            Some(k) if !k.is_empty() => Ok(Placeholder::Label(k)),
            _ => Err(format!(
                "unknown placeholder {{{p}}}: use {{name}}, {{kind}} or {{label.KEY}}"
            )),
        },
    }
}

/// The placeholder names in `text`, in order.
fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err("a `}` without its `{`".into());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` without its `}`".to_string())?;
        let inner = &after[..close];
        if inner.contains('{') {
            return Err("placeholders do not nest".into());
        }
        out.push(inner);
        rest = &after[close + 1..];
    }
    Ok(out)
}

/// `text` with its placeholders filled in; each value must be a plain word.
fn render(
    text: &str,
    key: &ObjectKey,
    labels: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    for p in placeholders(text)? {
        let marker = format!("{{{p}}}");
        let at = rest.find(&marker).unwrap_or(rest.len());
        out.push_str(&rest[..at]);
        rest = &rest[(at + marker.len()).min(rest.len())..];
        let value = match known(p)? {
            Placeholder::Name => key.name.as_str(),
            Placeholder::Kind => key.kind.as_str(),
            Placeholder::Label(k) => labels
                .get(k)
                .map(String::as_str)
                .ok_or_else(|| format!("{{label.{k}}}: {key} has no label {k:?}"))?,
        };
        let word = !value.is_empty()
            && value.len() <= 63
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && value != "."
            && value != "..";
        if !word {
            return Err(format!(
                "{{{p}}} is {}: a placeholder's value must be 1 to 63 letters, digits, '-', '_' or '.' (not . or ..)",
                crate::model::quoted(value)
            ));
        }
        out.push_str(value);
    }
    out.push_str(rest);
    Ok(out)
}

fn check_path(p: &str) -> Result<(), String> {
    let plain = p
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
    if !p.starts_with('/') || !p.ends_with('/') {
        return Err(format!("{p:?}: a path prefix starts and ends with '/'"));
    }
    if !plain {
        return Err(format!(
            "{}: a path prefix may hold only letters, digits and - . _ ~ /",
            crate::model::quoted(p)
        ));
    }
    if p.contains("//") || p.split('/').any(|s| s == "." || s == "..") {
        return Err(format!("{p:?}: no empty, . or .. segments"));
    }
    Ok(())
}

fn check_host(h: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if h.len() > 253 || !h.split('.').all(label_ok) {
        return Err(format!(
            "{}: a host is lower-case DNS labels separated by '.'",
            crate::model::quoted(h)
        ));
    }
    Ok(())
}

/// Routes across objects: two objects cannot share a host and path prefix.
#[derive(Debug, Default)]
pub(super) struct Routes {
    taken: HashMap<(Option<String>, String), String>,
}

impl Routes {
    pub(super) fn claim(&mut self, d: &Document, obj: &DesiredContainer) -> Vec<Diagnostic> {
        let Some(e) = &obj.expose else {
            return Vec::new();
        };
        let (host, path) = e.place();
        let place = (host.map(str::to_string), path.to_string());
        let pointer = if e.path.is_some() { PATH } else { HOST };
        let (line, col) = d.doc.value_pos(pointer);
        let here = format!("{}:{line}:{col} ({})", d.file.display, obj.key);
        match self.taken.get(&place) {
            Some(first) => {
                vec![d.error_at(pointer, format!("route {} is already {first}'s", e.url()))]
            }
            None => {
                self.taken.insert(place, here);
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::ExposeSpec;
    use crate::model::Kind;

    fn spec(path: Option<&str>, host: Option<&str>) -> ContainerSpec {
        ContainerSpec {
            expose: Some(ExposeSpec {
                port: 8080,
                path: path.map(str::to_string),
                host: host.map(str::to_string),
                strip_prefix: None,
            }),
            ..Default::default()
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_fill_in_from_the_object() {
        let key = ObjectKey::new(Kind::Session, "s1");
        let l = labels(&[("user", "alice"), ("type", "vnc")]);
        let e = exposure_of(
            &spec(
                Some("/container/{label.user}/{label.type}/"),
                Some("{name}.{kind}.example.com"),
            ),
            &key,
            &l,
        )
        .unwrap()
        .unwrap();
        assert_eq!(e.path.as_deref(), Some("/container/alice/vnc/"));
        assert_eq!(e.host.as_deref(), Some("s1.session.example.com"));
        assert!(e.strip_prefix);
    }

    /// (path, host, labels, the pointer of the error, part of its message)
    type BadCase<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a str,
    );

    #[test]
    fn bad_placeholders_and_values_are_refused_at_their_field() {
        let key = ObjectKey::new(Kind::Session, "s1");
        let cases: &[BadCase] = &[
            (
                Some("/s/{user}/"),
                None,
                &[],
                PATH,
                "unknown placeholder {user}",
            ),
            (
                Some("/s/{label.user}/"),
                None,
                &[],
                PATH,
                "has no label \"user\"",
            ),
            (
                Some("/s/{label.u}/"),
                None,
                &[("u", "../x")],
                PATH,
                "a placeholder's value",
            ),
            (
                Some("/s/{label.u}/"),
                None,
                &[("u", "a;b")],
                PATH,
                "a placeholder's value",
            ),
            (
                Some("/s/{label.u}/"),
                None,
                &[("u", "..")],
                PATH,
                "not . or ..",
            ),
            (Some("/s/{name"), None, &[], PATH, "without its `}`"),
            (Some("/s/x"), None, &[], PATH, "starts and ends with '/'"),
            (Some("/s/ x/"), None, &[], PATH, "only letters"),
            (Some("/s//x/"), None, &[], PATH, "no empty"),
            (
                None,
                Some("{label.u}.example.com"),
                &[("u", "Alice")],
                HOST,
                "lower-case DNS",
            ),
            (None, Some("a..b"), &[], HOST, "lower-case DNS"),
            (None, None, &[], "/spec/expose", "set a path"),
        ];
        for (path, host, l, pointer, msg) in cases {
            let err = exposure_of(&spec(*path, *host), &key, &labels(l)).unwrap_err();
            assert_eq!(err.0, *pointer, "{path:?} {host:?}");
            assert!(err.1.contains(msg), "{path:?} {host:?}: {}", err.1);
        }
    }
}
