//! GraphQL over a WebSocket (graphql-transport-ws, and the older graphql-ws):
//! async-graphql speaks the protocol, actix-ws carries the frames.
//!
//! The point of this module is back-pressure. An event is sent only when the
//! socket has room for it: a subscriber that stops reading fills the
//! socket's buffers and actix-ws's small send queue, its subscription stream
//! is then no longer polled, and it falls behind in the service's bounded
//! event channel, which tells it how many changes it missed once it reads
//! again. Nothing a subscriber does makes the server hold more than that.
//! (async-graphql-actix-web's actor writes every event into a buffer that
//! grows while the client does not read.)
//!
//! Limits, so that no client holds much: a message of at most
//! [`MAX_MESSAGE_BYTES`] (frames and continuations together), at most
//! [`MAX_SUBSCRIPTIONS`] operations at once per connection, at most
//! [`MAX_CONNECTIONS`] connections, `connection_init` within
//! [`INIT_TIMEOUT`] (graphql-transport-ws closes with 4408 otherwise), and a
//! peer that sends nothing, not even a pong, for [`SILENT_PINGS`] pings in a
//! row is closed.

use crate::api::AppSchema;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::Data;
use futures_util::stream::{self, StreamExt};
use std::collections::HashSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest message a client may send (a subscribe with its query).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Client messages read but not yet taken by the protocol; a client that
/// sends faster than that is cut off.
const CLIENT_QUEUE: usize = 64;

/// How long an outgoing message may wait for room in the socket before the
/// client is taken to be gone and the connection is closed.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// How often an idle connection is pinged unless configured, to keep
/// proxies from closing it and to find peers that are gone.
pub const DEFAULT_PING_EVERY: Duration = Duration::from_secs(15);

/// A peer silent for this many ping intervals is taken to be gone.
pub const SILENT_PINGS: u32 = 3;

/// How long a client has to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Operations one connection may run at once.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// WebSocket connections the server holds at once; more are refused with
/// 503 before the upgrade.
pub const MAX_CONNECTIONS: usize = 512;

/// WebSocket connections open now.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Counts one open connection for as long as it lives.
struct Open;

