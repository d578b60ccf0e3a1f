//! Resyncs without re-reading: when no input changed since the last read, the manifests
//! are not parsed, checked and resolved again.
//!
//! The inputs are every file the last load read: the manifests, the Policy source and the
//! seccomp profiles they name. An input counts as unchanged when its size, modification and
//! change times, inode and device are the same as when it was last read, and it had last
//! been modified well before that read (so a second write within the same timestamp tick
//! cannot go unseen). A new, removed or renamed manifest or Policy file changes the
//! discovered list. Any unreadable path forces a read.
//!
//! The directories are not walked again either while none of them changed: an entry
//! added, removed or renamed changes its directory's times, and every directory walked is
//! stamped like a file, with the source paths as given (a link swapped to another tree).

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime};

use super::pipeline::{resolve, Loaded};
use super::policy_source;
use crate::manifest::discover::{discover, SourceFile};
use crate::manifest::files::Reader;
use crate::manifest::load::read_discovered;
use crate::manifest::sources::Sources;

/// A file modified this close to a read is read again next time whatever its stamp says.
const SETTLE: Duration = Duration::from_secs(2);

/// What the last read saw.
#[derive(Debug, Default)]
pub struct Cache {
    last: Option<Snapshot>,
}

#[derive(Debug)]
struct Snapshot {
    manifests: Vec<SourceFile>,
    policy: Vec<SourceFile>,
    inputs: Vec<(String, Stamp)>,
    /// The directories and source paths walked; `None` when one had changed too recently
    /// to be trusted (the next load walks again).
    walked: Option<Vec<(String, Stamp)>>,
}

/// Whether every path still has the stamp it had.
fn same(stamps: &[(String, Stamp)], now: SystemTime) -> bool {
    stamps
        .iter()
        .all(|(path, stamp)| Stamp::of(path, now).as_ref() == Some(stamp))
}

fn stamps(paths: &[String], now: SystemTime) -> Option<Vec<(String, Stamp)>> {
    paths
        .iter()
        .map(|p| Stamp::of(p, now).map(|s| (p.clone(), s)))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// `None` when the file cannot be stat'ed or changed too recently to be trusted.
    fn of(path: &str, read_at: SystemTime) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        let settled = m.modified().ok()? + SETTLE < read_at;
        settled.then(|| Stamp {
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        })
    }
}

