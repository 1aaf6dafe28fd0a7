//! The embedded store: one SQLite file in WAL mode. Reads go through a pool
//! of connections and never wait for the writer; writes go through one
//! dedicated connection, so they queue in order instead of contending for
//! SQLite's write lock. sqlx runs each connection on its own thread, so the
//! async runtime never blocks on disk.
//!
//! New predictions are group-committed: puts that arrive while the writer is
//! busy, or while it lets the requests already under way catch up, are
//! inserted together by its next statement (one commit, one trip to the
//! writer's thread), and each put still learns whether its own record was
//! inserted.
//!
//! Checkpoints (copying the WAL into the database file, with an fsync of
//! each) run four times a second while there are writes, not inside the
//! writer's commits as SQLite's automatic ones would: the bulk of the copy
//! runs on a reader connection beside the writer, and only what the writer
//! added meanwhile is copied between two of its groups, which lets the WAL
//! start over (see [`run_checkpoint`]).

use std::{
    fs::File,
    path::Path,
    str::FromStr as _,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use app::store::{
    Cursor, ListQuery, Page, PredictionRecord, Put, Session, Store, StoreError, page_from,
};
use async_trait::async_trait;
use sqlx::{
    QueryBuilder, Row as _, SqlitePool,
    query::Query,
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions,
        SqliteSynchronous,
    },
};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// The most new records one statement inserts.
const MAX_GROUP: usize = 128;
/// How many times the writer lets the runtime run its other ready tasks, and
/// read what has arrived on the sockets, before it takes a group. Woken by a
/// put, it would run next on that put's thread (tokio runs a task just woken
/// first), with only that put and a few others: ~7 records a commit under
/// `make load-bench`, each commit writing ~5 pages to the WAL. Two rounds
/// add no wait without load, and under load gather the puts of the requests
/// read meanwhile (BENCHMARKS.md, "JSON API under load").
const GATHER_ROUNDS: usize = 2;
/// How often the WAL is copied into the database file, if anything was
/// written since the last copy began. Each copy is a burst of work beside
/// the requests (a third busy thread on two cores), and it grows with the
/// writes since the last one: four short bursts a second delay requests
/// less than one long one (BENCHMARKS.md, "JSON API under load").
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);
/// A checkpoint's reader-side steps are repeated (at most this many times)
/// until one copies no more than [`WRITER_STEP_FRAMES`] pages, so that the
/// step on the writer's connection, which holds up commits, copies few.
const MAX_READER_STEPS: usize = 8;
const WRITER_STEP_FRAMES: i64 = 64;

pub struct SqliteStore {
    readers: SqlitePool,
    writer: SqlitePool,
    /// Set by every write, cleared when a checkpoint begins: an idle store
    /// does not wake its threads and sync its file four times a second.
    written: Arc<AtomicBool>,
    puts: mpsc::Sender<PendingPut>,
}

/// A record waiting for the writer, and where to say whether it was inserted.
struct PendingPut {
    owner: String,
    id: String,
    /// The predicted class, for the class filter's index; none for a
    /// regressor's record.
    class: Option<String>,
    idempotency_key: Option<String>,
    json: String,
    inserted: oneshot::Sender<Result<bool, StoreError>>,
}

