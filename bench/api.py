#!/usr/bin/env python3
"""bench/api.py: what the session API costs, next to writing the file directly.

In one `berth run --api` (a release build unless BERTH says otherwise), on the real engine:

  1. latency, TRIALS each, interleaved: API create -> ready (`POST /v1/sessions?wait=ready`,
     to the answer) and file -> running (write a Session file atomically into the sessions
     directory, then poll /status every 5 ms until the phase is Running), and the API's own
     overhead: `POST /v1/sessions` without a wait (validate, check quotas, write the file).
  2. throughput: N creates from CLIENTS concurrent clients (no wait), then the time until
     every session runs, then N deletes and the time until every container is gone; files,
     containers and volumes counted after each half (lost or duplicated: none expected);
     `GET /v1/sessions` latency sampled while the loop converges.

A stalled engine (this Docker 20.10 can deadlock under create/remove churn; docs/benchmarks.md)
is detected when nothing moves for STALL seconds or `docker ps` does not answer: the run
stops with a clear message and writes what it measured.

Usage: python3 bench/api.py            (N=1000 CLIENTS=20 TRIALS=20)
Env: BERTH, N, CLIENTS, TRIALS, STALL (120 s), INSTANCE (bench-api), OUT (target/bench-api).
Writes OUT/results.json and OUT/berth.log; removes everything it created, pass or fail.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTH = os.environ.get("BERTH", os.path.join(ROOT, "target/release/berth"))
N = int(os.environ.get("N", "1000"))
CLIENTS = int(os.environ.get("CLIENTS", "20"))
TRIALS = int(os.environ.get("TRIALS", "20"))
STALL = float(os.environ.get("STALL", "120"))
INST = os.environ.get("INSTANCE", "bench-api")
OUT = os.environ.get("OUT", os.path.join(ROOT, "target/bench-api"))
TOKEN = "bench-" + "0123456789abcdef" * 2

TEMPLATE = """apiVersion: berth/v1
kind: Template
metadata: { name: box }
spec:
  image: berth-runtime:1
  command: [sleep, "86400"]
  stopGracePeriod: 0s
  volumes: [ { name: work, mountPath: /work, cleanup: { policy: Delete } } ]
