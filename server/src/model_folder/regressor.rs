//! A regressor's part of `sepal model init`: the target (its label and
//! unit from the column's header, its range from the data), one example per
//! quantile, the plot of the feature that follows the target most closely
//! against it, and the error figures when the data holds the target.

use app::model::{
    Example, Manifest, Metrics, PLOT_TARGET, Plot, Point, RegressionMetrics, TargetSpec,
};

use super::{
    FolderError,
    data::Data,
    from_data::{measured_on, plot_stride},
    init::Folder,
    names,
};

/// The examples: the rows at these quantiles of the target.
const QUANTILES: [(f64, &str); 3] = [
    (0.1, "Low (10th percentile)"),
    (0.5, "Median"),
    (0.9, "High (90th percentile)"),
];

/// Fills in a regressor's manifest from the data and the model's answers
/// on it; `target` names the data's target column, when it has one.
pub fn complete(
    mut manifest: Manifest,
    data: &Data,
    target: Option<&str>,
    made_from: &str,
    folder: &Folder<'_>,
) -> Result<Manifest, FolderError> {
    let truth = data.target_values()?;
    let (label, unit) = match target {
        Some(column) => names::label_and_unit(column),
        None => ("Predicted value".to_owned(), String::new()),
    };
    // The range is the data's, known once the model has answered.
    manifest.target = Some(TargetSpec {
        label: label.clone(),
        unit: unit.clone(),
        typical_min: 0.0,
        typical_max: 0.0,
    });
    manifest.plot.y = PLOT_TARGET.to_owned();

    let predicted: Vec<f64> = folder
        .served(&manifest, data)?
        .iter()
        .map(|p| f64::from(p.value()))
        .collect();
    // What the data says of the target, or else what the model answers.
    let reference = truth.as_deref().unwrap_or(&predicted);
    let (low, high) = reference
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let target = TargetSpec {
        label,
        unit,
        typical_min: low,
        typical_max: high,
    };
    manifest.description = format!(
        "Predicts {}{}, a number, from {} features. {made_from}{}",
        target.label.to_lowercase(),
        if target.unit.is_empty() {
            String::new()
        } else {
            format!(" in {}", target.unit)
        },
        manifest.features.len(),
        if truth.is_none() {
            " Its range is that of the model's answers on the data (pass --target to take it \
             from the data)."
        } else {
            ""
        }
    );
    manifest.target = Some(target);
    manifest.examples = examples(&manifest, data, reference);
    manifest.plot = plot(&manifest, data, reference);
    manifest.metrics = truth
        .as_deref()
        .map(|truth| Metrics::Regression(metrics(truth, &predicted, data)));
    Ok(manifest)
}

/// The rows at the target's 10th, 50th and 90th percentiles.
fn examples(manifest: &Manifest, data: &Data, reference: &[f64]) -> Vec<Example> {
    let mut order: Vec<usize> = (0..reference.len()).collect();
    order.sort_by(|&a, &b| reference[a].total_cmp(&reference[b]));
    let mut taken = Vec::new();
    QUANTILES
        .iter()
        .filter_map(|&(q, label)| {
            let row = order[((order.len() - 1) as f64 * q).round() as usize];
            (!taken.contains(&row)).then(|| {
                taken.push(row);
                Example {
                    label: label.to_owned(),
                    class: None,
                    values: manifest
                        .features
                        .iter()
                        .map(|f| f.name.clone())
                        .zip(data.rows[row].iter().copied())
                        .collect(),
                }
            })
        })
        .collect()
}

/// The target against the feature it follows most closely (the largest
/// correlation, either sign; edit `plot.x` to choose another).
fn plot(manifest: &Manifest, data: &Data, reference: &[f64]) -> Plot {
    let x = (0..data.columns.len())
        .max_by(|&a, &b| {
            let strength = |c: usize| correlation(data.column(c), reference).abs();
            strength(a).total_cmp(&strength(b))
        })
        .unwrap_or(0);
    Plot {
        x: manifest.features[x].name.clone(),
        y: PLOT_TARGET.to_owned(),
        points: data
            .rows
            .iter()
            .zip(reference)
            .step_by(plot_stride(data))
            .map(|(row, &value)| Point::Value(row[x] as f32, value as f32))
            .collect(),
    }
}

/// Pearson's correlation of a column with the target; 0 for a constant one.
fn correlation(column: impl Iterator<Item = f64> + Clone, target: &[f64]) -> f64 {
    let n = target.len() as f64;
    let mean_x = column.clone().sum::<f64>() / n;
    let mean_y = target.iter().sum::<f64>() / n;
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for (x, &y) in column.zip(target) {
        let (dx, dy) = (x - mean_x, y - mean_y);
        xy += dx * dy;
        xx += dx * dx;
        yy += dy * dy;
    }
    if xx > 0.0 && yy > 0.0 {
        xy / (xx * yy).sqrt()
    } else {
        0.0
    }
}

/// Mean absolute error, root mean square error and R² of the model's
/// answers on the data.
pub fn metrics(truth: &[f64], predicted: &[f64], data: &Data) -> RegressionMetrics {
    let n = truth.len() as f64;
    let mean = truth.iter().sum::<f64>() / n;
    let (mut absolute, mut squared, mut total) = (0.0, 0.0, 0.0);
    for (&t, &p) in truth.iter().zip(predicted) {
        absolute += (t - p).abs();
        squared += (t - p) * (t - p);
        total += (t - mean) * (t - mean);
    }
    RegressionMetrics {
        mae: significant(absolute / n),
        rmse: significant((squared / n).sqrt()),
        r2: if total > 0.0 {
            significant(1.0 - squared / total)
        } else {
            0.0
        },
        train_samples: None,
        test_samples: u32::try_from(truth.len()).unwrap_or(u32::MAX),
        measured_on: Some(measured_on(data)),
    }
}

/// `v` to six significant digits, as a manifest is read.
fn significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_reads_sign_and_strength() {
        let target = [1.0, 2.0, 3.0, 4.0];
        assert!((correlation([2.0, 4.0, 6.0, 8.0].into_iter(), &target) - 1.0).abs() < 1e-12);
        assert!((correlation([4.0, 3.0, 2.0, 1.0].into_iter(), &target) + 1.0).abs() < 1e-12);
        assert_eq!(correlation([5.0; 4].into_iter(), &target), 0.0);
    }

    #[test]
    fn significant_keeps_six_digits() {
        assert_eq!(significant(123.456_789), 123.457);
        assert_eq!(significant(0.000_123_456_789), 0.000_123_457);
    }
}
