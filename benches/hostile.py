#!/usr/bin/env python3
"""Hostile-client cases against a partnergraph binary, one fresh server each.

    python3 benches/hostile.py --bin PATH [--label NAME] [--rows 1,2,...]
    python3 benches/hostile.py --bin A --label before --bin B --label after --repeat 2
    python3 benches/hostile.py --throughput --bin A --label before --bin B --label after

Each row starts its own server (`serve --listen 127.0.0.1:0` on a new,
empty data directory, otherwise default settings), runs one case against
it, and records how long the answer took (or when the client gave up), the
server's peak resident memory during the case (VmHWM) and its resident
memory at the end (VmRSS), the answer's size, HTTP status and error codes,
and whether the server still answers a plain query afterwards. With several
--bin the binaries take turns row by row, --repeat times. Prints Markdown.

--throughput instead drives the four load queries of benches/load.sh (Q1-Q4
on the built-in article, default settings, then Q1 with the response cache
off) with wrk, the binaries taking turns round by round.

Servers listen on 127.0.0.1 only. Every case is bounded in requests and in
time (--case-timeout, 90 s), and a server whose resident memory passes
--rss-cap-mb is killed. Standard library only.
"""

import argparse
import base64
import json
import os
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import wrkout

HERE = os.path.dirname(os.path.abspath(__file__))
ORIGINAL_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)
ACCEPT = "application/graphql-response+json, application/json"
CODE_RE = re.compile(rb'"code"\s*:\s*"([A-Za-z_]+)"')
CASE_TIMEOUT = 90.0
# Hostile clients connect from 127.0.0.1 (or, spread, from 127.0.x.y); the
# "fresh" clients whose service is measured come from an address of their
# own, as another user would, since a server may cap connections per address.
FRESH_SOURCE = "127.0.0.2"
RSS_CAP_KB = 8 << 20


# ---------------------------------------------------------------- server


def proc_status(pid):
    """VmRSS and VmHWM of `pid` in kB (None when the process is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return out


class Server:
    """A server on a new data directory; `url`, `host`, `port`, `pid`."""

    def __init__(self, binary, extra=(), nofile_soft=None):
        self.dir = tempfile.mkdtemp(prefix="hostile-")
        self.out_path = os.path.join(self.dir, "stdout")
        self.err_path = os.path.join(self.dir, "stderr")
        soft = ORIGINAL_NOFILE[0] if nofile_soft is None else nofile_soft

        def limits():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, ORIGINAL_NOFILE[1]))

        env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir",
             os.path.join(self.dir, "data"), *extra],
            stdout=open(self.out_path, "wb"), stderr=open(self.err_path, "wb"),
            stdin=subprocess.DEVNULL, preexec_fn=limits, env=env)
        self.pid = self.proc.pid
        self.peak_sampled = 0
        self.killed_for_memory = False
        deadline = time.monotonic() + 60
        while True:
            with open(self.out_path, "rb") as f:
                m = re.search(rb"listening on http://([0-9.]+):(\d+)", f.read())
            if m:
                self.host, self.port = m.group(1).decode(), int(m.group(2))
                self.url = f"http://{self.host}:{self.port}"
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = open(self.err_path, "rb").read()[-2000:].decode(errors="replace")
                self.stop()
                raise RuntimeError(f"server did not start: {err}")
            time.sleep(0.02)
        self._watch_stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, daemon=True)
        self._watch.start()

    def _watchdog(self):
        while not self._watch_stop.wait(0.05):
            st = proc_status(self.pid)
            if st is None or self.proc.poll() is not None:
                return
            self.peak_sampled = max(self.peak_sampled, st.get("VmRSS", 0))
            if st.get("VmRSS", 0) > RSS_CAP_KB:
                self.killed_for_memory = True
                self.proc.kill()
                return

    def reset_peak(self):
        """Starts VmHWM afresh, so that it shows the case's peak, not start-up's."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def status(self):
        return proc_status(self.pid) if self.proc.poll() is None else None

    def alive(self):
        return self.proc.poll() is None

    def exit_note(self):
        rc = self.proc.poll()
        if rc is None:
            return ""
        if self.killed_for_memory:
            return f"killed by the bench past {RSS_CAP_KB >> 10} MB resident"
        if rc < 0:
            return f"server died: signal {signal.Signals(-rc).name}"
        return f"server exited with {rc}"

    def stop(self):
        if getattr(self, "_watch_stop", None):
            self._watch_stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- HTTP


