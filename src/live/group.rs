//! A group of writes applied to a graph: run, taken back, replayed from
//! the store's log, and turned into the store's changes and the events'
//! touched ids.

use super::*;

/// `error` again, for one more of the writes it failed.
pub(super) fn again(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Pruned { applied, pruned_to } => StoreError::Pruned {
            applied: *applied,
            pruned_to: *pruned_to,
        },
        other => StoreError::Database(other.to_string()),
    }
}

/// Fails every write of `jobs` as not completed.
pub(super) fn abort(jobs: Vec<Job>, why: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(WriteError::Aborted(why.to_owned())));
    }
}

/// An accepted write: its value, and the write as it will be announced.
pub(super) type Accepted = (Box<dyn Any + Send>, Committed);

/// What the writes of a group did on the graph.
pub(super) struct Group {
    /// For each write, in order: its value and its announcement, or why
    /// the graph refused it.
    pub(super) outcomes: Vec<Result<Accepted, GraphError>>,
    /// The accepted writes as the store keeps them, each its own version
    /// after the graph's.
    pub(super) writes: Vec<Logged>,
}

/// Runs each of `jobs` on `g` in order; a refused one is taken back alone.
/// The undo journal must be on. Fails only if a refused write could not be
/// taken back (the graph is damaged and must be dropped); nobody has been
/// answered then.
pub(super) fn run_group(g: &mut Graph, jobs: &mut [Job]) -> Result<Group, GraphError> {
    let base = g.version();
    let mut group = Group {
        outcomes: Vec::with_capacity(jobs.len()),
        writes: Vec::with_capacity(jobs.len()),
    };
    for job in jobs.iter_mut() {
        let mark = g.undo_mark();
        let refused = match (job.work)(g) {
            Ok((value, edits)) => match changes(g, &edits) {
                Ok(c) => {
                    let touched = touched(g, mark, &edits);
                    let version = base + group.writes.len() as u64 + 1;
                    group.writes.push(Logged {
                        version,
                        changes: c,
                    });
                    group.outcomes.push(Ok((
                        value,
                        Committed {
                            version,
                            edits,
                            touched,
                        },
                    )));
                    continue;
                }
                Err((item, error)) => {
                    tracing::error!(%item, %error, "a write's edits name what it did not leave");
                    error
                }
            },
            Err(error) => error,
        };
        if let Err(error) = g.undo_to(mark) {
            tracing::error!(%error, "a refused write could not be taken back");
            return Err(error);
        }
        group.outcomes.push(Err(refused));
    }
    Ok(group)
}

/// Applies a write another instance committed, as a write of this one
/// would have been applied, and says what it changed. The undo journal must
/// be on (it tells the ends of deleted relations).
pub(super) fn apply_logged(
    g: &mut Graph,
    logged: &Logged,
    published: &Graph,
) -> Result<Committed, (String, GraphError)> {
    let mark = g.undo_mark();
    let mut edits = Vec::with_capacity(logged.changes.len());
    for change in &logged.changes {
        edits.push(match change {
            Change::PutDocument(d) => Edit::DocumentCreated(d.id.to_string()),
            Change::PutEntity(e) if g.entity_ix(&e.id).is_some() => {
                Edit::EntityUpdated(e.id.to_string())
            }
            Change::PutEntity(e) => Edit::EntityCreated(e.id.to_string()),
            Change::PutRelation(r) if g.relation_ix(&r.id).is_some() => {
                Edit::RelationUpdated(r.id.to_string())
            }
            Change::PutRelation(r) => Edit::RelationCreated(r.id.to_string()),
            Change::DeleteEntity(id) => Edit::EntityDeleted(id.clone()),
            Change::DeleteRelation(id) => Edit::RelationDeleted(id.clone()),
        });
        replay(g, std::slice::from_ref(change), published)?;
    }
    g.set_version(logged.version);
    Ok(Committed {
        version: logged.version,
        touched: touched(g, mark, &edits),
        edits,
    })
}

