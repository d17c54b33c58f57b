//! The Subscription root: committed changes, once each, in commit order.

use super::error::ApiError;
use super::types::{Entity, EntityRef, RelationObj};
use crate::edit::Edit;
use crate::live::{Committed, GraphService};
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

/// One committed change. It holds what the write announced, not a graph:
/// the items it names are read from the graph as it stands when the change
/// is delivered.
pub struct GraphChange {
    commit: Arc<Committed>,
    edit: Edit,
    service: Arc<GraphService>,
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
    /// The entity as it stands when the change is delivered (after the
    /// change: at `graphVersion` or a later version); null for deletes,
    /// relation changes and an entity removed again since.
    async fn entity(&self) -> Option<Entity> {
        let g = &self.service.snapshot();
        match &self.edit {
            Edit::EntityCreated(id) | Edit::EntityUpdated(id) => g
                .entity_ix(id)
                .map(|ix| EntityRef { g: g.clone(), ix }.into_entity()),
            _ => None,
        }
    }
    /// The relation as it stands when the change is delivered (after the
    /// change: at `graphVersion` or a later version); null for deletes,
    /// entity changes and a relation removed again since.
    async fn relation(&self) -> Option<RelationObj> {
        let g = &self.service.snapshot();
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
            .map_err(|_| ApiError::Internal("no graph service attached".into()))?
            .clone();
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
                    .enumerate()
                    .filter(|(_, edit)| {
                        kinds.as_ref().is_none_or(|ks| ks.contains(&(*edit).into()))
                    })
                    .filter(|(at, _)| entity.as_ref().is_none_or(|id| commit.touches(*at, id)))
                    .map(|(_, edit)| {
                        Ok(GraphChange {
                            commit: commit.clone(),
                            edit: edit.clone(),
                            service: service.clone(),
                        })
                    })
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
