//! Instances sharing one PostgreSQL database, as real processes: writes on
//! one read on the other, one id created on both, events across instances,
//! an instance killed mid-stream, and the database going away.

use crate::server::{self, entity_input, Server, CREATE_ENTITY};
use crate::subscriptions::{Client, SELECTION};
use partnergraph::store::ScratchDatabase;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Held for reading by every test here, and for writing by the one that
/// restarts the server, so that no other test sees the restart.
/// (tokio's lock: one test here is async and holds it across awaits.)
static SERVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Shares the server with the other tests (see [`SERVER`]); not from
/// within an async runtime.
fn sharing() -> tokio::sync::RwLockReadGuard<'static, ()> {
    SERVER.blocking_read()
}

/// A database of the test's own on the test server.
fn database(purpose: &str) -> ScratchDatabase {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(ScratchDatabase::new(purpose))
        .unwrap_or_else(|e| panic!("a PostgreSQL server is needed for these tests: {e}"))
}

/// An instance on `url`, with a data directory (unused) for its log.
fn instance(dir: &Path, name: &str, url: &str) -> Server {
    instance_with(dir, name, url, &[])
}

/// [`instance`] with these environment variables set too.
fn instance_with(dir: &Path, name: &str, url: &str, env: &[(&str, &str)]) -> Server {
    let mut all = vec![
        ("PARTNERGRAPH_DATABASE_URL", url),
        ("PARTNERGRAPH_CONSISTENCY_WAIT_MS", "3000"),
    ];
    all.extend_from_slice(env);
    Server::start_with(&dir.join(name), &all)
}

/// A database of its own and two instances on it, A and B (their logs
/// in the returned directory).
fn pair(purpose: &str) -> (ScratchDatabase, tempfile::TempDir, Server, Server) {
    let db = database(purpose);
    let dir = tempfile::tempdir().unwrap();
    let a = instance(dir.path(), "a", &db.url);
    let b = instance(dir.path(), "b", &db.url);
    (db, dir, a, b)
}

/// The code of a response's first error.
fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// Creates entity `id`; the status and body.
fn create(port: u16, id: &str) -> std::io::Result<(u16, Value)> {
    server::try_gql(
        port,
        CREATE_ENTITY,
        json!({ "input": entity_input(id, &format!("Unit {id}")) }),
    )
}

/// Waits (bounded) until `done` holds.
fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The graph version an instance reports.
fn version(port: u16) -> i64 {
    server::counts(port).0
}

#[test]
fn a_write_on_one_instance_is_read_on_the_other_with_min_graph_version() {
    let _server = sharing();
    let (_db, _dir, a, b) = pair("ryw");
    assert_eq!(server::counts(a.port), server::counts(b.port));

    for (port, other) in [(a.port, b.port), (b.port, a.port)] {
        let id = format!("ryw-{port}");
        let (status, body) = create(port, &id).unwrap();
        assert_eq!(status, 200, "{body:#}");
        let written = body["extensions"]["graphVersion"].as_u64().unwrap();
        let (status, body) = server::try_gql_with(
            other,
            "query($id: ID!) { entity(id: $id) { name } }",
            json!({ "id": id }),
            json!({ "minGraphVersion": written }),
        )
        .unwrap();
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(body["data"]["entity"]["name"], format!("Unit {id}"));
        assert!(body["extensions"]["graphVersion"].as_u64().unwrap() >= written);
    }

    // A version nobody wrote is not reached: 503, and a code to act on.
    let (status, body) = server::try_gql_with(
        b.port,
        "{ graphVersion }",
        json!({}),
        json!({ "minGraphVersion": 1_000_000 }),
    )
    .unwrap();
    assert_eq!(status, 503, "{body:#}");
    assert_eq!(code(&body), "VERSION_NOT_REACHED", "{body:#}");
    let (status, body) = server::try_gql_with(
        b.port,
        "{ graphVersion }",
        json!({}),
        json!({ "minGraphVersion": "soon" }),
    )
    .unwrap();
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{body:#}");

    let (status, health) = server::get(b.port, "/healthz").unwrap();
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["store"], "postgres");
    assert_eq!(health["graphVersion"].as_i64(), Some(version(a.port)));
    assert_eq!(server::get(b.port, "/readyz").unwrap().0, 200);
}

