#!/usr/bin/env python3
"""Reads every export of the built-in graph back with the tool it targets.

    python3 check.py DIR

DIR holds `graph.<ext>` files written by `partnergraph export`. networkx
reads the GraphML, GEXF and node-link files; every FollowTheMoney line must
load with the `followthemoney` package and validate against its schema; the
CSV zip and the Cytoscape JSON are read with the standard library. Each is
compared with the project's own JSON export, the reference. Exits non-zero
on the first disagreement.
"""

import csv
import io
import json
import sys
import zipfile
from pathlib import Path

import networkx as nx
from followthemoney import model
from followthemoney.exc import InvalidData

failures = []


def check(what, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
    if not ok:
        failures.append(what)


def main(folder):
    d = Path(folder)
    ref = json.loads((d / "graph.json").read_text())
    entities = {e["id"]: e for e in ref["entities"]}
    relations = {r["id"]: r for r in ref["relations"]}
    edges = sorted((r["from"], r["to"], r["kind"]) for r in ref["relations"])

    g = nx.read_graphml(d / "graph.graphml")
    check("GraphML: networkx read_graphml sees every entity and relation",
          (g.number_of_nodes(), g.number_of_edges()) == (len(entities), len(relations)),
          f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges, {type(g).__name__}")
    check("GraphML: node ids are entity ids", set(g.nodes) == set(entities))
    check("GraphML: edges with their kinds",
          sorted((u, v, a["kind"]) for u, v, a in g.edges(data=True)) == edges)
    check("GraphML: typed attributes",
          g.nodes["ctef"]["total_amount"] == 358000000
          and isinstance(g.nodes["ctef"]["total_amount"], int)
          and g.nodes["fy2026-ndaa"]["vote_yeas"] == 77,
          repr({k: g.nodes["ctef"][k] for k in ("kind", "name", "total_amount")}))

    g = nx.read_gexf(d / "graph.gexf")
    check("GEXF: networkx read_gexf sees every entity and relation",
          (g.number_of_nodes(), g.number_of_edges()) == (len(entities), len(relations)),
          f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
    check("GEXF: labels are names",
          all(g.nodes[i]["label"] == e["name"] for i, e in entities.items()))

    data = json.loads((d / "graph.node-link").read_text())
    g = nx.node_link_graph(data, edges="edges")
    check("node-link: networkx node_link_graph gives a directed multigraph",
          g.is_directed() and g.is_multigraph()
          and (g.number_of_nodes(), g.number_of_edges()) == (len(entities), len(relations)))
    check("node-link: edge keys are relation ids",
          {k for _, _, k in g.edges(keys=True)} == set(relations))

    cy = json.loads((d / "graph.cytoscape").read_text())
    nodes, cy_edges = cy["elements"]["nodes"], cy["elements"]["edges"]
    check("Cytoscape: elements with data ids, sources and targets",
          {n["data"]["id"] for n in nodes} == set(entities)
          and sorted((e["data"]["source"], e["data"]["target"], e["data"]["label"]) for e in cy_edges) == edges)

    with zipfile.ZipFile(d / "graph.csv") as z:
        names = set(z.namelist())
        node_rows = list(csv.DictReader(io.TextIOWrapper(z.open("nodes.csv"), "utf-8")))
        edge_rows = list(csv.DictReader(io.TextIOWrapper(z.open("edges.csv"), "utf-8")))
    check("CSV: a zip of nodes.csv and edges.csv", {"nodes.csv", "edges.csv"} <= names, str(sorted(names)))
    check("CSV: one row per entity and per relation",
          {r["id"] for r in node_rows} == set(entities)
          and sorted((r["source"], r["target"], r["kind"]) for r in edge_rows) == edges)

    lines = (d / "graph.ftm").read_text().splitlines()
    invalid = []
    schemata = {}
    for n, line in enumerate(lines, 1):
        raw = json.loads(line)
        try:
            proxy = model.get_proxy(raw, cleaned=False)
            # Raises InvalidData with the offending properties.
            proxy.schema.validate(raw)
        except InvalidData as e:
            invalid.append((n, raw.get("schema"), str(e), getattr(e, "errors", None)))
            continue
        schemata[proxy.schema.name] = schemata.get(proxy.schema.name, 0) + 1
    check("FtM: every line loads and validates with followthemoney",
          not invalid, f"{len(lines)} entities: {dict(sorted(schemata.items()))}"
          + (f"; invalid: {invalid[:3]}" if invalid else ""))
    check("FtM: FUNDS become Payments with amounts",
          schemata.get("Payment", 0) == sum(r["kind"] in ("FUNDS", "AUTHORIZES") for r in relations.values()))

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("every export reads back with its tool")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