class Reader:
    """Buffered reads from a socket against an absolute deadline."""

    def __init__(self, sock, deadline):
        self.sock, self.deadline, self.buf = sock, deadline, bytearray()

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        out = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return out

    def take(self, n, sink):
        while n > 0:
            if not self.buf:
                self._fill()
            k = min(n, len(self.buf))
            sink(self.buf[:k])
            del self.buf[:k]
            n -= k

    def rest(self, sink):
        while True:
            if self.buf:
                sink(self.buf)
                self.buf = bytearray()
            try:
                self._fill()
            except EOFError:
                return


class Body:
    """Counts a body's bytes, keeping the start (and the end) of it."""

    KEEP = 64 << 20

    def __init__(self):
        self.size, self.head, self.tail = 0, bytearray(), bytearray()

    def __call__(self, data):
        self.size += len(data)
        if len(self.head) < self.KEEP:
            self.head += data[: self.KEEP - len(self.head)]
        self.tail = (self.tail + data)[-65536:]

    def codes(self):
        text = bytes(self.head)
        if self.size > len(self.head):
            text += bytes(self.tail)
        seen = []
        for c in CODE_RE.findall(text):
            c = c.decode()
            if c not in seen:
                seen.append(c)
        return seen

    def json(self):
        if self.size != len(self.head):
            return None
        try:
            return json.loads(bytes(self.head))
        except ValueError:
            return None


def read_response(reader):
    """Status line, headers (dict, lower-case names) and Body of a response."""
    status_line = reader.line()
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = reader.line()
        if not line:
            break
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode(errors="replace")
    body = Body()
    if status in (101, 204, 304):
        return status, headers, body
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int(reader.line().split(b";")[0], 16)
            if size == 0:
                while reader.line():
                    pass
                break
            reader.take(size, body)
            reader.line()
    elif "content-length" in headers:
        reader.take(int(headers["content-length"]), body)
    else:
        reader.rest(body)
    return status, headers, body


