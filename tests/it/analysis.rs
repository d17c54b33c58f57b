//! `centrality`: scores checked against independent computations on the
//! relations the API lists.

use crate::common::{arr, data, s};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Every entity id and every relation as `(from, to)`.
async fn graph() -> (Vec<String>, Vec<(String, String)>) {
    let d = data(
        "{ entities(first: 100) { nodes { id } } relations(first: 100) { nodes { from { id } to { id } } } }",
        json!(null),
    )
    .await;
    let entities = arr(&d["entities"]["nodes"])
        .iter()
        .map(|n| s(&n["id"]).to_owned())
        .collect();
    let relations = arr(&d["relations"]["nodes"])
        .iter()
        .map(|r| (s(&r["from"]["id"]).to_owned(), s(&r["to"]["id"]).to_owned()))
        .collect();
    (entities, relations)
}

async fn ranking(measure: &str, kind: Option<&str>) -> Vec<Value> {
    let d = data(
        "query($m: CentralityMeasure!, $k: EntityKind) { centrality(measure: $m, kind: $k, first: 100) { rank score entity { id kind } } }",
        json!({ "m": measure, "k": kind }),
    )
    .await;
    arr(&d["centrality"]).clone()
}

fn scores(ranked: &[Value]) -> BTreeMap<String, f64> {
    ranked
        .iter()
        .map(|r| {
            (
                s(&r["entity"]["id"]).to_owned(),
                r["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Ranks are 1..n, by score descending, then by id.
fn check_ranking(ranked: &[Value], n: usize) {
    assert_eq!(ranked.len(), n);
    for (i, r) in ranked.iter().enumerate() {
        assert_eq!(r["rank"].as_u64(), Some(i as u64 + 1));
    }
    for pair in ranked.windows(2) {
        let (a, b) = (
            pair[0]["score"].as_f64().unwrap(),
            pair[1]["score"].as_f64().unwrap(),
        );
        assert!(a >= b, "scores descend: {pair:?}");
        if a == b {
            assert!(
                s(&pair[0]["entity"]["id"]) < s(&pair[1]["entity"]["id"]),
                "ties by id"
            );
        }
    }
}

#[actix_web::test]
async fn degree_is_the_raw_count_of_relations() {
    let (entities, relations) = graph().await;
    let ranked = ranking("DEGREE", None).await;
    check_ranking(&ranked, entities.len());
    let mut want: BTreeMap<String, f64> = entities.iter().map(|e| (e.clone(), 0.0)).collect();
    for (a, b) in &relations {
        *want.get_mut(a).unwrap() += 1.0;
        *want.get_mut(b).unwrap() += 1.0;
    }
    assert_eq!(scores(&ranked), want);
    assert_eq!(want["peshmerga"], 7.0);
    assert_eq!(want["ctef"], 3.0);
}

#[actix_web::test]
async fn pagerank_is_the_damped_fixed_point() {
    let (entities, relations) = graph().await;
    let ranked = ranking("PAGERANK", None).await;
    check_ranking(&ranked, entities.len());
    let pr = scores(&ranked);
    let n = entities.len() as f64;
    let alpha = 0.85;
    let total: f64 = pr.values().sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "PageRank sums to 1, got {total}"
    );
    let mut out: HashMap<&str, f64> = HashMap::new();
    for (a, _) in &relations {
        *out.entry(a.as_str()).or_default() += 1.0;
    }
    let dangling: f64 = entities
        .iter()
        .filter(|e| !out.contains_key(e.as_str()))
        .map(|e| pr[e])
        .sum();
    for v in &entities {
        let inflow: f64 = relations
            .iter()
            .filter(|(_, b)| b == v)
            .map(|(a, _)| pr[a] / out[a.as_str()])
            .sum();
        let want = (1.0 - alpha) / n + alpha * (inflow + dangling / n);
        assert!(
            (pr[v] - want).abs() < 1e-9,
            "PageRank of {v}: {} but the fixed point gives {want}",
            pr[v]
        );
    }
}

#[actix_web::test]
async fn betweenness_is_normalised_on_the_undirected_graph() {
    let (entities, relations) = graph().await;
    let ranked = ranking("BETWEENNESS", None).await;
    check_ranking(&ranked, entities.len());
    let got = scores(&ranked);

    // Brute force over all pairs: sigma and distances by BFS from each entity.
    let index: HashMap<&str, usize> = entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), i))
        .collect();
    let n = entities.len();
    let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (a, b) in &relations {
        let (a, b) = (index[a.as_str()], index[b.as_str()]);
        adj[a].insert(b);
        adj[b].insert(a);
    }
    let mut dist = vec![vec![usize::MAX; n]; n];
    let mut sigma = vec![vec![0.0f64; n]; n];
    for src in 0..n {
        dist[src][src] = 0;
        sigma[src][src] = 1.0;
        let mut queue = VecDeque::from([src]);
        while let Some(u) = queue.pop_front() {
            for &w in &adj[u] {
                if dist[src][w] == usize::MAX {
                    dist[src][w] = dist[src][u] + 1;
                    queue.push_back(w);
                }
                if dist[src][w] == dist[src][u] + 1 {
                    sigma[src][w] += sigma[src][u];
                }
            }
        }
    }
    let scale = 2.0 / ((n - 1) as f64 * (n - 2) as f64);
    for v in 0..n {
        let mut b = 0.0;
        for src in 0..n {
            for dst in (src + 1)..n {
                if src == v || dst == v || dist[src][dst] == usize::MAX {
                    continue;
                }
                if dist[src][v] != usize::MAX
                    && dist[v][dst] != usize::MAX
                    && dist[src][v] + dist[v][dst] == dist[src][dst]
                {
                    b += sigma[src][v] * sigma[v][dst] / sigma[src][dst];
                }
            }
        }
        let want = b * scale;
        let have = got[&entities[v]];
        assert!(
            (have - want).abs() < 1e-9,
            "betweenness of {}: {have} but {want}",
            entities[v]
        );
    }
}

#[actix_web::test]
async fn centrality_kind_filters_after_ranking() {
    for measure in ["DEGREE", "PAGERANK", "BETWEENNESS"] {
        let all = ranking(measure, None).await;
        let forces = ranking(measure, Some("ARMED_FORCE")).await;
        assert_eq!(forces.len(), 5, "{measure}");
        for r in &forces {
            assert_eq!(r["entity"]["kind"], "ARMED_FORCE");
            let same = all
                .iter()
                .find(|a| a["entity"]["id"] == r["entity"]["id"])
                .unwrap();
            assert_eq!(
                r["rank"], same["rank"],
                "{measure}: rank in the whole graph"
            );
            assert_eq!(r["score"], same["score"]);
        }
    }
    let d = data(
        "{ centrality(measure: DEGREE, kind: PERSON, first: 1) { rank entity { id } } top: centrality(measure: DEGREE, first: 3) { rank } }",
        json!(null),
    )
    .await;
    assert_eq!(d["centrality"][0]["entity"]["id"], "issa-ozeir");
    assert_eq!(arr(&d["top"]).len(), 3);
}
