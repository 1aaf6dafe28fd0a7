//! The model's answers, and the interface through which the server runs it
//! (`server::inference` implements it).

use std::num::NonZeroUsize;

#[cfg(feature = "ssr")]
use super::{Features, Manifest};

/// The model's answers for a set of rows, in one flat buffer (nothing is
/// allocated per row, which matters for batches): per row, a classifier's
/// probabilities in the manifest's class order, or a regressor's one value;
/// and the class a classifier itself picked for each row when it names one
/// (its label output).
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    outputs: Vec<f32>,
    width: NonZeroUsize,
    picked: Option<Vec<usize>>,
}

impl Predictions {
    /// `outputs` holds whole rows of `width` values; a partial last row is
    /// dropped. A classifier's row's class is its most probable one.
    pub fn new(outputs: Vec<f32>, width: NonZeroUsize) -> Self {
        Predictions {
            outputs,
            width,
            picked: None,
        }
    }

    /// As [`Predictions::new`], with the class the model picked for each
    /// row (an index into the manifest's classes). A model's own choice can
    /// differ from the most probable class: a support vector classifier
    /// picks by votes, and its probabilities come from a separate fit.
    pub fn with_picked(probabilities: Vec<f32>, classes: NonZeroUsize, picked: Vec<usize>) -> Self {
        Predictions {
            outputs: probabilities,
            width: classes,
            picked: Some(picked),
        }
    }

    pub fn len(&self) -> usize {
        self.outputs.len() / self.width
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Prediction<'_>> {
        self.outputs
            .chunks_exact(self.width.get())
            .enumerate()
            .map(|(row, outputs)| Prediction {
                outputs,
                picked: self.picked.as_ref().and_then(|p| p.get(row).copied()),
            })
    }
}

/// The model's answer for one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction<'a> {
    outputs: &'a [f32],
    picked: Option<usize>,
}

impl<'a> Prediction<'a> {
    /// A classifier's probability of each class, in the manifest's order.
    pub fn probabilities(&self) -> &'a [f32] {
        self.outputs
    }

    /// A regressor's value.
    pub fn value(&self) -> f32 {
        self.outputs.first().copied().unwrap_or(f32::NAN)
    }

    /// Position of the predicted class in the manifest's classes: the one
    /// the model picked, or else the most probable (the first on a tie).
    pub fn class_index(&self) -> usize {
        self.picked.unwrap_or_else(|| {
            self.outputs
                .iter()
                .enumerate()
                .rev()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
    }
}

/// The model as server functions use it. The server provides one through
/// Leptos context (`Arc<dyn Predictor>`); `app` never links the runtime.
#[cfg(feature = "ssr")]
pub trait Predictor: Send + Sync {
    fn manifest(&self) -> &Manifest;
    /// Runs the model on validated rows.
    fn predict(&self, rows: &[Features]) -> Result<Predictions, ModelFailed>;
}

/// The model could not run on validated rows: a fault of the served model
/// or of its runtime, never of the input. The text is for the server's log.
#[cfg(feature = "ssr")]
#[derive(Debug, thiserror::Error)]
#[error("the model failed: {0}")]
pub struct ModelFailed(pub String);
