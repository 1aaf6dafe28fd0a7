//! `SVMRegressor` (SVR, and liblinear's linear regressors): the weighted sum
//! of the kernels between the row and each support vector, plus `rho`; with
//! no support vectors, `x · coefficients + rho`. One-class models answer
//! ±1. onnxruntime ignores `post_transform` here, and so does Sepal.

use tract_onnx::{model::ParsingContext, pb::NodeProto, tract_hir::internal::*};

use super::{Kernel, SupportVectors};
use crate::inference::ops::{OnRows, RowWidth, evaluated};

#[derive(Clone, Debug, PartialEq)]
struct Regressor {
    kernel: Kernel,
    /// Empty for a linear model.
    vectors: SupportVectors,
    coefficients: Vec<f32>,
    rho: f32,
    features: usize,
    one_class: bool,
}

impl Eq for Regressor {}

pub fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let coefficients: Vec<f32> = node.get_attr_vec("coefficients")?;
    let support_vectors: Vec<f32> = node
        .get_attr_opt_vec("support_vectors")?
        .unwrap_or_default();
    let vectors: usize = node.get_attr_opt("n_supports")?.unwrap_or(0);
    let rho: Vec<f32> = node.get_attr_vec("rho")?;
    node.expect_attr("rho", rho.len() == 1, "one value")?;
    let (kernel, features) = if vectors == 0 {
        (Kernel::Linear, coefficients.len())
    } else {
        node.expect_attr(
            "coefficients",
            coefficients.len() == vectors,
            "one per support vector",
        )?;
        node.expect_attr(
            "support_vectors",
            !support_vectors.is_empty() && support_vectors.len().is_multiple_of(vectors),
            "n_supports whole vectors",
        )?;
        (Kernel::parse(node)?, support_vectors.len() / vectors)
    };
    let one_class = node.get_attr_opt::<i64>("one_class")?.unwrap_or(0) != 0;
    crate::inference::ops::parsed(Regressor {
        kernel,
        vectors: SupportVectors::new(&support_vectors, features),
        coefficients,
        rho: rho[0],
        features,
        one_class,
    })
}

impl Regressor {
    fn predict(&self, row: &[f32]) -> f32 {
        let sum = if self.vectors.is_empty() {
            crate::inference::ops::dot(&self.coefficients, row)
        } else {
            let mut kernels = Vec::new();
            self.vectors.kernels(self.kernel, row, &mut kernels);
            kernels
                .iter()
                .zip(&self.coefficients)
                .map(|(k, c)| k * c)
                .sum()
        };
        let y = sum + self.rho;
        match (self.one_class, y > 0.0) {
            (false, _) => y,
            (true, true) => 1.0,
            (true, false) => -1.0,
        }
    }
}

impl OnRows for Regressor {
    const ONNX: &'static str = "SVMRegressor";

    fn labels(&self) -> Option<&Tensor> {
        None
    }

    fn width(&self) -> usize {
        1
    }

    fn features(&self) -> RowWidth {
        RowWidth::Exactly(self.features)
    }

    fn row(&self, row: &[f32], out: &mut [f32]) -> usize {
        out[0] = self.predict(row);
        0
    }
}

evaluated!(Regressor, "Sepal.SVMRegressor");
