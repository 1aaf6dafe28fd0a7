//! `OneHotEncoder` (ai.onnx.ml): each value becomes a row of zeros with a one
//! at its category's place. skl2onnx writes it for a `OneHotEncoder` on
//! number-coded columns, after a cast to int64. Lowered to tract's `Equal`
//! against the category list and a cast, so the optimizer sees through it.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_core::ops::{
        binary::TypedBinOp, cast::cast, change_axes::AxisOp, change_axes::wire_with_rank_broadcast,
        logic,
    },
    tract_hir::internal::*,
};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("OneHotEncoder", parse);
}

#[derive(Debug, Clone)]
struct OneHotEncoder {
    categories: Arc<Tensor>,
}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if node.get_attr_opt_tvec::<&str>("cats_strings")?.is_some() {
        node.bail("encodes text categories; Sepal's inputs are numbers (cats_int64s)")?;
    }
    let categories: Vec<i64> = node.get_attr_vec("cats_int64s")?;
    node.expect_attr(
        "cats_int64s",
        !categories.is_empty(),
        "at least one category",
    )?;
    // With `zeros` = 0 onnxruntime refuses an unknown value where this gives
    // a row of zeros; Sepal's manifest bounds keep inputs to known codes.
    Ok((
        expand(OneHotEncoder {
            categories: rctensor1(&categories),
        }),
        vec![],
    ))
}

impl Expansion for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].rank, inputs[0].rank.bex() + 1)?;
        s.given(&inputs[0].shape, move |s, shape| {
            let mut shape = shape.to_vec();
            shape.push(self.categories.len().to_dim());
            s.equals(&outputs[0].shape, ShapeFactoid::from(shape))
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let mut x = inputs[0];
        // onnxruntime truncates a float towards zero to find its category.
        if model.outlet_fact(x)?.datum_type != i64::datum_type() {
            x = model.wire_node(format!("{prefix}.to_i64"), cast(i64::datum_type()), &[x])?[0];
        }
        let rank = model.outlet_fact(x)?.rank();
        let x = model.wire_node(format!("{prefix}.add_axis"), AxisOp::Add(rank), &[x])?[0];
        let categories =
            model.add_const(format!("{prefix}.categories"), self.categories.clone())?;
        let equal = TypedBinOp(logic::comp_eq(), None);
        let hot =
            wire_with_rank_broadcast(format!("{prefix}.equal"), model, equal, &[x, categories])?;
        model.wire_node(format!("{prefix}.to_f32"), cast(f32::datum_type()), &hot)
    }
}
