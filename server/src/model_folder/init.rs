//! `sepal model init`: a complete model folder from an ONNX classifier or
//! regressor (as skl2onnx or onnxmltools export it) and a CSV of the data it
//! was trained on. What the data says is written as such: hard bounds and
//! typical ranges from the columns' ranges, examples, plot points, metrics
//! on the data when it holds the target. Units, bounds and texts are the
//! owner's to edit; `sepal model check` re-checks the result.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use app::model::{Manifest, Metrics, OnnxFile, Plot, Predictions, Task};
use tract_onnx::prelude::*;

use super::{
    FolderError, classifier,
    data::Data,
    file_name,
    from_data::feature_specs,
    names,
    onnx_file::{Answers, single_input},
    regressor,
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
    let proto = onnx()
        .proto_model_for_read(&mut bytes.as_slice())
        .map_err(|e| onnx_error(format!("{e:#}")))?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| onnx_error("holds no graph".to_owned()))?;
    let data = Data::read(args.data, args.target)?;
    let input = single_input(graph).map_err(onnx_error)?;
    let answers = super::onnx_file::answer_outputs(&bytes, &input, data.columns.len(), graph)
        .map_err(onnx_error)?;

    let features = feature_specs(&data);
    let (output, label, task) = match &answers {
        Answers::Classifier {
            probabilities,
            label,
            ..
        } => (probabilities.clone(), label.clone(), Task::Classification),
        Answers::Regressor { values } => (values.clone(), None, Task::Regression),
    };
    let manifest = Manifest {
        name: args.name.to_owned(),
        version: args.version.to_owned(),
        title: names::title(args.name),
        description: String::new(),
        onnx: OnnxFile {
            file: "model.onnx".to_owned(),
            sha256: hex_sha256(&bytes),
            input,
            output,
            label,
        },
        task,
        classes: Vec::new(),
        target: None,
        // Examples, plot points and metrics come from the model's answers,
        // as the server gets them, once the folder loads.
        examples: Vec::new(),
        plot: Plot {
            x: features[0].name.clone(),
            y: features[usize::from(features.len() > 1)].name.clone(),
            points: Vec::new(),
        },
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
    };
    let made_from = format!(
        "Written by `sepal model init` from {} and {}: edit this description, the units and \
         the bounds.",
        file_name(args.onnx),
        file_name(args.data)
    );
    let folder = Folder {
        out: args.out,
        source: args.onnx,
        onnx: &bytes,
    };
    let manifest = match answers {
        Answers::Classifier { classes, .. } => {
            classifier::complete(manifest, classes, graph, &data, &made_from, &folder)?
        }
        Answers::Regressor { .. } => {
            regressor::complete(manifest, &data, args.target, &made_from, &folder)?
        }
    };
    // The model was loaded as the server loads it, in `Folder::served`; of
    // what was filled in since, the server checks the plot.
    if let Some(detail) = manifest.inconsistency() {
        return Err(FolderError::Data {
            path: args.out.join("manifest.json"),
            detail,
        });
    }
    folder.write(&manifest, true)?;
    Ok(summary(args.out, &manifest))
}

/// The folder being written: where, and the ONNX file it is made from.
pub struct Folder<'a> {
    out: &'a Path,
    /// The ONNX file given, for messages.
    pub source: &'a Path,
    onnx: &'a [u8],
}

impl Folder<'_> {
    /// Writes the folder; `again` replaces the manifest this run wrote.
    fn write(&self, manifest: &Manifest, again: bool) -> Result<(), FolderError> {
        let out = self.out;
        let write_error = |path: PathBuf| move |source| FolderError::Write { path, source };
        let manifest_path = out.join("manifest.json");
        if !again && manifest_path.exists() {
            return Err(FolderError::Exists(out.to_owned()));
        }
        fs::create_dir_all(out).map_err(write_error(out.to_owned()))?;
        fs::write(out.join("model.onnx"), self.onnx)
            .map_err(write_error(out.join("model.onnx")))?;
        let mut text = serde_json::to_string_pretty(manifest).map_err(|e| FolderError::Data {
            path: manifest_path.clone(),
            detail: e.to_string(),
        })?;
        text.push('\n');
        fs::write(&manifest_path, text).map_err(write_error(manifest_path.clone()))
    }

    /// Writes the folder with `manifest`, loads it as the server does and
    /// returns the model's answer for each row of the data (validated
    /// against the manifest, a classifier's own label when it has one).
    pub fn served(&self, manifest: &Manifest, data: &Data) -> Result<Predictions, FolderError> {
        self.write(manifest, false)?;
        let model = Model::load(self.out)?;
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
        Ok(model.predict(&rows)?)
    }
}

fn summary(out: &Path, manifest: &Manifest) -> String {
    let answers = super::answers(manifest);
    let quality = match &manifest.metrics {
        None => String::new(),
        Some(Metrics::Classification(m)) => format!(
            ", accuracy {:.1} % on the {} rows of the data",
            100.0 * m.test_accuracy,
            m.test_samples
        ),
        Some(Metrics::Regression(m)) => format!(
            ", mean absolute error {:.4}, R² {:.3} on the {} rows of the data",
            m.mae, m.r2, m.test_samples
        ),
    };
    format!(
        "wrote {}: {} features, {answers}{quality}.\n\
         Next: check each feature's unit and bounds in manifest.json (they come from the data), \
         then `sepal model check {}` and serve it with SEPAL_MODEL_DIR={}",
        out.display(),
        manifest.features.len(),
        out.display(),
        out.display()
    )
}
