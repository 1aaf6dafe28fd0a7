//! `TreeEnsembleClassifier`: each class's score is the sum of the weights of
//! the leaves a row reaches (plus a base value), then the export's
//! `post_transform`. Outputs the label `[N]` and the scores `[N, classes]`.
//!
//! A binary model usually scores one class only (every leaf weight on class
//! 0, the positive one): onnxruntime then writes `[1 − s, s]` with the label
//! `s > 0.5` when all weights are positive (forests: s is a probability),
//! else `[σ(−s), σ(s)]` under LOGISTIC or `[−s, s]` with the label `s > 0`
//! (boosting: s is a log-odds). Sepal does the same.

use tract_onnx::{model::ParsingContext, pb::NodeProto, tract_hir::internal::*};

use super::forest::{Forest, Leaves};
use crate::inference::ops::post_transform::{PostTransform, logistic};

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
    let labels = class_labels(node)?;
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
    Ok((expand(ClassifierExpansion(op)), vec![]))
}

fn class_labels(node: &NodeProto) -> TractResult<Arc<Tensor>> {
    let ints = node.get_attr_opt_slice::<i64>("classlabels_int64s")?;
    let strings = node.get_attr_opt_tvec::<String>("classlabels_strings")?;
    let labels = match (ints, strings) {
        (Some(ints), None) => rctensor1(ints),
        (None, Some(strings)) => rctensor1(&strings),
        _ => node.bail("needs one of classlabels_int64s and classlabels_strings")?,
    };
    node.expect(labels.len() >= 2, "at least two classes")?;
    Ok(labels)
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
                if positive {
                    scores.copy_from_slice(&[1.0 - s, s]);
                    usize::from(s > 0.5)
                } else {
                    if self.post == PostTransform::Logistic {
                        scores.copy_from_slice(&[logistic(-s), logistic(s)]);
                    } else {
                        scores.copy_from_slice(&[-s, s]);
                    }
                    usize::from(s > 0.0)
                }
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
        let (width, values) = super::rows(&input, self.forest.width)?;
        let n = input.shape()[0];
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
        let labels = self.labels.try_as_plain_ram()?;
        let labels = if let Ok(ints) = labels.as_slice::<i64>() {
            tensor1(&picked.iter().map(|&i| ints[i]).collect::<Vec<_>>())
        } else {
            let strings = labels.as_slice::<String>()?;
            tensor1(
                &picked
                    .iter()
                    .map(|&i| strings[i].clone())
                    .collect::<Vec<_>>(),
            )
        };
        Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
    }
}

impl TypedOp for Classifier {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        Ok(tvec!(
            self.labels.datum_type().fact([n.clone()]),
            f32::fact([n, self.labels.len().to_dim()])
        ))
    }

    as_op!();
}

/// Parses into the classifier; `wire` puts it in the typed graph.
#[derive(Clone, Debug)]
struct ClassifierExpansion(Classifier);

impl Expansion for ClassifierExpansion {
    fn name(&self) -> StaticName {
        "TreeEnsembleClassifier".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 2)?;
        s.equals(&inputs[0].rank, 2)?;
        s.equals(&outputs[0].datum_type, self.0.labels.datum_type())?;
        s.equals(&outputs[0].rank, 1)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[1].rank, 2)?;
        s.equals(&outputs[1].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[1].shape[1], self.0.labels.len().to_dim())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let x = crate::inference::ops::as_f32(prefix, model, inputs[0])?;
        model.wire_node(prefix, self.0.clone(), &[x])
    }
}
