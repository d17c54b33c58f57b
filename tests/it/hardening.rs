//! What a hostile or careless client can make the real binary do: each
//! case refused quickly, coded, and leaving the server's memory alone.

use crate::server::{self, Server};

#[test]
fn operation_names_cannot_grow_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    for i in 0..3000 {
        let name = format!("Op{i}");
        let (status, body) = server::try_gql_with_name(
            server.port,
            &format!("query {name} {{ graphVersion }}"),
            &name,
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (status, metrics) = server::get(server.port, "/metrics").unwrap();
    assert_eq!(status, 200);
    let labelled = |name: &str| metrics.contains(&format!("operation=\"{name}\""));
    assert!(labelled("Op0") && labelled("other"));
    assert!(!labelled("Op2999"));
    assert!(
        metrics.len() < 400_000,
        "/metrics is {} bytes",
        metrics.len()
    );
}

mod websocket {
    use crate::server::Server;
    use futures_util::{SinkExt, StreamExt};
    use serde_json::json;
    use std::time::{Duration, Instant};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

    type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

    /// Opens a graphql-transport-ws socket, or says why it could not.
    async fn try_connect(port: u16) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://127.0.0.1:{port}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(ws, _)| ws)
    }

    async fn connect(port: u16) -> Socket {
        try_connect(port).await.unwrap()
    }

    /// The close code the server ends the socket with, within `limit`.
    async fn closed_with(ws: &mut Socket, limit: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => panic!("the server did not close the socket within {limit:?}"),
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) | Ok(None) => return None,
            }
        }
    }

    async fn started(dir: &std::path::Path) -> Server {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || Server::start(&dir.join("data")))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_never_initialises_is_closed_with_4408() {
        let dir = tempfile::tempdir().unwrap();
        let server = started(dir.path()).await;
        let mut ws = connect(server.port).await;
        let opened = Instant::now();
        assert_eq!(
            closed_with(&mut ws, Duration::from_secs(20)).await,
            Some(4408)
        );
        assert!(opened.elapsed() >= Duration::from_secs(9));
    }

    /// A peer that stops answering pings is closed after three intervals,
    /// while one that answers (by reading, which sends the pongs) stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_that_answers_no_pings_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let server = tokio::task::spawn_blocking(move || {
            Server::start_with(&data, &[("PARTNERGRAPH_WEBSOCKET_PING_MS", "200")])
        })
        .await
        .unwrap();
        let init = || Message::Text(json!({ "type": "connection_init" }).to_string().into());
        let (mut silent, mut answering) = (connect(server.port).await, connect(server.port).await);
        silent.send(init()).await.unwrap();
        answering.send(init()).await.unwrap();
        // The silent one is not read at all (so it sends no pong); the
        // other is read throughout.
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            match tokio::time::timeout(Duration::from_millis(50), answering.next()).await {
                Err(_) => {}
                Ok(Some(Ok(Message::Close(frame)))) => panic!("closed: {frame:?}"),
                Ok(Some(Ok(_))) => {}
                Ok(other) => panic!("the answering peer lost its socket: {other:?}"),
            }
        }
        // Closed with 1001 (going away), or cut before the client read the
        // close frame: either way, gone.
        let closed = closed_with(&mut silent, Duration::from_secs(5)).await;
        assert!(matches!(closed, Some(1001) | None), "{closed:?}");
        // The answering peer is still served.
        answering
            .send(Message::Text(json!({ "type": "ping" }).to_string().into()))
            .await
            .unwrap();
        let pong = loop {
            match tokio::time::timeout(Duration::from_secs(5), answering.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => break t.to_string(),
                Ok(Some(Ok(_))) => continue,
                other => panic!("no answer: {other:?}"),
            }
        };
        assert!(pong.contains("pong"), "{pong}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_connection_runs_at_most_a_hundred_operations() {
        let dir = tempfile::tempdir().unwrap();
        let server = started(dir.path()).await;
        let mut ws = connect(server.port).await;
        ws.send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .unwrap();
        for i in 0..101 {
            let subscribe = json!({ "id": format!("s{i}"), "type": "subscribe",
                "payload": { "query": "subscription { graphChanged { graphVersion } }" } });
            if ws.send(Message::text(subscribe.to_string())).await.is_err() {
                break;
            }
        }
        // 1008: policy violation.
        assert_eq!(
            closed_with(&mut ws, Duration::from_secs(10)).await,
            Some(1008)
        );
        // Completing operations frees their places.
        let mut ws = connect(server.port).await;
        ws.send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .unwrap();
        for i in 0..150 {
            let id = format!("s{i}");
            let subscribe = json!({ "id": id, "type": "subscribe",
                "payload": { "query": "subscription { graphChanged { graphVersion } }" } });
            ws.send(Message::text(subscribe.to_string())).await.unwrap();
            ws.send(Message::text(
                json!({ "id": id, "type": "complete" }).to_string(),
            ))
            .await
            .unwrap();
        }
        ws.send(Message::text(
            json!({ "id": "q", "type": "subscribe",
            "payload": { "query": "{ graphVersion }" } })
            .to_string(),
        ))
        .await
        .unwrap();
        let answered = loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("\"id\":\"q\"") => {
                    break t.as_str().contains("\"next\"")
                }
                Ok(Some(Ok(Message::Close(f)))) => panic!("closed: {f:?}"),
                Ok(Some(Ok(_))) => continue,
                other => panic!("no answer: {other:?}"),
            }
        };
        assert!(answered);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_past_the_cap_are_refused_before_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // Every socket comes from one address: no cap per address here.
        let server = tokio::task::spawn_blocking(move || {
            Server::start_with(&data, &[("PARTNERGRAPH_MAX_CONNECTIONS_PER_ADDRESS", "0")])
        })
        .await
        .unwrap();
        let mut open = Vec::new();
        for _ in 0..512 {
            open.push(connect(server.port).await);
        }
        let refused = {
            let port = server.port;
            tokio::task::spawn_blocking(move || {
                crate::server::exchange(
                    port,
                    &format!(
                        "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n\
                         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                         Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
                    ),
                )
                .unwrap()
            })
            .await
            .unwrap()
        };
        assert_eq!(refused.0, 503, "{}", refused.1);
        assert!(refused.1.contains("OVERLOADED"), "{}", refused.1);
        // A place freed is a place taken again.
        let mut one = open.pop().unwrap();
        one.close(None).await.unwrap();
        drop(one);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if try_connect(server.port).await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the freed place was not given back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_past_the_limit_in_continuation_frames_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let server = started(dir.path()).await;
        let mut ws = connect(server.port).await;
        let chunk = vec![b' '; 64 * 1024];
        let first = Frame::message(chunk.clone(), OpCode::Data(Data::Text), false);
        ws.send(Message::Frame(first)).await.unwrap();
        // Up to 200 MB; the server must close long before.
        let mut sent = chunk.len();
        while sent < 200 << 20 {
            let next = Frame::message(chunk.clone(), OpCode::Data(Data::Continue), false);
            if ws.send(Message::Frame(next)).await.is_err() {
                break;
            }
            sent += chunk.len();
            if sent > 8 << 20 {
                break;
            }
        }
        let code = closed_with(&mut ws, Duration::from_secs(10)).await;
        assert!(matches!(code, Some(1008 | 1009) | None), "{code:?}");
        assert!(
            crate::hardening::resident_mib(server.pid()) < 300,
            "the server holds the message"
        );
    }
}

