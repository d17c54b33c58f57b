//! The floor for load benchmarks: an actix-web server that answers every
//! `POST /graphql` with fixed bytes (a real GraphQL response, saved to a
//! file), so that HTTP and the bytes themselves are all it costs.
//!
//! `cargo run --release --example bare_endpoint -- 127.0.0.1:8090 response.json`

use actix_web::{web, App, HttpResponse, HttpServer};
use std::io::Write;

// The same allocator as the service, so that the floor differs from it only
// in what GraphQL costs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_endpoint LISTEN_ADDR RESPONSE_FILE");
        std::process::exit(2);
    };
    let body = web::Bytes::from(std::fs::read(&file)?);
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/graphql",
            // The request body is read, as the service reads it: a body left
            // unread costs the connection its keep-alive.
            web::post().to(move |_request: web::Bytes| {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json; charset=utf-8")
                        .body(body)
                }
            }),
        )
    })
    .bind(listen)?;
    for addr in server.addrs() {
        println!("bare endpoint listening on http://{addr}");
    }
    std::io::stdout().flush()?;
    server.run().await
}
