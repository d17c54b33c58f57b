//! The PostgreSQL store's driver, sqlx, against tokio-postgres, on the two
//! things the store asks of a driver most: one-row writes, each its own
//! transaction in one exchange, from several clients at once (as the
//! store's writes without a turn are), and a streamed read of a whole
//! table (as the start-up read is). Both drivers run in one process on one
//! thread, taking turns round by round; each phase reports its rate and
//! this process's CPU per row, which is what decides on a machine whose
//! cores are all busy.
//!
//! `cargo run --release --example pg_drivers -- postgres://postgres@127.0.0.1/DB [ROUNDS] [SECONDS] [CLIENTS] [TABLE]`
//!
//! Writes go to a table of its own, `driver_bench`, dropped at the end.
//! TABLE (default `entities`) is read as the start-up read reads it: the
//! database of `benches/scaleout/startup.sh` has a million entities.

use futures_util::{StreamExt, TryStreamExt};
use sqlx::{Connection, PgConnection};
use std::error::Error;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error>>;

/// An entity's stored body, of the size the generator makes.
const BODY: &str = r#"{"id":"x","kind":"armed_group","name":"Sample Unit 12345","aliases":["SU"],"description":"A generated entity of about the usual size, with one source.","sources":[{"document":"doc-1","quote":"a quote of a few words from the document"}]}"#;

/// This process's CPU time so far (user and system), from `/proc`.
fn cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which may hold spaces.
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    // Linux reports in USER_HZ, 100 per second on every common build.
    Duration::from_millis(ticks * 10)
}

#[derive(Clone, Copy, Debug)]
enum Driver {
    Sqlx,
    TokioPostgres,
}

const INSERT: &str = "INSERT INTO driver_bench (id, body) VALUES ($1, $2::text::json)";

/// Writes from `clients` connections for `seconds`; the number written.
async fn writes(driver: Driver, url: &str, clients: usize, seconds: u64) -> Res<u64> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for client in 0..clients {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            match driver {
                Driver::Sqlx => {
                    let mut conn = PgConnection::connect(&url).await?;
                    while Instant::now() < deadline {
                        sqlx::query(INSERT)
                            .bind(format!("s-{client}-{n}"))
                            .bind(BODY)
                            .execute(&mut conn)
                            .await?;
                        n += 1;
                    }
                }
                Driver::TokioPostgres => {
                    let (pg, connection) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                    let driving = tokio::spawn(connection);
                    let statement = pg.prepare(INSERT).await?;
                    while Instant::now() < deadline {
                        pg.execute(&statement, &[&format!("t-{client}-{n}"), &BODY])
                            .await?;
                        n += 1;
                    }
                    drop(pg);
                    let _ = driving.await;
                }
            }
            Ok::<u64, Box<dyn Error + Send + Sync>>(n)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await?.map_err(|e| e.to_string())?;
    }
    Ok(total)
}

/// Streams `SELECT id, body::text FROM table ORDER BY id`; rows read.
async fn read(driver: Driver, url: &str, table: &str) -> Res<u64> {
    let sql = format!("SELECT id, body::text FROM {table} ORDER BY id");
    let mut rows = 0u64;
    let mut bytes = 0usize;
    match driver {
        Driver::Sqlx => {
            use sqlx::Row;
            let mut conn = PgConnection::connect(url).await?;
            let mut stream = sqlx::query(&sql).fetch(&mut conn);
            while let Some(row) = stream.try_next().await? {
                let id: &str = row.try_get(0)?;
                let body: &str = row.try_get(1)?;
                bytes += id.len() + body.len();
                rows += 1;
            }
        }
        Driver::TokioPostgres => {
            let (pg, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            let driving = tokio::spawn(connection);
            let stream = pg.query_raw(&sql, std::iter::empty::<&str>()).await?;
            futures_util::pin_mut!(stream);
            while let Some(row) = stream.next().await {
                let row = row?;
                let id: &str = row.try_get(0)?;
                let body: &str = row.try_get(1)?;
                bytes += id.len() + body.len();
                rows += 1;
            }
            drop(pg);
            let _ = driving.await;
        }
    }
    std::hint::black_box(bytes);
    Ok(rows)
}

/// Runs `work`, printing its rate and CPU per unit.
async fn measure<F: std::future::Future<Output = Res<u64>>>(
    what: &str,
    driver: Driver,
    work: F,
) -> Res<()> {
    let (t0, c0) = (Instant::now(), cpu());
    let n = work.await?;
    let (wall, used) = (t0.elapsed(), cpu().saturating_sub(c0));
    let n = n.max(1);
    println!(
        "| {what} | {driver:?} | {:.0}/s | {:.2} µs | {n} |",
        n as f64 / wall.as_secs_f64(),
        used.as_secs_f64() * 1e6 / n as f64
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = args.first() else {
        eprintln!("usage: pg_drivers DATABASE_URL [ROUNDS] [SECONDS] [CLIENTS] [TABLE]");
        std::process::exit(2);
    };
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (rounds, seconds, clients) = (arg(1, 2), arg(2, 5), arg(3, 8) as usize);
    let table = args.get(4).map_or("entities", String::as_str);
    if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("not a table name: {table}").into());
    }
    let mut admin = PgConnection::connect(url).await?;
    sqlx::query("DROP TABLE IF EXISTS driver_bench")
        .execute(&mut admin)
        .await?;
    sqlx::query("CREATE TABLE driver_bench (id text PRIMARY KEY, body json NOT NULL)")
        .execute(&mut admin)
        .await?;
    println!("| phase | driver | rate | CPU of this process per row | rows |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for round in 0..rounds {
        // Each round starts with the other driver.
        let order = if round % 2 == 0 {
            [Driver::Sqlx, Driver::TokioPostgres]
        } else {
            [Driver::TokioPostgres, Driver::Sqlx]
        };
        for driver in order {
            sqlx::query("TRUNCATE driver_bench")
                .execute(&mut admin)
                .await?;
            let what = format!("writes, {clients} clients");
            measure(&what, driver, writes(driver, url, clients, seconds)).await?;
        }
        for driver in order {
            measure(&format!("read {table}"), driver, read(driver, url, table)).await?;
        }
    }
    sqlx::query("DROP TABLE driver_bench")
        .execute(&mut admin)
        .await?;
    Ok(())
}
