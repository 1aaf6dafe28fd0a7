//! skl2onnx's k-nearest-neighbours exports compute the squared distance
//! from each input row to each training row with a `Scan` over the
//! training rows (its "cdist" body: `Identity` of the state, `Sub`,
//! `ReduceSumSquare` over the features). tract runs a `Scan` one iteration
//! at a time, which took 200–800 µs per row for 150–569 training rows.
//! A `Scan` with exactly that body is read here as one operator computing
//! every distance at once; any other `Scan` goes to tract's own reader.

use std::sync::LazyLock;

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::{GraphProto, NodeProto},
    tract_core::ops::change_axes::AxisOp,
    tract_hir::internal::*,
};

type Reader =
    fn(&ParsingContext<'_>, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// tract's own `Scan` reader, for the scans this is not.
static TRACT_SCAN: LazyLock<Option<Reader>> =
    LazyLock::new(|| tract_onnx::onnx().op_register.0.get("Scan").copied());

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("Scan", parse);
}

fn parse(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if is_squared_distances(ctx, node)? {
        return Ok((expand(SquaredDistances), vec![]));
    }
    match *TRACT_SCAN {
        Some(tract_scan) => tract_scan(ctx, node),
        None => node.bail("tract has no Scan"),
    }
}

/// Whether `node` is a `Scan` with one state (the input rows) and one scan
/// input (the training rows) whose body is skl2onnx's cdist: the state
/// passed on, and `ReduceSumSquare(state − row, axes = [1], keepdims = 0)`
/// (axes an attribute up to opset 17, a constant input from opset 18).
fn is_squared_distances(ctx: &ParsingContext<'_>, node: &NodeProto) -> TractResult<bool> {
    let scan_inputs: i64 = node.get_attr_opt("num_scan_inputs")?.unwrap_or(0);
    let body = node.get_attr_opt::<&GraphProto>("body")?;
    let plain = [
        "scan_input_axes",
        "scan_output_axes",
        "scan_input_directions",
        "scan_output_directions",
    ]
    .iter()
    .all(|a| node.attribute.iter().all(|attr| attr.name != *a));
    let Some(body) = body
        .filter(|_| scan_inputs == 1 && plain && node.input.len() == 2 && node.output.len() == 2)
    else {
        return Ok(false);
    };
    let (Some(state), Some(row)) = (body.input.first(), body.input.get(1)) else {
        return Ok(false);
    };
    let [state_out, scan_out] = &body.output[..] else {
        return Ok(false);
    };
    // Follows an output back through Identity nodes to what makes it.
    let producer = |name: &str| -> Option<&NodeProto> {
        let mut name = name.to_owned();
        loop {
            let node = body.node.iter().find(|n| n.output.first() == Some(&name))?;
            if node.op_type != "Identity" {
                return Some(node);
            }
            name = node.input.first()?.clone();
            if name == state.name {
                return None;
            }
        }
    };
    let passes_state = body.node.iter().any(|n| {
        n.op_type == "Identity"
            && n.input == [state.name.clone()]
            && n.output == [state_out.name.clone()]
    });
    let Some(reduce) = producer(&scan_out.name) else {
        return Ok(false);
    };
    let axes: Option<Vec<i64>> = match reduce.input.get(1) {
        None => reduce.get_attr_opt_vec("axes")?,
        Some(name) => match body.initializer.iter().find(|t| t.name == *name) {
            Some(proto) => {
                let tensor = ctx.load_tensor(proto)?.cast_to::<i64>()?.into_owned();
                Some(tensor.try_as_plain_ram()?.as_slice::<i64>()?.to_vec())
            }
            None => None,
        },
    };
    let keepdims: i64 = reduce.get_attr_opt("keepdims")?.unwrap_or(1);
    let Some(sub) = reduce
        .input
        .first()
        .and_then(|i| body.node.iter().find(|n| n.output.first() == Some(i)))
    else {
        return Ok(false);
    };
    Ok(passes_state
        && body.node.len() <= 4
        && reduce.op_type == "ReduceSumSquare"
        && axes.as_deref() == Some(&[1])
        && keepdims == 0
        && sub.op_type == "Sub"
        && sub.input == [state.name.clone(), row.name.clone()])
}

/// Inputs: the rows `[N, F]` and the training rows `[M, F]`. Outputs: the
/// rows, unchanged (the scan's final state), and `[M, N]`, the squared
/// distance from training row m to row n (the scan's stacked outputs).
#[derive(Debug, Clone)]
struct SquaredDistances;

impl Expansion for SquaredDistances {
    fn name(&self) -> StaticName {
        "Scan (squared distances)".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 2)?;
        for input in inputs {
            s.equals(&input.datum_type, f32::datum_type())?;
            s.equals(&input.rank, 2)?;
        }
        s.equals(&inputs[0].shape[1], &inputs[1].shape[1])?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        s.equals(&outputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[1].rank, 2)?;
        s.equals(&outputs[1].shape[0], &inputs[1].shape[0])?;
        s.equals(&outputs[1].shape[1], &inputs[0].shape[0])
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rows = inputs[0];
        let by_row = model.wire_node(prefix, Distances, inputs)?[0];
        // The scan stacks `[M, N]`; the exports transpose it straight back,
        // and tract takes the two moves away.
        let by_training_row = model.wire_node(
            format!("{prefix}.by_training_row"),
            AxisOp::Move(1, 0),
            &[by_row],
        )?[0];
        Ok(tvec!(rows, by_training_row))
    }
}

