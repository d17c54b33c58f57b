//! Exports through the real interfaces: `GET /export/{format}` and the
//! GraphQL `export` field of the in-process application, and the binary's
//! `export` and `import` subcommands on data directories of their own,
//! round-tripping every format and reading FollowTheMoney data from
//! elsewhere.

use crate::common::{arr, data, error_code, s, send, Resp};
use crate::server::{command, run_bounded, ARTICLE_ENTITIES, ARTICLE_RELATIONS};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// An export format: its URL / command-line name, its GraphQL enum value,
/// its media type and its file name extension.
struct Fmt {
    name: &'static str,
    gql: &'static str,
    media: &'static str,
    ext: &'static str,
}

const FORMATS: [Fmt; 7] = [
    Fmt {
        name: "graphml",
        gql: "GRAPHML",
        media: "application/graphml+xml",
        ext: "graphml",
    },
    Fmt {
        name: "gexf",
        gql: "GEXF",
        media: "application/gexf+xml",
        ext: "gexf",
    },
    Fmt {
        name: "node-link",
        gql: "NODE_LINK",
        media: "application/json",
        ext: "node-link.json",
    },
    Fmt {
        name: "cytoscape",
        gql: "CYTOSCAPE",
        media: "application/json",
        ext: "cyjs.json",
    },
    Fmt {
        name: "csv",
        gql: "CSV",
        media: "application/zip",
        ext: "zip",
    },
    Fmt {
        name: "ftm",
        gql: "FTM",
        media: "application/x-ndjson",
        ext: "ftm.jsonl",
    },
    Fmt {
        name: "json",
        gql: "JSON",
        media: "application/json",
        ext: "json",
    },
];

fn fmt(name: &str) -> &'static Fmt {
    FORMATS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no format {name}"))
}

/// The neighbourhood of `ctef` one hop out.
const CTEF_1: [&str; 4] = [
    "ctef",
    "fy2026-ndaa",
    "iraqs-security-institutions",
    "partner-forces-in-syria",
];

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

async fn get(uri: &str) -> Resp {
    send(TestRequest::get().uri(uri)).await
}

/// `GET uri`, which must answer 200 with a non-empty body.
async fn get_ok(uri: &str) -> Resp {
    let r = get(uri).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    assert!(!r.body.is_empty(), "{uri}: an empty 200");
    r
}

fn ids_of(list: &Value) -> Vec<String> {
    arr(list).iter().map(|x| s(&x["id"]).to_owned()).collect()
}

fn kinds_of(list: &Value) -> BTreeSet<String> {
    arr(list).iter().map(|x| s(&x["kind"]).to_owned()).collect()
}

/// The files of a zip, by name.
fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    assert!(bytes.starts_with(b"PK"), "not a zip");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable zip");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().unwrap().into_owned(), text)
        })
        .collect()
}

/// The records of a CSV file (header excluded).
fn csv_records(text: &str) -> usize {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .inspect(|r| assert!(r.is_ok(), "a CSV record: {r:?}"))
        .count()
}

