#!/usr/bin/env python3
"""bench/scale.py: how berth's costs grow with the number of objects, one point per size.

For each N in SIZES (default 10,100,1000,2000), on the real engine, with a release build:

  1. cold converge: `berth apply --wait` of N agents that do not exist yet (whole process);
  2. `berth run --resync 2s --stats-interval 0s` over them: RSS once converged, and the CPU of
     ROUNDS quiet resync rounds (`berth_reconcile_cpu_seconds` deltas on /metrics);
  3. file -> running: one more agent's file renamed into the directory, to its container's
     `start` event (TRIALS trials, each removed again);
  4. everything removed (`berth down`), not timed.

Writes OUT/results.json and, with matplotlib (target/bench-venv), OUT/scale.png. A bridge
holds at most 1023 containers, so at every size the agents are spread over shared networks
of the instance (`network: { shared: pK }`), PER_NETWORK (500) to a network: one network up
to 500, four at 2000. A stalled engine (nothing moves for STALL s) stops the run with what
was measured.

Usage: python3 bench/scale.py     Env: BERTH, SIZES, ROUNDS (5), TRIALS (5), STALL (120),
OUT (target/bench-scale), PYTHON (target/bench-venv/bin/python, for the plot).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api import free_port  # noqa: E402  (bench/api.py's helper)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTH = os.environ.get("BERTH", os.path.join(ROOT, "target/release/berth"))
SIZES = [int(s) for s in os.environ.get("SIZES", "10,100,1000,2000").split(",")]
PER_NETWORK = int(os.environ.get("PER_NETWORK", "500"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
TRIALS = int(os.environ.get("TRIALS", "5"))
STALL = float(os.environ.get("STALL", "120"))
OUT = os.environ.get("OUT", os.path.join(ROOT, "target/bench-scale"))
PYTHON = os.environ.get("PYTHON", os.path.join(ROOT, "target/bench-venv/bin/python"))
INST = "bench-scale"


class Stalled(Exception):
    pass


def agent(name, network):
    return (f"apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: {name} }}\nspec:\n"
            "  image: berth-runtime:1\n  command: [sleep, \"86400\"]\n"
            "  resources: { memory: 32Mi }\n  stopGracePeriod: 0s\n"
            f"  network: {{ shared: p{network} }}\n")


def berth(*args, timeout):
    """Runs berth; while it runs, the engine must keep answering `docker version` (a wedged
    engine stops the run within STALL s instead of at the command's own timeout)."""
    what = f"`berth {' '.join(args[:2])}`"
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([BERTH, *args], stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                proc.wait(timeout=15)
                break
            except subprocess.TimeoutExpired:
                pass
            try:
                subprocess.run(["docker", "version"], capture_output=True, timeout=STALL)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise Stalled(f"the engine did not answer `docker version` within {STALL:.0f} s "
                              f"during {what}: it looks wedged")
            if time.monotonic() > deadline:
                proc.kill()
                raise Stalled(f"{what} did not finish within {timeout} s")
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return kb * 1024 / 1e6


def starts():
    """Follows `start` events of the instance: container name -> event time."""
    seen = {}
    proc = subprocess.Popen(
        ["docker", "events", "--filter", f"label=berth.instance={INST}", "--filter", "event=start",
         "--format", "{{.Actor.Attributes.name}} {{.TimeNano}}"], stdout=subprocess.PIPE, text=True)

    def read():
        for line in proc.stdout:
            name, t = line.split()
            seen[name] = int(t) / 1e9
    threading.Thread(target=read, daemon=True).start()
    return proc, seen


def one_size(n, work):
    point = {"n": n}
    d = os.path.join(work, f"m{n}")
    os.makedirs(d)
    for i in range(n):
        with open(os.path.join(d, f"a{i:04}.yaml"), "w") as f:
            f.write(agent(f"a{i:04}", i // PER_NETWORK))
    t = time.monotonic()
    out = berth("apply", "--instance", INST, "--state-dir", os.path.join(work, "state"),
                "--wait", "--timeout", f"{120 + n}s", d, timeout=300 + 2 * n)
    if out.returncode != 0:
        raise Stalled(f"apply of {n} failed: {out.stdout[-400:]} {out.stderr[-400:]}")
    point["cold_converge_s"] = round(time.monotonic() - t, 2)
    port = free_port()
    log = open(os.path.join(OUT, f"berth-{n}.log"), "w")
    daemon = subprocess.Popen(
        [BERTH, "run", "--instance", INST, "--state-dir", os.path.join(work, "state-run"),
         "--listen", f"127.0.0.1:{port}", "--resync", "2s", "--stats-interval", "0s", d],
        stdout=log, stderr=log, env={**os.environ, "BERTH_LOG": "berth=warn"})
    watcher, seen = starts()
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(3)
        point["rss_mb"] = round(rss_mb(daemon.pid), 1)
        cpu = []
        for _ in range(ROUNDS):
            before = metric(port, "berth_reconcile_cpu_seconds_sum")
            time.sleep(2)
            after = metric(port, "berth_reconcile_cpu_seconds_sum")
            # A 2 s resync: one round per 2 s window, give or take one.
            cpu.append((after - before) * 1000)
        point["resync_cpu_ms"] = sorted(cpu)[len(cpu) // 2]
        lat = []
        for i in range(TRIALS):
            name = f"z{i}"
            tmp = os.path.join(work, f".{name}.yaml")
            with open(tmp, "w") as f:
                f.write(agent(name, 0))
            wall = time.time()
            os.rename(tmp, os.path.join(d, f"{name}.yaml"))
            container = f"berth_{INST}_agent_{name}"
            deadline = time.monotonic() + STALL
            while container not in seen:
                if time.monotonic() > deadline:
                    raise Stalled(f"{container} did not start within {STALL:.0f} s")
                time.sleep(0.01)
            lat.append((seen[container] - wall) * 1000)
            os.remove(os.path.join(d, f"{name}.yaml"))
            time.sleep(1)
        point["file_running_ms_p50"] = round(sorted(lat)[len(lat) // 2], 1)
    finally:
        watcher.terminate()
        daemon.terminate()
        daemon.wait(timeout=60)
    # Four removals at a time: this engine's network code can deadlock under heavier
    # create/remove churn (it did here at 1000 with the default eight).
    out = berth("down", "--instance", INST, "--state-dir", os.path.join(work, "state"),
                "--concurrency", "4", timeout=300 + 2 * n)
    if out.returncode != 0:
        raise Stalled(f"down of {n} failed: {out.stderr[-400:]}")
    return point


def plot(points):
    if not os.access(PYTHON, os.X_OK) or not points:
        return
    script = f"""
import json, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
p = json.load(open({json.dumps(os.path.join(OUT, "results.json"))}))["points"]
n = [x["n"] for x in p]
fig, ax = plt.subplots(1, 4, figsize=(14, 3.2))
for a, key, label in zip(ax, ["cold_converge_s", "resync_cpu_ms", "rss_mb", "file_running_ms_p50"],
                         ["cold converge (s)", "quiet resync CPU (ms)", "RSS (MB)", "file -> running p50 (ms)"]):
    a.plot(n, [x.get(key) for x in p], marker="o")
    a.set_xscale("log"); a.set_title(label); a.set_xlabel("objects"); a.grid(True, alpha=.3)
fig.tight_layout(); fig.savefig({json.dumps(os.path.join(OUT, "scale.png"))}, dpi=110)
"""
    subprocess.run([PYTHON, "-c", script], check=False)


def main():
    if not 0 < PER_NETWORK <= 1000:
        sys.exit("bench/scale.py: PER_NETWORK must be 1 to 1000 (a bridge holds 1023)")
    os.makedirs(OUT, exist_ok=True)
    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "berth": BERTH,
               "per_network": PER_NETWORK,
               "load_before": os.getloadavg()[0], "points": []}
    work = tempfile.mkdtemp(prefix="bench-scale.")
    try:
        for n in SIZES:
            print(f"bench/scale.py: {n} objects", file=sys.stderr, flush=True)
            results["points"].append(one_size(n, work))
            # Written after every size: an outer timeout or a wedged engine keeps the rest.
            with open(os.path.join(OUT, "results.json"), "w") as f:
                json.dump(results, f, indent=2)
        results["outcome"] = "complete"
    except Stalled as e:
        results["outcome"] = f"stopped: {e}"
        print(f"error: {e}; keeping what was measured", file=sys.stderr)
    finally:
        with open(os.path.join(OUT, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
        print(json.dumps(results, indent=2), flush=True)
        plot(results["points"])
        try:
            berth("down", "--instance", INST, "--state-dir", os.path.join(work, "state"),
                  "--concurrency", "4", timeout=900)
        except Stalled as e:
            print(f"error: cleanup: {e}; the engine may need a restart", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
