//! `Normalizer` (after a one-vs-rest LogisticRegression's scores in
//! skl2onnx's exports, and sklearn's `Normalizer`): each row divided by its
//! MAX, L1 or L2 norm, as onnxruntime computes it: MAX is the largest value
//! (not the largest magnitude), and a row whose norm is 0 is left as it is.
//! Registered in place of tract's, which differs on both points and ran as
//! five broadcast operators, row by row.

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_hir::internal::*,
};

use super::in_place::{self, InPlace, in_place};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("Normalizer", parse);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Normalizer {
    Max,
    L1,
    L2,
}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let norm = match node.get_attr_opt::<&str>("norm")?.unwrap_or("MAX") {
        "MAX" => Normalizer::Max,
        "L1" => Normalizer::L1,
        "L2" => Normalizer::L2,
        other => node.bail(&format!("norm `{other}` is not one of MAX, L1, L2"))?,
    };
    in_place::parsed(norm)
}

impl InPlace for Normalizer {
    const ONNX: &'static str = "Normalizer";

    fn apply(&self, values: &mut [f32], columns: usize) -> TractResult<()> {
        for row in values.chunks_exact_mut(columns) {
            match self {
                Normalizer::Max => divide(row, row.iter().copied().fold(f32::MIN, f32::max)),
                Normalizer::L1 => divide(row, row.iter().map(|x| x.abs()).sum()),
                Normalizer::L2 => {
                    let sum: f32 = row.iter().map(|x| x * x).sum();
                    if sum != 0.0 {
                        row.iter_mut()
                            .for_each(|x| *x = (*x * *x / sum).sqrt().copysign(*x));
                    }
                }
            }
        }
        Ok(())
    }
}

fn divide(row: &mut [f32], norm: f32) {
    if norm != 0.0 {
        row.iter_mut().for_each(|x| *x /= norm);
    }
}

in_place!(Normalizer, "Sepal.Normalizer");

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(norm: Normalizer, mut values: Vec<f32>) -> Vec<f32> {
        norm.apply(&mut values, 3).unwrap();
        values
    }

    #[test]
    fn each_norm_is_onnxruntimes() {
        assert_eq!(
            normalized(Normalizer::Max, vec![-4.0, 1.0, 2.0]),
            [-2.0, 0.5, 1.0]
        );
        assert_eq!(
            normalized(Normalizer::L1, vec![-1.0, 1.0, 2.0]),
            [-0.25, 0.25, 0.5]
        );
        assert_eq!(
            normalized(Normalizer::L2, vec![-3.0, 0.0, 4.0]),
            [-0.6, 0.0, 0.8]
        );
    }

    #[test]
    fn a_row_whose_norm_is_zero_is_left_alone() {
        for norm in [Normalizer::Max, Normalizer::L1, Normalizer::L2] {
            assert_eq!(normalized(norm, vec![0.0; 6]), [0.0; 6]);
        }
        assert_eq!(
            normalized(Normalizer::Max, vec![-1.0, 0.0, -2.0]),
            [-1.0, 0.0, -2.0]
        );
    }
}
