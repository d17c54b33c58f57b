//! The Mutation root: every write goes through the graph service, which
//! applies it, commits it to the store, then publishes it.

use super::error::ApiError;
use super::inputs::{
    EntityInput, EntityPatchInput, IngestInput, RelationInput, RelationPatchInput,
};
use super::types::{DocumentObj, Entity, EntityRef, RelationObj};
use crate::edit;
use crate::graph::{Graph, GraphError};
use crate::live::{GraphService, Written};
use async_graphql::{Context, ErrorExtensions, Object, Result, SimpleObject, ID};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Whether the request may write, as the HTTP layer found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteAccess {
    /// A valid bearer token was given.
    Granted,
    /// The server has no write token configured.
    Disabled,
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token that does not match.
    Invalid,
}

/// The graph version a request's last write produced, for the response's
/// `graphVersion` extension; attached to the request as `Arc<WrittenVersion>`.
#[derive(Debug, Default)]
pub struct WrittenVersion(pub AtomicU64);

fn unauthenticated(message: &str) -> async_graphql::Error {
    ApiError::Unauthenticated(message.to_owned()).extend()
}

fn authorize(ctx: &Context<'_>) -> Result<()> {
    match ctx.data_opt::<WriteAccess>().copied().unwrap_or(WriteAccess::Missing) {
        WriteAccess::Granted => Ok(()),
        WriteAccess::Disabled => Err(unauthenticated(
            "writes are disabled on this server: start it with PARTNERGRAPH_WRITE_TOKEN=<secret> (or --write-token-file FILE) and send `Authorization: Bearer <secret>`",
        )),
        WriteAccess::Missing => Err(unauthenticated(
            "writes need `Authorization: Bearer <token>` with the server's write token",
        )),
        WriteAccess::Invalid => Err(unauthenticated("the bearer token is not valid for writes")),
    }
}

fn service(ctx: &Context<'_>) -> Result<Arc<GraphService>> {
    ctx.data::<Arc<GraphService>>()
        .cloned()
        .map_err(|_| ApiError::Internal("no graph service attached to the request".into()).into())
}