/// Checks that a whole-graph export body is of its format, with the
/// article's 24 entities and 43 relations.
fn check_whole_body(f: &Fmt, body: &[u8]) {
    let (entities, relations) = (ARTICLE_ENTITIES as usize, ARTICLE_RELATIONS as usize);
    let text = || std::str::from_utf8(body).expect("a text export is UTF-8");
    let json = || -> Value { serde_json::from_slice(body).expect("the export is JSON") };
    match f.name {
        "graphml" => {
            assert!(text().starts_with("<?xml"), "{}", &text()[..80]);
            assert!(text().contains("<graphml"));
            assert_eq!(text().matches("<node ").count(), entities);
            assert_eq!(text().matches("<edge ").count(), relations);
        }
        "gexf" => {
            assert!(text().starts_with("<?xml"), "{}", &text()[..80]);
            assert!(text().contains("<gexf"));
            assert_eq!(text().matches("<node ").count(), entities);
            assert_eq!(text().matches("<edge ").count(), relations);
        }
        "node-link" => {
            let v = json();
            assert_eq!(v["directed"], true);
            assert_eq!(v["multigraph"], true);
            assert_eq!(arr(&v["nodes"]).len(), entities);
            assert_eq!(arr(&v["edges"]).len(), relations);
        }
        "cytoscape" => {
            let v = json();
            assert_eq!(arr(&v["elements"]["nodes"]).len(), entities);
            assert_eq!(arr(&v["elements"]["edges"]).len(), relations);
            assert!(arr(&v["elements"]["nodes"])
                .iter()
                .all(|n| n["data"]["id"].is_string()));
        }
        "csv" => {
            let files = unzip(body);
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            for want in ["nodes.csv", "edges.csv"] {
                assert!(names.contains(&want), "{want} in {names:?}");
            }
            for (name, text) in &files {
                match name.as_str() {
                    "nodes.csv" => assert_eq!(csv_records(text), entities),
                    "edges.csv" => assert_eq!(csv_records(text), relations),
                    _ => {}
                }
            }
        }
        "ftm" => {
            let lines: Vec<&str> = text().lines().filter(|l| !l.trim().is_empty()).collect();
            for (i, line) in lines.iter().enumerate() {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("line {}: not JSON ({e}): {line}", i + 1));
                assert!(v.is_object(), "line {}: {line}", i + 1);
                assert!(v["schema"].is_string(), "line {} has a schema", i + 1);
                assert!(v["id"].is_string(), "line {} has an id", i + 1);
            }
            // The article, every entity and every relation.
            assert_eq!(lines.len(), 1 + entities + relations);
        }
        "json" => {
            let v = json();
            assert_eq!(arr(&v["entities"]).len(), entities);
            assert_eq!(arr(&v["relations"]).len(), relations);
            assert_eq!(ids_of(&v["documents"]), [crate::common::DOC]);
        }
        other => panic!("unexpected format {other}"),
    }
}

#[actix_web::test]
async fn every_format_is_served_as_a_file_of_its_format() {
    for f in &FORMATS {
        let r = get_ok(&format!("/export/{}", f.name)).await;
        let want = if f.name == "csv" {
            f.media.to_owned()
        } else {
            format!("{}; charset=utf-8", f.media)
        };
        assert_eq!(
            r.header("content-type").as_deref(),
            Some(&*want),
            "{}",
            f.name
        );
        assert_eq!(
            r.header("content-disposition").as_deref(),
            Some(&*format!("attachment; filename=\"partnergraph.{}\"", f.ext)),
            "{}",
            f.name
        );
        check_whole_body(f, &r.body);

        // Exports are deterministic: the same request, the same bytes.
        let again = get_ok(&format!("/export/{}", f.name)).await;
        assert_eq!(again.body, r.body, "{} is byte-identical", f.name);

        // A neighbourhood is named after its centre.
        let r = get_ok(&format!("/export/{}?id=ctef", f.name)).await;
        assert_eq!(
            r.header("content-type").as_deref(),
            Some(&*want),
            "{}",
            f.name
        );
        assert_eq!(
            r.header("content-disposition").as_deref(),
            Some(&*format!(
                "attachment; filename=\"partnergraph-ctef.{}\"",
                f.ext
            )),
            "{}",
            f.name
        );
    }
}

