//! The API's operations: create, list, read and delete predictions, and
//! read the model's manifest. Each answers JSON or a problem.

use std::sync::Arc;

use app::{
    auth::User,
    model::{InvalidInput, Manifest, Task},
    service::{keep, new_records, predict_and_store},
    store::{Cursor, ListQuery, Source},
};
use axum::{
    Extension, Json,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    Api, MAX_BATCH,
    idempotency_key::IdempotencyKey,
    json::ApiJson,
    schema::{Batch, Created, ListParams, PredictRequest, Prediction, PredictionPage},
};
use crate::http::problem::Problem;

/// Predicts the class (or value) of one row or a batch, and stores each prediction.
#[utoipa::path(
    post,
    path = "/api/v1/predictions",
    tag = "predictions",
    request_body = PredictRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]+$",
        description = "A retry with the same key returns the first answer and stores nothing new; the same key with another body is a 409")),
    responses(
        (status = 201, description = "Stored: a prediction for one object, a batch (in the order of the rows) for an array", body = Created),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not in an allowed group", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The Idempotency-Key was used for other input", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, by row and field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(api): State<Arc<Api>>,
    Extension(user): Extension<User>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(body): ApiJson<PredictRequest>,
) -> Result<Response, Problem> {
    let owner = user.owner();
    match body {
        PredictRequest::One(row) => {
            let record = predict_and_store(
                api.model.as_ref(),
                api.store.as_ref(),
                &owner,
                &row,
                Source::Api,
                key,
            )
            .await?;
            let location = format!("/api/v1/predictions/{}", record.id);
            Ok((
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(Created::One(Box::new(record.into()))),
            )
                .into_response())
        }
        PredictRequest::Many(rows) => {
            if rows.is_empty() || rows.len() > MAX_BATCH {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "a batch has 1 to {MAX_BATCH} rows; this one has {}",
                        rows.len()
                    ),
                ));
            }
            let manifest = api.model.manifest();
            let mut features = Vec::with_capacity(rows.len());
            let mut invalid: Vec<(Option<usize>, InvalidInput)> = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                match manifest.validate(row) {
                    Ok(f) => features.push(f),
                    Err(e) => invalid.push((Some(i), e)),
                }
            }
            if !invalid.is_empty() {
                return Err(Problem::invalid(invalid));
            }
            // With a key, the first row carries it and the batch's size; the
            // others `key#position`. Rows are kept in order, so a retry finds
            // the first row (or a conflict) before anything new is stored,
            // and completes a batch that failed part way.
            let row_key = |i: usize| match (&key, i) {
                (Some(key), 0) => Some(key.clone()),
                (Some(key), i) => Some(format!("{key}#{i}")),
                (None, _) => None,
            };
            let mut records =
                new_records(api.model.as_ref(), &owner, &features, Source::Api, row_key)?;
            if let Some(first) = records.first_mut().filter(|_| key.is_some()) {
                first.batch_rows = u32::try_from(rows.len()).ok();
            }
            let mut predictions = Vec::with_capacity(records.len());
            for record in records {
                predictions.push(Prediction::from(keep(api.store.as_ref(), record).await?));
            }
            Ok((
                StatusCode::CREATED,
                Json(Created::Many(Batch { predictions })),
            )
                .into_response())
        }
    }
}

/// Lists the caller's predictions, newest first, with keyset cursors.
#[utoipa::path(
    get,
    path = "/api/v1/predictions",
    tag = "predictions",
    params(ListParams),
    responses(
        (status = 200, body = PredictionPage),
        (status = 400, description = "Bad cursor, limit or label", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(api): State<Arc<Api>>,
    Extension(user): Extension<User>,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PredictionPage>, Problem> {
    let Query(params) = query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let cursor = params
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<Cursor>())
        .transpose()
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=app::store::MAX_PAGE_SIZE).contains(&limit) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1 to {}", app::store::MAX_PAGE_SIZE),
        ));
    }
    let manifest: &Manifest = api.model.manifest();
    if let Some(label) = &params.label
        && !manifest.classes.iter().any(|c| &c.name == label)
    {
        let names: Vec<&str> = manifest.classes.iter().map(|c| c.name.as_str()).collect();
        let detail = match manifest.task {
            Task::Classification => format!("label must be one of: {}", names.join(", ")),
            Task::Regression => {
                "this model predicts a value, not a class: there is no label to filter by"
                    .to_owned()
            }
        };
        return Err(Problem::new(StatusCode::BAD_REQUEST, detail));
    }
    let page = api
        .store
        .list_predictions(&user.owner(), &ListQuery::new(cursor, limit, params.label))
        .await?;
    Ok(Json(PredictionPage {
        predictions: page.records.into_iter().map(Prediction::from).collect(),
        next: page.older,
        previous: page.newer,
    }))
}

/// One of the caller's predictions.
#[utoipa::path(
    get,
    path = "/api/v1/predictions/{id}",
    tag = "predictions",
    params(("id" = String, Path, description = "The prediction's id")),
    responses(
        (status = 200, body = Prediction),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prediction of yours", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn read(
    State(api): State<Arc<Api>>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
) -> Result<Json<Prediction>, Problem> {
    match api.store.get_prediction(&user.owner(), &id).await? {
        Some(record) => Ok(Json(record.into())),
        None => Err(app::error::AppError::NotFound.into()),
    }
}

/// Deletes one of the caller's predictions.
#[utoipa::path(
    delete,
    path = "/api/v1/predictions/{id}",
    tag = "predictions",
    params(("id" = String, Path, description = "The prediction's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prediction of yours", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn remove(
    State(api): State<Arc<Api>>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    if api.store.delete_prediction(&user.owner(), &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(app::error::AppError::NotFound.into())
    }
}

/// The model being served: its manifest (features, bounds, classes or target, metrics).
#[utoipa::path(
    get,
    path = "/api/v1/model",
    tag = "model",
    responses(
        (status = 200, description = "The model's manifest.json", body = Object),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn model(State(api): State<Arc<Api>>) -> Json<Manifest> {
    Json(api.model.manifest().clone())
}
