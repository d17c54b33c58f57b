//! The data directory: acknowledged writes survive a restart and a crash
//! (SIGKILL mid-write), whole or not at all; one process at a time uses a
//! directory; the article is seeded once.

use crate::server::{
    self, command, counts, entity_input, gql, ingest_input, present, run_bounded, try_gql, Server,
    ARTICLE_ENTITIES, ARTICLE_RELATIONS, CREATE_ENTITY, INGEST,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything a client can see of the graph, in a stable order.
const EVERYTHING: &str = "{ graphVersion stats { entities relations documents }
    documents { id title }
    entities(first: 100) { totalCount nodes { id kind name aliases description } }
    relations(first: 100) { totalCount nodes { id kind from { id } to { id } amount { amount qualifier } fiscalYear } } }";

#[test]
fn a_restart_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let server = Server::start(&data);
    let port = server.port;
    let (v0, e0, r0) = counts(port);
    assert_eq!((e0, r0), (ARTICLE_ENTITIES, ARTICLE_RELATIONS));
    assert_eq!(v0, 1, "a new data directory is seeded as version 1");

    gql(
        port,
        CREATE_ENTITY,
        json!({ "input": entity_input("kept-unit", "Kept Unit") }),
    );
    let mut no_id = entity_input("", "Slugged Unit");
    no_id.as_object_mut().unwrap().remove("id");
    let d = gql(port, CREATE_ENTITY, json!({ "input": no_id }));
    assert_eq!(d["createEntity"]["id"], "slugged-unit");
    gql(
        port,
        "mutation { updateEntity(id: \"kept-unit\", patch: { aliases: [\"KU\"], description: \"kept\" }) { id } }",
        json!({}),
    );
    gql(
        port,
        r#"mutation { createRelation(input: { kind: FUNDS, from: "ctef", to: "kept-unit", fiscalYear: 2026,
             amount: { amount: 7000000, qualifier: APPROXIMATE },
             sources: [{ document: "k24-peshmerga-us-iraq-talks", quote: "Counter-ISIS Train and Equip Fund" }] }) { id } }"#,
        json!({}),
    );
    gql(
        port,
        r#"mutation { deleteRelation(id: "peshmerga-part-of-kurdistan-region") }"#,
        json!({}),
    );
    gql(
        port,
        r#"mutation { deleteEntity(id: "slugged-unit") }"#,
        json!({}),
    );
    gql(
        port,
        INGEST,
        json!({ "input": ingest_input("kept-report") }),
    );
    let before = gql(port, EVERYTHING, json!({}));
    assert_eq!(before["graphVersion"], json!(v0 + 7));
    assert_eq!(before["stats"]["entities"], json!(ARTICLE_ENTITIES + 3));

    let status = server.terminate();
    assert!(status.success(), "SIGTERM is a clean exit: {status}");

    let server = Server::start(&data);
    let after = gql(server.port, EVERYTHING, json!({}));
    assert_eq!(
        after, before,
        "the restarted server holds exactly what was acknowledged"
    );
    let d = gql(
        server.port,
        r#"{ entity(id: "kept-unit") { aliases description }
             relation(id: "ctef-funds-kept-unit") { amount { display } }
             gone: relation(id: "peshmerga-part-of-kurdistan-region") { id }
             slugged: entity(id: "slugged-unit") { id } }"#,
        json!({}),
    );
    assert_eq!(
        d,
        json!({ "entity": { "aliases": ["KU"], "description": "kept" },
                "relation": { "amount": { "display": "about $7 million" } },
                "gone": null, "slugged": null })
    );

    // Writes go on from the restored version, and survive a second restart.
    let d = gql(
        server.port,
        CREATE_ENTITY,
        json!({ "input": entity_input("after-restart", "After Restart") }),
    );
    assert_eq!(d["createEntity"]["id"], "after-restart");
    assert_eq!(counts(server.port).0, v0 + 8);
    assert!(server.terminate().success());
    let server = Server::start(&data);
    let (v, e, _) = counts(server.port);
    assert_eq!(v, v0 + 8);
    assert_eq!(e, ARTICLE_ENTITIES + 4, "the article was seeded only once");
}

#[test]
fn a_second_process_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    gql(
        server.port,
        CREATE_ENTITY,
        json!({ "input": entity_input("first-unit", "First Unit") }),
    );

    let out = run_bounded(
        command(&data).args(["serve", "--listen", "127.0.0.1:0"]),
        Duration::from_secs(30),
    );
    assert!(!out.status.success(), "a second server must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("in use"), "the message says why: {stderr}");
    assert!(
        stderr.contains(&data.display().to_string()),
        "and names the directory: {stderr}"
    );

    // Nor may `import` or `export` open it under the running server.
    let file = dir.path().join("extra.toml");
    std::fs::write(&file, crate::cli_store::VALID).unwrap();
    for args in [
        vec!["import".to_owned(), file.display().to_string()],
        vec!["export".to_owned(), "-".to_owned()],
    ] {
        let out = run_bounded(command(&data).args(&args), Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} must fail: {stderr}");
        assert!(stderr.contains("in use"), "{args:?}: {stderr}");
    }

    // The first server is undisturbed.
    let (_, entities, _) = counts(server.port);
    assert_eq!(entities, ARTICLE_ENTITIES + 1);
    let (status, _) = server::get(server.port, "/healthz").unwrap();
    assert_eq!(status, 200);
    assert!(server.terminate().success());

    // Once it is gone, the directory is free again.
    let again = Server::start(&data);
    assert_eq!(counts(again.port).1, ARTICLE_ENTITIES + 1);
}

