//! Running the service and the other subcommands: what `main` calls.

use crate::config::{Cli, Command, ServeArgs, StoreArgs};
use crate::dataset::{self, Dataset, LoadError};
use crate::edit;
use crate::graph::GraphError;
use crate::http::{self, AppState};
use crate::interop::{self, Format, Selection};
use crate::live::{GraphService, OpenError, WriteError};
use crate::store::{PostgresStore, SqliteStore, Store, StoreError};
use actix_web::web;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why a subcommand failed.
#[derive(Debug, Error)]
pub enum RunError {
    /// A data file was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The data directory could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored graph could not be rebuilt or seeded.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A write was not committed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The server could not bind or run, or a file could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The write token file could not be read.
    #[error("cannot read the write token file `{path}`: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The health check found the server unhealthy or unreachable.
    #[error("unhealthy: {0}")]
    Unhealthy(String),
}

/// Runs what the command line asks for.
pub async fn run(cli: Cli) -> Result<(), RunError> {
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(*args).await,
        Some(Command::Import {
            file,
            format,
            no_seed,
            store,
        }) => {
            let seed = if no_seed { Vec::new() } else { seed(&[])? };
            import(&file, format, &store, seed).await
        }
        Some(Command::Export {
            format,
            file,
            id,
            depth,
            entity_kinds,
            relation_kinds,
            store,
        }) => {
            let sel = crate::interop::Selection::from_arguments(
                id,
                depth,
                Some(entity_kinds).filter(|k| !k.is_empty()),
                Some(relation_kinds).filter(|k| !k.is_empty()),
                usize::MAX,
            )
            .map_err(RunError::Usage)?;
            export(format, sel, &file, &store).await
        }
        Some(Command::Generate {
            entities,
            relations,
            seed,
            out,
        }) => {
            let data = crate::synthetic::generate(&crate::synthetic::Spec {
                entities,
                relations,
                seed,
            });
            let text = serde_json::to_vec(&data).map_err(std::io::Error::other)?;
            if out == Path::new("-") {
                std::io::stdout().write_all(&text)?;
            } else {
                std::fs::write(&out, text)?;
                eprintln!(
                    "generated {} entities and {} relations into {}",
                    data.entities.len(),
                    data.relations.len(),
                    out.display()
                );
            }
            Ok(())
        }
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
        Some(Command::Healthcheck { listen, path }) => healthcheck(listen, &path),
    }
}

/// The data that seeds an empty data directory: the given files, or the
/// built-in article.
fn seed(datasets: &[PathBuf]) -> Result<Vec<Dataset>, LoadError> {
    if datasets.is_empty() {
        Ok(vec![Dataset::builtin()?])
    } else {
        // Check the files together first, so that a bad one is reported
        // with its file and item before anything is stored.
        dataset::load_files(datasets)?;
        datasets.iter().map(|p| Dataset::read(p)).collect()
    }
}

/// Opens the store (a data directory, exclusively, or a shared PostgreSQL
/// database) and rebuilds the graph from it, first storing `seed` if the
/// store is empty; a shared store is then followed.
pub async fn open(store: &StoreArgs, seed: Vec<Dataset>) -> Result<Arc<GraphService>, RunError> {
    let service = Arc::new(open_service(store, seed).await?);
    service.follow_store();
    Ok(service)
}

/// [`open`], before the service is shared, so that it can still be set up.
async fn open_service(args: &StoreArgs, seed: Vec<Dataset>) -> Result<GraphService, RunError> {
    let store = open_store(args).await?;
    Ok(GraphService::open(store, seed).await?)
}

/// The store `args` names, timed for `/metrics`.
async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>, RunError> {
    Ok(match &args.database_url {
        Some(url) => crate::store::timed(
            PostgresStore::open(url)
                .await?
                .with_timeout(Duration::from_millis(args.store_timeout_ms))
                .with_log_retention(args.log_retention()),
        ),
        None => crate::store::timed(SqliteStore::open(&args.data_dir).await?),
    })
}

