#!/usr/bin/env python3
"""Write benchmark against a running partnergraph server (127.0.0.1 only).

Measures, in one run:
  - createEntity latency from one client, one write after another;
  - write throughput of 1 client against 8 concurrent clients, alternating;
  - read latency (Q1, Q2, Q4 from wrk) alone and while 100 writes/s go on,
    alternating;
  - the server's resident memory at each step.

  python3 benches/writes.py --url http://127.0.0.1:8080 --token T --pid PID \
      --q1 ID --q2 ID --q4 PREFIX --document DOC --quote "QUOTE" [--writer python]

The writes that go on while reads are measured come from wrk (one
connection, paced); `--writer python` sends them from this script instead.

Every loop is bounded in count and time. Prints a Markdown table.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse

import wrkout

CREATE = "mutation($input: EntityInput!) { createEntity(input: $input) { id } }"


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        self.headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}

    def post(self, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}})
        self.conn.request("POST", "/graphql", body, self.headers)
        resp = self.conn.getresponse()
        data = json.loads(resp.read())
        if resp.status != 200 or data.get("errors"):
            raise SystemExit(f"write failed: {resp.status} {data}")
        return data


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


class Writes:
    """Entity inputs with ids no run has used."""

    def __init__(self, args):
        self.args = args
        self.n = 0
        self.lock = threading.Lock()
        self.tag = f"{os.getpid()}-{int(time.time())}"

    def next(self):
        with self.lock:
            self.n += 1
            n = self.n
        return {"input": {"id": f"bench-{self.tag}-{n}", "kind": "ARMED_FORCE", "name": f"Bench Force {n}",
                          "sources": [{"document": self.args.document, "quote": self.args.quote}]}}


def sequential(args, writes, count):
    c = Client(args.url, args.token)
    lat = []
    for _ in range(count):
        t = time.perf_counter()
        c.post(CREATE, writes.next())
        lat.append((time.perf_counter() - t) * 1000)
    return lat


def create_lua(args, writes, clients, seconds, **env):
    """wrk running benches/create.lua from `clients` connections, with ids
    of a run no other has used; `env` adds settings (DELAY_MS)."""
    with writes.lock:
        writes.n += 1
        run = f"{writes.tag}-w{writes.n}"
    env = {**os.environ, "TOKEN": args.token, "DOCUMENT": args.document, "QUOTE": args.quote, "RUN": run, **env}
    command = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds}s", "-s", "benches/create.lua",
               f"{args.url}/graphql"]
    return command, env


def throughput(args, writes, clients, seconds):
    """Writes per second from `clients` connections, driven by wrk (a
    Python client would measure its own interpreter)."""
    command, env = create_lua(args, writes, clients, seconds)
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    if out.stderr.strip():
        raise SystemExit(out.stderr[:2000])
    rps = wrkout.summary(out.stdout)["rps"]
    with writes.lock:
        writes.n += round(rps * seconds)
    return rps


def paced_writer(args, writes, rate, stop_event, count):
    c = Client(args.url, args.token)
    period = 1.0 / rate
    nxt = time.perf_counter()
    while not stop_event.is_set():
        c.post(CREATE, writes.next())
        count[0] += 1
        nxt += period
        time.sleep(max(0.0, nxt - time.perf_counter()))


def paced_wrk(args, writes, delay_ms, seconds):
    """A writer in wrk, one connection pausing `delay_ms` before each
    write: on two cores a Python writer's own interpreter takes the CPU the
    reads are measured on."""
    command, env = create_lua(args, writes, 1, seconds, DELAY_MS=f"{delay_ms:.2f}")
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wrk(args, body_file, seconds):
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", "benches/post.lua", f"{args.url}/graphql"],
        env={**os.environ, "BODY_FILE": body_file}, capture_output=True, text=True, check=True).stdout

    s = wrkout.summary(out)
    if s["errors"]:
        raise SystemExit(out)
    return s["p50"], s["p99"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--q1", required=True)
    p.add_argument("--q2", required=True)
    p.add_argument("--q4", required=True)
    p.add_argument("--document", required=True)
    p.add_argument("--quote", required=True)
    p.add_argument("--sequential", type=int, default=200)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--writer", choices=["wrk", "python"], default="wrk",
                   help="what writes 100 times a second while reads are measured")
    args = p.parse_args()
    writes = Writes(args)
    print(f"| step | figure | resident MB |")
    print(f"| --- | --- | ---: |")
    print(f"| before | | {rss_mb(args.pid)} |")

    sequential(args, writes, 10)  # warm-up
    lat = sorted(sequential(args, writes, args.sequential))
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"| createEntity, 1 client, {args.sequential} in a row | p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {lat[-1]:.2f} ms | {rss_mb(args.pid)} |")

    one, eight = [], []
    for _ in range(args.rounds):
        one.append(throughput(args, writes, 1, args.seconds))
        eight.append(throughput(args, writes, 8, args.seconds))
    print(f"| writes/s, 1 client | {' / '.join(f'{x:.0f}' for x in one)} | {rss_mb(args.pid)} |")
    print(f"| writes/s, 8 clients | {' / '.join(f'{x:.0f}' for x in eight)} (x{statistics.median(eight) / statistics.median(one):.1f}) | {rss_mb(args.pid)} |")

    tmp = tempfile.mkdtemp()
    bodies = {
        "Q1": "{ entity(id: \"%s\") { id name relations(first: 100) { edges { node { kind from { name } to { name } } } } } }" % args.q1,
        "Q2": "{ neighborhood(id: \"%s\", depth: 2) { entities { id } relations { id } } }" % args.q2,
        "Q4": "{ entities(search: \"%s\", first: 10) { totalCount edges { node { id name } } } }" % args.q4,
    }
    for name, q in bodies.items():
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            json.dump({"query": q}, f)
        alone, loaded = [], []
        rates = []
        for _ in range(args.rounds):
            alone.append(wrk(args, path, args.seconds))
            if args.writer == "wrk":
                # Paced to 100 writes/s: the pause is the period less a write's own time.
                w = paced_wrk(args, writes, max(0.0, 10.0 - p50), args.seconds + 1)
                time.sleep(0.5)
                loaded.append(wrk(args, path, args.seconds))
                out, err = w.communicate()
                if err.strip():
                    raise SystemExit(err[:2000])
                rate = wrkout.summary(out)["rps"]
                rates.append(rate)
                with writes.lock:
                    writes.n += round(rate * (args.seconds + 1))
                continue
            stop, count = threading.Event(), [0]
            w = threading.Thread(target=paced_writer, args=(args, writes, 100, stop, count))
            t = time.perf_counter()
            w.start()
            loaded.append(wrk(args, path, args.seconds))
            stop.set()
            w.join()
            rates.append(count[0] / (time.perf_counter() - t))
        a99 = statistics.median(x[1] for x in alone)
        l99 = statistics.median(x[1] for x in loaded)
        print(f"| {name} p99 alone / with {statistics.median(rates):.0f} writes/s | {' / '.join(f'{x[1]:.2f}' for x in alone)} ms vs {' / '.join(f'{x[1]:.2f}' for x in loaded)} ms (x{l99 / a99:.2f}) | {rss_mb(args.pid)} |")
    print(f"| after | about {writes.n} writes | {rss_mb(args.pid)} |")


if __name__ == "__main__":
    main()
