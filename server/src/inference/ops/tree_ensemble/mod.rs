//! `TreeEnsembleClassifier` and `TreeEnsembleRegressor`: every decision tree,
//! random forest, extra trees and gradient-boosting export (scikit-learn,
//! XGBoost, LightGBM). Sepal's own evaluator, registered in place of
//! tract's (whose classifier took about a millisecond for 50 trees, and
//! which has no regressor): the trees in flat arrays (`forest`), one row
//! walked through all of them, onnxruntime's rules for what the sums become.

mod classifier;
mod forest;
mod regressor;
mod split;

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::{NodeProto, TensorProto},
    tract_hir::internal::*,
};

use forest::{Attributes, Forest, LANES, Reached};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("TreeEnsembleClassifier", classifier::parse);
    registry.insert("TreeEnsembleRegressor", regressor::parse);
}

/// Scores every row of `rows` (`columns` values each) into `out` (`width`
/// per row) with `score`, and keeps each row's class index in `picked`. A
/// one-tree forest walks the rows `LANES` at a time: a single decision
/// tree's walk is a chain of dependent loads, which several rows overlap.
fn each_row(
    forest: &Forest,
    rows: &[f32],
    columns: usize,
    out: &mut [f32],
    width: usize,
    picked: &mut Vec<usize>,
    score: impl Fn(Reached<'_>, &mut [f32]) -> usize,
) {
    let columns = columns.max(1);
    let mut cells = out.chunks_exact_mut(width.max(1));
    let mut rest = rows;
    if forest.trees() == 1 {
        let mut groups = rows.chunks_exact(columns * LANES);
        for group in &mut groups {
            let leaves = forest.first_tree_leaves(group, columns);
            for (leaf, cells) in leaves.into_iter().zip(&mut cells) {
                picked.push(score(Reached::Leaf(leaf), cells));
            }
        }
        rest = groups.remainder();
    }
    for (row, cells) in rest.chunks_exact(columns).zip(cells) {
        picked.push(score(Reached::Walk(forest, row), cells));
    }
}

/// The tree attributes of `node`; `leaf` is the leaves' prefix, `class` or
/// `target`.
fn attributes<'a>(
    ctx: &ParsingContext<'_>,
    node: &'a NodeProto,
    leaf: &str,
) -> TractResult<Attributes<'a>> {
    let ints =
        |name: &str| -> TractResult<Vec<i64>> { Ok(node.get_attr_slice::<i64>(name)?.to_vec()) };
    Ok(Attributes {
        tree_ids: ints("nodes_treeids")?,
        node_ids: ints("nodes_nodeids")?,
        features: ints("nodes_featureids")?,
        modes: node.get_attr_vec("nodes_modes")?,
        values: floats(ctx, node, "nodes_values")?.unwrap_or_default(),
        true_ids: ints("nodes_truenodeids")?,
        false_ids: ints("nodes_falsenodeids")?,
        missing_tracks_true: node
            .get_attr_opt_slice::<i64>("nodes_missing_value_tracks_true")?
            .map(|flags| flags.iter().map(|&f| f != 0).collect())
            .unwrap_or_default(),
        weight_trees: ints(&format!("{leaf}_treeids"))?,
        weight_nodes: ints(&format!("{leaf}_nodeids"))?,
        weight_outputs: ints(&format!("{leaf}_ids"))?,
        weights: floats(ctx, node, &format!("{leaf}_weights"))?.unwrap_or_default(),
    })
}

/// A list of floats given as `name` or, from ai.onnx.ml opset 3, as a
/// tensor `name_as_tensor` (possibly of doubles, taken as f32 here).
fn floats(ctx: &ParsingContext<'_>, node: &NodeProto, name: &str) -> TractResult<Option<Vec<f32>>> {
    let tensor_name = format!("{name}_as_tensor");
    match (
        node.get_attr_opt_slice::<f32>(name)?,
        node.get_attr_opt::<&TensorProto>(&tensor_name)?,
    ) {
        (Some(_), Some(_)) => node.bail(&format!("sets both {name} and {tensor_name}")),
        (Some(values), None) => Ok(Some(values.to_vec())),
        (None, Some(proto)) => {
            let tensor = ctx.load_tensor(proto)?.cast_to::<f32>()?.into_owned();
            Ok(Some(tensor.try_as_plain_ram()?.as_slice::<f32>()?.to_vec()))
        }
        (None, None) => Ok(None),
    }
}
