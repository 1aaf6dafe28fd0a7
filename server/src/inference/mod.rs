//! Runs a model folder's ONNX classifier or regressor with tract.
//!
//! The folder is checked once at start (manifest, sha256, tensor names and
//! shapes) and the graph made runnable (`graph`), with the operators of
//! scikit-learn, XGBoost and LightGBM exports that tract lacks (`ops`).
//! Plans are immutable and shared by every request without a lock.

mod graph;
pub mod ops;

use std::{
    fmt::Write as _,
    io,
    num::NonZeroUsize,
    path::{Path, PathBuf},
};

use app::model::{Features, Manifest, Predictions, Task};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

pub use graph::{Graph, GraphError};

/// Why a model folder cannot be served, or a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source} (set SEPAL_MODEL_DIR to a model folder)")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid model manifest: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{path} has sha256 {actual} but its manifest says {expected}: the file was changed \
         or belongs to another export; re-run `make model`"
    )]
    HashMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path} is not a model tract can run: {detail}")]
    Onnx { path: PathBuf, detail: String },
    #[error("{path} does not match its manifest: {detail}")]
    Mismatch { path: PathBuf, detail: String },
    #[error("the model failed to run: {0}")]
    Run(String),
}

/// A loaded, checked, optimized model and its manifest.
pub struct Model {
    manifest: Manifest,
    /// Values per row of the answer: one per class, or one.
    width: NonZeroUsize,
    graph: Graph,
    /// How a label output's values map to the manifest's classes, when the
    /// manifest names a label output.
    labels: Option<Labels>,
}

/// The manifest's class names as the model's labels: text, or int64 labels
/// written as numbers.
enum Labels {
    Text(Vec<String>),
    Numbers(Vec<i64>),
}

impl Model {
    /// Loads the model folder `dir`: `manifest.json` and the ONNX file it names.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let manifest_path = dir.join("manifest.json");
        let manifest: Manifest =
            serde_json::from_slice(&read(&manifest_path)?).map_err(|source| {
                ModelError::Manifest {
                    path: manifest_path,
                    source,
                }
            })?;

        let path = dir.join(&manifest.onnx.file);
        let bytes = read(&path)?;
        let actual = hex_sha256(&bytes);
        if !actual.eq_ignore_ascii_case(&manifest.onnx.sha256) {
            return Err(ModelError::HashMismatch {
                path,
                expected: manifest.onnx.sha256.clone(),
                actual,
            });
        }
        let mismatch = |detail: String| ModelError::Mismatch {
            path: path.clone(),
            detail,
        };
        let width = match manifest.task {
            Task::Classification => manifest.classes.len(),
            Task::Regression => 1,
        };
        let width = NonZeroUsize::new(width)
            .ok_or_else(|| mismatch("the manifest lists no classes".to_owned()))?;
        let mut outputs = vec![manifest.onnx.output.as_str()];
        outputs.extend(manifest.onnx.label.as_deref());
        let graph = Graph::load(
            &bytes,
            &manifest.onnx.input,
            manifest.features.len(),
            &outputs,
        )
        .map_err(|e| match e {
            GraphError::Onnx(detail) => ModelError::Onnx {
                path: path.clone(),
                detail,
            },
            GraphError::Mismatch(detail) => mismatch(detail),
        })?;
        let facts = graph.output_facts().map_err(|e| mismatch(e.to_string()))?;
        check_answers(&facts[0], manifest.task, width.get()).map_err(mismatch)?;
        let labels = match facts.get(1) {
            None => None,
            Some(fact) => Some(Labels::of(fact, &manifest).map_err(mismatch)?),
        };
        if let Some(detail) = manifest.inconsistency() {
            return Err(mismatch(detail));
        }

