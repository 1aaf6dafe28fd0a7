//! One contract, two backends: every test here runs against SQLite (a temporary
//! file) and against DynamoDB Local, Amazon's own DynamoDB server.
//!
//! The DynamoDB tests need `SEPAL_TEST_DYNAMODB`, the URL of a DynamoDB Local
//! on loopback; `make unit` and `make test` start one (scripts/dynamodb-local.sh)
//! and set it. Each test uses a table of its own.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::{
    process::{Child, Command},
    sync::Arc,
};

use app::store::{Cursor, ListQuery, Outcome, PredictionRecord, Put, Session, Store, StoreError};
use server::store::{DynamoStore, SqliteStore};
use time::OffsetDateTime;
use ulid::Ulid;

/// A store under test; keeps what it needs alive (its temporary folder).
struct Backend {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("data/sepal.db"))
        .await
        .unwrap();
    Backend {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

async fn dynamodb() -> Backend {
    let url = common::dynamodb_url();
    Backend {
        store: Arc::new(dynamo_store(&url, &format!("contract-{}", Ulid::new())).await),
        _dir: None,
    }
}

/// A DynamoDB store on a new table of the server at `url`.
async fn dynamo_store(url: &str, table: &str) -> DynamoStore {
    let store = common::dynamo_at(url, table).await;
    assert!(store.create_table().await.unwrap());
    store
}

/// Runs each contract test against both backends.
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                super::$test(&*super::sqlite().await.store).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                super::$test(&*super::dynamodb().await.store).await;
            })*
        }
    };
}

contract!(
    put_then_get_by_owner_only,
    put_never_overwrites,
    idempotent_put_returns_the_first_record,
    pages_are_newest_first_and_linked_both_ways,
    pagination_sees_each_record_once_while_new_ones_arrive,
    class_filter_pages_through_one_class,
    values_are_kept_and_have_no_class,
    one_user_cannot_read_or_delete_another_users,
    delete_one_and_all,
    concurrent_puts_lose_nothing,
    retries_among_new_puts_each_get_their_answer,
    sessions_expire_and_can_be_replaced_and_deleted,
    check_succeeds_on_a_working_store,
);

use common::{CLASSES, record};

fn owner() -> String {
    format!("https://issuer.example|{}", Ulid::new())
}

async fn put_all(store: &dyn Store, records: &[PredictionRecord]) {
    for r in records {
        assert_eq!(store.put_prediction(r).await.unwrap(), Put::Created);
    }
}

/// Follows `older` links from the first page and returns every id seen.
async fn all_ids(store: &dyn Store, owner: &str, limit: usize, class: Option<&str>) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let query = ListQuery::new(cursor, limit, class.map(str::to_owned));
        let page = store.list_predictions(owner, &query).await.unwrap();
        assert!(page.records.len() <= limit);
        ids.extend(page.records.iter().map(|r| r.id.clone()));
        match page.older {
            Some(next) => cursor = Some(next.parse().unwrap()),
            None => return ids,
        }
    }
}

fn ids_newest_first(records: &[PredictionRecord]) -> Vec<String> {
    let mut ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.reverse();
    ids
}

async fn put_then_get_by_owner_only(store: &dyn Store) {
    let alice = owner();
    let r = record(&alice, 1, "setosa");
    put_all(store, std::slice::from_ref(&r)).await;
    assert_eq!(
        store.get_prediction(&alice, &r.id).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(store.get_prediction(&owner(), &r.id).await.unwrap(), None);
    let missing = record(&alice, 2, "setosa");
    assert_eq!(
        store.get_prediction(&alice, &missing.id).await.unwrap(),
        None
    );
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 1);
}

async fn put_never_overwrites(store: &dyn Store) {
    let alice = owner();
    let first = record(&alice, 1, "setosa");
    put_all(store, std::slice::from_ref(&first)).await;
    let mut second = first.clone();
    second.outcome = Outcome::Value { value: 7.5 };
    let err = store.put_prediction(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err}");
    assert_eq!(
        store.get_prediction(&alice, &first.id).await.unwrap(),
        Some(first)
    );
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 1);
}

