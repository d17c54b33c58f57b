//! `graphChanged` over graphql-transport-ws against the real binary: every
//! committed change, once, in commit order, filtered by kind and entity.

use crate::server::{self, entity_input, Server, CREATE_ENTITY};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const PROTOCOL: &str = "graphql-transport-ws";

pub(crate) const SELECTION: &str = "{ kind id graphVersion entity { id name } relation { id } }";

/// A graphql-transport-ws client and the `next` payloads it received, by
/// subscription id.
pub(crate) struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Events at or below this graph version are dropped (warm-up writes).
    baseline: u64,
    received: HashMap<String, Vec<Value>>,
    /// Other messages (`error`, `next` with errors), by subscription id.
    others: HashMap<String, Vec<Value>>,
}

impl Client {
    /// Connects, sends `connection_init` and waits for `connection_ack`.
    pub(crate) async fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        Client::over(port, stream).await
    }

    /// The same over a TCP connection the caller made.
    async fn over(port: u16, stream: TcpStream) -> Client {
        let mut request = format!("ws://127.0.0.1:{port}/graphql")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(PROTOCOL));
        let (ws, response) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)),
        )
        .await
        .expect("the WebSocket handshake timed out")
        .expect("the WebSocket handshake succeeds");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some(PROTOCOL)
        );
        let mut client = Client {
            ws,
            baseline: 0,
            received: HashMap::new(),
            others: HashMap::new(),
        };
        client
            .send(json!({ "type": "connection_init", "payload": {} }))
            .await;
        let ack = client
            .recv(Duration::from_secs(10))
            .await
            .expect("a connection_ack in time");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send over the WebSocket");
    }

    pub(crate) async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
    }

    /// The next protocol message, answering pings; `None` after `limit`
    /// without one.
    async fn recv(&mut self, limit: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(message);
                }
                Some(Ok(Message::Close(frame))) => {
                    panic!("the server closed the socket: {frame:?}")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("WebSocket error: {e}"),
                None => panic!("the WebSocket ended"),
            }
        }
    }

    /// Files one message under its subscription id.
    fn file(&mut self, message: Value) {
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("next") if message["payload"].get("errors").is_none() => {
                let change = message["payload"]["data"]["graphChanged"].clone();
                let version = change["graphVersion"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no graphVersion in {message}"));
                if version > self.baseline {
                    self.received.entry(id).or_default().push(change);
                }
            }
            Some("complete") => {}
            _ => self.others.entry(id).or_default().push(message),
        }
    }

    /// Reads messages until `done` holds, or `limit` passes; whether it held.
    pub(crate) async fn wait_until(
        &mut self,
        limit: Duration,
        done: impl Fn(&Client) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.recv(left).await {
                Some(message) => self.file(message),
                None => return false,
            }
        }
        true
    }

    pub(crate) fn events(&self, id: &str) -> &[Value] {
        self.received.get(id).map(Vec::as_slice).unwrap_or_default()
    }
}

/// A write over HTTP, off the async runtime; its data and graph version.
async fn write(port: u16, query: &'static str, variables: Value) -> (Value, u64) {
    tokio::task::spawn_blocking(move || {
        let (status, body) = server::try_gql(port, query, variables).expect("the write request");
        assert_eq!(status, 200, "{body:#}");
        assert!(body.get("errors").is_none(), "{body:#}");
        let version = body["extensions"]["graphVersion"].as_u64().unwrap();
        (body["data"].clone(), version)
    })
    .await
    .expect("the write task")
}

const UPDATE_NAME: &str =
    "mutation($id: ID!, $name: String!) { updateEntity(id: $id, patch: { name: $name }) { id } }";
const DELETE: &str =
    "mutation($id: ID!, $cascade: Boolean! = false) { deleteEntity(id: $id, cascade: $cascade) }";
const RELATE: &str = r#"mutation($from: ID!, $to: ID!) { createRelation(input: { kind: PART_OF, from: $from, to: $to,
    sources: [{ document: "k24-peshmerga-us-iraq-talks", quote: "including the Asayish and Peshmerga" }] }) { id } }"#;