/// What the crash test's clients saw.
#[derive(Default)]
struct Ledger {
    /// Ids of entities whose creation was acknowledged.
    acked_entities: Vec<String>,
    /// Ids of entities whose creation was sent, acknowledged or not.
    sent_entities: Vec<String>,
    /// Documents whose ingest was acknowledged.
    acked_documents: Vec<String>,
    /// Documents whose ingest was sent.
    sent_documents: Vec<String>,
}

/// Whether a response acknowledges a write: 200 with data and no errors.
fn acknowledged(response: &std::io::Result<(u16, Value)>, field: &str) -> bool {
    matches!(response, Ok((200, body))
        if body.get("errors").is_none() && !body["data"][field].is_null())
}

#[test]
fn a_crash_mid_write_loses_no_acknowledged_write_and_tears_none() {
    const CLIENTS: usize = 4;
    const MAX_REQUESTS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let port = server.port;
    let (v0, _, _) = counts(port);

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (ledger, acked, stop) = (ledger.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                for n in 0..MAX_REQUESTS {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    // One client ingests whole documents; the others create
                    // entities.
                    let ok = if t == 0 {
                        let doc = format!("crash-doc-{n}");
                        ledger.lock().unwrap().sent_documents.push(doc.clone());
                        let r = try_gql(port, INGEST, json!({ "input": ingest_input(&doc) }));
                        let ok = acknowledged(&r, "ingest");
                        if ok {
                            ledger.lock().unwrap().acked_documents.push(doc);
                        }
                        (ok, r.is_err())
                    } else {
                        let id = format!("crash-{t}-{n}");
                        ledger.lock().unwrap().sent_entities.push(id.clone());
                        let r = try_gql(
                            port,
                            CREATE_ENTITY,
                            json!({ "input": entity_input(&id, &format!("Crash Unit {t} {n}")) }),
                        );
                        let ok = acknowledged(&r, "createEntity");
                        if ok {
                            ledger.lock().unwrap().acked_entities.push(id);
                        }
                        (ok, r.is_err())
                    };
                    match ok {
                        (true, _) => {
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        // The server is gone: stop.
                        (false, true) => break,
                        (false, false) => {}
                    }
                }
            })
        })
        .collect();

    // Let the clients get some writes acknowledged, then pull the plug
    // while they are still sending.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.load(Ordering::SeqCst) < 40 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = server.log();
    server.kill();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("a client thread panicked");
    }
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("the clients are done")
        .into_inner()
        .unwrap();
    assert!(
        ledger.acked_entities.len() + ledger.acked_documents.len() >= 40,
        "the clients got writes through before the kill ({} entities, {} documents); log:\n{log}",
        ledger.acked_entities.len(),
        ledger.acked_documents.len()
    );

    // The restarted server starts cleanly on the same directory.
    let server = Server::start(&data);
    let port = server.port;
    let (status, health) = server::get(port, "/healthz").unwrap();
    assert_eq!(status, 200, "{health}");

    // Every acknowledged entity is there.
    let found: BTreeSet<String> = present(port, &ledger.sent_entities).into_iter().collect();
    let lost: Vec<_> = ledger
        .acked_entities
        .iter()
        .filter(|id| !found.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged entities lost in the crash: {lost:?}"
    );

    // Every ingest is whole or absent; every acknowledged one is whole.
    let mut whole_documents = 0;
    for doc in &ledger.sent_documents {
        let items = [
            doc.clone(),
            format!("{doc}-a"),
            format!("{doc}-b"),
            format!("{doc}-rel"),
        ];
        let there = present(port, &items);
        assert!(
            there.is_empty() || there.len() == items.len(),
            "a torn ingest of {doc}: only {there:?} survived"
        );
        if there.len() == items.len() {
            whole_documents += 1;
        } else {
            assert!(
                !ledger.acked_documents.contains(doc),
                "the acknowledged ingest of {doc} was lost"
            );
        }
    }

    // The version counts exactly the writes that survived, and nothing else
    // was added.
    let (v, entities, relations) = counts(port);
    assert_eq!(
        entities,
        ARTICLE_ENTITIES + found.len() as i64 + 2 * whole_documents,
        "entities"
    );
    assert_eq!(relations, ARTICLE_RELATIONS + whole_documents, "relations");
    assert_eq!(
        v,
        v0 + found.len() as i64 + whole_documents,
        "one version per surviving write"
    );

    // And it takes writes again.
    let d = gql(
        port,
        CREATE_ENTITY,
        json!({ "input": entity_input("after-crash", "After Crash") }),
    );
    assert_eq!(d["createEntity"]["id"], "after-crash");
    assert_eq!(counts(port).0, v + 1);
}