#[actix_web::test]
async fn a_neighbourhood_is_exported_with_its_relations_only() {
    let v = get_ok("/export/json?id=ctef&depth=1").await.json();
    assert_eq!(ids_of(&v["entities"]), CTEF_1);
    assert_eq!(
        ids_of(&v["relations"]),
        [
            "ctef-funds-iraqs-security-institutions",
            "ctef-funds-partner-forces-in-syria",
            "fy2026-ndaa-authorizes-ctef",
        ]
    );
    assert_eq!(ids_of(&v["documents"]), [crate::common::DOC]);

    // The default depth is 1.
    let default = get_ok("/export/json?id=ctef").await;
    assert_eq!(default.json(), v);

    // The same part in node-link.
    let nl = get_ok("/export/node-link?id=ctef&depth=1").await.json();
    assert_eq!(ids_of(&nl["nodes"]), CTEF_1);
    assert_eq!(arr(&nl["edges"]).len(), 3);
    for e in arr(&nl["edges"]) {
        assert!(CTEF_1.contains(&s(&e["source"])), "{e}");
        assert!(CTEF_1.contains(&s(&e["target"])), "{e}");
    }

    // Depth 0 is the centre alone.
    let v = get_ok("/export/json?id=ctef&depth=0").await.json();
    assert_eq!(ids_of(&v["entities"]), ["ctef"]);
    assert!(arr(&v["relations"]).is_empty());

    // The neighbourhood walks only the selected relation kinds.
    let v = get_ok("/export/json?id=ctef&relationKinds=FUNDS")
        .await
        .json();
    assert_eq!(
        ids_of(&v["entities"]),
        [
            "ctef",
            "iraqs-security-institutions",
            "partner-forces-in-syria"
        ]
    );
    assert_eq!(kinds_of(&v["relations"]), BTreeSet::from(["FUNDS".into()]));
    assert_eq!(arr(&v["relations"]).len(), 2);
}

#[actix_web::test]
async fn kinds_select_entities_and_relations() {
    let v = get_ok("/export/json?entityKinds=COUNTRY,REGION")
        .await
        .json();
    let entities = arr(&v["entities"]);
    assert_eq!(entities.len(), 4, "3 countries and a region: {v:#}");
    assert_eq!(
        kinds_of(&v["entities"]),
        BTreeSet::from(["COUNTRY".into(), "REGION".into()])
    );
    let chosen: BTreeSet<&str> = entities.iter().map(|e| s(&e["id"])).collect();
    for r in arr(&v["relations"]) {
        assert!(chosen.contains(s(&r["from"])), "{r}");
        assert!(chosen.contains(s(&r["to"])), "{r}");
    }
    // Spaces after commas are forgiven.
    let spaced = get_ok("/export/json?entityKinds=COUNTRY,%20REGION").await;
    assert_eq!(spaced.json(), v);

    let v = get_ok("/export/json?relationKinds=FUNDS").await.json();
    assert_eq!(kinds_of(&v["relations"]), BTreeSet::from(["FUNDS".into()]));
    assert_eq!(arr(&v["relations"]).len(), 4);
    // Every entity stays: only relations are filtered.
    assert_eq!(arr(&v["entities"]).len(), ARTICLE_ENTITIES as usize);

    // Both at once, in another format.
    let nl = get_ok("/export/node-link?entityKinds=FUND,LEGISLATION&relationKinds=AUTHORIZES")
        .await
        .json();
    assert_eq!(ids_of(&nl["nodes"]), ["ctef", "fy2026-ndaa"]);
    assert_eq!(arr(&nl["edges"]).len(), 1);
    assert_eq!(nl["edges"][0]["key"], "fy2026-ndaa-authorizes-ctef");
}

/// The first error of an export that failed: its message and code.
fn problem(r: &Resp, uri: &str) -> (String, String) {
    assert!(!r.body.is_empty(), "{uri}: an error with an empty body");
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{uri}: a JSON error, got {:?}",
        r.header("content-type")
    );
    assert!(
        r.header("content-disposition").is_none(),
        "{uri}: an error is no attachment"
    );
    let v = r.json();
    (
        s(&v["errors"][0]["message"]).to_owned(),
        s(&v["errors"][0]["extensions"]["code"]).to_owned(),
    )
}