/// Applies committed `changes` to the other copy of the graph: the same
/// items, checked again, with new documents' texts shared with `published`.
pub(super) fn replay(
    g: &mut Graph,
    changes: &[Change],
    published: &Graph,
) -> Result<(), (String, GraphError)> {
    let named = |what: &str, id: &str| format!("{what} `{id}`");
    for change in changes {
        match change {
            Change::PutDocument(d) => {
                let shared = published
                    .document_shared(&d.id)
                    .unwrap_or_else(|| Arc::new(d.clone()));
                g.add_shared_document(shared)
                    .map_err(|e| (named("document", &d.id), e))?;
            }
            Change::PutEntity(e) => {
                let result = if g.entity_ix(&e.id).is_some() {
                    g.replace_entity(e.clone())
                } else {
                    g.add_entity(e.clone()).map(drop)
                };
                result.map_err(|err| (named("entity", &e.id), err))?;
            }
            Change::PutRelation(r) => {
                let result = match g.relation(&r.id) {
                    // A merge moved it to the entity merged into: the same
                    // relation with an end replaced, which only a merge
                    // writes (an update may not change ends).
                    Some(old)
                        if old.kind == r.kind
                            && (old.from.as_str() != r.from.as_str()
                                || old.to.as_str() != r.to.as_str()) =>
                    {
                        g.remove_relation(&r.id)
                            .and_then(|_| g.add_relation(r.clone()).map(drop))
                    }
                    Some(_) => g.replace_relation(r.clone()),
                    None => g.add_relation(r.clone()).map(drop),
                };
                result.map_err(|err| (named("relation", &r.id), err))?;
            }
            Change::DeleteEntity(id) => {
                g.remove_entity(id, true)
                    .map_err(|e| (named("entity", id), e))?;
            }
            Change::DeleteRelation(id) => {
                g.remove_relation(id)
                    .map_err(|e| (named("relation", id), e))?;
            }
        }
    }
    Ok(())
}

/// The entities each edit touched: read from the graph after it, and for
/// deleted relations from what the journal kept of them since `mark`.
pub(super) fn touched(g: &Graph, mark: usize, edits: &[Edit]) -> Vec<[CompactString; 2]> {
    let gone: std::collections::HashMap<&str, &crate::model::Relation> =
        g.removed_since(mark).map(|r| (r.id.as_str(), r)).collect();
    let ends =
        |r: &crate::model::Relation| [CompactString::from(&*r.from), CompactString::from(&*r.to)];
    edits
        .iter()
        .map(|e| {
            let relation = match e {
                Edit::RelationCreated(rid) | Edit::RelationUpdated(rid) => g.relation(rid),
                Edit::RelationDeleted(rid) => gone.get(rid.as_str()).copied(),
                _ => None,
            };
            relation.map(ends).unwrap_or_else(|| {
                let id = CompactString::from(e.id());
                [id.clone(), id]
            })
        })
        .collect()
}

/// The store changes that persist `edits`, read from the graph after them.
/// An edit naming an item the graph lacks names it.
pub(super) fn changes(g: &Graph, edits: &[Edit]) -> Result<Vec<Change>, (String, GraphError)> {
    let missing = |what: &'static str, id: &str| {
        (
            format!("{what} `{id}`"),
            GraphError::NotFound {
                what,
                id: id.to_owned(),
            },
        )
    };
    edits
        .iter()
        .map(|e| {
            Ok(match e {
                Edit::DocumentCreated(id) => Change::PutDocument(
                    g.document(id)
                        .cloned()
                        .ok_or_else(|| missing("document", id))?,
                ),
                Edit::EntityCreated(id) | Edit::EntityUpdated(id) => {
                    Change::PutEntity(g.entity(id).cloned().ok_or_else(|| missing("entity", id))?)
                }
                Edit::RelationCreated(id) | Edit::RelationUpdated(id) => Change::PutRelation(
                    g.relation(id)
                        .cloned()
                        .ok_or_else(|| missing("relation", id))?,
                ),
                Edit::EntityDeleted(id) => Change::DeleteEntity(id.clone()),
                Edit::RelationDeleted(id) => Change::DeleteRelation(id.clone()),
            })
        })
        .collect()
}
