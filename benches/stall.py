#!/usr/bin/env python3
"""A subscriber that never reads, against a running server (127.0.0.1 only).

Opens a graphql-transport-ws WebSocket with a small receive buffer,
subscribes to every `graphChanged` event with each entity's evidence, and
then reads nothing, while wrk sends `createEntity` from 8 connections for
a bounded time. Prints the server's resident memory before, during and
after, and whether the server told the subscriber it fell behind (read only
at the end).

  python3 benches/stall.py --port 8080 --token T --pid PID \
      --document DOC --quote "QUOTE" [--seconds 20] [--writes update]

`--writes update` renames entities of a generated graph (benches/update.lua)
instead of creating new ones, so that the graph keeps its size.
"""
import argparse
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from writes import rss_mb  # noqa: E402


def frame(payload):
    """A masked client text frame."""
    data = payload.encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    n = len(data)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--document", required=True)
    p.add_argument("--quote", required=True)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--writes", choices=["create", "update"], default="create")
    args = p.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", args.port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    s.settimeout(10)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += s.recv(1)
    assert b" 101 " in answer.split(b"\r\n")[0], answer
    s.sendall(frame(json.dumps({"type": "connection_init"})))
    selection = "{ kind id graphVersion entity { id sources { document { id } quote } } }"
    s.sendall(
        frame(
            json.dumps(
                {
                    "id": "all",
                    "type": "subscribe",
                    "payload": {"query": "subscription { graphChanged %s }" % selection},
                }
            )
        )
    )
    time.sleep(1)
    before = rss_mb(args.pid)
    env = dict(os.environ, TOKEN=args.token, DOCUMENT=args.document, QUOTE=args.quote,
               RUN=f"stall{int(time.time())}")
    here = os.path.dirname(os.path.abspath(__file__))
    wrk = subprocess.Popen(
        ["wrk", "-t1", "-c8", f"-d{args.seconds}s", "-s", os.path.join(here, f"{args.writes}.lua"),
         f"http://127.0.0.1:{args.port}/graphql"],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    highest = before
    while wrk.poll() is None:
        highest = max(highest, rss_mb(args.pid))
        time.sleep(0.5)
    out = wrk.stdout.read()
    writes = next((line.split()[0] for line in out.splitlines() if "requests in" in line), "?")
    after = rss_mb(args.pid)
    # Now read what the server sent, until it has been quiet for 5 s: among
    # it, whether it told the subscriber it fell behind.
    s.settimeout(5)
    received = b""
    closed = False
    try:
        while len(received) < 64 << 20:
            chunk = s.recv(1 << 16)
            if not chunk:
                closed = True
                break
            received += chunk
    except socket.timeout:
        pass
    except ConnectionError:
        closed = True
    told = b"fell behind" in received
    print(f"| stalled subscriber, {args.seconds} s of {args.writes} writes from 8 clients | {writes} writes; "
          f"told it fell behind: {'yes' if told else 'no'}; "
          f"disconnected: {'yes' if closed else 'no'}; {len(received) // 1024} KiB read after | "
          f"{before} / {highest} / {after} |")


if __name__ == "__main__":
    main()
