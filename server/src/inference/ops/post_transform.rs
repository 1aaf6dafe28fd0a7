//! `post_transform`: what an ai.onnx.ml classifier or regressor applies to
//! its raw scores, computed as onnxruntime computes it (in f32, with its
//! approximations), since its answers are the reference Sepal is held to.

use tract_onnx::{tract_core::tract_linalg::Func, tract_hir::internal::*};

use super::exp::exp_lanes;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PostTransform {
    None,
    Softmax,
    Logistic,
    /// A softmax that leaves exact zeros (|x| ≤ 1e-7) at zero.
    SoftmaxZero,
    Probit,
}

impl PostTransform {
    /// The attribute's value; absent means `NONE`. onnxruntime takes an
    /// unknown name for PROBIT without a word; Sepal refuses it.
    pub fn parse(name: Option<&str>) -> TractResult<Self> {
        Ok(match name.unwrap_or("NONE") {
            "NONE" => PostTransform::None,
            "SOFTMAX" => PostTransform::Softmax,
            "LOGISTIC" => PostTransform::Logistic,
            "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
            "PROBIT" => PostTransform::Probit,
            other => bail!(
                "post_transform `{other}` is not one of NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT"
            ),
        })
    }

    /// What a regressor of `targets` values applies: as onnxruntime, with
    /// one target only PROBIT (the others leave one value as it is).
    pub fn of_regressor(self, targets: usize) -> Self {
        if targets == 1 && self != PostTransform::Probit {
            PostTransform::None
        } else {
            self
        }
    }

    /// Applies the transform to `values`, rows of `width` scores each. A
    /// logistic over rows of several scores is onnxruntime's rational
    /// approximation (MLAS'), which tract's sigmoid kernel shares: vectorised
    /// over the whole batch, as a softmax's `eˣ` is.
    pub fn apply_rows(self, values: &mut [f32], width: usize) -> TractResult<()> {
        match self {
            PostTransform::None => {}
            PostTransform::Logistic if width > 1 => Func::Sigmoid.ew_f32()?.run(values)?,
            PostTransform::Softmax => softmax_rows(values, width.max(1)),
            _ => values
                .chunks_exact_mut(width.max(1))
                .for_each(|row| self.apply(row)),
        }
        Ok(())
    }

    /// Applies the transform to one row of scores: element by element, or
    /// over the row for the softmaxes.
    pub fn apply(self, row: &mut [f32]) {
        match self {
            PostTransform::None => {}
            PostTransform::Logistic => row.iter_mut().for_each(|x| *x = logistic(*x)),
            PostTransform::Probit => row.iter_mut().for_each(|x| *x = probit(*x)),
            PostTransform::Softmax => softmax_rows(row, row.len().max(1)),
            PostTransform::SoftmaxZero => softmax_zero(row),
        }
    }
}

/// `1 / (1 + e^-x)`, written so that it never overflows.
pub fn logistic(x: f32) -> f32 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 { 1.0 - v } else { v }
}

/// The probit of a probability: `√2 · erfinv(2p − 1)`, with the same
/// approximation of erfinv onnxruntime uses (Winitzki's, a = 0.147), which
/// is about 1e-3 from the exact value; the exact one would not match it.
pub fn probit(p: f32) -> f32 {
    std::f32::consts::SQRT_2 * erf_inv(2.0 * p - 1.0)
}

fn erf_inv(x: f32) -> f32 {
    const A: f32 = 0.147;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let ln = ((1.0 - x) * (1.0 + x)).ln();
    let v = 2.0 / (std::f32::consts::PI * A) + 0.5 * ln;
    let v2 = ln / A;
    sign * (-v + (v * v - v2).sqrt()).sqrt()
}

/// A softmax over each row of `width` scores: shifted by the row's
/// maximum (so nothing overflows), then `eˣ` over the whole batch at once.
fn softmax_rows(values: &mut [f32], width: usize) {
    for row in values.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(-f32::MAX, f32::max);
        row.iter_mut().for_each(|x| *x -= max);
    }
    exp_lanes(values);
    for row in values.chunks_exact_mut(width) {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|x| *x /= sum);
    }
}

/// SOFTMAX_ZERO: exact zeros (|x| ≤ 1e-7) stay out of the sum and are
/// scaled by the same factor as the others.
fn softmax_zero(row: &mut [f32]) {
    let max = row.iter().copied().fold(-f32::MAX, f32::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        if (-1e-7..=1e-7).contains(x) {
            *x *= (-max).exp();
        } else {
            *x = (*x - max).exp();
            sum += *x;
        }
    }
    row.iter_mut().for_each(|x| *x /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-6)
    }

    #[test]
    fn logistic_is_the_sigmoid_on_both_sides() {
        assert!(close(
            &[logistic(0.0), logistic(2.0), logistic(-2.0)],
            &[0.5, 0.880_797, 0.119_203]
        ));
        assert_eq!(logistic(-1000.0), 0.0);
        assert_eq!(logistic(1000.0), 1.0);
    }

    #[test]
    fn probit_is_onnxruntimes_approximation() {
        // √2·erfinv(0) = 0; the exact probit of 0.975 is 1.959964, Winitzki's
        // erfinv gives 1.958 within its error.
        assert_eq!(probit(0.5), 0.0);
        assert!((probit(0.975) - 1.96).abs() < 5e-3);
        assert!((probit(0.025) + probit(0.975)).abs() < 1e-6);
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let mut row = [1000.0, 1000.0, 0.0];
        PostTransform::Softmax.apply(&mut row);
        assert_eq!(row, [0.5, 0.5, 0.0]);
    }

    #[test]
    fn softmax_zero_keeps_exact_zeros_at_zero() {
        let mut plain = [1.0, 0.0, 2.0];
        PostTransform::Softmax.apply(&mut plain);
        assert!(close(&plain, &[0.244_728_5, 0.090_030_57, 0.665_240_9]));
        let mut zero = [1.0, 0.0, 2.0];
        PostTransform::SoftmaxZero.apply(&mut zero);
        assert!(close(&zero, &[0.268_941_4, 0.0, 0.731_058_6]));
    }

    #[test]
    fn unknown_names_are_refused() {
        assert_eq!(PostTransform::parse(None).unwrap(), PostTransform::None);
        assert!(PostTransform::parse(Some("TANH")).is_err());
    }
}
