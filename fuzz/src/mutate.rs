//! Mutations of manifest text: byte-level damage, YAML-aware insertions (anchors, aliases,
//! brackets, document breaks, tabs), hostile values (huge numbers and durations, NUL,
//! long strings, paths that reach the host), and splices of two seeds.

use fastrand::Rng;

/// Fragments that mean something to YAML or to berth.
const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "&b [*a, *a, *a, *a]",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "---\n",
    "...\n",
    "\t",
    "\0",
    "\u{feff}",
    "\u{202e}",
    "é",
    "\\",
    "\"",
    "'",
    "#",
    "!!binary ",
    "!!int ",
    "<<: ",
    "? ",
    "|\n",
    ">-\n",
    "\n  ",
    "null",
    "~",
    "true",
    "0x",
    "1e999",
    "-1",
    "99999999999999999999",
    "18446744073709551616",
    "8Ei",
    "1Pi",
    "0s",
    "0.0001",
    "584942417355y",
    "1000000000d",
    "kind: Policy",
    "kind: Template",
    "template: ",
    "privileged: true",
    "hostNamespaces: { pid: true }",
    "/proc/self/root",
    "/var/run/docker.sock",
    "//run/./docker.sock/",
    "/../",
    "sha256:",
    "7373cfcf642b",
    "berth.",
    "traefik.enable",
    "seccompProfile: /dev/zero",
    "hostMounts: [ { hostPath: /, mountPath: /h } ]",
    "ttl: 0s",
    "stopGracePeriod: 100y",
    "cpus: 0.001",
    "memory: 1",
    "pids: 0",
];

/// A mutant of `seed`, possibly spliced with `other`, at most `max` bytes.
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8], max: usize) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..rng.usize(1..=8) {
        let at = if out.is_empty() {
            0
        } else {
            rng.usize(0..=out.len())
        };
        match rng.u8(0..10) {
            0 if !out.is_empty() => {
                let i = rng.usize(0..out.len());
                out[i] ^= 1 << rng.u8(0..8);
            }
            1 => out.insert(at, rng.u8(..)),
            2 if !out.is_empty() => {
                let end = (at + rng.usize(0..32)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 if !out.is_empty() => {
                // Repeat a range: long lines, deep nesting, many documents.
                let end = (at + rng.usize(1..64)).min(out.len());
                let piece = out[at.min(end)..end].to_vec();
                for _ in 0..rng.usize(1..64) {
                    out.splice(at..at, piece.iter().copied());
                }
            }
            4..=6 => {
                let t = TOKENS[rng.usize(0..TOKENS.len())];
                out.splice(at..at, t.bytes());
            }
            7 if !other.is_empty() => {
                let from = rng.usize(0..other.len());
                let end = (from + rng.usize(1..256)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            8 => {
                // A digit run where a number stands.
                let digits: String = (0..rng.usize(1..30)).map(|_| rng.digit(10)).collect();
                out.splice(at..at, digits.bytes());
            }
            _ => {
                let n = rng.usize(1..4096);
                out.splice(at..at, std::iter::repeat_n(b"ab"[rng.usize(0..2)], n));
            }
        }
        if out.len() > max {
            out.truncate(max);
        }
    }
    out
}
