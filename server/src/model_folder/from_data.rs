//! What `sepal model init` takes from the data for any model: features
//! with bounds, typical ranges and steps, and how to sample it for a plot.
//! Each is the data's word, to be edited.

use app::model::FeatureSpec;

use super::{data::Data, file_name, names};

/// At most this many rows of the data go into the plot.
const PLOT_POINTS: usize = 500;

/// One feature per column (its label and unit from the header: `BMI
/// (kg/m²)`): hard bounds one range beyond the data's on each
/// side (not below zero for a column that never is), the data's range as
/// the typical one, a step as fine as the data's decimals.
pub fn feature_specs(data: &Data) -> Vec<FeatureSpec> {
    let keys = names::keys(&data.columns);
    data.columns
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(c, (column, name))| {
            let (low, high) = data
                .column(c)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(v), h.max(v))
                });
            let span = if high > low {
                high - low
            } else {
                high.abs().max(1.0)
            };
            let min = if low >= 0.0 {
                (low - span).max(0.0)
            } else {
                low - span
            };
            let decimals = data.column(c).map(decimals).max().unwrap_or(0);
            let (label, unit) = names::label_and_unit(column);
            FeatureSpec {
                name,
                label,
                unit,
                min: round_to(min, decimals),
                max: round_to(high + span, decimals),
                typical_min: low,
                typical_max: high,
                step: 10f64.powi(-(decimals as i32)),
            }
        })
        .collect()
}

/// How many decimals `v` needs (at most 6).
fn decimals(v: f64) -> u32 {
    (0..6)
        .find(|&d| {
            let scaled = v * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(6)
}

fn round_to(v: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (v * scale).round() / scale
}

/// Every how many rows of the data to take for a plot, to keep at most
/// `PLOT_POINTS` spread over the file.
pub fn plot_stride(data: &Data) -> usize {
    data.rows.len().div_ceil(PLOT_POINTS).max(1)
}

/// What the figures of a model's answers on the data were measured on.
pub fn measured_on(data: &Data) -> String {
    format!(
        "the rows of {}, which the model may have been trained on",
        file_name(&data.path)
    )
}
