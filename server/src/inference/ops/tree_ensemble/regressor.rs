//! `TreeEnsembleRegressor`: each target is the sum (or average, minimum,
//! maximum) of the weights of the leaves a row reaches, plus a base value.
//! Outputs `[N, targets]`.
//!
//! As in onnxruntime: with one target only PROBIT of the post transforms is
//! applied (the others leave one value as it is), and an average divides by
//! the number of trees.

use tract_onnx::{model::ParsingContext, pb::NodeProto, tract_hir::internal::*};

use super::forest::{Forest, Leaves};
use crate::inference::ops::{OnRows, post_transform::PostTransform};

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
    ctx: &ParsingContext,
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
    let mut post = PostTransform::parse(node.get_attr_opt("post_transform")?)?;
    if targets == 1 && post != PostTransform::Probit {
        post = PostTransform::None;
    }
    let attributes = super::attributes(ctx, node, "target")?;
    let forest = Forest::build(&attributes, targets).map_err(|e| format_err!("{e}"))?;
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
    #[inline]
    fn predict(&self, row: &[f32], out: &mut [f32]) {
        // Min and max start from infinities; a target no leaf reached is 0.
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
                self.forest
                    .for_each_leaf(row, |leaf| acc = aggregate(acc, values[leaf]));
                out[0] = acc;
            }
            Leaves::Many {
                start,
                output,
                weight,
            } => {
                out.fill(start_value);
                self.forest.for_each_leaf(row, |leaf| {
                    for k in start[leaf] as usize..start[leaf + 1] as usize {
                        let t = output[k] as usize;
                        out[t] = aggregate(out[t], weight[k]);
                    }
                });
            }
        }
        out.iter_mut()
            .filter(|v| v.is_infinite())
            .for_each(|v| *v = 0.0);
        if self.aggregate == Aggregate::Average {
            let trees = self.forest.trees() as f32;
            out.iter_mut().for_each(|v| *v /= trees);
        }
        out.iter_mut().zip(&self.base).for_each(|(v, b)| *v += b);
        self.post.apply(out);
    }
}

impl Op for Regressor {
    fn name(&self) -> StaticName {
        "Sepal.TreeEnsembleRegressor".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} trees, {} targets, {:?}, {:?}",
            self.forest.trees(),
            self.targets,
            self.aggregate,
            self.post
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Regressor {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let (n, width, values) = crate::inference::ops::rows(&input)?;
        ensure!(
            width >= self.forest.width,
            "the trees read {} features, the input has {width}",
            self.forest.width
        );
        let mut out = Tensor::zero::<f32>(&[n, self.targets])?;
        {
            let mut plain = out.try_as_plain_ram_mut()?;
            let cells = plain.as_slice_mut::<f32>()?;
            for (row, cells) in values
                .chunks_exact(width.max(1))
                .zip(cells.chunks_exact_mut(self.targets))
            {
                self.predict(row, cells);
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Regressor {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(self.facts(&inputs[0].shape[0]))
    }

    as_op!();
}

impl OnRows for Regressor {
    const ONNX: &'static str = "TreeEnsembleRegressor";

    fn label_type(&self) -> Option<DatumType> {
        None
    }

    fn width(&self) -> usize {
        self.targets
    }
}
