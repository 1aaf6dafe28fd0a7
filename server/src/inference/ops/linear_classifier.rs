//! `LinearClassifier` (LogisticRegression, LinearSVC, SGDClassifier in
//! skl2onnx's exports): scores `x · Wᵀ + b` per class, then the export's
//! `post_transform`; the label is the class of the highest raw score.
//! Registered in place of tract's, which cannot give text labels.
//!
//! With one row of coefficients and two labels (a binary model scoring its
//! positive class), onnxruntime writes `[1 − s, s]` and picks the positive
//! label when `s > 0`; Sepal does the same. skl2onnx writes a binary
//! LogisticRegression as two rows, the first the negation of the second:
//! Sepal scores the second alone and writes `[−s, s]`, the very numbers
//! both rows give (negation only flips each rounded step's sign), in half
//! the work.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_hir::internal::*,
};

use super::{OnRows, RowWidth, evaluated, post_transform::PostTransform};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("LinearClassifier", parse);
}

#[derive(Clone, Debug, PartialEq)]
struct LinearClassifier {
    /// `[classes, features]`, row by row.
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    features: usize,
    labels: Arc<Tensor>,
    post: PostTransform,
    scores: Scores,
}

/// How the rows of coefficients score the classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scores {
    /// A row per class.
    PerClass,
    /// One row scores the second of two classes: `[1 − s, s]`.
    Positive,
    /// Two rows, the first the negation of the second: `[−s, s]`.
    Mirrored,
}

impl Eq for LinearClassifier {}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = super::class_labels(node, "classlabels_ints")?;
    let coefficients: Vec<f32> = node.get_attr_vec("coefficients")?;
    let intercepts: Vec<f32> = node.get_attr_opt_vec("intercepts")?.unwrap_or_default();
    // onnxruntime counts the classes by the intercepts.
    let rows = if intercepts.is_empty() {
        labels.len()
    } else {
        intercepts.len()
    };
    node.expect_attr(
        "coefficients",
        !coefficients.is_empty() && coefficients.len().is_multiple_of(rows),
        || format!("whole rows for {rows} classes"),
    )?;
    let intercepts = if intercepts.is_empty() {
        vec![0.0; rows]
    } else {
        intercepts
    };
    let post = PostTransform::parse(node.get_attr_opt("post_transform")?)?;
    if rows == 1 {
        node.expect(
            labels.len() == 2,
            "one row of coefficients scores one of two classes",
        )?;
        node.expect_attr(
            "post_transform",
            post != PostTransform::Probit,
            "not PROBIT for one score",
        )?;
    } else {
        node.expect(
            labels.len() == rows,
            "as many labels as rows of coefficients",
        )?;
    }
    let features = coefficients.len() / rows;
    let (first, second) = coefficients.split_at(features);
    let scores = if rows == 1 {
        Scores::Positive
    } else if rows == 2
        && first.iter().zip(second).all(|(a, b)| *a == -*b)
        && intercepts[0] == -intercepts[1]
    {
        Scores::Mirrored
    } else {
        Scores::PerClass
    };
    super::parsed(LinearClassifier {
        coefficients,
        intercepts,
        features,
        labels,
        post,
        scores,
    })
}

impl OnRows for LinearClassifier {
    const ONNX: &'static str = "LinearClassifier";

    fn labels(&self) -> Option<&Tensor> {
        Some(&self.labels)
    }

    fn width(&self) -> usize {
        self.labels.len()
    }

    fn features(&self) -> RowWidth {
        RowWidth::Exactly(self.features)
    }

    fn row(&self, row: &[f32], out: &mut [f32]) -> usize {
        let mut picked = Vec::with_capacity(1);
        self.rows(row, row.len(), out, &mut picked);
        picked.first().copied().unwrap_or(0)
    }

    fn rows(&self, rows: &[f32], columns: usize, out: &mut [f32], picked: &mut Vec<usize>) {
        let other = match self.scores {
            Scores::PerClass => {
                super::linear_rows(rows, columns, &self.coefficients, &self.intercepts, out);
                picked.extend(
                    out.chunks_exact(self.intercepts.len())
                        .map(super::first_max),
                );
                return;
            }
            Scores::Positive => |s: f32| 1.0 - s,
            Scores::Mirrored => |s: f32| -s,
        };
        // The second class's score of each row into the first half of
        // `out`, then spread from the last row back as a pair (row r's is
        // at 2r, never before a score still to be read): no second buffer.
        let n = out.len() / 2;
        let last = self.intercepts.len() - 1;
        super::linear_rows(
            rows,
            columns,
            &self.coefficients[last * self.features..],
            &self.intercepts[last..],
            &mut out[..n],
        );
        for r in (0..n).rev() {
            let s = out[r];
            out[2 * r..2 * r + 2].copy_from_slice(&[other(s), s]);
        }
        // The second class when its score is the higher, in both cases.
        picked.extend(out.chunks_exact(2).map(|pair| usize::from(pair[1] > 0.0)));
    }

    fn post(&self) -> PostTransform {
        // One score's `[1 − s, s]` takes none.
        if self.scores == Scores::Positive {
            PostTransform::None
        } else {
            self.post
        }
    }
}

evaluated!(LinearClassifier, "Sepal.LinearClassifier");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirrored_pair_scores_as_both_rows_do() {
        let w = [0.7f32, -1.3, 2.9, 0.011];
        let coefficients: Vec<f32> = w.iter().map(|x| -x).chain(w).collect();
        let classifier = |scores| LinearClassifier {
            coefficients: coefficients.clone(),
            intercepts: vec![-0.4, 0.4],
            features: 4,
            labels: rctensor1(&[0i64, 1]),
            post: PostTransform::None,
            scores,
        };
        // 40 rows: a block of 32 and a rest in the per-class path.
        let rows: Vec<f32> = (0..40 * 4)
            .map(|i| ((i * 7919) % 997) as f32 / 37.0 - 13.0)
            .collect();
        let run = |op: LinearClassifier| {
            let (mut out, mut picked) = (vec![0.0; 80], Vec::new());
            op.rows(&rows, 4, &mut out, &mut picked);
            (out, picked)
        };
        let (mirrored, per_class) = (
            run(classifier(Scores::Mirrored)),
            run(classifier(Scores::PerClass)),
        );
        assert_eq!(mirrored, per_class);
        assert!(per_class.1.contains(&0) && per_class.1.contains(&1));
    }
}
