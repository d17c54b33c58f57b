//! The real binary as a server on a data directory of the test's own: start
//! it on a port the OS picks, talk raw HTTP/1.1 to it, stop it gracefully
//! (SIGTERM) or kill it (SIGKILL).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_partnergraph");

/// The write token every server started here is given.
pub const TOKEN: &str = "binary-write-token-0123456789";

/// The built-in article's counts, as an empty data directory is seeded.
pub const ARTICLE_ENTITIES: i64 = 24;
/// The built-in article's relation count.
pub const ARTICLE_RELATIONS: i64 = 43;

/// The binary with none of the caller's PARTNERGRAPH_* settings, working in
/// `data_dir`, with the write token set and a short shutdown grace period.
pub fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PARTNERGRAPH_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PARTNERGRAPH_DATA_DIR", data_dir)
        .env("PARTNERGRAPH_WRITE_TOKEN", TOKEN)
        .env("PARTNERGRAPH_SHUTDOWN_TIMEOUT", "2")
        .env("PARTNERGRAPH_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` to its end, or kills it and panics after `limit`. Its output
/// is read while it runs, so a command that writes more than a pipe holds
/// does not block on it.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start partnergraph");
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            out
        })
    }
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().expect("read the child's stdout");
    let stderr = stderr.join().expect("read the child's stderr");
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "partnergraph did not exit within {limit:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

static NEXT_LOG: AtomicUsize = AtomicUsize::new(0);

/// A running server; killed when dropped, passing or not.
pub struct Server {
    child: Option<Child>,
    /// The port it listens on.
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Starts the binary on `data_dir`, listening on 127.0.0.1 on a port the
    /// OS picks, and waits for it to say which.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// [`start`](Self::start) with these environment variables set too.
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_under(data_dir, env, None)
    }

    /// [`start_with`](Self::start_with), run by `sh -c "{shell} && exec
    /// partnergraph …"` when `shell` is given: to start it with lowered
    /// process limits, say.
    pub fn start_under(data_dir: &Path, env: &[(&str, &str)], shell: Option<&str>) -> Server {
        let log = data_dir.with_extension(format!(
            "{}.{}.log",
            std::process::id(),
            NEXT_LOG.fetch_add(1, Ordering::SeqCst)
        ));
        let stderr = std::fs::File::create(&log).expect("create the server log");
        let mut cmd = command(data_dir);
        if let Some(shell) = shell {
            let program = cmd.get_program().to_owned();
            cmd = Command::new("sh");
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("PARTNERGRAPH_DATA_DIR", data_dir)
                .env("PARTNERGRAPH_WRITE_TOKEN", TOKEN)
                .env("PARTNERGRAPH_SHUTDOWN_TIMEOUT", "2")
                .env("PARTNERGRAPH_LOG", "warn")
                .stdin(Stdio::null())
                .args(["-c", &format!("{shell} && exec \"$0\" \"$@\"")])
                .arg(program);
        }
        let mut child = cmd
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start partnergraph");
        let stdout = child.stdout.take().expect("the server's stdout");
        // Read the first line on a thread, so that a server that never
        // prints fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining, so that the server never blocks on stdout.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = Server {
            child: Some(child),
            port: 0,
            log,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no listening line in 60 s; log:\n{}", server.log()));
        server.port = line
            .trim()
            .strip_prefix("partnergraph listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log:\n{}", server.log()));
        server
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (bounded) for a graceful exit.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("a running server");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("poll the server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not stop within 20 s of SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL, as a crash would, and reaps it.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the server");
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 exchange with `Connection: close`, bounded by timeouts;
/// the status and the body.
pub fn exchange(port: u16, request: &str) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.set_write_timeout(Some(Duration::from_secs(15)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP response");
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_owned()))
}

/// `GET path`.
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    )
}

/// A GraphQL POST with the write token; the status and the JSON body.
pub fn try_gql(port: u16, query: &str, variables: Value) -> std::io::Result<(u16, Value)> {
    try_gql_with(port, query, variables, json!({}))
}

