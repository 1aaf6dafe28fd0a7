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

use app::model::{ClassSpec, Example, FeatureSpec, Manifest, Metrics, OnnxFile, Plot};
use tract_onnx::{pb, prelude::*};

use super::{FolderError, data::Data, names, normalized};
use crate::inference::{Graph, Model, hex_sha256};

/// At most this many rows of the data go into the plot.
const PLOT_POINTS: usize = 500;

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
    write(args.out, &bytes, &manifest, true)?;
    // The folder must serve as written: load it as the server would.
    Model::load(args.out)?;
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

/// The names of the classifier's outputs, and its class count.
struct Outputs {
    probabilities: String,
    label: Option<String>,
    classes: usize,
}

/// The graph's one input (initializers listed as inputs do not count).
fn single_input(graph: &pb::GraphProto) -> Result<String, String> {
    let initialized: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .filter(|name| !initialized.contains(name))
        .collect();
    match inputs[..] {
        [one] => Ok(one.to_owned()),
        _ => Err(format!(
            "has {} inputs ({}); Sepal serves models with one input of all features \
             (skl2onnx: pass one FloatTensorType of the full width)",
            inputs.len(),
            inputs.join(", ")
        )),
    }
}

/// Which output holds the probabilities and which the label: converters
/// write the label first; a hand-made graph may have probabilities only.
fn classifier_outputs(
    bytes: &[u8],
    input: &str,
    width: usize,
    proto: &pb::GraphProto,
) -> Result<Outputs, String> {
    let names: Vec<&str> = proto.output.iter().map(|o| o.name.as_str()).collect();
    let (probabilities, label) = match names[..] {
        [probabilities] => (probabilities, None),
        [label, probabilities] => (probabilities, Some(label)),
        _ => {
            return Err(format!(
                "has {} outputs ({}); expected a label and probabilities",
                names.len(),
                names.join(", ")
            ));
        }
    };
    let mut wanted = vec![probabilities];
    wanted.extend(label);
    let graph = Graph::load(bytes, input, width, &wanted).map_err(|e| e.to_string())?;
    let facts = graph.output_facts().map_err(|e| e.to_string())?;
    let columns = (facts[0].rank() == 2)
        .then(|| {
            facts[0].shape[1]
                .as_i64()
                .and_then(|c| usize::try_from(c).ok())
        })
        .flatten()
        .filter(|_| facts[0].datum_type == f32::datum_type());
    let classes = match columns {
        Some(c) if c >= 2 => c,
        Some(1) => {
            return Err(format!(
                "answers one value per row in `{probabilities}`: a regressor; Sepal serves classifiers \
                 (regression is planned)"
            ));
        }
        _ => {
            return Err(format!(
                "`{probabilities}` is {:?}, expected f32 probabilities [N, classes]",
                facts[0]
            ));
        }
    };
    Ok(Outputs {
        probabilities: probabilities.to_owned(),
        label: label.map(str::to_owned),
        classes,
    })
}

/// The class labels a classifier node (or ZipMap) of the graph lists.
fn class_labels(graph: &pb::GraphProto) -> Option<Vec<String>> {
    graph
        .node
        .iter()
        .flat_map(|n| &n.attribute)
        .find_map(|a| match a.name.as_str() {
            "classlabels_strings" => Some(
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            "classlabels_int64s" | "classlabels_ints" => {
                Some(a.ints.iter().map(i64::to_string).collect())
            }
            _ => None,
        })
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

/// One feature per column: hard bounds one range beyond the data's on each
/// side (not below zero for a column that never is), the data's range as
/// the typical one, a step as fine as the data's decimals.
fn feature_specs(data: &Data) -> Vec<FeatureSpec> {
    let keys = names::keys(&data.columns);
    data.columns
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(c, (column, name))| {
            let (low, high) = data
                .column(c)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(v), h.max(v))
                });
            let span = if high > low {
                high - low
            } else {
                high.abs().max(1.0)
            };
            let min = if low >= 0.0 {
                (low - span).max(0.0)
            } else {
                low - span
            };
            let decimals = data.column(c).map(decimals).max().unwrap_or(0);
            FeatureSpec {
                name,
                label: column.clone(),
                unit: String::new(),
                min: round_to(min, decimals),
                max: round_to(high + span, decimals),
                typical_min: low,
                typical_max: high,
                step: 10f64.powi(-(decimals as i32)),
            }
        })
        .collect()
}

/// How many decimals `v` needs (at most 6).
fn decimals(v: f64) -> u32 {
    (0..6)
        .find(|&d| {
            let scaled = v * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(6)
}

fn round_to(v: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (v * scale).round() / scale
}

/// Per class, the row nearest the mean of the rows the model puts in it
/// (and, with the target, that truly are of it).
fn examples(
    data: &Data,
    features: &[FeatureSpec],
    classes: &[ClassSpec],
    predicted: &[usize],
    truth: Option<&[usize]>,
) -> Vec<Example> {
    classes
        .iter()
        .enumerate()
        .filter_map(|(class, spec)| {
            let members: Vec<&Vec<f64>> = data
                .rows
                .iter()
                .enumerate()
                .filter(|&(i, _)| predicted[i] == class && truth.is_none_or(|t| t[i] == class))
                .map(|(_, row)| row)
                .collect();
            let first = members.first()?;
            let mean: Vec<f64> = (0..first.len())
                .map(|c| members.iter().map(|r| r[c]).sum::<f64>() / members.len() as f64)
                .collect();
            let distance = |row: &&Vec<f64>| -> f64 {
                row.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum()
            };
            let typical = members
                .iter()
                .min_by(|a, b| distance(a).total_cmp(&distance(b)))?;
            Some(Example {
                label: format!("Typical {}", spec.label),
                class: spec.name.clone(),
                values: features
                    .iter()
                    .map(|f| f.name.clone())
                    .zip(typical.iter().copied())
                    .collect(),
            })
        })
        .collect()
}

/// The data on its first two features (edit `plot.x` and `plot.y` to
/// choose others), at most `PLOT_POINTS` rows spread over the file.
fn plot(data: &Data, features: &[FeatureSpec], classes: &[usize]) -> Plot {
    let (x, y) = (0, usize::from(features.len() > 1));
    let every = data.rows.len().div_ceil(PLOT_POINTS);
    Plot {
        x: features[x].name.clone(),
        y: features[y].name.clone(),
        points: data
            .rows
            .iter()
            .zip(classes)
            .step_by(every)
            .map(|(row, &class)| (row[x] as f32, row[y] as f32, class))
            .collect(),
    }
}

/// Accuracy and confusion matrix of the model's answers on the data.
fn metrics(truth: &[usize], predicted: &[usize], classes: usize, data: &Data) -> Metrics {
    let mut confusion = vec![vec![0u32; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t][p] += 1;
    }
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    Metrics {
        test_accuracy: (correct as f64 / truth.len() as f64 * 1e4).round() / 1e4,
        train_samples: None,
        test_samples: u32::try_from(truth.len()).unwrap_or(u32::MAX),
        confusion_matrix: confusion,
        measured_on: Some(format!(
            "the rows of {}, which the model may have been trained on",
            file_name(&data.path)
        )),
    }
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

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
