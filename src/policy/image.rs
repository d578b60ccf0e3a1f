//! Image references, normalized the way the engine resolves them, and the patterns of
//! `allowedImages`. Two spellings of one image compare equal (`busybox`,
//! `docker.io/library/busybox:latest`); a digest always wins over a tag, since the engine
//! runs what the digest names whatever the tag says.

use std::fmt;

use super::glob::Pattern;

/// Docker Hub, as the engine names it.
const DOCKER_HUB: &str = "docker.io";

/// A normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `docker.io`, `registry.internal:5000`, `localhost`, ...
    pub domain: String,
    /// `library/busybox`, `agents/runtime`.
    pub path: String,
    /// `None` when a digest is given without a tag.
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// `domain/path`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The pieces of a reference or pattern, before validation.
struct Parts<'a> {
    domain: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn split(s: &str) -> Parts<'_> {
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].find(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    Parts {
        domain,
        path,
        tag,
        digest,
    }
}

fn normalize_domain(domain: Option<&str>) -> String {
    match domain {
        None | Some("index.docker.io") | Some("registry-1.docker.io") => DOCKER_HUB.into(),
        Some(d) => d.to_ascii_lowercase(),
    }
}

fn normalize_path(domain: &str, path: &str) -> String {
    if domain == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    }
}

fn valid_path_component(c: &str, wildcards: bool) -> bool {
    !c.is_empty()
        && c.chars().all(|ch| {
            ch.is_ascii_lowercase()
                || ch.is_ascii_digit()
                || matches!(ch, '.' | '_' | '-')
                || (wildcards && matches!(ch, '*' | '?'))
        })
        && (wildcards || c.starts_with(|ch: char| ch.is_ascii_alphanumeric()))
}

fn valid_tag(t: &str, wildcards: bool) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.chars().all(|ch| {
            ch.is_ascii_alphanumeric()
                || matches!(ch, '_' | '.' | '-')
                || (wildcards && matches!(ch, '*' | '?'))
        })
        && (wildcards || !t.starts_with(['.', '-']))
}

fn valid_digest(d: &str, wildcards: bool) -> bool {
    match d.split_once(':') {
        Some((algo, hex)) => {
            !algo.is_empty()
                && algo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '_')
                && !hex.is_empty()
                && hex.chars().all(|c| {
                    c.is_ascii_digit()
                        || ('a'..='f').contains(&c)
                        || (wildcards && matches!(c, '*' | '?'))
                })
        }
        None => wildcards && d == "*",
    }
}

/// An image named by its ID rather than by a name: `sha256:<hex>`, or a bare hexadecimal
/// name without tag, which the engine looks up as an ID prefix when no image has that name
/// (`7373cfcf642b`). Returns the hex digits.
pub fn as_image_id(reference: &str) -> Option<&str> {
    let hex = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if let Some(h) = reference.strip_prefix("sha256:") {
        return hex(h).then_some(h);
    }
    hex(reference).then_some(reference)
}

/// Why a reference or pattern is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid image reference (lower-case repository, optional :tag and @digest)")]
pub struct BadReference(pub String);

/// Parses and normalizes an image reference.
pub fn parse(reference: &str) -> Result<ImageRef, BadReference> {
    let bad = || BadReference(reference.to_string());
    if reference.trim() != reference || reference.is_empty() {
        return Err(bad());
    }
    let p = split(reference);
    if p.domain
        .is_some_and(|d| d.is_empty() || d.contains(['*', '?']))
        || !p.path.split('/').all(|c| valid_path_component(c, false))
        || p.tag.is_some_and(|t| !valid_tag(t, false))
        || p.digest.is_some_and(|d| !valid_digest(d, false))
    {
        return Err(bad());
    }
    let domain = normalize_domain(p.domain);
    let path = normalize_path(&domain, p.path);
    let tag = match (p.tag, p.digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, None) => Some("latest".to_string()),
        (None, Some(_)) => None,
    };
    Ok(ImageRef {
        domain,
        path,
        tag,
        digest: p.digest.map(str::to_string),
    })
}

/// One entry of `allowedImages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImagePattern {
    /// `*`: every image.
    Any,
    /// `sha256:<64 hex>`: the image with exactly this ID (the 64 hex digits).
    Id(String),
    Match {
        /// `domain/path`, with wildcards (in segment mode).
        repository: Pattern,
        /// With wildcards; `None` allows every tag (and, with no digest either, every digest).
        tag: Option<Pattern>,
        digest: Option<Pattern>,
        /// As written, for messages.
        text: String,
    },
}

impl ImagePattern {
    pub fn parse(text: &str) -> Result<ImagePattern, BadReference> {
        let bad = || BadReference(text.to_string());
        if text == "*" || text == "**" {
            return Ok(ImagePattern::Any);
        }
        if text.trim() != text || text.is_empty() {
            return Err(bad());
        }
        if let Some(hex) = text.strip_prefix("sha256:") {
            return match as_image_id(text) {
                Some(h) if h.len() == 64 => Ok(ImagePattern::Id(hex.to_string())),
                _ => Err(bad()),
            };
        }
        let p = split(text);
        if p.domain.is_some_and(str::is_empty)
            || !p.path.split('/').all(|c| valid_path_component(c, true))
            || p.tag.is_some_and(|t| !valid_tag(t, true))
            || p.digest.is_some_and(|d| !valid_digest(d, true))
        {
            return Err(bad());
        }
        let domain = normalize_domain(p.domain);
        let path = normalize_path(&domain, p.path);
        let plain = |t: Option<&str>| t.map(Pattern::plain).transpose().map_err(|_| bad());
        Ok(ImagePattern::Match {
            repository: Pattern::segments(&format!("{domain}/{path}")).map_err(|_| bad())?,
            tag: plain(p.tag)?,
            digest: plain(p.digest)?,
            text: text.to_string(),
        })
    }

