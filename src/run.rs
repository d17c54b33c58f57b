//! Running the service and the other subcommands: what `main` calls.

use crate::config::{Cli, Command, ServeArgs};
use crate::dataset::{self, LoadError};
use crate::graph::Graph;
use crate::http::{self, AppState};
use actix_web::{web, HttpServer};
use std::io::{Read, Write};
use std::time::Duration;
use thiserror::Error;

/// Why a subcommand failed.
#[derive(Debug, Error)]
pub enum RunError {
    /// A data file was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The server could not bind or run.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// The health check found the server unhealthy or unreachable.
    #[error("unhealthy: {0}")]
    Unhealthy(String),
}

/// Runs what the command line asks for.
pub async fn run(cli: Cli) -> Result<(), RunError> {
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Check { files }) => {
            let g = dataset::load_files(&files)?;
            println!(
                "ok: {} documents, {} entities, {} relations",
                g.documents().len(),
                g.entity_count(),
                g.relation_count()
            );
            Ok(())
        }
        Some(Command::PrintSchema) => {
            print!("{}", crate::api::sdl());
            Ok(())
        }
        Some(Command::Healthcheck { listen }) => healthcheck(listen),
    }
}

/// The graph the settings ask for: the data files, or the built-in article.
pub fn load(args: &ServeArgs) -> Result<Graph, LoadError> {
    if args.datasets.is_empty() {
        dataset::load_builtin()
    } else {
        dataset::load_files(&args.datasets)
    }
}

/// Loads the graph and serves it until SIGTERM or Ctrl-C.
pub async fn serve(args: ServeArgs) -> Result<(), RunError> {
    let graph = load(&args)?;
    tracing::info!(
        entities = graph.entity_count(),
        relations = graph.relation_count(),
        "graph loaded"
    );
    let state = web::Data::new(AppState::new(graph, args.limits(), args.max_body_bytes));
    let cors = args.cors_origins.clone();
    let mut server = HttpServer::new(move || http::app(state.clone(), &cors))
        .shutdown_timeout(args.shutdown_timeout)
        .bind(args.listen)?;
    if let Some(workers) = args.workers {
        server = server.workers(workers.max(1));
    }
    for addr in server.addrs() {
        // On stdout, so that scripts and tests can find a port chosen by the OS.
        println!("partnergraph listening on http://{addr}");
        tracing::info!(%addr, "listening; GraphQL at /graphql, GraphiQL at /graphiql");
    }
    let _ = std::io::stdout().flush();
    server.run().await?;
    tracing::info!("shut down");
    Ok(())
}

/// A plain HTTP/1.1 GET of /healthz, so the container image needs no curl.
fn healthcheck(addr: std::net::SocketAddr) -> Result<(), RunError> {
    let unhealthy = |e: std::io::Error| RunError::Unhealthy(e.to_string());
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(unhealthy)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(unhealthy)?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(unhealthy)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(unhealthy)?;
    if response.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(RunError::Unhealthy(
            response.lines().next().unwrap_or("no answer").to_owned(),
        ))
    }
}