        Ok(Model {
            manifest,
            width,
            graph,
            labels,
        })
    }

    /// Each row's class probabilities, or value, in one run of the model.
    pub fn predict(&self, rows: &[Features]) -> Result<Predictions, ModelError> {
        if rows.is_empty() {
            return Ok(Predictions::new(Vec::new(), self.width));
        }
        let run_error = |e: TractError| ModelError::Run(format!("{e:#}"));
        // `Features` come from a manifest's validation; the graph refuses
        // another model's, whose rows have another width.
        let outputs = self
            .graph
            .run(rows.iter().map(Features::values))
            .map_err(run_error)?;
        let answers = outputs[0]
            .try_as_plain_ram()
            .and_then(|plain| plain.as_slice::<f32>().map(<[f32]>::to_vec))
            .map_err(run_error)?;
        match (&self.labels, outputs.get(1)) {
            (Some(labels), Some(answered)) => {
                let picked = labels.classes_of(answered).map_err(ModelError::Run)?;
                Ok(Predictions::with_picked(answers, self.width, picked))
            }
            _ => Ok(Predictions::new(answers, self.width)),
        }
    }
}

impl Labels {
    /// The manifest's class names as labels of the output's type.
    fn of(fact: &TypedFact, manifest: &Manifest) -> Result<Self, String> {
        let names = manifest.classes.iter().map(|c| c.name.as_str());
        if fact.rank() != 1 {
            return Err(format!("the label output is {fact:?}, expected [N]"));
        }
        if fact.datum_type == String::datum_type() {
            Ok(Labels::Text(names.map(str::to_owned).collect()))
        } else if fact.datum_type == i64::datum_type() || fact.datum_type == TDim::datum_type() {
            names
                .map(|name| {
                    name.parse().map_err(|_| {
                        format!(
                            "the model's labels are numbers, and the class name `{name}` is not one"
                        )
                    })
                })
                .collect::<Result<_, _>>()
                .map(Labels::Numbers)
        } else {
            Err(format!(
                "the label output is {fact:?}, expected int64 or text labels"
            ))
        }
    }

    /// The manifest's class index of each label in `answered`.
    fn classes_of(&self, answered: &Tensor) -> Result<Vec<usize>, String> {
        fn positions<T: PartialEq + std::fmt::Debug>(
            known: &[T],
            answered: &[T],
        ) -> Result<Vec<usize>, String> {
            answered
                .iter()
                .map(|label| {
                    known.iter().position(|k| k == label).ok_or_else(|| {
                        format!("the model answered the label {label:?}, which the manifest does not list")
                    })
                })
                .collect()
        }
        let error = |e: TractError| e.to_string();
        match self {
            Labels::Text(known) => {
                let plain = answered.try_as_plain_ram().map_err(error)?;
                positions(known, plain.as_slice::<String>().map_err(error)?)
            }
            Labels::Numbers(known) => {
                // tract may carry int64 labels as its symbolic integers (TDim).
                let numbers = answered.cast_to::<i64>().map_err(error)?;
                let plain = numbers.try_as_plain_ram().map_err(error)?;
                positions(known, plain.as_slice::<i64>().map_err(error)?)
            }
        }
    }
}

impl app::model::Predictor for Model {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn predict(&self, rows: &[Features]) -> Result<Predictions, app::model::ModelFailed> {
        Model::predict(self, rows)
            .map_err(|err| app::model::ModelFailed(format!("{}: {err}", self.manifest.name)))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| ModelError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The lowercase hex SHA-256 of `bytes`, as manifests record it.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Checks that the answers are f32 probabilities `[N, classes]`, or a
/// regressor's values `[N, 1]` or `[N]`.
fn check_answers(fact: &TypedFact, task: Task, width: usize) -> Result<(), String> {
    let columns = match fact.rank() {
        1 if task == Task::Regression => Some(1),
        2 => fact.shape[1].as_i64().and_then(|n| usize::try_from(n).ok()),
        _ => None,
    };
    if fact.datum_type == f32::datum_type() && columns == Some(width) {
        return Ok(());
    }
    Err(match task {
        Task::Classification => format!(
            "output is {:?} {:?}, manifest needs f32 probabilities [N, {width}]",
            fact.datum_type, fact.shape
        ),
        Task::Regression => format!(
            "output is {:?} {:?}, a regressor's manifest needs f32 values [N, 1] or [N]",
            fact.datum_type, fact.shape
        ),
    })
}
