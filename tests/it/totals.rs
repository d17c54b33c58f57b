//! `fundingTotals` and `timeline` over HTTP: totals checked against sums
//! worked out here from the relations the API lists, each qualifier rule
//! and mixed currencies on relations created through the API, timelines
//! in date order, and bad input refused with its code, changing nothing.

use crate::common::{arr, s, DOC};
use crate::writes::Writable;
use actix_web::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TOTALS: &str =
    "query($g: FundingGroup!, $k: [RelationKind!], $y: Int, $c: String, $n: Int) { \
     fundingTotals(groupBy: $g, kinds: $k, fiscalYear: $y, currency: $c, first: $n) { \
     entity { id } fiscalYear total { amount currency qualifier display } relations unstated } }";

const TIMELINE: &str = "query($id: ID, $from: Date, $to: Date, $first: Int) { \
     timeline(id: $id, from: $from, to: $to, first: $first) { \
     date label entity { id } relation { id } document { id } } }";

/// A read without the token that must succeed: its data.
async fn read(app: &Writable, query: &str, variables: Value) -> Value {
    let r = app.send(query, variables, None).await;
    let body = r.json();
    assert_eq!(r.status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"].clone()
}

/// A row as compared: group, amount, currency, qualifier, relations,
/// unstated.
type Row = (String, i64, String, String, u64, u64);

fn rows(d: &Value) -> Vec<Row> {
    arr(&d["fundingTotals"])
        .iter()
        .map(|r| {
            let group = match (&r["entity"]["id"], &r["fiscalYear"]) {
                (Value::String(id), _) => id.clone(),
                (_, Value::Number(y)) => y.to_string(),
                _ => "none".to_owned(),
            };
            (
                group,
                r["total"]["amount"].as_f64().unwrap() as i64,
                s(&r["total"]["currency"]).to_owned(),
                s(&r["total"]["qualifier"]).to_owned(),
                r["relations"].as_u64().unwrap(),
                r["unstated"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn totals(app: &Writable, vars: Value) -> Vec<Row> {
    rows(&read(app, TOTALS, vars).await)
}

fn row(group: &str, amount: i64, currency: &str, q: &str, relations: u64, unstated: u64) -> Row {
    (
        group.into(),
        amount,
        currency.into(),
        q.into(),
        relations,
        unstated,
    )
}

/// Every relation, paged through 100 at a time.
async fn all_relations(app: &Writable) -> Vec<Value> {
    let q = "query($after: String) { relations(first: 100, after: $after) { \
             edges { node { id kind from { id } to { id } fiscalYear \
             amount { amount currency qualifier } } } \
             pageInfo { hasNextPage endCursor } } }";
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let d = read(app, q, json!({ "after": after })).await;
        let page = &d["relations"];
        out.extend(arr(&page["edges"]).iter().map(|e| e["node"].clone()));
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return out;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// The rows the contract asks for, worked out plainly from the relations:
/// sums per group and currency, the qualifier from the set of qualifiers
/// seen, unstated relations on a group's largest row, a zero row for a
/// group with no amount, ordered by total, then group, then currency.
fn expected(relations: &[Value], group_by: &str, kinds: &[&str], year: Option<i64>) -> Vec<Row> {
    #[derive(Default)]
    struct Sum {
        amount: i128,
        seen: Vec<String>,
        count: u64,
    }
    let mut groups: BTreeMap<String, (BTreeMap<String, Sum>, u64)> = BTreeMap::new();
    for r in relations {
        if !kinds.contains(&s(&r["kind"])) {
            continue;
        }
        if year.is_some() && r["fiscalYear"].as_i64() != year {
            continue;
        }
        let key = match group_by {
            "SOURCE" => s(&r["from"]["id"]).to_owned(),
            "RECIPIENT" => s(&r["to"]["id"]).to_owned(),
            _ => r["fiscalYear"]
                .as_i64()
                .map_or("none".to_owned(), |y| y.to_string()),
        };
        let group = groups.entry(key).or_default();
        match r["amount"].as_object() {
            None => group.1 += 1,
            Some(m) => {
                let sum = group.0.entry(s(&m["currency"]).to_owned()).or_default();
                sum.amount += m["amount"].as_f64().unwrap() as i128;
                sum.seen.push(s(&m["qualifier"]).to_owned());
                sum.count += 1;
            }
        }
    }
    let qualifier = |seen: &[String]| {
        let has = |q: &str| seen.iter().any(|s| s == q);
        if has("APPROXIMATE") || (has("AT_LEAST") && has("AT_MOST")) {
            "APPROXIMATE"
        } else if has("AT_LEAST") {
            "AT_LEAST"
        } else if has("AT_MOST") {
            "AT_MOST"
        } else {
            "EXACT"
        }
    };
    let mut out = Vec::new();
    for (key, (sums, unstated)) in groups {
        let mut rows: Vec<Row> = sums
            .iter()
            .map(|(c, sum)| {
                row(
                    &key,
                    i64::try_from(sum.amount).unwrap(),
                    c,
                    qualifier(&sum.seen),
                    sum.count,
                    0,
                )
            })
            .collect();
        if rows.is_empty() {
            rows.push(row(&key, 0, "USD", "EXACT", 0, 0));
        }
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        rows[0].5 = unstated;
        out.extend(rows);
    }
    let group_order = |a: &str, b: &str| match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) if b == "none" => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) if a == "none" => std::cmp::Ordering::Greater,
        _ => a.cmp(b),
    };
    out.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(group_order(&a.0, &b.0))
            .then(a.2.cmp(&b.2))
    });
    out
}

#[actix_web::test]
async fn totals_on_the_article_match_the_sums_of_its_relations() {
    let app = Writable::new();
    let relations = all_relations(&app).await;
    assert!(relations.len() > 20, "the article's relations are listed");
    for group in ["SOURCE", "RECIPIENT", "FISCAL_YEAR"] {
        for kinds in [&["FUNDS"][..], &["FUNDS", "AUTHORIZES"][..]] {
            let got = totals(&app, json!({ "g": group, "k": kinds })).await;
            assert_eq!(
                got,
                expected(&relations, group, kinds, None),
                "{group} {kinds:?}"
            );
        }
    }

    // Worked by hand from the article: "more than $213 million" plus
    // "$130 million" is "more than $343 million".
    assert_eq!(
        totals(&app, json!({ "g": "SOURCE" })).await,
        [
            row("ctef", 343_000_000, "USD", "AT_LEAST", 2, 0),
            row("fy2026-ndaa", 343_000_000, "USD", "EXACT", 1, 1),
        ]
    );
    assert_eq!(
        totals(&app, json!({ "g": "RECIPIENT" })).await,
        [
            row(
                "partner-forces-in-iraq-and-syria",
                343_000_000,
                "USD",
                "EXACT",
                1,
                0
            ),
            row(
                "iraqs-security-institutions",
                213_000_000,
                "USD",
                "AT_LEAST",
                1,
                0
            ),
            row("partner-forces-in-syria", 130_000_000, "USD", "EXACT", 1, 0),
            // Funded, amount unstated: a zero row that keeps it seen.
            row("cjtf-oir", 0, "USD", "EXACT", 0, 1),
        ]
    );
    let d = read(&app, TOTALS, json!({ "g": "FISCAL_YEAR", "y": 2026 })).await;
    assert_eq!(
        rows(&d),
        [row("2026", 686_000_000, "USD", "AT_LEAST", 3, 1)]
    );
    assert_eq!(
        d["fundingTotals"][0]["total"]["display"],
        "more than $686 million"
    );
    assert_eq!(d["fundingTotals"][0]["entity"], Value::Null);
    // No relation is for 2025.
    assert_eq!(
        totals(&app, json!({ "g": "RECIPIENT", "y": 2025 })).await,
        []
    );
    // `first` keeps the head of the same order.
    let all = totals(&app, json!({ "g": "RECIPIENT" })).await;
    for n in [1, 2, 4, 100] {
        let head = totals(&app, json!({ "g": "RECIPIENT", "n": n })).await;
        assert_eq!(head, all[..n.min(all.len())], "first: {n}");
    }
}

/// Evidence from the article.
fn article() -> Value {
    json!([{ "document": DOC, "quote": "including the Asayish and Peshmerga" }])
}

async fn create_entity(app: &Writable, id: &str, kind: &str) {
    let q = "mutation($input: EntityInput!) { createEntity(input: $input) { id } }";
    let input = json!({ "id": id, "kind": kind, "name": id.to_uppercase(), "sources": article() });
    app.ok(q, json!({ "input": input })).await;
}

async fn create_funds(app: &Writable, id: &str, ends: (&str, &str), amount: Value, year: Value) {
    let q = "mutation($input: RelationInput!) { createRelation(input: $input) { id } }";
    let input = json!({
        "id": id, "kind": "FUNDS", "from": ends.0, "to": ends.1,
        "amount": amount, "fiscalYear": year, "sources": article(),
    });
    app.ok(q, json!({ "input": input })).await;
}

fn money(amount: i64, currency: &str, qualifier: &str) -> Value {
    json!({ "amount": amount, "currency": currency, "qualifier": qualifier })
}

#[actix_web::test]
async fn each_qualifier_rule_and_currencies_never_summed() {
    let app = Writable::new();
    create_entity(&app, "test-fund", "FUND").await;
    let rules = [
        ("r-exact", "EXACT", "EXACT", "EXACT"),
        ("r-least", "EXACT", "AT_LEAST", "AT_LEAST"),
        ("r-most", "AT_MOST", "EXACT", "AT_MOST"),
        ("r-approx", "EXACT", "APPROXIMATE", "APPROXIMATE"),
        ("r-both", "AT_LEAST", "AT_MOST", "APPROXIMATE"),
        ("r-mixed", "EXACT", "EXACT", "EXACT"),
    ];
    for (i, (to, a, b, _)) in rules.iter().enumerate() {
        create_entity(&app, to, "ARMED_FORCE").await;
        let base = 1_000 * (i as i64 + 1);
        create_funds(
            &app,
            &format!("{to}-1"),
            ("test-fund", to),
            money(base, "USD", a),
            json!(2030),
        )
        .await;
        create_funds(
            &app,
            &format!("{to}-2"),
            ("test-fund", to),
            money(base + 1, "USD", b),
            json!(2030),
        )
        .await;
    }
    // r-mixed also gets euros, more than its dollars, and an unstated one.
    create_funds(
        &app,
        "r-mixed-eur",
        ("test-fund", "r-mixed"),
        money(50_000, "EUR", "AT_LEAST"),
        json!(2030),
    )
    .await;
    create_funds(
        &app,
        "r-mixed-none",
        ("test-fund", "r-mixed"),
        json!(null),
        json!(2030),
    )
    .await;

    let got = totals(&app, json!({ "g": "RECIPIENT", "y": 2030 })).await;
    assert_eq!(
        got,
        [
            // The euros are never added to the dollars; the unstated
            // relation counts on the group's largest row.
            row("r-mixed", 50_000, "EUR", "AT_LEAST", 1, 1),
            row("r-mixed", 12_001, "USD", "EXACT", 2, 0),
            row("r-both", 10_001, "USD", "APPROXIMATE", 2, 0),
            row("r-approx", 8_001, "USD", "APPROXIMATE", 2, 0),
            row("r-most", 6_001, "USD", "AT_MOST", 2, 0),
            row("r-least", 4_001, "USD", "AT_LEAST", 2, 0),
            row("r-exact", 2_001, "USD", "EXACT", 2, 0),
        ]
    );
    for (to, _, _, want) in rules {
        assert!(got.iter().any(|r| r.0 == to && r.3 == want), "{to}: {want}");
    }
    // The plain sums agree, over everything the API lists now.
    let relations = all_relations(&app).await;
    for group in ["SOURCE", "RECIPIENT", "FISCAL_YEAR"] {
        assert_eq!(
            totals(&app, json!({ "g": group })).await,
            expected(&relations, group, &["FUNDS"], None),
            "{group}"
        );
    }
    // One source, one year: a row per currency.
    assert_eq!(
        totals(&app, json!({ "g": "SOURCE", "y": 2030 })).await,
        [
            // The euros are the larger figure: the unstated one is theirs.
            row("test-fund", 50_000, "EUR", "AT_LEAST", 1, 1),
            row("test-fund", 42_006, "USD", "APPROXIMATE", 12, 0),
        ]
    );
    // Only euros: the unstated relation still counts, dollars do not.
    assert_eq!(
        totals(&app, json!({ "g": "FISCAL_YEAR", "c": "EUR" })).await,
        [
            row("2030", 50_000, "EUR", "AT_LEAST", 1, 1),
            row("2026", 0, "EUR", "EXACT", 0, 1),
        ]
    );
}

#[actix_web::test]
async fn bad_input_is_refused_with_its_code_and_changes_nothing() {
    let app = Writable::new();
    let before = app.snapshot().await["graphVersion"].as_u64().unwrap();
    let cases = [
        (
            TOTALS,
            json!({ "g": "SOURCE", "k": ["PART_OF"] }),
            "BAD_USER_INPUT",
        ),
        (TOTALS, json!({ "g": "SOURCE", "k": [] }), "BAD_USER_INPUT"),
        (
            TOTALS,
            json!({ "g": "SOURCE", "c": "usd" }),
            "BAD_USER_INPUT",
        ),
        (
            TOTALS,
            json!({ "g": "SOURCE", "c": "DOLLARS" }),
            "BAD_USER_INPUT",
        ),
        (TOTALS, json!({ "g": "SOURCE", "n": 0 }), "BAD_USER_INPUT"),
        (TOTALS, json!({ "g": "SOURCE", "n": 101 }), "BAD_USER_INPUT"),
        (TIMELINE, json!({ "id": "no-such-entity" }), "NOT_FOUND"),
        (
            TIMELINE,
            json!({ "from": "2025-02-01", "to": "2025-01-31" }),
            "BAD_USER_INPUT",
        ),
        (TIMELINE, json!({ "first": 0 }), "BAD_USER_INPUT"),
        (TIMELINE, json!({ "first": 101 }), "BAD_USER_INPUT"),
        (TIMELINE, json!({ "first": -1 }), "BAD_USER_INPUT"),
    ];
    for (query, vars, code) in cases {
        let (got, message, version) = app.refused(query, vars.clone()).await;
        assert_eq!(got, code, "{vars}: {message}");
        assert_eq!(version, before, "{vars}");
    }
    // Not a date at all: refused by the scalar, before any field runs.
    let r = app
        .send(TIMELINE, json!({ "from": "2025-13-01" }), None)
        .await;
    assert!(!arr(&r.json()["errors"]).is_empty());
    assert_eq!(
        app.snapshot().await["graphVersion"].as_u64().unwrap(),
        before
    );
}

/// A report of 2024-05-01 with a dated FUNDS relation to the Peshmerga
/// (2024-04-15), a drill (2024-04-01) they took part in, and an undated
/// SUPPORTS relation.
async fn ingest_report(app: &Writable) {
    let text = "The fund paid the Peshmerga. The Peshmerga joined the spring drill.";
    let src = |quote: &str| json!([{ "document": "wire-report", "quote": quote }]);
    let input = json!({
        "document": {
            "id": "wire-report", "title": "Spring funding", "publisher": "Wire",
            "publishedOn": "2024-05-01", "text": text,
        },
        "entities": [{
            "id": "spring-drill", "kind": "EVENT", "name": "Spring drill",
            "date": "2024-04-01", "sources": src("the spring drill"),
        }],
        "relations": [
            {
                "id": "ctef-paid-peshmerga", "kind": "FUNDS", "from": "ctef", "to": "peshmerga",
                "amount": { "amount": 5000000 }, "fiscalYear": 2024, "date": "2024-04-15",
                "sources": src("The fund paid the Peshmerga."),
            },
            {
                "id": "peshmerga-in-spring-drill", "kind": "PARTICIPATES_IN",
                "from": "peshmerga", "to": "spring-drill",
                "sources": src("The Peshmerga joined the spring drill."),
            },
        ],
    });
    let q = "mutation($input: IngestInput!) { ingest(input: $input) { graphVersion } }";
    app.ok(q, json!({ "input": input })).await;
}

/// `(date, label, what)` of each entry, `what` naming the dated thing.
fn entries(d: &Value) -> Vec<(String, String, String)> {
    arr(&d["timeline"])
        .iter()
        .map(|e| {
            let set: Vec<String> = ["entity", "relation", "document"]
                .iter()
                .filter(|k| !e[**k].is_null())
                .map(|k| format!("{k}:{}", s(&e[*k]["id"])))
                .collect();
            assert_eq!(set.len(), 1, "exactly one thing is dated: {e}");
            (
                s(&e["date"]).to_owned(),
                s(&e["label"]).to_owned(),
                set[0].clone(),
            )
        })
        .collect()
}

fn entry(date: &str, label: &str, what: &str) -> (String, String, String) {
    (date.into(), label.into(), what.into())
}

#[actix_web::test]
async fn timelines_of_the_article_and_of_an_entity_in_date_order() {
    let app = Writable::new();
    let meeting = entry(
        "2025-11-06",
        "technical meeting on Nov. 6, 2025 took place",
        "entity:nov-6-2025-technical-meeting",
    );
    // The article states one date: the meeting's (it has no publication
    // date).
    let d = read(&app, TIMELINE, json!({})).await;
    assert_eq!(entries(&d), std::slice::from_ref(&meeting));
    // The talks the meeting is part of: the meeting's date.
    let d = read(&app, TIMELINE, json!({ "id": "us-iraq-talks" })).await;
    assert_eq!(entries(&d), std::slice::from_ref(&meeting));
    // The Peshmerga: nothing dated yet.
    let d = read(&app, TIMELINE, json!({ "id": "peshmerga" })).await;
    assert_eq!(entries(&d), []);

    ingest_report(&app).await;
    let names = read(
        &app,
        "{ a: entity(id: \"ctef\") { name } b: entity(id: \"peshmerga\") { name } }",
        json!({}),
    )
    .await;
    let funds = format!(
        "{} funds {} (FY2024, $5 million)",
        s(&names["a"]["name"]),
        s(&names["b"]["name"])
    );
    let drill = entry(
        "2024-04-01",
        "Spring drill took place",
        "entity:spring-drill",
    );
    let paid = entry("2024-04-15", &funds, "relation:ctef-paid-peshmerga");
    let published = entry(
        "2024-05-01",
        "Document 'Spring funding' published by Wire",
        "document:wire-report",
    );
    let d = read(&app, TIMELINE, json!({ "id": "peshmerga" })).await;
    assert_eq!(
        entries(&d),
        [drill.clone(), paid.clone(), published.clone()]
    );
    let d = read(&app, TIMELINE, json!({})).await;
    let all = entries(&d);
    assert_eq!(
        all,
        [
            drill.clone(),
            paid.clone(),
            published.clone(),
            meeting.clone()
        ]
    );
    assert!(all.windows(2).all(|w| w[0].0 <= w[1].0), "in date order");
    // An inclusive range, and the first few.
    let d = read(
        &app,
        TIMELINE,
        json!({ "from": "2024-04-15", "to": "2025-11-06" }),
    )
    .await;
    assert_eq!(entries(&d), [paid.clone(), published.clone(), meeting]);
    let d = read(
        &app,
        TIMELINE,
        json!({ "id": "peshmerga", "to": "2024-04-15", "first": 1 }),
    )
    .await;
    assert_eq!(entries(&d), [drill]);
    let d = read(
        &app,
        TIMELINE,
        json!({ "id": "peshmerga", "from": "2024-05-02" }),
    )
    .await;
    assert_eq!(entries(&d), []);
}

#[actix_web::test]
async fn an_entity_timeline_kept_for_later_follows_writes_that_change_it() {
    let app = Writable::new();
    ingest_report(&app).await;
    let vars = json!({ "id": "peshmerga" });
    let before = read(&app, TIMELINE, vars.clone()).await;
    let (hits, _) = app.state.response_cache_stats();
    // A write elsewhere leaves the kept answer standing.
    create_entity(&app, "unrelated-force", "ARMED_FORCE").await;
    assert_eq!(read(&app, TIMELINE, vars.clone()).await, before);
    assert_eq!(app.state.response_cache_stats().0, hits + 1, "a cache hit");
    // Renaming the other end of a relation changes its label.
    let q =
        "mutation($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { id } }";
    app.ok(
        q,
        json!({ "id": "ctef", "patch": { "name": "Renamed Fund" } }),
    )
    .await;
    let after = read(&app, TIMELINE, vars.clone()).await;
    let label = s(&after["timeline"][1]["label"]);
    assert!(
        label.starts_with("Renamed Fund funds ") && label.ends_with(" (FY2024, $5 million)"),
        "{label}"
    );
    // A new dated relation on it appears.
    let q = "mutation($input: RelationInput!) { createRelation(input: $input) { id } }";
    let input = json!({
        "id": "cjtf-oir-supports-peshmerga-2025", "kind": "SUPPORTS", "from": "cjtf-oir",
        "to": "peshmerga", "date": "2025-01-02", "sources": article(),
    });
    app.ok(q, json!({ "input": input })).await;
    let last = read(&app, TIMELINE, vars).await;
    let got = entries(&last);
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].2, "relation:cjtf-oir-supports-peshmerga-2025");
    assert_eq!(got[3].0, "2025-01-02");
}
