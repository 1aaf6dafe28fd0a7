//! The JSON API for scripts and notebooks, under `/api/v1`: the same
//! predictions and history as the pages, for a bearer token from the same
//! OpenID provider. It never reads cookies, so it has no CSRF surface.
//! Errors are RFC 9457 problems; the OpenAPI document is generated from
//! this code (`/api/v1/openapi.json`).

mod problem;

use std::{collections::BTreeMap, sync::Arc};

use app::{
    auth::User,
    model::{InvalidInput, Manifest, Predictor, Task},
    predictions::server::{keep, new_records, predict_and_store},
    store::{Cursor, ListQuery, Outcome, PredictionRecord, Source, Store},
};
use axum::{
    Extension, Json, Router,
    extract::{DefaultBodyLimit, FromRequestParts, Path, Query, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::{
    Error,
    auth::{AuthError, AuthSettings, Oidc},
    http::rate_limit::{self, PerUser},
};
pub use problem::{ApiJson, FieldProblem, Problem};

/// The most rows one request may send.
pub const MAX_BATCH: usize = 1000;
/// Room for [`MAX_BATCH`] rows of a few features each.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LENGTH: usize = 128;

/// What the handlers share; behind one `Arc`, as each request clones it.
struct Api {
    oidc: Arc<Oidc>,
    settings: Arc<AuthSettings>,
    model: Arc<dyn Predictor>,
    store: Arc<dyn Store>,
}

/// How long browsers may keep a CORS preflight answer.
const CORS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The API's routes, to be nested under `/api/v1`, with CORS for
/// `cors_origins` (none when empty).
pub fn routes<S: Clone + Send + Sync + 'static>(
    oidc: Arc<Oidc>,
    settings: Arc<AuthSettings>,
    predictor: Arc<dyn Predictor>,
    store: Arc<dyn Store>,
    per_user: PerUser,
    cors_origins: &[String],
) -> Result<Router<S>, Error> {
    let api = Arc::new(Api {
        oidc,
        settings,
        model: predictor,
        store,
    });
    let document = Json(document(api.model.manifest()));
    let protected = Router::new()
        .route("/predictions", get(list).post(create))
        .route("/predictions/{id}", get(read).delete(remove))
        .route("/model", get(model))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such API route") })
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(api.clone());
    // Around the routes as one service, as in `http::router`: `Router::layer`
    // would wrap each route in each layer, all cloned at every request.
    let protected = tower::ServiceBuilder::new()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(api, bearer))
        .layer(middleware::from_fn_with_state(
            per_user,
            rate_limit::per_user,
        ))
        .service(protected);
    let routes = Router::new()
        .route("/openapi.json", get(|| async move { document }))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(protected);
    Ok(match cors(cors_origins)? {
        Some(cors) => routes.layer(cors),
        None => routes,
    })
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this API route does not take that method; see /api/v1/openapi.json",
    )
}

/// CORS for the listed origins: bearer tokens only, never credentials.
fn cors(origins: &[String]) -> Result<Option<tower_http::cors::CorsLayer>, Error> {
    let origins = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|o| {
            let url = url::Url::parse(o).map_err(|e| Error::CorsOrigin(format!("{o}: {e}")))?;
            let origin = url.origin().ascii_serialization();
            // An origin is scheme, host and port: nothing else may follow.
            if !url.origin().is_tuple() || origin != o.trim_end_matches('/') {
                return Err(Error::CorsOrigin(format!(
                    "{o} is not an origin like https://example.org"
                )));
            }
            HeaderValue::from_str(&origin).map_err(|e| Error::CorsOrigin(format!("{o}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if origins.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                header::LOCATION,
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
            ])
            .max_age(CORS_MAX_AGE),
    ))
}

