//! The model as the server runs it: parity with scikit-learn on every
//! sample, a second model served by the same code, and clear start-up errors.

// A test should stop at the first unexpected error.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, fs, path::Path};

use app::model::{Features, Manifest, Predictor};
use serde::Deserialize;
use serde_json::Value;
use server::inference::{Model, ModelError, hex_sha256};

fn model_dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name)
}

/// `reference.json`: scikit-learn's output for every sample of the data set.
#[derive(Deserialize)]
struct Reference {
    inputs: Vec<Vec<f64>>,
    probabilities: Vec<Vec<f64>>,
    labels: Vec<String>,
}

fn rows(manifest: &Manifest, inputs: &[Vec<f64>]) -> Vec<Features> {
    inputs
        .iter()
        .map(|values| {
            let input: BTreeMap<String, Value> = manifest
                .features
                .iter()
                .zip(values)
                .map(|(f, v)| (f.name.clone(), Value::from(*v)))
                .collect();
            manifest.validate(&input).unwrap()
        })
        .collect()
}

fn assert_parity(name: &str, expected_samples: usize) {
    let model = Model::load(&model_dir(name)).unwrap();
    let reference: Reference =
        serde_json::from_slice(&fs::read(model_dir(name).join("reference.json")).unwrap()).unwrap();
    assert_eq!(reference.inputs.len(), expected_samples);
    let rows = rows(model.manifest(), &reference.inputs);

    // All rows in one batch, and each row on its own (the one-row plan and
    // its per-thread state are another path, so both are checked).
    let answers = |predictions: &app::model::Predictions| -> Vec<(String, Vec<f32>)> {
        predictions
            .iter()
            .map(|p| {
                let class = model.manifest().class_of(p).unwrap().name.clone();
                (class, p.probabilities().to_vec())
            })
            .collect()
    };
    let batch = answers(&model.predict(&rows).unwrap());
    let single: Vec<_> = rows
        .iter()
        .flat_map(|r| answers(&model.predict(std::slice::from_ref(r)).unwrap()))
        .collect();
    for (how, predictions) in [("batch", batch), ("one by one", single)] {
        assert_eq!(predictions.len(), expected_samples);
        let mut worst = 0f64;
        for (i, (class, probabilities)) in predictions.iter().enumerate() {
            assert_eq!(*class, reference.labels[i], "{name} {how}, sample {i}");
            for (got, want) in probabilities.iter().zip(&reference.probabilities[i]) {
                worst = worst.max((f64::from(*got) - want).abs());
            }
        }
        assert!(
            worst <= 1e-5,
            "{name} {how}: largest difference from scikit-learn {worst:e}"
        );
        println!("{name} {how}: largest difference from scikit-learn {worst:e}");
    }
}

#[test]
fn iris_probabilities_match_scikit_learn_for_all_150_samples() {
    assert_parity("iris", 150);
}

#[test]
fn a_second_model_with_13_features_runs_on_the_same_code() {
    assert_parity("wine", 178);
}

#[test]
fn an_empty_batch_is_an_empty_answer() {
    let model = Model::load(&model_dir("iris")).unwrap();
    assert!(model.predict(&[]).unwrap().is_empty());
}

#[test]
fn one_thread_alternating_between_two_models_gets_each_models_answer() {
    // Single rows reuse a per-thread state; it must follow the model.
    let iris = Model::load(&model_dir("iris")).unwrap();
    let wine = Model::load(&model_dir("wine")).unwrap();
    let sample = |name: &str, model: &Model| {
        let reference: Reference =
            serde_json::from_slice(&fs::read(model_dir(name).join("reference.json")).unwrap())
                .unwrap();
        rows(model.manifest(), &reference.inputs[..1])
    };
    let (iris_row, wine_row) = (sample("iris", &iris), sample("wine", &wine));
    // What each model answers when the other has not run on this thread.
    let (iris_alone, wine_alone) = std::thread::scope(|s| {
        let iris = s.spawn(|| iris.predict(&iris_row).unwrap());
        let wine = s.spawn(|| wine.predict(&wine_row).unwrap());
        (iris.join().unwrap(), wine.join().unwrap())
    });
    for _ in 0..3 {
        assert_eq!(wine.predict(&wine_row).unwrap(), wine_alone);
        assert_eq!(iris.predict(&iris_row).unwrap(), iris_alone);
    }
}

