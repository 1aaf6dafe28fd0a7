//! `Imputer` (SimpleImputer): each missing value (NaN, or the value named as
//! missing) becomes its column's imputed value. Lowered to tract's `IsNan` or
//! `Equal` and a select, so the optimizer sees through it.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_core::ops::{
        binary::TypedBinOp, change_axes::wire_with_rank_broadcast, logic, math::is_nan,
    },
    tract_hir::internal::*,
};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("Imputer", parse);
}

#[derive(Debug, Clone)]
struct Imputer {
    /// `[columns]`, or `[1]` for every column alike.
    imputed: Arc<Tensor>,
    /// The value that means "missing"; NaN unless the export says otherwise.
    replaced: f32,
}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if node
        .get_attr_opt_slice::<i64>("imputed_value_int64s")?
        .is_some()
    {
        node.bail("imputes integers; Sepal's inputs are floats (imputed_value_floats)")?;
    }
    let imputed: Vec<f32> = node.get_attr_vec("imputed_value_floats")?;
    node.expect_attr(
        "imputed_value_floats",
        !imputed.is_empty(),
        "at least one value",
    )?;
    // onnxruntime fills in the schema's default, 0, when the attribute is absent.
    let replaced = node
        .get_attr_opt::<f32>("replaced_value_float")?
        .unwrap_or(0.0);
    Ok((
        expand(Imputer {
            imputed: rctensor1(&imputed),
            replaced,
        }),
        vec![],
    ))
}

impl Expansion for Imputer {
    fn name(&self) -> StaticName {
        "Imputer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::same_shape_f32(s, inputs, outputs, true)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let x = inputs[0];
        let columns = super::columns(model, x)?;
        ensure!(
            self.imputed.len() == 1 || columns.is_none_or(|c| c == self.imputed.len()),
            "Imputer has {} values for {columns:?} columns",
            self.imputed.len()
        );
        let missing = if self.replaced.is_nan() {
            model.wire_node(format!("{prefix}.is_nan"), is_nan(), &[x])?[0]
        } else {
            let replaced =
                model.add_const(format!("{prefix}.replaced"), rctensor0(self.replaced))?;
            let equal = TypedBinOp(logic::comp_eq(), None);
            wire_with_rank_broadcast(
                format!("{prefix}.is_replaced"),
                model,
                equal,
                &[x, replaced],
            )?[0]
        };
        let imputed = model.add_const(format!("{prefix}.imputed"), self.imputed.clone())?;
        let imputed = wire_with_rank_broadcast(
            format!("{prefix}.imputed_rank"),
            model,
            logic::Iff,
            &[missing, imputed, x],
        )?;
        Ok(imputed)
    }
}