fn change(kind: &str, id: &str, version: u64, entity: Value, relation: Value) -> Value {
    json!({ "kind": kind, "id": id, "graphVersion": version, "entity": entity, "relation": relation })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_changed_streams_commits_in_order_filtered_by_kind_and_entity() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let port = server.port;

    // Two connections: one with an unfiltered and an entity-filtered
    // subscription, one with a kind-filtered subscription.
    let mut a = Client::connect(port).await;
    let mut b = Client::connect(port).await;
    a.subscribe(
        "all",
        &format!("subscription {{ graphChanged {SELECTION} }}"),
    )
    .await;
    a.subscribe(
        "mine",
        &format!("subscription {{ graphChanged(entity: \"sub-target\") {SELECTION} }}"),
    )
    .await;
    b.subscribe(
        "deleted",
        &format!("subscription {{ graphChanged(kinds: [ENTITY_DELETED]) {SELECTION} }}"),
    )
    .await;

    // A subscription starts listening when the server first polls it, which
    // the client cannot see: warm up with writes every subscription
    // matches until each has received one, then drop those events.
    let mut baseline = 0;
    let mut live = false;
    for round in 0..10 {
        write(
            port,
            CREATE_ENTITY,
            json!({ "input": entity_input("sub-target", &format!("Warm-up {round}")) }),
        )
        .await;
        baseline = write(port, DELETE, json!({ "id": "sub-target" })).await.1;
        let a_live = a
            .wait_until(Duration::from_secs(2), |c| {
                !c.events("all").is_empty() && !c.events("mine").is_empty()
            })
            .await;
        let b_live = b
            .wait_until(Duration::from_secs(2), |c| !c.events("deleted").is_empty())
            .await;
        if a_live && b_live {
            live = true;
            break;
        }
    }
    assert!(live, "the subscriptions never received the warm-up writes");
    for c in [&mut a, &mut b] {
        c.baseline = baseline;
        c.received.clear();
    }

    // The writes: create, update and delete `sub-target`, with writes on
    // another entity and a relation between them in between.
    let v = |k: u64| baseline + k;
    let (d, v1) = write(
        port,
        CREATE_ENTITY,
        json!({ "input": entity_input("sub-target", "Target") }),
    )
    .await;
    assert_eq!(
        (d["createEntity"]["id"].as_str(), v1),
        (Some("sub-target"), v(1))
    );
    let (_, v2) = write(
        port,
        CREATE_ENTITY,
        json!({ "input": entity_input("sub-other", "Other") }),
    )
    .await;
    let (_, v3) = write(
        port,
        UPDATE_NAME,
        json!({ "id": "sub-target", "name": "Target Renamed" }),
    )
    .await;
    let (d, v4) = write(
        port,
        RELATE,
        json!({ "from": "sub-other", "to": "sub-target" }),
    )
    .await;
    let rel = d["createRelation"]["id"].as_str().unwrap().to_owned();
    assert_eq!(rel, "sub-other-part-of-sub-target");
    let (_, v5) = write(port, DELETE, json!({ "id": "sub-other", "cascade": true })).await;
    let (_, v6) = write(port, DELETE, json!({ "id": "sub-target" })).await;
    assert_eq!([v2, v3, v4, v5, v6], [v(2), v(3), v(4), v(5), v(6)]);

    let target = |name: &str| json!({ "id": "sub-target", "name": name });
    let created = change(
        "ENTITY_CREATED",
        "sub-target",
        v1,
        target("Target"),
        Value::Null,
    );
    let other = change(
        "ENTITY_CREATED",
        "sub-other",
        v2,
        json!({ "id": "sub-other", "name": "Other" }),
        Value::Null,
    );
    let updated = change(
        "ENTITY_UPDATED",
        "sub-target",
        v3,
        target("Target Renamed"),
        Value::Null,
    );
    let related = change(
        "RELATION_CREATED",
        &rel,
        v4,
        Value::Null,
        json!({ "id": rel }),
    );
    let unrelated = change("RELATION_DELETED", &rel, v5, Value::Null, Value::Null);
    let other_gone = change("ENTITY_DELETED", "sub-other", v5, Value::Null, Value::Null);
    let gone = change("ENTITY_DELETED", "sub-target", v6, Value::Null, Value::Null);

    let want_all = vec![
        created.clone(),
        other,
        updated.clone(),
        related.clone(),
        unrelated.clone(),
        other_gone.clone(),
        gone.clone(),
    ];
    let want_mine = vec![created, updated, related, unrelated, gone.clone()];
    let want_deleted = vec![other_gone, gone];
    let a_done = a
        .wait_until(Duration::from_secs(20), |c| {
            c.events("all").len() >= want_all.len() && c.events("mine").len() >= want_mine.len()
        })
        .await;
    let b_done = b
        .wait_until(Duration::from_secs(20), |c| {
            c.events("deleted").len() >= want_deleted.len()
        })
        .await;
    // The last write is the last event of every subscription, so nothing
    // can still come after what was received here.
    assert_eq!(a.events("all"), want_all, "all changes, in commit order");
    assert_eq!(a.events("mine"), want_mine, "only sub-target's changes");
    assert_eq!(b.events("deleted"), want_deleted, "only deletions");
    assert!(a_done && b_done);
    assert!(a.others.is_empty(), "unexpected messages: {:?}", a.others);
    assert!(b.others.is_empty(), "unexpected messages: {:?}", b.others);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_not_taken_over_the_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let mut c = Client::connect(server.port).await;
    c.send(json!({ "id": "w", "type": "subscribe", "payload": {
        "query": CREATE_ENTITY,
        "variables": { "input": entity_input("ws-unit", "WebSocket Unit") },
    } }))
    .await;
    let message = c
        .recv(Duration::from_secs(10))
        .await
        .expect("an answer to the mutation");
    assert_eq!(message["id"], "w", "{message}");
    assert!(
        message.to_string().contains("UNAUTHENTICATED"),
        "the write is refused: {message}"
    );
    // Queries still work there.
    c.subscribe(
        "q",
        r#"{ entity(id: "ws-unit") { id } stats { entities } }"#,
    )
    .await;
    let message = c.recv(Duration::from_secs(10)).await.expect("an answer");
    let message = if message["id"] == "w" {
        // The mutation's `complete`.
        c.recv(Duration::from_secs(10)).await.expect("an answer")
    } else {
        message
    };
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(
        message["payload"]["data"],
        json!({ "entity": null, "stats": { "entities": server::ARTICLE_ENTITIES } })
    );
}

