//! `Scaler` (StandardScaler, RobustScaler, MaxAbsScaler in skl2onnx's
//! exports): `y = (x − offset) · scale`, per column, lowered to tract's own
//! `Sub` and `Mul` so the optimizer fuses it with what follows.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_core::ops::{change_axes::wire_with_rank_broadcast, math},
    tract_hir::internal::*,
};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("Scaler", parse);
}

#[derive(Debug, Clone)]
struct Scaler {
    /// Both `[columns]`, or `[1]` for every column alike.
    offset: Arc<Tensor>,
    scale: Arc<Tensor>,
}

fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let scale: Vec<f32> = node.get_attr_vec("scale")?;
    node.expect_attr("scale", !scale.is_empty(), "at least one value")?;
    let offset: Vec<f32> = node
        .get_attr_opt_vec("offset")?
        .unwrap_or_else(|| vec![0.0; scale.len()]);
    node.expect_attr(
        "offset",
        offset.len() == scale.len(),
        "as many values as `scale`",
    )?;
    let scaler = Scaler {
        offset: rctensor1(&offset),
        scale: rctensor1(&scale),
    };
    Ok((expand(scaler), vec![]))
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
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
        let columns = super::columns(model, x)?;
        ensure!(
            self.scale.len() == 1 || columns.is_none_or(|c| c == self.scale.len()),
            "Scaler has {} values for {columns:?} columns",
            self.scale.len()
        );
        let offset = model.add_const(format!("{prefix}.offset"), self.offset.clone())?;
        let scale = model.add_const(format!("{prefix}.scale"), self.scale.clone())?;
        let centred =
            wire_with_rank_broadcast(format!("{prefix}.sub"), model, math::sub(), &[x, offset])?;
        wire_with_rank_broadcast(
            format!("{prefix}.mul"),
            model,
            math::mul(),
            &[centred[0], scale],
        )
    }
}
