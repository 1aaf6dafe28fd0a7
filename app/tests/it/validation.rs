//! Input validation against the iris manifest: every kind of bad input is
//! refused, naming the field and what is allowed.

// A test should stop at the first unexpected error.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use app::model::{FieldError, Manifest, Predictions};
use serde_json::{Value, json};

fn manifest() -> Manifest {
    serde_json::from_str(include_str!("../../../models/iris/manifest.json")).unwrap()
}

fn input(value: Value) -> BTreeMap<String, Value> {
    serde_json::from_value(value).unwrap()
}

fn valid() -> Value {
    json!({ "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2 })
}

/// The errors for `valid()` with one field replaced (or removed, for `None`).
fn errors_with(field: &str, value: Option<Value>) -> Vec<FieldError> {
    let mut row = valid();
    match value {
        Some(v) => row[field] = v,
        None => {
            row.as_object_mut().unwrap().remove(field);
        }
    }
    manifest().validate(&input(row)).unwrap_err().0
}

fn only_error(field: &str, value: Option<Value>) -> FieldError {
    let errors = errors_with(field, value);
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn valid_input_keeps_the_manifest_order() {
    let features = manifest().validate(&input(valid())).unwrap();
    assert_eq!(features.values(), &[5.1, 3.5, 1.4, 0.2]);
}

#[test]
fn numbers_written_as_text_are_read_as_forms_send_them() {
    let row = json!({ "sepal_length": "5.1", "sepal_width": " 3.5 ", "petal_length": "1.4", "petal_width": "2e-1" });
    assert_eq!(
        manifest().validate(&input(row)).unwrap().values(),
        &[5.1, 3.5, 1.4, 0.2]
    );
}

#[test]
fn not_a_number_and_infinities_are_refused() {
    for text in ["NaN", "nan", "inf", "-inf", "infinity"] {
        let error = only_error("petal_length", Some(json!(text)));
        assert_eq!(error.field, "petal_length");
        assert_eq!(error.problem, "must be a finite number", "{text}");
    }
}

#[test]
fn negative_and_zero_lengths_are_refused_with_the_range() {
    for value in [json!(-1.0), json!(0), json!(0.0), json!("-0.5")] {
        let error = only_error("sepal_width", Some(value.clone()));
        assert_eq!(error.field, "sepal_width");
        assert_eq!(error.label, "Sepal width");
        assert!(
            error
                .problem
                .starts_with("must be between 0.5 and 10 cm; got "),
            "{value}: {}",
            error.problem
        );
    }
}

#[test]
fn values_above_the_hard_bound_are_refused() {
    let error = only_error("petal_width", Some(json!(6.01)));
    assert_eq!(
        error.to_string(),
        "Petal width: must be between 0.05 and 6 cm; got 6.01"
    );
}

#[test]
fn the_bounds_themselves_are_allowed() {
    for value in [0.05, 6.0] {
        let mut row = valid();
        row["petal_width"] = json!(value);
        assert!(manifest().validate(&input(row)).is_ok(), "{value}");
    }
}

#[test]
fn a_missing_or_empty_field_is_required() {
    for value in [None, Some(json!(null)), Some(json!("")), Some(json!("  "))] {
        let error = only_error("sepal_length", value.clone());
        assert_eq!(
            (error.field.as_str(), error.problem.as_str()),
            ("sepal_length", "is required"),
            "{value:?}"
        );
    }
}

#[test]
fn a_field_the_model_does_not_use_is_refused() {
    let mut row = valid();
    row["stem_length"] = json!(12);
    let errors = manifest().validate(&input(row)).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "stem_length");
    assert!(
        errors[0]
            .problem
            .contains("sepal_length, sepal_width, petal_length, petal_width")
    );
}

#[test]
fn values_of_the_wrong_type_are_refused() {
    for value in [
        json!("five"),
        json!(true),
        json!([5.1]),
        json!({ "cm": 5.1 }),
        json!("5,1"),
    ] {
        let error = only_error("sepal_length", Some(value.clone()));
        assert_eq!(error.problem, "must be a number, in cm", "{value}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let row =
        json!({ "sepal_length": "x", "petal_length": -1, "petal_width": "NaN", "colour": "blue" });
    let fields: Vec<_> = manifest()
        .validate(&input(row))
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "sepal_length",
            "sepal_width",
            "petal_length",
            "petal_width",
            "colour"
        ]
    );
}

#[test]
fn the_most_probable_class_is_the_prediction() {
    let manifest = manifest();
    let three = std::num::NonZeroUsize::new(3).unwrap();
    let predictions = Predictions::new(vec![0.1, 0.7, 0.2, 0.4, 0.2, 0.4], three);
    let classes: Vec<_> = predictions
        .iter()
        .map(|p| manifest.class_of(p).unwrap().name.as_str())
        .collect();
    // A tie goes to the first of the tied classes.
    assert_eq!(classes, ["versicolor", "setosa"]);
}
