//! The prediction service: the one path every new record takes, from the
//! form (`predictions`) and from the JSON API (the server's `api`) alike:
//! validate the input, run the model, make the record, store it.
//!
//! Its error, [`PredictError`], keeps the cause. The callers decide what it
//! becomes: an `AppError` for the pages (`error::Failure::answer`), a
//! problem answer for the API; see `error` for where causes are logged.

use std::{collections::BTreeMap, time::Instant};

use serde_json::Value;
use time::OffsetDateTime;

use crate::{
    model::{Features, InvalidInput, ModelFailed, Predictor},
    store::{ModelRef, PredictionRecord, Put, Source, Store, StoreError},
};

/// Why no prediction was made.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The idempotency key was used before, for other input.
    #[error("this Idempotency-Key was already used for a different request")]
    KeyReused,
    #[error(transparent)]
    Model(#[from] ModelFailed),
    /// The model's answer does not fit its manifest (a class it does not
    /// list, say): the folder's files do not belong together.
    #[error("model {model} answered {answer}, which its manifest does not describe")]
    Unexpected { model: String, answer: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates one row of input, runs the model and stores the record for
/// `owner`. With an idempotency key the owner used before for the same
/// input, nothing new is stored and the first record is returned.
pub async fn predict_and_store(
    predictor: &dyn Predictor,
    store: &dyn Store,
    owner: &str,
    input: &BTreeMap<String, Value>,
    source: Source,
    idempotency_key: Option<String>,
) -> Result<PredictionRecord, PredictError> {
    let features = predictor.manifest().validate(input)?;
    let record = new_records(predictor, owner, &[features], source, |_| {
        idempotency_key.clone()
    })?
    .pop()
    .ok_or_else(|| PredictError::Unexpected {
        model: predictor.manifest().name.clone(),
        answer: "no prediction for one row".to_owned(),
    })?;
    keep(store, record).await
}

/// Stores a new record; for a reused idempotency key, returns the first
/// record made with it, or refuses a key reused for other input (other
/// values, or a batch where there was one row, or another batch size).
pub async fn keep(
    store: &dyn Store,
    record: PredictionRecord,
) -> Result<PredictionRecord, PredictError> {
    match store.put_prediction(&record).await? {
        Put::Created => Ok(record),
        Put::Existing(first)
            if first.inputs == record.inputs && first.batch_rows == record.batch_rows =>
        {
            Ok(*first)
        }
        Put::Existing(_) => Err(PredictError::KeyReused),
    }
}

/// Runs the model once on validated rows and makes their records (not
/// stored yet); `key` gives each row's idempotency key.
pub fn new_records(
    predictor: &dyn Predictor,
    owner: &str,
    rows: &[Features],
    source: Source,
    key: impl Fn(usize) -> Option<String>,
) -> Result<Vec<PredictionRecord>, PredictError> {
    let manifest = predictor.manifest();
    let started = Instant::now();
    let predictions = predictor.predict(rows)?;
    // A batch shares one run of the model: each record gets its share.
    let rows_run = u128::try_from(rows.len().max(1)).unwrap_or(1);
    let latency_us = u64::try_from(started.elapsed().as_micros() / rows_run).unwrap_or(u64::MAX);
    let created_at = OffsetDateTime::now_utc();
    let model = ModelRef {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        sha256: manifest.onnx.sha256.clone(),
    };
    rows.iter()
        .zip(predictions.iter())
        .enumerate()
        .map(|(i, (features, prediction))| {
            let outcome =
                manifest
                    .outcome_of(prediction)
                    .ok_or_else(|| PredictError::Unexpected {
                        model: manifest.name.clone(),
                        answer: format!("{prediction:?}"),
                    })?;
            Ok(PredictionRecord {
                id: ulid::Ulid::new().to_string(),
                owner: owner.to_owned(),
                created_at,
                model: model.clone(),
                inputs: manifest
                    .features
                    .iter()
                    .map(|f| f.name.clone())
                    .zip(features.values().iter().copied())
                    .collect(),
                outcome,
                latency_us,
                source,
                idempotency_key: key(i),
                batch_rows: None,
            })
        })
        .collect()
}