#[actix_web::test]
async fn export_errors_are_json_problems_never_empty_files() {
    // An unknown format names the valid ones.
    for uri in ["/export/xml", "/export/graphml2", "/export/csv.zip"] {
        let r = get(uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text());
        let (message, code) = problem(&r, uri);
        assert_eq!(code, "NOT_FOUND", "{uri}");
        for f in &FORMATS {
            assert!(
                message.contains(f.name),
                "{uri}: {message} names {}",
                f.name
            );
        }
    }

    for f in &FORMATS {
        let base = format!("/export/{}", f.name);
        // An unknown centre.
        let uri = format!("{base}?id=no-such-entity");
        let r = get(&uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text());
        let (message, code) = problem(&r, &uri);
        assert_eq!(code, "NOT_FOUND", "{uri}");
        assert!(message.contains("no-such-entity"), "{uri}: {message}");

        // Too deep, or a depth without a centre.
        for uri in [
            format!("{base}?id=ctef&depth=9"),
            format!("{base}?depth=1"),
            format!("{base}?depth=9"),
        ] {
            let r = get(&uri).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
            let (message, code) = problem(&r, &uri);
            assert_eq!(code, "BAD_USER_INPUT", "{uri}");
            assert!(message.contains("depth"), "{uri}: {message}");
        }

        // A kind that does not exist is named.
        for (uri, name) in [
            (format!("{base}?entityKinds=COUNTRY,NOPE_KIND"), "NOPE_KIND"),
            (format!("{base}?relationKinds=FUNDS,FUNDZ"), "FUNDZ"),
            (format!("{base}?entityKinds=country"), "country"),
            (format!("{base}?id=ctef&relationKinds=BOGUS"), "BOGUS"),
        ] {
            let r = get(&uri).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
            let (message, code) = problem(&r, &uri);
            assert_eq!(code, "BAD_USER_INPUT", "{uri}");
            assert!(message.contains(name), "{uri}: {message} names {name}");
        }

        // A depth that is not a number is a client error too.
        for uri in [
            format!("{base}?id=ctef&depth=two"),
            format!("{base}?id=ctef&depth=-1"),
        ] {
            let r = get(&uri).await;
            assert!(
                r.status.is_client_error(),
                "{uri}: {} {}",
                r.status,
                r.text()
            );
            assert!(r.header("content-disposition").is_none(), "{uri}");
        }
    }
}

// ---------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------

const EXPORT: &str = "query($format: ExportFormat!, $id: ID, $depth: Int, \
    $entityKinds: [EntityKind!], $relationKinds: [RelationKind!]) { \
    export(format: $format, id: $id, depth: $depth, entityKinds: $entityKinds, \
    relationKinds: $relationKinds) }";

/// The selections compared between GraphQL and HTTP: the variables and the
/// query string.
fn selections() -> Vec<(Value, &'static str)> {
    vec![
        (json!({}), ""),
        (json!({ "id": "ctef", "depth": 1 }), "?id=ctef&depth=1"),
        (json!({ "id": "ctef" }), "?id=ctef"),
        (
            json!({ "entityKinds": ["COUNTRY", "REGION"] }),
            "?entityKinds=COUNTRY,REGION",
        ),
        (
            json!({ "relationKinds": ["FUNDS"] }),
            "?relationKinds=FUNDS",
        ),
        (
            json!({ "id": "peshmerga", "depth": 2, "relationKinds": ["PART_OF", "FUNDS"] }),
            "?id=peshmerga&depth=2&relationKinds=PART_OF,FUNDS",
        ),
    ]
}

fn with_format(vars: &Value, format: &str) -> Value {
    let mut vars = vars.clone();
    vars["format"] = json!(format);
    vars
}

#[actix_web::test]
async fn the_graphql_field_is_the_http_file() {
    for name in ["json", "graphml", "node-link", "gexf", "cytoscape", "ftm"] {
        let f = fmt(name);
        for (vars, query) in selections() {
            let d = data(EXPORT, with_format(&vars, f.gql)).await;
            let http = get_ok(&format!("/export/{}{query}", f.name)).await;
            assert_eq!(
                s(&d["export"]),
                http.text(),
                "{} {vars}: GraphQL and HTTP agree",
                f.name
            );
        }
    }

    // CSV, a zip, comes base64-encoded.
    let f = fmt("csv");
    for (vars, query) in selections() {
        let d = data(EXPORT, with_format(&vars, f.gql)).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s(&d["export"]))
            .expect("CSV comes as base64");
        assert!(bytes.starts_with(b"PK"), "a zip");
        let http = get_ok(&format!("/export/csv{query}")).await;
        assert_eq!(
            bytes,
            http.body.to_vec(),
            "csv {vars}: GraphQL and HTTP agree"
        );
    }
    let d = data(EXPORT, json!({ "format": "CSV" })).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s(&d["export"]))
        .unwrap();
    check_whole_body(f, &bytes);
}

