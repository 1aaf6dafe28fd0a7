//! The conformance suite: every model in `models/suite` (the default exports
//! of scikit-learn, XGBoost and LightGBM estimators, and hand-made tree
//! ensembles for every node rule, post transform and aggregate, written by
//! `models/suite.py`) loads with Sepal's operators and answers what
//! onnxruntime answered: the same labels, probabilities within 1e-5 (other
//! scores and regression values within 1e-5 of their size). Each model runs
//! as a batch, row by row, and as a batch of 1,000 rows (split across
//! threads), since the server takes all three paths.

// A test should stop at the first unexpected error.
#![allow(clippy::unwrap_used)]

use std::{fs, path::Path};

use serde::Deserialize;
use serde_json::Value;
use server::inference::Graph;
use tract_onnx::prelude::*;

/// `expected.json`, as `models/suite.py` writes it.
#[derive(Deserialize)]
struct Expected {
    task: String,
    input: String,
    outputs: Outputs,
    /// Rows of features; `null` is a missing value.
    inputs: Vec<Vec<Option<f32>>>,
    #[serde(default)]
    labels: Vec<Value>,
    /// `null` where onnxruntime answered NaN (PROBIT of a raw score).
    #[serde(default)]
    probabilities: Vec<Vec<Option<f64>>>,
    /// A number per row, or a list of one per target.
    #[serde(default)]
    values: Vec<Value>,
}

#[derive(Deserialize)]
struct Outputs {
    label: Option<String>,
    probabilities: Option<String>,
    value: Option<String>,
}

/// How one model differs from onnxruntime, if it does.
fn check(dir: &Path) -> Result<String, String> {
    let expected: Expected =
        serde_json::from_slice(&fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let bytes = fs::read(dir.join("model.onnx")).unwrap();
    let rows: Vec<Vec<f32>> = expected
        .inputs
        .iter()
        .map(|row| row.iter().map(|v| v.unwrap_or(f32::NAN)).collect())
        .collect();
    let width = rows[0].len();
    let outputs: Vec<&str> = match expected.task.as_str() {
        "classification" => vec![
            expected.outputs.label.as_deref().unwrap(),
            expected.outputs.probabilities.as_deref().unwrap(),
        ],
        _ => vec![expected.outputs.value.as_deref().unwrap()],
    };
    let graph = Graph::load(&bytes, &expected.input, width, &outputs)
        .map_err(|e| format!("does not load: {e}"))?;

    let batch = graph
        .run(rows.iter().map(Vec::as_slice))
        .map_err(|e| format!("batch run failed: {e:#}"))?;
    let mut one_by_one: Vec<TVec<TValue>> = Vec::new();
    for row in &rows {
        one_by_one.push(
            graph
                .run(std::iter::once(row.as_slice()))
                .map_err(|e| format!("one-row run failed: {e:#}"))?,
        );
    }

    // A large batch is split across threads: the parts must come back in order.
    let thousand: Vec<&[f32]> = rows.iter().cycle().take(1000).map(Vec::as_slice).collect();
    let large = graph
        .run(thousand.iter().copied())
        .map_err(|e| format!("1,000-row run failed: {e:#}"))?;

    let mut worst = 0f64;
    for (how, answers, rows_per_answer) in [
        ("batch", vec![batch], rows.len()),
        ("one by one", one_by_one, 1),
        ("1,000 rows", vec![large], 1000),
    ] {
        for (a, answer) in answers.iter().enumerate() {
            for r in 0..rows_per_answer {
                let i = (a * rows_per_answer + r) % rows.len();
                if expected.task == "classification" {
                    let label = label(&answer[0], r);
                    let want = match &expected.labels[i] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if label != want {
                        return Err(format!("{how}, row {i}: label {label}, onnxruntime {want}"));
                    }
                    let got = row_of(&answer[1], r);
                    for (g, w) in got.iter().zip(&expected.probabilities[i]) {
                        if !close(*g, *w, &mut worst) {
                            return Err(format!(
                                "{how}, row {i}: probabilities {got:?}, onnxruntime {:?}",
                                expected.probabilities[i]
                            ));
                        }
                    }
                } else {
                    let got = row_of(&answer[0], r);
                    let want: Vec<Option<f64>> = match &expected.values[i] {
                        Value::Array(targets) => targets.iter().map(Value::as_f64).collect(),
                        value => vec![value.as_f64()],
                    };
                    if got.len() != want.len() {
                        return Err(format!("{how}, row {i}: {got:?}, onnxruntime {want:?}"));
                    }
                    for (g, w) in got.iter().zip(&want) {
                        if !close(*g, *w, &mut worst) {
                            return Err(format!(
                                "{how}, row {i}: values {got:?}, onnxruntime {want:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(format!("largest difference {worst:.1e}"))
}

/// Whether `got` is onnxruntime's `want` (None: NaN) within 1e-5, or 1e-5
/// of its size for scores and values beyond 1 (a linear SVM's scores, a
/// regression); keeps the largest difference in `worst`.
fn close(got: f32, want: Option<f64>, worst: &mut f64) -> bool {
    let Some(want) = want else {
        return got.is_nan();
    };
    let diff = (f64::from(got) - want).abs() / want.abs().max(1.0);
    *worst = worst.max(diff);
    diff <= 1e-5
}

fn label(labels: &Tensor, row: usize) -> String {
    if labels.datum_type() == String::datum_type() {
        return labels
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<String>()
            .unwrap()[row]
            .clone();
    }
    // tract may carry int64 labels as its symbolic integers (TDim).
    let ints = labels.cast_to::<i64>().unwrap();
    ints.try_as_plain_ram().unwrap().as_slice::<i64>().unwrap()[row].to_string()
}

fn row_of(tensor: &Tensor, row: usize) -> Vec<f32> {
    let columns = tensor.shape().get(1).copied().unwrap_or(1);
    let values = tensor
        .try_as_plain_ram()
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec();
    values[row * columns..(row + 1) * columns].to_vec()
}

#[test]
fn every_model_of_the_suite_matches_onnxruntime() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/suite");
    let mut dirs: Vec<_> = fs::read_dir(&suite)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("expected.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 85, "the suite has {} models", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        match check(dir) {
            Ok(summary) => println!("{name}: {summary}"),
            Err(problem) => {
                println!("{name}: FAILED: {problem}");
                failures.push(format!("{name}: {problem}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} models differ from onnxruntime:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
