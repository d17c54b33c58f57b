#!/usr/bin/env python3
"""Who funds whom: a short report on a running partnergraph service.

Asks the service which fund supports which force, downloads the graph as
GraphML, loads it into networkx, and prints a funding table, the shortest
chain from a person to a fund, and the most central entities. Then checks
that networkx's shortest-path lengths and PageRank scores agree with the
service's own answers. Last, it asks how much each recipient is stated to
receive (checked against a sum of the relations it pages through) and which
entities may be the same one. It exits non-zero on any disagreement.

    python3 -m pip install -r examples/requirements.txt
    python3 examples/analysis.py http://127.0.0.1:8080
"""

import io
import json
import sys
import urllib.request

import networkx as nx

PERSON = "issa-ozeir"
FUND = "ctef"


def graphql(base, query, variables=None):
    """POSTs a GraphQL document and returns `data`, failing on any error."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        base + "/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/graphql-response+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    if answer.get("errors"):
        raise SystemExit(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


def funding_table(base):
    data = graphql(
        base,
        """{ fundingFlows {
               source { name } recipient { name kind }
               amount { amount qualifier display } direct
               path { entities { name } }
           } }""",
    )
    rows = data["fundingFlows"]
    print("Funding flows (money along AUTHORIZES/FUNDS, then to members of funded groups)")
    print(f"{'source':<52} {'recipient':<52} {'amount':<24} {'how'}")
    for f in rows:
        amount = f["amount"]["display"] if f["amount"] else "(not stated)"
        how = "direct" if f["direct"] else "via " + f["path"]["entities"][-2]["name"]
        print(f"{f['source']['name']:<52} {f['recipient']['name']:<52} {amount:<24} {how}")
    print()
    return rows


def all_relations(base, kind):
    """Every relation of `kind`, paged through with Relay cursors."""
    out, after = [], None
    while True:
        page = graphql(
            base,
            """query($kind: RelationKind, $after: String) {
                 relations(kind: $kind, first: 100, after: $after) {
                   pageInfo { hasNextPage endCursor }
                   edges { node { to { id } amount { amount currency qualifier } } }
               } }""",
            {"kind": kind, "after": after},
        )["relations"]
        out += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


def totals_by_recipient(base):
    """Prints fundingTotals by recipient and checks each row's sum, count
    and unstated count against the FUNDS relations themselves; returns the
    disagreements."""
    rows = graphql(
        base,
        """{ fundingTotals(groupBy: RECIPIENT) {
               entity { id name } total { amount currency qualifier display }
               relations unstated } }""",
    )["fundingTotals"]
    print("Stated funding received, by recipient (FUNDS relations, one level, summed)")
    print(f"{'recipient':<52} {'total':<28} {'relations':>9} {'unstated':>9}")
    for r in rows:
        total = r["total"]["display"] if r["relations"] else "(no amount stated)"
        print(f"{r['entity']['name']:<52} {total:<28} "
              f"{r['relations']:>9} {r['unstated']:>9}")
    print()
    sums, counts, unstated = {}, {}, {}
    for rel in all_relations(base, "FUNDS"):
        to = rel["to"]["id"]
        if rel["amount"] is None:
            unstated[to] = unstated.get(to, 0) + 1
            continue
        key = (to, rel["amount"]["currency"])
        sums[key] = sums.get(key, 0) + rel["amount"]["amount"]
        counts[key] = counts.get(key, 0) + 1
    failures = []
    for r in rows:
        eid = r["entity"]["id"]
        unstated[eid] = unstated.get(eid, 0) - r["unstated"]
        if r["relations"] == 0:
            # A recipient whose relations state no amount: a row of 0.
            continue
        key = (eid, r["total"]["currency"])
        if sums.pop(key, None) != r["total"]["amount"] or counts.pop(key) != r["relations"]:
            failures.append(f"total for {key}")
    if sums:
        failures.append(f"recipients missing from the totals: {sorted(sums)}")
    if any(unstated.values()):
        failures.append(f"relations with no amount miscounted: {unstated}")
    return failures


def duplicates(base):
    """Prints the pairs of entities the service finds alike."""
    pairs = graphql(
        base,
        """{ possibleDuplicates(first: 10) {
               a { id name } b { id name } score reasons } }""",
    )["possibleDuplicates"]
    print(f"Possible duplicates ({len(pairs)} pairs; merge with mergeEntities):")
    for p in pairs:
        print(f"  {p['score']:.2f}  {p['a']['name']}  ~  {p['b']['name']}")
        for reason in p["reasons"]:
            print(f"        {reason}")
    print()


def load_graphml(base):
    with urllib.request.urlopen(base + "/export/graphml", timeout=30) as response:
        return nx.read_graphml(io.BytesIO(response.read()))


def main():
    base = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080").rstrip("/")
    failures = []

    funding_table(base)

    graph = load_graphml(base)
    print(f"GraphML: {graph.number_of_nodes()} entities, {graph.number_of_edges()} relations "
          f"({type(graph).__name__})")
    print()

    chain = graphql(
        base,
        """query($from: ID!, $to: ID!) { shortestPath(from: $from, to: $to) {
               length entities { id name } relations { kind from { id } } } }""",
        {"from": PERSON, "to": FUND},
    )["shortestPath"]
    entities = chain["entities"]
    print(f"Shortest chain from a person to a fund ({chain['length']} hops, either direction):")
    line = entities[0]["name"]
    for i, rel in enumerate(chain["relations"]):
        # Relations are directed; a chain may follow one against its direction.
        forward = rel["from"]["id"] == entities[i]["id"]
        arrow = f" —{rel['kind']}→ " if forward else f" ←{rel['kind']}— "
        line += arrow + entities[i + 1]["name"]
    print(f"  {line}")
    undirected = nx.Graph(graph.to_undirected())
    nx_length = nx.shortest_path_length(undirected, PERSON, FUND)
    print(f"  networkx agrees: {nx_length} hops" if nx_length == chain["length"]
          else f"  networkx DISAGREES: {nx_length} hops")
    if nx_length != chain["length"]:
        failures.append("shortest path length")
    print()

    ranked = graphql(
        base,
        "{ centrality(measure: PAGERANK, first: 100) { rank score entity { id name } } }",
    )["centrality"]
    ours = {r["entity"]["id"]: r["score"] for r in ranked}
    theirs = nx.pagerank(graph, alpha=0.85, tol=1e-12, max_iter=10_000)
    print("Top entities by PageRank (service | networkx):")
    for r in ranked[:5]:
        eid = r["entity"]["id"]
        print(f"  {r['rank']}. {r['entity']['name']:<52} {r['score']:.6f} | {theirs[eid]:.6f}")
    worst = max(abs(ours[k] - theirs[k]) for k in theirs)
    if set(ours) != set(theirs) or worst > 1e-9:
        failures.append(f"PageRank (largest difference {worst:.2e})")
    else:
        print(f"  all {len(ours)} scores agree with networkx within {worst:.1e}")
    print()

    failures += totals_by_recipient(base)
    duplicates(base)

    if failures:
        print("DISAGREEMENT: " + ", ".join(failures))
        return 1
    print("networkx and the service agree; the totals match the relations.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