impl Cache {
    /// Reads, checks and resolves what `sources` names, or returns `None` when nothing
    /// changed since the last call that returned a result.
    pub fn load(&mut self, sources: &Sources) -> Option<Loaded> {
        let now = SystemTime::now();
        let policy = match &sources.policy {
            Some(p) => policy_source::files(p).ok(),
            None => Some(Vec::new()),
        };
        let quiet = self.last.as_ref().is_some_and(|last| {
            policy.as_ref() == Some(&last.policy)
                && last.walked.as_ref().is_some_and(|w| same(w, now))
                && same(&last.inputs, now)
        });
        if quiet {
            return None; // no directory and no file changed: the walk would find the same
        }
        let found = discover(sources);
        let unchanged = found.unreadable.is_empty()
            && self.last.as_ref().is_some_and(|last| {
                last.manifests == found.files
                    && policy.as_ref() == Some(&last.policy)
                    && same(&last.inputs, now)
            });
        if unchanged {
            // A directory changed and changed back (an editor's temporary file): the same
            // files. Trust the directories again once they settle.
            if let Some(last) = self.last.as_mut() {
                last.walked = stamps(&found.walked, now);
            }
            return None;
        }
        let walked = found.walked.clone();
        let manifests = found.files.clone();
        let clean = found.unreadable.is_empty();
        let mut reader = Reader::new(sources.limits);
        let policy_load = policy_source::load(sources.policy.as_deref(), &mut reader);
        let read = read_discovered(found, &mut reader);
        let mut loaded = resolve(read, policy_load, &mut reader);
        if sources.traefik {
            super::traefik(&mut loaded.desired);
        }
        let inputs = stamps(&loaded.inputs, now);
        self.last = match (clean, policy, inputs) {
            (true, Some(policy), Some(inputs)) => Some(Snapshot {
                manifests,
                policy,
                inputs,
                walked: stamps(&walked, now),
            }),
            _ => None,
        };
        Some(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    /// Whether `path` is one of the files a load read.
    fn is_input(loaded: &Loaded, path: &Path) -> bool {
        fs::canonicalize(path).is_ok_and(|c| loaded.inputs.iter().any(|i| Path::new(i) == c))
    }

    const AGENT: &str =
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {name: a}\nspec: {image: berth-runtime:1}\n";

    /// Makes `path` look last modified long ago, so its stamp is trusted.
    fn age(path: &std::path::Path) {
        let old = SystemTime::now() - Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn an_unchanged_settled_set_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        fs::write(&f, AGENT).unwrap();
        age(&f);
        let mut cache = Cache::default();
        let paths = Sources::trusted(&[dir.path().to_path_buf()]);
        let first = cache.load(&paths).expect("first read");
        assert_eq!(first.desired.objects.len(), 1);
        assert!(cache.load(&paths).is_none());

        // Rewritten (same size), then aged again: the change time still differs.
        fs::write(&f, AGENT.replace("name: a", "name: b")).unwrap();
        age(&f);
        let again = cache.load(&paths).expect("changed file is read");
        assert_eq!(again.desired.objects.keys().next().unwrap().name, "b");
        assert!(cache.load(&paths).is_none());

        // A new file and a removed file change the list.
        let g = dir.path().join("g.yaml");
        fs::write(&g, AGENT.replace("name: a", "name: g")).unwrap();
        age(&g);
        assert_eq!(cache.load(&paths).unwrap().desired.objects.len(), 2);
        fs::remove_file(&g).unwrap();
        assert_eq!(cache.load(&paths).unwrap().desired.objects.len(), 1);
    }

    #[test]
    fn an_edited_seccomp_profile_is_read_again() {
        // Regression: the cache used to stamp manifest files only, so `berth run` kept the
        // old profile in the spec after the profile was edited.
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("profile.json");
        fs::write(&profile, r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#).unwrap();
        age(&profile);
        let policy = dir.path().join("policy.yaml");
        fs::write(
            &policy,
            format!(
                "apiVersion: berth/v1\nkind: Policy\nmetadata: {{name: p}}\nspec: {{allowedHostPaths: [{}]}}\n",
                dir.path().display()
            ),
        )
        .unwrap();
        age(&policy);
        let m = dir.path().join("m");
        fs::create_dir(&m).unwrap();
        let f = m.join("a.yaml");
        fs::write(
            &f,
            format!(
                "{AGENT}  security: {{seccompProfile: {}}}\n",
                profile.display()
            )
            .replace(
                "spec: {image: berth-runtime:1}",
                "spec:\n  image: berth-runtime:1",
            ),
        )
        .unwrap();
        age(&f);
        let sources = Sources {
            policy: Some(policy.clone()),
            ..Sources::trusted(std::slice::from_ref(&m))
        };
        let mut cache = Cache::default();
        let first = cache.load(&sources).expect("first read");
        assert!(!first.has_errors(), "{:?}", first.diagnostics);
        assert!(is_input(&first, &profile) && is_input(&first, &policy));
        let hash = first.desired.objects.values().next().unwrap().hash.clone();
        assert!(cache.load(&sources).is_none());

        fs::write(&profile, r#"{"defaultAction": "SCMP_ACT_KILL"}"#).unwrap();
        age(&profile);
        let again = cache.load(&sources).expect("the profile changed");
        assert_ne!(again.desired.objects.values().next().unwrap().hash, hash);

        // The Policy file is an input too.
        fs::write(&policy, "kind: [").unwrap();
        age(&policy);
        assert!(cache
            .load(&sources)
            .expect("the Policy changed")
            .has_errors());
    }

    /// Ages a directory's own times, as [`age`] does a file's.
    fn age_dir(path: &std::path::Path) {
        let old = SystemTime::now() - Duration::from_secs(60);
        fs::File::open(path).unwrap().set_modified(old).unwrap();
    }

    #[test]
    fn a_quiet_resync_walks_nothing_and_a_change_in_a_settled_directory_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let f = sub.join("a.yaml");
        fs::write(&f, AGENT).unwrap();
        age(&f);
        age_dir(&sub);
        age_dir(dir.path());
        let paths = Sources::trusted(&[dir.path().to_path_buf()]);
        let mut cache = Cache::default();
        assert!(cache.load(&paths).is_some());
        let walked = cache
            .last
            .as_ref()
            .unwrap()
            .walked
            .as_ref()
            .expect("settled");
        assert_eq!(
            walked.len(),
            3,
            "the source as given, its directory and sub/"
        );
        assert!(cache.load(&paths).is_none());

        // A file added deep down changes only its own directory's times.
        let g = sub.join("g.yaml");
        fs::write(&g, AGENT.replace("name: a", "name: g")).unwrap();
        age(&g);
        assert_eq!(cache.load(&paths).unwrap().desired.objects.len(), 2);

        // An editor's temporary file, gone again: the same files, not read again.
        age_dir(&sub);
        assert!(cache.load(&paths).is_none(), "settled again: same files");
        let tmp = sub.join(".a.yaml.swp");
        fs::write(&tmp, "x").unwrap();
        fs::remove_file(&tmp).unwrap();
        assert!(cache.load(&paths).is_none(), "walked again, the same files");
    }

    #[test]
    fn a_source_link_swapped_to_another_tree_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        for (release, name) in [("v1", "a"), ("v2", "b")] {
            let d = dir.path().join(release);
            fs::create_dir(&d).unwrap();
            let f = d.join("m.yaml");
            fs::write(&f, AGENT.replace("name: a", &format!("name: {name}"))).unwrap();
            age(&f);
            age_dir(&d);
        }
        let current = dir.path().join("current");
        std::os::unix::fs::symlink("v1", &current).unwrap();
        let paths = Sources::trusted(std::slice::from_ref(&current));
        let mut cache = Cache::default();
        let first = cache.load(&paths).unwrap();
        assert_eq!(first.desired.objects.keys().next().unwrap().name, "a");
        assert!(cache.load(&paths).is_none());
        // Swapped atomically, as a deploy does: a new link renamed over the old one.
        let next = dir.path().join("next");
        std::os::unix::fs::symlink("v2", &next).unwrap();
        fs::rename(&next, &current).unwrap();
        let again = cache.load(&paths).expect("the link leads elsewhere");
        assert_eq!(again.desired.objects.keys().next().unwrap().name, "b");
    }

    #[test]
    fn a_fresh_file_is_read_every_time() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.yaml"), AGENT).unwrap();
        let mut cache = Cache::default();
        let paths = Sources::trusted(&[dir.path().to_path_buf()]);
        assert!(cache.load(&paths).is_some());
        assert!(
            cache.load(&paths).is_some(),
            "modified within the settle time"
        );
    }

    #[test]
    fn an_unreadable_path_is_read_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Sources::trusted(&[dir.path().join("missing")]);
        let mut cache = Cache::default();
        assert!(cache.load(&paths).unwrap().has_errors());
        assert!(cache.load(&paths).is_some());
    }
}
