//! Readers running alongside a writer never see half a write: every
//! response reads one snapshot, whose counts match its graph version.

use crate::server::{self, Server};
use crate::writes::Writable;
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const WRITES: u64 = 30;

/// What a reader asks for.
const READ: &str = "{ graphVersion stats { entities relations documents } }";

/// Checks one reader response against the base: `k` ingests of 2 entities,
/// 1 relation and 1 document each, for `k` versions past the base.
fn check(base: &Value, read: &Value) {
    let int = |v: &Value, path: &[&str]| {
        path.iter()
            .fold(v, |v, key| &v[*key])
            .as_i64()
            .unwrap_or_else(|| panic!("no {path:?} in {v}"))
    };
    let k = int(read, &["graphVersion"]) - int(base, &["graphVersion"]);
    assert!(
        (0..=WRITES as i64).contains(&k),
        "version out of range: {read}"
    );
    for (what, per_write) in [("entities", 2), ("relations", 1), ("documents", 1)] {
        assert_eq!(
            int(read, &["stats", what]),
            int(base, &["stats", what]) + per_write * k,
            "a reader saw a torn state ({what}) at version +{k}: {read} (base {base})"
        );
    }
}

#[actix_web::test]
async fn in_process_readers_never_see_half_an_ingest() {
    let app = Writable::new();
    let (base, _) = app.ok(READ, json!({})).await;
    let done = Cell::new(false);

    let writer = async {
        for n in 0..WRITES {
            let doc = format!("consistency-{n}");
            let (d, _) = app
                .ok(
                    server::INGEST,
                    json!({ "input": server::ingest_input(&doc) }),
                )
                .await;
            assert_eq!(d["ingest"]["document"]["id"], json!(doc));
            tokio::task::yield_now().await;
        }
        done.set(true);
    };
    let reader = |_| async {
        let mut reads = 0;
        // Bounded, in case the writer stalls.
        while !done.get() && reads < 5_000 {
            let (d, v) = app.ok(READ, json!({})).await;
            assert_eq!(d["graphVersion"], json!(v));
            check(&base, &d);
            reads += 1;
            tokio::task::yield_now().await;
        }
        reads
    };
    let (_, reads) = futures_util::join!(writer, join_all((0..4).map(reader)));
    assert!(reads.iter().all(|&n| n > 0), "every reader read: {reads:?}");

    let (last, _) = app.ok(READ, json!({})).await;
    check(&base, &last);
    assert_eq!(
        last["graphVersion"].as_i64(),
        base["graphVersion"].as_i64().map(|v| v + WRITES as i64)
    );
}

#[test]
fn binary_readers_on_threads_never_see_half_an_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let port = server.port;
    let base = server::gql(port, READ, json!({}));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (done, base) = (done.clone(), base.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::SeqCst) && reads < 5_000 {
                    check(&base, &server::gql(port, READ, json!({})));
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writer = {
        let done = done.clone();
        std::thread::spawn(move || {
            for n in 0..WRITES {
                let doc = format!("consistency-{n}");
                let d = server::gql(
                    port,
                    server::INGEST,
                    json!({ "input": server::ingest_input(&doc) }),
                );
                assert_eq!(d["ingest"]["document"]["id"], json!(doc));
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let written = writer.join();
    done.store(true, Ordering::SeqCst);
    let reads: Vec<_> = readers.into_iter().map(|r| r.join()).collect();
    written.unwrap_or_else(|_| panic!("the writer failed; log:\n{}", server.log()));
    for r in reads {
        assert!(r.unwrap() > 0, "every reader read");
    }
    let last = server::gql(port, READ, json!({}));
    check(&base, &last);
    assert_eq!(
        last["graphVersion"].as_i64(),
        base["graphVersion"].as_i64().map(|v| v + WRITES as i64)
    );
}
