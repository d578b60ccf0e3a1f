//! `berth-fuzz`: feeds mutated manifests through berth's whole manifest pipeline (YAML,
//! schema, trust checks, resolution, Policy admission), in process, under a memory cap, and
//! reports inputs, panics and the peak memory of one input. Stable Rust, no instrumentation:
//! a random mutator over the example manifests and the test fixtures.
//!
//! `cargo run --release -p berth-fuzz -- --inputs 1000000` (by hand); `make test` runs a
//! small budget.

mod alloc;
mod mutate;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Instant;

use berth::manifest::discover::SourceFile;
use berth::manifest::{Limits, Trust};
use berth::resolve;
use clap::Parser;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

#[derive(Debug, Parser)]
#[command(about = "Fuzz berth's manifest pipeline in process")]
struct Args {
    /// How many inputs to run.
    #[arg(long, default_value_t = 20_000)]
    inputs: u64,
    /// The random seed (the same seed runs the same inputs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The memory one input may use, in MiB; past it, the input is a finding.
    #[arg(long, default_value_t = 64)]
    max_memory_mib: usize,
    /// The largest input, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    max_input: usize,
    /// Where findings (panics, inputs over the cap) are written.
    #[arg(long, default_value = "target/fuzz-findings")]
    findings: PathBuf,
    /// Seed directories (every *.yaml under them).
    #[arg(long = "corpus", default_values = ["examples", "tests/fixtures"])]
    corpus: Vec<PathBuf>,
}

/// The Policy every input is admitted against, with host paths allowed so that the host
/// path and seccomp rules are reached.
const POLICY: &str = "apiVersion: berth/v1\nkind: Policy\nmetadata: { name: fuzz }\nspec:\n  allowedImages: [\"berth-runtime:*\", \"docker.io/library/*\"]\n  allowedHostPaths: [\"/srv\", \"/nonexistent\"]\n  allowDevices: true\n";

fn seeds(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml") {
            if let Ok(b) = std::fs::read(&p) {
                out.push(b);
            }
        }
    }
}

/// One input through the pipeline: a trusted file, a drop-in file, and the fuzz Policy.
fn run(input: &[u8], other: &[u8]) -> usize {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let files = vec![
        (
            SourceFile {
                display: "fuzz/trusted.yaml".into(),
                canonical: "/nonexistent/fuzz/trusted.yaml".into(),
                trust: Trust::Trusted,
            },
            text(input),
        ),
        (
            SourceFile {
                display: "fuzz/sessions/dropin.yaml".into(),
                canonical: "/nonexistent/fuzz/sessions/dropin.yaml".into(),
                trust: Trust::DropIn,
            },
            text(other),
        ),
    ];
    let loaded = resolve::load_texts(
        &files,
        Some(("fuzz/policy.yaml", POLICY)),
        Limits::default(),
    );
    // Render what a command would print: diagnostics must be small whatever the input.
    let rendered: usize = loaded.diagnostics.iter().map(|d| d.to_string().len()).sum();
    rendered + loaded.desired.objects.len()
}

fn main() {
    let args = Args::parse();
    let seeds = seeds(&args.corpus);
    assert!(
        !seeds.is_empty(),
        "no seed manifests under {:?}",
        args.corpus
    );
    std::panic::set_hook(Box::new(|_| {})); // counted, not printed per input
    let _ = std::fs::create_dir_all(&args.findings);
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let cap = args.max_memory_mib << 20;
    let started = Instant::now();
    let (mut panics, mut over_cap, mut peak_max, mut longest) = (0u64, 0u64, 0usize, 0usize);
    for i in 0..args.inputs {
        let a = &seeds[rng.usize(0..seeds.len())];
        let b = &seeds[rng.usize(0..seeds.len())];
        let input = mutate::mutate(&mut rng, a, b, args.max_input);
        let other = mutate::mutate(&mut rng, b, a, args.max_input);
        // Written before the run and removed after it: an input that aborts the process
        // (an allocation refused far past the cap) stays on disk.
        let current_file = args.findings.join("current.yaml");
        let _ = std::fs::write(&current_file, &input);
        let _ = std::fs::write(args.findings.join("current.dropin.yaml"), &other);
        let base = alloc::current();
        alloc::reset_peak();
        alloc::set_hard_cap(base + cap * 16);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(&input, &other)));
        alloc::set_hard_cap(usize::MAX);
        let used = alloc::peak().saturating_sub(base);
        peak_max = peak_max.max(used);
        let keep = match outcome {
            Ok(rendered) => {
                longest = longest.max(rendered);
                used > cap
            }
            Err(_) => {
                panics += 1;
                true
            }
        };
        if used > cap {
            over_cap += 1;
        }
        if keep {
            let _ = std::fs::write(args.findings.join(format!("input-{i}.yaml")), &input);
            let _ = std::fs::write(args.findings.join(format!("input-{i}.dropin.yaml")), &other);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "inputs {}  panics {panics}  over the {} MiB cap {over_cap}  peak memory of one input {:.1} MiB  ({:.0} inputs/s, {:.0} s)",
        args.inputs,
        args.max_memory_mib,
        peak_max as f64 / (1 << 20) as f64,
        args.inputs as f64 / secs,
        secs
    );
    let _ = std::fs::remove_file(args.findings.join("current.yaml"));
    let _ = std::fs::remove_file(args.findings.join("current.dropin.yaml"));
    println!("longest rendering of one input's diagnostics: {longest} bytes");
    if panics + over_cap > 0 {
        eprintln!("findings written to {}", args.findings.display());
        std::process::exit(1);
    }
}
