//! The model as the server runs it: parity with scikit-learn on every
//! sample, a second model served by the same code, clear start-up errors,
//! and model folders made and checked by `sepal model init` and `check`.

// A test should stop at the first unexpected error.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, fs, path::Path};

use crate::common;

use app::model::{Features, Manifest, Metrics, Predictor, Task};
use serde::Deserialize;
use serde_json::Value;
use server::{
    inference::{Model, ModelError, hex_sha256},
    model_folder::{self, Init},
};

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

const IRIS_COLUMNS: [&str; 4] = [
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
];

fn init_error(args: &Init<'_>) -> String {
    match model_folder::init(args) {
        Ok(summary) => panic!("init succeeded where it should not: {summary}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn model_init_writes_a_folder_the_server_loads_and_check_runs_the_data() {
    let work = tempfile::tempdir().unwrap();
    let onnx = model_dir("suite").join("iris_svc_zipmap/model.onnx");
    let csv = common::suite_csv("iris_svc_zipmap", work.path(), &IRIS_COLUMNS, Some("class"));
    let out = work.path().join("iris-svc");
    let summary = model_folder::init(&Init {
        onnx: &onnx,
        data: &csv,
        target: Some("class"),
        name: "iris-svc",
        version: "2.0.0",
        out: &out,
    })
    .unwrap();
    assert!(
        summary.contains("4 features, 3 classes, accuracy 100.0 % on the 32 rows"),
        "{summary}"
    );

    let model = Model::load(&out).unwrap();
    let manifest = model.manifest();
    let keys: Vec<&str> = manifest.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        keys,
        [
            "sepal_length_cm",
            "sepal_width_cm",
            "petal_length_cm",
            "petal_width_cm"
        ]
    );
    let classes: Vec<&str> = manifest.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(classes, ["setosa", "versicolor", "virginica"]);
    assert_eq!(manifest.onnx.label.as_deref(), Some("output_label"));
    assert_eq!(manifest.onnx.output, "output_probability");
    assert_eq!(manifest.examples.len(), 3);
    let Some(Metrics::Classification(metrics)) = &manifest.metrics else {
        panic!("no accuracy: {:?}", manifest.metrics);
    };
    assert_eq!((metrics.test_accuracy, metrics.test_samples), (1.0, 32));
    // The header's units are the features' units.
    assert!(
        manifest.features.iter().all(|f| f.unit == "cm"),
        "{:?}",
        manifest.features
    );
    for feature in &manifest.features {
        assert!(
            feature.min <= feature.typical_min && feature.typical_max <= feature.max,
            "{feature:?}"
        );
    }
    // The example of each class is predicted as that class.
    for example in &manifest.examples {
        let input = example
            .values
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(*v)))
            .collect();
        let row = manifest.validate(&input).unwrap();
        let predictions = model.predict(&[row]).unwrap();
        let class = manifest
            .class_of(predictions.iter().next().unwrap())
            .unwrap();
        assert_eq!(Some(&class.name), example.class.as_ref());
    }

    let report = model_folder::check(&out, Some((&csv, Some("class")))).unwrap();
    assert!(
        report.contains("iris-svc 2.0.0 loads: 4 features, 3 classes"),
        "{report}"
    );
    assert!(report.contains("32 of 32 rows"), "{report}");
    assert!(report.contains("accuracy 100.0 %"), "{report}");

    // A second init never overwrites a folder.
    let again = init_error(&Init {
        onnx: &onnx,
        data: &csv,
        target: Some("class"),
        name: "x",
        version: "1",
        out: &out,
    });
    assert!(again.contains("already holds a manifest.json"), "{again}");
}

#[test]
fn model_init_takes_classes_from_int64_labels_and_runs_without_a_target() {
    let work = tempfile::tempdir().unwrap();
    let onnx = model_dir("suite").join("binary_random_forest_plain/model.onnx");
    let columns: Vec<String> = (1..=30).map(|i| format!("measurement {i}")).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let csv = common::suite_csv("binary_random_forest_plain", work.path(), &columns, None);
    let out = work.path().join("cancer");
    model_folder::init(&Init {
        onnx: &onnx,
        data: &csv,
        target: None,
        name: "cancer",
        version: "1",
        out: &out,
    })
    .unwrap();
    let model = Model::load(&out).unwrap();
    let classes: Vec<(&str, &str)> = model
        .manifest()
        .classes
        .iter()
        .map(|c| (c.name.as_str(), c.label.as_str()))
        .collect();
    assert_eq!(classes, [("0", "Class 0"), ("1", "Class 1")]);
    assert!(model.manifest().metrics.is_none());
    let report = model_folder::check(&out, Some((&csv, None))).unwrap();
    assert!(report.contains("32 of 32 rows"), "{report}");
}

