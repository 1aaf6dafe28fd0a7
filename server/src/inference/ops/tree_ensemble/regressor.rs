//! `TreeEnsembleRegressor`: each target is the sum (or average, minimum,
//! maximum) of the weights of the leaves a row reaches, plus a base value.
//! Outputs `[N, targets]`.
//!
//! As in onnxruntime: with one target only PROBIT of the post transforms is
//! applied (the others leave one value as it is), and an average divides by
//! the number of trees.

use tract_onnx::{model::ParsingContext, pb::NodeProto, tract_hir::internal::*};

use super::forest::{Forest, Leaves, Reached};
use crate::inference::ops::{OnRows, RowWidth, evaluated, post_transform::PostTransform};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

#[derive(Clone, Debug, PartialEq)]
struct Regressor {
    forest: Arc<Forest>,
    targets: usize,
    aggregate: Aggregate,
    /// Empty, or one per target.
    base: Vec<f32>,
    post: PostTransform,
}

impl Eq for Regressor {}

pub fn parse(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let targets: usize = node.get_attr_opt("n_targets")?.unwrap_or(1);
    node.expect_attr("n_targets", targets >= 1, "at least one target")?;
    let aggregate = match node
        .get_attr_opt::<&str>("aggregate_function")?
        .unwrap_or("SUM")
    {
        "SUM" => Aggregate::Sum,
        "AVERAGE" => Aggregate::Average,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        other => node.bail(&format!(
            "aggregate_function `{other}` is not one of SUM, AVERAGE, MIN, MAX"
        ))?,
    };
    let base = super::floats(ctx, node, "base_values")?.unwrap_or_default();
    node.expect_attr(
        "base_values",
        base.is_empty() || base.len() == targets,
        "none or one per target",
    )?;
    let post = PostTransform::parse(node.get_attr_opt("post_transform")?)?.of_regressor(targets);
    let attributes = super::attributes(ctx, node, "target")?;
    let forest = Forest::build(&attributes, targets)?;
    let op = Regressor {
        forest: Arc::new(forest),
        targets,
        aggregate,
        base,
        post,
    };
    super::super::parsed(op)
}

impl Regressor {
    /// Aggregates the weights of the leaves a row reaches into `out`, one
    /// value per target; [`Regressor::finish`] makes them the answer.
    #[inline]
    fn aggregate(&self, reached: Reached<'_>, out: &mut [f32]) {
        // Min and max start from infinities (a target no leaf reached is
        // 0, in `finish`).
        let start_value = match self.aggregate {
            Aggregate::Sum | Aggregate::Average => 0.0,
            Aggregate::Min => f32::INFINITY,
            Aggregate::Max => f32::NEG_INFINITY,
        };
        let aggregate = |acc: f32, w: f32| match self.aggregate {
            Aggregate::Sum | Aggregate::Average => acc + w,
            Aggregate::Min => acc.min(w),
            Aggregate::Max => acc.max(w),
        };
        match &self.forest.leaves {
            Leaves::One(values) => {
                let mut acc = start_value;
                reached.for_each(|leaf| acc = aggregate(acc, values[leaf]));
                out[0] = acc;
            }
            Leaves::Many {
                start,
                output,
                weight,
            } => {
                out.fill(start_value);
                reached.for_each(|leaf| {
                    for k in start[leaf] as usize..start[leaf + 1] as usize {
                        let t = output[k] as usize;
                        out[t] = aggregate(out[t], weight[k]);
                    }
                });
            }
        }
    }

    /// Turns the aggregates of any number of rows into values, in one pass
    /// (which vectorises; a call per row cost a 1,000-row batch of a
    /// decision tree a quarter of its time): a target no leaf reached is
    /// 0, an average divides by the number of trees, the base is added.
    fn finish(&self, values: &mut [f32]) {
        let trees = match self.aggregate {
            Aggregate::Average => self.forest.trees() as f32,
            _ => 1.0,
        };
        let finish = |v: f32, base: f32| {
            let reached = if v.is_infinite() { 0.0 } else { v };
            reached / trees + base
        };
        match self.base.as_slice() {
            [] => values.iter_mut().for_each(|v| *v = finish(*v, 0.0)),
            [base] => values.iter_mut().for_each(|v| *v = finish(*v, *base)),
            bases => values.chunks_exact_mut(self.targets).for_each(|row| {
                row.iter_mut()
                    .zip(bases)
                    .for_each(|(v, base)| *v = finish(*v, *base))
            }),
        }
    }
}

impl OnRows for Regressor {
    const ONNX: &'static str = "TreeEnsembleRegressor";

    fn labels(&self) -> Option<&Tensor> {
        None
    }

    fn width(&self) -> usize {
        self.targets
    }

    fn features(&self) -> RowWidth {
        RowWidth::AtLeast(self.forest.width)
    }

    fn row(&self, row: &[f32], out: &mut [f32]) -> usize {
        self.aggregate(Reached::Walk(&self.forest, row), out);
        self.finish(out);
        0
    }

    fn rows(&self, rows: &[f32], columns: usize, out: &mut [f32], picked: &mut Vec<usize>) {
        let width = self.width();
        super::each_row(
            &self.forest,
            rows,
            columns,
            out,
            width,
            picked,
            |reached, out| {
                self.aggregate(reached, out);
                0
            },
        );
        self.finish(out);
    }

    fn post(&self) -> PostTransform {
        self.post
    }
}

evaluated!(Regressor, "Sepal.TreeEnsembleRegressor");
