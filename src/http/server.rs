//! The HTTP server, assembled from actix-web's own parts the way its
//! `HttpServer` assembles them, with two differences: each connection
//! passes the connection gate before it is read ([`super::connections`]),
//! and its outgoing bytes go through [`super::wire`], so that a request
//! actix-http cannot read gets a coded JSON answer too.

use super::connections::Gate;
use super::wire::Wire;
use super::AppState;
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::web;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Worker threads.
    pub workers: usize,
    /// Seconds for requests in flight after a stop signal.
    pub shutdown_timeout: u64,
    /// Origins allowed from browsers.
    pub cors_origins: Vec<String>,
    /// Connections open at once, in all.
    pub max_connections: usize,
    /// Connections open at once from one address (0: any number).
    pub max_connections_per_address: usize,
}

/// Pending connections the kernel keeps while workers are busy, as
/// actix-web's default.
const BACKLOG: i32 = 1024;

/// How long a keep-alive connection may stay idle, a client may take to
/// send a request's head, and a closing connection may linger: actix-web's
/// defaults.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
const REQUEST_HEAD: Duration = Duration::from_secs(5);
const DISCONNECT: Duration = Duration::from_secs(1);

/// Binds the listener and builds the server serving `state`; the address
/// bound (the port the system chose for port 0) comes with it.
pub fn bind(
    state: web::Data<AppState>,
    settings: Settings,
) -> std::io::Result<(actix_server::Server, SocketAddr)> {
    let listener = listener(settings.listen)?;
    let addr = listener.local_addr()?;
    let gate = Gate::new(
        settings.max_connections,
        settings.max_connections_per_address,
    );
    let builder = actix_server::Server::build();
    let stopping = builder.graceful_shutdown_signal();
    let cors = settings.cors_origins.clone();
    let server = builder
        .workers(settings.workers)
        .shutdown_timeout(settings.shutdown_timeout)
        // The gate refuses past the cap; actix's own (per worker, and
        // queueing rather than refusing) must never be what stops a client.
        .max_concurrent_connections(settings.max_connections.saturating_add(64))
        .listen("partnergraph", listener, move || {
            let app = super::app(state.clone(), &cors)
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            let gate = Arc::clone(&gate);
            let stopping = stopping.clone();
            let http = actix_http::HttpService::build()
                .keep_alive(KEEP_ALIVE)
                .client_request_timeout(REQUEST_HEAD)
                .client_disconnect_timeout(DISCONNECT)
                .local_addr(addr)
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .on_connect_ext(move |io: &Wire<TcpStream>, data| {
                    data.insert(io.closer());
                    gate.admit(io.get_ref(), data);
                })
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((Wire::new(io), peer))
            })
            .and_then(http)
        })?
        .run();
    Ok((server, addr))
}

/// A listening socket on `addr`, reusable at once after a restart.
fn listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
