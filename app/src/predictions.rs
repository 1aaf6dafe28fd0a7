//! Making predictions and keeping them: the server functions behind the
//! prediction form and the history, and the one path every new record takes.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    model::{FieldError, Manifest},
    store::{Page, PredictionRecord},
};

/// How long an input value may be when it is sent back to the form to be
/// corrected; longer text is cut (it is not a number anyway).
#[cfg(feature = "ssr")]
const MAX_ECHOED_INPUT: usize = 40;

/// What `/predict` shows: the form, filled in, its problems, and the result
/// of the last prediction when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictForm {
    pub manifest: Manifest,
    /// Feature name → the text to put in its field.
    pub values: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
    pub result: Option<PredictionRecord>,
}

/// Loads `/predict` for its query: `?result=ID` shows a stored prediction
/// (the user's own only); feature values fill the form in and are checked,
/// so a form sent back with a mistake shows what is wrong with it.
#[server(prefix = "/fn", endpoint = "predict_form")]
pub async fn load_predict_form(query: BTreeMap<String, String>) -> Result<PredictForm, AppError> {
    let user = server::signed_in()?;
    let manifest = server::predictor()?.manifest().clone();
    if let Some(id) = query.get("result") {
        let record = server::store()?
            .get_prediction(&user.owner(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let values = record
            .inputs
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect();
        return Ok(PredictForm {
            manifest,
            values,
            errors: Vec::new(),
            result: Some(record),
        });
    }
    let values: BTreeMap<String, String> = query
        .into_iter()
        .filter(|(name, _)| manifest.feature(name).is_some())
        .collect();
    let errors = if values.is_empty() {
        Vec::new()
    } else {
        let input = values
            .iter()
            .map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str())))
            .collect();
        manifest
            .validate(&input)
            .err()
            .map(|e| e.0)
            .unwrap_or_default()
    };
    Ok(PredictForm {
        manifest,
        values,
        errors,
        result: None,
    })
}

/// The form's submission: validates, predicts, stores, and sends the browser
/// to the result. Input with mistakes goes back to the form, whose page
/// names each problem; nothing is stored then.
#[server(prefix = "/fn", endpoint = "predict")]
pub async fn predict(input: BTreeMap<String, String>) -> Result<(), AppError> {
    use leptos_router::params::ParamsMap;

    let user = server::signed_in()?;
    let json = input
        .iter()
        .map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str())))
        .collect();
    let (predictor, store) = (server::predictor()?, server::store()?);
    let made = server::predict_and_store(
        predictor.as_ref(),
        store.as_ref(),
        &user.owner(),
        &json,
        crate::store::Source::Web,
        None,
    )
    .await;
    match made {
        Ok(record) => leptos_axum::redirect(&format!("/predict?result={}", record.id)),
        Err(server::PredictError::Invalid(_)) => {
            let echo: ParamsMap = input
                .into_iter()
                .map(|(name, value)| {
                    (
                        name,
                        value.chars().take(MAX_ECHOED_INPUT).collect::<String>(),
                    )
                })
                .collect();
            leptos_axum::redirect(&format!("/predict{}", echo.to_query_string()));
        }
        Err(server::PredictError::App(err)) => return Err(err),
        // The form sends no idempotency key.
        Err(server::PredictError::KeyReused) => return Err(AppError::Internal),
    }
    Ok(())
}

/// One page of the signed-in user's history, and how many records they have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub page: Page,
    pub total: u64,
    pub manifest: Manifest,
}

/// A page of 50 of the user's predictions, newest first, from `cursor` (as a
/// previous page handed it out), only of `class` when given.
#[server(prefix = "/fn", endpoint = "history")]
pub async fn load_history(
    cursor: Option<String>,
    class: Option<String>,
) -> Result<HistoryPage, AppError> {
    use crate::store::{Cursor, ListQuery};

    let owner = server::signed_in()?.owner();
    let manifest = server::predictor()?.manifest().clone();
    let cursor = cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<Cursor>())
        .transpose()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let class = class.filter(|c| !c.is_empty());
    if let Some(class) = &class
        && !manifest.classes.iter().any(|c| &c.name == class)
    {
        return Err(AppError::BadRequest(format!(
            "`{}` is not a class of this model",
            class.chars().take(MAX_ECHOED_INPUT).collect::<String>()
        )));
    }
    let store = server::store()?;
    let query = ListQuery::new(cursor, HISTORY_PAGE_SIZE, class);
    Ok(HistoryPage {
        page: store.list_predictions(&owner, &query).await?,
        total: store.count_predictions(&owner).await?,
        manifest,
    })
}

