//! Docs that cannot drift: every ```` ```console ```` block in README.md and docs/*.md is
//! run, and what it shows must be what the commands print.
//!
//! A block is a series of `$ command` lines (run with bash from the repository root, stdout
//! and stderr together), each followed by its expected output. `[..]` in an expected line
//! matches anything within the line, `...` on a line of its own any number of lines (the
//! matching is snapbox's). A command ending in `# exit N` must exit with N; any other must
//! exit 0. The blocks of one page run in order against one instance of their own (named
//! `demo` in what they show: `BERTH_INSTANCE` and make's `INSTANCE` are set, and a command
//! may not name another with `--instance`), which is removed afterwards. `make demo` uses the
//! binary under test (`SKIP_BUILD`): it never rebuilds what other tests are running. A `$ ` line in any
//! other kind of block is refused: output shown in a page is output this test checks.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// The instance name the pages show.
const SHOWN_INSTANCE: &str = "demo";

#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    exit: i32,
    expected: String,
}

/// The steps of a page's console blocks, or what is wrong with the page.
fn parse(text: &str) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut fence: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(rest) = line.strip_prefix("```") {
            fence = match fence {
                None => Some(rest.trim().to_string()),
                Some(_) => None,
            };
            continue;
        }
        let Some(kind) = &fence else { continue };
        let command = line.strip_prefix("$ ");
        if kind != "console" {
            if command.is_some() {
                return Err(format!(
                    "line {n}: a `$ ` command in a ```{kind} block: show commands with \
                     output in a ```console block (this test checks them)"
                ));
            }
            continue;
        }
        match command {
            Some(c) => {
                if c.trim_end().ends_with('&') {
                    return Err(format!(
                        "line {n}: a console command may not run in the background (`&`): \
                         nothing would wait for it or stop it"
                    ));
                }
                if c.contains("--instance") {
                    return Err(format!(
                        "line {n}: console commands run against the page's own instance; \
                         drop --instance"
                    ));
                }
                let (command, exit) = match c.rsplit_once("# exit ") {
                    Some((cmd, code)) => (
                        cmd.trim_end().to_string(),
                        code.trim()
                            .parse()
                            .map_err(|_| format!("line {n}: `# exit N` needs a number"))?,
                    ),
                    None => (c.to_string(), 0),
                };
                steps.push(Step {
                    line: n,
                    command,
                    exit,
                    expected: String::new(),
                });
            }
            None => match steps.last_mut() {
                Some(s) => {
                    s.expected.push_str(line);
                    s.expected.push('\n');
                }
                None => return Err(format!("line {n}: output before any `$ ` command")),
            },
        }
    }
    Ok(steps)
}

/// The pages: README.md and docs/*.md (only those named in `BERTH_DOCS_PAGES`, comma
/// separated, when it is set: for working on one page).
fn pages() -> Vec<PathBuf> {
    if let Ok(only) = std::env::var("BERTH_DOCS_PAGES") {
        return only.split(',').map(|p| repo(p.trim())).collect();
    }
    let mut out = vec![repo("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

/// Runs a page's steps; the mismatches.
fn check(page: &Path, steps: &[Step]) -> Vec<String> {
    let stem = page.file_stem().unwrap().to_string_lossy().to_lowercase();
    let inst = Instance::new(&format!("docs-{stem}"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_berth")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let state = inst.state.path().display().to_string();
    let mut failures = Vec::new();
    for s in steps {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!("{} 2>&1", s.command))
            .current_dir(repo("."))
            .env("PATH", &path)
            .env("BERTH_INSTANCE", &inst.name)
            .env("INSTANCE", &inst.name)
            .env("SKIP_BUILD", "1")
            .env("BERTH_STATE_DIR", &state)
            .env("NO_COLOR", "1")
            .env_remove("BERTH_LOG")
            // Under `make test`, a nested make would print "Entering directory".
            .env_remove("MAKELEVEL")
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS");
        via_test_engine(&mut cmd);
        let o = cmd.output().expect("run bash");
        let actual = stdout(&o).replace(&inst.name, SHOWN_INSTANCE);
        let at = format!("{}:{}: $ {}", page.display(), s.line, s.command);
        if o.status.code() != Some(s.exit) {
            failures.push(format!(
                "{at}\nexited {:?}, the page says {}\n{actual}",
                o.status.code(),
                s.exit
            ));
            continue;
        }
        let result = snapbox::Assert::new().try_eq(
            Some(&at),
            snapbox::Data::text(actual),
            snapbox::Data::text(s.expected.clone()),
        );
        if let Err(e) = result {
            failures.push(format!("{at}\n{e}"));
        }
    }
    let _ = inst.berth("down", &["--volumes"]);
    failures
}

#[test]
fn every_console_block_in_the_docs_prints_what_it_shows() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        match parse(&text) {
            Err(e) => failures.push(format!("{}: {e}", page.display())),
            Ok(steps) if steps.is_empty() => {}
            Ok(steps) => {
                checked += steps.len();
                failures.extend(check(&page, &steps));
            }
        }
    }
    assert!(checked > 0, "no console blocks found");
    assert!(
        failures.is_empty(),
        "{} of {checked} documented command(s) disagree with berth:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_block_parser_reads_commands_exit_codes_and_refuses_hidden_output() {
    let page = "x\n```console\n$ berth validate a # exit 1\nerror: [..]\n...\n$ true\n```\n";
    let steps = parse(page).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0].command.as_str(), steps[0].exit),
        ("berth validate a", 1)
    );
    assert_eq!(steps[0].expected, "error: [..]\n...\n");
    assert!(parse("```sh\n$ berth get\nNAME\n```\n").is_err());
    assert!(parse("```console\n$ berth get --instance x\n```\n").is_err());
    assert!(parse("```console\noutput first\n```\n").is_err());
    assert!(parse("```console\n$ haproxy -f x &\n```\n").is_err());
}
