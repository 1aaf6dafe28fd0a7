//! `sepal model check`: loads a model folder as the server would and, with
//! a CSV of data, runs every row through the manifest's validation and the
//! model, and reports what was refused and how often the model was right
//! (a classifier), or how far off it was (a regressor).

use std::path::Path;

use super::{FolderError, data::Data, names};
use app::model::{Predictor, Task};

use crate::inference::Model;

/// Checks the folder `dir`, with `data` (and its `target` column) when
/// given; returns the report.
pub fn check(dir: &Path, data: Option<(&Path, Option<&str>)>) -> Result<String, FolderError> {
    let model = Model::load(dir)?;
    let manifest = model.manifest();
    let answers = super::answers(manifest);
    let mut report = format!(
        "{}: {} {} loads: {} features, {answers}",
        dir.display(),
        manifest.name,
        manifest.version,
        manifest.features.len(),
    );
    let Some((path, target)) = data else {
        return Ok(report);
    };
    let data = Data::read(path, target)?;
    // A column belongs to the feature whose key, or label, it matches.
    let keys = names::keys(&data.columns);
    let mut columns = Vec::with_capacity(manifest.features.len());
    for feature in &manifest.features {
        let found = data.columns.iter().zip(&keys).position(|(column, key)| {
            *key == feature.name || *column == feature.name || *column == feature.label
        });
        columns.push(found.ok_or_else(|| FolderError::Data {
            path: path.to_owned(),
            detail: format!(
                "has no column for the feature `{}` ({})",
                feature.name, feature.label
            ),
        })?);
    }

    let mut valid = Vec::new();
    let mut refused = Vec::new();
    for (i, row) in data.rows.iter().enumerate() {
        let input = manifest
            .features
            .iter()
            .zip(&columns)
            .map(|(f, &c)| (f.name.clone(), serde_json::Value::from(row[c])))
            .collect();
        match manifest.validate(&input) {
            Ok(features) => valid.push((i, features)),
            Err(problem) => refused.push(format!("row {}: {problem}", i + 2)),
        }
    }
    let features: Vec<_> = valid.iter().map(|(_, f)| f.clone()).collect();
    let predictions = model.predict(&features)?;
    report.push_str(&format!(
        "\n{} of {} rows of {} pass validation",
        valid.len(),
        data.rows.len(),
        path.display()
    ));
    for problem in refused.iter().take(5) {
        report.push_str(&format!("\n  refused: {problem}"));
    }
    if refused.len() > 5 {
        report.push_str(&format!("\n  … and {} more", refused.len() - 5));
    }
    match (manifest.task, &data.target) {
        (_, None) => {}
        (Task::Classification, Some(target)) => {
            let right = valid
                .iter()
                .zip(predictions.iter())
                .filter(|((row, _), prediction)| {
                    manifest
                        .class_of(*prediction)
                        .is_some_and(|class| class.name == super::normalized(&target[*row]))
                })
                .count();
            report.push_str(&format!(
                "\naccuracy {:.1} % ({right} of {} rows that passed)",
                100.0 * right as f64 / valid.len().max(1) as f64,
                valid.len()
            ));
        }
        (Task::Regression, Some(_)) => {
            let truth = data.target_values()?.unwrap_or_default();
            let truth: Vec<f64> = valid.iter().map(|(row, _)| truth[*row]).collect();
            let predicted: Vec<f64> = predictions.iter().map(|p| f64::from(p.value())).collect();
            let m = super::regressor::metrics(&truth, &predicted, &data);
            report.push_str(&format!(
                "\nmean absolute error {}, root mean square error {}, R² {} ({} rows that passed)",
                m.mae,
                m.rmse,
                m.r2,
                valid.len()
            ));
        }
    }
    Ok(report)
}
