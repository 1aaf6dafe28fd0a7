//! `SVMClassifier` and `SVMRegressor` (scikit-learn's SVC and SVR, and
//! liblinear's linear models when there are no support vectors): the
//! kernel between a row and each support vector, then the weighted sums
//! onnxruntime computes, with its one-vs-one votes and probability
//! coupling for classifiers.

mod classifier;
mod regressor;

use tract_onnx::{model::OnnxOpRegister, pb::NodeProto, tract_hir::internal::*};

use super::exp::exp_lanes;

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
}

/// f32 values in one AVX vector.
const LANES: usize = 8;

/// The support vectors feature by feature (`[features, padded]`: each
/// feature's value in every vector, padded with zeros to whole vectors of
/// `LANES`), so a row's kernels with all of them are computed `LANES` at a
/// time. One at a time, with a call to `expf` each, the RBF kernels took
/// most of an SVC's time per row.
#[derive(Clone, Debug, PartialEq)]
struct SupportVectors {
    by_feature: Vec<f32>,
    count: usize,
    padded: usize,
}

impl SupportVectors {
    /// From `[count, features]` vectors.
    fn new(vectors: &[f32], features: usize) -> Self {
        let features = features.max(1);
        let count = vectors.len() / features;
        let padded = count.next_multiple_of(LANES);
        let mut by_feature = vec![0.0; features * padded];
        for (v, vector) in vectors.chunks_exact(features).enumerate() {
            for (f, x) in vector.iter().enumerate() {
                by_feature[f * padded + v] = *x;
            }
        }
        SupportVectors {
            by_feature,
            count,
            padded,
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The kernel of `row` with each vector, in vector order, into `out`.
    /// Dot products and distances add their features' terms in order.
    fn kernels(&self, kernel: Kernel, row: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.resize(self.padded, 0.0);
        let by_feature = self.by_feature.chunks_exact(self.padded);
        if let Kernel::Rbf { gamma } = kernel {
            for (x, vectors) in row.iter().zip(by_feature) {
                for (sum, v) in out.iter_mut().zip(vectors) {
                    let d = x - v;
                    *sum = d.mul_add(d, *sum);
                }
            }
            out.iter_mut().for_each(|d| *d *= -gamma);
            exp_lanes(out);
        } else {
            for (x, vectors) in row.iter().zip(by_feature) {
                for (sum, v) in out.iter_mut().zip(vectors) {
                    *sum = x.mul_add(*v, *sum);
                }
            }
            match kernel {
                Kernel::Poly {
                    gamma,
                    coef0,
                    degree,
                } => out.iter_mut().for_each(|dot| {
                    let base = gamma * *dot + coef0;
                    *dot = if degree == 2.0 {
                        base * base
                    } else if degree == 3.0 {
                        base * base * base
                    } else {
                        base.powf(degree)
                    };
                }),
                Kernel::Sigmoid { gamma, coef0 } => out
                    .iter_mut()
                    .for_each(|dot| *dot = (gamma * *dot + coef0).tanh()),
                Kernel::Linear | Kernel::Rbf { .. } => {}
            }
        }
        out.truncate(self.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_of_every_vector_in_order() {
        // 11 vectors of 3 features: a whole vector of lanes and a rest.
        let value = |i: usize| ((i as f32) * 0.618).sin();
        let vectors: Vec<f32> = (0..33).map(value).collect();
        let row = [0.3, -0.2, 0.9];
        let support = SupportVectors::new(&vectors, 3);
        let mut out = Vec::new();
        for kernel in [
            Kernel::Rbf { gamma: 0.7 },
            Kernel::Linear,
            Kernel::Poly {
                gamma: 0.5,
                coef0: 1.0,
                degree: 3.0,
            },
            Kernel::Sigmoid {
                gamma: 0.5,
                coef0: 0.1,
            },
        ] {
            support.kernels(kernel, &row, &mut out);
            assert_eq!(out.len(), 11);
            for (v, k) in vectors.chunks_exact(3).zip(&out) {
                let dot = row.iter().zip(v).fold(0.0f32, |s, (x, y)| x.mul_add(*y, s));
                let distance = row
                    .iter()
                    .zip(v)
                    .fold(0.0f32, |s, (x, y)| (x - y).mul_add(x - y, s));
                let expected = match kernel {
                    Kernel::Rbf { gamma } => (-gamma * distance).exp(),
                    Kernel::Linear => dot,
                    Kernel::Poly { gamma, coef0, .. } => (gamma * dot + coef0).powi(3),
                    Kernel::Sigmoid { gamma, coef0 } => (gamma * dot + coef0).tanh(),
                };
                assert!(
                    (k - expected).abs() <= 1e-6 * expected.abs().max(1.0),
                    "{kernel:?}: {k} against {expected}"
                );
            }
        }
    }
}
