//! `LinearRegressor` (LinearRegression, Ridge, Lasso, SGDRegressor… in
//! skl2onnx's exports): `x · Wᵀ + b` per target, then the export's
//! `post_transform` (as onnxruntime: with one target only PROBIT).
//! Registered in place of tract's, which wires a matrix
//! product: for the one column of a regressor that took ~35 ns per row of a
//! 1,000-row batch, twice onnxruntime's time.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_hir::internal::*,
};

use super::{OnRows, RowWidth, evaluated, post_transform::PostTransform};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("LinearRegressor", parse);
}

#[derive(Clone, Debug, PartialEq)]
struct LinearRegressor {
    /// `[targets, features]`, row by row.
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    features: usize,
    post: PostTransform,
}

impl Eq for LinearRegressor {}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let targets: i64 = node.get_attr_opt("targets")?.unwrap_or(1);
    let targets = usize::try_from(targets).unwrap_or(0);
    node.expect_attr("targets", targets >= 1, "at least one target")?;
    let coefficients: Vec<f32> = node.get_attr_vec("coefficients")?;
    node.expect_attr(
        "coefficients",
        !coefficients.is_empty() && coefficients.len().is_multiple_of(targets),
        || format!("whole rows for {targets} targets"),
    )?;
    let intercepts = match node.get_attr_opt_vec::<f32>("intercepts")? {
        None => vec![0.0; targets],
        Some(intercepts) => {
            node.expect_attr("intercepts", intercepts.len() == targets, || {
                format!("one per target ({targets})")
            })?;
            intercepts
        }
    };
    super::parsed(LinearRegressor {
        features: coefficients.len() / targets,
        coefficients,
        intercepts,
        post: PostTransform::parse(node.get_attr_opt("post_transform")?)?.of_regressor(targets),
    })
}

impl OnRows for LinearRegressor {
    const ONNX: &'static str = "LinearRegressor";

    fn labels(&self) -> Option<&Tensor> {
        None
    }

    fn width(&self) -> usize {
        self.intercepts.len()
    }

    fn features(&self) -> RowWidth {
        RowWidth::Exactly(self.features)
    }

    fn row(&self, row: &[f32], out: &mut [f32]) -> usize {
        self.rows(row, row.len(), out, &mut Vec::new());
        0
    }

    fn rows(&self, rows: &[f32], columns: usize, out: &mut [f32], _: &mut Vec<usize>) {
        super::linear_rows(rows, columns, &self.coefficients, &self.intercepts, out);
    }

    fn post(&self) -> PostTransform {
        self.post
    }
}

evaluated!(LinearRegressor, "Sepal.LinearRegressor");
