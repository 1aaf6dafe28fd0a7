//! A classifier's part of `sepal model init`: class names from the model's
//! labels or the target column, one example per class, the plot coloured
//! by class, and accuracy with its confusion matrix when the data holds the
//! target.

use app::model::{
    ClassSpec, ClassificationMetrics, Example, FeatureSpec, Manifest, Metrics, Plot, Point,
};
use tract_onnx::pb;

use super::{
    FolderError,
    data::Data,
    from_data::{measured_on, plot_stride},
    init::Folder,
    names, normalized,
    onnx_file::class_labels,
};

/// Fills in a classifier's manifest from the model's answers on the data.
pub fn complete(
    mut manifest: Manifest,
    classes: usize,
    graph: &pb::GraphProto,
    data: &Data,
    made_from: &str,
    folder: &Folder<'_>,
) -> Result<Manifest, FolderError> {
    let onnx_error = |detail: String| FolderError::Onnx {
        path: folder.source.to_owned(),
        detail,
    };
    // Class names: the model's own labels, else the target's values.
    let class_names: Vec<String> = match (class_labels(graph), &data.target) {
        (Some(labels), _) => labels,
        (None, Some(target)) => {
            let mut values: Vec<String> = target.iter().map(|t| normalized(t)).collect();
            values.sort();
            values.dedup();
            values
        }
        (None, None) => {
            return Err(onnx_error(
                "names no class labels; pass --target with the column that holds them".to_owned(),
            ));
        }
    };
    if class_names.len() != classes {
        return Err(onnx_error(format!(
            "answers {classes} probabilities per row for {} classes ({})",
            class_names.len(),
            class_names.join(", ")
        )));
    }
    let truth = match &data.target {
        None => None,
        Some(target) => {
            Some(
                true_classes(target, &class_names).map_err(|detail| FolderError::Data {
                    path: data.path.clone(),
                    detail,
                })?,
            )
        }
    };
    manifest.description = format!(
        "Predicts one of {} classes ({}) from {} features. {made_from}",
        class_names.len(),
        class_names.join(", "),
        manifest.features.len(),
    );
    manifest.classes = class_names
        .iter()
        .map(|name| ClassSpec {
            name: name.clone(),
            label: names::class_label(name),
        })
        .collect();

    let predicted: Vec<usize> = folder
        .served(&manifest, data)?
        .iter()
        .map(|p| p.class_index())
        .collect();
    manifest.examples = examples(
        data,
        &manifest.features,
        &manifest.classes,
        &predicted,
        truth.as_deref(),
    );
    manifest.plot = plot(data, &manifest, truth.as_deref().unwrap_or(&predicted));
    manifest.metrics = truth
        .as_deref()
        .map(|truth| metrics(truth, &predicted, manifest.classes.len(), data));
    Ok(manifest)
}

/// Each row's class index, from the target column.
fn true_classes(target: &[String], classes: &[String]) -> Result<Vec<usize>, String> {
    target
        .iter()
        .enumerate()
        .map(|(row, value)| {
            let name = normalized(value);
            classes.iter().position(|c| *c == name).ok_or_else(|| {
                format!(
                    "row {} has the target `{value}`, which is not one of the model's classes ({})",
                    row + 2,
                    classes.join(", ")
                )
            })
        })
        .collect()
}

/// Per class, the row nearest the mean of the rows the model puts in it
/// (and, with the target, that truly are of it).
fn examples(
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
                class: Some(spec.name.clone()),
                values: features
                    .iter()
                    .map(|f| f.name.clone())
                    .zip(typical.iter().copied())
                    .collect(),
            })
        })
        .collect()
}

/// The data on the plot's two features (as `init` chose them: the first
/// two; edit `plot.x` and `plot.y` to choose others), coloured by class.
fn plot(data: &Data, manifest: &Manifest, classes: &[usize]) -> Plot {
    let axes = &manifest.plot;
    let column = |name: &str| {
        manifest
            .features
            .iter()
            .position(|f| f.name == name)
            .unwrap_or(0)
    };
    let (x, y) = (column(&axes.x), column(&axes.y));
    Plot {
        x: axes.x.clone(),
        y: axes.y.clone(),
        points: data
            .rows
            .iter()
            .zip(classes)
            .step_by(plot_stride(data))
            .map(|(row, &class)| Point::Class(row[x] as f32, row[y] as f32, class))
            .collect(),
    }
}

/// Accuracy and confusion matrix of the model's answers on the data.
fn metrics(truth: &[usize], predicted: &[usize], classes: usize, data: &Data) -> Metrics {
    let mut confusion = vec![vec![0u32; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t][p] += 1;
    }
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    Metrics::Classification(ClassificationMetrics {
        test_accuracy: (correct as f64 / truth.len() as f64 * 1e4).round() / 1e4,
        train_samples: None,
        test_samples: u32::try_from(truth.len()).unwrap_or(u32::MAX),
        confusion_matrix: confusion,
        measured_on: Some(measured_on(data)),
    })
}
