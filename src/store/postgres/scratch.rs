//! Throwaway databases on a PostgreSQL server, for tests and benchmarks:
//! each made empty and dropped (with whatever is still connected to it)
//! when its handle is.

use sqlx::Connection;

/// The server scratch databases are made on: `PARTNERGRAPH_TEST_POSTGRES`,
/// else `postgres://postgres@127.0.0.1:5432`.
pub fn server() -> String {
    std::env::var("PARTNERGRAPH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database of its own, dropped when this is.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// Its URL.
    pub url: String,
    name: String,
}

impl ScratchDatabase {
    /// Makes a new, empty database named after `purpose`; fails when the
    /// server cannot be reached.
    pub async fn new(purpose: &str) -> Result<ScratchDatabase, sqlx::Error> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let purpose: String = purpose
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!(
            "pg_scratch_{purpose}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server())).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        Ok(ScratchDatabase {
            url: format!("{}/{name}", server()),
            name,
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside an async runtime, which must not block on
        // another: a thread of its own with a runtime of its own waits for
        // the server.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) =
                    sqlx::PgConnection::connect(&format!("{}/postgres", server())).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}
