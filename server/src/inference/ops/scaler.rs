//! `Scaler` (StandardScaler, RobustScaler, MaxAbsScaler in skl2onnx's
//! exports): `y = (x − offset) · scale`, per column, in one pass over the
//! rows (lowered to tract's broadcast `Sub` and `Mul`, it went row by row).

use tract_onnx::{
    model::{OnnxOpRegister, ParsingContext},
    pb::NodeProto,
    tract_hir::internal::*,
};

use super::in_place::{self, InPlace, in_place};

pub fn register(registry: &mut OnnxOpRegister) {
    registry.insert("Scaler", parse);
}

#[derive(Debug, Clone, PartialEq)]
struct Scaler {
    /// Both `[columns]`, or `[1]` for every column alike.
    offset: Vec<f32>,
    scale: Vec<f32>,
}

impl Eq for Scaler {}

fn parse(
    _: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let scale: Vec<f32> = node.get_attr_vec("scale")?;
    node.expect_attr("scale", !scale.is_empty(), "at least one value")?;
    let offset: Vec<f32> = node
        .get_attr_opt_vec("offset")?
        .unwrap_or_else(|| vec![0.0; scale.len()]);
    node.expect_attr(
        "offset",
        offset.len() == scale.len(),
        "as many values as `scale`",
    )?;
    in_place::parsed(Scaler { offset, scale })
}

impl InPlace for Scaler {
    const ONNX: &'static str = "Scaler";

    fn columns(&self) -> Option<usize> {
        Some(self.scale.len()).filter(|&n| n > 1)
    }

    fn apply(&self, values: &mut [f32], columns: usize) -> TractResult<()> {
        if let ([offset], [scale]) = (self.offset.as_slice(), self.scale.as_slice()) {
            values.iter_mut().for_each(|x| *x = (*x - offset) * scale);
            return Ok(());
        }
        ensure!(
            columns == self.scale.len(),
            "Scaler has {} values for {columns} columns",
            self.scale.len()
        );
        for row in values.chunks_exact_mut(columns) {
            for ((x, offset), scale) in row.iter_mut().zip(&self.offset).zip(&self.scale) {
                *x = (*x - offset) * scale;
            }
        }
        Ok(())
    }
}

in_place!(Scaler, "Sepal.Scaler");