fn write_token(args: &ServeArgs) -> Result<Option<String>, RunError> {
    if let Some(path) = &args.write_token_file {
        let token = std::fs::read_to_string(path).map_err(|source| RunError::TokenFile {
            path: path.clone(),
            source,
        })?;
        return Ok(Some(token.trim().to_owned()).filter(|t| !t.is_empty()));
    }
    Ok(args.write_token.clone().filter(|t| !t.is_empty()))
}

/// Opens the graph and serves it until SIGTERM or Ctrl-C.
pub async fn serve(args: ServeArgs) -> Result<(), RunError> {
    let token = write_token(&args)?;
    // Reads are bounded by the analysis time limit (exports aside): a write
    // waits that long for reads to leave the copy it writes to.
    let service = open_service(&args.store, seed(&args.datasets)?)
        .await?
        .with_pinned_wait(args.limits().analysis_time_limit);
    let service = Arc::new(service);
    service.follow_store();
    {
        // Let go of the snapshot at once: a snapshot held for the server's
        // life would pin a copy that writes need.
        let g = service.snapshot();
        tracing::info!(
            store = service.engine(),
            data_dir = %args.store.data_dir.display(),
            entities = g.entity_count(),
            relations = g.relation_count(),
            version = g.version(),
            writes = if token.is_some() { "enabled" } else { "disabled (no write token)" },
            "graph loaded"
        );
    }
    let state = web::Data::new(
        AppState::new(service, args.limits(), args.max_body_bytes, token)
            .with_document_cache(args.document_cache_size)
            .with_document_cache_bytes(args.document_cache_bytes)
            .with_response_cache(args.response_cache_size)
            .with_response_cache_bytes(args.response_cache_bytes)
            .with_consistency_wait(Duration::from_millis(args.consistency_wait_ms))
            .with_body_timeout(Duration::from_millis(args.body_timeout_ms))
            .with_max_in_flight(args.max_in_flight)
            .with_websocket_ping(Duration::from_millis(args.websocket_ping_ms)),
    );
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let (server, addr) = http::server::bind(
        state,
        http::server::Settings {
            listen: args.listen,
            workers,
            shutdown_timeout: args.shutdown_timeout,
            cors_origins: args.cors_origins.clone(),
            max_connections: connection_cap(args.max_connections),
            max_connections_per_address: args.max_connections_per_address,
        },
    )?;
    // On stdout, so that scripts and tests can find a port chosen by the OS.
    println!("partnergraph listening on http://{addr}");
    tracing::info!(%addr, "listening; GraphQL at /graphql, GraphiQL at /graphiql");
    let _ = std::io::stdout().flush();
    server.await?;
    tracing::info!("shut down");
    Ok(())
}

/// The format a file's name suggests: data files by `.toml`/`.json`,
/// exports by their own extensions.
fn format_of(file: &Path) -> Option<Format> {
    let name = file.file_name()?.to_str()?.to_ascii_lowercase();
    let by_suffix = [
        (".toml", Format::Json),
        (".cyjs.json", Format::Cytoscape),
        (".node-link.json", Format::NodeLink),
        (".json", Format::Json),
        (".graphml", Format::GraphMl),
        (".gexf", Format::Gexf),
        (".zip", Format::Csv),
        (".jsonl", Format::Ftm),
        (".ndjson", Format::Ftm),
    ];
    by_suffix
        .into_iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, f)| f)
}