#[test]
fn the_same_id_created_on_two_instances_at_once_succeeds_once() {
    let _server = sharing();
    let (_db, _dir, a, b) = pair("conflict");
    for i in 0..12 {
        let id = format!("twice-{i}");
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = [a.port, b.port]
            .into_iter()
            .map(|port| {
                let (id, barrier) = (id.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    create(port, &id).unwrap()
                })
            })
            .collect();
        let mut codes: Vec<String> = racers
            .into_iter()
            .map(|r| {
                let (status, body) = r.join().unwrap();
                assert_eq!(status, 200, "{body:#}");
                code(&body).to_owned()
            })
            .collect();
        codes.sort();
        assert_eq!(codes, ["", "CONFLICT"], "id {id}");
    }
    eventually(Duration::from_secs(10), "both at one version", || {
        version(a.port) == version(b.port)
    });
    assert_eq!(server::counts(a.port), server::counts(b.port));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_changed_fires_on_every_instance_in_version_order() {
    let _server = SERVER.read().await;
    let db = ScratchDatabase::new("events")
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL server is needed for these tests: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tokio::task::spawn_blocking({
        let (dir, url) = (dir.path().to_path_buf(), db.url.clone());
        move || (instance(&dir, "a", &url), instance(&dir, "b", &url))
    })
    .await
    .unwrap();
    let mut on_b = Client::connect(b.port).await;
    on_b.subscribe(
        "all",
        &format!("subscription {{ graphChanged {SELECTION} }}"),
    )
    .await;
    // The subscription is live once a write on B itself is heard.
    let port = b.port;
    tokio::task::spawn_blocking(move || create(port, "warm-up").unwrap())
        .await
        .unwrap();
    assert!(
        on_b.wait_until(Duration::from_secs(10), |c| !c.events("all").is_empty())
            .await
    );

    let port = a.port;
    let written: Vec<u64> = tokio::task::spawn_blocking(move || {
        (0..20)
            .map(|i| {
                let (status, body) = create(port, &format!("from-a-{i}")).unwrap();
                assert_eq!(status, 200, "{body:#}");
                body["extensions"]["graphVersion"].as_u64().unwrap()
            })
            .collect()
    })
    .await
    .unwrap();
    assert!(
        on_b.wait_until(Duration::from_secs(10), |c| c.events("all").len() >= 21)
            .await,
        "B heard {} of A's 20 writes",
        on_b.events("all").len() - 1
    );
    let events = &on_b.events("all")[1..];
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["graphVersion"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, written);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["kind"], "ENTITY_CREATED");
        assert_eq!(e["entity"]["id"], format!("from-a-{i}"));
    }
    drop((a, b));
}

