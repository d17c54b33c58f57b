//! The Subscription root: committed changes, once each, in commit order.

use super::error::ApiError;
use super::types::{Entity, EntityRef, RelationObj};
use crate::edit::Edit;
use crate::service::{Committed, GraphService};
use async_graphql::{Context, Enum, Object, Result, Subscription, ID};
use futures_util::stream::{self, Stream, StreamExt};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// What a change did.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChangeKind {
    /// An entity was added.
    EntityCreated,
    /// An entity was changed.
    EntityUpdated,
    /// An entity was removed.
    EntityDeleted,
    /// A relation was added.
    RelationCreated,
    /// A relation was changed.
    RelationUpdated,
    /// A relation was removed.
    RelationDeleted,
    /// A document was added.
    DocumentCreated,
}

impl From<&Edit> for ChangeKind {
    fn from(e: &Edit) -> Self {
        match e {
            Edit::DocumentCreated(_) => ChangeKind::DocumentCreated,
            Edit::EntityCreated(_) => ChangeKind::EntityCreated,
            Edit::EntityUpdated(_) => ChangeKind::EntityUpdated,
            Edit::EntityDeleted(_) => ChangeKind::EntityDeleted,
            Edit::RelationCreated(_) => ChangeKind::RelationCreated,
            Edit::RelationUpdated(_) => ChangeKind::RelationUpdated,
            Edit::RelationDeleted(_) => ChangeKind::RelationDeleted,
        }
    }
}

/// One committed change.
pub struct GraphChange {
    commit: Arc<Committed>,
    edit: Edit,
}

impl GraphChange {
    /// Whether the change concerns entity `id`: the entity itself, or a
    /// relation that starts or ends at it (before or after the change).
    fn touches(&self, id: &str) -> bool {
        if self.edit.id() == id {
            return true;
        }
        let ends = |g: &crate::graph::Graph| {
            g.relation(self.edit.id())
                .is_some_and(|r| *r.from == *id || *r.to == *id)
        };
        matches!(
            self.edit,
            Edit::RelationCreated(_) | Edit::RelationUpdated(_) | Edit::RelationDeleted(_)
        ) && (ends(&self.commit.graph) || ends(&self.commit.previous))
    }
}

/// One committed change.
#[Object]
impl GraphChange {
    /// What it did.
    async fn kind(&self) -> ChangeKind {
        (&self.edit).into()
    }
    /// The id of the item changed.
    async fn id(&self) -> ID {
        ID(self.edit.id().to_owned())
    }
    /// The graph version the write produced.
    async fn graph_version(&self) -> u64 {
        self.commit.version
    }
    /// The entity as it stands after the change; null for deletes and
    /// relation changes.
    async fn entity(&self) -> Option<Entity> {
        let g = &self.commit.graph;
        match &self.edit {
            Edit::EntityCreated(id) | Edit::EntityUpdated(id) => g
                .entity_ix(id)
                .map(|ix| EntityRef { g: g.clone(), ix }.into_entity()),
            _ => None,
        }
    }
    /// The relation as it stands after the change; null for deletes and
    /// entity changes.
    async fn relation(&self) -> Option<RelationObj> {
        let g = &self.commit.graph;
        match &self.edit {
            Edit::RelationCreated(id) | Edit::RelationUpdated(id) => {
                g.relation_ix(id).map(|ix| RelationObj::new(g.clone(), ix))
            }
            _ => None,
        }
    }
}

/// The Subscription root; open to readers.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every committed change from now on, once, in commit order; only those
    /// touching `entity` (itself or its relations) and of `kinds`, if given.
    /// A subscriber that falls more than 1024 commits behind gets an error
    /// and should resubscribe.
    async fn graph_changed(
        &self,
        ctx: &Context<'_>,
        entity: Option<ID>,
        kinds: Option<Vec<ChangeKind>>,
    ) -> Result<impl Stream<Item = Result<GraphChange>>> {
        let service = ctx
            .data::<Arc<GraphService>>()
            .map_err(|_| ApiError::Internal("no graph service attached".into()))?;
        let rx = service.subscribe();
        let commits = stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(c) => Some((Ok(c), rx)),
                Err(RecvError::Lagged(n)) => Some((Err(n), rx)),
                Err(RecvError::Closed) => None,
            }
        });
        Ok(commits.flat_map(move |item| {
            let changes: Vec<Result<GraphChange>> = match item {
                Ok(commit) => commit
                    .edits
                    .iter()
                    .map(|edit| GraphChange {
                        commit: commit.clone(),
                        edit: edit.clone(),
                    })
                    .filter(|c| {
                        kinds
                            .as_ref()
                            .is_none_or(|ks| ks.contains(&(&c.edit).into()))
                    })
                    .filter(|c| entity.as_ref().is_none_or(|id| c.touches(id)))
                    .map(Ok)
                    .collect(),
                Err(missed) => vec![Err(ApiError::BadInput(format!(
                    "this subscriber fell behind and missed {missed} commits; resubscribe"
                ))
                .into())],
            };
            stream::iter(changes)
        }))
    }
}
