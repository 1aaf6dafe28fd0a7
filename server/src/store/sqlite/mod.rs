//! The embedded store: one SQLite file in WAL mode. Reads go through a pool
//! of connections and never wait for the writer; writes go through one
//! dedicated connection, so they queue in order instead of contending for
//! SQLite's write lock. sqlx runs each connection on its own thread, so the
//! async runtime never blocks on disk.
//!
//! Here: opening the file, and the queries. New predictions go through the
//! writer's task (`writer`), which group-commits them and starts the
//! checkpoints (`checkpoint`).

mod checkpoint;
mod writer;

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

use writer::{MAX_GROUP, PendingPut, insert_groups};

pub struct SqliteStore {
    readers: SqlitePool,
    writer: SqlitePool,
    /// Set by every write, cleared when a checkpoint begins: an idle store
    /// does not wake its threads and sync its file four times a second.
    written: Arc<AtomicBool>,
    puts: mpsc::Sender<PendingPut>,
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
