//! The server functions behind the prediction form and the history. New
//! records are made by the prediction service (`service`).

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
    answered(async move {
        let user = signed_in()?;
        let manifest = predictor()?.manifest().clone();
        if let Some(id) = query.get("result") {
            let record = store()?
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
    })
    .await
}

/// The form's submission: validates, predicts, stores, and sends the browser
/// to the result. Input with mistakes goes back to the form, whose page
/// names each problem; nothing is stored then.
#[server(prefix = "/fn", endpoint = "predict")]
pub async fn predict(input: BTreeMap<String, String>) -> Result<(), AppError> {
    use leptos_router::params::ParamsMap;

    answered(async move {
        let user = signed_in()?;
        let json = input
            .iter()
            .map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str())))
            .collect();
        let (predictor, store) = (predictor()?, store()?);
        let made = crate::service::predict_and_store(
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
            Err(crate::service::PredictError::Invalid(_)) => {
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
            Err(err) => return Err(err.into()),
        }
        Ok(())
    })
    .await
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

    answered(async move {
        let owner = signed_in()?.owner();
        let manifest = predictor()?.manifest().clone();
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
            ))
            .into());
        }
        let store = store()?;
        let query = ListQuery::new(cursor, HISTORY_PAGE_SIZE, class);
        Ok(HistoryPage {
            page: store.list_predictions(&owner, &query).await?,
            total: store.count_predictions(&owner).await?,
            manifest,
        })
    })
    .await
}

/// Records on one page of `/history`.
pub const HISTORY_PAGE_SIZE: usize = 50;

/// One of the user's records and the model manifest, for `/history/:id`.
#[server(prefix = "/fn", endpoint = "prediction")]
pub async fn load_prediction(id: String) -> Result<(PredictionRecord, Manifest), AppError> {
    answered(async move {
        let owner = signed_in()?.owner();
        let manifest = predictor()?.manifest().clone();
        match store()?.get_prediction(&owner, &id).await? {
            Some(record) => Ok((record, manifest)),
            // Someone else's record is as absent as a missing one.
            None => Err(AppError::NotFound.into()),
        }
    })
    .await
}

/// Deletes one of the user's records, then shows the history.
#[server(prefix = "/fn", endpoint = "delete_prediction")]
pub async fn delete_prediction(id: String) -> Result<(), AppError> {
    answered(async move {
        let owner = signed_in()?.owner();
        if !store()?.delete_prediction(&owner, &id).await? {
            return Err(AppError::NotFound.into());
        }
        leptos_axum::redirect("/history");
        Ok(())
    })
    .await
}

/// Deletes all of the user's records, then shows the (empty) history.
#[server(prefix = "/fn", endpoint = "delete_history")]
pub async fn delete_history() -> Result<(), AppError> {
    answered(async move {
        let owner = signed_in()?.owner();
        store()?.delete_all_predictions(&owner).await?;
        leptos_axum::redirect("/history");
        Ok(())
    })
    .await
}

/// The model's manifest, for its card and for the history's filter.
#[server(prefix = "/fn", endpoint = "manifest")]
pub async fn load_manifest() -> Result<Manifest, AppError> {
    answered(async move { Ok(predictor()?.manifest().clone()) }).await
}

#[cfg(feature = "ssr")]
use crate::error::{Failure, answered};

#[cfg(feature = "ssr")]
fn signed_in() -> Result<crate::auth::User, Failure> {
    crate::auth::current_user().ok_or(Failure::Answer(AppError::SignInRequired))
}

#[cfg(feature = "ssr")]
fn predictor() -> Result<std::sync::Arc<dyn crate::model::Predictor>, Failure> {
    crate::error::server_context()
}

#[cfg(feature = "ssr")]
fn store() -> Result<std::sync::Arc<dyn crate::store::Store>, Failure> {
    crate::error::server_context()
}