/// Resident memory of process `pid`, in MiB.
pub(crate) fn resident_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        / 1024
}

/// A body sent a byte a second, by Content-Length or chunked, is cut off
/// at the body timeout while other clients are answered at once.
#[test]
fn a_body_sent_a_byte_at_a_time_is_cut_off() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &[("PARTNERGRAPH_BODY_TIMEOUT_MS", "1500")],
    );
    let port = server.port;
    let slow = |chunked: bool| {
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let framing = if chunked {
                "Transfer-Encoding: chunked"
            } else {
                "Content-Length: 200"
            };
            write!(
                s,
                "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Accept: application/json\r\n{framing}\r\n\r\n"
            )
            .unwrap();
            let started = std::time::Instant::now();
            // One byte a second until the server answers or hangs up.
            let mut answer = Vec::new();
            s.set_nonblocking(true).unwrap();
            while started.elapsed() < std::time::Duration::from_secs(8) {
                let byte: &[u8] = if chunked { b"1\r\n{\r\n" } else { b"{" };
                if s.write_all(byte).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
                let mut buf = [0u8; 4096];
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
                if !answer.is_empty() {
                    break;
                }
            }
            let took = started.elapsed();
            // The connection closes after the answer, however the client
            // goes on sending.
            let mut closed = false;
            while started.elapsed() < std::time::Duration::from_secs(8) {
                let _ = s.write_all(b"1\r\n{\r\n");
                std::thread::sleep(std::time::Duration::from_millis(300));
                let mut buf = [0u8; 4096];
                match s.read(&mut buf) {
                    Ok(0) => closed = true,
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => closed = true,
                }
                if closed {
                    break;
                }
            }
            assert!(closed, "the connection stayed open after the answer");
            (took, String::from_utf8_lossy(&answer).into_owned())
        })
    };
    let (by_length, by_chunks) = (slow(false), slow(true));
    // Meanwhile a fresh client is answered at once.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let asked = std::time::Instant::now();
    server::gql(port, "{ graphVersion }", serde_json::json!({}));
    assert!(asked.elapsed() < std::time::Duration::from_secs(1));
    for slow in [by_length, by_chunks] {
        let (took, answer) = slow.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
        assert!(took < std::time::Duration::from_secs(4), "{took:?}");
    }
}

