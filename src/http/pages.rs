//! The web pages: the explorer at `/`, GraphiQL at `/graphiql` and their
//! files under `/assets/`. They are built from `web/` at compile time (see
//! `build.rs`) and embedded, so the binary serves them alone, and their
//! Content-Security-Policy lets them reach nothing but this server.

use super::graphql::error_body;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

/// One embedded file.
pub struct Asset {
    /// Its path below the built folder (`assets/explorer.js`).
    pub path: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// A hash of its content, for `ETag`.
    pub etag: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
    /// Its bytes gzipped at build time.
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/web/assets.rs"));

/// Only this server: scripts, styles, fetches and the WebSocket. `data:`
/// fonts and images are GraphiQL's bundled fonts and icons and the PNG a
/// drawing is saved as; they are bytes in the page, not requests.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
     worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// Serves an embedded file: gzipped when the client takes it, 304 when its
/// copy is current. Names are not content-hashed, so clients revalidate.
fn serve(req: &HttpRequest, file: &Asset) -> HttpResponse {
    let etag = format!("\"{}\"", file.etag);
    let current = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if current {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CONTENT_TYPE, file.content_type));
    if current {
        return res.finish();
    }
    let gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    if gzip {
        res.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")))
            .body(file.gzip)
    } else {
        res.body(file.body)
    }
}

/// Whether an `Accept-Encoding` value takes gzip (and does not refuse it
/// with `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|part| {
        let mut bits = part.split(';').map(str::trim);
        let coding = bits.next().unwrap_or_default();
        let refused = bits.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

fn page(req: &HttpRequest, path: &str) -> HttpResponse {
    match asset(path) {
        Some(file) => serve(req, file),
        None => not_built(path),
    }
}

fn not_built(path: &str) -> HttpResponse {
    HttpResponse::InternalServerError().json(error_body(
        &format!("the web page file {path} is missing from this build"),
        "INTERNAL_SERVER_ERROR",
    ))
}

/// A page's route, for GET and HEAD (the body of HEAD is dropped by the
/// server).
pub fn resource<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// `GET /`: the explorer.
pub async fn explorer(req: HttpRequest) -> HttpResponse {
    page(&req, "explorer.html")
}

/// `GET /graphiql`: GraphiQL.
pub async fn graphiql(req: HttpRequest) -> HttpResponse {
    page(&req, "graphiql.html")
}

/// `GET /assets/{file}`: the pages' scripts and styles.
pub async fn assets(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    match asset(&format!("assets/{file}")) {
        Some(found) => serve(&req, found),
        None => HttpResponse::NotFound().json(error_body(&format!("no asset {file}"), "NOT_FOUND")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip("identity"));
    }

    #[test]
    fn both_pages_and_their_files_are_embedded() {
        for path in [
            "explorer.html",
            "graphiql.html",
            "assets/explorer.js",
            "assets/explorer.css",
            "assets/graphiql.js",
            "assets/graphiql.css",
        ] {
            let file = asset(path).unwrap_or_else(|| panic!("{path} is not embedded"));
            assert!(!file.body.is_empty() && !file.gzip.is_empty(), "{path}");
        }
    }
}