/// A GraphQL POST of `query` with `operationName` set to `name`.
pub fn try_gql_with_name(port: u16, query: &str, name: &str) -> std::io::Result<(u16, Value)> {
    let body = json!({ "query": query, "operationName": name }).to_string();
    post_json(port, &body)
}

/// [`try_gql`] with request `extensions`.
pub fn try_gql_with(
    port: u16,
    query: &str,
    variables: Value,
    extensions: Value,
) -> std::io::Result<(u16, Value)> {
    let body =
        json!({ "query": query, "variables": variables, "extensions": extensions }).to_string();
    post_json(port, &body)
}

/// POSTs `body` to /graphql with the write token; the status and the JSON
/// answer.
fn post_json(port: u16, body: &str) -> std::io::Result<(u16, Value)> {
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = exchange(port, &request)?;
    let json = serde_json::from_str(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not JSON ({e}): {text}"),
        )
    })?;
    Ok((status, json))
}

/// The `data` of a GraphQL request that must succeed without errors.
pub fn gql(port: u16, query: &str, variables: Value) -> Value {
    let (status, body) = try_gql(port, query, variables)
        .unwrap_or_else(|e| panic!("request to the server failed: {e}"));
    assert_eq!(status, 200, "{body:#}");
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"].clone()
}

/// A JSON integer, or a panic naming the value.
pub fn int(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

/// The graph version and the entity and relation counts the server reports.
pub fn counts(port: u16) -> (i64, i64, i64) {
    let d = gql(
        port,
        "{ graphVersion stats { entities relations } }",
        json!({}),
    );
    (
        int(&d["graphVersion"]),
        int(&d["stats"]["entities"]),
        int(&d["stats"]["relations"]),
    )
}

/// The mutation that creates an entity.
pub const CREATE_ENTITY: &str =
    "mutation($input: EntityInput!) { createEntity(input: $input) { id name } }";

/// The input of a security service quoting the article.
pub fn entity_input(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "kind": "SECURITY_SERVICE",
        "name": name,
        "sources": [{ "document": crate::common::DOC, "quote": "including the Asayish and Peshmerga" }],
    })
}

/// The mutation that ingests a document.
pub const INGEST: &str = "mutation($input: IngestInput!) { ingest(input: $input) { \
     graphVersion document { id } entities { id } relations { id } } }";

/// An ingest of document `doc` with entities `{doc}-a` and `{doc}-b` and
/// the relation `{doc}-rel` from the first to the second.
pub fn ingest_input(doc: &str) -> Value {
    let quote = |q: &str| json!([{ "document": doc, "quote": q }]);
    json!({
        "document": {
            "id": doc,
            "title": format!("Report {doc}"),
            "publisher": "Test Wire",
            "text": "The Alpha Unit is part of the Beta Brigade, the report says.",
        },
        "entities": [
            { "id": format!("{doc}-a"), "kind": "ARMED_FORCE", "name": format!("Alpha Unit {doc}"), "sources": quote("The Alpha Unit") },
            { "id": format!("{doc}-b"), "kind": "ARMED_FORCE", "name": format!("Beta Brigade {doc}"), "sources": quote("the Beta Brigade") },
        ],
        "relations": [
            { "id": format!("{doc}-rel"), "kind": "PART_OF", "from": format!("{doc}-a"), "to": format!("{doc}-b"),
              "sources": quote("The Alpha Unit is part of the Beta Brigade") },
        ],
    })
}

/// Which of `ids` name a node (entity, relation or document) on the server.
pub fn present(port: u16, ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for chunk in ids.chunks(40) {
        let fields: String = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| format!("n{i}: node(id: {}) {{ id }} ", json!(id)))
            .collect();
        let d = gql(port, &format!("{{ {fields} }}"), json!({}));
        for (i, id) in chunk.iter().enumerate() {
            if !d[format!("n{i}")].is_null() {
                found.push(id.clone());
            }
        }
    }
    found
}