#[test]
fn rows_validated_for_another_model_are_refused() {
    let iris = Model::load(&model_dir("iris")).unwrap();
    let wine = Model::load(&model_dir("wine")).unwrap();
    let reference: Reference =
        serde_json::from_slice(&fs::read(model_dir("wine").join("reference.json")).unwrap())
            .unwrap();
    let wine_rows = rows(wine.manifest(), &reference.inputs[..1]);
    assert!(matches!(iris.predict(&wine_rows), Err(ModelError::Run(_))));
}

/// A copy of the iris folder that a test may damage.
fn iris_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["manifest.json", "model.onnx"] {
        fs::copy(model_dir("iris").join(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
}

fn load_error(dir: &Path) -> String {
    match Model::load(dir) {
        Ok(_) => panic!("{} loaded, but should not have", dir.display()),
        Err(err) => err.to_string(),
    }
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let message = load_error(Path::new("/nonexistent/model"));
    assert!(
        message.contains("/nonexistent/model/manifest.json"),
        "{message}"
    );
    assert!(message.contains("SEPAL_MODEL_DIR"), "{message}");
}

#[test]
fn a_changed_onnx_file_fails_the_hash_check() {
    let dir = iris_copy();
    let path = dir.path().join("model.onnx");
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, bytes).unwrap();
    let message = load_error(dir.path());
    assert!(message.contains("sha256"), "{message}");
    assert!(message.contains("make model"), "{message}");
}

#[test]
fn a_corrupt_onnx_file_is_refused_even_with_a_matching_hash() {
    let dir = iris_copy();
    fs::write(dir.path().join("model.onnx"), b"not an onnx model").unwrap();
    edit_manifest(dir.path(), |m| {
        m["onnx"]["sha256"] = Value::from(hex_sha256(b"not an onnx model"));
    });
    let message = load_error(dir.path());
    assert!(
        message.contains("is not a model tract can run"),
        "{message}"
    );
}

#[test]
fn a_manifest_with_the_wrong_number_of_features_is_refused() {
    let dir = iris_copy();
    edit_manifest(dir.path(), |m| {
        m["features"].as_array_mut().unwrap().pop();
    });
    let message = load_error(dir.path());
    assert!(message.contains("does not match its manifest"), "{message}");
    assert!(message.contains("[N, 3]"), "{message}");
}

#[test]
fn a_manifest_with_the_wrong_number_of_classes_is_refused() {
    let dir = iris_copy();
    edit_manifest(dir.path(), |m| {
        m["classes"].as_array_mut().unwrap().pop();
    });
    let message = load_error(dir.path());
    assert!(message.contains("output is F32 N,3"), "{message}");
}

#[test]
fn a_manifest_plotting_an_unknown_feature_or_class_is_refused() {
    let dir = iris_copy();
    edit_manifest(dir.path(), |m| m["plot"]["y"] = Value::from("petal_area"));
    let message = load_error(dir.path());
    assert!(
        message.contains("`petal_area` is not a feature"),
        "{message}"
    );

    edit_manifest(dir.path(), |m| {
        m["plot"]["y"] = Value::from("petal_width");
        m["plot"]["points"][0][2] = Value::from(3);
    });
    let message = load_error(dir.path());
    assert!(message.contains("beyond the 3 listed"), "{message}");
}

#[test]
fn a_manifest_naming_another_tensor_is_refused() {
    let dir = iris_copy();
    edit_manifest(dir.path(), |m| m["onnx"]["output"] = Value::from("label"));
    let message = load_error(dir.path());
    assert!(
        message.contains("no output named `label` (outputs: probabilities)"),
        "{message}"
    );
}

#[test]
fn a_malformed_manifest_is_refused() {
    let dir = iris_copy();
    edit_manifest(dir.path(), |m| m["features"] = Value::from("four numbers"));
    let message = load_error(dir.path());
    assert!(
        message.contains("is not a valid model manifest"),
        "{message}"
    );
}
