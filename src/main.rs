//! The `partnergraph` binary: parse the command line, start logging, run.

use clap::Parser;
use partnergraph::config::{Cli, Command};

/// Loading a large graph makes millions of small allocations on one thread
/// and frees many of them on another; mimalloc does that with less work
/// than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = match &cli.command {
        Some(Command::Serve(args)) => args.log.clone(),
        _ => cli.serve.log.clone(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(partnergraph::cli::run(cli).await?)
}