impl Open {
    /// A place among the open connections, if there is one.
    fn take() -> Option<Open> {
        let before = OPEN.fetch_add(1, Ordering::SeqCst);
        if before >= MAX_CONNECTIONS {
            OPEN.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Open)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why an upgrade was refused.
pub(super) enum Refused {
    /// The request is not a usable upgrade.
    Bad(String),
    /// The server holds [`MAX_CONNECTIONS`] already.
    Full,
}

/// What the server tracks of a client's messages: which operations it
/// started and has not stopped, and whether it has said `connection_init`.
#[derive(Default)]
struct Client {
    initialised: bool,
    running: HashSet<String>,
}

impl Client {
    /// Takes note of a client message; `Err` says why the connection must
    /// close instead.
    fn hear(&mut self, message: &[u8]) -> Result<(), CloseReason> {
        #[derive(serde::Deserialize)]
        struct Header {
            #[serde(rename = "type")]
            kind: Option<String>,
            id: Option<String>,
        }
        // What is not JSON the protocol refuses itself.
        let Ok(header) = serde_json::from_slice::<Header>(message) else {
            return Ok(());
        };
        match (header.kind.as_deref(), header.id) {
            (Some("connection_init"), _) => self.initialised = true,
            (Some("subscribe" | "start"), Some(id)) => {
                self.running.insert(id);
                if self.running.len() > MAX_SUBSCRIPTIONS {
                    return Err(policy(&format!(
                        "more than {MAX_SUBSCRIPTIONS} operations at once on one connection"
                    )));
                }
            }
            (Some("complete" | "stop"), Some(id)) => {
                self.running.remove(&id);
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes note of a server message that ends an operation.
    fn ended(&mut self, message: &str) {
        #[derive(serde::Deserialize)]
        struct Header {
            #[serde(rename = "type")]
            kind: String,
            id: Option<String>,
        }
        // Events are most of the traffic and end nothing: only messages
        // that may end an operation are parsed.
        if !(message.contains("\"complete\"") || message.contains("\"error\"")) {
            return;
        }
        if let Ok(Header { kind, id: Some(id) }) = serde_json::from_str::<Header>(message) {
            if kind == "complete" || kind == "error" {
                self.running.remove(&id);
            }
        }
    }
}

/// Upgrades the request and serves GraphQL over the socket with `data`
/// attached to every operation; `Err` says why the upgrade was refused.
pub(super) fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    schema: AppSchema,
    data: Data,
    ping_every: Duration,
) -> Result<HttpResponse, Refused> {
    let ping_every = ping_every.max(Duration::from_millis(10));
    let protocol = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        })
        .ok_or_else(|| Refused::Bad("no supported Sec-WebSocket-Protocol was offered".into()))?;
    let open = Open::take().ok_or(Refused::Full)?;
    let names: Vec<&str> = ALL_WEBSOCKET_PROTOCOLS.to_vec();
    let (response, mut session, incoming) = actix_ws::handle_with_protocols(req, payload, &names)
        .map_err(|e| Refused::Bad(e.to_string()))?;
    let mut incoming = incoming
        .max_frame_size(MAX_MESSAGE_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE_BYTES);
    let (to_protocol, from_client) = mpsc::channel::<Vec<u8>>(CLIENT_QUEUE);
    let from_client = stream::unfold(from_client, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    });
    actix_web::rt::spawn(async move {
        let _open = open;
        let mut outgoing =
            std::pin::pin!(WebSocket::new(schema, from_client, protocol).connection_data(data));
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        let init_by = tokio::time::sleep(INIT_TIMEOUT);
        let mut init_by = std::pin::pin!(init_by);
        let mut client = Client::default();
        let mut last_heard = tokio::time::Instant::now();
        let close = loop {
            tokio::select! {
                message = incoming.next() => {
                    last_heard = tokio::time::Instant::now();
                    let bytes = match message {
                        Some(Ok(AggregatedMessage::Text(text))) => text.as_bytes().to_vec(),
                        Some(Ok(AggregatedMessage::Binary(bytes))) => bytes.to_vec(),
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            if session.pong(&bytes).await.is_err() {
                                break None;
                            }
                            continue;
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => continue,
                        Some(Err(e)) => break Some(policy(&format!("bad frame: {e}"))),
                        Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                    };
                    if let Err(reason) = client.hear(&bytes) {
                        break Some(reason);
                    }
                    if to_protocol.try_send(bytes).is_err() {
                        break Some(policy("too many messages at once"));
                    }
                }
                () = &mut init_by, if !client.initialised => {
                    break Some(CloseReason {
                        code: CloseCode::Other(4408),
                        description: Some("Connection initialisation timeout".into()),
                    });
                }
                message = outgoing.next() => match message {
                    Some(WsMessage::Text(text)) => {
                        client.ended(&text);
                        match tokio::time::timeout(SEND_TIMEOUT, session.text(text)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => break None,
                            Err(_) => break Some(policy("the client read nothing for a minute")),
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => break Some(CloseReason {
                        code: code.into(),
                        description: Some(reason),
                    }),
                    None => break None,
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() > ping_every * SILENT_PINGS {
                        break Some(CloseReason {
                            code: CloseCode::Away,
                            description: Some("no answer to pings".into()),
                        });
                    }
                    // A full queue means the connection is busy, not idle.
                    let sent = tokio::time::timeout(Duration::from_millis(100), session.ping(b"")).await;
                    if matches!(sent, Ok(Err(_))) {
                        break None;
                    }
                }
            }
        };
        let _ = session.close(close).await;
    });
    Ok(response)
}

fn policy(why: &str) -> CloseReason {
    CloseReason {
        code: CloseCode::Policy,
        description: Some(why.to_owned()),
    }
}
