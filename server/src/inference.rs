//! Runs a model folder's ONNX classifier with tract.
//!
//! The folder is checked once at start (manifest, sha256, tensor names and
//! shapes) and the graph optimized into runnable plans: one for any number
//! of rows and one made for a single row, the request path. Plans are
//! immutable and shared by every request without a lock; the scratch state a
//! run needs is made per batch, and kept per thread for single rows.
//!
//! A model that ends in a softmax over its classes (as `models/train.py`
//! exports them) is run up to the softmax, and the softmax is applied here:
//! tract's own runs row by row unless a row holds a multiple of 4 classes,
//! and took ~95 of the 103 ns per row of a 1,000-row iris batch (BENCHMARKS.md).

use std::{
    cell::RefCell,
    fmt::Write as _,
    io,
    num::NonZeroUsize,
    path::{Path, PathBuf},
    sync::Arc,
};

use app::model::{Features, Manifest, Predictions};
use sha2::{Digest, Sha256};
use tract_onnx::{
    prelude::*,
    tract_core::ops::nn::{Softmax, SoftmaxKind},
    tract_hir::infer::Factoid,
};

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
    classes: NonZeroUsize,
    /// For `[N, features]` input, any N.
    batch: Arc<TypedRunnableModel>,
    /// For `[1, features]`: tract picks its kernels for the known shape,
    /// ~10% faster on one row than the `N` plan.
    single: Arc<TypedRunnableModel>,
    /// The plans stop before the model's final softmax: apply it to their output.
    softmax: bool,
}

thread_local! {
    /// What one-row runs on this thread reuse (for the last model it ran):
    /// the scratch state, whose making costs about a fifth of a one-row
    /// run and which serves one run at a time, and the input tensor.
    static SINGLE_ROW: RefCell<KeptSingleRow> = const { RefCell::new(KeptSingleRow(None)) };
}

struct SingleRow {
    state: TypedSimpleState,
    /// `[1, features]`. tract lets go of a run's inputs when the run ends,
    /// so the next run refills this tensor in place instead of allocating one.
    input: Arc<Tensor>,
}

/// Kept until its thread ends. Dropping a state tells tract's ops to free
/// their scratch space in tract's own thread-locals, which may be gone
/// already when the thread ends (a panic, then an abort); so at thread end
/// it is forgotten instead: one state, one input and one reference to its
/// plan per ended thread. Sepal predicts on the runtime's worker threads,
/// which live as long as the server.
struct KeptSingleRow(Option<SingleRow>);

impl Drop for KeptSingleRow {
    fn drop(&mut self) {
        std::mem::forget(self.0.take());
    }
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
        if width == 0
            || datum_type.is_some_and(|t| t != f32::datum_type())
            || rank.is_some_and(|r| r != 2)
            || columns.is_some_and(|c| c.to_i64().ok() != i64::try_from(width).ok())
        {
            return Err(mismatch(format!(
                "input is {input:?}, manifest needs f32 [N, {width}] with N ≥ 1"
            )));
        }
        let classes = NonZeroUsize::new(manifest.classes.len())
            .ok_or_else(|| mismatch("the manifest lists no classes".to_owned()))?;
        let n = model.sym("N").to_dim();
        let plan = |rows: TDim| -> Result<(Arc<TypedRunnableModel>, bool), ModelError> {
            let typed = model
                .clone()
                .with_input_fact(0, f32::fact([rows, width.to_dim()]).into())
                .and_then(|m| m.into_typed())
                .map_err(onnx_error)?;
            let output = probabilities_output(&typed, &manifest).map_err(mismatch)?;
            let logits = softmax_input(&typed, output);
            let plan = typed
                .with_output_outlets(&[logits.unwrap_or(output)])
                .and_then(|m| m.into_optimized())
                .and_then(|m| m.into_runnable())
                .map_err(onnx_error)?;
            Ok((plan, logits.is_some()))
        };
        let (batch, softmax) = plan(n)?;
        let (single, _) = plan(1.to_dim())?;
        if let Some(detail) = manifest.inconsistency() {
            return Err(mismatch(detail));
        }

