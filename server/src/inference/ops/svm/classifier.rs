//! `SVMClassifier` (SVC, NuSVC): one-vs-one. For each pair of classes
//! (i, j) the decision value is a weighted sum of kernels over both
//! classes' support vectors plus `rho`; a positive value is a vote for i.
//! The label is the class with the most votes (the first on a tie), as in
//! scikit-learn's `predict`, even when probabilities are computed.
//!
//! Scores: with `prob_a`/`prob_b` (`SVC(probability=True)`), each pair's
//! decision goes through its Platt sigmoid and the pairwise probabilities
//! are coupled into one per class (libsvm's method, as onnxruntime runs
//! it); without, the decision values themselves (`[−d, d]` for two classes).
//! With no support vectors it is a linear model, scored per class.

use tract_onnx::{model::ParsingContext, pb::NodeProto, tract_hir::internal::*};

use super::{Kernel, SupportVectors};
use crate::inference::ops::{OnRows, RowWidth, evaluated, post_transform::PostTransform};

#[derive(Clone, Debug, PartialEq)]
struct Classifier {
    kernel: Kernel,
    labels: Arc<Tensor>,
    /// Empty for a linear model.
    vectors: SupportVectors,
    /// Where each class's support vectors start, and one past the last.
    starts: Vec<usize>,
    /// `[classes − 1, vectors]` (libsvm's layout), or `[classes, features]`
    /// for a linear model.
    coefficients: Vec<f32>,
    /// One per pair of classes (one for a linear model).
    rho: Vec<f32>,
    /// Platt's sigmoid per pair, when the model gives probabilities.
    platt: Option<(Vec<f32>, Vec<f32>)>,
    features: usize,
    post: PostTransform,
}

impl Eq for Classifier {}

pub fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = crate::inference::ops::class_labels(node, "classlabels_ints")?;
    let k = labels.len();
    let coefficients: Vec<f32> = node.get_attr_vec("coefficients")?;
    let rho: Vec<f32> = node.get_attr_vec("rho")?;
    let support_vectors: Vec<f32> = node
        .get_attr_opt_vec("support_vectors")?
        .unwrap_or_default();
    let per_class: Vec<usize> = node
        .get_attr_opt_vec("vectors_per_class")?
        .unwrap_or_default();
    let post = PostTransform::parse(node.get_attr_opt("post_transform")?)?;
    let prob_a: Vec<f32> = node.get_attr_opt_vec("prob_a")?.unwrap_or_default();
    let prob_b: Vec<f32> = node.get_attr_opt_vec("prob_b")?.unwrap_or_default();
    node.expect_attr(
        "prob_b",
        prob_a.len() == prob_b.len(),
        "as many values as prob_a",
    )?;
    let vectors: usize = per_class.iter().sum();
    let pairs = k * (k - 1) / 2;
    let mut starts = vec![0];
    for n in &per_class {
        starts.push(starts.last().copied().unwrap_or(0) + n);
    }

    let (kernel, features, platt) = if vectors == 0 {
        node.expect_attr(
            "coefficients",
            coefficients.len().is_multiple_of(k),
            "whole rows, one per class",
        )?;
        node.expect_attr("rho", !rho.is_empty(), "a value")?;
        (Kernel::Linear, coefficients.len() / k, None)
    } else {
        node.expect_attr(
            "vectors_per_class",
            per_class.len() == k,
            "one count per class",
        )?;
        node.expect_attr(
            "support_vectors",
            support_vectors.len().is_multiple_of(vectors),
            "whole vectors",
        )?;
        node.expect_attr(
            "coefficients",
            coefficients.len() == (k - 1) * vectors,
            "(classes − 1) × vectors values",
        )?;
        node.expect_attr("rho", rho.len() == pairs, "one value per pair of classes")?;
        let platt = if prob_a.is_empty() {
            if k == 2 {
                node.expect_attr(
                    "post_transform",
                    post != PostTransform::Probit,
                    "not PROBIT for one decision",
                )?;
            }
            None
        } else {
            node.expect_attr(
                "prob_a",
                prob_a.len() == pairs,
                "one value per pair of classes",
            )?;
            Some((prob_a, prob_b))
        };
        (Kernel::parse(node)?, support_vectors.len() / vectors, platt)
    };
    crate::inference::ops::parsed(Classifier {
        kernel,
        labels,
        vectors: SupportVectors::new(&support_vectors, features),
        starts,
        coefficients,
        rho,
        platt,
        features,
        post,
    })
}

impl Classifier {
    fn classes(&self) -> usize {
        self.labels.len()
    }