/// Runs a write and records the version it produced.
async fn write<T, F>(ctx: &Context<'_>, f: F) -> Result<Written<T>>
where
    T: Send + 'static,
    F: FnMut(&mut Graph) -> std::result::Result<(T, Vec<edit::Edit>), GraphError> + Send + 'static,
{
    authorize(ctx)?;
    let written = service(ctx)?
        .write(f)
        .await
        .map_err(|e| ApiError::from(e).extend())?;
    if let Some(v) = ctx.data_opt::<Arc<WrittenVersion>>() {
        v.0.fetch_max(written.committed.version, Ordering::SeqCst);
    }
    Ok(written)
}

/// The write's answer could not be read back: a write committed in the same
/// group, after it, removed the item again.
fn gone<T>(written: &Written<T>, what: &str, id: &str) -> async_graphql::Error {
    let message = format!(
        "{what} `{id}` was written at graph version {}, but a write committed with it removed it again (graph version {})",
        written.committed.version,
        written.graph.version()
    );
    ApiError::Conflict(message).extend()
}

fn entity<T>(w: &Written<T>, id: &str) -> Result<Entity> {
    let g = &w.graph;
    g.entity_ix(id)
        .map(|ix| EntityRef { g: g.clone(), ix }.into_entity())
        .ok_or_else(|| gone(w, "entity", id))
}

fn relation<T>(w: &Written<T>, id: &str) -> Result<RelationObj> {
    let g = &w.graph;
    g.relation_ix(id)
        .map(|ix| RelationObj::new(g.clone(), ix))
        .ok_or_else(|| gone(w, "relation", id))
}

/// What an ingest created.
#[derive(SimpleObject)]
pub struct IngestResult {
    /// The graph version after the ingest.
    pub graph_version: u64,
    /// The document.
    pub document: DocumentObj,
    /// The entities, in input order.
    pub entities: Vec<Entity>,
    /// The relations, in input order.
    pub relations: Vec<RelationObj>,
}

/// The Mutation root. Every mutation needs the write token.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds an entity. Its id is a slug of the name unless given; a given
    /// id that exists is a CONFLICT.
    async fn create_entity(&self, ctx: &Context<'_>, input: EntityInput) -> Result<Entity> {
        authorize(ctx)?;
        let (id, e) = input.into_model()?;
        let w = write(ctx, move |g| edit::create_entity(g, id.clone(), e.clone())).await?;
        entity(&w, &w.value)
    }

    /// Changes some fields of an entity.
    async fn update_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        patch: EntityPatchInput,
    ) -> Result<Entity> {
        authorize(ctx)?;
        let key = id.0.clone();
        let w = write(ctx, move |g| {
            Ok(((), edit::update_entity(g, &key, patch.clone().into())?))
        })
        .await?;
        entity(&w, &id)
    }

    /// Removes an entity and answers its id. One that still has relations is
    /// refused (CONFLICT) unless `cascade`, which removes them too.
    async fn delete_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default_with = "Some(false)")] cascade: Option<bool>,
    ) -> Result<ID> {
        authorize(ctx)?;
        let key = id.0.clone();
        let cascade = cascade.unwrap_or(false);
        write(ctx, move |g| {
            Ok(((), edit::delete_entity(g, &key, cascade)?))
        })
        .await?;
        Ok(id)
    }

    /// Adds a relation. Its id is `from-kind-to` unless given.
    async fn create_relation(
        &self,
        ctx: &Context<'_>,
        input: RelationInput,
    ) -> Result<RelationObj> {
        authorize(ctx)?;
        let (id, r) = input.into_model()?;
        let w = write(ctx, move |g| {
            edit::create_relation(g, id.clone(), r.clone())
        })
        .await?;
        relation(&w, &w.value)
    }

    /// Changes some fields of a relation.
    async fn update_relation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        patch: RelationPatchInput,
    ) -> Result<RelationObj> {
        authorize(ctx)?;
        let patch = patch.into_model()?;
        let key = id.0.clone();
        let w = write(ctx, move |g| {
            Ok(((), edit::update_relation(g, &key, patch.clone())?))
        })
        .await?;
        relation(&w, &id)
    }

    /// Removes a relation and answers its id.
    async fn delete_relation(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        authorize(ctx)?;
        let key = id.0.clone();
        write(ctx, move |g| Ok(((), edit::delete_relation(g, &key)?))).await?;
        Ok(id)
    }

    /// Merges the entities `from` into `into`, all or nothing, as one write
    /// (one `graphChanged` event): their relations move to `into` (same
    /// relation ids, the end replaced), their names and aliases become
    /// aliases of `into` (without repeats), their sources move over, and
    /// they are removed. Their ids (and any merged into them before) are
    /// listed in `into`'s `mergedIds`, keep resolving to it and stay
    /// reserved. Refused, changing nothing: an unknown id (NOT_FOUND); an
    /// empty `from`, an id twice, `into` among `from`, entities of different
    /// kinds (BAD_USER_INPUT); a relation between two of the entities,
    /// which would join `into` to itself (CONFLICT: delete it first).
    async fn merge_entities(&self, ctx: &Context<'_>, into: ID, from: Vec<ID>) -> Result<Entity> {
        authorize(ctx)?;
        let key = into.0.clone();
        let from: Vec<String> = from.into_iter().map(|id| id.0).collect();
        let w = write(ctx, move |g| {
            Ok(((), edit::merge_entities(g, &key, &from)?))
        })
        .await?;
        entity(&w, &into)
    }

    /// Adds a document with its entities and relations, all or nothing.
    /// Ids may refer to items of the same input.
    async fn ingest(&self, ctx: &Context<'_>, input: IngestInput) -> Result<IngestResult> {
        authorize(ctx)?;
        let input = input.into_model()?;
        let w = write(ctx, move |g| edit::ingest(g, input.clone())).await?;
        let done = &w.value;
        Ok(IngestResult {
            graph_version: w.committed.version,
            document: DocumentObj::new(w.graph.clone(), &done.document),
            entities: done
                .entities
                .iter()
                .map(|id| entity(&w, id))
                .collect::<Result<_>>()?,
            relations: done
                .relations
                .iter()
                .map(|id| relation(&w, id))
                .collect::<Result<_>>()?,
        })
    }
}
