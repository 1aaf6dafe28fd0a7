//! The ai.onnx.ml operators that scikit-learn, XGBoost and LightGBM exports
//! use and tract lacks (or runs slowly), as tract operators. Where tract's
//! own operators can express one well (imputers, encoders), it is lowered
//! to them, so tract's optimizer treats it like the rest of the graph; tree
//! ensembles, linear models, support vector machines, scalers and
//! normalizers are evaluated here. Some standard operators are read
//! differently: the `Scan` with which k-nearest-neighbours exports compute
//! distances, `ArgMax` over rows, and (passes over the typed graph) the
//! matrix products of dense layers and softmaxes over rows.
//!
//! Each behaves as onnxruntime does, since its answers are what exporters
//! check their output against; `models/suite` holds the evidence
//! (`server/tests/conformance.rs`).

mod arg_max;
mod binarizer;
pub mod dense;
mod exp;
mod imputer;
mod in_place;
mod linear_classifier;
mod linear_regressor;
mod normalizer;
mod one_hot_encoder;
mod pairwise_distances;
mod post_transform;
mod scaler;
pub mod softmax;
mod svm;
pub mod top_k;
mod tree_ensemble;
mod zip_map;

use tract_onnx::{pb::NodeProto, tract_core::ops::cast::cast, tract_hir::internal::*};

use post_transform::PostTransform;

/// tract's ONNX reader with Sepal's operators registered (they replace
/// tract's where both have one).
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    let registry = &mut onnx.op_register;
    arg_max::register(registry);
    binarizer::register(registry);
    imputer::register(registry);
    linear_classifier::register(registry);
    linear_regressor::register(registry);
    normalizer::register(registry);
    one_hot_encoder::register(registry);
    pairwise_distances::register(registry);
    scaler::register(registry);
    svm::register(registry);
    tree_ensemble::register(registry);
    zip_map::register(registry);
    onnx
}

/// The shape rules of an operator from one tensor to an f32 tensor of the
/// same shape; `f32_only` when its input must be f32 too.
fn same_shape_f32<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
    f32_only: bool,
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 1)?;
    if f32_only {
        s.equals(&inputs[0].datum_type, f32::datum_type())?;
    }
    s.equals(&outputs[0].datum_type, f32::datum_type())?;
    s.equals(&inputs[0].shape, &outputs[0].shape)
}

/// `x` as f32, cast if it is another type.
fn as_f32(prefix: &str, model: &mut TypedModel, x: OutletId) -> TractResult<OutletId> {
    if model.outlet_fact(x)?.datum_type == f32::datum_type() {
        return Ok(x);
    }
    Ok(model.wire_node(format!("{prefix}.to_f32"), cast(f32::datum_type()), &[x])?[0])
}

/// The length of `x`'s last axis, when it is known.
fn columns(model: &TypedModel, x: OutletId) -> TractResult<Option<usize>> {
    let fact = model.outlet_fact(x)?;
    Ok(fact
        .shape
        .last()
        .and_then(|d| d.as_i64())
        .and_then(|d| usize::try_from(d).ok()))
}

/// A classifier's labels, `[classes]`: int64 (attribute `ints`, whose name
/// differs between operators) or text (`classlabels_strings`).
fn class_labels(node: &NodeProto, ints: &str) -> TractResult<Arc<Tensor>> {
    let numbers = node.get_attr_opt_slice::<i64>(ints)?;
    let strings = node.get_attr_opt_tvec::<String>("classlabels_strings")?;
    let labels = match (numbers, strings) {
        (Some(numbers), None) => rctensor1(numbers),
        (None, Some(strings)) => rctensor1(&strings),
        _ => node.bail(&format!("needs one of {ints} and classlabels_strings"))?,
    };
    node.expect(labels.len() >= 2, "at least two classes")?;
    Ok(labels)
}

/// The label output `[N]`: the label at each picked class index. (The type
/// is checked first: a failed typed access makes an error, whose backtrace
/// alone took ~10 µs per row when RUST_BACKTRACE is set.) Built from owned
/// arrays: `tensor1` of a slice would clone every text label a second time.
fn labels_of(labels: &Tensor, picked: &[usize]) -> TractResult<Tensor> {
    let plain = labels.try_as_plain_ram()?;
    Ok(if labels.datum_type() == String::datum_type() {
        let strings = plain.as_slice::<String>()?;
        let picked: Vec<String> = picked.iter().map(|&i| strings[i].clone()).collect();
        tract_ndarray::Array1::from_vec(picked).into()
    } else {
        let numbers = plain.as_slice::<i64>()?;
        let picked: Vec<i64> = picked.iter().map(|&i| numbers[i]).collect();
        tract_ndarray::Array1::from_vec(picked).into()
    })
}

