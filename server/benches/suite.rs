//! Every model of the conformance suite (`models/suite`) as Sepal runs it:
//! one row at a time, cycling through 1,000 rows made from the suite's 32
//! (`mixed`), and a batch of those 1,000 rows. `bench/suite.py` times
//! onnxruntime and the estimators themselves on the same rows, and `bench/report.py` puts the three side
//! by side (`make bench` runs all three).
//!
//! ZipMap exports are left out (the graph Sepal runs is the same as their
//! plain twin's), and so are the hand-made `synthetic_` ensembles.
//! `SUITE_FILTER=name` benches only the models whose name contains it.

use std::{fs, hint::black_box, path::PathBuf, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use server::inference::Graph;

/// The server's allocator (`src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Entry {
    name: String,
    graph: Graph,
    rows: Vec<Vec<f32>>,
}

fn entries() -> Vec<Entry> {
    let suite = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/suite");
    let filter = std::env::var("SUITE_FILTER").unwrap_or_default();
    let mut names: Vec<String> = fs::read_dir(&suite)
        .expect("models/suite is readable")
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .filter(|name| {
            !name.ends_with("_zipmap") && !name.starts_with("synthetic_") && name.contains(&filter)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let dir = suite.join(&name);
            let expected: Value = serde_json::from_slice(
                &fs::read(dir.join("expected.json")).expect("expected.json"),
            )
            .expect("expected.json is JSON");
            let outputs: Vec<&str> = expected["outputs"]
                .as_object()
                .expect("outputs")
                .values()
                .filter_map(Value::as_str)
                .collect();
            let rows: Vec<Vec<f32>> = expected["inputs"]
                .as_array()
                .expect("inputs")
                .iter()
                .map(|row| {
                    row.as_array()
                        .expect("a row")
                        .iter()
                        .map(|v| v.as_f64().map_or(f32::NAN, |v| v as f32))
                        .collect()
                })
                .collect();
            let bytes = fs::read(dir.join("model.onnx")).expect("model.onnx");
            let input = expected["input"].as_str().expect("input");
            let graph =
                Graph::load(&bytes, input, rows[0].len(), &outputs).expect("the model loads");
            Entry { name, graph, rows }
        })
        .collect()
}

/// 1,000 distinct rows from the suite's few: row `i` takes feature `j` from
/// row `(i + j·(⌊i/n⌋ + 1)) mod n` of the `n` (`bench/suite.py` makes the
/// same). Every value is one the model was checked on (a category stays a
/// category, a missing value stays missing), and no cycle repeats: on the
/// 32 rows cycled, a tree walk's branches were learnt by the CPU
/// (onnxruntime's 1,000-row batch of regression_xgboost took 442 µs cycled,
/// 1,423 µs on rows drawn from the training data, 1,498 µs on these).
fn mixed(rows: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let n = rows.len();
    (0..1000)
        .map(|i| {
            (0..rows[0].len())
                .map(|j| rows[(i + j * (i / n + 1)) % n][j])
                .collect()
        })
        .collect()
}

fn suite(c: &mut Criterion) {
    for entry in entries() {
        let mut group = c.benchmark_group(&entry.name);
        group
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        group.throughput(Throughput::Elements(1));
        let rows = mixed(&entry.rows);
        let mut next = rows.iter().cycle();
        group.bench_function("1 row", |b| {
            b.iter(|| {
                let row = next.next().expect("cycle never ends");
                entry
                    .graph
                    .run(black_box(std::iter::once(row.as_slice())))
                    .expect("prediction")
            });
        });
        let batch: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        group.throughput(Throughput::Elements(1000));
        group.bench_function("1000 rows", |b| {
            b.iter(|| {
                entry
                    .graph
                    .run(black_box(batch.iter().copied()))
                    .expect("prediction")
            });
        });
        group.finish();
    }
}

criterion_group!(benches, suite);
criterion_main!(benches);
