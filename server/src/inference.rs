//! Runs a model folder's ONNX classifier with tract.
//!
//! The folder is checked once at start (manifest, sha256, tensor names and
//! shapes) and the graph optimized into one runnable plan. The plan is
//! immutable and shared by every request without a lock: each run gets its
//! own scratch state.

use std::{
    fmt::Write as _,
    io,
    path::{Path, PathBuf},
    sync::Arc,
};

use app::model::{Features, Manifest, Prediction};
use sha2::{Digest, Sha256};
use tract_onnx::{prelude::*, tract_hir::infer::Factoid};

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
    plan: Arc<TypedRunnableModel>,
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

        let onnx_error = |e: TractError| ModelError::Onnx {
            path: path.clone(),
            detail: format!("{e:#}"),
        };
        let mismatch = |detail: String| ModelError::Mismatch {
            path: path.clone(),
            detail,
        };
        let model = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .map_err(onnx_error)?;
        // Exports may leave the batch size (skl2onnx: even its name) open;
        // tract needs it named. What the input does declare must agree with
        // the manifest: f32, `[N, features]`.
        let width = manifest.features.len();
        let input = model.input_fact(0).map_err(onnx_error)?;
        let datum_type = input.datum_type.concretize();
        let rank = input.shape.rank().concretize();
        let columns = input.shape.dims().nth(1).and_then(|d| d.concretize());
        if datum_type.is_some_and(|t| t != f32::datum_type())
            || rank.is_some_and(|r| r != 2)
            || columns.is_some_and(|c| c.to_i64().ok() != i64::try_from(width).ok())
        {
            return Err(mismatch(format!(
                "input is {input:?}, manifest needs f32 [N, {width}]"
            )));
        }
        let batch = model.sym("N");
        let model = model
            .with_input_fact(0, f32::fact([batch.to_dim(), width.to_dim()]).into())
            .and_then(|m| m.into_typed())
            .map_err(onnx_error)?;
        let output = probabilities_output(&model, &manifest).map_err(mismatch)?;
        let plan = model
            .with_output_outlets(&[output])
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(onnx_error)?;

        Ok(Model { manifest, plan })
    }

    /// Class probabilities for each row, in one run of the model.
    pub fn predict(&self, rows: &[Features]) -> Result<Vec<Prediction>, ModelError> {
        let width = self.manifest.features.len();
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = Vec::with_capacity(rows.len() * width);
        for row in rows {
            // `Features` come from a manifest's validation; refuse another model's.
            if row.values().len() != width {
                return Err(ModelError::Run(format!(
                    "a row has {} values, the model takes {width}",
                    row.values().len()
                )));
            }
            values.extend_from_slice(row.values());
        }
        let run_error = |e: TractError| ModelError::Run(format!("{e:#}"));
        let input = Tensor::from_shape(&[rows.len(), width], &values).map_err(run_error)?;
        let outputs = self.plan.run(tvec!(input.into())).map_err(run_error)?;
        let probabilities = outputs[0]
            .try_as_plain_ram()
            .and_then(|plain| plain.as_slice::<f32>())
            .map_err(run_error)?;
        Ok(probabilities
            .chunks_exact(self.manifest.classes.len())
            .map(|row| self.manifest.prediction(row.to_vec()))
            .collect())
    }
}

impl app::model::Predictor for Model {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn predict(&self, rows: &[Features]) -> Result<Vec<Prediction>, app::error::AppError> {
        Model::predict(self, rows).map_err(|err| {
            tracing::error!(%err, model = %self.manifest.name, "prediction failed");
            app::error::AppError::Internal
        })
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

/// Checks that the model has one input and an output `[N, classes]`, named as
/// the manifest says, and returns that output. Other
/// outputs (skl2onnx adds a `label`) are dropped, so tract never computes them.
fn probabilities_output(model: &TypedModel, manifest: &Manifest) -> Result<OutletId, String> {
    let inputs = model.input_outlets().map_err(|e| e.to_string())?;
    let [input] = inputs else {
        return Err(format!("expected one input, found {}", inputs.len()));
    };
    let input_name = &model.node(input.node).name;
    if *input_name != manifest.onnx.input {
        return Err(format!(
            "input is named `{input_name}`, manifest says `{}`",
            manifest.onnx.input
        ));
    }
    let outputs = model.output_outlets().map_err(|e| e.to_string())?;
    let name = |outlet: &OutletId| {
        model
            .outlet_label(*outlet)
            .unwrap_or(&model.node(outlet.node).name)
            .to_owned()
    };
    let output = *outputs
        .iter()
        .find(|o| name(o) == manifest.onnx.output)
        .ok_or_else(|| {
            format!(
                "no output named `{}` (outputs: {})",
                manifest.onnx.output,
                outputs.iter().map(name).collect::<Vec<_>>().join(", ")
            )
        })?;
    let fact = model.outlet_fact(output).map_err(|e| e.to_string())?;
    let columns = (fact.rank() == 2)
        .then(|| fact.shape[1].as_i64().and_then(|n| usize::try_from(n).ok()))
        .flatten();
    let classes = manifest.classes.len();
    if fact.datum_type != f32::datum_type() || columns != Some(classes) {
        return Err(format!(
            "output is {:?} {:?}, manifest needs f32 [N, {classes}]",
            fact.datum_type, fact.shape
        ));
    }
    Ok(output)
}