async fn idempotent_put_returns_the_first_record(store: &dyn Store) {
    let alice = owner();
    let mut first = record(&alice, 1, "setosa");
    first.idempotency_key = Some("retry-me".into());
    // The first row of a batch: its size is kept with it.
    first.batch_rows = Some(2);
    put_all(store, std::slice::from_ref(&first)).await;

    let mut retry = record(&alice, 2, "virginica");
    retry.idempotency_key = first.idempotency_key.clone();
    assert_eq!(
        store.put_prediction(&retry).await.unwrap(),
        Put::Existing(Box::new(first.clone()))
    );
    assert_eq!(store.get_prediction(&alice, &retry.id).await.unwrap(), None);
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 1);

    // Keys are per owner.
    let bob = owner();
    let mut bobs = record(&bob, 3, "setosa");
    bobs.idempotency_key = first.idempotency_key.clone();
    assert_eq!(store.put_prediction(&bobs).await.unwrap(), Put::Created);

    // Deleting the record frees its key.
    assert!(store.delete_prediction(&alice, &first.id).await.unwrap());
    assert_eq!(store.put_prediction(&retry).await.unwrap(), Put::Created);
}

async fn pages_are_newest_first_and_linked_both_ways(store: &dyn Store) {
    let alice = owner();
    let records: Vec<_> = (1..=7).map(|n| record(&alice, n, "setosa")).collect();
    put_all(store, &records).await;
    let newest_first = ids_newest_first(&records);
    let ids = |page: &app::store::Page| {
        page.records
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>()
    };

    let first = store
        .list_predictions(&alice, &ListQuery::new(None, 3, None))
        .await
        .unwrap();
    assert_eq!(ids(&first), newest_first[0..3]);
    assert_eq!(first.newer, None);
    let older: Cursor = first.older.clone().unwrap().parse().unwrap();

    let second = store
        .list_predictions(&alice, &ListQuery::new(Some(older), 3, None))
        .await
        .unwrap();
    assert_eq!(ids(&second), newest_first[3..6]);
    let last: Cursor = second.older.clone().unwrap().parse().unwrap();
    let third = store
        .list_predictions(&alice, &ListQuery::new(Some(last), 3, None))
        .await
        .unwrap();
    assert_eq!(ids(&third), newest_first[6..]);
    assert_eq!(third.older, None);

    // Back from the last page: the same pages again.
    let back: Cursor = third.newer.clone().unwrap().parse().unwrap();
    let again = store
        .list_predictions(&alice, &ListQuery::new(Some(back), 3, None))
        .await
        .unwrap();
    assert_eq!(ids(&again), ids(&second));
    let back: Cursor = again.newer.clone().unwrap().parse().unwrap();
    let top = store
        .list_predictions(&alice, &ListQuery::new(Some(back), 3, None))
        .await
        .unwrap();
    assert_eq!(ids(&top), ids(&first));
    assert_eq!(top.newer, None);
}

