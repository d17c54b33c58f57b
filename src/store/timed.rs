//! [`TimedStore`]: a store that times its commits for the metrics.

use super::{Contents, Logged, Store, StoreError};
use std::sync::Arc;
use std::time::Instant;

/// A store that times its commits for `/metrics`.
pub struct TimedStore<S> {
    inner: S,
}

impl<S: Store> TimedStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        TimedStore { inner }
    }
}

#[async_trait::async_trait]
impl<S: Store> Store for TimedStore<S> {
    async fn load(&self) -> Result<Contents, StoreError> {
        self.inner.load().await
    }

    async fn load_into(&self, sink: &mut dyn crate::store::Sink) -> Result<u64, StoreError> {
        self.inner.load_into(sink).await
    }

    fn engine(&self) -> &'static str {
        self.inner.engine()
    }

    async fn begin(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
        self.inner.begin(applied).await
    }

    async fn abandon(&self) {
        self.inner.abandon().await
    }

    async fn log_after(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
        self.inner.log_after(applied).await
    }

    fn shared(&self) -> bool {
        self.inner.shared()
    }

    async fn wait_for_news(&self) -> Result<(), StoreError> {
        self.inner.wait_for_news().await
    }

    async fn commit(&self, writes: &[Logged]) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = self.inner.commit(writes).await;
        crate::metrics::observe_commit(start, if result.is_ok() { "ok" } else { "error" });
        result
    }

    // Every method is passed on: one left to the trait's default would run
    // the default's steps on the inner store instead of its own.
    async fn commit_at(&self, base: u64, writes: &[Logged]) -> Result<bool, StoreError> {
        let start = Instant::now();
        let result = self.inner.commit_at(base, writes).await;
        if !writes.is_empty() {
            let outcome = match result {
                Ok(true) => "ok",
                // Another instance wrote first: nothing was committed.
                Ok(false) => "moved",
                Err(_) => "error",
            };
            crate::metrics::observe_commit(start, outcome);
        }
        result
    }
}

/// Wraps a store for timing, as a trait object.
pub fn timed(store: impl Store) -> Arc<dyn Store> {
    Arc::new(TimedStore::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose commit without a turn is its own, unlike the
    /// trait's default (a turn, then `commit`).
    struct Own;

    #[async_trait::async_trait]
    impl Store for Own {
        async fn load(&self) -> Result<Contents, StoreError> {
            Ok(Contents::default())
        }

        fn engine(&self) -> &'static str {
            "memory"
        }

        async fn commit(&self, _: &[Logged]) -> Result<(), StoreError> {
            Err(StoreError::Database("commit was called".into()))
        }

        async fn commit_at(&self, base: u64, _: &[Logged]) -> Result<bool, StoreError> {
            Ok(base == 7)
        }
    }

    #[tokio::test]
    async fn the_timed_store_passes_each_method_on() {
        let writes = [Logged {
            version: 8,
            changes: Vec::new(),
        }];
        let timed = TimedStore::new(Own);
        assert!(timed.commit_at(7, &writes).await.unwrap());
        assert!(!timed.commit_at(6, &writes).await.unwrap());
    }
}
