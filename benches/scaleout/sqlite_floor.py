#!/usr/bin/env python3
"""SQLite's own floor for one-row write transactions.

THREADS threads, each with its own connection to one database file in WAL
mode with synchronous=FULL (the pragmas partnergraph's SQLite store sets),
each repeating BEGIN IMMEDIATE; one-row INSERT into (id text primary key,
body text); COMMIT for SECONDS seconds. Prints the commits per second.

  python3 benches/scaleout/sqlite_floor.py DIR THREADS SECONDS [--one-lock]

With --one-lock the threads take turns on a lock in the process rather
than on SQLite's busy handler (which sleeps between retries).
"""
import os
import sqlite3
import sys
import threading
import time

directory, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
one_lock = "--one-lock" in sys.argv[4:]
path = os.path.join(directory, "floor.db")
# A body the size of a created entity's (about 250 bytes of JSON).
BODY = ('{"id":"%s","kind":"ARMED_FORCE","name":"Bench Force %s","aliases":[],'
        '"sources":[{"document":"k24-peshmerga-us-iraq-talks","quote":"including the Asayish and Peshmerga"}],'
        '"attributes":{}}')


def connect():
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


setup = connect()
setup.execute("CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
setup.close()

lock = threading.Lock()
counts = [0] * threads
deadline = time.monotonic() + seconds
start = threading.Barrier(threads)


def work(k):
    conn = connect()
    n = 0
    start.wait()
    while time.monotonic() < deadline:
        n += 1
        key = f"{os.getpid()}-{k}-{n}"
        if one_lock:
            lock.acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO floor (id, body) VALUES (?, ?)", (key, BODY % (key, key)))
            conn.execute("COMMIT")
        finally:
            if one_lock:
                lock.release()
        counts[k] += 1
    conn.close()


t0 = time.monotonic()
ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(f"{sum(counts) / (time.monotonic() - t0):.1f}")
