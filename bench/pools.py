#!/usr/bin/env python3
"""bench/pools.py: a Session from a warm pool against a cold one, in one `berth run`.

Two templates in one daemon (a release build unless BERTH says otherwise), on the real
engine: `warm` with `pool: { size: POOL }` and `cold` without, otherwise the same container.
TRIALS of each, interleaved, each trial starting with the pool full and ready:

  1. file -> running: a Session file written atomically into the sessions directory, then
     /status polled every 5 ms until the Session is Running; for the warm one also the
     engine's own `rename` event (the moment the container became the Session's).
  2. API create -> ready: `POST /v1/sessions?wait=ready`, to the answer.

A stalled engine is detected as in bench/api.py and stops the run with what it measured.

Usage: python3 bench/pools.py            (POOL=4 TRIALS=20)
Env: BERTH, POOL, TRIALS, STALL (120 s), INSTANCE (bench-pools), OUT (target/bench-pools).
Writes OUT/results.json and OUT/berth.log; removes everything it created, pass or fail.
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api as base  # noqa: E402  (the helpers of bench/api.py)

ROOT = base.ROOT
BERTH = base.BERTH
POOL = int(os.environ.get("POOL", "4"))
TRIALS = int(os.environ.get("TRIALS", "20"))
INST = os.environ.get("INSTANCE", "bench-pools")
OUT = os.environ.get("OUT", os.path.join(ROOT, "target/bench-pools"))
base.INST = INST

CONTAINER = """  image: berth-runtime:1
  command: [sleep, "86400"]
  resources: { memory: 32Mi }
  stopGracePeriod: 0s
"""
TEMPLATES = (f"apiVersion: berth/v1\nkind: Template\nmetadata: {{ name: warm }}\nspec:\n"
             f"  pool: {{ size: {POOL} }}\n{CONTAINER}---\n"
             f"apiVersion: berth/v1\nkind: Template\nmetadata: {{ name: cold }}\nspec:\n{CONTAINER}")


def objects(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/status")
    doc = json.loads(c.getresponse().read())
    c.close()
    return doc["objects"]


def pool_ready(port):
    return sum(1 for o in objects(port) if o["kind"] == "pool" and o["phase"] == "Running") == POOL


class Renames:
    """Follows the engine's `rename` events of the instance: new name -> event time."""

    def __init__(self):
        self.at = {}
        self.proc = subprocess.Popen(
            ["docker", "events", "--filter", f"label=berth.instance={INST}", "--filter",
             "event=rename", "--format", "{{.Actor.Attributes.name}} {{.TimeNano}}"],
            stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.proc.stdout:
            name, t = line.split()
            self.at[name] = int(t) / 1e9

    def stop(self):
        self.proc.terminate()


def file_trial(listen, sessions, name, template, renames):
    tmp = os.path.join(sessions, f".{name}.tmp")
    with open(tmp, "w") as f:
        f.write(f"apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {name} }}\n"
                f"spec: {{ template: {template}, ttl: 1h }}\n")
    wall, t = time.time(), time.monotonic()
    os.rename(tmp, os.path.join(sessions, f"{name}.yaml"))
    seen = None
    deadline = t + 60
    while time.monotonic() < deadline:
        if base.status(listen).get(name) == "Running":
            seen = (time.monotonic() - t) * 1000
            break
        time.sleep(0.005)
    renamed = None
    if template == "warm":
        container = f"berth_{INST}_session_{name}"
        for _ in range(100):
            if container in renames.at:
                renamed = (renames.at[container] - wall) * 1000
                break
            time.sleep(0.01)
    os.remove(os.path.join(sessions, f"{name}.yaml"))
    base.wait_until("the file's session is removed", lambda: name not in base.status(listen),
                    lambda: sorted(base.status(listen).items()))
    return seen, renamed


def api_trial(api, name, template):
    t = time.monotonic()
    code, body = base.request(api, "POST", "/v1/sessions?wait=ready&timeout=60s",
                              {"template": template, "name": name, "ttl": "1h"})
    took = (time.monotonic() - t) * 1000 if code == 201 and body.get("ready") else None
    base.request(api, "DELETE", f"/v1/sessions/{name}?wait=gone&timeout=60s")
    return took


def measure(results, api, listen, sessions):
    renames = Renames()
    got = {k: [] for k in ("file_warm", "file_warm_rename", "file_cold", "api_warm", "api_cold")}
    try:
        for i in range(TRIALS):
            for template in ("warm", "cold"):
                base.wait_until("the pool is full and ready", lambda: pool_ready(listen),
                                lambda: [o["phase"] for o in objects(listen)])
                seen, renamed = file_trial(listen, sessions, f"f{template[0]}{i}", template,
                                           renames)
                if seen is not None:
                    got[f"file_{template}"].append(seen)
                if renamed is not None:
                    got["file_warm_rename"].append(renamed)
                base.wait_until("the pool is full and ready", lambda: pool_ready(listen),
                                lambda: [o["phase"] for o in objects(listen)])
                took = api_trial(api, f"a{template[0]}{i}", template)
                if took is not None:
                    got[f"api_{template}"].append(took)
    finally:
        renames.stop()
        for k, v in got.items():
            results[k] = base.summary(v)


def main():
    results = {"settings": {"pool": POOL, "trials": TRIALS, "berth": BERTH},
               "load_before": os.getloadavg()[0],
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    work = tempfile.mkdtemp(prefix="bench-pools.")
    manifests, sessions, state = (os.path.join(work, d) for d in ("m", "s", "state"))
    for d in (manifests, sessions, state):
        os.makedirs(d)
    with open(os.path.join(manifests, "t.yaml"), "w") as f:
        f.write(TEMPLATES)
    tokens = os.path.join(work, "tokens")
    with open(tokens, "w") as f:
        f.write(f"bench write {base.TOKEN}\n")
    os.chmod(tokens, 0o600)
    os.makedirs(OUT, exist_ok=True)
    listen, api = base.free_port(), base.free_port()
    args = ["--instance", INST, "--state-dir", state, "--listen", f"127.0.0.1:{listen}",
            "--api", f"127.0.0.1:{api}", "--api-tokens", tokens, "--sessions", sessions,
            "--stats-interval", "0s", manifests]
    base.run_daemon(results, OUT, args, state, work, listen,
                    lambda: measure(results, api, listen, sessions))


if __name__ == "__main__":
    main()