def request_bytes(host, port, method, path, body=b"", headers=(), keep_alive=False):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Accept: {ACCEPT}"]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += list(headers)
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http(host, port, method, path, body=b"", timeout=CASE_TIMEOUT, source=None):
    """One request on its own connection (from `source`, an address, when
    given). Returns a dict: status, size, codes, seconds, error ('timeout',
    'closed', ...), body (Body)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    out = {"status": None, "size": 0, "codes": [], "error": None, "body": None}
    try:
        sock = socket.create_connection((host, port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
    except OSError as e:
        out.update(error=f"connect: {e.strerror or e}", seconds=time.monotonic() - t0)
        return out
    try:
        data = request_bytes(host, port, method, path, body)
        try:
            view = memoryview(data)
            while view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                n = sock.send(view)
                view = view[n:]
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may have answered early and closed; read it
        status, _, b = read_response(Reader(sock, deadline))
        out.update(status=status, size=b.size, codes=b.codes(), body=b)
    except (TimeoutError, socket.timeout):
        out["error"] = "timeout"
    except EOFError:
        out["error"] = "closed without an answer"
    except ConnectionResetError:
        out["error"] = "reset"
    except OSError as e:
        out["error"] = f"{e.__class__.__name__}: {e}"
    finally:
        sock.close()
    out["seconds"] = time.monotonic() - t0
    return out


def gql(query, operation_name=None):
    payload = {"query": query}
    if operation_name is not None:
        payload["operationName"] = operation_name
    return json.dumps(payload).encode()


class KeepAlive:
    """Sequential requests on one kept-alive connection, reopened if closed."""

    def __init__(self, host, port):
        self.host, self.port, self.sock, self.reader = host, port, None, None

    def post(self, body, path="/graphql", method="POST", timeout=30):
        for attempt in range(2):
            if self.sock is None:
                self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
                self.reader = Reader(self.sock, 0)
            self.reader.deadline = time.monotonic() + timeout
            try:
                self.sock.settimeout(timeout)
                self.sock.sendall(request_bytes(self.host, self.port, method, path, body,
                                                keep_alive=True))
                status, headers, b = read_response(self.reader)
                if headers.get("connection", "").lower() == "close":
                    self.close()
                return status, b
            except (EOFError, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None


HEALTH = gql("{ graphVersion }")


def fresh(server, timeout=5.0, source=FRESH_SOURCE):
    """A plain `{ graphVersion }` POST from another client's address;
    (answered with 200?, seconds, the result of http())."""
    r = http(server.host, server.port, "POST", "/graphql", HEALTH, timeout=timeout, source=source)
    return r["status"] == 200, r["seconds"], r


# ---------------------------------------------------------------- schema


def export_field(server):
    """The export field on Query and a format it takes, from introspection."""
    q = ('{ __type(name: "Query") { fields { name args { name type { kind name '
         'ofType { kind name } } } } } }')
    r = http(server.host, server.port, "POST", "/graphql", gql(q), timeout=30)
    fields = r["body"].json()["data"]["__type"]["fields"]
    for f in fields:
        if f["name"].startswith("export"):
            for a in f["args"]:
                t = a["type"]
                enum = t["name"] if t["kind"] == "ENUM" else (t.get("ofType") or {}).get("name")
                if t["kind"] == "NON_NULL" or t["kind"] == "ENUM":
                    q2 = f'{{ __type(name: "{enum}") {{ enumValues {{ name }} }} }}'
                    r2 = http(server.host, server.port, "POST", "/graphql", gql(q2), timeout=30)
                    values = [v["name"] for v in r2["body"].json()["data"]["__type"]["enumValues"]]
                    return f["name"], a["name"], "JSON" if "JSON" in values else values[0]
    raise RuntimeError("no export field on Query")


# ---------------------------------------------------------------- cases
# Each case gets a started server and returns a dict of what it saw:
# status, codes, size (answer bytes), seconds, note, and optionally a
# baseline resident size in kB to measure growth against.


def single(server, query, label):
    r = http(server.host, server.port, "POST", "/graphql", gql(query))
    return {"status": r["status"], "codes": r["codes"], "size": r["size"],
            "seconds": r["seconds"], "error": r["error"], "request": len(gql(query))}


def case_aliases(server):
    name, arg, fmt = export_field(server)
    query = "{ " + " ".join(f"a{i}: {name}({arg}: {fmt})" for i in range(4900)) + " }"
    out = single(server, query, "aliases")
    out["note"] = f"`{name}({arg}: {fmt})` x4900"
    return out


def fragments(n):
    parts = ["query { ...F0 }"]
    for i in range(n - 1):
        parts.append(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}")
    parts.append(f"fragment F{n - 1} on Query {{ graphVersion }}")
    return " ".join(parts)


def case_fragments(n):
    def run(server):
        out = single(server, fragments(n), f"fragments {n}")
        out["note"] = f"2^{n - 1} expansions"
        return out
    return run


def case_directives(server):
    return single(server, "{ graphVersion" + " @a" * 300_000 + " }", "directives")


def case_fields(server):
    return single(server, "{" + " x" * 450_000 + " }", "fields")


def distinct_document(i, size=16384):
    head, parts, n, j = "{ graphVersion", [], len("{ graphVersion") + 2, 0
    while n < size:
        token = f" u{i}_{j}"
        parts.append(token)
        n += len(token)
        j += 1
    return head + "".join(parts) + " }"


def case_distinct(server):
    conn = KeepAlive(server.host, server.port)
    conn.post(HEALTH)
    time.sleep(0.5)
    before = server.status()["VmRSS"]
    t0 = time.monotonic()
    statuses, codes, total = {}, [], 0
    deadline = t0 + CASE_TIMEOUT
    sent = 0
    for i in range(500):
        if time.monotonic() > deadline:
            break
        status, b = conn.post(gql(distinct_document(i)))
        sent += 1
        statuses[status] = statuses.get(status, 0) + 1
        total += b.size
        for c in b.codes():
            if c not in codes:
                codes.append(c)
    conn.close()
    seconds = time.monotonic() - t0
    time.sleep(0.5)
    after = server.status()
    growth = (after["VmRSS"] - before) / 1024 if after else float("nan")
    return {"status": "/".join(f"{k}x{v}" for k, v in sorted(statuses.items())),
            "codes": codes, "size": total, "seconds": seconds,
            "error": None if sent == 500 else f"only {sent} sent in {CASE_TIMEOUT:.0f} s",
            "baseline": before,
            "note": f"{sent} docs of 16 KB; VmRSS {before / 1024:.1f} -> "
                    f"{(after or {}).get('VmRSS', 0) / 1024:.1f} MB (growth {growth:+.1f} MB)"}


def slow_body_socket(server, chunked):
    sock = socket.create_connection((server.host, server.port), timeout=5)
    head = [f"POST /graphql HTTP/1.1", f"Host: {server.host}:{server.port}",
            f"Accept: {ACCEPT}", "Content-Type: application/json"]
    body = json.dumps({"query": "{ graphVersion }"}).encode()
    body = body[:-1] + b" " * (200 - len(body)) + b"}"
    if chunked:
        head.append("Transfer-Encoding: chunked")
        wire = b"".join(b"1\r\n" + body[i:i + 1] + b"\r\n" for i in range(len(body))) + b"0\r\n\r\n"
    else:
        head.append("Content-Length: 200")
        wire = body
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sock.setblocking(False)
    return sock, wire


def answer_of(data):
    m = re.match(rb"HTTP/1\.[01] (\d+)", data)
    codes = [c.decode() for c in CODE_RE.findall(data)]
    return (int(m.group(1)) if m else None), codes


def case_slow(chunked, hold=40.0):
    def run(server):
        sock, wire = slow_body_socket(server, chunked)
        t0 = time.monotonic()
        pos, got, answered_at, closed_at, fresh_results = 0, b"", None, None, []
        next_byte = t0
        fresh_at = [2, 5, 10, 20, 30]

        def fresh_worker():
            for at in fresh_at:
                wait = t0 + at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if time.monotonic() - t0 > hold or (closed_at is not None and fresh_results):
                    return
                ok, secs, _ = fresh(server)
                fresh_results.append((ok, secs))

        worker = threading.Thread(target=fresh_worker, daemon=True)
        worker.start()
        while time.monotonic() - t0 < hold:
            now = time.monotonic()
            if now >= next_byte and pos < len(wire):
                try:
                    sock.send(wire[pos:pos + 1])
                    pos += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    closed_at = now - t0
                    break
                next_byte += 1
            try:
                data = sock.recv(65536)
                if not data:
                    closed_at = time.monotonic() - t0
                    break
                got += data
                answered_at = answered_at or time.monotonic() - t0
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed_at = time.monotonic() - t0
                break
            time.sleep(0.02)
        sock.close()
        worker.join(timeout=10)
        status, codes = answer_of(got)
        answered = sum(1 for ok, _ in fresh_results if ok)
        worst = max((s for _, s in fresh_results), default=float("nan"))
        parts = []
        if answered_at is not None:
            parts.append(f"answered at {answered_at:.1f} s")
        parts.append(f"closed at {closed_at:.1f} s" if closed_at is not None
                     else f"connection still open at {hold:.0f} s")
        parts.append(f"{pos} body bytes sent")
        cut = answered_at if answered_at is not None else closed_at
        return {"status": status, "codes": codes, "size": len(got),
                "seconds": cut if cut is not None else hold,
                "wall": None if cut is not None else f"> {hold:.0f} s (open)",
                "note": f"{', '.join(parts)}; fresh clients during it: {answered}/{len(fresh_results)} "
                        f"answered, max {worst * 1000:.0f} ms"}
    return run


def crowd_source(i):
    """The i-th of many distinct loopback addresses, 127.0.16.1 onwards."""
    n = 16 * 256 + 1 + i
    return f"127.0.{n // 256}.{n % 256}"


def case_slow_crowd(spread, count=1100, hold=45.0):
    return lambda server: slow_crowd(server, spread, count, hold)


def slow_crowd(server, spread, count, hold):
    t0 = time.monotonic()
    sel = selectors.DefaultSelector()
    pending = {}
    failed_connect = 0
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((crowd_source(i) if spread else "127.0.0.1", 0))
        s.setblocking(False)
        err = s.connect_ex((server.host, server.port))
        if err not in (0, 115, 11):  # EINPROGRESS, EAGAIN
            failed_connect += 1
            s.close()
            continue
        pending[s] = True
        sel.register(s, selectors.EVENT_WRITE)
    connected = []
    until = time.monotonic() + 5
    while pending and time.monotonic() < until:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            sel.unregister(s)
            del pending[s]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.append(s)
            else:
                failed_connect += 1
                s.close()
    for s in pending:
        sel.unregister(s)
        s.close()
        failed_connect += 1
    head = (f"POST /graphql HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nAccept: {ACCEPT}\r\n"
            "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{").encode()
    state = {}
    for s in connected:
        try:
            s.send(head)
            state[s] = {"sent": 1, "cut": None, "got": b""}
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            state[s] = {"sent": 0, "cut": 0.0, "got": b""}
    opened_at = time.monotonic() - t0
    fresh_results, fresh_times, same_address = [], [], []

    def fresh_worker():
        time.sleep(2)
        for _ in range(10):
            at = time.monotonic() - t0
            ok, secs, r = fresh(server, timeout=5.0)
            fresh_results.append((ok, secs, r["error"] or r["status"]))
            fresh_times.append(at)
            time.sleep(0.5)
        if not spread:
            # And three from the crowd's own address.
            for _ in range(3):
                ok, secs, r = fresh(server, timeout=5.0, source="127.0.0.1")
                same_address.append(f"{r['error'] or r['status']} in {secs * 1000:.0f} ms")

    worker = threading.Thread(target=fresh_worker, daemon=True)
    worker.start()
    next_tick = time.monotonic() + 1
    body_byte = b" "
    while time.monotonic() - t0 < hold:
        for key, _ in sel.select(max(0.0, min(0.2, next_tick - time.monotonic()))):
            s = key.fileobj
            st = state[s]
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if data:
                st["got"] += data
            if st["cut"] is None:
                st["cut"] = time.monotonic() - t0
            if not data:
                sel.unregister(s)
        if time.monotonic() >= next_tick:
            next_tick += 1
            for s, st in state.items():
                if st["cut"] is None and st["sent"] < 199:
                    try:
                        s.send(body_byte)
                        st["sent"] += 1
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        st["cut"] = time.monotonic() - t0
                        try:
                            sel.unregister(s)
                        except (KeyError, ValueError):
                            pass
        if not worker.is_alive() and time.monotonic() - t0 > 30:
            break
    worker.join(timeout=60)
    elapsed = time.monotonic() - t0
    for s in state:
        s.close()
    sel.close()
    cuts = sorted(st["cut"] for st in state.values() if st["cut"] is not None)
    statuses = {}
    codes = []
    for st in state.values():
        if st["cut"] is not None:
            status, cs = answer_of(st["got"])
            statuses[status] = statuses.get(status, 0) + 1
            for c in cs:
                if c not in codes:
                    codes.append(c)
    answered = [secs for ok, secs, _ in fresh_results if ok]
    outcomes = {}
    for ok, _, what in fresh_results:
        outcomes[str(what)] = outcomes.get(str(what), 0) + 1
    cut_txt = (f"{len(cuts)}/{len(state)} slow cut off (first {cuts[0]:.1f} s, median "
               f"{statistics.median(cuts):.1f} s, last {cuts[-1]:.1f} s)" if cuts
               else f"0/{len(state)} slow cut off in {elapsed:.0f} s")
    return {"status": "/".join(f"{k}x{v}" for k, v in sorted(statuses.items(), key=str)) or "-",
            "codes": codes, "size": sum(len(st["got"]) for st in state.values()),
            "seconds": elapsed,
            "note": f"from {'1,100 addresses' if spread else 'one address'}; {len(connected)} connected ({failed_connect} failed) in {opened_at:.1f} s; "
                    f"{cut_txt}; fresh: {len(answered)}/10 answered"
                    + (f", max {max(answered) * 1000:.0f} ms" if answered else "")
                    + f" ({', '.join(f'{k} x{v}' for k, v in outcomes.items())}"
                    + (f"; sent at {fresh_times[0]:.1f}-{fresh_times[-1]:.1f} s)" if fresh_times else ")")
                    + (f"; from the crowd's own address: {', '.join(same_address)}" if same_address else "")}


def ws_frame(opcode, payload, fin, mask=b"\x5a\xa5\x3c\xc3"):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n < 65536:
        head = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, 0x80 | 127]) + n.to_bytes(8, "big")
    reps = (n + 3) // 4
    key = int.from_bytes(mask * reps, "big") >> (8 * (4 * reps - n))
    masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
    return head + mask + masked


class WsFrames:
    """Server frames parsed from a byte stream."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        frames = []
        while len(self.buf) >= 2:
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4:
                    break
                n, off = int.from_bytes(self.buf[2:4], "big"), 4
            elif n == 127:
                if len(self.buf) < 10:
                    break
                n, off = int.from_bytes(self.buf[2:10], "big"), 10
            if b1 & 0x80:
                off += 4
            if len(self.buf) < off + n:
                break
            frames.append((b0 & 0x0F, bytes(self.buf[off:off + n])))
            del self.buf[:off + n]
        return frames