async fn pagination_sees_each_record_once_while_new_ones_arrive(store: &dyn Store) {
    let alice = owner();
    let records: Vec<_> = (1..=23).map(|n| record(&alice, n, "setosa")).collect();
    put_all(store, &records).await;

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut arriving = 100;
    loop {
        let page = store
            .list_predictions(&alice, &ListQuery::new(cursor, 5, None))
            .await
            .unwrap();
        seen.extend(page.records.iter().map(|r| r.id.clone()));
        // Newer records arrive between page reads.
        arriving += 1;
        put_all(store, &[record(&alice, arriving, "versicolor")]).await;
        match page.older {
            Some(next) => cursor = Some(next.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ids_newest_first(&records));
}

async fn class_filter_pages_through_one_class(store: &dyn Store) {
    let alice = owner();
    let records: Vec<_> = (1..=12)
        .map(|n| record(&alice, n, CLASSES[usize::try_from(n).unwrap() % 3]))
        .collect();
    put_all(store, &records).await;
    for class in CLASSES {
        let of_class: Vec<_> = records
            .iter()
            .filter(|r| r.class() == Some(class))
            .cloned()
            .collect();
        assert_eq!(
            all_ids(store, &alice, 3, Some(class)).await,
            ids_newest_first(&of_class),
            "{class}"
        );
    }
    assert!(all_ids(store, &alice, 3, Some("unknown")).await.is_empty());
    assert_eq!(
        all_ids(store, &alice, 5, None).await,
        ids_newest_first(&records)
    );
}

/// A regressor's records keep their value exactly, are listed with the
/// rest and never match a class filter.
async fn values_are_kept_and_have_no_class(store: &dyn Store) {
    let alice = owner();
    let mut records: Vec<_> = (1..=4).map(|n| record(&alice, n, "setosa")).collect();
    for (record, value) in records.iter_mut().skip(2).zip([152.375_f32, -0.1]) {
        record.outcome = Outcome::Value { value };
    }
    put_all(store, &records).await;
    for record in &records {
        assert_eq!(
            store
                .get_prediction(&alice, &record.id)
                .await
                .unwrap()
                .as_ref(),
            Some(record)
        );
    }
    assert_eq!(
        all_ids(store, &alice, 10, None).await,
        ids_newest_first(&records)
    );
    assert_eq!(
        all_ids(store, &alice, 10, Some("setosa")).await,
        ids_newest_first(&records[..2])
    );
    assert!(all_ids(store, &alice, 10, Some("")).await.is_empty());
}

async fn one_user_cannot_read_or_delete_another_users(store: &dyn Store) {
    let (alice, mallory) = (owner(), owner());
    let r = record(&alice, 1, "setosa");
    put_all(store, std::slice::from_ref(&r)).await;

    assert_eq!(store.get_prediction(&mallory, &r.id).await.unwrap(), None);
    assert!(!store.delete_prediction(&mallory, &r.id).await.unwrap());
    assert_eq!(store.delete_all_predictions(&mallory).await.unwrap(), 0);
    assert!(all_ids(store, &mallory, 10, None).await.is_empty());
    assert_eq!(store.count_predictions(&mallory).await.unwrap(), 0);
    // A cursor taken from Alice's history shows Mallory nothing of hers.
    let cursor = Cursor::Before(record(&alice, 99, "setosa").id);
    let page = store
        .list_predictions(&mallory, &ListQuery::new(Some(cursor), 10, None))
        .await
        .unwrap();
    assert!(page.records.is_empty());

    assert_eq!(store.get_prediction(&alice, &r.id).await.unwrap(), Some(r));
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 1);
}

async fn delete_one_and_all(store: &dyn Store) {
    let alice = owner();
    let mut records: Vec<_> = (1..=60).map(|n| record(&alice, n, "virginica")).collect();
    records[7].idempotency_key = Some("k7".into());
    put_all(store, &records).await;

    assert!(
        store
            .delete_prediction(&alice, &records[0].id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_prediction(&alice, &records[0].id)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_prediction(&alice, &records[0].id).await.unwrap(),
        None
    );
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 59);

    assert_eq!(store.delete_all_predictions(&alice).await.unwrap(), 59);
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 0);
    assert!(all_ids(store, &alice, 50, None).await.is_empty());
    // The idempotency key went with its record.
    let mut again = record(&alice, 100, "setosa");
    again.idempotency_key = Some("k7".into());
    assert_eq!(store.put_prediction(&again).await.unwrap(), Put::Created);
}

async fn concurrent_puts_lose_nothing(store: &dyn Store) {
    let alice = owner();
    let records: Vec<_> = (1..=160).map(|n| record(&alice, n, "setosa")).collect();
    // 16 tasks at once, each putting 10 records of the same user.
    let runtime = tokio::runtime::Handle::current();
    std::thread::scope(|scope| {
        for chunk in records.chunks(10) {
            let runtime = runtime.clone();
            scope.spawn(move || {
                runtime.block_on(async {
                    for r in chunk {
                        assert_eq!(store.put_prediction(r).await.unwrap(), Put::Created);
                    }
                });
            });
        }
    });
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 160);
    assert_eq!(
        all_ids(store, &alice, 50, None).await,
        ids_newest_first(&records)
    );
}

/// Puts at once, every other one a retry of a stored record's idempotency
/// key: SQLite's writer takes them in shared groups, where the retries'
/// conflicts must not cost the new records their place, nor the reverse.
async fn retries_among_new_puts_each_get_their_answer(store: &dyn Store) {
    let alice = owner();
    let mut first = record(&alice, 1, "setosa");
    first.idempotency_key = Some("sent-twice".into());
    put_all(store, std::slice::from_ref(&first)).await;
    let puts: Vec<_> = (2..=65)
        .map(|n| {
            let mut r = record(&alice, n, "virginica");
            if n % 2 == 0 {
                r.idempotency_key = first.idempotency_key.clone();
            }
            r
        })
        .collect();
    let answers =
        futures_util::future::join_all(puts.iter().map(|r| store.put_prediction(r))).await;
    for (put, answer) in puts.iter().zip(answers) {
        let expected = if put.idempotency_key.is_some() {
            Put::Existing(Box::new(first.clone()))
        } else {
            Put::Created
        };
        assert_eq!(answer.unwrap(), expected, "record {}", put.id);
    }
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 33);
    assert_eq!(
        all_ids(store, &alice, 100, Some("virginica")).await.len(),
        32
    );
}

