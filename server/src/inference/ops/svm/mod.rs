//! `SVMClassifier` and `SVMRegressor` (scikit-learn's SVC and SVR, and
//! liblinear's linear models when there are no support vectors): the
//! kernel between a row and each support vector, then the weighted sums
//! onnxruntime computes, with its one-vs-one votes and probability
//! coupling for classifiers.

mod classifier;
mod regressor;

use tract_onnx::{model::OnnxOpRegister, pb::NodeProto, tract_hir::internal::*};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("SVMClassifier", classifier::parse);
    registry.insert("SVMRegressor", regressor::parse);
}

/// `kernel_type` with its `kernel_params` (gamma, coef0, degree).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    Linear,
    Poly { gamma: f32, coef0: f32, degree: f32 },
    Rbf { gamma: f32 },
    Sigmoid { gamma: f32, coef0: f32 },
}

impl Kernel {
    fn parse(node: &NodeProto) -> TractResult<Self> {
        let params: Vec<f32> = node.get_attr_opt_vec("kernel_params")?.unwrap_or_default();
        let param = |i: usize| params.get(i).copied().unwrap_or(0.0);
        let (gamma, coef0, degree) = (param(0), param(1), param(2));
        Ok(
            match node
                .get_attr_opt::<&str>("kernel_type")?
                .unwrap_or("LINEAR")
            {
                "LINEAR" => Kernel::Linear,
                "POLY" => Kernel::Poly {
                    gamma,
                    coef0,
                    degree,
                },
                "RBF" => Kernel::Rbf { gamma },
                "SIGMOID" => Kernel::Sigmoid { gamma, coef0 },
                other => node.bail(&format!(
                    "kernel_type `{other}` is not one of LINEAR, POLY, RBF, SIGMOID"
                ))?,
            },
        )
    }

    /// The kernel of `x` and `v`, in f32.
    #[inline]
    fn of(self, x: &[f32], v: &[f32]) -> f32 {
        let dot = || super::dot(x, v);
        match self {
            Kernel::Linear => dot(),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => {
                let base = gamma * dot() + coef0;
                if degree == 2.0 {
                    base * base
                } else if degree == 3.0 {
                    base * base * base
                } else {
                    base.powf(degree)
                }
            }
            Kernel::Rbf { gamma } => (-gamma * super::squared_distance(x, v)).exp(),
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
        }
    }
}
