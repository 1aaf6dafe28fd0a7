//! `LinearClassifier` (LogisticRegression, LinearSVC, SGDClassifier in
//! skl2onnx's exports): scores `x · Wᵀ + b` per class, then the export's
//! `post_transform`; the label is the class of the highest raw score.
//! Registered in place of tract's, which cannot give text labels.
//!
//! With one row of coefficients and two labels (a binary model scoring its
//! positive class), onnxruntime writes `[1 − s, s]` and picks the positive
//! label when `s > 0`; Sepal does the same.

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
    super::parsed(LinearClassifier {
        coefficients,
        intercepts,
        features,
        labels,
        post,
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
        if self.intercepts.len() == 1 {
            // Each row's score into the first half of `out`, then spread
            // from the last row back as `[1 − s, s]` (row r's pair is at 2r,
            // never before a score still to be read): no second buffer.
            let n = out.len() / 2;
            super::linear_rows(
                rows,
                columns,
                &self.coefficients,
                &self.intercepts,
                &mut out[..n],
            );
            for r in (0..n).rev() {
                let s = out[r];
                out[2 * r..2 * r + 2].copy_from_slice(&[1.0 - s, s]);
            }
            picked.extend(out.chunks_exact(2).map(|pair| usize::from(pair[1] > 0.0)));
            return;
        }
        super::linear_rows(rows, columns, &self.coefficients, &self.intercepts, out);
        picked.extend(
            out.chunks_exact(self.intercepts.len())
                .map(super::first_max),
        );
    }

    fn post(&self) -> PostTransform {
        // One score's `[1 − s, s]` takes none.
        if self.intercepts.len() == 1 {
            PostTransform::None
        } else {
            self.post
        }
    }
}

evaluated!(LinearClassifier, "Sepal.LinearClassifier");