/// Writers creating entities over HTTP, round robin over instances, until
/// stopped: what each had acknowledged, and how the others were refused.
struct Writers {
    acknowledged: Arc<Mutex<Vec<String>>>,
    refusals: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    /// `count` writers, writer `w` on `ports[w % ports.len()]`, creating
    /// ids `{prefix}{w}-{n}`.
    fn start(ports: &[u16], count: usize, prefix: &'static str) -> Writers {
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..count)
            .map(|w| {
                let port = ports[w % ports.len()];
                let (acknowledged, refusals, stop) =
                    (acknowledged.clone(), refusals.clone(), stop.clone());
                std::thread::spawn(move || {
                    for n in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let id = format!("{prefix}{w}-{n}");
                        let refusal = match create(port, &id) {
                            Ok((200, body)) if body.get("errors").is_none() => {
                                acknowledged.lock().unwrap().push(id);
                                continue;
                            }
                            Ok((status, body)) => format!("{status} {}", code(&body)),
                            // A killed instance answers nothing.
                            Err(_) => "no answer".to_owned(),
                        };
                        refusals.lock().unwrap().push(refusal);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        Writers {
            acknowledged,
            refusals,
            stop,
            threads,
        }
    }

    /// How many writes were acknowledged so far.
    fn count(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    /// Stops them: the acknowledged ids and the refusals.
    fn stop(self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().unwrap();
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        let refusals = self.refusals.lock().unwrap().clone();
        (acknowledged, refusals)
    }
}

/// Waits until `a` and `b` are at one version, then checks that both hold
/// every `acknowledged` id and export the same bytes.
fn both_hold(a: &Server, b: &Server, acknowledged: &[String]) {
    eventually(Duration::from_secs(15), "both at one version", || {
        version(a.port) == version(b.port)
    });
    for port in [a.port, b.port] {
        let present = server::present(port, acknowledged);
        assert_eq!(present.len(), acknowledged.len(), "on port {port}");
    }
    assert_eq!(export(a.port), export(b.port));
}

/// GET /export/json: the whole graph, as bytes.
fn export(port: u16) -> String {
    let (status, body) = server::get(port, "/export/json").unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn an_instance_killed_mid_stream_loses_no_acknowledged_write() {
    let _server = sharing();
    let (db, dir, a, b) = pair("kill");
    let writers = Writers::start(&[a.port, b.port], 8, "w");
    std::thread::sleep(Duration::from_millis(1500));
    a.kill();
    std::thread::sleep(Duration::from_millis(1000));
    let (acknowledged, _) = writers.stop();
    assert!(
        acknowledged.len() > 20,
        "only {} writes",
        acknowledged.len()
    );
    let a = instance(dir.path(), "a2", &db.url);
    both_hold(&a, &b, &acknowledged);
}

/// A TCP proxy to the PostgreSQL server that a test can cut and restore:
/// cut, it closes every connection and refuses new ones, as a server that
/// went away.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    /// A proxy to the server of `url` (`postgres://user@host:port/name`),
    /// and the URL of the same database through it.
    fn to(url: &str) -> (Proxy, String) {
        let (head, name) = url.rsplit_once('/').unwrap();
        let (user, addr) = head.rsplit_once('@').unwrap();
        let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "5432"));
        let proxy = Proxy::start((host.to_owned(), port.parse().unwrap()));
        let via = format!("{user}@{host}:{}/{name}", proxy.port);
        (proxy, via)
    }

    fn start(target: (String, u16)) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)) else {
                    continue;
                };
                let mut open = open2.lock().unwrap();
                for s in [&client, &server] {
                    open.push(s.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n @ 1..) = from.read(&mut buf) {
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[test]
fn while_the_database_is_away_reads_go_on_and_writes_fail_fast() {
    let _server = sharing();
    let db = database("away");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (proxy, via) = Proxy::to(&db.url);
    let a = instance(dir, "a", &via);
    let b = instance(dir, "b", &db.url);
    let (status, body) = create(a.port, "before").unwrap();
    assert_eq!((status, code(&body)), (200, ""), "{body:#}");

    proxy.cut();
    let started = Instant::now();
    let (status, body) = create(a.port, "during").unwrap();
    assert_eq!(status, 503, "{body:#}");
    assert_eq!(code(&body), "STORE_UNAVAILABLE", "{body:#}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // Reads go on from the last version; the load balancer is told.
    assert_eq!(
        server::gql(a.port, "{ entity(id: \"before\") { id } }", json!({}))["entity"]["id"],
        "before"
    );
    eventually(Duration::from_secs(10), "A not ready", || {
        server::get(a.port, "/readyz").unwrap().0 == 503
    });
    // B, which still reaches the database, writes meanwhile.
    for i in 0..5 {
        let (status, body) = create(b.port, &format!("meanwhile-{i}")).unwrap();
        assert_eq!((status, code(&body)), (200, ""), "{body:#}");
    }

    proxy.restore();
    eventually(Duration::from_secs(20), "A ready again", || {
        server::get(a.port, "/readyz").unwrap().0 == 200
    });
    eventually(Duration::from_secs(10), "A caught up with B", || {
        version(a.port) == version(b.port)
    });
    let (status, body) = create(a.port, "after").unwrap();
    assert_eq!((status, code(&body)), (200, ""), "{body:#}");
    eventually(Duration::from_secs(10), "B has A's write", || {
        version(a.port) == version(b.port)
    });
    let ids: Vec<String> = ["before", "after", "meanwhile-4"]
        .map(String::from)
        .to_vec();
    assert_eq!(server::present(a.port, &ids), ids);
    assert_eq!(server::present(b.port, &ids), ids);
    // "during" was refused, and nothing of it was kept.
    assert!(server::present(b.port, &["during".into()]).is_empty());
}

#[test]
fn connections_cut_during_writes_lose_no_acknowledged_write() {
    let _server = sharing();
    let db = database("cut");
    let tmp = tempfile::tempdir().unwrap();
    let (proxy, via) = Proxy::to(&db.url);
    // Both instances reach the database only through the proxy.
    let a = instance(tmp.path(), "a", &via);
    let b = instance(tmp.path(), "b", &via);
    let writers = Writers::start(&[a.port, b.port], 4, "c");
    std::thread::sleep(Duration::from_millis(800));
    proxy.cut();
    std::thread::sleep(Duration::from_millis(1500));
    proxy.restore();
    std::thread::sleep(Duration::from_millis(1500));
    let (acknowledged, refusals) = writers.stop();
    assert!(!refusals.is_empty(), "no write was refused while cut");
    // Every refusal said why, and that it is worth retrying.
    assert!(
        refusals.iter().all(|r| r == "503 STORE_UNAVAILABLE"),
        "{refusals:?}"
    );
    both_hold(&a, &b, &acknowledged);
}

/// Runs the binary with `args` in `dir`, bounded; its stdout, or a panic
/// with what it said.
fn cli(dir: &Path, args: &[&str]) -> String {
    let o = server::run_bounded(server::command(dir).args(args), Duration::from_secs(60));
    let say = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        say(&o.stdout),
        say(&o.stderr)
    );
    say(&o.stdout)
}

#[test]
fn a_data_directory_moves_to_postgresql_in_two_commands() {
    let _server = sharing();
    let db = database("move");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A data directory with the article and one write of its own.
    let server = Server::start(&data);
    let (status, body) = create(server.port, "moved-unit").unwrap();
    assert_eq!((status, code(&body)), (200, ""), "{body:#}");
    server.terminate();

    let dump = tmp.path().join("graph.json");
    let (dump_s, data_s) = (dump.display().to_string(), data.display().to_string());
    cli(tmp.path(), &["export", "--data-dir", &data_s, &dump_s]);
    let out = cli(
        tmp.path(),
        &["import", "--no-seed", "--database-url", &db.url, &dump_s],
    );
    assert!(out.contains("imported"), "{out}");

    // The same graph comes out of both stores, byte for byte.
    let from_sqlite = cli(tmp.path(), &["export", "--data-dir", &data_s, "-"]);
    let from_postgres = cli(tmp.path(), &["export", "--database-url", &db.url, "-"]);
    assert_eq!(from_sqlite, from_postgres);
    assert!(from_postgres.contains("moved-unit"));
    // And an instance on the database serves it.
    let a = instance(tmp.path(), "a", &db.url);
    assert_eq!(
        server::present(a.port, &["moved-unit".into()]),
        ["moved-unit"]
    );
    // What a container's health check runs.
    let addr = format!("127.0.0.1:{}", a.port);
    cli(
        tmp.path(),
        &["healthcheck", "--listen", &addr, "--path", "/readyz"],
    );
}

/// Restarts the test server (`PARTNERGRAPH_TEST_POSTGRES_RESTART`, a shell
/// command, or the local cluster's pg_ctlcluster).
fn restart_postgres() {
    let command = std::env::var("PARTNERGRAPH_TEST_POSTGRES_RESTART").unwrap_or_else(|_| {
        "pg_ctlcluster --skip-systemctl-redirect \"$(ls /etc/postgresql | sort -V | tail -n 1)\" main restart"
            .into()
    });
    let status = std::process::Command::new("sh")
        .args(["-c", &command])
        .status()
        .expect("run the restart command");
    assert!(
        status.success(),
        "restarting PostgreSQL with `{command}` failed; set PARTNERGRAPH_TEST_POSTGRES_RESTART"
    );
}

#[test]
fn postgresql_restarted_during_writes_loses_no_acknowledged_write() {
    // Alone: no other test here may see the server go.
    let _server = SERVER.blocking_write();
    let (_db, _dir, a, b) = pair("restart");
    let writers = Writers::start(&[a.port, b.port], 4, "r");
    std::thread::sleep(Duration::from_millis(800));
    let before = writers.count();
    restart_postgres();
    // Writes resume once the server is back.
    eventually(Duration::from_secs(30), "writes resume", || {
        writers.count() > before + 20
    });
    let (acknowledged, refusals) = writers.stop();
    assert!(
        refusals.iter().all(|r| r == "503 STORE_UNAVAILABLE"),
        "{refusals:?}"
    );
    eventually(Duration::from_secs(15), "both ready", || {
        server::get(a.port, "/readyz").unwrap().0 == 200
            && server::get(b.port, "/readyz").unwrap().0 == 200
    });
    both_hold(&a, &b, &acknowledged);
}

/// A generated graph of 20,000 entities and 100,000 relations in `dir`:
/// its file's path.
fn generate(dir: &Path) -> String {
    let file = dir.join("big.json").display().to_string();
    let args = ["generate", "--entities", "20000", "--relations", "100000"];
    cli(dir, &[&args[..], &["--out", &file]].concat());
    file
}

#[test]
fn a_large_import_into_postgresql_takes_as_long_as_it_needs() {
    let _server = sharing();
    let db = database("bigimport");
    let tmp = tempfile::tempdir().unwrap();
    let file_s = generate(tmp.path());
    // Each exchange has a second; the whole import takes many.
    let started = Instant::now();
    let out = cli(
        tmp.path(),
        &[
            "import",
            "--no-seed",
            "--database-url",
            &db.url,
            "--store-timeout-ms",
            "1000",
            &file_s,
        ],
    );
    assert!(out.contains("20000 entities, 100000 relations"), "{out}");
    let took = started.elapsed();
    // An instance started on it has all of it.
    let a = instance(tmp.path(), "a", &db.url);
    let (_, entities, relations) = server::counts(a.port);
    assert_eq!(
        (entities, relations),
        (20000, 100000),
        "import took {took:?}"
    );
}

#[test]
fn an_import_overtaken_by_another_instance_imports_nothing_and_says_so() {
    let _server = sharing();
    let (db, tmp) = (database("overtaken"), tempfile::tempdir().unwrap());
    let b = instance(tmp.path(), "b", &db.url);
    let file_s = generate(tmp.path());
    let text = std::fs::read_to_string(&file_s).unwrap();
    let generated: Value = serde_json::from_str(&text).unwrap();
    let first = generated["entities"][0]["id"].as_str().unwrap().to_owned();

    // B writes all the while the import is applied in memory (seconds),
    // so the import's commit finds the database past the version it was
    // checked against.
    let writers = Writers::start(&[b.port], 1, "o");
    eventually(Duration::from_secs(10), "B writes", || writers.count() > 0);
    let out = server::run_bounded(
        server::command(tmp.path()).args([
            "import",
            "--no-seed",
            "--database-url",
            &db.url,
            &file_s,
        ]),
        Duration::from_secs(120),
    );
    let (acknowledged, refusals) = writers.stop();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(said.contains("run the import again"), "{said}");
    assert!(refusals.is_empty(), "{refusals:?}");

    // Nothing of the import is in the database; every write of B's is.
    let exported = cli(tmp.path(), &["export", "--database-url", &db.url, "-"]);
    assert!(!exported.contains(&format!("\"{first}\"")));
    let last = acknowledged.last().unwrap();
    assert!(exported.contains(&format!("\"{last}\"")), "{last}");
}

/// How far the database's change log has been pruned.
fn pruned_to(url: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT pruned_to FROM log_horizon")
            .fetch_one(&pool)
            .await
            .unwrap()
    })
}

#[test]
fn an_instance_cut_off_past_the_log_retention_says_so_and_a_restart_catches_up() {
    let _server = sharing();
    let db = database("prune");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (proxy, via) = Proxy::to(&db.url);
    let retention = [("PARTNERGRAPH_LOG_RETENTION_SECS", "1")];
    let start = |name: &str, url: &str| instance_with(dir, name, url, &retention);
    let a = start("a", &db.url);
    let b = start("b", &via);
    let (status, body) = create(a.port, "seen").unwrap();
    assert_eq!((status, code(&body)), (200, ""), "{body:#}");
    eventually(Duration::from_secs(10), "B has A's first write", || {
        version(b.port) == version(a.port)
    });

    // While B is cut off, A writes, and the log lets go of those writes.
    proxy.cut();
    for i in 0..3 {
        let (status, body) = create(a.port, &format!("unseen-{i}")).unwrap();
        assert_eq!((status, code(&body)), (200, ""), "{body:#}");
    }
    let written = version(a.port);
    eventually(Duration::from_secs(15), "the log pruned", || {
        pruned_to(&db.url) >= written
    });
    // B, back, cannot follow: it stays unready, says why, and takes no
    // write, rather than answer from a graph it cannot bring up to date.
    proxy.restore();
    eventually(Duration::from_secs(15), "B says it must restart", || {
        b.log().contains("pruned up to")
    });
    assert!(b.log().contains("restart"), "{}", b.log());
    assert_eq!(server::get(b.port, "/readyz").unwrap().0, 503);
    assert!(version(b.port) < written);
    let (status, body) = create(b.port, "on-b").unwrap();
    assert_eq!(
        (status, code(&body)),
        (503, "STORE_UNAVAILABLE"),
        "{body:#}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("pruned"));

    // Restarted, it reads a fresh snapshot, is ready, and follows again.
    drop(b);
    let b = start("b2", &db.url);
    eventually(Duration::from_secs(10), "B ready after its restart", || {
        server::get(b.port, "/readyz").unwrap().0 == 200
    });
    assert_eq!(version(b.port), written);
    let ids: Vec<String> = ["seen", "unseen-2"].map(String::from).to_vec();
    assert_eq!(server::present(b.port, &ids), ids);
    let (status, body) = create(a.port, "later").unwrap();
    assert_eq!((status, code(&body)), (200, ""), "{body:#}");
    eventually(Duration::from_secs(10), "B follows A again", || {
        version(b.port) == version(a.port)
    });
    assert!(server::present(b.port, &["on-b".into()]).is_empty());
}
