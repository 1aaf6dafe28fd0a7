//! The writer's task. New predictions are group-committed: puts that arrive
//! while the writer is busy, or while it lets the requests already under
//! way catch up, are inserted together by its next statement (one commit,
//! one trip to the writer's thread), and each put still learns whether its
//! own record was inserted. Between groups it starts the checkpoints.

use std::{
    fs::File,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use app::store::StoreError;
use sqlx::{QueryBuilder, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::{
    checkpoint::{CHECKPOINT_INTERVAL, run_checkpoint},
    sql,
};

/// The most new records one statement inserts.
pub(super) const MAX_GROUP: usize = 128;
/// How many times the writer lets the runtime run its other ready tasks, and
/// read what has arrived on the sockets, before it takes a group. Woken by a
/// put, it would run next on that put's thread (tokio runs a task just woken
/// first), with only that put and a few others: ~7 records a commit under
/// `make load-bench`, each commit writing ~5 pages to the WAL. Two rounds
/// add no wait without load, and under load gather the puts of the requests
/// read meanwhile (BENCHMARKS.md, "JSON API under load").
const GATHER_ROUNDS: usize = 2;
/// A record waiting for the writer, and where to say whether it was inserted.
pub(super) struct PendingPut {
    pub owner: String,
    pub id: String,
    /// The predicted class, for the class filter's index; none for a
    /// regressor's record.
    pub class: Option<String>,
    pub idempotency_key: Option<String>,
    pub json: String,
    pub inserted: oneshot::Sender<Result<bool, StoreError>>,
}

/// The writer's loop: waits for a put, takes every other one waiting too (up
/// to [`MAX_GROUP`]), inserts them all with one statement, and answers each.
/// Every [`CHECKPOINT_INTERVAL`] it starts a checkpoint, unless nothing was
/// `written` since the last one began or that one is still running. Ends
/// when the store is dropped.
pub(super) async fn insert_groups(
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
