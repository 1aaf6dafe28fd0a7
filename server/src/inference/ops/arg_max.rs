//! `ArgMax` over the last axis of f32 rows `[N, classes]`, the label pick of
//! skl2onnx's linear and MLP exports: one pass over the rows. tract's own
//! reduction visits each row through an ndarray view and slice, ~45% of a
//! 1,000-row batch of an SGD classifier; every other `ArgMax` is still
//! tract's.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_hir::{
        internal::*,
        ops::nn::{Reduce, Reducer},
    },
};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("ArgMax", parse);
}

/// The ONNX node, read as tract reads it.
#[derive(Clone, Debug)]
struct Parsed {
    reduce: Reduce,
    axis: i64,
    rows: RowsArgMax,
}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let axis = node.get_attr_opt("axis")?.unwrap_or(0);
    let keep_dims = node.get_attr_opt("keepdims")?.unwrap_or(true);
    let last = node.get_attr_opt("select_last_index")?.unwrap_or(false);
    let reduce = Reduce::new(Some(vec![axis]), keep_dims, Reducer::ArgMax(last));
    let rows = RowsArgMax { keep_dims, last };
    Ok((expand(Parsed { reduce, axis, rows }), vec![]))
}

impl Expansion for Parsed {
    fn name(&self) -> StaticName {
        "ArgMax".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        self.reduce.rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?;
        if fact.datum_type == f32::datum_type() && fact.rank() == 2 && [1, -1].contains(&self.axis)
        {
            model.wire_node(prefix, self.rows, inputs)
        } else {
            self.reduce.wire(prefix, model, inputs)
        }
    }
}

/// The index of the largest value of each f32 row (the first one, or the
/// last with `select_last_index`), as int64 `[N, 1]` or `[N]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RowsArgMax {
    keep_dims: bool,
    last: bool,
}

impl Op for RowsArgMax {
    fn name(&self) -> StaticName {
        "Sepal.RowsArgMax".into()
    }

    op_as_typed_op!();
}

impl EvalOp for RowsArgMax {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, columns] = input.shape() else {
            bail!("ArgMax input is {:?}, expected [N, columns]", input.shape());
        };
        let plain = input.try_as_plain_ram()?;
        let picked: Vec<i64> = plain
            .as_slice::<f32>()?
            .chunks_exact(columns.max(1))
            .map(|row| {
                let mut best = (0, f32::MIN);
                for (i, &x) in row.iter().enumerate() {
                    if x > best.1 || (self.last && x == best.1) {
                        best = (i, x);
                    }
                }
                best.0 as i64
            })
            .collect();
        let shape: &[usize] = if self.keep_dims { &[n, 1] } else { &[n] };
        Ok(tvec!(Tensor::from_shape(shape, &picked)?.into_tvalue()))
    }
}

impl TypedOp for RowsArgMax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        Ok(tvec!(if self.keep_dims {
            i64::fact([n, 1.to_dim()])
        } else {
            i64::fact([n])
        }))
    }

    as_op!();
}
