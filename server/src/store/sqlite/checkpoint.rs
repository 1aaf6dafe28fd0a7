//! Checkpoints: copying the WAL into the database file, with an fsync of
//! each. They run four times a second while there are writes, not inside
//! the writer's commits as SQLite's automatic ones would: the bulk of the
//! copy runs on a reader connection beside the writer, and only what the
//! writer added meanwhile is copied between two of its groups, which lets
//! the WAL start over (see [`run_checkpoint`]).

use std::{
    fs::File,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sqlx::SqlitePool;

/// How often the WAL is copied into the database file, if anything was
/// written since the last copy began. Each copy is a burst of work beside
/// the requests (a third busy thread on two cores), and it grows with the
/// writes since the last one: four short bursts a second delay requests
/// less than one long one (BENCHMARKS.md, "JSON API under load").
pub(super) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);
/// A checkpoint's reader-side steps are repeated (at most this many times)
/// until one copies no more than [`WRITER_STEP_FRAMES`] pages, so that the
/// step on the writer's connection, which holds up commits, copies few.
const MAX_READER_STEPS: usize = 8;
const WRITER_STEP_FRAMES: i64 = 64;

/// Copies the WAL into the database file in PASSIVE steps. First on a
/// reader connection, beside the writer, so the copy holds up no commit;
/// repeated while a step still had many frames to copy, since the writer
/// added frames meanwhile. Then on the writer's own connection, between two
/// groups, for the few frames left. The WAL starts over only after a
/// checkpoint that copied all of it, which under sustained writes
/// reader-side steps alone never do: the WAL grew by every commit (1.5 GB in
/// 20 s of `make load-bench`).
pub(super) async fn run_checkpoint(
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
