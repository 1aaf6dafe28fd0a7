//! Operators that rewrite f32 values `[N, columns]` (or `[columns]`) in
//! place, all rows in one pass: a scaler, a normalizer. tract's broadcast
//! `Sub`/`Mul` and its reductions over a short last axis go row by row, and
//! took most of a 1,000-row batch of a scaled linear model.

use tract_onnx::tract_hir::internal::*;

/// An operator that rewrites each row of f32 values in place.
pub(super) trait InPlace: TypedOp + Clone {
    /// The ONNX operator it implements.
    const ONNX: &'static str;
    /// The columns it is made for, if it is made for a number of them.
    fn columns(&self) -> Option<usize> {
        None
    }
    /// Rewrites `values`, rows of `columns` values each.
    fn apply(&self, values: &mut [f32], columns: usize) -> TractResult<()>;
}

/// Runs an [`InPlace`] operator on its one input, in the input's buffer
/// when no one else holds it.
pub(super) fn eval<T: InPlace>(op: &T, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
    let mut values = args_1!(inputs).into_tensor();
    let columns = values.shape().last().copied().unwrap_or(1).max(1);
    op.apply(
        values.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        columns,
    )?;
    Ok(tvec!(values.into_tvalue()))
}

/// The tract operator traits of an [`InPlace`] type, named `$name` in dumps.
macro_rules! in_place {
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
                crate::inference::ops::in_place::eval(self, inputs)
            }
        }

        impl TypedOp for $type {
            fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
                Ok(tvec!(f32::fact(inputs[0].shape.clone())))
            }

            as_op!();
        }
    };
}
pub(super) use in_place;

/// Reads an [`InPlace`] operator from ONNX: the same shape out as in, f32
/// out, after a cast of other number types to f32.
#[derive(Clone, Debug)]
struct Parsed<T>(T);

pub(super) fn parsed<T: InPlace>(op: T) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(Parsed(op)), vec![]))
}

impl<T: InPlace> Expansion for Parsed<T> {
    fn name(&self) -> StaticName {
        T::ONNX.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::same_shape_f32(s, inputs, outputs, false)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let x = super::as_f32(prefix, model, inputs[0])?;
        ensure!(
            model.outlet_fact(x)?.rank() <= 2,
            "{} takes [N, columns] or [columns]",
            T::ONNX
        );
        let columns = super::columns(model, x)?;
        if let (Some(expected), Some(columns)) = (self.0.columns(), columns) {
            ensure!(
                expected == columns,
                "{} has values for {expected} columns, its input has {columns}",
                T::ONNX
            );
        }
        model.wire_node(prefix, self.0.clone(), &[x])
    }
}