    /// Scores one row into `scores`; returns its class index.
    fn score(&self, row: &[f32], scores: &mut [f32]) -> usize {
        if self.vectors.is_empty() {
            return self.score_linear(row, scores);
        }
        let k = self.classes();
        let vectors = self.starts[k];
        let mut kernels = Vec::new();
        self.vectors.kernels(self.kernel, row, &mut kernels);

        // One decision per pair, in libsvm's order; products in f32 summed
        // in f64, as onnxruntime.
        let mut votes: TVec<u32> = tvec![0; k];
        let mut decisions: TVec<f32> = tvec!();
        let mut pair = 0;
        for i in 0..k {
            for j in i + 1..k {
                let side = |class: usize, row_of_coefficients: usize| -> f64 {
                    let (from, to) = (self.starts[class], self.starts[class + 1]);
                    let weights = &self.coefficients
                        [row_of_coefficients * vectors + from..row_of_coefficients * vectors + to];
                    weights
                        .iter()
                        .zip(&kernels[from..to])
                        .map(|(w, k)| f64::from(w * k))
                        .sum()
                };
                let sum = side(i, j - 1) + side(j, i) + f64::from(self.rho[pair]);
                votes[if sum > 0.0 { i } else { j }] += 1;
                decisions.push(sum as f32);
                pair += 1;
            }
        }
        let class = votes
            .iter()
            .enumerate()
            .fold(
                (0, 0),
                |best, (c, &v)| if v > best.1 { (c, v) } else { best },
            )
            .0;

        match &self.platt {
            Some((a, b)) => {
                couple(k, &decisions, a, b, scores);
                self.post.apply(scores);
            }
            None if k == 2 => {
                let d = decisions[0];
                let pair = if self.post == PostTransform::None {
                    [-d, d]
                } else {
                    [1.0 - d, d]
                };
                scores.copy_from_slice(&pair);
            }
            None => {
                scores.copy_from_slice(&decisions);
                self.post.apply(scores);
            }
        }
        class
    }

    /// A linear model: one score per class, `x · w_c + rho[0]`.
    fn score_linear(&self, row: &[f32], scores: &mut [f32]) -> usize {
        for (score, w) in scores
            .iter_mut()
            .zip(self.coefficients.chunks_exact(self.features))
        {
            *score = crate::inference::ops::dot(w, row) + self.rho[0];
        }
        let (best, max) = scores
            .iter()
            .enumerate()
            .fold(
                (0, f32::NEG_INFINITY),
                |b, (i, &s)| if s > b.1 { (i, s) } else { b },
            );
        let all_positive = self.coefficients.iter().all(|&c| c >= 0.0);
        // onnxruntime's rule for two classes without probabilities.
        let class = if self.classes() == 2
            && ((all_positive && max >= 0.5) || (!all_positive && max > 0.0))
        {
            1
        } else {
            best
        };
        self.post.apply(scores);
        class
    }

    /// Columns of the score output.
    fn score_width(&self) -> usize {
        let k = self.classes();
        if self.vectors.is_empty() || self.platt.is_some() || k == 2 {
            k
        } else {
            k * (k - 1) / 2
        }
    }
}

/// libsvm's pairwise coupling: the class probabilities `p` that best agree
/// with the pairwise ones from each decision's Platt sigmoid, found by up
/// to 100 rounds of its fixed-point iteration, in f32 as onnxruntime runs it.
fn couple(k: usize, decisions: &[f32], a: &[f32], b: &[f32], p: &mut [f32]) {
    // r[i][j]: the probability of i against j.
    let mut r = vec![0f32; k * k];
    let mut pair = 0;
    for i in 0..k {
        for j in i + 1..k {
            let sigmoid = 1.0
                - crate::inference::ops::post_transform::logistic(
                    decisions[pair] * a[pair] + b[pair],
                );
            let probability = sigmoid.clamp(1e-7, 1.0 - 1e-7);
            r[i * k + j] = probability;
            r[j * k + i] = 1.0 - probability;
            pair += 1;
        }
    }
    let mut q = vec![0f32; k * k];
    for t in 0..k {
        for j in 0..t {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for j in t + 1..k {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    p.fill(1.0 / k as f32);
    let mut qp = vec![0f32; k];
    let epsilon = 0.005 / k as f32;
    for _ in 0..100 {
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
            pqp += p[t] * qp[t];
        }
        if qp.iter().all(|&v| (v - pqp).abs() < epsilon) {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
}

impl OnRows for Classifier {
    const ONNX: &'static str = "SVMClassifier";

    fn labels(&self) -> Option<&Tensor> {
        Some(&self.labels)
    }

    fn width(&self) -> usize {
        self.score_width()
    }

    fn features(&self) -> RowWidth {
        RowWidth::Exactly(self.features)
    }

    fn row(&self, row: &[f32], out: &mut [f32]) -> usize {
        self.score(row, out)
    }
}

evaluated!(Classifier, "Sepal.SVMClassifier");