/// An operator Sepal evaluates itself, on f32 rows `[N, features]`: a
/// classifier (label `[N]` and scores `[N, width]`) or a regressor
/// (values `[N, width]`). `evaluated!` makes it a tract operator.
trait OnRows: TypedOp + Clone {
    /// The ONNX operator it implements.
    const ONNX: &'static str;
    /// A classifier's labels, `[classes]`.
    fn labels(&self) -> Option<&Tensor>;
    /// Columns of the score or value output.
    fn width(&self) -> usize;
    /// The features a row must have: exactly these, or at least these
    /// (trees need not read the last ones).
    fn features(&self) -> RowWidth;
    /// Writes one row's scores or values into `out`; returns a classifier's
    /// class index (a regressor's is unused).
    fn row(&self, row: &[f32], out: &mut [f32]) -> usize;
    /// Writes the outputs of all `rows` (`columns` values each) into `out`,
    /// and each row's class index into `picked`: row by row, unless an
    /// operator walks several rows at once.
    fn rows(&self, rows: &[f32], columns: usize, out: &mut [f32], picked: &mut Vec<usize>) {
        let cells = out.chunks_exact_mut(self.width().max(1));
        for (row, cells) in rows.chunks_exact(columns.max(1)).zip(cells) {
            picked.push(self.row(row, cells));
        }
    }
    /// A transform applied to all rows' outputs at once after `rows` (one
    /// pass over the batch vectorises, a call per row does not).
    fn post(&self) -> PostTransform {
        PostTransform::None
    }

    /// Its output facts for `n` rows.
    fn facts(&self, n: &TDim) -> TVec<TypedFact> {
        let scores = f32::fact([n.clone(), self.width().to_dim()]);
        match self.labels() {
            Some(labels) => tvec!(labels.datum_type().fact([n.clone()]), scores),
            None => tvec!(scores),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowWidth {
    Exactly(usize),
    AtLeast(usize),
}

/// Runs an [`OnRows`] operator on its one input, row by row.
fn eval_rows<T: OnRows>(op: &T, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
    let input = args_1!(inputs);
    let &[n, columns] = input.shape() else {
        bail!("the input is {:?}, expected [N, features]", input.shape());
    };
    match op.features() {
        RowWidth::Exactly(f) => ensure!(
            columns == f,
            "the model takes {f} features, the input has {columns}"
        ),
        RowWidth::AtLeast(f) => ensure!(
            columns >= f,
            "the model reads {f} features, the input has {columns}"
        ),
    }
    let rows = input.try_as_plain_ram()?;
    let rows = rows.as_slice::<f32>()?;
    let width = op.width();
    let mut out = Tensor::zero::<f32>(&[n, width])?;
    let mut picked = Vec::with_capacity(n);
    {
        let mut plain = out.try_as_plain_ram_mut()?;
        let cells = plain.as_slice_mut::<f32>()?;
        op.rows(rows, columns, cells, &mut picked);
        op.post().apply_rows(cells, width)?;
    }
    Ok(match op.labels() {
        Some(labels) => tvec!(labels_of(labels, &picked)?.into_tvalue(), out.into_tvalue()),
        None => tvec!(out.into_tvalue()),
    })
}

/// The tract operator traits of an [`OnRows`] type, named `$name` in dumps.
macro_rules! evaluated {
    ($type:ty, $name:literal) => {
        impl Op for $type {
            fn name(&self) -> StaticName {
                $name.into()
            }

            op_as_typed_op!();
        }

        impl EvalOp for $type {
            op_out_of_plan!();

            fn eval(&self, _: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
                crate::inference::ops::eval_rows(self, inputs)
            }
        }

        impl TypedOp for $type {
            fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
                Ok(crate::inference::ops::OnRows::facts(
                    self,
                    &inputs[0].shape[0],
                ))
            }

            as_op!();
        }
    };
}
use evaluated;

/// Reads an [`OnRows`] operator from ONNX: its shapes for tract's analysis,
/// and its place in the typed graph, after a cast of other number types to
/// f32 (onnxruntime compares them as floats too).
#[derive(Clone, Debug)]
struct Parsed<T>(T);

fn parsed<T: OnRows>(op: T) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(Parsed(op)), vec![]))
}

impl<T: OnRows> Expansion for Parsed<T> {
    fn name(&self) -> StaticName {
        T::ONNX.into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(if self.0.labels().is_some() { 2 } else { 1 })
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, self.nboutputs()?)?;
        s.equals(&inputs[0].rank, 2)?;
        let scores = if let Some(labels) = self.0.labels() {
            s.equals(&outputs[0].datum_type, labels.datum_type())?;
            s.equals(&outputs[0].rank, 1)?;
            s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
            &outputs[1]
        } else {
            &outputs[0]
        };
        s.equals(&scores.datum_type, f32::datum_type())?;
        s.equals(&scores.rank, 2)?;
        s.equals(&scores.shape[0], &inputs[0].shape[0])?;
        s.equals(&scores.shape[1], self.0.width().to_dim())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let x = as_f32(prefix, model, inputs[0])?;
        model.wire_node(prefix, self.0.clone(), &[x])
    }
}

