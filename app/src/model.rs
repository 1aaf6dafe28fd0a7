//! What the app knows about a model: its manifest, and the validation of
//! input against it. The manifest drives the form, the checks and the result
//! view, so another tabular classifier is served by pointing the server at
//! another model folder. Running the model is the server's job (`server::inference`).

use std::{collections::BTreeMap, num::NonZeroUsize};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `manifest.json` in a model folder, written by `models/train.py`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub title: String,
    pub description: String,
    pub onnx: OnnxFile,
    pub features: Vec<FeatureSpec>,
    pub classes: Vec<ClassSpec>,
    pub examples: Vec<Example>,
    pub plot: Plot,
    /// How well the model does, when it was measured on data with answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    pub training: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnnxFile {
    /// File name, relative to the model folder.
    pub file: String,
    /// Hex SHA-256 of that file; the server refuses to start on a mismatch.
    pub sha256: String,
    /// Name of the input tensor, `[N, features]` f32.
    pub input: String,
    /// Name of the output tensor, `[N, classes]` f32 probabilities.
    pub output: String,
    /// Name of the output that holds each row's class label (int64 or
    /// text, as the manifest's class names), when the model has one: the
    /// predicted class is then the model's own choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Key in forms and JSON.
    pub name: String,
    /// What people read.
    pub label: String,
    pub unit: String,
    /// Hard bounds, inclusive: values outside them are refused.
    pub min: f64,
    pub max: f64,
    /// The range seen in the training data.
    pub typical_min: f64,
    pub typical_max: f64,
    /// Input granularity for the form.
    pub step: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    pub name: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub label: String,
    pub class: String,
    pub values: BTreeMap<String, f64>,
}

/// The data set on two of its features, as the result page plots it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plot {
    /// Feature names of the horizontal and vertical axes.
    pub x: String,
    pub y: String,
    /// Every sample: x, y and the index of its true class.
    pub points: Vec<(f32, f32, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Share of the `test_samples` the model classed right.
    pub test_accuracy: f64,
    /// Rows the model was trained on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_samples: Option<u32>,
    pub test_samples: u32,
    /// Rows are true classes, columns predicted ones, in `classes` order.
    pub confusion_matrix: Vec<Vec<u32>>,
    /// What the figures were measured on, when not a held-out split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_on: Option<String>,
}

/// One row of input that passed validation, in the manifest's feature order.
/// The only way to make one is [`Manifest::validate`], so the model never
/// sees unchecked input.
#[derive(Debug, Clone, PartialEq)]
pub struct Features(Vec<f32>);

impl Features {
    pub fn values(&self) -> &[f32] {
        &self.0
    }
}

/// The model's answers for a set of rows: `classes` probabilities per row,
/// in the manifest's class order, in one flat buffer (nothing is allocated
/// per row, which matters for batches), and the class the model itself
/// picked for each row when it names one (its label output).
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    probabilities: Vec<f32>,
    classes: NonZeroUsize,
    picked: Option<Vec<usize>>,
}

impl Predictions {
    /// `probabilities` holds whole rows of `classes` values; a partial last
    /// row is dropped. Each row's class is its most probable one.
    pub fn new(probabilities: Vec<f32>, classes: NonZeroUsize) -> Self {
        Predictions {
            probabilities,
            classes,
            picked: None,
        }
    }

    /// As [`Predictions::new`], with the class the model picked for each
    /// row (an index into the manifest's classes). A model's own choice can
    /// differ from the most probable class: a support vector classifier
    /// picks by votes, and its probabilities come from a separate fit.
    pub fn with_picked(probabilities: Vec<f32>, classes: NonZeroUsize, picked: Vec<usize>) -> Self {
        Predictions {
            probabilities,
            classes,
            picked: Some(picked),
        }
    }

    pub fn len(&self) -> usize {
        self.probabilities.len() / self.classes
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Prediction<'_>> {
        self.probabilities
            .chunks_exact(self.classes.get())
            .enumerate()
            .map(|(row, probabilities)| Prediction {
                probabilities,
                picked: self.picked.as_ref().and_then(|p| p.get(row).copied()),
            })
    }
}

/// The model's answer for one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction<'a> {
    probabilities: &'a [f32],
    picked: Option<usize>,
}

