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
    tract_hir::internal::*,
};

type Reader = fn(&ParsingContext, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// tract's own `Scan` reader, for the scans this is not.
static TRACT_SCAN: LazyLock<Option<Reader>> =
    LazyLock::new(|| tract_onnx::onnx().op_register.0.get("Scan").copied());

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("Scan", parse);
}

fn parse(
    ctx: &ParsingContext,
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
fn is_squared_distances(ctx: &ParsingContext, node: &NodeProto) -> TractResult<bool> {
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
        let distances = model.wire_node(prefix, Distances, inputs)?[0];
        Ok(tvec!(rows, distances))
    }
}

/// `[M, N]` squared distances from each of `M` training rows to each of
/// `N` rows, computed in place: tract's broadcast `Sub`, `Square` and sum
/// went through an `[M, N, F]` tensor (54 MB for 1,000 rows of the breast
/// cancer k-NN), and took ~50 µs per row of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Distances;

impl Op for Distances {
    fn name(&self) -> StaticName {
        "Sepal.SquaredDistances".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Distances {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (rows, training) = args_2!(inputs);
        let (&[n, f], &[m, f_training]) = (rows.shape(), training.shape()) else {
            bail!(
                "squared distances need [N, F] and [M, F], got {:?} and {:?}",
                rows.shape(),
                training.shape()
            );
        };
        ensure!(f == f_training, "rows of {f} and {f_training} features");
        let rows = rows.try_as_plain_ram()?;
        let training = training.try_as_plain_ram()?;
        let (rows, training) = (rows.as_slice::<f32>()?, training.as_slice::<f32>()?);
        let mut out = Tensor::zero::<f32>(&[m, n])?;
        {
            let mut plain = out.try_as_plain_ram_mut()?;
            let cells = plain.as_slice_mut::<f32>()?;
            // One training row against every row: the rows stay in cache.
            for (known, distances) in training
                .chunks_exact(f.max(1))
                .zip(cells.chunks_exact_mut(n.max(1)))
            {
                for (row, distance) in rows.chunks_exact(f.max(1)).zip(distances) {
                    *distance = super::squared_distance(known, row);
                }
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Distances {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact([
            inputs[1].shape[0].clone(),
            inputs[0].shape[0].clone()
        ])))
    }

    as_op!();
}