/// Resident memory of process `pid`, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A subscriber that reads nothing while 5,000 writes are committed pins no
/// memory: the server sends only what the socket takes, the subscription
/// falls behind in the bounded event channel, and when the subscriber reads
/// again it is told how many changes it missed, then gets the later ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_told_it_fell_behind() {
    const WRITES: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let port = server.port;
    // A small receive buffer, so that the socket fills after a few events
    // rather than after megabytes of them.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let mut client = Client::over(port, stream).await;
    // Each event carries the article's text, so that the socket's buffers
    // fill after some events rather than holding all of them.
    let selection = "{ kind id graphVersion entity { id sources { document { text } } } }";
    client
        .subscribe(
            "all",
            &format!("subscription {{ graphChanged {selection} }}"),
        )
        .await;
    // One write read back, so the subscription is known to listen.
    write(
        port,
        CREATE_ENTITY,
        json!({ "input": entity_input("warm-up", "Warm Up") }),
    )
    .await;
    assert!(
        client
            .wait_until(Duration::from_secs(10), |c| !c.events("all").is_empty())
            .await
    );
    let before = resident_kib(server.pid());

    // Eight writers, nobody reading the subscription.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            tokio::task::spawn_blocking(move || {
                for i in (w..WRITES).step_by(8) {
                    let input = entity_input(&format!("stalled-{i}"), &format!("Stalled Unit {i}"));
                    let (status, body) =
                        server::try_gql(port, CREATE_ENTITY, json!({ "input": input })).unwrap();
                    assert!(status == 200 && body.get("errors").is_none(), "{body:#}");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let after = resident_kib(server.pid());
    // The bound stated: the events a lagging subscriber can pin are at most
    // the channel's 1,024, each a few hundred bytes; the rest is the 5,000
    // entities themselves and the allocator.
    assert!(
        after < before + 64 * 1024,
        "resident memory grew from {before} KiB to {after} KiB"
    );

    // Reading again: a few events the socket held, then the error that
    // says how many were missed, then the stream goes on.
    let told = client
        .wait_until(Duration::from_secs(60), |c| {
            c.others.get("all").is_some_and(|m| {
                m.iter()
                    .any(|m| m.to_string().contains("fell behind and missed"))
            })
        })
        .await;
    assert!(
        told,
        "no fell-behind error after {} events; other messages: {:?}",
        client.events("all").len(),
        client.others
    );
    let delivered = client.events("all").len();
    assert!(
        delivered < WRITES,
        "all {delivered} events were held for the subscriber"
    );
    write(
        port,
        CREATE_ENTITY,
        json!({ "input": entity_input("after", "After Unit") }),
    )
    .await;
    assert!(
        client
            .wait_until(Duration::from_secs(10), |c| c
                .events("all")
                .iter()
                .any(|e| e["id"] == "after"))
            .await
    );
}