async fn sessions_expire_and_can_be_replaced_and_deleted(store: &dyn Store) {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let live = Session {
        id: format!("s-{}", Ulid::new()),
        data: r#"{"user":"alice"}"#.into(),
        expires_at: now + time::Duration::hours(1),
    };
    store.create_session(&live).await.unwrap();
    assert_eq!(
        store.load_session(&live.id).await.unwrap(),
        Some(live.clone())
    );
    let err = store.create_session(&live).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err}");

    let replaced = Session {
        data: r#"{"user":"alice","n":2}"#.into(),
        ..live.clone()
    };
    store.save_session(&replaced).await.unwrap();
    assert_eq!(store.load_session(&live.id).await.unwrap(), Some(replaced));

    let expired = Session {
        id: format!("s-{}", Ulid::new()),
        data: "{}".into(),
        expires_at: now - time::Duration::seconds(1),
    };
    store.create_session(&expired).await.unwrap();
    assert_eq!(store.load_session(&expired.id).await.unwrap(), None);

    store.delete_expired_sessions().await.unwrap();
    assert!(
        store.load_session(&live.id).await.unwrap().is_some(),
        "live sessions stay"
    );

    store.delete_session(&live.id).await.unwrap();
    assert_eq!(store.load_session(&live.id).await.unwrap(), None);
    // A save after the delete (a request still in flight at sign-out) does not bring it back.
    store.save_session(&live).await.unwrap();
    assert_eq!(store.load_session(&live.id).await.unwrap(), None);
    store.delete_session(&live.id).await.unwrap();
    assert_eq!(store.load_session("never-saved").await.unwrap(), None);
}

async fn check_succeeds_on_a_working_store(store: &dyn Store) {
    store.check().await.unwrap();
}

/// A DynamoDB Local of the test's own, stopped when dropped.
struct LocalDynamo(Child);

impl LocalDynamo {
    fn start(port: u16, data: &std::path::Path) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dynamodb-local.sh");
        let child = Command::new("bash")
            .arg(script)
            .arg(port.to_string())
            .arg(data)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        common::wait_for_port(port);
        LocalDynamo(child)
    }
}

/// Stopped as a restart stops it: SIGTERM, so it writes out what it holds
/// (a SIGKILL can lose its last writes: the emulator's durability, not Sepal's).
impl Drop for LocalDynamo {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_restart_gives_clear_errors_then_recovers() {
    let data = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let server = LocalDynamo::start(port, data.path());
    let store = dynamo_store(&url, "restart").await;
    let alice = owner();
    let before: Vec<_> = (1..=5).map(|n| record(&alice, n, "setosa")).collect();
    put_all(&store, &before).await;

