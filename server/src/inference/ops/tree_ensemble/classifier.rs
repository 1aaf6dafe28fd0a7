//! `TreeEnsembleClassifier`: each class's score is the sum of the weights of
//! the leaves a row reaches (plus a base value), then the export's
//! `post_transform`. Outputs the label `[N]` and the scores `[N, classes]`.
//!
//! A binary model usually scores one class only (every leaf weight on class
//! 0, the positive one). onnxruntime (1.32) then picks the positive label
//! when `s > 0.5` if all weights are positive (forests: s is a probability),
//! else when `s > 0` (boosting: s is a log-odds); it writes `[σ(−s), σ(s)]`
//! under LOGISTIC, else `[1 − s, s]` (positive weights) or `[−s, s]`.
//! Sepal does the same.

use tract_onnx::{model::ParsingContext, pb::NodeProto, tract_hir::internal::*};

use super::forest::{Forest, Leaves};
use crate::inference::ops::{
    OnRows,
    post_transform::{PostTransform, logistic},
};

#[derive(Clone, Debug, PartialEq)]
struct Classifier {
    forest: Arc<Forest>,
    /// `classlabels_int64s` or `classlabels_strings`, `[classes]`.
    labels: Arc<Tensor>,
    base: Vec<f32>,
    post: PostTransform,
    /// One score for the positive class of two (see the module doc);
    /// `positive` says whether every weight is ≥ 0.
    binary: Option<Binary>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Binary {
    positive: bool,
}

impl Eq for Classifier {}

pub fn parse(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = super::super::class_labels(node, "classlabels_int64s")?;
    let classes = labels.len();
    let attributes = super::attributes(ctx, node, "class")?;
    let post = PostTransform::parse(node.get_attr_opt("post_transform")?)?;
    let base = super::floats(ctx, node, "base_values")?.unwrap_or_default();
    let one_class_scored = attributes.weight_outputs.iter().all(|&c| c == 0);
    let binary = (classes == 2 && one_class_scored).then(|| Binary {
        positive: attributes.weights.iter().all(|&w| w >= 0.0),
    });
    if binary.is_some() {
        node.expect_attr(
            "base_values",
            base.len() <= 1,
            "at most one value for one score",
        )?;
        node.expect_attr(
            "post_transform",
            post != PostTransform::Probit,
            "not PROBIT for one score",
        )?;
    } else {
        node.expect_attr(
            "base_values",
            base.len() <= classes,
            "at most one value per class",
        )?;
    }
    let outputs = if binary.is_some() { 1 } else { classes };
    let forest = Forest::build(&attributes, outputs).map_err(|e| format_err!("{e}"))?;
    let op = Classifier {
        forest: Arc::new(forest),
        labels,
        base,
        post,
        binary,
    };
    super::super::parsed(op)
}

impl Classifier {
    /// Scores one row into `scores` and returns its class index.
    #[inline]
    fn score(&self, row: &[f32], scores: &mut [f32]) -> usize {
        match (&self.forest.leaves, self.binary) {
            (Leaves::One(values), Some(Binary { positive })) => {
                let mut s = 0.0;
                self.forest.for_each_leaf(row, |leaf| s += values[leaf]);
                s += self.base.first().copied().unwrap_or(0.0);
                // Logistic scores either way (onnxruntime ≥ 1.26, for
                // positive weights too); the label's threshold stays what s
                // is: a probability (0.5) or a log-odds (0).
                if self.post == PostTransform::Logistic {
                    scores.copy_from_slice(&[logistic(-s), logistic(s)]);
                } else if positive {
                    scores.copy_from_slice(&[1.0 - s, s]);
                } else {
                    scores.copy_from_slice(&[-s, s]);
                }
                usize::from(if positive { s > 0.5 } else { s > 0.0 })
            }
            (
                Leaves::Many {
                    start,
                    output,
                    weight,
                },
                None,
            ) => {
                scores.fill(0.0);
                self.forest.for_each_leaf(row, |leaf| {
                    for k in start[leaf] as usize..start[leaf + 1] as usize {
                        scores[output[k] as usize] += weight[k];
                    }
                });
                scores.iter_mut().zip(&self.base).for_each(|(s, b)| *s += b);
                // The first class of the highest raw score.
                let class = scores
                    .iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (i, &s)| {
                        if s > best.1 { (i, s) } else { best }
                    })
                    .0;
                self.post.apply(scores);
                class
            }
            // `parse` builds one-value leaves exactly for the binary case.
            _ => 0,
        }
    }
}

impl Op for Classifier {
    fn name(&self) -> StaticName {
        "Sepal.TreeEnsembleClassifier".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} trees, {} classes, {:?}, binary: {:?}",
            self.forest.trees(),
            self.labels.len(),
            self.post,
            self.binary
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for Classifier {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let (n, width, values) = crate::inference::ops::rows(&input)?;
        ensure!(
            width >= self.forest.width,
            "the trees read {} features, the input has {width}",
            self.forest.width
        );
        let classes = self.labels.len();
        let mut scores = Tensor::zero::<f32>(&[n, classes])?;
        let mut picked = Vec::with_capacity(n);
        {
            let mut plain = scores.try_as_plain_ram_mut()?;
            let out = plain.as_slice_mut::<f32>()?;
            for (row, out) in values
                .chunks_exact(width.max(1))
                .zip(out.chunks_exact_mut(classes))
            {
                picked.push(self.score(row, out));
            }
        }
        let labels = super::super::labels_of(&self.labels, &picked)?;
        Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
    }
}

impl TypedOp for Classifier {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(self.facts(&inputs[0].shape[0]))
    }

    as_op!();
}

impl OnRows for Classifier {
    const ONNX: &'static str = "TreeEnsembleClassifier";

    fn label_type(&self) -> Option<DatumType> {
        Some(self.labels.datum_type())
    }

    fn width(&self) -> usize {
        self.labels.len()
    }
}