        Ok(Model {
            manifest,
            classes,
            batch,
            single,
            softmax,
        })
    }

    /// Class probabilities for each row, in one run of the model.
    pub fn predict(&self, rows: &[Features]) -> Result<Predictions, ModelError> {
        let width = self.manifest.features.len();
        // `Features` come from a manifest's validation; refuse another model's.
        if let Some(row) = rows.iter().find(|row| row.values().len() != width) {
            return Err(ModelError::Run(format!(
                "a row has {} values, the model takes {width}",
                row.values().len()
            )));
        }
        let run_error = |e: TractError| ModelError::Run(format!("{e:#}"));
        let outputs = match rows {
            [] => return Ok(Predictions::new(Vec::new(), self.classes)),
            [row] => self.run_single_row(row.values()),
            _ => self.run_batch(rows),
        }
        .map_err(run_error)?;
        let mut probabilities = outputs[0]
            .try_as_plain_ram()
            .and_then(|plain| plain.as_slice::<f32>())
            .map_err(run_error)?
            .to_vec();
        if self.softmax {
            probabilities
                .chunks_exact_mut(self.classes.get())
                .for_each(softmax_in_place);
        }
        Ok(Predictions::new(probabilities, self.classes))
    }

    /// Runs the `N` plan on rows of the model's width.
    fn run_batch(&self, rows: &[Features]) -> TractResult<TVec<TValue>> {
        let width = self.manifest.features.len();
        // The input tensor is filled in place: no intermediate buffer.
        let mut input = Tensor::zero::<f32>(&[rows.len(), width])?;
        {
            let mut plain = input.try_as_plain_ram_mut()?;
            let cells = plain.as_slice_mut::<f32>()?;
            for (row, cells) in rows.iter().zip(cells.chunks_exact_mut(width)) {
                cells.copy_from_slice(row.values());
            }
        }
        self.batch.run(tvec!(input.into()))
    }

    /// Runs the single-row plan with this thread's kept state and input. A
    /// state whose run failed is dropped, so a failure cannot leave a
    /// half-run state behind.
    fn run_single_row(&self, values: &[f32]) -> TractResult<TVec<TValue>> {
        SINGLE_ROW.with_borrow_mut(|slot| {
            // Used in place: a state is a few hundred bytes, and moving it out
            // and back showed up in the profile of a one-row run.
            let kept = match &mut slot.0 {
                Some(kept) if Arc::ptr_eq(kept.state.plan(), &self.single) => kept,
                other => other.insert(SingleRow {
                    state: self.single.spawn()?,
                    input: Arc::new(Tensor::zero::<f32>(&[1, values.len()])?),
                }),
            };
            // Only this thread holds the input between runs, so this copies nothing.
            Arc::make_mut(&mut kept.input)
                .try_as_plain_ram_mut()?
                .as_slice_mut::<f32>()?
                .copy_from_slice(values);
            let outputs = kept.state.run(tvec!(kept.input.clone().into_tvalue()));
            if outputs.is_err() {
                slot.0 = None;
            }
            outputs
        })
    }
}

impl app::model::Predictor for Model {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn predict(&self, rows: &[Features]) -> Result<Predictions, app::error::AppError> {
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

/// The input of `output` when `output` is a float softmax over the classes
/// (the last of its two axes).
fn softmax_input(model: &TypedModel, output: OutletId) -> Option<OutletId> {
    let node = model.node(output.node);
    let softmax = node.op_as::<Softmax>()?;
    let over_classes = softmax.kind == SoftmaxKind::Softmax
        && softmax.quant_output_dt.is_none()
        && softmax.axes.as_slice() == [1];
    match node.inputs.as_slice() {
        [logits] if over_classes => Some(*logits),
        _ => None,
    }
}

/// Turns one row of logits into probabilities; the maximum is subtracted
/// first so that no `exp` overflows.
fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in row.iter_mut() {
        *x /= sum;
    }
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

#[cfg(test)]
mod tests {
    use super::softmax_in_place;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let mut row = [1000.0, 1000.0, 0.0];
        softmax_in_place(&mut row);
        assert_eq!(row, [0.5, 0.5, 0.0]);

        let mut row = [1.0_f32, 2.0, 3.0];
        softmax_in_place(&mut row);
        let expected = [0.090_030_57, 0.244_728_48, 0.665_240_94];
        for (got, want) in row.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{row:?}");
        }
    }
}
