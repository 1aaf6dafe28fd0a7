//! `Binarizer`: `1` where `x > threshold`, else `0`. Lowered to tract's
//! `Greater` and a cast.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_core::ops::{
        binary::TypedBinOp, cast::cast, change_axes::wire_with_rank_broadcast, logic,
    },
    tract_hir::internal::*,
};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("Binarizer", parse);
}

#[derive(Debug, Clone)]
struct Binarizer {
    threshold: f32,
}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    // onnxruntime fills in the schema's default, 0, when the attribute is absent.
    let threshold = node.get_attr_opt::<f32>("threshold")?.unwrap_or(0.0);
    Ok((expand(Binarizer { threshold }), vec![]))
}

impl Expansion for Binarizer {
    fn name(&self) -> StaticName {
        "Binarizer".into()
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
        let threshold =
            model.add_const(format!("{prefix}.threshold"), rctensor0(self.threshold))?;
        let greater = TypedBinOp(logic::comp_gt(), None);
        let above = wire_with_rank_broadcast(
            format!("{prefix}.greater"),
            model,
            greater,
            &[inputs[0], threshold],
        )?;
        model.wire_node(format!("{prefix}.to_f32"), cast(f32::datum_type()), &above)
    }
}
