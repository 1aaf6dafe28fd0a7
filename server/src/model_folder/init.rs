//! `sepal model init`: a complete model folder from an ONNX classifier (as
//! skl2onnx or onnxmltools export it) and a CSV of the data it was trained
//! on. What the data says is written as such: hard bounds and typical
//! ranges from the columns' ranges, one example per class, plot points,
//! metrics on the data when it holds the target. Units, bounds and texts
//! are the owner's to edit; `sepal model check` re-checks the result.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use app::model::{ClassSpec, Manifest, OnnxFile};
use tract_onnx::prelude::*;

use super::{
    FolderError,
    data::Data,
    file_name,
    from_data::{examples, feature_specs, metrics, plot},
    names, normalized,
    onnx_file::{class_labels, classifier_outputs, single_input},
};
use crate::inference::{Model, hex_sha256};

/// What `sepal model init` is asked to make.
pub struct Init<'a> {
    pub onnx: &'a Path,
    pub data: &'a Path,
    pub target: Option<&'a str>,
    pub name: &'a str,
    pub version: &'a str,
    pub out: &'a Path,
}

/// Writes the folder and returns a summary for the terminal.
pub fn init(args: &Init<'_>) -> Result<String, FolderError> {
    let bytes = fs::read(args.onnx).map_err(|source| FolderError::Read {
        path: args.onnx.to_owned(),
        source,
    })?;
    let onnx_error = |detail: String| FolderError::Onnx {
        path: args.onnx.to_owned(),
        detail,
    };
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes.as_slice())
        .map_err(|e| onnx_error(format!("{e:#}")))?;
    let graph_proto = proto
        .graph
        .as_ref()
        .ok_or_else(|| onnx_error("holds no graph".to_owned()))?;
    let data = Data::read(args.data, args.target)?;
    let width = data.columns.len();
    let input = single_input(graph_proto).map_err(onnx_error)?;
    let outputs = classifier_outputs(&bytes, &input, width, graph_proto).map_err(onnx_error)?;

    // Class names: the model's own labels, else the target's values.
    let labels = class_labels(graph_proto);
    let class_names: Vec<String> = match (labels, &data.target) {
        (Some(labels), _) => labels,
        (None, Some(target)) => {
            let mut values: Vec<String> = target.iter().map(|t| normalized(t)).collect();
            values.sort();
            values.dedup();
            values
        }
        (None, None) => {
            return Err(onnx_error(
                "names no class labels; pass --target with the column that holds them".to_owned(),
            ));
        }
    };
    if class_names.len() != outputs.classes {
        return Err(onnx_error(format!(
            "answers {} probabilities per row for {} classes ({})",
            outputs.classes,
            class_names.len(),
            class_names.join(", ")
        )));
    }

    let truth = match &data.target {
        None => None,
        Some(target) => {
            Some(
                true_classes(target, &class_names).map_err(|detail| FolderError::Data {
                    path: data.path.clone(),
                    detail,
                })?,
            )
        }
    };

    let features = feature_specs(&data);
    let classes: Vec<ClassSpec> = class_names
        .iter()
        .map(|name| ClassSpec {
            name: name.clone(),
            label: names::class_label(name),
        })
        .collect();
    let manifest = Manifest {
        name: args.name.to_owned(),
        version: args.version.to_owned(),
        title: names::title(args.name),
        description: format!(
            "Predicts one of {} classes ({}) from {} features. Written by `sepal model init` \
             from {} and {}: edit this description, the units and the bounds.",
            classes.len(),
            class_names.join(", "),
            width,
            file_name(args.onnx),
            file_name(args.data)
        ),
        onnx: OnnxFile {
            file: "model.onnx".to_owned(),
            sha256: hex_sha256(&bytes),
            input,
            output: outputs.probabilities,
            label: outputs.label,
        },
        // Filled in below from the model's answers, as the server gets them.
        examples: Vec::new(),
        plot: plot(&data, &features, &[]),
        metrics: None,
        training: BTreeMap::from([
            (
                "data".to_owned(),
                format!("{} ({} rows)", file_name(args.data), data.rows.len()),
            ),
            (
                "export".to_owned(),
                format!(
                    "{} ({} {})",
                    file_name(args.onnx),
                    proto.producer_name,
                    proto.producer_version
                ),
            ),
            (
                "folder".to_owned(),
                "written by sepal model init".to_owned(),
            ),
        ]),
        features,
        classes,
    };

    let mut manifest = manifest;
    write(args.out, &bytes, &manifest, false)?;
    let predicted = answers(args.out, &manifest, &data)?;
    manifest.examples = examples(
        &data,
        &manifest.features,
        &manifest.classes,
        &predicted,
        truth.as_deref(),
    );
    manifest.plot = plot(
        &data,
        &manifest.features,
        truth.as_deref().unwrap_or(&predicted),
    );
    manifest.metrics = truth
        .as_deref()
        .map(|truth| metrics(truth, &predicted, manifest.classes.len(), &data));
    // The model was loaded as the server loads it, in `answers`; of what
    // was filled in since, the server checks the plot's points.
    if let Some(detail) = manifest.inconsistency() {
        return Err(FolderError::Data {
            path: args.out.join("manifest.json"),
            detail,
        });
    }
    write(args.out, &bytes, &manifest, true)?;
    Ok(summary(args.out, &manifest))
}

