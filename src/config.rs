//! The command line; each flag's doc comment is its `--help` text.
//!
//! Every setting of `serve` and of the store has an environment twin
//! (`PARTNERGRAPH_…`), so that a container is configured without a command
//! line. The flags of the one-off commands (`import`, `export`,
//! `generate`, `check`, `healthcheck --path`) have none: they say what one
//! run does, not how a deployment is set up; `healthcheck --listen` shares
//! `serve`'s `PARTNERGRAPH_LISTEN`, so that a container's health check
//! finds the server it runs beside.

use crate::api::Limits;
use crate::interop::Format;
use crate::model::{EntityKind, RelationKind};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A GraphQL service for exploring who funds, commands and supports whom in
/// security cooperation.
#[derive(Debug, Parser)]
#[command(name = "partnergraph", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of `serve`, accepted without the subcommand too.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API (the default).
    Serve(Box<ServeArgs>),
    /// Add a file to the store, all or nothing (with SQLite no server may be
    /// running on the data directory; instances on PostgreSQL follow the
    /// import as any write): a data file (.toml, .json) or any export
    /// format (GraphML, GEXF, node-link, Cytoscape, CSV zip, FollowTheMoney
    /// JSON lines).
    Import {
        /// The file.
        file: PathBuf,
        /// Its format, when the extension does not tell (.toml/.json: data
        /// file; .graphml; .gexf; .zip: CSV; .jsonl/.ndjson: FollowTheMoney).
        #[arg(long)]
        format: Option<Format>,
        /// When the store is new, start it empty instead of with the built-in article.
        #[arg(long)]
        no_seed: bool,
        /// Where the graph is stored.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write the graph of the data directory, or a part of it, to a file.
    Export {
        /// Output format: graphml, gexf, node-link, cytoscape, csv (a zip), ftm or json.
        #[arg(long, default_value = "json")]
        format: Format,
        /// The file to write; `-` for standard output.
        file: PathBuf,
        /// Only the neighbourhood of this entity.
        #[arg(long)]
        id: Option<String>,
        /// Hops around `--id` (default 1).
        #[arg(long, requires = "id")]
        depth: Option<usize>,
        /// Only these entity kinds (comma-separated, e.g. ARMED_FORCE,FUND).
        #[arg(long, value_delimiter = ',')]
        entity_kinds: Vec<EntityKind>,
        /// Only these relation kinds (comma-separated, e.g. FUNDS,PART_OF).
        #[arg(long, value_delimiter = ',')]
        relation_kinds: Vec<RelationKind>,
        /// Where the graph is stored.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write a generated dataset of any size (the article's mix of kinds, a
    /// few hubs and a long tail, evidence on every item), for benchmarks;
    /// load it with `import` or `serve --dataset`.
    Generate {
        /// How many entities.
        #[arg(long)]
        entities: usize,
        /// How many relations.
        #[arg(long)]
        relations: usize,
        /// Seed: the same seed gives the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The data file to write (JSON); `-` for standard output.
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// Check data files and report what they hold, without serving.
    Check {
        /// Data files (.toml or .json), loaded in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the GraphQL schema (SDL); `schema/schema.graphql` is this output.
    PrintSchema,
    /// Ask a running server's /healthz (or --path /readyz); exit 0 when it answers 200 (for container health checks).
    Healthcheck {
        /// Address of the server.
        #[arg(long, env = "PARTNERGRAPH_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// What to ask: /healthz (the process is alive) or /readyz (it is caught up with the store and can reach it).
        #[arg(long, default_value = "/healthz", value_parser = ["/healthz", "/readyz"])]
        path: String,
    },
}

/// Where the graph is kept: SQLite in a data directory (the default), or a
/// PostgreSQL database that any number of instances share.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where the graph is stored (an SQLite database and a lock file), created if missing; unused with --database-url.
    #[arg(long, env = "PARTNERGRAPH_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Keep the graph in this PostgreSQL database instead (postgres://user:password@host:port/database); any number of instances may share it.
    #[arg(long, env = "PARTNERGRAPH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// With --database-url: how long one exchange with PostgreSQL may take before the database counts as unavailable (writes then fail with 503 STORE_UNAVAILABLE).
    #[arg(long, env = "PARTNERGRAPH_STORE_TIMEOUT_MS", default_value_t = 5000)]
    pub store_timeout_ms: u64,
    /// With --database-url: how long the change log keeps a write after its commit (default 7 days; 0 keeps it forever). Instances follow each other through the log; one cut off from the database for longer must be restarted.
    #[arg(long, env = "PARTNERGRAPH_LOG_RETENTION_SECS", default_value_t = 7 * 24 * 3600)]
    pub log_retention_secs: u64,
}

impl StoreArgs {
    /// How long the change log keeps a write; `None`: forever.
    pub fn log_retention(&self) -> Option<std::time::Duration> {
        (self.log_retention_secs > 0)
            .then(|| std::time::Duration::from_secs(self.log_retention_secs))
    }
}

/// Where the graph is stored unless told otherwise: beside the working
/// directory, so that `cargo run` needs no set-up.
pub const DEFAULT_DATA_DIR: &str = "partnergraph-data";

/// Settings of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "PARTNERGRAPH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the graph is stored.
    #[command(flatten)]
    pub store: StoreArgs,
    /// How long a request with `extensions.minGraphVersion` waits for that version before it is answered 503 VERSION_NOT_REACHED.
    #[arg(long, env = "PARTNERGRAPH_CONSISTENCY_WAIT_MS", default_value_t = 2000)]
    pub consistency_wait_ms: u64,
    /// Data files that seed an empty data directory instead of the built-in article (comma-separated in the env var).
    #[arg(long = "dataset", env = "PARTNERGRAPH_DATASET", value_delimiter = ',')]
    pub datasets: Vec<PathBuf>,
    /// The bearer token that writes need. Prefer the environment variable (or a token file) to the flag, which other users can see.
    #[arg(long, env = "PARTNERGRAPH_WRITE_TOKEN", hide_env_values = true)]
    pub write_token: Option<String>,
    /// A file holding the bearer token that writes need (surrounding whitespace ignored).
    #[arg(
        long,
        env = "PARTNERGRAPH_WRITE_TOKEN_FILE",
        conflicts_with = "write_token"
    )]
    pub write_token_file: Option<PathBuf>,
    /// Deepest selection nesting a query may have.
    #[arg(long, env = "PARTNERGRAPH_MAX_DEPTH", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Largest total field cost a query may have.
    #[arg(long, env = "PARTNERGRAPH_MAX_COMPLEXITY", default_value_t = Limits::default().max_complexity)]
    pub max_complexity: usize,
    /// Largest `first`/`last` of a connection page.
    #[arg(long, env = "PARTNERGRAPH_MAX_PAGE_SIZE", default_value_t = Limits::default().max_page_size)]
    pub max_page_size: usize,
    /// Largest `maxLength` of `paths`.
    #[arg(long, env = "PARTNERGRAPH_MAX_PATH_LENGTH", default_value_t = Limits::default().max_path_length)]
    pub max_path_length: usize,
    /// Largest `depth` of `neighborhood`.
    #[arg(long, env = "PARTNERGRAPH_MAX_NEIGHBORHOOD_DEPTH", default_value_t = Limits::default().max_neighborhood_depth)]
    pub max_neighborhood_depth: usize,
    /// Most fields one request may resolve; beyond it the request is refused (BUDGET_EXCEEDED).
    #[arg(long, env = "PARTNERGRAPH_MAX_RESOLVED_FIELDS", default_value_t = Limits::default().max_resolved_fields)]
    pub max_resolved_fields: usize,
    /// Largest answer to one GraphQL request, in bytes (its JSON, escapes aside); a larger one is refused (BUDGET_EXCEEDED) as soon as it passes the size, and an export known to be larger before it is built.
    #[arg(long, env = "PARTNERGRAPH_MAX_RESPONSE_BYTES", default_value_t = Limits::default().max_response_bytes)]
    pub max_response_bytes: usize,
    /// Longest time, in milliseconds, one path, neighbourhood, funding-flow or centrality analysis may take (BUDGET_EXCEEDED beyond).
    #[arg(
        long,
        env = "PARTNERGRAPH_ANALYSIS_TIME_LIMIT_MS",
        default_value_t = 5000
    )]
    pub analysis_time_limit_ms: u64,
    /// Parsed documents kept for reuse, persisted queries kept by hash, and requests that passed validation (each; 0 turns all three off).
    #[arg(long, env = "PARTNERGRAPH_DOCUMENT_CACHE_SIZE", default_value_t = crate::http::DEFAULT_DOCUMENT_CACHE_SIZE)]
    pub document_cache_size: usize,
    /// Bytes the parsed documents kept may hold in all (estimated from their texts); the least recently used go first.
    #[arg(long, env = "PARTNERGRAPH_DOCUMENT_CACHE_BYTES", default_value_t = crate::http::DEFAULT_DOCUMENT_CACHE_BYTES)]
    pub document_cache_bytes: usize,
    /// Query responses kept and answered again without running until a write
    /// changes what they read (0 turns it off).
    #[arg(long, env = "PARTNERGRAPH_RESPONSE_CACHE_SIZE", default_value_t = crate::http::DEFAULT_RESPONSE_CACHE_SIZE)]
    pub response_cache_size: usize,
    /// Bytes the kept query responses may hold in all (estimated: bodies and what they read); the least recently used go first.
    #[arg(long, env = "PARTNERGRAPH_RESPONSE_CACHE_BYTES", default_value_t = crate::http::DEFAULT_RESPONSE_CACHE_BYTES)]
    pub response_cache_bytes: usize,
    /// Largest request body, in bytes.
    #[arg(long, env = "PARTNERGRAPH_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// GraphQL requests executed at once; more are answered 503 OVERLOADED with Retry-After at once instead of queueing (answers from the response cache are never refused).
    #[arg(long, env = "PARTNERGRAPH_MAX_IN_FLIGHT", default_value_t = crate::http::DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// How long a client has to send a request's whole body (408 REQUEST_TIMEOUT beyond), so that a body sent a byte at a time cannot hold a connection.
    #[arg(long, env = "PARTNERGRAPH_BODY_TIMEOUT_MS", default_value_t = 10_000)]
    pub body_timeout_ms: u64,
    /// Client connections open at once, in all (default: the open-file limit, raised to its hard limit at start, less 128 for the store and logs). Past it a new connection is answered 503 OVERLOADED and closed at once.
    #[arg(long, env = "PARTNERGRAPH_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Client connections open at once from one address (0: no cap; behind a proxy or load balancer, where every client shares the proxy's address, set 0 or the proxy's own connection limit). Past it a new connection from that address is answered 503 OVERLOADED and closed at once.
    #[arg(long, env = "PARTNERGRAPH_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = crate::http::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS)]
    pub max_connections_per_address: usize,
    /// How often, in milliseconds, a WebSocket is pinged; a peer that sends nothing, not even a pong, for three intervals is closed.
    #[arg(long, env = "PARTNERGRAPH_WEBSOCKET_PING_MS", default_value_t = 15_000)]
    pub websocket_ping_ms: u64,
    /// Origins allowed to call the API from a browser (comma-separated; `*` for any). None by default.
    #[arg(long, env = "PARTNERGRAPH_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Worker threads serving requests (default: one per core).
    #[arg(long, env = "PARTNERGRAPH_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds to let requests in flight finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "PARTNERGRAPH_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `partnergraph=debug`).
    #[arg(long, env = "PARTNERGRAPH_LOG", default_value = "info")]
    pub log: String,
}

impl ServeArgs {
    /// The query limits these settings ask for.
    pub fn limits(&self) -> Limits {
        Limits {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_page_size: self.max_page_size,
            default_page_size: Limits::default().default_page_size.min(self.max_page_size),
            max_path_length: self.max_path_length,
            max_neighborhood_depth: self.max_neighborhood_depth,
            max_resolved_fields: self.max_resolved_fields,
            max_response_bytes: self.max_response_bytes,
            analysis_time_limit: std::time::Duration::from_millis(self.analysis_time_limit_ms),
        }
    }
}
