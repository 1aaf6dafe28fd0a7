//! Store benchmarks, for each backend:
//! - the newest page of 50 for users who have 100, 10,000 and 1,000,000
//!   records, all in the same database (the cost must not grow with history);
//! - sustained puts: one writer, and 16 at once.
//!
//! Run: `make store-bench`. It starts DynamoDB Local; without
//! SEPAL_TEST_DYNAMODB only SQLite is measured. History sizes:
//! SEPAL_BENCH_SQLITE_SIZES (default 100,10000,1000000) and
//! SEPAL_BENCH_DYNAMODB_SIZES (default 100,10000).
#![allow(clippy::unwrap_used)]

#[path = "../tests/it/common/mod.rs"]
#[allow(dead_code)] // the store benchmarks use only its DynamoDB Local part
mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use app::store::{ListQuery, Put, Store};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use server::store::SqliteStore;
use tokio::runtime::Runtime;
use ulid::Ulid;

/// Concurrent writers while seeding and in the concurrent put benchmark.
const WRITERS: u64 = 16;

/// Puts `count` records numbered from `first`, `WRITERS` at a time: all for
/// `owner`, or with `spread` each writer for a user of its own.
async fn put_many(store: &Arc<dyn Store>, owner: &str, spread: bool, first: u64, count: u64) {
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            let owner = if spread {
                format!("{owner}-{w}")
            } else {
                owner.to_owned()
            };
            tokio::spawn(async move {
                for n in (first + w..first + count).step_by(WRITERS as usize) {
                    assert_eq!(
                        store
                            .put_prediction(&common::record(&owner, n, "setosa"))
                            .await
                            .unwrap(),
                        Put::Created
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn sizes(var: &str, default: &str) -> Vec<u64> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

fn bench_backend(
    c: &mut Criterion,
    rt: &Runtime,
    name: &str,
    store: Arc<dyn Store>,
    sizes: &[u64],
) {
    let mut group = c.benchmark_group(format!("{name}/newest page of 50"));
    for &size in sizes {
        let owner = format!("user-with-{size}");
        let started = Instant::now();
        rt.block_on(put_many(&store, &owner, false, 0, size));
        eprintln!(
            "{name}: seeded {size} records in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let query = ListQuery::new(None, 50, None);
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                let page = rt.block_on(store.list_predictions(&owner, &query)).unwrap();
                assert_eq!(page.records.len(), 50.min(usize::try_from(size).unwrap()));
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("{name}/put"));
    group.throughput(Throughput::Elements(1));
    let mut next = 10_000_000;
    group.bench_function("1 writer", |b| {
        b.iter(|| {
            next += 1;
            rt.block_on(store.put_prediction(&common::record("writer", next, "setosa")))
                .unwrap()
        });
    });
    group.bench_function(format!("{WRITERS} writers, one user each"), |b| {
        b.iter_custom(|iters| {
            let count = iters.max(WRITERS);
            next += count;
            let started = Instant::now();
            rt.block_on(put_many(&store, "writer", true, next, count));
            started.elapsed()
        });
    });
    group.finish();
}

fn store(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(
        rt.block_on(SqliteStore::open(&dir.path().join("bench.db")))
            .unwrap(),
    );
    let sqlite_sizes = sizes("SEPAL_BENCH_SQLITE_SIZES", "100,10000,1000000");
    bench_backend(c, &rt, "sqlite", sqlite, &sqlite_sizes);

    if std::env::var_os("SEPAL_TEST_DYNAMODB").is_none() {
        eprintln!(
            "dynamodb: not measured (SEPAL_TEST_DYNAMODB is not set; `make store-bench` sets it)"
        );
        return;
    }
    let dynamo = rt.block_on(async {
        let store =
            common::dynamo_at(&common::dynamodb_url(), &format!("bench-{}", Ulid::new())).await;
        store.create_table().await.unwrap();
        store
    });
    let dynamo_sizes = sizes("SEPAL_BENCH_DYNAMODB_SIZES", "100,10000");
    bench_backend(c, &rt, "dynamodb", Arc::new(dynamo), &dynamo_sizes);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = store
}
criterion_main!(benches);
