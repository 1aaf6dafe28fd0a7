//! The ai.onnx.ml operators that scikit-learn, XGBoost and LightGBM exports
//! use and tract lacks (or runs slowly), as tract operators. Where tract's
//! own operators can express one (scalers, imputers, encoders), it is
//! lowered to them, so tract's optimizer treats it like the rest of the
//! graph; tree ensembles and support vector machines are evaluated here.
//!
//! Each behaves as onnxruntime does, since its answers are what exporters
//! check their output against; `models/suite` holds the evidence
//! (`server/tests/conformance.rs`).

mod binarizer;
mod imputer;
mod one_hot_encoder;
pub mod post_transform;
mod scaler;
mod tree_ensemble;
mod zip_map;

use tract_onnx::{tract_core::ops::cast::cast, tract_hir::internal::*};

/// tract's ONNX reader with Sepal's operators registered (they replace
/// tract's where both have one).
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    let registry = &mut onnx.op_register;
    binarizer::register(registry);
    imputer::register(registry);
    one_hot_encoder::register(registry);
    scaler::register(registry);
    tree_ensemble::register(registry);
    zip_map::register(registry);
    onnx
}

/// `x` as f32, cast if it is another type.
fn as_f32(prefix: &str, model: &mut TypedModel, x: OutletId) -> TractResult<OutletId> {
    if model.outlet_fact(x)?.datum_type == f32::datum_type() {
        return Ok(x);
    }
    Ok(model.wire_node(format!("{prefix}.to_f32"), cast(f32::datum_type()), &[x])?[0])
}

/// The length of `x`'s last axis, when it is known.
fn columns(model: &TypedModel, x: OutletId) -> TractResult<Option<usize>> {
    let fact = model.outlet_fact(x)?;
    Ok(fact
        .shape
        .last()
        .and_then(|d| d.as_i64())
        .and_then(|d| usize::try_from(d).ok()))
}
