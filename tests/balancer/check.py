#!/usr/bin/env python3
"""The scale profile's balancer, run for real without a container engine.

`deploy/haproxy.cfg` is what `docker compose --profile scale` puts in front
of its two instances. Here HAProxy runs that file with only its addresses
changed (the compose names `instance-a:8080` and `instance-b:8080`, and the
public bind `:8080`, become loopback ports), in front of two real
partnergraph processes sharing one PostgreSQL database of their own:

  - both instances take traffic once their /readyz answers 200;
  - a write through the balancer is read back through it with
    `extensions.minGraphVersion`, whichever instance answers;
  - subscriptions opened through it (WebSocket upgrades, spread over the
    instances by round robin) see the writes made through it, in order;
  - an instance that loses its database (its connections go through a
    relay here, which is cut) answers 503 on /readyz, fails the health
    check the profile's containers run, and is taken out, though it could
    still answer reads; taken back once the relay mends;
  - an instance killed with SIGKILL is taken out by the health check, and
    every request after that is answered by the other;
  - restarted, it is taken back and answers again, caught up.

Usage: check.py BINARY   (PostgreSQL on 127.0.0.1:5432, trust auth; haproxy
on the PATH; the `websockets` package). Every wait is bounded; everything
started is stopped. `run.sh` beside it provides all three and runs it.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from websockets.sync.client import connect as websocket

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "balancer-check"
PG = "postgres://postgres@127.0.0.1:5432"


def fail(message):
    raise SystemExit(f"balancer check failed: {message}")


def psql(sql):
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


def request(port, method, path, body=None, headers=None):
    """The status and body of one request to `port`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def gql(port, query, variables=None, extensions=None, token=None):
    body = {"query": query, "variables": variables or {}}
    if extensions:
        body["extensions"] = extensions
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    status, data = request(port, "POST", "/graphql", json.dumps(body), headers)
    return status, json.loads(data) if data.startswith(b"{") else data


