#!/usr/bin/env python3
"""Copies an imported SQLite store into a fresh PostgreSQL database in
partnergraph's PostgreSQL layout, with COPY: a way round `partnergraph
import --database-url`, which at 100k entities and more fails (the whole
import is one commit, cut off by the store's 5 s time limit), so that
start-up from PostgreSQL can be measured at 1M all the same.

Both stores keep each item's body as the same serde_json text, so rows are
copied as they are; relations' ends are read from their bodies. The
tables are made by running `partnergraph import` of an empty dataset
first (the migration), then filled here; graph_version is set to the
SQLite store's version. The change log stays empty: nothing before that
version needs replaying by an instance that starts from the tables.

  python3 benches/scaleout/sqlite_to_pg.py DATA_DIR/partnergraph.sqlite DBNAME
"""
import csv
import io
import sqlite3
import subprocess
import sys
import time

src, db = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
version = int(conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])


def psql(sql, stdin=None):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                   input=stdin, check=True, text=True)


def copy(table, columns, rows):
    t0 = time.time()
    p = subprocess.Popen(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c",
                          f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)"],
                         stdin=subprocess.PIPE, text=True)
    w = csv.writer(p.stdin, lineterminator="\n")
    n = 0
    for row in rows:
        w.writerow(row)
        n += 1
    p.stdin.close()
    if p.wait() != 0:
        raise SystemExit(f"COPY into {table} failed")
    print(f"{table}: {n} rows in {time.time() - t0:.1f} s", flush=True)


def relation_rows():
    import json
    for rid, body in conn.execute("SELECT id, body FROM relations"):
        r = json.loads(body)
        yield rid, r["from"], r["to"], body


t0 = time.time()
copy("documents", "id, body", conn.execute("SELECT id, body FROM documents"))
copy("entities", "id, body", conn.execute("SELECT id, body FROM entities"))
# Relations' ends are checked at commit (deferred foreign keys): each COPY
# is its own transaction, after the entities'.
copy("relations", "id, from_id, to_id, body", relation_rows())
psql(f"UPDATE graph_version SET version = {version}; ANALYZE;")
print(f"copied at version {version} in {time.time() - t0:.1f} s")