/// The server raises its open-file limit to the hard limit at start, so
/// that a crowd of clients cannot run it out of files.
#[test]
fn the_open_file_limit_is_raised_to_the_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Started with a soft limit far below the hard one.
    let server = Server::start_under(&dir.path().join("data"), &[], Some("ulimit -Sn 256"));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    // "Max open files <soft> <hard> files"
    assert_ne!(fields[3], "256", "{line}");
    assert_eq!(fields[3], fields[4], "{line}");
}

/// Past `--max-in-flight` requests at once, a request is answered 503
/// OVERLOADED with Retry-After at once; answers from the response cache
/// are never refused.
#[test]
fn work_past_the_in_flight_bound_is_shed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &[
            ("PARTNERGRAPH_MAX_IN_FLIGHT", "1"),
            ("PARTNERGRAPH_CONSISTENCY_WAIT_MS", "3000"),
        ],
    );
    let port = server.port;
    // Cached before the place is taken.
    server::gql(port, "{ stats { entities } }", serde_json::json!({}));
    // One request holds the only place: it waits for a version nobody wrote.
    let holder = std::thread::spawn(move || {
        server::try_gql_with(
            port,
            "{ graphVersion }",
            serde_json::json!({}),
            serde_json::json!({ "minGraphVersion": 1_000_000 }),
        )
        .unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let asked = std::time::Instant::now();
    let (status, body) = server::try_gql(
        port,
        "{ entity(id: \"ctef\") { name } }",
        serde_json::json!({}),
    )
    .unwrap();
    assert!(asked.elapsed() < std::time::Duration::from_millis(500));
    assert_eq!(status, 503, "{body:#}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "OVERLOADED",
        "{body:#}"
    );
    // A cached answer costs nothing and is still given.
    assert_eq!(
        server::gql(port, "{ stats { entities } }", serde_json::json!({}))["stats"]["entities"],
        server::ARTICLE_ENTITIES
    );
    let (status, body) = holder.join().unwrap();
    assert_eq!(status, 503);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "VERSION_NOT_REACHED"
    );
    // With the place free again, the same request is answered.
    let (status, body) = server::try_gql(
        port,
        "{ entity(id: \"ctef\") { name } }",
        serde_json::json!({}),
    )
    .unwrap();
    assert_eq!(status, 200, "{body:#}");
}

/// POSTs `query` as JSON; the status, the body's size and the body.
fn post_query(port: u16, query: &str) -> (u16, usize, serde_json::Value) {
    let body = serde_json::json!({ "query": query }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = server::exchange(port, &request).unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:.300}"));
    (status, text.len(), json)
}

/// Documents whose shape alone would cost the server a lot are refused
/// before validation, with one coded error, quickly, and leave the
/// server's memory alone.
#[test]
fn costly_document_shapes_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let mut fan_out = String::from("{ ...F0 }\n");
    for i in 0..22 {
        fan_out.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    fan_out.push_str("fragment F22 on Query { graphVersion }\n");
    let directives = format!("{{ graphVersion {} }}", "@a ".repeat(300_000));
    let fields = format!("{{ {} }}", "a ".repeat(450_000));
    let exports: String = (0..4900)
        .map(|i| format!("e{i}: export(format: JSON) "))
        .collect();
    for (what, query) in [
        ("exports", format!("{{ {exports} }}")),
        ("fan-out", fan_out),
        ("directives", directives),
        ("fields", fields),
    ] {
        let started = std::time::Instant::now();
        let (status, size, body) = post_query(server.port, &query);
        let took = started.elapsed();
        assert_eq!(status, 200, "{what}: {body:#}");
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{what}");
        assert_eq!(
            errors[0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
            "{what}"
        );
        assert!(size < 1000, "{what}: an answer of {size} bytes");
        assert!(took < std::time::Duration::from_secs(2), "{what}: {took:?}");
    }
    assert!(resident_mib(server.pid()) < 300);
}

/// A document with many mistakes gets the first twenty and a count.
#[test]
fn errors_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let query = format!(
        "{{ {} }}",
        (0..500).map(|i| format!("unknown{i} ")).collect::<String>()
    );
    let (_, _, body) = post_query(server.port, &query);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 21, "{body:#}");
    assert_eq!(errors[20]["message"], "… and 480 more errors");
    assert_eq!(
        errors[20]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
}