/// The user of a valid bearer token, into the request's extensions; 401
/// without a valid token, 403 for a user outside the allowed groups.
async fn bearer(State(api): State<Arc<Api>>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, token)| token.trim());
    let Some(token) = token else {
        return Problem::bearer(
            StatusCode::UNAUTHORIZED,
            None,
            "send `Authorization: Bearer <token>` with a token from Sepal's OpenID provider",
        )
        .into_response();
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let user = match api.oidc.verify_bearer(token, now).await {
        Ok(user) => user,
        Err(AuthError::Unavailable(why)) => {
            tracing::warn!(%why, "cannot check a bearer token");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the sign-in provider cannot be reached to check the token; try again shortly",
            )
            .into_response();
        }
        Err(err) => {
            tracing::info!(error = %err, "bearer token refused");
            return Problem::bearer(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                err.to_string(),
            )
            .into_response();
        }
    };
    if !api.settings.allows(&user) {
        return Problem::bearer(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "your account is not in a group allowed to use Sepal",
        )
        .into_response();
    }
    req.extensions_mut().insert(user);
    next.run(req).await
}

/// A stored prediction, as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prediction {
    /// A ULID: unique, and ordered by creation time.
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub model: ModelInfo,
    /// Feature name → value, as given to the model.
    pub inputs: BTreeMap<String, f32>,
    /// The predicted class (a classifier's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Class name → probability (a classifier's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<BTreeMap<String, f32>>,
    /// The predicted value, in the target's unit (a regressor's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f32>,
    /// Time the model took, in microseconds (a batch's time shared by its rows).
    pub latency_us: u64,
    /// `web` or `api`.
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

impl From<PredictionRecord> for Prediction {
    fn from(r: PredictionRecord) -> Self {
        let (class, probabilities, value) = match r.outcome {
            Outcome::Class {
                class,
                probabilities,
            } => (Some(class), Some(probabilities), None),
            Outcome::Value { value } => (None, None, Some(value)),
        };
        Prediction {
            created_at: r
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            id: r.id,
            model: ModelInfo {
                name: r.model.name,
                version: r.model.version,
                sha256: r.model.sha256,
            },
            inputs: r.inputs,
            class,
            probabilities,
            value,
            latency_us: r.latency_us,
            source: r.source.as_str().to_owned(),
        }
    }
}

/// The predictions a batch made, in the order of its rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Batch {
    pub predictions: Vec<Prediction>,
}

/// What a POST made: one prediction for one object, a batch for an array.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Created {
    One(Box<Prediction>),
    Many(Batch),
}

/// One object of feature values (`{"sepal_length": 5.1, …}`), or an array
/// of up to 1,000 of them. (Its schema in the OpenAPI document is written
/// from the manifest, in [`document`].)
#[derive(Debug, ToSchema)]
pub enum PredictRequest {
    #[schema(value_type = Object)]
    One(BTreeMap<String, Value>),
    #[schema(value_type = Vec<Object>)]
    Many(Vec<BTreeMap<String, Value>>),
}

/// Read by the body's first token: an object is one row, an array a batch.
/// (serde's `untagged` would first copy the whole body into a tree of its
/// own, then try each variant on it.)
impl<'de> Deserialize<'de> for PredictRequest {
    fn deserialize<D: serde::Deserializer<'de>>(body: D) -> Result<Self, D::Error> {
        use serde::de::{
            MapAccess, SeqAccess, Visitor,
            value::{MapAccessDeserializer, SeqAccessDeserializer},
        };

        struct Rows;

        impl<'de> Visitor<'de> for Rows {
            type Value = PredictRequest;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of feature values, or an array of such objects")
            }

            fn visit_map<M: MapAccess<'de>>(self, row: M) -> Result<PredictRequest, M::Error> {
                Deserialize::deserialize(MapAccessDeserializer::new(row)).map(PredictRequest::One)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, rows: A) -> Result<PredictRequest, A::Error> {
                Deserialize::deserialize(SeqAccessDeserializer::new(rows)).map(PredictRequest::Many)
            }
        }

        body.deserialize_any(Rows)
    }
}

/// Predicts the class (or value) of one row or a batch, and stores each prediction.
#[utoipa::path(
    post,
    path = "/api/v1/predictions",
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
async fn create(
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

/// The request's `Idempotency-Key`, if it sent one; 400 for one that is not
/// 1 to [`MAX_KEY_LENGTH`] visible ASCII characters.
struct IdempotencyKey(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        value
            .to_str()
            .ok()
            .filter(|k| {
                (1..=MAX_KEY_LENGTH).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|k| IdempotencyKey(Some(k.to_owned())))
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters, no spaces"
                    ),
                )
            })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `next` or `previous` of an earlier page; empty or absent: the newest.
    #[param(pattern = "^([on][0-9A-HJKMNP-TV-Z]{26})?$")]
    cursor: Option<String>,
    /// 1 to 100; 50 when absent.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
    /// Only predictions of this class (classifiers only).
    label: Option<String>,
}

