//! A softmax over the classes of f32 rows `[N, classes]` (the end of
//! hand-written exports and of MLP classifiers), computed by Sepal row by
//! row in place. tract's is vectorised only for rows of a multiple of 4
//! classes, and took ~95 of the 103 ns per row of a 1,000-row iris batch
//! (BENCHMARKS.md), and a third of an MLP's batch.
//!
//! [`replace`] swaps tract's softmax nodes of that shape for this one in a
//! typed graph; any other softmax stays tract's.

use tract_onnx::{
    tract_core::ops::nn::{Softmax, SoftmaxKind},
    tract_hir::internal::*,
};

use super::{
    in_place::{InPlace, in_place},
    post_transform::PostTransform,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowsSoftmax;

impl InPlace for RowsSoftmax {
    // Named for messages only: it comes from [`replace`], not from reading ONNX.
    const ONNX: &'static str = "Softmax";

    fn apply(&self, values: &mut [f32], columns: usize) -> TractResult<()> {
        PostTransform::Softmax.apply_rows(values, columns)
    }
}

in_place!(RowsSoftmax, "Sepal.Softmax");

/// Replaces, in `model`, each float softmax over the last of two axes of
/// f32 values with Sepal's.
pub fn replace(model: &mut TypedModel) -> TractResult<()> {
    let over_rows: Vec<usize> = model
        .nodes()
        .iter()
        .filter(|node| {
            let Some(softmax) = node.op_as::<Softmax>() else {
                return false;
            };
            let rows = node.inputs.first().and_then(|i| model.outlet_fact(*i).ok());
            softmax.kind == SoftmaxKind::Softmax
                && softmax.quant_output_dt.is_none()
                && softmax.axes.as_slice() == [1]
                && rows.is_some_and(|f| f.datum_type == f32::datum_type() && f.rank() == 2)
        })
        .map(|node| node.id)
        .collect();
    for id in over_rows {
        let node = model.node(id);
        TypedModelPatch::replace_single_op(model, node, &node.inputs, RowsSoftmax)?.apply(model)?;
    }
    Ok(())
}