/// Five exports fit the default complexity limit; six do not.
#[test]
fn an_export_weighs_a_fifth_of_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let exports = |n: usize| {
        format!(
            "{{ {} }}",
            (0..n)
                .map(|i| format!("e{i}: export(format: GRAPHML) "))
                .collect::<String>()
        )
    };
    let (_, _, body) = post_query(server.port, &exports(4));
    assert!(body.get("errors").is_none(), "{body:#}");
    let (_, _, body) = post_query(server.port, &exports(6));
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{body:#}"
    );
}

/// A document nested past the parser's limit is QUERY_TOO_DEEP, and a parse
/// error does not echo a long line back.
#[test]
fn deep_and_long_lines_get_short_coded_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let deep = format!(
        "{{ {}id{} }}",
        "entities { nodes { ".repeat(40),
        " } }".repeat(40)
    );
    let (_, _, body) = post_query(server.port, &deep);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{body:#}"
    );
    let long = format!("{{ {} !!! }}", "a ".repeat(20_000));
    let (_, size, body) = post_query(server.port, &long);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert!(size < 1000, "an answer of {size} bytes");
}

/// A connection to `port` from `source`, one of loopback's many addresses,
/// so that a test can be several clients.
fn connect_from(source: [u8; 4], port: u16) -> std::net::TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from((source, 0)).into())
        .unwrap();
    socket
        .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap();
    socket.into()
}

