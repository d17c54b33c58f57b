//! The writer's turn: the writes other instances committed, then the
//! queued group, committed and published together; the spare copy it
//! works on.

use super::*;

impl GraphService {
    /// One turn of the writer: the writes other instances committed, then
    /// (unless only following) every queued write as one group, all
    /// published together. Returns whether the store answered.
    ///
    /// The group is first applied to the spare copy as it is and committed
    /// only if the store is still at the copy's version
    /// ([`Store::commit_at`]): one exchange with a shared store, not a turn.
    /// If another instance wrote first, the group is taken back and run
    /// again in a turn of the store, after what the others wrote, so every
    /// write is checked against the version it follows.
    pub(super) async fn turn(&self, only_follow: bool) -> bool {
        let mut behind = Vec::new();
        if only_follow {
            // Read before the writer lock is taken, so that a poll finding
            // nothing new never holds this instance's writes up.
            match self.store.log_after(self.snapshot().version()).await {
                Ok(log) if log.is_empty() => return self.answered(None),
                Ok(log) => behind = log,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the store's change log");
                    return self.answered(Some(&error));
                }
            }
        }
        let mut spare = self.writer.lock().await;
        let published = self.snapshot();
        if only_follow {
            // A write of this instance may have applied some of them since;
            // what remains follows the published version without a gap.
            behind.retain(|w| w.version > published.version());
            if behind.is_empty() {
                return self.answered(None);
            }
        } else if self.queue.lock().is_empty() {
            // An earlier task took this write into its group.
            return true;
        }
        let mut copy = self.take_spare(&mut spare, &published).await;
        // Taken only now, so that writes that came while reads were leaving
        // the spare copy join this group rather than wait for the next.
        let mut jobs: Vec<Job> = if only_follow {
            Vec::new()
        } else {
            self.queue.lock().drain(..).collect()
        };
        let Some(g) = Arc::get_mut(&mut copy) else {
            // take_spare hands over a copy nobody else holds.
            abort(jobs, "no graph to write to");
            return true;
        };

        let mut optimistic = None;
        if !jobs.is_empty() {
            let base = g.version();
            g.begin_undo();
            let Ok(group) = run_group(g, &mut jobs) else {
                // The copy is dropped; the next write copies the graph.
                abort(jobs, "the write's group was abandoned");
                return true;
            };
            // A store only this process writes cannot have moved. A shared
            // one is asked even when every write was refused: a refusal
            // must hold at a version the store really had.
            let ask = !group.writes.is_empty() || self.store.shared();
            let outcome = if ask {
                self.store.commit_at(base, &group.writes).await
            } else {
                Ok(true)
            };
            match outcome {
                Ok(true) => optimistic = Some(group),
                Ok(false) => {
                    // Another instance wrote first.
                    let taken_back = g.undo_to(0);
                    g.end_undo();
                    if taken_back.is_err() {
                        abort(jobs, "the write's group was abandoned");
                        return true;
                    }
                }
                Err(error) => {
                    tracing::error!(%error, writes = group.writes.len(), "a group of writes was not committed");
                    let taken_back = g.undo_to(0);
                    g.end_undo();
                    for job in jobs {
                        let _ = job.reply.send(Err(WriteError::Store(again(&error))));
                    }
                    if taken_back.is_ok() {
                        spare.graph = Some(copy);
                    }
                    return self.answered(Some(&error));
                }
            }
        }

        let mut applied: Vec<(Arc<Logged>, Committed)> = Vec::new();
        let mut failure = None;
        let group = match optimistic {
            Some(group) => group,
            None => {
                let begun = !jobs.is_empty();
                if begun {
                    match self.store.begin(g.version()).await {
                        Ok(log) => behind = log,
                        Err(error) => {
                            tracing::error!(%error, writes = jobs.len(), "the store refused a turn to write");
                            spare.graph = Some(copy);
                            for job in jobs {
                                let _ = job.reply.send(Err(WriteError::Store(again(&error))));
                            }
                            return self.answered(Some(&error));
                        }
                    }
                }
                g.begin_undo();
                // What other instances committed comes first: it is the
                // truth the queued writes are checked against.
                applied.reserve(behind.len());
                for logged in behind {
                    match apply_logged(g, &logged, &published) {
                        Ok(committed) => applied.push((Arc::new(logged), committed)),
                        Err((item, error)) => {
                            // The graph refuses what the database committed:
                            // this instance can no longer follow; the copy
                            // is dropped.
                            tracing::error!(version = logged.version, %item, %error,
                                "a write from the store's log cannot be applied; restart this instance");
                            // Not ready until restarted: load balancers stop
                            // sending it traffic it would answer from an old
                            // graph.
                            self.diverged.store(true, Ordering::SeqCst);
                            self.store.abandon().await;
                            abort(
                                jobs,
                                &format!(
                                    "this instance cannot apply version {} from the store: {item}: {error}",
                                    logged.version
                                ),
                            );
                            return true;
                        }
                    }
                }
                let mine = g.undo_mark();
                let Ok(mut group) = run_group(g, &mut jobs) else {
                    if begun {
                        self.store.abandon().await;
                    }
                    abort(jobs, "the write's group was abandoned");
                    return true;
                };
                if group.writes.is_empty() {
                    if begun {
                        self.store.abandon().await;
                    }
                } else if let Err(error) = self.store.commit(&group.writes).await {
                    tracing::error!(%error, writes = group.writes.len(), "a group of writes was not committed");
                    group.writes.clear();
                    // Taken back so the copy can stay the spare; if that
                    // fails it is dropped and the next write copies the
                    // graph.
                    if g.undo_to(mine).is_err() {
                        for job in jobs {
                            let _ = job.reply.send(Err(WriteError::Store(again(&error))));
                        }
                        return self.answered(Some(&error));
                    }
                    failure = Some(error);
                }
                group
            }
        };
        g.set_version(g.version() + group.writes.len() as u64);
        g.end_undo();