impl SqliteStore {
    /// Opens (creating it and its folder when missing) the database at
    /// `path`, and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                StoreError::Backend(format!("cannot create {}: {err}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data on a crash of the
            // process; only a power cut can lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            // Reads straight from the OS page cache instead of copying pages
            // in: keeps a page of history as cheap in a large file as in a small one.
            .pragma("mmap_size", "1073741824")
            // A WAL that grew in a burst is cut back when it starts over;
            // far above what sustained writes fill between two checkpoints
            // (~25 MB), so that steady load does not cut and regrow it.
            .pragma("journal_size_limit", "268435456")
            .busy_timeout(Duration::from_secs(5));
        let open_error =
            |err| StoreError::Unavailable(format!("cannot open {}: {err}", path.display()));
        // A connection to a local file does not go stale as a network one
        // can: no ping before each use (a round trip to sqlx's worker thread).
        let pool = || {
            SqlitePoolOptions::new()
                .acquire_timeout(Duration::from_secs(5))
                .test_before_acquire(false)
        };
        let writer = pool()
            .max_connections(1)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(open_error)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(|err| {
                StoreError::Backend(format!("cannot migrate {}: {err}", path.display()))
            })?;
        let readers = pool()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        // Checkpoints sync the database file through this descriptor, open
        // as long as the store's connections: closing any descriptor of a
        // file drops every POSIX lock the process holds on it, SQLite's
        // too, and another process could then take the WAL away.
        let database = File::open(path).map_err(|err| {
            StoreError::Unavailable(format!("cannot open {}: {err}", path.display()))
        })?;
        let (puts, pending) = mpsc::channel(4 * MAX_GROUP);
        // The migrations may have written.
        let written = Arc::new(AtomicBool::new(true));
        tokio::spawn(insert_groups(
            writer.clone(),
            readers.clone(),
            Arc::new(database),
            written.clone(),
            pending,
        ));
        Ok(SqliteStore {
            readers,
            writer,
            written,
            puts,
        })
    }

    /// Runs a statement on the writer's connection; returns the rows it changed.
    async fn write<'q>(
        &self,
        statement: Query<'q, sqlx::Sqlite, SqliteArguments<'q>>,
    ) -> Result<u64, StoreError> {
        let result = statement.execute(&self.writer).await;
        self.written.store(true, Ordering::Release);
        Ok(result.map_err(sql)?.rows_affected())
    }

    /// Whether the record was inserted (false: its id or idempotency key is taken).
    async fn insert(&self, record: &PredictionRecord) -> Result<bool, StoreError> {
        let stopped = || StoreError::Unavailable("the SQLite writer has stopped".to_owned());
        let (inserted, answer) = oneshot::channel();
        let put = PendingPut {
            owner: record.owner.clone(),
            id: record.id.clone(),
            class: record.class().map(str::to_owned),
            idempotency_key: record.idempotency_key.clone(),
            json: serde_json::to_string(record).map_err(backend)?,
            inserted,
        };
        self.puts.send(put).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn by_idempotency_key(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<PredictionRecord>, StoreError> {
        sqlx::query("SELECT record FROM predictions WHERE owner = ? AND idempotency_key = ?")
            .bind(owner)
            .bind(key)
            .fetch_optional(&self.readers)
            .await
            .map_err(sql)?
            .map(|row| decode(&row))
            .transpose()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_prediction(&self, record: &PredictionRecord) -> Result<Put, StoreError> {
        if self.insert(record).await? {
            return Ok(Put::Created);
        }
        let first = match &record.idempotency_key {
            Some(key) => self.by_idempotency_key(&record.owner, key).await?,
            None => None,
        };
        first
            .map(|r| Put::Existing(Box::new(r)))
            .ok_or(StoreError::Conflict)
    }

    async fn get_prediction(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<PredictionRecord>, StoreError> {
        sqlx::query("SELECT record FROM predictions WHERE owner = ? AND id = ?")
            .bind(owner)
            .bind(id)
            .fetch_optional(&self.readers)
            .await
            .map_err(sql)?
            .map(|row| decode(&row))
            .transpose()
    }

    async fn list_predictions(&self, owner: &str, query: &ListQuery) -> Result<Page, StoreError> {
        let mut sql_query = QueryBuilder::new("SELECT record FROM predictions WHERE owner = ");
        sql_query.push_bind(owner);
        if let Some(class) = &query.class {
            sql_query.push(" AND class = ").push_bind(class);
        }
        let newest_first = match &query.cursor {
            None => true,
            Some(Cursor::Before(id)) => {
                sql_query.push(" AND id < ").push_bind(id);
                true
            }
            Some(Cursor::After(id)) => {
                sql_query.push(" AND id > ").push_bind(id);
                false
            }
        };
        sql_query.push(if newest_first {
            " ORDER BY id DESC LIMIT "
        } else {
            " ORDER BY id ASC LIMIT "
        });
        // One more than the page holds tells whether there is a next page.
        sql_query.push_bind(i64::try_from(query.limit() + 1).map_err(backend)?);
        let records = sql_query
            .build()
            .fetch_all(&self.readers)
            .await
            .map_err(sql)?
            .iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
        Ok(page_from(records, query, newest_first))
    }

    async fn delete_prediction(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .write(
                sqlx::query("DELETE FROM predictions WHERE owner = ? AND id = ?")
                    .bind(owner)
                    .bind(id),
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn delete_all_predictions(&self, owner: &str) -> Result<u64, StoreError> {
        self.write(sqlx::query("DELETE FROM predictions WHERE owner = ?").bind(owner))
            .await
    }

    async fn count_predictions(&self, owner: &str) -> Result<u64, StoreError> {
        let count: Option<i64> =
            sqlx::query_scalar("SELECT count FROM prediction_counts WHERE owner = ?")
                .bind(owner)
                .fetch_optional(&self.readers)
                .await
                .map_err(sql)?;
        u64::try_from(count.unwrap_or(0)).map_err(backend)
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let created = self
            .write(
                sqlx::query(
                    "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&session.id)
                .bind(&session.data)
                .bind(session.expires_at.unix_timestamp()),
            )
            .await?;
        if created == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn save_session(&self, session: &Session) -> Result<(), StoreError> {
        self.write(
            sqlx::query("UPDATE sessions SET data = ?, expires_at = ? WHERE id = ?")
                .bind(&session.data)
                .bind(session.expires_at.unix_timestamp())
                .bind(&session.id),
        )
        .await?;
        Ok(())
    }

    async fn load_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let row =
            sqlx::query("SELECT data, expires_at FROM sessions WHERE id = ? AND expires_at > ?")
                .bind(id)
                .bind(OffsetDateTime::now_utc().unix_timestamp())
                .fetch_optional(&self.readers)
                .await
                .map_err(sql)?;
        row.map(|row| {
            Ok(Session {
                id: id.to_owned(),
                data: row.try_get("data").map_err(sql)?,
                expires_at: OffsetDateTime::from_unix_timestamp(
                    row.try_get("expires_at").map_err(sql)?,
                )
                .map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        self.write(sqlx::query("DELETE FROM sessions WHERE id = ?").bind(id))
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self) -> Result<(), StoreError> {
        self.write(
            sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
                .bind(OffsetDateTime::now_utc().unix_timestamp()),
        )
        .await?;
        Ok(())
    }

    async fn check(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.readers)
            .await
            .map_err(sql)?;
        Ok(())
    }
}

/// The writer's loop: waits for a put, takes every other one waiting too (up
/// to [`MAX_GROUP`]), inserts them all with one statement, and answers each.
/// Every [`CHECKPOINT_INTERVAL`] it starts a checkpoint, unless nothing was
/// `written` since the last one began or that one is still running. Ends
/// when the store is dropped.
async fn insert_groups(
    writer: SqlitePool,
    readers: SqlitePool,
    database: Arc<File>,
    written: Arc<AtomicBool>,
    mut pending: mpsc::Receiver<PendingPut>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut ticks = tokio::time::interval(CHECKPOINT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut checkpoint: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tokio::select! {
            received = pending.recv_many(&mut group, MAX_GROUP) => {
                if received == 0 {
                    break;
                }
                for _ in 0..GATHER_ROUNDS {
                    tokio::task::yield_now().await;
                }
                while group.len() < MAX_GROUP && let Ok(put) = pending.try_recv() {
                    group.push(put);
                }
                let inserted = insert_group(&writer, &group).await;
                written.store(true, Ordering::Release);
                for (i, put) in group.drain(..).enumerate() {
                    let answer = inserted.as_ref().map(|flags| flags[i]);
                    // A put whose caller has gone needs no answer.
                    let _ = put.inserted.send(answer.map_err(Clone::clone));
                }
            }
            _ = ticks.tick() => {
                if checkpoint.as_ref().is_none_or(|running| running.is_finished())
                    && written.swap(false, Ordering::AcqRel)
                {
                    checkpoint = Some(tokio::spawn(run_checkpoint(
                        readers.clone(),
                        writer.clone(),
                        database.clone(),
                        written.clone(),
                    )));
                }
            }
        }
    }
    // The store is gone: SQLite's connections close before the database
    // file's descriptor does (see `SqliteStore::open`).
    if let Some(running) = checkpoint {
        let _ = running.await;
    }
    writer.close().await;
    readers.close().await;
    drop(database);
}

/// Copies the WAL into the database file in PASSIVE steps. First on a
/// reader connection, beside the writer, so the copy holds up no commit;
/// repeated while a step still had many frames to copy, since the writer
/// added frames meanwhile. Then on the writer's own connection, between two
/// groups, for the few frames left. The WAL starts over only after a
/// checkpoint that copied all of it, which under sustained writes
/// reader-side steps alone never do: the WAL grew by every commit (1.5 GB in
/// 20 s of `make load-bench`).
async fn run_checkpoint(
    readers: SqlitePool,
    writer: SqlitePool,
    database: Arc<File>,
    written: Arc<AtomicBool>,
) {
    if let Err(err) = checkpoint_steps(&readers, &writer, database).await {
        written.store(true, Ordering::Release);
        tracing::warn!(error = %err, "SQLite checkpoint failed; retried at the next interval");
    }
}

async fn checkpoint_steps(
    readers: &SqlitePool,
    writer: &SqlitePool,
    database: Arc<File>,
) -> Result<(), sqlx::Error> {
    let mut copied_until = 0;
    for _ in 0..MAX_READER_STEPS {
        let checkpointed = checkpoint_step(readers).await?;
        let copied = checkpointed - copied_until;
        copied_until = checkpointed;
        if copied <= WRITER_STEP_FRAMES {
            break;
        }
    }
    // Only a step that copies the whole WAL syncs the database file, so the
    // writer-side one would flush every page the steps above copied while
    // commits wait (up to 20 ms, `perf sched`): flush them here first.
    tokio::task::spawn_blocking(move || database.sync_data())
        .await
        .map_err(std::io::Error::other)??;
    checkpoint_step(writer).await?;
    Ok(())
}

/// One PASSIVE checkpoint; returns how many of the WAL's frames are now in
/// the database file.
async fn checkpoint_step(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    let (_busy, _frames, checkpointed): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await?;
    Ok(checkpointed)
}

/// One statement: the records and their counts (kept by a trigger) change
/// together or not at all. Nearly always every record is new, and that
/// statement is all it takes; when one's id or idempotency key is taken,
/// it fails whole (SQLite undoes a statement that breaks a constraint) and
/// the records go in one by one, each skipped if taken, in one transaction.
/// Returns, for each put in order, whether its record was inserted.
async fn insert_group(writer: &SqlitePool, group: &[PendingPut]) -> Result<Vec<bool>, StoreError> {
    match insert_statement(group).build().execute(writer).await {
        Ok(_) => return Ok(vec![true; group.len()]),
        Err(sqlx::Error::Database(db)) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {}
        Err(err) => return Err(sql(err)),
    }
    let mut one_by_one = writer.begin().await.map_err(sql)?;
    let mut inserted = Vec::with_capacity(group.len());
    for put in group {
        let mut insert = insert_statement(std::slice::from_ref(put));
        insert.push(" ON CONFLICT DO NOTHING");
        let added = insert
            .build()
            .execute(&mut *one_by_one)
            .await
            .map_err(sql)?
            .rows_affected();
        inserted.push(added == 1);
    }
    one_by_one.commit().await.map_err(sql)?;
    Ok(inserted)
}

/// `INSERT` of the puts' records, one row each.
fn insert_statement(puts: &[PendingPut]) -> QueryBuilder<'_, sqlx::Sqlite> {
    let mut insert =
        QueryBuilder::new("INSERT INTO predictions (owner, id, class, idempotency_key, record) ");
    insert.push_values(puts, |mut row, put| {
        row.push_bind(&put.owner)
            .push_bind(&put.id)
            .push_bind(&put.class)
            .push_bind(&put.idempotency_key)
            .push_bind(&put.json);
    });
    insert
}

fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<PredictionRecord, StoreError> {
    let json: &str = row.try_get("record").map_err(sql)?;
    serde_json::from_str(json).map_err(backend)
}

/// Waiting too long for a connection or the write lock, or a failing disk,
/// is the store being unavailable; anything else is a bug or bad data.
fn sql(err: sqlx::Error) -> StoreError {
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), in their extended forms too.
    let busy = matches!(&err, sqlx::Error::Database(db)
        if db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6)));
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(format!("SQLite: {err}"))
        }
        _ if busy => StoreError::Unavailable(format!("SQLite is busy: {err}")),
        _ => StoreError::Backend(format!("SQLite: {err}")),
    }
}

fn backend(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(err.to_string())
}
