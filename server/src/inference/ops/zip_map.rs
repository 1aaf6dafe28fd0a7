//! `ZipMap`: skl2onnx's default last step, which turns the probabilities
//! `[N, classes]` into one `{label: probability}` map per row. tract has no
//! maps, and Sepal reads probabilities in the manifest's class order, which
//! is the column order; so the tensor passes through unchanged. The labels it
//! would attach are the classifier's own, which the label output carries.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_hir::internal::*,
};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("ZipMap", parse);
}

#[derive(Debug, Clone)]
struct ZipMap {
    classes: usize,
}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let ints = node
        .get_attr_opt_slice::<i64>("classlabels_int64s")?
        .map(<[i64]>::len);
    let strings = node
        .get_attr_opt_tvec::<&str>("classlabels_strings")?
        .map(|s| s.len());
    let classes = match (ints, strings) {
        (Some(n), None) | (None, Some(n)) => n,
        _ => node.bail("needs one of classlabels_int64s and classlabels_strings")?,
    };
    Ok((expand(ZipMap { classes }), vec![]))
}

impl Expansion for ZipMap {
    fn name(&self) -> StaticName {
        "ZipMap".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::same_shape_f32(s, inputs, outputs, true)?;
        s.equals(&inputs[0].rank, 2)?;
        s.equals(&inputs[0].shape[1], self.classes.to_dim())
    }

    fn wire(
        &self,
        _prefix: &str,
        _model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        Ok(inputs.into())
    }
}