/// `Σ aᵢ·bᵢ` in onnxruntime's order (its GEMM's): one fused multiply-add
/// after another, from 0. A linear model's terms often cancel (a scaled
/// ridge's sum to ~-151 before an intercept of ~152), so another order
/// moves the answer by more than 1e-5 of itself. A batch of a linear
/// model goes through [`linear_rows`], in the same order, faster.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0, |sum, (x, y)| x.mul_add(*y, sum))
}

/// The class of the highest raw score (the first, when several are).
fn first_max(scores: &[f32]) -> usize {
    scores
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &s)| {
            if s > best.1 { (i, s) } else { best }
        })
        .0
}

/// How many rows [`linear_rows`] scores at once for several classes: four
/// vectors of f32, so that four chains of multiply-adds overlap (one alone
/// waits on each step; with eight rows, the layer of an MLP from 100 units
/// to 3 classes took half its batch).
const BLOCK: usize = 32;

/// ... and for one score: eight rows, each its own chain, read where they
/// are (turning 32 rows on their side cost more than their one score:
/// 40 against 22 ns per row for 100 features, in a micro-benchmark).
const ONE_SCORE_ROWS: usize = 8;

/// A linear model's raw scores `x · Wᵀ + b` for all `rows` (`columns`
/// values each) into `out` (`[N, classes]`), each as [`dot`] adds it, then
/// its intercept. Several rows at a time: a row's chain of multiply-adds is
/// as long as its features, and alone it waits on each. For several
/// classes the rows go [`BLOCK`] at a time, turned on their side, so each
/// step is a few vector multiply-adds for all of them.
fn linear_rows(rows: &[f32], columns: usize, weights: &[f32], intercepts: &[f32], out: &mut [f32]) {
    let (columns, classes) = (columns.max(1), intercepts.len().max(1));
    let rest = match intercepts {
        [intercept] => one_score_rows(rows, columns, weights, *intercept, out),
        _ => blocks_on_their_side(rows, columns, weights, intercepts, out),
    };
    let rest_out = &mut out[(rows.len() - rest.len()) / columns * classes..];
    for (row, out) in rest
        .chunks_exact(columns)
        .zip(rest_out.chunks_exact_mut(classes))
    {
        for ((o, w), b) in out
            .iter_mut()
            .zip(weights.chunks_exact(columns))
            .zip(intercepts)
        {
            *o = dot(w, row) + b;
        }
    }
}

/// [`linear_rows`] for one class, [`ONE_SCORE_ROWS`] rows at a time;
/// returns the rows left.
fn one_score_rows<'r>(
    rows: &'r [f32],
    columns: usize,
    weights: &[f32],
    intercept: f32,
    out: &mut [f32],
) -> &'r [f32] {
    let mut blocks = rows.chunks_exact(columns * ONE_SCORE_ROWS);
    for (block, out) in (&mut blocks).zip(out.chunks_exact_mut(ONE_SCORE_ROWS)) {
        let mut sums = [0f32; ONE_SCORE_ROWS];
        for (k, w) in weights.iter().take(columns).enumerate() {
            for (r, sum) in sums.iter_mut().enumerate() {
                *sum = block[r * columns + k].mul_add(*w, *sum);
            }
        }
        for (o, sum) in out.iter_mut().zip(sums) {
            *o = sum + intercept;
        }
    }
    blocks.remainder()
}

/// [`linear_rows`] for several classes, [`BLOCK`] rows at a time turned on
/// their side; returns the rows left.
fn blocks_on_their_side<'r>(
    rows: &'r [f32],
    columns: usize,
    weights: &[f32],
    intercepts: &[f32],
    out: &mut [f32],
) -> &'r [f32] {
    let classes = intercepts.len().max(1);
    let mut blocks = rows.chunks_exact(columns * BLOCK);
    // Only a batch of a block or more needs it (not a one-row request).
    let mut side = if blocks.len() > 0 {
        vec![0f32; columns * BLOCK]
    } else {
        Vec::new()
    };
    for (block, out) in (&mut blocks).zip(out.chunks_exact_mut(classes * BLOCK)) {
        for (r, row) in block.chunks_exact(columns).enumerate() {
            for (k, x) in row.iter().enumerate() {
                side[k * BLOCK + r] = *x;
            }
        }
        for (c, (w, b)) in weights.chunks_exact(columns).zip(intercepts).enumerate() {
            let mut sums = [0f32; BLOCK];
            for (xs, w) in side.chunks_exact(BLOCK).zip(w) {
                for (sum, x) in sums.iter_mut().zip(xs) {
                    *sum = x.mul_add(*w, *sum);
                }
            }
            for (r, sum) in sums.iter().enumerate() {
                out[r * classes + c] = sum + b;
            }
        }
    }
    blocks.remainder()
}