/// `[N, M]` squared distances from each of `N` rows to each of `M`
/// training rows. tract's broadcast `Sub`, `Square` and sum went through
/// an `[M, N, F]` tensor (54 MB for 1,000 rows of the breast cancer k-NN)
/// and took ~50 µs per row of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Distances;

/// Rows in one vector of sums, and training rows taken together: each of
/// the `KNOWN` sums of a block is a chain of multiply-adds, and four chains
/// keep the vector units busy while each waits on its last step.
const ROWS: usize = 8;
const KNOWN: usize = 4;

impl Distances {
    /// Fills `out` (`[N, M]`) for `rows` (`[N, F]`) and `training` (`[M, F]`).
    fn run(rows: &[f32], training: &[f32], features: usize, out: &mut [f32]) {
        let f = features.max(1);
        let m = training.len() / f;
        if m == 0 {
            return;
        }
        // A block's rows feature by feature, each feature one vector.
        let mut block = vec![[0f32; ROWS]; f];
        for (rows, out) in rows.chunks(f * ROWS).zip(out.chunks_mut(m * ROWS)) {
            for (k, lanes) in block.iter_mut().enumerate() {
                for (r, lane) in lanes.iter_mut().enumerate() {
                    // Lanes past the last row are zeros, never written out.
                    *lane = rows.get(r * f + k).copied().unwrap_or(0.0);
                }
            }
            let mut known = training.chunks_exact(f * KNOWN);
            for (q, four) in (&mut known).enumerate() {
                Self::write(&Self::sums::<KNOWN>(&block, four), q * KNOWN, m, out);
            }
            let first = m - known.remainder().len() / f;
            for (j, one) in known.remainder().chunks_exact(f).enumerate() {
                Self::write(&Self::sums::<1>(&block, one), first + j, m, out);
            }
        }
    }

    /// The squared distances from the block's rows to the `J` training
    /// rows of `known`; each adds its features' terms in order.
    #[inline(always)]
    fn sums<const J: usize>(block: &[[f32; ROWS]], known: &[f32]) -> [[f32; ROWS]; J] {
        let f = block.len();
        let mut sums = [[0f32; ROWS]; J];
        for (k, xs) in block.iter().enumerate() {
            for (j, sums) in sums.iter_mut().enumerate() {
                let t = known[j * f + k];
                for (sum, x) in sums.iter_mut().zip(xs) {
                    let d = x - t;
                    *sum = d.mul_add(d, *sum);
                }
            }
        }
        sums
    }

    /// Writes distances to training rows `first..` for the block's rows
    /// that `out` (rows of `m`) has.
    fn write<const J: usize>(sums: &[[f32; ROWS]; J], first: usize, m: usize, out: &mut [f32]) {
        for (r, out) in out.chunks_exact_mut(m).enumerate() {
            for (j, sums) in sums.iter().enumerate() {
                out[first + j] = sums[r];
            }
        }
    }
}

impl Op for Distances {
    fn name(&self) -> StaticName {
        "Sepal.SquaredDistances".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Distances {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (rows, training) = args_2!(inputs);
        let (&[n, f], &[m, f_training]) = (rows.shape(), training.shape()) else {
            bail!(
                "squared distances need [N, F] and [M, F], got {:?} and {:?}",
                rows.shape(),
                training.shape()
            );
        };
        ensure!(f == f_training, "rows of {f} and {f_training} features");
        let mut out = Tensor::zero::<f32>(&[n, m])?;
        Self::run(
            rows.try_as_plain_ram()?.as_slice::<f32>()?,
            training.try_as_plain_ram()?.as_slice::<f32>()?,
            f,
            out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        );
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Distances {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact([
            inputs[0].shape[0].clone(),
            inputs[1].shape[0].clone()
        ])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_distance_of_blocks_and_rests() {
        // 11 rows (a block and a rest), 7 training rows (four and three).
        let f = 3;
        let value = |i: usize| ((i as f32) * 0.618).sin() * 4.0;
        let rows: Vec<f32> = (0..11 * f).map(value).collect();
        let training: Vec<f32> = (100..100 + 7 * f).map(value).collect();
        let mut out = vec![f32::NAN; 11 * 7];
        Distances::run(&rows, &training, f, &mut out);
        for (n, row) in rows.chunks_exact(f).enumerate() {
            for (m, known) in training.chunks_exact(f).enumerate() {
                let expected = row
                    .iter()
                    .zip(known)
                    .fold(0.0f32, |sum, (x, t)| (x - t).mul_add(x - t, sum));
                assert_eq!(out[n * 7 + m], expected, "row {n}, training row {m}");
            }
        }
    }
}
