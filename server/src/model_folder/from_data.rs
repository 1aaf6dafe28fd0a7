//! What `sepal model init` takes from the data: features with bounds,
//! typical ranges and steps, one example per class, plot points, and
//! metrics of the model's answers. Each is the data's word, to be edited.

use app::model::{ClassSpec, Example, FeatureSpec, Metrics, Plot};

use super::{data::Data, file_name, names};

/// At most this many rows of the data go into the plot.
const PLOT_POINTS: usize = 500;

/// One feature per column: hard bounds one range beyond the data's on each
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
            FeatureSpec {
                name,
                label: column.clone(),
                unit: String::new(),
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

/// Per class, the row nearest the mean of the rows the model puts in it
/// (and, with the target, that truly are of it).
pub fn examples(
    data: &Data,
    features: &[FeatureSpec],
    classes: &[ClassSpec],
    predicted: &[usize],
    truth: Option<&[usize]>,
) -> Vec<Example> {
    classes
        .iter()
        .enumerate()
        .filter_map(|(class, spec)| {
            let members: Vec<&Vec<f64>> = data
                .rows
                .iter()
                .enumerate()
                .filter(|&(i, _)| predicted[i] == class && truth.is_none_or(|t| t[i] == class))
                .map(|(_, row)| row)
                .collect();
            let first = members.first()?;
            let mean: Vec<f64> = (0..first.len())
                .map(|c| members.iter().map(|r| r[c]).sum::<f64>() / members.len() as f64)
                .collect();
            let distance = |row: &&Vec<f64>| -> f64 {
                row.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum()
            };
            let typical = members
                .iter()
                .min_by(|a, b| distance(a).total_cmp(&distance(b)))?;
            Some(Example {
                label: format!("Typical {}", spec.label),
                class: spec.name.clone(),
                values: features
                    .iter()
                    .map(|f| f.name.clone())
                    .zip(typical.iter().copied())
                    .collect(),
            })
        })
        .collect()
}

/// The data on its first two features (edit `plot.x` and `plot.y` to
/// choose others), at most `PLOT_POINTS` rows spread over the file.
pub fn plot(data: &Data, features: &[FeatureSpec], classes: &[usize]) -> Plot {
    let (x, y) = (0, usize::from(features.len() > 1));
    let every = data.rows.len().div_ceil(PLOT_POINTS);
    Plot {
        x: features[x].name.clone(),
        y: features[y].name.clone(),
        points: data
            .rows
            .iter()
            .zip(classes)
            .step_by(every)
            .map(|(row, &class)| (row[x] as f32, row[y] as f32, class))
            .collect(),
    }
}

/// Accuracy and confusion matrix of the model's answers on the data.
pub fn metrics(truth: &[usize], predicted: &[usize], classes: usize, data: &Data) -> Metrics {
    let mut confusion = vec![vec![0u32; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t][p] += 1;
    }
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    Metrics {
        test_accuracy: (correct as f64 / truth.len() as f64 * 1e4).round() / 1e4,
        train_samples: None,
        test_samples: u32::try_from(truth.len()).unwrap_or(u32::MAX),
        confusion_matrix: confusion,
        measured_on: Some(format!(
            "the rows of {}, which the model may have been trained on",
            file_name(&data.path)
        )),
    }
}