#[actix_web::test]
async fn graphql_export_errors() {
    for f in &FORMATS {
        assert_eq!(
            error_code(EXPORT, json!({ "format": f.gql, "id": "no-such-entity" })).await,
            "NOT_FOUND",
            "{}",
            f.name
        );
        for vars in [
            json!({ "format": f.gql, "id": "ctef", "depth": 9 }),
            json!({ "format": f.gql, "id": "ctef", "depth": -1 }),
            json!({ "format": f.gql, "depth": 1 }),
        ] {
            assert_eq!(
                error_code(EXPORT, vars.clone()).await,
                "BAD_USER_INPUT",
                "{vars}"
            );
        }
    }
    // An error is never an empty export.
    let (_, body) =
        crate::common::gql(EXPORT, json!({ "format": "JSON", "id": "no-such-entity" })).await;
    assert!(
        body["data"].is_null() || body["data"]["export"].is_null(),
        "{body:#}"
    );
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

fn run(data: &Path, args: &[&str]) -> Output {
    run_bounded(command(data).args(args), Duration::from_secs(60))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Runs the binary, which must succeed.
fn ok(data: &Path, args: &[&str]) -> Output {
    let o = run(data, args);
    assert!(
        o.status.success(),
        "{args:?} failed\nstdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

/// `export --format F file --data-dir D [extra]`, which must succeed; the
/// file's bytes.
fn export_file(data: &Path, format: &str, file: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["export", "--format", format, file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let d = p(data);
    args.extend_from_slice(&["--data-dir", &d]);
    ok(data, &args);
    let bytes = std::fs::read(file).expect("the export was written");
    assert!(!bytes.is_empty(), "an empty export");
    bytes
}

/// `import file --no-seed --data-dir D [--format F]`.
fn import(data: &Path, file: &Path, format: Option<&str>) -> Output {
    let (f, d) = (p(file), p(data));
    let mut args = vec!["import", &*f, "--no-seed", "--data-dir", &*d];
    if let Some(format) = format {
        args.extend_from_slice(&["--format", format]);
    }
    run(data, &args)
}

/// A seeded data directory `A` in `dir`, and its JSON export's bytes.
fn seeded(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let a = dir.join("A");
    let json = export_file(&a, "json", &dir.join("a.json"), &[]);
    (a, json)
}

/// Exports the seeded graph in a format, imports it into a fresh, unseeded
/// directory and checks that the JSON export of that directory is the
/// original's, byte for byte.
fn round_trip(format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (a, original) = seeded(dir.path());
    let out = dir.path().join(format!("out.{}", fmt(format).ext));
    export_file(&a, format, &out, &[]);

    let b = dir.path().join("B");
    let o = import(&b, &out, Some(format));
    assert!(
        o.status.success(),
        "import of {format}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains(&format!(
            "{ARTICLE_ENTITIES} entities, {ARTICLE_RELATIONS} relations"
        )),
        "{format}: {stdout}"
    );
    assert!(!stdout.contains("skipped"), "{format}: {stdout}");

    let back = export_file(&b, "json", &dir.path().join("back.json"), &[]);
    if back != original {
        let (x, y): (Value, Value) = (
            serde_json::from_slice(&original).unwrap(),
            serde_json::from_slice(&back).unwrap(),
        );
        panic!(
            "{format} does not round-trip byte for byte (same JSON value: {})",
            x == y
        );
    }
}

#[test]
fn cli_round_trip_graphml() {
    round_trip("graphml");
}

#[test]
fn cli_round_trip_gexf() {
    round_trip("gexf");
}

#[test]
fn cli_round_trip_node_link() {
    round_trip("node-link");
}

#[test]
fn cli_round_trip_cytoscape() {
    round_trip("cytoscape");
}

#[test]
fn cli_round_trip_csv() {
    round_trip("csv");
}

#[test]
fn cli_round_trip_ftm() {
    round_trip("ftm");
}

#[test]
fn cli_round_trip_json() {
    round_trip("json");
}

#[test]
fn import_tells_the_format_by_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let (a, original) = seeded(dir.path());
    for (format, file) in [
        ("graphml", "g.graphml"),
        ("gexf", "g.gexf"),
        ("cytoscape", "g.cyjs.json"),
        ("csv", "g.zip"),
        ("ftm", "g.jsonl"),
        ("ftm", "g.ftm.jsonl"),
        ("ftm", "g.ndjson"),
    ] {
        let file = dir.path().join(file);
        export_file(&a, format, &file, &[]);
        let b = dir
            .path()
            .join(format!("B-{}", file.file_name().unwrap().to_string_lossy()));
        let o = import(&b, &file, None);
        assert!(
            o.status.success(),
            "import of {} without --format: {}",
            file.display(),
            text(&o.stderr)
        );
        let back = export_file(&b, "json", &dir.path().join("back.json"), &[]);
        assert!(back == original, "{} round-trips", file.display());
    }

    // An extension that tells nothing: refused, pointing at --format, and
    // no data directory is made.
    let file = dir.path().join("graph.xml");
    std::fs::copy(dir.path().join("g.graphml"), &file).unwrap();
    let c = dir.path().join("C");
    let o = import(&c, &file, None);
    assert!(!o.status.success(), "an unknown extension is refused");
    let stderr = text(&o.stderr);
    assert!(stderr.contains("--format"), "{stderr}");
    assert!(stderr.contains("graph.xml"), "names the file: {stderr}");
    assert!(!c.exists(), "no data directory was made");
    // With --format it is read.
    let o = import(&c, &file, Some("graphml"));
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// FtM entities from elsewhere: a person employed by a public body, and a
/// vessel, which this graph has no kind for.
const FOREIGN: [&str; 4] = [
    r#"{"id": "Q9001", "schema": "Person", "properties": {"name": ["Jane Example"], "nationality": ["iq"]}}"#,
    r#"{"id": "Q9002", "schema": "PublicBody", "properties": {"name": ["Ministry of Examples"], "jurisdiction": ["iq"]}}"#,
    r#"{"id": "emp-9001", "schema": "Employment", "properties": {"employee": ["Q9001"], "employer": ["Q9002"], "role": ["Deputy Minister"]}}"#,
    r#"{"id": "vessel-1", "schema": "Vessel", "properties": {"name": ["MV Example"]}}"#,
];

fn by_id<'a>(list: &'a Value, id: &str) -> &'a Value {
    arr(list)
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no `{id}` in {:?}", ids_of(list)))
}

#[test]
fn ftm_from_elsewhere_is_imported_with_its_lines_as_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("foreign.jsonl");
    let input = FOREIGN.join("\n") + "\n";
    std::fs::write(&file, &input).unwrap();
    let b = dir.path().join("B");
    let o = import(&b, &file, None);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("2 entities, 1 relations"),
        "reports what it imported: {stdout}"
    );
    assert!(
        stdout.contains("skipped 1 FollowTheMoney Vessel"),
        "reports the vessel it skipped: {stdout}"
    );

    let out = dir.path().join("out.json");
    let e: Value =
        serde_json::from_slice(&export_file(&b, "json", &out, &[])).expect("JSON export");
    assert_eq!(ids_of(&e["entities"]), ["q9001", "q9002"], "{e:#}");
    assert_eq!(ids_of(&e["relations"]), ["emp-9001"]);
    let docs = arr(&e["documents"]);
    assert_eq!(docs.len(), 1, "one import document: {e:#}");
    let doc = &docs[0];
    assert_eq!(doc["title"], "FollowTheMoney import");
    let doc_id = s(&doc["id"]);
    assert!(doc_id.starts_with("ftm-import-"), "{doc_id}");
    let doc_text = s(&doc["text"]);

    let person = by_id(&e["entities"], "q9001");
    assert_eq!(person["kind"], "PERSON");
    assert_eq!(person["name"], "Jane Example");
    let body = by_id(&e["entities"], "q9002");
    assert_eq!(body["kind"], "MINISTRY");
    assert_eq!(body["name"], "Ministry of Examples");
    let job = by_id(&e["relations"], "emp-9001");
    assert_eq!(job["kind"], "HOLDS_POSITION");
    assert_eq!(job["from"], "q9001");
    assert_eq!(job["to"], "q9002");
    assert_eq!(job["role"], "Deputy Minister");
    // The vessel is no item (though the import document, the input,
    // holds its line).
    let items = e["entities"].to_string() + &e["relations"].to_string();
    assert!(!items.contains("MV Example"), "the vessel is not read");

    for (item, line) in [(person, FOREIGN[0]), (body, FOREIGN[1]), (job, FOREIGN[2])] {
        let sources = arr(&item["sources"]);
        assert_eq!(sources.len(), 1, "{item}");
        assert_eq!(sources[0]["document"], doc_id, "{item}");
        let quote = s(&sources[0]["quote"]);
        assert_eq!(quote, line, "the item quotes its line");
        assert!(doc_text.contains(quote), "the document holds the line");
        assert!(doc_text.contains(line));
    }

    // An import adds: the same file again is refused, all or nothing,
    // naming what already exists.
    let o = import(&b, &file, None);
    assert!(!o.status.success(), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains(doc_id), "{}", text(&o.stderr));
    let again: Value =
        serde_json::from_slice(&export_file(&b, "json", &out, &[])).expect("JSON export");
    assert_eq!(again, e, "the refused import changed nothing");
}

