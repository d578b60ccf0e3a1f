//! berth-bench: measures berth against the engine's floor and Docker Compose (see
//! docs/benchmarks.md). Skeleton; the scenarios land with issue 6.

fn main() {
    eprintln!("berth-bench: not implemented yet");
    std::process::exit(2);
}
