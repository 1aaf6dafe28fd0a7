//! Inference with tract, as requests run it: one row, and a batch of 1,000.
//! Every iteration really runs the model (no caching of results); rows cycle
//! through the samples of the model's `reference.json` (150 for iris).
//!
//! Run: `make bench`. To benchmark another model folder, set SEPAL_MODEL_DIR
//! to its absolute path (cargo runs benches from `server/`).

use std::{collections::BTreeMap, hint::black_box, path::PathBuf};

use app::model::{Features, Predictor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use server::inference::Model;

/// The server's allocator (`src/main.rs`): tract allocates aligned buffers on
/// every run, which glibc's malloc serves much more slowly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn model_dir() -> PathBuf {
    std::env::var_os("SEPAL_MODEL_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/iris"),
        PathBuf::from,
    )
}

/// The samples of the model folder's `reference.json`, validated as requests are.
fn samples(model: &Model) -> Vec<Features> {
    let path = model_dir().join("reference.json");
    let text = std::fs::read_to_string(&path).expect("reference.json is readable");
    let reference: Value = serde_json::from_str(&text).expect("reference.json is JSON");
    let manifest = model.manifest();
    reference["inputs"]
        .as_array()
        .expect("inputs is an array")
        .iter()
        .map(|row| {
            let input: BTreeMap<String, Value> = manifest
                .features
                .iter()
                .zip(row.as_array().expect("a row is an array"))
                .map(|(f, v)| (f.name.clone(), v.clone()))
                .collect();
            manifest.validate(&input).expect("reference rows are valid")
        })
        .collect()
}

fn inference(c: &mut Criterion) {
    let model = Model::load(&model_dir()).expect("the model loads");
    let samples = samples(&model);

    let mut group = c.benchmark_group("predict");
    group.throughput(Throughput::Elements(1));
    let mut next = samples.iter().cycle();
    group.bench_function("1 row", |b| {
        b.iter(|| {
            let row = next.next().expect("cycle never ends");
            model
                .predict(black_box(std::slice::from_ref(row)))
                .expect("prediction")
        });
    });

    let batch: Vec<Features> = samples.iter().cycle().take(1000).cloned().collect();
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000 rows", |b| {
        b.iter(|| model.predict(black_box(&batch)).expect("prediction"));
    });
    group.finish();
}

criterion_group!(benches, inference);
criterion_main!(benches);