#[test]
fn a_malformed_ftm_line_fails_the_whole_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.jsonl");
    let lines = [
        r#"{"id": "Q9101", "schema": "Person", "properties": {"name": ["John Broken"]}}"#,
        r#"{"id": "Q9102", "schema": "PublicBody", "properties": {"name": ["Ministry"#,
        r#"{"id": "Q9103", "schema": "PublicBody", "properties": {"name": ["Broken Office"]}}"#,
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    // Into a fresh directory.
    let fresh = dir.path().join("fresh");
    let o = import(&fresh, &file, Some("ftm"));
    assert!(!o.status.success(), "{}", text(&o.stdout));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("line 2"), "names line 2: {stderr}");
    assert!(stderr.contains("broken.jsonl"), "names the file: {stderr}");
    let e: Value = serde_json::from_slice(&export_file(
        &fresh,
        "json",
        &dir.path().join("fresh.json"),
        &[],
    ))
    .unwrap();
    let entities = ids_of(&e["entities"]);
    for id in ["q9101", "q9102", "q9103"] {
        assert!(!entities.contains(&id.to_owned()), "{id} was not imported");
    }
    assert!(
        ids_of(&e["documents"])
            .iter()
            .all(|d| !d.starts_with("ftm-import-")),
        "no import document: {:?}",
        ids_of(&e["documents"])
    );
    assert!(!e.to_string().contains("John Broken"));

    // Into a directory that holds data: it stays as it was.
    let b = dir.path().join("B");
    let good = dir.path().join("good.jsonl");
    std::fs::write(&good, FOREIGN.join("\n")).unwrap();
    assert!(import(&b, &good, None).status.success());
    let before = export_file(&b, "json", &dir.path().join("before.json"), &[]);
    let o = import(&b, &file, Some("ftm"));
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("line 2"), "{}", text(&o.stderr));
    let after = export_file(&b, "json", &dir.path().join("after.json"), &[]);
    assert!(after == before, "nothing of the broken file was stored");
}

