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

use super::forest::{Forest, Leaves, Reached};
use crate::inference::ops::{
    OnRows, RowWidth, evaluated, first_max,
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
    ctx: &ParsingContext<'_>,
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
    let forest = Forest::build(&attributes, outputs)?;
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
    /// Scores one row into `scores` (before the post transform, but for a
    /// binary ensemble's) and returns its class index.
    #[inline]
    fn score(&self, reached: Reached<'_>, scores: &mut [f32]) -> usize {
        match (&self.forest.leaves, self.binary) {
            (Leaves::One(values), Some(Binary { positive })) => {
                let mut s = 0.0;
                reached.for_each(|leaf| s += values[leaf]);
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
                reached.for_each(|leaf| {
                    for k in start[leaf] as usize..start[leaf + 1] as usize {
                        scores[output[k] as usize] += weight[k];
                    }
                });
                scores.iter_mut().zip(&self.base).for_each(|(s, b)| *s += b);
                // The post transform follows, for all rows at once (`post`).
                first_max(scores)
            }
            // `parse` builds one-value leaves exactly for the binary case.
            _ => 0,
        }
    }
}

impl OnRows for Classifier {
    const ONNX: &'static str = "TreeEnsembleClassifier";

    fn labels(&self) -> Option<&Tensor> {
        Some(&self.labels)
    }

    fn width(&self) -> usize {
        self.labels.len()
    }

    fn features(&self) -> RowWidth {
        RowWidth::AtLeast(self.forest.width)
    }

    fn row(&self, row: &[f32], out: &mut [f32]) -> usize {
        self.score(Reached::Walk(&self.forest, row), out)
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
            |reached, out| self.score(reached, out),
        );
    }

    /// A binary ensemble's one score is turned into two in `score`.
    fn post(&self) -> PostTransform {
        match self.binary {
            Some(_) => PostTransform::None,
            None => self.post,
        }
    }
}

evaluated!(Classifier, "Sepal.TreeEnsembleClassifier");