/// What the server sends on `stream` until it closes it (or `limit`
/// passes), and whether it closed it.
fn read_to_close(stream: &mut std::net::TcpStream, limit: std::time::Duration) -> (String, bool) {
    use std::io::Read;
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut answer = Vec::new();
    let closed = match stream.read_to_end(&mut answer) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

/// Past the cap per client address, or in all, a new connection is
/// answered 503 OVERLOADED and closed at once, while other clients are
/// served; a closed connection gives its place back.
#[test]
fn connections_past_a_cap_are_refused_at_once() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &[
            ("PARTNERGRAPH_MAX_CONNECTIONS", "6"),
            ("PARTNERGRAPH_MAX_CONNECTIONS_PER_ADDRESS", "4"),
        ],
    );
    let port = server.port;
    let held: Vec<_> = (0..4).map(|_| connect_from([127, 0, 0, 2], port)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let refused = |source| {
        let mut extra = connect_from(source, port);
        let asked = Instant::now();
        let (answer, closed) = read_to_close(&mut extra, Duration::from_secs(5));
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
        assert!(answer.contains("\"OVERLOADED\""), "{answer}");
        assert!(closed && asked.elapsed() < Duration::from_secs(1));
    };
    refused([127, 0, 0, 2]);
    // Another address is served meanwhile.
    assert!(server::gql(port, "{ graphVersion }", serde_json::json!({}))["graphVersion"].is_u64());
    let more: Vec<_> = (0..2).map(|_| connect_from([127, 0, 0, 3], port)).collect();
    std::thread::sleep(Duration::from_millis(200));
    refused([127, 0, 0, 4]);
    drop((held, more));
    // Once the server has seen them close, the address is served again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        use std::io::Write;
        let mut again = connect_from([127, 0, 0, 2], port);
        write!(
            again,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let (answer, _) = read_to_close(&mut again, Duration::from_secs(5));
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "no place given back: {answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, metrics) = server::get(port, "/metrics").unwrap();
    let refusals = metrics
        .lines()
        .find_map(|l| l.strip_prefix("partnergraph_http_connections_refused_total "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(refusals.is_some_and(|n| n >= 2), "{refusals:?}");
}

/// 1,100 bodies sent slowly from one client, on a server started with an
/// open-file limit of 1,024: those past the per-address cap are refused at
/// once, the rest cut off at the body timeout, and a fresh client is
/// answered meanwhile.
#[test]
fn a_crowd_of_slow_bodies_from_one_client_locks_nobody_out() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    // The test itself holds 1,100 sockets.
    assert!(rlimit::increase_nofile_limit(4096).is_ok_and(|n| n >= 1200));
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_under(
        &dir.path().join("data"),
        &[("PARTNERGRAPH_BODY_TIMEOUT_MS", "1500")],
        Some("ulimit -Sn 1024"),
    );
    let port = server.port;
    let mut slow: Vec<_> = (0..1100)
        .map(|_| {
            let mut s = connect_from([127, 0, 0, 2], port);
            // A refused one may already be closed: the write may fail.
            let _ = write!(
                s,
                "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: 200\r\n\r\n{{"
            );
            s
        })
        .collect();
    let asked = Instant::now();
    assert!(server::gql(port, "{ graphVersion }", serde_json::json!({}))["graphVersion"].is_u64());
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    let started = Instant::now();
    let (mut refused, mut timed_out) = (0, 0);
    for s in &mut slow {
        let (answer, _) = read_to_close(s, Duration::from_secs(5));
        if answer.starts_with("HTTP/1.1 503") {
            refused += 1;
        } else if answer.starts_with("HTTP/1.1 408") {
            timed_out += 1;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(
        timed_out,
        partnergraph::http::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        "{refused} refused"
    );
    assert_eq!(refused + timed_out, 1100);
    assert!(resident_mib(server.pid()) < 300);
}

/// An answer past --max-response-bytes is refused with BUDGET_EXCEEDED, an
/// export known to be too large before it is built; nothing refused is kept.
#[test]
fn answers_past_the_size_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &[("PARTNERGRAPH_MAX_RESPONSE_BYTES", "3000")],
    );
    for _ in 0..2 {
        let (status, size, body) = post_query(server.port, "{ export(format: GRAPHML) }");
        assert_eq!(status, 200);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BUDGET_EXCEEDED",
            "{body:#}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("alone would hold at least"), "{message}");
        assert!(size < 1000, "{size}");
    }
    let (_, size, body) = post_query(
        server.port,
        "{ entities(first: 100) { nodes { id name aliases description } } }",
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BUDGET_EXCEEDED",
        "{body:#}"
    );
    assert!(body["data"].is_null(), "{body:#}");
    assert!(size < 1000, "{size}");
    let (_, _, body) = post_query(server.port, "{ entity(id: \"ctef\") { name } }");
    assert!(body.get("errors").is_none(), "{body:#}");
}

/// 500 distinct 16 KB documents, each refused, leave the server's memory
/// as it was: nothing refused is kept.
#[test]
fn refused_documents_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    // One request first, so that what every request needs is in place.
    post_query(server.port, "{ graphVersion }");
    let before = resident_mib(server.pid());
    for i in 0..500 {
        let fields: String = (0..2400).map(|j| format!("u{i}x{j} ")).collect();
        let query = format!("{{ graphVersion {} }}", &fields[..16_000]);
        let (_, _, body) = post_query(server.port, &query);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{body:#}"
        );
    }
    let after = resident_mib(server.pid());
    assert!(
        after < before + 40,
        "{before} MiB before, {after} MiB after"
    );
}

/// Requests the HTTP layer cannot read (a URL over 64 KiB, a head over
/// 128 KiB, a garbled request line) get a coded JSON answer, as every
/// other refusal does, and the server goes on serving.
#[test]
fn requests_too_long_or_garbled_to_read_get_coded_answers() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let long_get = |words: usize| {
        let query = format!("{{ graphVersion {} }}", "a ".repeat(words));
        let query: String = query
            .bytes()
            .map(|b| match b {
                b' ' => "%20".to_owned(),
                b'{' => "%7B".to_owned(),
                b'}' => "%7D".to_owned(),
                b => (b as char).to_string(),
            })
            .collect();
        format!(
            "GET /graphql?query={query} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n"
        )
    };
    for (request, status) in [
        (long_get(20_000), "400"),
        (long_get(50_000), "431"),
        ("GARBLED\r\n\r\n".to_owned(), "400"),
    ] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        // The server may answer and close before the whole head is sent.
        let _ = s.write_all(request.as_bytes());
        let (answer, closed) = read_to_close(&mut s, std::time::Duration::from_secs(5));
        assert!(closed);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer:.300}"
        );
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            json["errors"][0]["extensions"]["code"], "BAD_REQUEST",
            "{body}"
        );
    }
    assert!(
        server::gql(server.port, "{ graphVersion }", serde_json::json!({}))["graphVersion"]
            .is_u64()
    );
}
