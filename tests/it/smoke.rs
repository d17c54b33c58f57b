//! The real binary: serving on a port the OS picks, and the `check`
//! subcommand.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_partnergraph");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Kills the server when the test ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A data directory of its own for each run of the binary, removed at exit.
fn data_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// A binary with none of the caller's PARTNERGRAPH_* settings, on a
/// throwaway data directory.
fn command() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PARTNERGRAPH_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(ROOT);
    cmd.env(
        "PARTNERGRAPH_DATA_DIR",
        data_dir().join(format!(
            "run-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        )),
    );
    cmd
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One HTTP/1.1 exchange; returns the status code, the head and the body.
fn http(port: u16, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {response:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head.to_owned(), body.to_owned())
}

#[test]
fn binary_serves_graphql_and_health() {
    let mut child = command()
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start partnergraph");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("partnergraph listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("no port in {line:?}: {e}"));
    assert_ne!(port, 0);

    let body = json!({ "query": r#"{ entity(id: "ctef") { name ... on Fund { totalAmount { display } } } }"# })
        .to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/graphql-response+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, head, body) = http(port, &request);
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/graphql-response+json"));
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["data"]["entity"],
        json!({ "name": "Counter-ISIS Train and Equip Fund", "totalAmount": { "display": "$358 million" } })
    );

    let (status, _, body) = http(
        port,
        &format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["entities"], 24);
    drop(server);
}

#[test]
fn help_lists_the_settings() {
    let out = command().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--listen",
        "PARTNERGRAPH_LISTEN",
        "serve",
        "check",
        "print-schema",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
}

#[test]
fn check_reports_what_the_data_holds() {
    let out = command()
        .args(["check", "data/article.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "ok: 1 documents, 24 entities, 43 relations");
}

#[test]
fn check_refuses_a_broken_file_naming_file_and_item() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("partnergraph-broken-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        r#"
[document]
id = "d"
title = "A title"
publisher = "A publisher"
text = "The only words of this document."

[[entities]]
id = "somewhere"
kind = "COUNTRY"
name = "Somewhere"
sources = [{ document = "d", quote = "words that are not in it" }]
"#,
    )
    .unwrap();
    let out = command().arg("check").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success(), "a broken file is refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    assert!(
        stderr.contains(&file),
        "the message names the file: {stderr}"
    );
    assert!(
        stderr.contains("entity `somewhere`"),
        "the message names the item: {stderr}"
    );
    assert!(stderr.contains("quote"), "and what is wrong: {stderr}");
}