        // Refused writes, and writes the store failed, are answered once
        // what the turn applied is published: a write refused because of
        // another instance's write finds that write when it reads next.
        let mut accepted = Vec::with_capacity(group.writes.len());
        let mut refused = Vec::new();
        for (job, outcome) in jobs.into_iter().zip(group.outcomes) {
            let answer = match (outcome, &failure) {
                (Ok((value, committed)), None) => {
                    accepted.push((job.reply, value, Arc::new(committed)));
                    continue;
                }
                (Ok(_), Some(error)) => WriteError::Store(again(error)),
                (Err(refusal), _) => WriteError::Refused(refusal),
            };
            refused.push((job.reply, answer));
        }
        let refuse = move || {
            for (reply, answer) in refused {
                let _ = reply.send(Err(answer));
            }
        };
        let writes = group.writes;
        if accepted.is_empty() && applied.is_empty() {
            // Nothing changed; the copy stays the spare, caught up.
            spare.graph = Some(copy);
            refuse();
            return self.answered(failure.as_ref());
        }
        let applied: Vec<(Arc<Logged>, Arc<Committed>)> = applied
            .into_iter()
            .map(|(logged, committed)| (logged, Arc::new(committed)))
            .collect();
        let announced = applied
            .iter()
            .map(|(_, c)| c)
            .chain(accepted.iter().map(|(_, _, c)| c));
        for committed in announced.clone() {
            // No follower is not an error.
            let _ = self.ahead.send(committed.clone());
        }
        self.current.store(copy.clone());
        self.version.send_replace(copy.version());
        // The copy readers had until now is the next spare.
        let backlog = applied
            .iter()
            .map(|(logged, _)| logged.clone())
            .chain(writes.into_iter().map(Arc::new))
            .collect();
        *spare = Spare {
            graph: Some(published),
            making: None,
            backlog,
        };
        drop(spare);
        for committed in announced {
            // No subscriber is not an error.
            let _ = self.events.send(committed.clone());
        }
        for (reply, value, committed) in accepted {
            // Nor is a caller that went away: the write stays committed.
            let _ = reply.send(Ok((value, committed, copy.clone())));
        }
        refuse();
        self.answered(failure.as_ref())
    }

    /// Records whether the store answered (an error other than its absence
    /// is an answer) and returns it.
    pub(super) fn answered(&self, error: Option<&StoreError>) -> bool {
        if let Some(pruned @ StoreError::Pruned { .. }) = error {
            // The log this instance would catch up from is gone: it stays
            // unready until restarted, rather than answer from an old graph.
            tracing::error!(error = %pruned, "cannot follow the store any more; restart this instance");
            self.diverged.store(true, Ordering::SeqCst);
        }
        let reachable = !matches!(error, Some(StoreError::Unavailable(_)));
        self.reachable.store(reachable, Ordering::SeqCst);
        reachable
    }

    /// The spare copy, caught up with `published` and held by nobody else:
    /// waited for while reads still hold it (at most the pinned wait), and
    /// otherwise a new copy of `published`.
    pub(super) async fn take_spare(&self, spare: &mut Spare, published: &Arc<Graph>) -> Arc<Graph> {
        if let Some(making) = spare.making.take() {
            if let Ok(made) = making.copy.await {
                spare.graph = Some(Arc::new(made));
                spare.backlog.clear();
            }
        }
        let backlog = std::mem::take(&mut spare.backlog);
        let Some(mut copy) = spare.graph.take() else {
            return self.copy_of(published, "no spare copy yet");
        };
        let deadline = Instant::now() + self.pinned_wait;
        let mut pause = Duration::from_micros(50);
        while Arc::strong_count(&copy) > 1 || Arc::weak_count(&copy) > 0 {
            if Instant::now() >= deadline {
                return self.copy_of(published, "reads still hold the spare copy");
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(5));
        }
        let Some(g) = Arc::get_mut(&mut copy) else {
            return self.copy_of(published, "reads still hold the spare copy");
        };
        for logged in &backlog {
            if let Err((item, error)) = replay(g, &logged.changes, published) {
                tracing::error!(%item, %error, "replaying a write on the spare copy failed");
                return self.copy_of(published, "the spare copy could not catch up");
            }
        }
        g.set_version(published.version());
        copy
    }

    /// A new copy of `published`, as every write made before the spare copy:
    /// the fall-back when the spare cannot be used.
    pub(super) fn copy_of(&self, published: &Arc<Graph>, why: &'static str) -> Arc<Graph> {
        let started = Instant::now();
        self.stats.graph_copies.fetch_add(1, Ordering::Relaxed);
        let copy = Arc::new((**published).clone());
        tracing::info!(
            why,
            entities = copy.entity_count(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "copied the graph for a write"
        );
        copy
    }
}
