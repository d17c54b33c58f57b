#!/usr/bin/env python3
"""Propagation delay between two instances on one PostgreSQL database.

A probe writes one entity on A (createEntity over a keep-alive HTTP
connection) and notes when the answer arrives and the version it carries
(`extensions.graphVersion`). A graphql-transport-ws subscription on B
(`subscription { graphChanged { graphVersion } }`) notes when each event
arrives; the probe's delay is the first event at that version or later
minus the answer's arrival, both on this process's monotonic clock. The
same subscription on A, as a control, shows what the subscription path
alone costs on the instance that wrote.

Phases alternate, ROUNDS times: "idle" (probes only, one at a time, PAUSE
seconds apart) and "load" (the same probes while a separate process writes
on A at RATE writes per second, paced, one connection).

  python3 benches/scaleout/propagation.py --a http://127.0.0.1:PA --b http://127.0.0.1:PB \
      --token T --document DOC --quote QUOTE [--probes 200 --pause 0.05 --rate 100 --rounds 2]

Every loop is bounded in count and time. Prints a line per phase and a
Markdown table.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

from websockets.sync.client import connect

# One keep-alive HTTP connection with the write token: benches/writes.py's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from writes import Client as HttpClient  # noqa: E402

CREATE = "mutation($i: EntityInput!) { createEntity(input: $i) { id } }"


class Client(HttpClient):
    def create(self, ident, document, quote):
        data = self.post(CREATE, {"i": {
            "id": ident, "kind": "ARMED_FORCE", "name": f"Probe {ident}",
            "sources": [{"document": document, "quote": quote}]}})
        return data["extensions"]["graphVersion"]


class Subscriber(threading.Thread):
    """Records (arrival time, graphVersion) of every graphChanged event."""

    def __init__(self, url):
        super().__init__(daemon=True)
        u = urllib.parse.urlparse(url)
        self.uri = f"ws://{u.hostname}:{u.port}/graphql"
        self.arrivals = []  # (time, version), in arrival order
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self.error = None

    def run(self):
        try:
            with connect(self.uri, subprotocols=["graphql-transport-ws"], max_size=None,
                         open_timeout=10) as ws:
                ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                while json.loads(ws.recv(timeout=10))["type"] != "connection_ack":
                    pass
                ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": "subscription { graphChanged { graphVersion } }"}}))
                self.ready.set()
                while True:
                    raw = ws.recv()
                    now = time.perf_counter()
                    msg = json.loads(raw)
                    kind = msg.get("type")
                    if kind == "ping":
                        ws.send(json.dumps({"type": "pong"}))
                    elif kind == "next":
                        payload = msg["payload"]
                        if payload.get("errors"):
                            raise RuntimeError(f"subscription error: {payload['errors']}")
                        v = payload["data"]["graphChanged"]["graphVersion"]
                        with self.cond:
                            self.arrivals.append((now, v))
                            self.cond.notify_all()
                    elif kind in ("error", "complete"):
                        raise RuntimeError(f"subscription ended: {msg}")
        except Exception as e:  # reported by wait_for
            self.error = repr(e)
            self.ready.set()
            with self.cond:
                self.cond.notify_all()

    def wait_for(self, version, timeout=10.0):
        """Arrival time of the first event at `version` or later."""
        deadline = time.perf_counter() + timeout
        with self.cond:
            while True:
                if self.error:
                    raise SystemExit(f"subscriber failed: {self.error}")
                # Arrivals are in version order; search from the end.
                found = None
                for t, v in reversed(self.arrivals):
                    if v >= version:
                        found = t
                    else:
                        break
                if found is not None:
                    return found
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.cond.wait(left)


def writer(args):
    """Background load: RATE paced writes per second for SECONDS, one connection."""
    c = Client(args.a, args.token)
    tag = f"bg-{os.getpid()}-{int(time.time())}"
    t0 = time.perf_counter()
    n = 0
    try:
        while True:
            due = t0 + n / args.rate
            now = time.perf_counter()
            if now - t0 >= args.seconds:
                break
            if due > now:
                time.sleep(due - now)
            n += 1
            c.create(f"{tag}-{n}", args.document, args.quote)
    except KeyboardInterrupt:
        pass
    print(f"{n / (time.perf_counter() - t0):.1f}", flush=True)


def pct(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def phase(args, name, sub_a, sub_b, client, tag):
    bg = None
    if name == "load":
        # Long enough to cover the probes; stopped (SIGINT) when they are done.
        est = args.probes * (args.pause + 0.02) + 5
        bg = subprocess.Popen([sys.executable, __file__, "--writer", "--a", args.a, "--token", args.token,
                               "--document", args.document, "--quote", args.quote,
                               "--rate", str(args.rate), "--seconds", str(est)],
                              stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)  # let the load settle
    on_b, on_a, missed = [], [], 0
    for n in range(args.probes):
        v = client.create(f"{tag}-{name}-{n}", args.document, args.quote)
        acked = time.perf_counter()
        tb = sub_b.wait_for(v)
        ta = sub_a.wait_for(v)
        if tb is None:
            missed += 1
        else:
            on_b.append((tb - acked) * 1000)
        if ta is not None:
            on_a.append((ta - acked) * 1000)
        time.sleep(args.pause)
    rate = ""
    if bg is not None:
        bg.send_signal(signal.SIGINT)
        out, _ = bg.communicate(timeout=30)
        rate = out.strip() or "n/a (stopped)"
    return on_b, on_a, missed, rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b")
    ap.add_argument("--token", required=True)
    ap.add_argument("--document", required=True)
    ap.add_argument("--quote", required=True)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--pause", type=float, default=0.05)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--writer", action="store_true")
    args = ap.parse_args()
    if args.writer:
        return writer(args)
    sub_a, sub_b = Subscriber(args.a), Subscriber(args.b)
    for s in (sub_a, sub_b):
        s.start()
        s.ready.wait(15)
        if s.error:
            raise SystemExit(f"subscriber failed: {s.error}")
    client = Client(args.a, args.token)
    tag = f"probe-{os.getpid()}-{int(time.time())}"
    for n in range(10):  # warm-up, unreported
        sub_b.wait_for(client.create(f"{tag}-warm-{n}", args.document, args.quote))
    rows = []
    for r in range(1, args.rounds + 1):
        for name in ("idle", "load"):
            on_b, on_a, missed, rate = phase(args, name, sub_a, sub_b, client, f"{tag}-{r}")
            row = dict(round=r, phase=name, n=len(on_b), missed=missed, rate=rate,
                       p50=statistics.median(on_b), p99=pct(on_b, 99), max=max(on_b), min=min(on_b),
                       a50=statistics.median(on_a), a99=pct(on_a, 99))
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| phase | round | probes | on B: p50 / p99 / max ms | control, on A: p50 / p99 ms | background writes/s |")
    print("| --- | ---: | ---: | --- | --- | --- |")
    for x in rows:
        print(f"| {x['phase']} | {x['round']} | {x['n']}{' (' + str(x['missed']) + ' missed)' if x['missed'] else ''} | "
              f"{x['p50']:.2f} / {x['p99']:.2f} / {x['max']:.2f} | {x['a50']:.2f} / {x['a99']:.2f} | {x['rate'] or '-'} |")


if __name__ == "__main__":
    main()