/// A page of the caller's predictions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionPage {
    pub predictions: Vec<Prediction>,
    /// Cursor of the older predictions, if any.
    pub next: Option<String>,
    /// Cursor of the newer predictions, if any.
    pub previous: Option<String>,
}

/// Lists the caller's predictions, newest first, with keyset cursors.
#[utoipa::path(
    get,
    path = "/api/v1/predictions",
    params(ListParams),
    responses(
        (status = 200, body = PredictionPage),
        (status = 400, description = "Bad cursor, limit or label", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list(
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
    params(("id" = String, Path, description = "The prediction's id")),
    responses(
        (status = 200, body = Prediction),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prediction of yours", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn read(
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
    params(("id" = String, Path, description = "The prediction's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prediction of yours", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn remove(
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
    responses(
        (status = 200, description = "The model's manifest.json", body = Object),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn model(State(api): State<Arc<Api>>) -> Json<Manifest> {
    Json(api.model.manifest().clone())
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sepal API", description = "Iris species predictions and their history, for a bearer token from Sepal's OpenID provider."),
    paths(create, list, read, remove, model),
    components(schemas(Prediction, ModelInfo, Batch, Created, PredictionPage, Problem, FieldProblem, PredictRequest)),
    modifiers(&BearerScheme, &RateLimited),
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every operation may be refused by the rate limits: a 429 on each.
struct RateLimited;

impl utoipa::Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder, Type};
        let response = ResponseBuilder::new()
            .description(
                "Too many requests from this address or user; retry after `Retry-After` seconds",
            )
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
                    .description(Some("Seconds to wait"))
                    .build(),
            )
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                operation
                    .responses
                    .responses
                    .insert("429".to_owned(), response.clone().into());
            }
        }
    }
}

/// The OpenAPI 3.1 document of this API, with the request body and the
/// `label` filter spelled out from the model's manifest: each feature with
/// its bounds and unit, each class name.
fn document(manifest: &Manifest) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{
        ArrayBuilder, ObjectBuilder, OneOfBuilder, Ref, Type, schema::AdditionalProperties,
    };
    let mut input = ObjectBuilder::new()
        .description(Some("One row of the model's features"))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .examples(
            manifest
                .examples
                .iter()
                .map(|e| serde_json::json!(e.values)),
        );
    for feature in &manifest.features {
        let description = format!(
            "{}{}; seen in training: {} to {}",
            feature.label,
            feature.unit_suffix(),
            feature.typical_min,
            feature.typical_max
        );
        input = input
            .property(
                &feature.name,
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(feature.min))
                    .maximum(Some(feature.max))
                    .description(Some(description)),
            )
            .required(&feature.name);
    }
    let request = OneOfBuilder::new()
        .item(Ref::from_schema_name("PredictionInput"))
        .item(
            ArrayBuilder::new()
                .items(Ref::from_schema_name("PredictionInput"))
                .min_items(Some(1))
                .max_items(Some(MAX_BATCH)),
        );
    let mut doc = ApiDoc::openapi();
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    schemas.insert("PredictionInput".to_owned(), input.build().into());
    schemas.insert(
        "PredictRequest".to_owned(),
        utoipa::openapi::Schema::OneOf(request.build()).into(),
    );

    let classes = manifest.classes.iter().map(|c| c.name.clone());
    let label: utoipa::openapi::RefOr<_> = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(classes))
        .build()
        .into();
    let list = doc
        .paths
        .paths
        .get_mut("/api/v1/predictions")
        .and_then(|item| item.get.as_mut());
    if let Some(parameters) = list.and_then(|op| op.parameters.as_mut()) {
        match manifest.task {
            Task::Classification => parameters
                .iter_mut()
                .filter(|p| p.name == "label")
                .for_each(|p| p.schema = Some(label.clone())),
            // A regressor's records have no class to filter by.
            Task::Regression => parameters.retain(|p| p.name != "label"),
        }
    }
    doc
}