impl<'a> Prediction<'a> {
    /// One probability per class, in the manifest's class order.
    pub fn probabilities(&self) -> &'a [f32] {
        self.probabilities
    }

    /// Position of the predicted class in the manifest's classes: the one
    /// the model picked, or else the most probable (the first on a tie).
    pub fn class_index(&self) -> usize {
        self.picked.unwrap_or_else(|| {
            self.probabilities
                .iter()
                .enumerate()
                .rev()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
    }
}

/// Why one field was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{label}: {problem}")]
pub struct FieldError {
    /// The field's key, as sent.
    pub field: String,
    /// The field's label, or the key for fields the model does not know.
    pub label: String,
    pub problem: String,
}

/// Every problem found in one row of input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("the measurements are not valid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidInput(pub Vec<FieldError>);

impl Manifest {
    /// Checks one row of input: every feature present, a finite number (or
    /// text that reads as one, as forms send) within its hard bounds, and no
    /// field the model does not know. Reports every problem, not the first.
    pub fn validate(&self, input: &BTreeMap<String, Value>) -> Result<Features, InvalidInput> {
        let mut errors = Vec::new();
        let mut values = Vec::with_capacity(self.features.len());
        for feature in &self.features {
            match feature.check(input.get(&feature.name)) {
                Ok(value) => values.push(value),
                Err(problem) => errors.push(FieldError {
                    field: feature.name.clone(),
                    label: feature.label.clone(),
                    problem,
                }),
            }
        }
        for field in input.keys() {
            if !self.features.iter().any(|f| &f.name == field) {
                errors.push(FieldError {
                    field: field.clone(),
                    label: field.clone(),
                    problem: format!(
                        "is not a measurement this model uses (expected: {})",
                        self.feature_names().join(", ")
                    ),
                });
            }
        }
        if errors.is_empty() {
            Ok(Features(values))
        } else {
            Err(InvalidInput(errors))
        }
    }

    /// The most probable class of one of this model's predictions (`None`
    /// for another model's with more classes).
    pub fn class_of(&self, prediction: Prediction<'_>) -> Option<&ClassSpec> {
        self.classes.get(prediction.class_index())
    }

    /// The feature of this name.
    pub fn feature(&self, name: &str) -> Option<&FeatureSpec> {
        self.features.iter().find(|f| f.name == name)
    }

    /// What in the manifest contradicts itself: plot axes that are not
    /// features, points of classes it does not list.
    pub fn inconsistency(&self) -> Option<String> {
        let classes = self.classes.len();
        for axis in [&self.plot.x, &self.plot.y] {
            if self.feature(axis).is_none() {
                return Some(format!("the plot axis `{axis}` is not a feature"));
            }
        }
        self.plot
            .points
            .iter()
            .any(|&(_, _, class)| class >= classes)
            .then(|| format!("a plot point has a class beyond the {classes} listed"))
    }

    fn feature_names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }
}

impl FeatureSpec {
    /// The unit as it follows a number (" cm"), or nothing.
    pub fn unit_suffix(&self) -> String {
        if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        }
    }

    fn check(&self, value: Option<&Value>) -> Result<f32, String> {
        let number = match value {
            None | Some(Value::Null) => return Err("is required".to_owned()),
            Some(Value::String(s)) if s.trim().is_empty() => return Err("is required".to_owned()),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => None,
        };
        match number {
            None if self.unit.is_empty() => Err("must be a number".to_owned()),
            None => Err(format!("must be a number, in {}", self.unit)),
            Some(n) if !n.is_finite() => Err("must be a finite number".to_owned()),
            Some(n) if n < self.min || n > self.max => Err(format!(
                "must be between {} and {}{}; got {n}",
                self.min,
                self.max,
                self.unit_suffix()
            )),
            // Bounds are far inside f32's range, so this cast only rounds.
            Some(n) => Ok(n as f32),
        }
    }
}

/// The model as server functions use it. The server provides one through
/// Leptos context (`Arc<dyn Predictor>`); `app` never links the runtime.
#[cfg(feature = "ssr")]
pub trait Predictor: Send + Sync {
    fn manifest(&self) -> &Manifest;
    /// Runs the model on validated rows. A failure is logged by the
    /// implementation; the error says only that the server failed.
    fn predict(&self, rows: &[Features]) -> Result<Predictions, crate::error::AppError>;
}