def graphql_requests(port):
    """The instance's count of GraphQL requests, from its /metrics."""
    _, text = request(port, "GET", "/metrics")
    total = 0.0
    for line in text.decode().splitlines():
        if line.startswith("partnergraph_graphql_requests_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Instance:
    """A partnergraph process on a loopback port of its own choosing."""

    def __init__(self, binary, url, work, name):
        self.binary, self.url, self.name = binary, url, name
        self.log = os.path.join(work, f"{name}.log")
        self.proc = None
        self.port = None
        self.start()

    def start(self, port=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
        env.update({
            "PARTNERGRAPH_DATABASE_URL": self.url,
            "PARTNERGRAPH_WRITE_TOKEN": TOKEN,
            "PARTNERGRAPH_LOG": "warn",
            "PARTNERGRAPH_SHUTDOWN_TIMEOUT": "2",
            "PARTNERGRAPH_CONSISTENCY_WAIT_MS": "3000",
            # Every client comes through the balancer, as in the profile.
            "PARTNERGRAPH_MAX_CONNECTIONS_PER_ADDRESS": "0",
        })
        listen = f"127.0.0.1:{port or 0}"
        out = open(self.log, "a")
        self.proc = subprocess.Popen([self.binary, "serve", "--listen", listen], env=env,
                                     stdout=subprocess.PIPE, stderr=out, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                fail(f"instance {self.name} exited at start-up; see {self.log}")
            m = re.match(r"partnergraph listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return
        fail(f"instance {self.name} did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Relay:
    """TCP from a loopback port to PostgreSQL's, which can be cut (every
    connection closed, new ones closed at once) and mended."""

    def __init__(self, target):
        self.target = target
        self.open = True
        self.lock = threading.Lock()
        self.sockets = []
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                if not self.open:
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(None)
                self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.open = False
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.sockets = []

    def mend(self):
        with self.lock:
            self.open = True

    def close(self):
        self.cut()
        self.server.close()


def readyz(port):
    try:
        return request(port, "GET", "/readyz")[0]
    except OSError:
        return None


def subscribe(port):
    """A graphql-transport-ws subscription to every change, through `port`."""
    ws = websocket(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                   open_timeout=10)
    ws.send(json.dumps({"type": "connection_init"}))
    ack = json.loads(ws.recv(timeout=10))
    if ack.get("type") != "connection_ack":
        fail(f"no connection_ack through the balancer: {ack}")
    ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { graphChanged { kind id graphVersion } }"}}))
    return ws


def events(ws, n):
    """The next `n` events a subscription delivers (skipping pings)."""
    out = []
    while len(out) < n:
        message = json.loads(ws.recv(timeout=15))
        if message.get("type") == "next":
            out.append(message["payload"]["data"]["graphChanged"])
        elif message.get("type") not in ("ping", "pong"):
            fail(f"a subscription through the balancer got {message}")
    return out


def create(port, ident):
    status, body = gql(port, "mutation($i: EntityInput!) { createEntity(input: $i) { id } }",
                       {"i": {"id": ident, "kind": "ARMED_FORCE", "name": ident.replace("-", " ").title(),
                              "sources": [{"document": "k24-peshmerga-us-iraq-talks",
                                           "quote": "Of the total $358 million designated under the Counter-ISIS Train and Equip Fund (CTEF)"}]}},
                       token=TOKEN)
    if status != 200 or "errors" in body:
        fail(f"a write through the balancer answered {status}: {body}")
    return body["extensions"]["graphVersion"]


def health(binary, port):
    """The exit status of the health check the profile's containers run."""
    return subprocess.run([binary, "healthcheck", "--listen", f"127.0.0.1:{port}", "--path", "/readyz"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode


def balancer_config(a, b, port):
    """deploy/haproxy.cfg with loopback addresses for the compose names."""
    with open(os.path.join(ROOT, "deploy", "haproxy.cfg")) as f:
        text = f.read()
    for old, new in [("bind :8080", f"bind 127.0.0.1:{port}"),
                     ("instance-a:8080", f"127.0.0.1:{a}"),
                     ("instance-b:8080", f"127.0.0.1:{b}")]:
        if old not in text:
            fail(f"deploy/haproxy.cfg no longer says `{old}`; update this check")
        text = text.replace(old, new)
    return text


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what, check, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    fail(f"timed out waiting for {what}")


def spread(port, a, b, n=20):
    """Sends `n` reads through the balancer; how many each instance took,
    or None if a read was not answered (an instance still being taken out
    or back)."""
    try:
        before = (graphql_requests(a.port), graphql_requests(b.port))
        for _ in range(n):
            status, body = gql(port, "{ entities(first: 1) { totalCount } }")
            if status != 200 or "errors" in body:
                return None
        return (graphql_requests(a.port) - before[0], graphql_requests(b.port) - before[1])
    except OSError:
        return None


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    subprocess.run(["haproxy", "-c", "-q", "-f", os.path.join(ROOT, "deploy", "haproxy.cfg")], check=True)
    db = f"partnergraph_balancer_{os.getpid()}"
    psql(f"CREATE DATABASE {db}")
    work = tempfile.mkdtemp(prefix="balancer-")
    started = []
    proxy = None
    relay = Relay(5432)
    try:
        a = Instance(binary, f"{PG}/{db}", work, "a")
        started.append(a)
        # B reaches the database through the relay, so that it alone can
        # lose it.
        b = Instance(binary, f"postgres://postgres@127.0.0.1:{relay.port}/{db}", work, "b")
        started.append(b)
        port = free_port()
        cfg = os.path.join(work, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(balancer_config(a.port, b.port, port))
        proxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(work, "haproxy.log"), "w"))

        def both_take_traffic():
            took = spread(port, a, b)
            return took is not None and took[0] > 0 and took[1] > 0
        until("both instances to take traffic through the balancer", both_take_traffic)
        print("both instances take traffic")

        # A write through the balancer, read back through it on the version
        # it made, whichever instance answers.
        version = create(port, "balancer-force")
        for _ in range(10):
            status, body = gql(port, '{ entity(id: "balancer-force") { name } }',
                               extensions={"minGraphVersion": version})
            if status != 200 or body.get("data", {}).get("entity", {}) is None \
                    or body["data"]["entity"]["name"] != "Balancer Force":
                fail(f"the write was not read back through the balancer: {status} {body}")
        print(f"a write at version {version} reads back through the balancer")

        # Subscriptions through the balancer, one after the other, so that
        # round robin puts them on different instances.
        subscriptions = [subscribe(port), subscribe(port)]
        versions = [create(port, "balancer-event-one"), create(port, "balancer-event-two")]
        for ws in subscriptions:
            got = events(ws, 2)
            if [(e["id"], e["graphVersion"]) for e in got] != \
                    list(zip(["balancer-event-one", "balancer-event-two"], versions)):
                fail(f"a subscription through the balancer saw {got}, not the writes at {versions}")
            ws.close()
        print("subscriptions through the balancer see its writes, in order")

        # B loses its database: it could still answer reads from its last
        # version, but /readyz says 503 and the balancer sends it nothing.
        relay.cut()
        until("B's /readyz to answer 503 without its database", lambda: readyz(b.port) == 503)

        until("the balancer to take B out while its database is away",
              lambda: spread(port, a, b) == (20, 0))
        status, body = gql(b.port, '{ entity(id: "balancer-force") { name } }')
        if status != 200 or body["data"]["entity"] is None:
            fail(f"B, asked directly without its database, answered {status}: {body}")
        if health(binary, b.port) == 0:
            fail("the containers' health check passed on B without its database")
        print("without its database B answers 503 on /readyz and takes no traffic, though it reads")
        relay.mend()
        until("B's /readyz to answer 200 with its database back", lambda: readyz(b.port) == 200)
        until("both instances to take traffic again", both_take_traffic)
        if health(binary, b.port) != 0:
            fail("the containers' health check failed on B with its database back")
        print("with its database back, B takes traffic again")

        # A killed; the health check takes it out and B answers everything.
        a_port = a.port
        a.kill()

        def only_b_answers():
            for _ in range(10):
                try:
                    status, _ = gql(port, "{ entities(first: 1) { totalCount } }")
                except OSError:
                    return False
                if status != 200:
                    return False
            return True
        until("the balancer to take the killed instance out", only_b_answers)
        for _ in range(40):
            status, body = gql(port, '{ entity(id: "balancer-force") { name } }')
            if status != 200 or body["data"]["entity"] is None:
                fail(f"with A down, a read through the balancer answered {status}: {body}")
        print("with A killed, every read through the balancer is answered by B")

        # A back on its port: taken back, caught up.
        a.start(a_port)
        until("the restarted instance to take traffic again", both_take_traffic)
        status, body = gql(a.port, '{ entity(id: "balancer-force") { name } }')
        if status != 200 or body["data"]["entity"] is None:
            fail(f"the restarted instance lacks the write: {status} {body}")
        print("restarted, A takes traffic again and has the write")
    finally:
        if proxy:
            proxy.terminate()
            proxy.wait(timeout=10)
        for inst in started:
            inst.stop()
        relay.close()
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
    print("balancer check passed")


if __name__ == "__main__":
    main()
