//! [`MemoryStore`]: the store kept in memory only, for tests and for
//! running without disk.

use super::{Contents, Logged, Store, StoreError};
use parking_lot::{Mutex, MutexGuard};

/// A store that keeps [`Contents`] behind a mutex and forgets them when
/// dropped. Commits are all-or-nothing: they are applied to a copy that
/// replaces the contents only once complete.
#[derive(Debug, Default)]
pub struct MemoryStore {
    contents: Mutex<Contents>,
}

impl MemoryStore {
    /// An empty store at version 0.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The contents. A commit replaces them in one assignment, so a panic
    /// elsewhere while the lock was held cannot leave them half changed,
    /// and parking_lot's lock is not poisoned by one.
    fn lock(&self) -> MutexGuard<'_, Contents> {
        self.contents.lock()
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn load(&self) -> Result<Contents, StoreError> {
        Ok(self.lock().clone())
    }

    fn engine(&self) -> &'static str {
        "memory"
    }

    async fn commit(&self, writes: &[Logged]) -> Result<(), StoreError> {
        let mut contents = self.lock();
        let mut next = contents.clone();
        for write in writes {
            next.apply(write.version, &write.changes);
        }
        *contents = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{entity, logged, scenario};
    use super::super::Change;
    use super::*;

    #[tokio::test]
    async fn puts_replaces_deletes_in_id_order() {
        scenario(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn a_panic_while_locked_still_leaves_whole_contents() {
        let store = std::sync::Arc::new(MemoryStore::new());
        store
            .commit(&logged(1, vec![Change::PutEntity(entity("a", "A"))]))
            .await
            .unwrap();
        let poisoner = store.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.contents.lock();
            panic!("a panic while the lock is held");
        })
        .join();
        let got = store.load().await.unwrap();
        assert_eq!(got.version, 1);
        assert_eq!(got.entities, vec![entity("a", "A")]);
        store.commit(&logged(2, vec![])).await.unwrap();
        assert_eq!(store.load().await.unwrap().version, 2);
    }
}