"""


class Stalled(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, timeout=400):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": "Bearer " + TOKEN}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read()
    c.close()
    return r.status, (json.loads(text) if text else None)


def status(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/status")
    doc = json.loads(c.getresponse().read())
    c.close()
    return {o["name"]: o["phase"] for o in doc["objects"] if o["kind"] == "session"}


def docker(*args, timeout=30):
    try:
        out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Stalled(f"`docker {' '.join(args)}` did not answer within {timeout} s")
    return out.stdout.split()


def count_containers():
    return len(docker("ps", "-aq", "--filter", f"label=berth.instance={INST}"))


def count_volumes():
    return len(docker("volume", "ls", "-q", "--filter", f"label=berth.instance={INST}"))


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(values):
    return {
        "n": len(values),
        "p50_ms": round(pct(values, 50), 1) if values else None,
        "p95_ms": round(pct(values, 95), 1) if values else None,
        "min_ms": round(min(values), 1) if values else None,
        "max_ms": round(max(values), 1) if values else None,
    }


def wait_until(what, probe, progress):
    """Polls `probe` until it is true; Stalled when `progress()` stays the same for STALL s."""
    last, since = progress(), time.monotonic()
    while not probe():
        time.sleep(0.5)
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > STALL:
            raise Stalled(f"{what}: nothing moved for {STALL:.0f} s (at {now})")


def main():
    results = {"settings": {"n": N, "clients": CLIENTS, "trials": TRIALS, "berth": BERTH},
               "load_before": os.getloadavg()[0],
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    work = tempfile.mkdtemp(prefix="bench-api.")
    manifests, sessions, state = (os.path.join(work, d) for d in ("m", "s", "state"))
    for d in (manifests, sessions, state):
        os.makedirs(d)
    with open(os.path.join(manifests, "t.yaml"), "w") as f:
        f.write(TEMPLATE)
    tokens = os.path.join(work, "tokens")
    with open(tokens, "w") as f:
        f.write(f"bench write {TOKEN}\n")
    os.chmod(tokens, 0o600)
    os.makedirs(OUT, exist_ok=True)
    listen, api = free_port(), free_port()
    args = ["--instance", INST, "--state-dir", state, "--listen", f"127.0.0.1:{listen}",
            "--api", f"127.0.0.1:{api}", "--api-tokens", tokens, "--sessions", sessions,
            "--allow-empty", manifests]

    def measure():
        latency(results, api, listen, sessions)
        throughput(results, api, listen, sessions)
    run_daemon(results, OUT, args, state, work, listen, measure)


def run_daemon(results, out, args, state, work, listen, measure):
    """Starts `berth run ARGS`, waits for its /readyz on `listen` and runs `measure()`; then,
    whatever happened, writes `results` first (the cleanup can hang on a wedged engine),
    stops the daemon and removes everything of the instance."""
    log = open(os.path.join(out, "berth.log"), "w")
    daemon = subprocess.Popen([BERTH, "run", *args], stdout=log, stderr=log,
                              env={**os.environ, "BERTH_LOG": "berth=warn"})
    try:
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", listen, timeout=5)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        measure()
        results["outcome"] = "complete"
        results["load_after"] = os.getloadavg()[0]
    except Stalled as e:
        results["outcome"] = f"stopped: the engine looks wedged: {e}"
        print(f"error: the engine looks wedged: {e}; keeping what was measured", file=sys.stderr)
    finally:
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
        print(json.dumps(results, indent=2), flush=True)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
        try:
            subprocess.run([BERTH, "down", "--instance", INST, "--state-dir", state, "--volumes"],
                           capture_output=True, timeout=600)
        except subprocess.TimeoutExpired:
            print(f"error: `berth down --instance {INST}` did not finish within 600 s; the engine "
                  "may need a restart (see docs/benchmarks.md)", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


def latency(results, api, listen, sessions):
    via_api, via_file, overhead = [], [], []
    for i in range(TRIALS):
        name = f"a{i}"
        t = time.monotonic()
        code, body = request(api, "POST", "/v1/sessions?wait=ready&timeout=60s",
                             {"template": "box", "name": name, "ttl": "1h"})
        if code == 201 and body["ready"]:
            via_api.append((time.monotonic() - t) * 1000)
        request(api, "DELETE", f"/v1/sessions/{name}?wait=gone&timeout=60s")

        name = f"f{i}"
        tmp = os.path.join(sessions, f".{name}.tmp")
        with open(tmp, "w") as f:
            f.write(f"apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {name} }}\n"
                    "spec: { template: box, ttl: 1h }\n")
        t = time.monotonic()
        os.rename(tmp, os.path.join(sessions, f"{name}.yaml"))
        deadline = t + 60
        while time.monotonic() < deadline:
            if status(listen).get(name) == "Running":
                via_file.append((time.monotonic() - t) * 1000)
                break
            time.sleep(0.005)
        os.remove(os.path.join(sessions, f"{name}.yaml"))
        wait_until("the file's session is removed", lambda: name not in status(listen),
                   lambda: sorted(status(listen).items()))

        name = f"o{i}"
        t = time.monotonic()
        code, _ = request(api, "POST", "/v1/sessions", {"template": "box", "name": name, "ttl": "1h"})
        if code == 201:
            overhead.append((time.monotonic() - t) * 1000)
        request(api, "DELETE", f"/v1/sessions/{name}?wait=gone&timeout=60s")
    results["create_ready_api"] = summary(via_api)
    results["file_running"] = summary(via_file)
    results["api_create_no_wait"] = summary(overhead)


def parallel(names, one):
    """Runs `one(name)` over `names` from CLIENTS threads; the statuses, in any order."""
    codes, lock, queue = [], threading.Lock(), list(names)

    def client():
        while True:
            with lock:
                if not queue:
                    return
                n = queue.pop()
            code = one(n)
            with lock:
                codes.append(code)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return codes, time.monotonic() - t


def throughput(results, api, listen, sessions):
    names = [f"t{i}" for i in range(N)]
    out = results.setdefault("throughput", {})
    codes, took = parallel(names, lambda n: request(
        api, "POST", "/v1/sessions", {"template": "box", "name": n, "ttl": "1h"})[0])
    out["create_requests_s"] = round(took, 2)
    out["create_per_s"] = round(N / took, 1)
    out["create_statuses"] = {str(c): codes.count(c) for c in set(codes)}
    out["files_after_create"] = len([f for f in os.listdir(sessions) if f.endswith(".yaml")])

    listed, stop = [], threading.Event()

    def sampler():
        while not stop.is_set():
            t = time.monotonic()
            request(api, "GET", "/v1/sessions")
            listed.append((time.monotonic() - t) * 1000)
            stop.wait(0.5)

    th = threading.Thread(target=sampler)
    th.start()
    t = time.monotonic()
    try:
        running = lambda: sum(1 for p in status(listen).values() if p == "Running")
        wait_until("every session runs", lambda: running() >= N, running)
        out["converge_s"] = round(time.monotonic() - t, 1)
    finally:
        stop.set()
        th.join()
        out["list_while_converging"] = summary(listed)
    out["containers_after_create"] = count_containers()
    out["volumes_after_create"] = count_volumes()

    codes, took = parallel(names, lambda n: request(api, "DELETE", f"/v1/sessions/{n}")[0])
    out["delete_requests_s"] = round(took, 2)
    out["delete_per_s"] = round(N / took, 1)
    out["delete_statuses"] = {str(c): codes.count(c) for c in set(codes)}
    t = time.monotonic()
    wait_until("every container is removed", lambda: count_containers() == 0, count_containers)
    out["remove_s"] = round(time.monotonic() - t, 1)
    wait_until("every volume is removed", lambda: count_volumes() == 0, count_volumes)
    out["files_after_delete"] = len([f for f in os.listdir(sessions) if f.endswith(".yaml")])
    out["containers_after_delete"] = count_containers()
    out["volumes_after_delete"] = count_volumes()


if __name__ == "__main__":
    main()