#[test]
fn the_cli_exports_a_part() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("A");
    let out = dir.path().join("ctef.json");
    let e: Value = serde_json::from_slice(&export_file(
        &a,
        "json",
        &out,
        &["--id", "ctef", "--depth", "1"],
    ))
    .unwrap();
    assert_eq!(ids_of(&e["entities"]), CTEF_1);
    assert_eq!(arr(&e["relations"]).len(), 3);

    // The same part as over HTTP, in any format.
    let nl: Value = serde_json::from_slice(&export_file(
        &a,
        "node-link",
        &dir.path().join("ctef.nl.json"),
        &["--id", "ctef"],
    ))
    .unwrap();
    assert_eq!(ids_of(&nl["nodes"]), CTEF_1);

    let e: Value = serde_json::from_slice(&export_file(
        &a,
        "json",
        &dir.path().join("places.json"),
        &[
            "--entity-kinds",
            "COUNTRY,REGION",
            "--relation-kinds",
            "PART_OF",
        ],
    ))
    .unwrap();
    assert_eq!(
        kinds_of(&e["entities"]),
        BTreeSet::from(["COUNTRY".into(), "REGION".into()])
    );
    assert!(kinds_of(&e["relations"]).iter().all(|k| k == "PART_OF"));

    // `--depth` needs `--id`: the argument parser refuses it.
    let out = dir.path().join("nothing.json");
    let o = run(
        &a,
        &[
            "export",
            "--format",
            "json",
            &p(&out),
            "--depth",
            "1",
            "--data-dir",
            &p(&a),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "a usage error: {}",
        text(&o.stderr)
    );
    assert!(text(&o.stderr).contains("--id"), "{}", text(&o.stderr));
    assert!(!out.exists(), "no file is written");

    // An unknown centre: an error naming it, and no file.
    let o = run(
        &a,
        &[
            "export",
            &p(&out),
            "--id",
            "no-such-entity",
            "--data-dir",
            &p(&a),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("no-such-entity"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists(), "no empty file is written");

    // An unknown format or kind is refused by the parser, naming it.
    let o = run(&a, &["export", "--format", "xml", &p(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("graphml"), "{}", text(&o.stderr));
    let o = run(&a, &["export", "--entity-kinds", "NOPE_KIND", &p(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("NOPE_KIND"), "{}", text(&o.stderr));
    assert!(!out.exists());
}

// Bugs found while writing these tests: they fail until src/ is fixed.

/// BUG: the node-link reader takes any JSON object without `nodes` and
/// `edges` (a Cytoscape file, a dataset file, `{}`) for an empty graph, so
/// `import --format node-link` of the wrong file "imports 0 entities" and
/// exits 0, where every other format refuses a file not of its format.
#[test]
fn node_link_import_refuses_json_that_is_not_node_link() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = seeded(dir.path());
    let cyjs = dir.path().join("g.cyjs.json");
    export_file(&a, "cytoscape", &cyjs, &[]);
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}\n").unwrap();
    for (i, file) in [cyjs, dir.path().join("a.json"), empty].iter().enumerate() {
        let b = dir.path().join(format!("B{i}"));
        let o = import(&b, file, Some("node-link"));
        assert!(
            !o.status.success(),
            "{} is no node-link file, yet: {}",
            file.display(),
            text(&o.stdout)
        );
    }
}

/// BUG: `import FILE --format json` ignores `--format` when the name does
/// not end in .json or .toml ("unknown data file format"), although the
/// flag is there for files whose extension does not tell.
#[test]
fn import_format_json_is_told_by_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (_, original) = seeded(dir.path());
    let file = dir.path().join("dataset.txt");
    std::fs::write(&file, &original).unwrap();
    let b = dir.path().join("B");
    let o = import(&b, &file, Some("json"));
    assert!(
        o.status.success(),
        "import --format json of a .txt: {}",
        text(&o.stderr)
    );
    let back = export_file(&b, "json", &dir.path().join("back.json"), &[]);
    assert!(back == original, "the dataset round-trips");
}

#[actix_web::test]
async fn query_string_mistakes_are_json_problems() {
    for uri in [
        "/export/json?depth=two&id=ctef",
        "/export/json?entitykinds=COUNTRY",
        "/export/json?id=ctef&id=peshmerga",
    ] {
        let resp = get(uri).await;
        assert_eq!(
            resp.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            resp.text()
        );
        assert_eq!(
            resp.json()["errors"][0]["extensions"]["code"],
            "BAD_USER_INPUT",
            "{uri}"
        );
    }
    // A trailing comma is forgiven; an empty list is no filter.
    let countries = get_ok("/export/json?entityKinds=COUNTRY,").await.json();
    assert_eq!(countries["entities"].as_array().map(Vec::len), Some(3));
    let all = get_ok("/export/json?entityKinds=").await.json();
    assert_eq!(all["entities"].as_array().map(Vec::len), Some(24));
}