def case_ws(frame_bytes, total=200 << 20):
    def run(server):
        sock = socket.create_connection((server.host, server.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /graphql HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
        reader = Reader(sock, time.monotonic() + 10)
        status, headers, _ = read_response(reader)
        if status != 101:
            sock.close()
            return {"status": status, "codes": [], "size": 0, "seconds": 0,
                    "error": "upgrade refused"}
        frames = WsFrames()
        pending = frames.feed(bytes(reader.buf))
        sock.sendall(ws_frame(0x1, b'{"type":"connection_init"}', True))
        acked = False
        deadline = time.monotonic() + 10
        while not acked and time.monotonic() < deadline:
            for op, payload in pending:
                if op == 0x1 and b"connection_ack" in payload:
                    acked = True
            if not acked:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                pending = frames.feed(sock.recv(65536))
        base = server.status()["VmRSS"]
        prefix = b'{"type":"subscribe","id":"1","payload":{"query":"{ graphVersion }","extensions":{"x":"'
        suffix = b'"}}}'
        filler = b"a" * frame_bytes
        count = total // frame_bytes
        first = ws_frame(0x1, prefix + filler[len(prefix):], False)
        middle = ws_frame(0x0, filler, False)
        last = ws_frame(0x0, filler[:-len(suffix)] + suffix, True)
        sock.setblocking(False)
        t0 = time.monotonic()
        sent_payload, close_code, close_at, reason, ended = 0, None, None, "", None
        i, view = 0, None
        while time.monotonic() - t0 < CASE_TIMEOUT:
            if view is None:
                if i >= count:
                    break
                view = memoryview(first if i == 0 else last if i == count - 1 else middle)
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError as e:
                    ended = f"recv failed: {e.__class__.__name__}"
                    break
                if data == b"":
                    ended = "closed (EOF)"
                    break
                for op, payload in frames.feed(data or b""):
                    if op == 0x8:
                        close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                        reason = payload[2:].decode(errors="replace")
                        close_at = sent_payload
                        ended = "close frame"
                if ended:
                    break
            if writable:
                try:
                    n = sock.send(view)
                    view = view[n:]
                    if not view:
                        view = None
                        i += 1
                        sent_payload += frame_bytes
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as e:
                    ended = f"send failed: {e.__class__.__name__}"
                    break
        seconds = time.monotonic() - t0
        # What the server answers after the whole message, if it took it.
        if ended is None:
            end_wait = time.monotonic() + 5
            while time.monotonic() < end_wait:
                try:
                    data = sock.recv(65536)
                    if not data:
                        ended = "closed (EOF) after the whole message"
                        break
                    for op, payload in frames.feed(data):
                        if op == 0x8:
                            close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                            reason = payload[2:].decode(errors="replace")
                            ended = "close frame after the whole message"
                        elif op == 0x1:
                            ended = ended or f"answered: {payload[:120].decode(errors='replace')}"
                    if ended:
                        break
                except (BlockingIOError, InterruptedError):
                    time.sleep(0.01)
                except OSError:
                    ended = "reset after the whole message"
                    break
        sock.close()
        time.sleep(0.3)
        refused = close_code is not None or (ended or "").startswith(("closed", "send failed", "recv failed"))
        return {"status": 101, "codes": [f"close {close_code}"] if close_code else [],
                "size": 0, "seconds": seconds, "baseline": base,
                "note": f"frames of {frame_bytes >> 10} KiB; "
                        + (f"refused ({ended}{', ' + repr(reason) if reason else ''}) after "
                           f"{(close_at if close_at is not None else sent_payload) / (1 << 20):.2f} MB sent"
                           if refused else f"{sent_payload / (1 << 20):.0f} MB sent, not refused; {ended}")}
    return run


def metrics_size(server):
    r = http(server.host, server.port, "GET", "/metrics", timeout=30)
    return r["size"]


def case_operation_names(server):
    conn = KeepAlive(server.host, server.port)
    conn.post(HEALTH)
    m0 = metrics_size(server)
    time.sleep(0.3)
    before = server.status()["VmRSS"]
    statuses, codes, total = {}, [], 0
    t0 = time.monotonic()
    sent = 0
    for i in range(5000):
        if time.monotonic() - t0 > CASE_TIMEOUT:
            break
        status, b = conn.post(gql(f"query Op{i} {{ graphVersion }}", f"Op{i}"))
        sent += 1
        statuses[status] = statuses.get(status, 0) + 1
        total += b.size
        for c in b.codes():
            if c not in codes:
                codes.append(c)
    seconds = time.monotonic() - t0
    conn.close()
    m1 = metrics_size(server)
    time.sleep(0.3)
    after = server.status()
    return {"status": "/".join(f"{k}x{v}" for k, v in sorted(statuses.items())),
            "codes": codes, "size": total, "seconds": seconds, "baseline": before,
            "error": None if sent == 5000 else f"only {sent} sent",
            "note": f"/metrics {m0 / 1024:.1f} -> {m1 / 1024:.1f} KB; VmRSS "
                    f"{before / 1024:.1f} -> {(after or {}).get('VmRSS', 0) / 1024:.1f} MB "
                    f"(growth {((after or {}).get('VmRSS', 0) - before) / 1024:+.1f} MB)"}


ROWS = [
    # (row number, id, description, case, server extra args, nofile soft limit)
    (1, "1", "4,900 aliases of the export field (~150 KB)", case_aliases, (), None),
    (2, "2a", "22 fragments, each spreading the next twice", case_fragments(22), (), None),
    (2, "2b", "26 fragments, each spreading the next twice", case_fragments(26), (), None),
    (3, "3", "300,000 unknown directives @a (~900 KB)", case_directives, (), None),
    (4, "4", "450,000 unknown fields (~900 KB)", case_fields, (), None),
    (5, "5", "500 distinct refused 16 KB documents", case_distinct, (), None),
    (6, "6a", "body at 1 byte/s, Content-Length 200", case_slow(False), (), None),
    (6, "6b", "chunked body at 1 byte/s", case_slow(True), (), None),
    (7, "7a", "1,100 slow bodies at once from one address (server soft nofile 1024)",
     case_slow_crowd(False), (), 1024),
    (7, "7b", "1,100 slow bodies at once from 1,100 addresses (server soft nofile 1024)",
     case_slow_crowd(True), (), 1024),
    (8, "8a", "200 MB WebSocket message, 1 MB continuation frames", case_ws(1 << 20), (), None),
    (8, "8b", "200 MB WebSocket message, 64 KiB continuation frames", case_ws(64 << 10), (), None),
    (9, "9", "5,000 distinct operation names", case_operation_names, (), None),
]


def mb(kb):
    return "-" if kb is None else f"{kb / 1024:.0f}" if kb >= 10240 else f"{kb / 1024:.1f}"


def run_row(binary, row):
    _, rid, desc, case, extra, nofile = row
    server = Server(binary, extra, nofile_soft=nofile)
    try:
        server.reset_peak()
        start = server.status()
        try:
            res = case(server)
        except Exception as e:  # a case that breaks is reported, not fatal
            res = {"status": None, "codes": [], "size": 0, "seconds": float("nan"),
                   "error": f"{e.__class__.__name__}: {e}"}
        st = server.status()
        hwm = st["VmHWM"] if st else server.peak_sampled or None
        rss = st["VmRSS"] if st else None
        ok, secs, _ = fresh(server) if server.alive() else (False, 0, None)
        base = res.get("baseline", start["VmRSS"])
        timed_out = res.get("timed_out") or res.get("error") == "timeout"
        wall = res.get("wall") or (f"> {CASE_TIMEOUT:.0f} s" if res.get("error") == "timeout"
                                   else f"{res['seconds']:.2f} s")
        notes = [n for n in (res.get("note"), res.get("error"), server.exit_note()) if n]
        return {"id": rid, "desc": desc, "wall": wall, "status": res.get("status"),
                "codes": ", ".join(res.get("codes") or []) or "-",
                "size": res.get("size", 0), "start": start["VmRSS"], "base": base,
                "hwm": hwm, "rss": rss,
                "alive": ("yes" if ok else "NO") if server.alive() else "DEAD",
                "note": "; ".join(notes), "timed_out": timed_out}
    finally:
        server.stop()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def hostile(args):
    wanted = {int(x) for x in args.rows.split(",")} if args.rows else None
    rows = [r for r in ROWS if wanted is None or r[0] in wanted]
    print(f"## Hostile clients ({time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, "
          f"{os.cpu_count()} cores, load average at start {loadavg()})\n")
    for b, l in zip(args.bin, args.labels):
        print(f"- {l}: `{b}`")
    print()
    print("| run | binary | row | case | wall | HTTP | code | answer bytes | RSS start MB "
          "| peak (VmHWM) MB | RSS end MB | answers after | load | notes |")
    print("| --- | --- | --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |")
    sys.stdout.flush()
    for rep in range(args.repeat):
        for row in rows:
            for binary, label in zip(args.bin, args.labels):
                r = run_row(binary, row)
                print(f"| {rep + 1} | {label} | {r['id']} | {r['desc']} | {r['wall']} | "
                      f"{r['status'] if r['status'] is not None else '-'} | {r['codes']} | "
                      f"{r['size']} | {mb(r['start'])} | {mb(r['hwm'])} | {mb(r['rss'])} | "
                      f"{r['alive']} | {loadavg().split()[0]} | {r['note']} |")
                sys.stdout.flush()
    print(f"\nLoad average at the end: {loadavg()}")


# ---------------------------------------------------------------- throughput

QUERIES = {
    "Q1": '{ entity(id: "ctef") { id name relations(first: 100) { edges { node { kind from { name } to { name } } } } } }',
    "Q2": '{ neighborhood(id: "ctef", depth: 2) { entities { id } relations { id } } }',
    "Q3": '{ shortestPath(from: "issa-ozeir", to: "partner-forces-in-syria") { length } }',
    "Q4": '{ entities(search: "coun", first: 10) { totalCount edges { node { id name } } } }',
}


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def settle(pid):
    """Waits until the server has been idle for half a second (at most 60 s)."""
    last = cpu_ticks(pid)
    for _ in range(120):
        time.sleep(0.5)
        now = cpu_ticks(pid)
        if now - last <= 5:
            return
        last = now


def wrk(url, body_file, seconds, connections=32, threads=2):
    env = dict(os.environ, BODY_FILE=body_file)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "--latency", "-s", os.path.join(HERE, "post.lua"), url + "/graphql"],
        env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    s = wrkout.summary(out)
    return s["rps"], s["p50"], s["p99"], s["errors"], s["requests"]


def throughput(args):
    work = tempfile.mkdtemp(prefix="hostile-wrk-")
    configs = [(q, QUERIES[q], ()) for q in ("Q1", "Q2", "Q3", "Q4")]
    configs.append(("Q1, response cache off", QUERIES["Q1"], ("--response-cache-size", "0")))
    print(f"## Q1-Q4 throughput ({time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, "
          f"{os.cpu_count()} cores, wrk -t2 -c32 -d{args.duration}s after {args.warmup}s warm-up, "
          f"{args.rounds} rounds alternating, load average at start {loadavg()})\n")
    for b, l in zip(args.bin, args.labels):
        print(f"- {l}: `{b}`")
    print()
    print("| query | binary | req/s median | req/s rounds | p50 ms median | p99 ms median "
          "| server CPU µs/req median (rounds) | load |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | --- |")
    sys.stdout.flush()
    try:
        for name, query, extra in configs:
            body_file = os.path.join(work, "body.json")
            with open(body_file, "wb") as f:
                f.write(gql(query))
            servers = [Server(b, extra) for b in args.bin]
            try:
                for s in servers:
                    r = http(s.host, s.port, "POST", "/graphql", gql(query), timeout=30)
                    if r["status"] != 200 or b'"errors"' in bytes(r["body"].head):
                        raise RuntimeError(f"{name} answered with errors: {bytes(r['body'].head)[:300]}")
                for s in servers:
                    settle(s.pid)
                    wrk(s.url, body_file, args.warmup)
                results = {l: [] for l in args.labels}
                loads = []
                for _ in range(args.rounds):
                    for s, l in zip(servers, args.labels):
                        settle(s.pid)
                        ticks = cpu_ticks(s.pid)
                        r = wrk(s.url, body_file, args.duration)
                        # The server's own CPU time per request: less moved
                        # by other work on the machine than requests/s.
                        cpu_us = (cpu_ticks(s.pid) - ticks) / os.sysconf("SC_CLK_TCK") / r[4] * 1e6
                        results[l].append(r + (cpu_us,))
                        loads.append(float(loadavg().split()[0]))
                for l in args.labels:
                    rows = results[l]
                    errs = sum(r[3] for r in rows)
                    print(f"| {name} | {l} | {statistics.median(r[0] for r in rows):.0f} | "
                          f"{' / '.join(f'{r[0]:.0f}' for r in rows)} | "
                          f"{statistics.median(r[1] for r in rows):.3f} | "
                          f"{statistics.median(r[2] for r in rows):.3f} | "
                          f"{statistics.median(r[5] for r in rows):.1f} "
                          f"({' / '.join(f'{r[5]:.1f}' for r in rows)}) | "
                          f"{min(loads):.2f}-{max(loads):.2f}"
                          + (f" ({errs} non-2xx)" if errs else "") + " |")
                    sys.stdout.flush()
            finally:
                for s in servers:
                    s.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nLoad average at the end: {loadavg()}")


def main():
    global CASE_TIMEOUT, RSS_CAP_KB
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", action="append", required=True, help="the partnergraph binary (repeatable)")
    p.add_argument("--label", action="append", default=[], help="a name for each --bin, in order")
    p.add_argument("--rows", help="comma-separated row numbers (1-9); all when omitted")
    p.add_argument("--repeat", type=int, default=1, help="full passes over the rows")
    p.add_argument("--case-timeout", type=float, default=CASE_TIMEOUT)
    p.add_argument("--rss-cap-mb", type=int, default=RSS_CAP_KB >> 10)
    p.add_argument("--throughput", action="store_true", help="wrk load of Q1-Q4 instead")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args()
    args.bin = [os.path.abspath(b) for b in args.bin]
    args.labels = args.label + [os.path.basename(b) for b in args.bin[len(args.label):]]
    CASE_TIMEOUT, RSS_CAP_KB = args.case_timeout, args.rss_cap_mb << 10
    # The crowd of slow clients needs more sockets than a default soft limit.
    resource.setrlimit(resource.RLIMIT_NOFILE, (ORIGINAL_NOFILE[1], ORIGINAL_NOFILE[1]))
    if args.throughput:
        if not shutil.which("wrk"):
            sys.exit("wrk is not installed (apt-get install -y wrk)")
        throughput(args)
    else:
        hostile(args)


if __name__ == "__main__":
    main()
