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

use crate::api::AppSchema;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::Data;
use futures_util::stream::{self, StreamExt};
use std::str::FromStr;
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

/// How often an idle connection is pinged, to keep proxies from closing it.
const PING_EVERY: Duration = Duration::from_secs(15);

/// Upgrades the request and serves GraphQL over the socket with `data`
/// attached to every operation; `Err` names why the upgrade was refused.
pub(super) fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    schema: AppSchema,
    data: Data,
) -> Result<HttpResponse, String> {
    let protocol = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        })
        .ok_or("no supported Sec-WebSocket-Protocol was offered")?;
    let names: Vec<&str> = ALL_WEBSOCKET_PROTOCOLS.to_vec();
    let (response, mut session, incoming) =
        actix_ws::handle_with_protocols(req, payload, &names).map_err(|e| e.to_string())?;
    let mut incoming = incoming
        .max_frame_size(MAX_MESSAGE_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE_BYTES);
    let (to_protocol, from_client) = mpsc::channel::<Vec<u8>>(CLIENT_QUEUE);
    let from_client = stream::unfold(from_client, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    });
    actix_web::rt::spawn(async move {
        let mut outgoing =
            std::pin::pin!(WebSocket::new(schema, from_client, protocol).connection_data(data));
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        let close = loop {
            tokio::select! {
                message = incoming.next() => match message {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        if to_protocol.try_send(text.as_bytes().to_vec()).is_err() {
                            break Some(policy("too many messages at once"));
                        }
                    }
                    Some(Ok(AggregatedMessage::Binary(bytes))) => {
                        if to_protocol.try_send(bytes.to_vec()).is_err() {
                            break Some(policy("too many messages at once"));
                        }
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() {
                            break None;
                        }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Err(e)) => break Some(policy(&format!("bad frame: {e}"))),
                    Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                },
                message = outgoing.next() => match message {
                    Some(WsMessage::Text(text)) => {
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