    /// Whether the image given by ID (its hex digits) is allowed: only by its own full ID.
    pub fn allows_id(&self, hex: &str) -> bool {
        match self {
            ImagePattern::Any => true,
            ImagePattern::Id(id) => id == hex,
            ImagePattern::Match { .. } => false,
        }
    }

    /// Whether the image is allowed by this pattern.
    pub fn allows(&self, image: &ImageRef) -> bool {
        match self {
            ImagePattern::Any => true,
            ImagePattern::Id(_) => false,
            ImagePattern::Match {
                repository,
                tag,
                digest,
                ..
            } => {
                if !repository.matches(&image.repository()) {
                    return false;
                }
                match (tag, digest) {
                    (None, None) => true,
                    // A digest decides what runs: a pattern that names a digest must match
                    // it, and a pattern that names only a tag never admits a digest (the tag
                    // beside it would be decoration).
                    (_, Some(d)) => image.digest.as_deref().is_some_and(|got| d.matches(got)),
                    (Some(t), None) => {
                        image.digest.is_none()
                            && image.tag.as_deref().is_some_and(|got| t.matches(got))
                    }
                }
            }
        }
    }
}

impl fmt::Display for ImagePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImagePattern::Any => f.write_str("*"),
            ImagePattern::Id(id) => write!(f, "sha256:{id}"),
            ImagePattern::Match { text, .. } => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        parse(s).unwrap().to_string()
    }

    #[test]
    fn references_normalize_like_the_engine() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("berth-runtime:1"), "docker.io/library/berth-runtime:1");
        assert_eq!(
            norm("docker.io/library/berth-runtime:1"),
            "docker.io/library/berth-runtime:1"
        );
        assert_eq!(
            norm("index.docker.io/library/berth-runtime:1"),
            "docker.io/library/berth-runtime:1"
        );
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            norm("registry.internal:5000/agents/rt:1.4"),
            "registry.internal:5000/agents/rt:1.4"
        );
        assert_eq!(
            norm("localhost/berth-runtime:1"),
            "localhost/berth-runtime:1"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            norm(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
        assert_eq!(
            norm(&format!("busybox:1@{d}")),
            format!("docker.io/library/busybox:1@{d}")
        );
    }

    #[test]
    fn invalid_references_are_refused() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            " busybox",
            "busy box",
            "busybox@sha256:XYZ",
            "a//b",
            "busybox:-x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn image_ids_are_told_apart_from_names() {
        let full = "7373cfcf642b".to_string() + &"0".repeat(52);
        assert_eq!(as_image_id("7373cfcf642b"), Some("7373cfcf642b"));
        assert_eq!(as_image_id(&format!("sha256:{full}")), Some(full.as_str()));
        assert_eq!(as_image_id("beef"), Some("beef"));
        assert_eq!(as_image_id("beef:latest"), None);
        assert_eq!(as_image_id("library/beef"), None);
        assert_eq!(as_image_id("berth-runtime"), None);
        let id = ImagePattern::parse(&format!("sha256:{full}")).unwrap();
        assert!(id.allows_id(&full));
        assert!(
            !id.allows_id("7373cfcf642b"),
            "a prefix may name another image"
        );
        assert!(ImagePattern::parse("sha256:abc").is_err());
    }

    fn allows(pattern: &str, image: &str) -> bool {
        ImagePattern::parse(pattern)
            .unwrap()
            .allows(&parse(image).unwrap())
    }

    #[test]
    fn patterns_compare_repository_and_tag_or_digest() {
        let d = format!("sha256:{}", "b".repeat(64));
        assert!(allows("*", "anything/at:all"));
        assert!(allows("berth-runtime:*", "berth-runtime:1"));
        assert!(allows(
            "berth-runtime:*",
            "docker.io/library/berth-runtime:2"
        ));
        assert!(allows("berth-runtime:1", "berth-runtime:1"));
        assert!(!allows("berth-runtime:1", "berth-runtime:2"));
        assert!(
            !allows("berth-runtime:1", "berth-runtime"),
            "latest is not 1"
        );
        assert!(!allows("berth-runtime:1", "berth-runtime:1-evil"));
        assert!(!allows("berth-runtime:1", "evil/berth-runtime:1"));
        assert!(!allows(
            "berth-runtime:1",
            "registry.evil.com/berth-runtime:1"
        ));
        assert!(!allows("berth-runtime:1", "localhost/berth-runtime:1"));
        assert!(
            !allows("berth-runtime:1", &format!("berth-runtime:1@{d}")),
            "a digest overrides the tag"
        );
        assert!(!allows("berth-runtime:*", &format!("berth-runtime@{d}")));
        assert!(allows("berth-runtime", &format!("berth-runtime@{d}")));
        assert!(allows(
            &format!("berth-runtime@{d}"),
            &format!("berth-runtime@{d}")
        ));
        assert!(!allows(
            &format!("berth-runtime@{d}"),
            &format!("berth-runtime@sha256:{}", "c".repeat(64))
        ));
        assert!(allows(
            "registry.internal/agents/*",
            "registry.internal/agents/rt:1.4"
        ));
        assert!(!allows(
            "registry.internal/agents/*",
            "registry.internal/agents/x/rt:1"
        ));
        assert!(allows(
            "registry.internal/agents/**",
            "registry.internal/agents/x/rt:1"
        ));
        assert!(!allows(
            "registry.internal/agents/*",
            "registry.internal.evil.com/agents/rt:1"
        ));
        assert!(!allows(
            "registry.internal/agents/*",
            "registry.internal/agentsx:1"
        ));
    }
}