/// Adds a file to the data directory, all or nothing.
async fn import(
    file: &Path,
    format: Option<Format>,
    store: &StoreArgs,
    seed: Vec<Dataset>,
) -> Result<(), RunError> {
    let name = file.display().to_string();
    let format = format.or_else(|| format_of(file)).ok_or_else(|| {
        RunError::Usage(format!(
            "cannot tell the format of `{name}` from its name; pass --format ({})",
            Format::names()
        ))
    })?;
    let (data, skipped) = match format {
        // The project's own format: TOML when the name says so, else JSON.
        Format::Json => {
            let syntax = match crate::dataset::Syntax::from_path(file) {
                Some(crate::dataset::Syntax::Toml) => crate::dataset::Syntax::Toml,
                _ => crate::dataset::Syntax::Json,
            };
            let text = std::fs::read_to_string(file).map_err(|source| LoadError::Io {
                file: name.clone(),
                source,
            })?;
            (Dataset::parse(&name, &text, syntax)?, Default::default())
        }
        other => {
            let bytes = std::fs::read(file).map_err(|source| LoadError::Io {
                file: name.clone(),
                source,
            })?;
            let read = interop::import(&bytes, other)
                .map_err(|e| RunError::Usage(format!("{name}: {e}")))?;
            (read.dataset, read.skipped)
        }
    };
    let service = open(store, seed).await?;
    // The write keeps nothing if an item is refused; which item it was comes back through `refused`,
    // since a write's error is the graph's alone.
    let refused = Arc::new(std::sync::Mutex::new(None::<String>));
    let slot = refused.clone();
    // An import is not kept to be run a second time (that would hold two
    // copies of a large file in memory): if another instance wrote to a
    // shared store while it was applied, it is refused and can be run again.
    let mut data = Some(data);
    let written = service
        .write(move |g| {
            let Some(data) = data.take() else {
                return Err(GraphError::Invalid(
                    "another instance wrote to the database while the import was applied; \
                     nothing was imported: run the import again"
                        .into(),
                ));
            };
            edit::ingest_dataset(g, data).map_err(|(item, error)| {
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(item);
                }
                error
            })
        })
        .await;
    let item = refused.lock().ok().and_then(|mut slot| slot.take());
    let written = match (written, item) {
        (Err(WriteError::Refused(error)), Some(item)) => {
            return Err(LoadError::Item {
                file: name,
                item,
                error,
            }
            .into())
        }
        (written, _) => written?,
    };
    let (done, committed) = (written.value, written.committed);
    println!(
        "imported {name}: {} entities, {} relations (graph version {})",
        done.entities.len(),
        done.relations.len(),
        committed.version
    );
    for (schema, count) in skipped {
        println!("skipped {count} FollowTheMoney {schema} entities: no counterpart in this graph's model");
    }
    Ok(())
}

/// Writes the data directory's graph, or a part of it.
async fn export(
    format: Format,
    sel: Selection,
    file: &Path,
    store: &StoreArgs,
) -> Result<(), RunError> {
    // Like the server, a new store starts with the article.
    let service = open(store, seed(&[])?).await?;
    let data =
        interop::select(&service.snapshot(), &sel).map_err(|e| RunError::Usage(e.to_string()))?;
    let bytes = interop::export(&data, format).map_err(|e| RunError::Usage(e.to_string()))?;
    if file == Path::new("-") {
        std::io::stdout().write_all(&bytes)?;
    } else {
        std::fs::write(file, bytes)?;
        eprintln!("exported {} to {}", format, file.display());
    }
    Ok(())
}

/// Raises the open-file limit to its hard limit (so that thousands of
/// clients can be served), and returns how many client connections may be
/// open at once: `asked` if given, never more than the limit less room
/// for the store's files and connections, so that a crowd of clients is
/// refused rather than leaving the process unable to open a file.
fn connection_cap(asked: Option<usize>) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    };
    let room = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(128)
        .clamp(16, 1_000_000);
    let cap = asked.map_or(room, |asked| asked.clamp(1, room));
    tracing::info!(
        open_files = limit,
        connections = cap,
        "open-file limit and connection cap"
    );
    cap
}

/// A plain HTTP/1.1 GET of `path`, so the container image needs no curl.
fn healthcheck(addr: std::net::SocketAddr, path: &str) -> Result<(), RunError> {
    let unhealthy = |e: std::io::Error| RunError::Unhealthy(e.to_string());
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(unhealthy)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(unhealthy)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
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
