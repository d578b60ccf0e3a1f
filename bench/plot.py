"""Draw docs/benchmarks.png from the bench's results JSON.

Usage: python bench/plot.py RESULTS.json OUT.png

Left: cold converge time against N for berth, the floor and Compose (median, min-max
error bars). Right: reaction latency p50 and p95 (file -> running, die -> running, and
berth's own part of the latter).
"""

import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, NullFormatter  # noqa: E402


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    rank = p / 100 * (len(xs) - 1)
    lo, hi = int(rank), min(int(rank) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo)


def cold_panel(ax, cold):
    styles = [
        ("berth_s", "berth apply --wait", "tab:blue", "o"),
        ("floor_s", "floor (bollard loop)", "tab:gray", "s"),
        ("compose_s", "Compose up -d", "tab:orange", "^"),
    ]
    for key, label, color, marker in styles:
        rows = [c for c in cold if c[key]]
        if not rows:
            continue
        ns = [c["n"] for c in rows]
        med = [statistics.median(c[key]) for c in rows]
        lo = [m - min(c[key]) for m, c in zip(med, rows)]
        hi = [max(c[key]) - m for m, c in zip(med, rows)]
        ax.errorbar(ns, med, yerr=[lo, hi], label=label, color=color, marker=marker,
                    capsize=4, linewidth=1.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("agents (N)")
    ax.set_ylabel("seconds (median, min-max)")
    ax.set_title("Cold converge")
    ns = sorted({c["n"] for c in cold})
    ax.set_xticks(ns)
    ax.set_xticklabels([str(n) for n in ns])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()


def reaction_panel(ax, reaction):
    kill = reaction.get("kill", [])
    series = [
        ("file -> running", reaction.get("file_to_running_s", [])),
        ("die -> running", [k["die_to_start_s"] for k in kill]),
        ("berth's part", [k["berth_part_s"] for k in kill if k.get("berth_part_s") is not None]),
        ("floor reactor\ndie -> running", reaction.get("floor_die_to_start_s", [])),
    ]
    series = [(name, xs) for name, xs in series if xs]
    names = [name for name, _ in series]
    p50 = [percentile(xs, 50) * 1000 for _, xs in series]
    p95 = [percentile(xs, 95) * 1000 for _, xs in series]
    x = range(len(series))
    width = 0.38
    b1 = ax.bar([i - width / 2 for i in x], p50, width, label="p50", color="tab:blue")
    b2 = ax.bar([i + width / 2 for i in x], p95, width, label="p95", color="tab:cyan")
    for bars in (b1, b2):
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(names)
    ax.set_ylabel("milliseconds")
    trials = max((len(xs) for _, xs in series), default=0)
    ax.set_title(f"Reaction latency ({trials} trials)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot.py RESULTS.json OUT.png")
    with open(sys.argv[1]) as f:
        r = json.load(f)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    if r.get("cold"):
        cold_panel(left, r["cold"])
    else:
        left.set_axis_off()
    if r.get("reaction"):
        reaction_panel(right, r["reaction"])
    else:
        right.set_axis_off()
    title = "berth benchmarks"
    if r.get("quick"):
        title += " (quick run: not the benchmark)"
    s = r.get("system") or {}
    if s:
        title += f" - {s.get('cpus')} x {s.get('cpu_model', '')}, engine {s.get('engine_version', '')}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
