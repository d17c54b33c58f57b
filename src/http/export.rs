//! `GET /export/{format}`: the graph, or a part of it, as a file that
//! analysis tools read directly.

use super::AppState;
use crate::api::error::code;

use crate::interop::{self, Format, InteropError};
use crate::model::{EntityKind, RelationKind};
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use std::str::FromStr;

/// The query parameters of an export.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportParams {
    /// Only the neighbourhood of this entity.
    id: Option<String>,
    /// Hops around `id` (default 1).
    depth: Option<usize>,
    /// Only these entity kinds, comma-separated.
    entity_kinds: Option<String>,
    /// Only these relation kinds, comma-separated.
    relation_kinds: Option<String>,
}

fn problem(status: actix_web::http::StatusCode, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(super::graphql::error_body(message, code))
}

fn kinds<K: FromStr<Err = String>>(raw: Option<&str>) -> Result<Option<Vec<K>>, String> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::parse::<K>)
                .collect()
        })
        .transpose()
}

/// Answers `GET /export/{format}`.
pub async fn export(
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    // Parsed here rather than by the extractor, so that a bad query string
    // gets the same JSON problem as every other export error.
    let params = match web::Query::<ExportParams>::from_query(req.query_string()) {
        Ok(p) => p,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!(
                    "bad export parameters: {e}; expected id, depth, entityKinds, relationKinds"
                ),
                code::BAD_USER_INPUT,
            )
        }
    };
    let format = match path.parse::<Format>() {
        Ok(f) => f,
        Err(message) => return problem(StatusCode::NOT_FOUND, &message, code::NOT_FOUND),
    };
    let params = params.into_inner();
    let sel = kinds::<EntityKind>(params.entity_kinds.as_deref())
        .and_then(|ek| Ok((ek, kinds::<RelationKind>(params.relation_kinds.as_deref())?)))
        .and_then(|(ek, rk)| {
            interop::Selection::from_arguments(
                params.id.clone(),
                params.depth,
                ek,
                rk,
                state.limits.max_neighborhood_depth,
            )
        });
    let sel = match sel {
        Ok(sel) => sel,
        Err(message) => return problem(StatusCode::BAD_REQUEST, &message, code::BAD_USER_INPUT),
    };
    let graph = state.service.snapshot();
    // Serialising a large graph is CPU work: keep it off the async workers.
    let result = web::block(move || {
        interop::select(&graph, &sel).and_then(|data| interop::export(&data, format))
    })
    .await;
    match result {
        Ok(Ok(bytes)) => {
            let name = match &params.id {
                Some(id) => format!("partnergraph-{id}.{}", format.file_extension()),
                None => format!("partnergraph.{}", format.file_extension()),
            };
            let content_type = if format.is_binary() {
                format.content_type().to_owned()
            } else {
                format!("{}; charset=utf-8", format.content_type())
            };
            HttpResponse::Ok()
                .content_type(content_type)
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ))
                .body(bytes)
        }
        Ok(Err(InteropError::UnknownEntity(id))) => problem(
            StatusCode::NOT_FOUND,
            &format!("no entity with id `{id}`"),
            code::NOT_FOUND,
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "export failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the export failed",
                code::INTERNAL,
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "export task failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the export failed",
                code::INTERNAL,
            )
        }
    }
}