/// Records on one page of `/history`.
pub const HISTORY_PAGE_SIZE: usize = 50;

/// One of the user's records and the model manifest, for `/history/:id`.
#[server(prefix = "/fn", endpoint = "prediction")]
pub async fn load_prediction(id: String) -> Result<(PredictionRecord, Manifest), AppError> {
    let owner = server::signed_in()?.owner();
    let manifest = server::predictor()?.manifest().clone();
    match server::store()?.get_prediction(&owner, &id).await? {
        Some(record) => Ok((record, manifest)),
        // Someone else's record is as absent as a missing one.
        None => Err(AppError::NotFound),
    }
}

/// Deletes one of the user's records, then shows the history.
#[server(prefix = "/fn", endpoint = "delete_prediction")]
pub async fn delete_prediction(id: String) -> Result<(), AppError> {
    let owner = server::signed_in()?.owner();
    if !server::store()?.delete_prediction(&owner, &id).await? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect("/history");
    Ok(())
}

/// Deletes all of the user's records, then shows the (empty) history.
#[server(prefix = "/fn", endpoint = "delete_history")]
pub async fn delete_history() -> Result<(), AppError> {
    let owner = server::signed_in()?.owner();
    server::store()?.delete_all_predictions(&owner).await?;
    leptos_axum::redirect("/history");
    Ok(())
}

/// The model's manifest, for its card and for the history's filter.
#[server(prefix = "/fn", endpoint = "manifest")]
pub async fn load_manifest() -> Result<Manifest, AppError> {
    Ok(server::predictor()?.manifest().clone())
}

#[cfg(feature = "ssr")]
pub mod server {
    //! The server side of predictions, shared by the pages and the JSON API.

    use std::{collections::BTreeMap, sync::Arc, time::Instant};

    use serde_json::Value;
    use time::OffsetDateTime;

    use crate::{
        auth::User,
        error::{AppError, server_context},
        model::{Features, InvalidInput, Predictor},
        store::{ModelRef, PredictionRecord, Put, Source, Store},
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
        App(#[from] AppError),
    }

    pub fn signed_in() -> Result<User, AppError> {
        crate::auth::current_user().ok_or(AppError::SignInRequired)
    }

    pub fn predictor() -> Result<Arc<dyn Predictor>, AppError> {
        server_context()
    }

    pub fn store() -> Result<Arc<dyn Store>, AppError> {
        server_context()
    }

    /// Validates one row of input, runs the model and stores the record for
    /// `owner`: the path of every new record, from the form or the API.
    /// With an idempotency key the owner used before for the same input,
    /// nothing new is stored and the first record is returned.
    pub async fn predict_and_store(
        predictor: &dyn Predictor,
        store: &dyn Store,
        owner: &str,
        input: &BTreeMap<String, Value>,
        source: Source,
        idempotency_key: Option<String>,
    ) -> Result<PredictionRecord, PredictError> {
        let features = predictor.manifest().validate(input)?;
        let mut records = new_records(predictor, owner, &[features], source, |_| {
            idempotency_key.clone()
        })?;
        let record = records.pop().ok_or(AppError::Internal)?;
        keep(store, record).await
    }

    /// Stores a new record; for a reused idempotency key, returns the first
    /// record made with it, or refuses a key reused for other input (other
    /// values, or a batch where there was one row, or another batch size).
    pub async fn keep(
        store: &dyn Store,
        record: PredictionRecord,
    ) -> Result<PredictionRecord, PredictError> {
        match store
            .put_prediction(&record)
            .await
            .map_err(AppError::from)?
        {
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
    ) -> Result<Vec<PredictionRecord>, AppError> {
        let manifest = predictor.manifest();
        let started = Instant::now();
        let predictions = predictor.predict(rows)?;
        // A batch shares one run of the model: each record gets its share.
        let rows_run = u128::try_from(rows.len().max(1)).unwrap_or(1);
        let latency_us =
            u64::try_from(started.elapsed().as_micros() / rows_run).unwrap_or(u64::MAX);
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
                let outcome = manifest.outcome_of(prediction).ok_or_else(|| {
                    tracing::error!(model = %manifest.name, ?prediction, "the model answered outside its manifest");
                    AppError::Internal
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
}