    drop(server);
    let during = record(&alice, 6, "setosa");
    let err = store.put_prediction(&during).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    let err = store
        .list_predictions(&alice, &ListQuery::new(None, 10, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(store.check().await.is_err());

    let _server = LocalDynamo::start(port, data.path());
    // The same client recovers: nothing of the failed put was written, all else is there.
    store.check().await.unwrap();
    assert_eq!(
        store.get_prediction(&alice, &during.id).await.unwrap(),
        None
    );
    assert_eq!(store.count_predictions(&alice).await.unwrap(), 5);
    put_all(&store, std::slice::from_ref(&during)).await;
    let mut all = before;
    all.push(during);
    assert_eq!(
        all_ids(&store, &alice, 4, None).await,
        ids_newest_first(&all)
    );
}

#[tokio::test]
async fn sqlite_purges_expired_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sepal.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let now = OffsetDateTime::now_utc();
    for (id, expires_at) in [
        ("old", now - time::Duration::minutes(1)),
        ("live", now + time::Duration::hours(1)),
    ] {
        let session = Session {
            id: id.into(),
            data: "{}".into(),
            expires_at,
        };
        store.create_session(&session).await.unwrap();
    }
    store.delete_expired_sessions().await.unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(ids, ["live"]);
}

#[tokio::test]
async fn sqlite_copies_the_wal_into_the_database_file_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sepal.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let size = || std::fs::metadata(&path).unwrap().len();
    let before = size();
    let owner = owner();
    for n in 0..500 {
        let record = record(&owner, n, "setosa");
        assert_eq!(store.put_prediction(&record).await.unwrap(), Put::Created);
    }
    // Commits only append to the WAL; the background checkpoint (four
    // times a second) copies them into the database file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while size() < before + 100_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint: the database file is still {} bytes",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// An idle store skips its checkpoints; a write of any kind, not only a
/// prediction, must still reach the database file by the next one.
#[tokio::test]
async fn sqlite_copies_every_kind_of_write_into_the_database_file() {
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sepal.db");
    let store = SqliteStore::open(&path).await.unwrap();
    // Counts rows in a copy of the database file alone, without its WAL
    // (0 while the table itself is only in the WAL).
    let in_file = async |table: &str| -> i64 {
        let copy = dir.path().join("copy.db");
        std::fs::copy(&path, &copy).unwrap();
        let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", copy.display()))
            .await
            .unwrap();
        let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE name = ?")
            .bind(table)
            .fetch_one(&db)
            .await
            .unwrap();
        let count = match tables {
            0 => 0,
            _ => sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .unwrap(),
        };
        db.close().await;
        std::fs::remove_file(&copy).unwrap();
        count
    };
    let until_in_file = async |table: &str| {
        let deadline = Instant::now() + Duration::from_secs(3);
        while in_file(table).await == 0 {
            assert!(
                Instant::now() < deadline,
                "a write to {table} never reached the database file"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let record = record(&owner(), 1, "setosa");
    assert_eq!(store.put_prediction(&record).await.unwrap(), Put::Created);
    until_in_file("predictions").await;
    // Idle for several checkpoint intervals, then a write that is not a put.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let session = Session {
        id: "after-idle".into(),
        data: "{}".into(),
        expires_at: OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create_session(&session).await.unwrap();
    until_in_file("sessions").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_starts_the_wal_over_under_sustained_writes() {
    use std::{
        io::Read as _,
        sync::atomic::{AtomicBool, Ordering},
        time::{Duration, Instant},
    };

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sepal.db");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    // Bytes 12..16 of the WAL header count the times the WAL started over.
    let wal = dir.path().join("sepal.db-wal");
    let restarts = || {
        let mut header = [0; 16];
        std::fs::File::open(&wal)
            .and_then(|mut file| file.read_exact(&mut header))
            .unwrap();
        u32::from_be_bytes([header[12], header[13], header[14], header[15]])
    };
    // Writers that never pause, so the writer always has a group to commit.
    let writing = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..16u64)
        .map(|task| {
            let (store, writing, owner) = (store.clone(), writing.clone(), owner());
            tokio::spawn(async move {
                let mut n = task * 1_000_000;
                while writing.load(Ordering::Relaxed) {
                    let record = record(&owner, n, "setosa");
                    assert_eq!(store.put_prediction(&record).await.unwrap(), Put::Created);
                    n += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = restarts();
    let deadline = Instant::now() + Duration::from_secs(6);
    while restarts() == first {
        assert!(
            Instant::now() < deadline,
            "the WAL never started over: it grows by every commit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    writing.store(false, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
}

/// SQLite keeps POSIX locks on the database file while its connections are
/// open, and a process loses all of them when it closes any descriptor of
/// that file. Another process (here Python's sqlite3 module) must then not
/// be able to take the WAL away from an open store, as the last connection
/// to a database does when it closes.
#[tokio::test]
async fn sqlite_keeps_its_locks_through_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sepal.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let record = record(&owner(), 1, "setosa");
    assert_eq!(store.put_prediction(&record).await.unwrap(), Put::Created);
    // Checkpoints run four times a second while there are writes: this is
    // several intervals.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let read = "import sqlite3, sys\n\
                db = sqlite3.connect(sys.argv[1])\n\
                print(db.execute('SELECT count(*) FROM predictions').fetchone()[0])\n\
                db.close()";
    let output = Command::new("python3")
        .args(["-c", read])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");
    assert!(
        dir.path().join("sepal.db-wal").exists(),
        "another process removed the WAL of an open store: its locks were gone"
    );
    assert_eq!(store.count_predictions(&record.owner).await.unwrap(), 1);
}