#[test]
fn model_init_makes_a_regressor_folder_with_its_target() {
    let work = tempfile::tempdir().unwrap();
    let onnx = model_dir("suite").join("regression_gradient_boosting/model.onnx");
    let columns = [
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
    ];
    let target = "Disease progression (points)";
    let csv = common::suite_csv(
        "regression_gradient_boosting",
        work.path(),
        &columns,
        Some(target),
    );
    let out = work.path().join("diabetes");
    let summary = model_folder::init(&Init {
        onnx: &onnx,
        data: &csv,
        target: Some(target),
        name: "diabetes",
        version: "1",
        out: &out,
    })
    .unwrap();
    assert!(
        summary.contains("10 features, predicts Disease progression"),
        "{summary}"
    );

    let model = Model::load(&out).unwrap();
    let manifest = model.manifest();
    assert_eq!(manifest.task, Task::Regression);
    assert!(manifest.classes.is_empty());
    let target = manifest.target.as_ref().unwrap();
    assert_eq!(
        (target.label.as_str(), target.unit.as_str()),
        ("Disease progression", "points")
    );
    // The data's target here is onnxruntime's answers, so the range is
    // theirs and the model's error on them is nil.
    let expected: Value = serde_json::from_slice(
        &fs::read(model_dir("suite").join("regression_gradient_boosting/expected.json")).unwrap(),
    )
    .unwrap();
    let values: Vec<f64> = expected["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().or_else(|| v[0].as_f64()).unwrap())
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!((target.typical_min - low).abs() < 1e-3 && (target.typical_max - high).abs() < 1e-3);
    let Some(Metrics::Regression(metrics)) = &manifest.metrics else {
        panic!("no error figures: {:?}", manifest.metrics);
    };
    assert!(metrics.mae < 1e-3 && metrics.r2 > 0.999_99, "{metrics:?}");
    assert_eq!(metrics.test_samples, 32);

    // Examples at the low, middle and high end, predicted in that order.
    let labels: Vec<&str> = manifest.examples.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Low (10th percentile)", "Median", "High (90th percentile)"]
    );
    let predicted: Vec<f32> = manifest
        .examples
        .iter()
        .map(|example| {
            let input = example
                .values
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(*v)))
                .collect();
            let row = manifest.validate(&input).unwrap();
            model
                .predict(&[row])
                .unwrap()
                .iter()
                .next()
                .unwrap()
                .value()
        })
        .collect();
    assert!(
        predicted[0] < predicted[1] && predicted[1] < predicted[2],
        "{predicted:?}"
    );
    // The plot: a feature against the target, every row of the data.
    assert_eq!(manifest.plot.y, "target");
    assert!(manifest.feature(&manifest.plot.x).is_some());
    assert_eq!(manifest.plot.points.len(), 32);
    assert!(manifest.plot.points.iter().all(|p| p.class().is_none()));

    let report =
        model_folder::check(&out, Some((&csv, Some("Disease progression (points)")))).unwrap();
    assert!(
        report.contains("loads: 10 features, predicts Disease progression"),
        "{report}"
    );
    assert!(report.contains("R² 1 (32 rows that passed)"), "{report}");
}

#[test]
fn model_init_refuses_what_it_cannot_serve_and_says_why() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let iris_onnx = model_dir("suite").join("iris_random_forest_plain/model.onnx");
    let csv = common::suite_csv(
        "iris_random_forest_plain",
        work.path(),
        &IRIS_COLUMNS,
        Some("class"),
    );
    let init = |onnx: &Path, data: &Path, target: Option<&str>| {
        init_error(&Init {
            onnx,
            data,
            target,
            name: "m",
            version: "1",
            out: &out,
        })
    };

    let regressor = model_dir("suite").join("regression_ridge/model.onnx");
    let ten: Vec<String> = (0..10).map(|i| format!("x{i}")).collect();
    let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
    let regression_csv = work.path().join("regression.csv");
    fs::write(
        &regression_csv,
        format!("{},y\n{},high\n", ten.join(","), ["0.1"; 10].join(",")),
    )
    .unwrap();
    let message = init(&regressor, &regression_csv, Some("y"));
    assert!(
        message.contains("row 2 has the target `high`, not a number"),
        "{message}"
    );

    let message = init(&iris_onnx, &csv, Some("kind"));
    assert!(
        message.contains("has no column `kind` for --target"),
        "{message}"
    );

    // Without --target, the class column is read as a feature.
    let message = init(&iris_onnx, &csv, None);
    assert!(
        message.contains("in column `class`, not a number"),
        "{message}"
    );

    let narrow = work.path().join("narrow.csv");
    fs::write(&narrow, "a,b,c,class\n1,2,3,setosa\n").unwrap();
    let message = init(&iris_onnx, &narrow, Some("class"));
    assert!(message.contains("expected f32 [N, 3]"), "{message}");

    let other = work.path().join("other.csv");
    fs::write(&other, "a,b,c,d,class\n1,2,3,4,tulip\n").unwrap();
    let message = init(&iris_onnx, &other, Some("class"));
    assert!(
        message.contains("`tulip`, which is not one of the model's classes"),
        "{message}"
    );
    assert!(
        !out.join("manifest.json").exists(),
        "a refused init wrote a manifest"
    );
}

#[test]
fn the_committed_regression_folder_checks_against_its_data() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let report = model_folder::check(
        &models.join("diabetes"),
        Some((
            &models.join("diabetes.csv"),
            Some("Disease progression after one year"),
        )),
    )
    .unwrap();
    assert!(report.contains("442 of 442 rows"), "{report}");
    assert!(report.contains("R² 0.799"), "{report}");
}