/// The class the served model picks for each row of the data, run as the
/// server runs it (validated against the manifest, the model's own label
/// when it has one).
fn answers(out: &Path, manifest: &Manifest, data: &Data) -> Result<Vec<usize>, FolderError> {
    let model = Model::load(out)?;
    let rows = data
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let input = manifest
                .features
                .iter()
                .zip(row)
                .map(|(f, v)| (f.name.clone(), serde_json::Value::from(*v)))
                .collect();
            manifest.validate(&input).map_err(|e| FolderError::Data {
                path: data.path.clone(),
                detail: format!("row {} is refused by the bounds written: {e}", i + 2),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let predictions = model.predict(&rows)?;
    Ok(predictions.iter().map(|p| p.class_index()).collect())
}

/// Each row's class index, from the target column.
fn true_classes(target: &[String], classes: &[String]) -> Result<Vec<usize>, String> {
    target
        .iter()
        .enumerate()
        .map(|(row, value)| {
            let name = normalized(value);
            classes.iter().position(|c| *c == name).ok_or_else(|| {
                format!(
                    "row {} has the target `{value}`, which is not one of the model's classes ({})",
                    row + 2,
                    classes.join(", ")
                )
            })
        })
        .collect()
}

/// Writes the folder; `again` replaces the manifest this run wrote.
fn write(out: &Path, onnx: &[u8], manifest: &Manifest, again: bool) -> Result<(), FolderError> {
    let write_error = |path: PathBuf| move |source| FolderError::Write { path, source };
    let manifest_path = out.join("manifest.json");
    if !again && manifest_path.exists() {
        return Err(FolderError::Exists(out.to_owned()));
    }
    fs::create_dir_all(out).map_err(write_error(out.to_owned()))?;
    fs::write(out.join("model.onnx"), onnx).map_err(write_error(out.join("model.onnx")))?;
    let mut text = serde_json::to_string_pretty(manifest).map_err(|e| FolderError::Data {
        path: manifest_path.clone(),
        detail: e.to_string(),
    })?;
    text.push('\n');
    fs::write(&manifest_path, text).map_err(write_error(manifest_path.clone()))
}

fn summary(out: &Path, manifest: &Manifest) -> String {
    let accuracy = manifest.metrics.as_ref().map_or(String::new(), |m| {
        format!(
            ", accuracy {:.1} % on the {} rows of the data",
            100.0 * m.test_accuracy,
            m.test_samples
        )
    });
    format!(
        "wrote {}: {} features, {} classes{accuracy}.\n\
         Next: set each feature's unit and check its bounds in manifest.json (they come from the \
         data), then `sepal model check {}` and serve it with SEPAL_MODEL_DIR={}",
        out.display(),
        manifest.features.len(),
        manifest.classes.len(),
        out.display(),
        out.display()
    )
}
