//! Stamps the binary with the git commit it was built from, for `berth version`:
//! `git rev-parse --short=12 HEAD` when this package is the top of a git work tree, else
//! the environment's `BERTH_GIT_COMMIT` (an image build without `.git`), else `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let commit = git_commit(&dir)
        .or_else(|| {
            std::env::var("BERTH_GIT_COMMIT")
                .ok()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BERTH_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=BERTH_GIT_COMMIT");
    // Build again when HEAD moves: HEAD itself (another branch checked out), the branch's
    // ref (a commit), and packed-refs (a ref packed away). In a linked worktree they live in
    // different directories; git says where.
    for file in git_files(&dir) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    // Without git there is nothing to watch but this script.
    println!("cargo:rerun-if-changed=build.rs");
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The commit, only when `dir` is the top of its work tree: a package unpacked inside some
/// other repository must not take that repository's commit.
fn git_commit(dir: &Path) -> Option<String> {
    let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"])
}

fn git_files(dir: &Path) -> Vec<PathBuf> {
    if git_commit(dir).is_none() {
        return Vec::new();
    }
    let mut names = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        names.push(branch);
    }
    names
        .iter()
        .filter_map(|n| {
            git(
                dir,
                &["rev-parse", "--path-format=absolute", "--git-path", n],
            )
        })
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect()
}
