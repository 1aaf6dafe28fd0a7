//! What the app knows about a model: its manifest, and the validation of
//! input against it. The manifest drives the form, the checks and the result
//! view, so another tabular classifier is served by pointing the server at
//! another model folder. Running the model is the server's job (`server::inference`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod answers;

pub use crate::store::Outcome;
#[cfg(feature = "ssr")]
pub use answers::{ModelFailed, Predictor};
pub use answers::{Prediction, Predictions};

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
    /// What the model answers: a class, or a value (manifests written
    /// before regression existed say nothing, and are classifiers).
    #[serde(default)]
    pub task: Task,
    /// The classes a classifier chooses from, in its output's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassSpec>,
    /// The value a regressor predicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSpec>,
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
    /// Name of the output tensor: `[N, classes]` f32 probabilities for a
    /// classifier, `[N, 1]` or `[N]` f32 values for a regressor.
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

/// What a model answers for a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// One of the manifest's classes, with each class's probability.
    #[default]
    Classification,
    /// A number: the manifest's target.
    Regression,
}

/// The quantity a regressor predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// What people read ("Disease progression").
    pub label: String,
    pub unit: String,
    /// The range of the target in the training data.
    pub typical_min: f64,
    pub typical_max: f64,
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
    /// The class the example is typical of (classifiers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub values: BTreeMap<String, f64>,
}

/// The data set as the result page plots it: a classifier's on two
/// features, coloured by class; a regressor's as one feature against the
/// target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plot {
    /// Feature name of the horizontal axis.
    pub x: String,
    /// Feature name of the vertical axis; for a regressor, `target`.
    pub y: String,
    /// Samples: `[x, y, class index]`, or `[x, target value]` for a regressor.
    pub points: Vec<Point>,
}

/// One sample of a plot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Point {
    Class(f32, f32, usize),
    Value(f32, f32),
}

impl Point {
    pub fn x(self) -> f32 {
        match self {
            Point::Class(x, ..) | Point::Value(x, _) => x,
        }
    }

    pub fn y(self) -> f32 {
        match self {
            Point::Class(_, y, _) | Point::Value(_, y) => y,
        }
    }

    /// The sample's class index, for a classifier's plot.
    pub fn class(self) -> Option<usize> {
        match self {
            Point::Class(.., class) => Some(class),
            Point::Value(..) => None,
        }
    }
}

/// How well the model does, measured on data with answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Metrics {
    Classification(ClassificationMetrics),
    Regression(RegressionMetrics),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionMetrics {
    /// Mean absolute error, in the target's unit.
    pub mae: f64,
    /// Root of the mean squared error, in the target's unit.
    pub rmse: f64,
    /// Coefficient of determination: 1 is perfect, 0 is as good as always
    /// answering the mean.
    pub r2: f64,
    /// Rows the model was trained on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_samples: Option<u32>,
    pub test_samples: u32,
    /// What the figures were measured on, when not a held-out split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationMetrics {
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

/// The name a regressor's plot gives its target, as its vertical axis.
pub const PLOT_TARGET: &str = "target";

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

    /// The predicted class of one of this model's predictions (`None`
    /// for another model's with more classes).
    pub fn class_of(&self, prediction: Prediction<'_>) -> Option<&ClassSpec> {
        self.classes.get(prediction.class_index())
    }

    /// What a record keeps of one of this model's predictions: the class
    /// and its probabilities, or the value (`None` when the model answered
    /// a class it does not list, or a value that is not a number).
    pub fn outcome_of(&self, prediction: Prediction<'_>) -> Option<Outcome> {
        match self.task {
            Task::Classification => Some(Outcome::Class {
                class: self.class_of(prediction)?.name.clone(),
                probabilities: self
                    .classes
                    .iter()
                    .map(|c| c.name.clone())
                    .zip(prediction.probabilities().iter().copied())
                    .collect(),
            }),
            Task::Regression => {
                let value = prediction.value();
                value.is_finite().then_some(Outcome::Value { value })
            }
        }
    }

    /// The label of a class, or its name for a class the manifest does not
    /// list (a record of an earlier model).
    pub fn class_label(&self, class: &str) -> String {
        self.classes
            .iter()
            .find(|c| c.name == class)
            .map_or_else(|| class.to_owned(), |c| c.label.clone())
    }

    /// The unit of a regressor's target (empty for a classifier, or a
    /// target without one).
    pub fn target_unit(&self) -> &str {
        self.target.as_ref().map_or("", |t| t.unit.as_str())
    }

    /// The feature of this name.
    pub fn feature(&self, name: &str) -> Option<&FeatureSpec> {
        self.features.iter().find(|f| f.name == name)
    }

    /// What in the manifest contradicts itself: a classifier without
    /// classes or a regressor without a target, plot axes that are not
    /// features (or, for a regressor's vertical one, the target), points of
    /// classes it does not list or of the other task's shape.
    pub fn inconsistency(&self) -> Option<String> {
        let classes = self.classes.len();
        let y_is_target = match (self.task, &self.target) {
            (Task::Classification, _) if classes == 0 => {
                return Some("a classifier's manifest must list its classes".to_owned());
            }
            (Task::Classification, Some(_)) => {
                return Some(
                    "a classifier's manifest has no `target`; set `task` to `regression`"
                        .to_owned(),
                );
            }
            (Task::Regression, None) => {
                return Some("a regressor's manifest must describe its `target`".to_owned());
            }
            (Task::Regression, Some(_)) if classes > 0 => {
                return Some("a regressor's manifest lists no `classes`".to_owned());
            }
            (Task::Classification, None) => false,
            (Task::Regression, Some(_)) => true,
        };
        let axes = [(&self.plot.x, false), (&self.plot.y, y_is_target)];
        for (axis, target) in axes {
            if target && axis != PLOT_TARGET {
                return Some(format!(
                    "a regressor's plot has `{PLOT_TARGET}` on its y axis, not `{axis}`"
                ));
            }
            if !target && self.feature(axis).is_none() {
                return Some(format!("the plot axis `{axis}` is not a feature"));
            }
        }
        self.plot
            .points
            .iter()
            .find_map(|point| match (point, self.task) {
                (Point::Class(.., class), Task::Classification) if *class >= classes => Some(
                    format!("a plot point has a class beyond the {classes} listed"),
                ),
                (Point::Class(..), Task::Classification) | (Point::Value(..), Task::Regression) => {
                    None
                }
                (Point::Value(..), Task::Classification) => {
                    Some("a classifier's plot points are [x, y, class]".to_owned())
                }
                (Point::Class(..), Task::Regression) => {
                    Some("a regressor's plot points are [x, target value]".to_owned())
                }
            })
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
