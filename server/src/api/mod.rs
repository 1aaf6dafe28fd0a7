//! The JSON API for scripts and notebooks, under `/api/v1`: the same
//! predictions and history as the pages, for a bearer token from the same
//! OpenID provider. It never reads cookies, so it has no CSRF surface.
//! Errors are RFC 9457 problems (`http::problem`); the OpenAPI document is
//! generated from this code (`/api/v1/openapi.json`).
//!
//! `routes` (here) puts together the bearer check (`bearer`), CORS
//! (`cors`), the handlers (`handlers`; the `Idempotency-Key` header in
//! `idempotency_key`, the request body in `json`), the JSON shapes
//! (`schema`) and the document (`openapi`).

mod bearer;
mod cors;
mod handlers;
mod idempotency_key;
mod json;
mod openapi;
mod schema;

use std::sync::Arc;

use app::{model::Predictor, store::Store};
use axum::{Json, Router, extract::DefaultBodyLimit, http::StatusCode, middleware, routing::get};

use crate::{
    Error,
    auth::{AuthSettings, Oidc},
    http::{
        problem::Problem,
        rate_limit::{self, PerUser},
    },
};

/// The most rows one request may send.
pub const MAX_BATCH: usize = 1000;
/// Room for [`MAX_BATCH`] rows of a few features each.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What the handlers share; behind one `Arc`, as each request clones it.
struct Api {
    oidc: Arc<Oidc>,
    settings: Arc<AuthSettings>,
    model: Arc<dyn Predictor>,
    store: Arc<dyn Store>,
}

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
    let document = Json(openapi::document(api.model.manifest()));
    let protected = Router::new()
        .route("/predictions", get(handlers::list).post(handlers::create))
        .route(
            "/predictions/{id}",
            get(handlers::read).delete(handlers::remove),
        )
        .route("/model", get(handlers::model))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such API route") })
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(api.clone());
    // Around the routes as one service, as in `crate::router`: `Router::layer`
    // would wrap each route in each layer, all cloned at every request.
    let protected = tower::ServiceBuilder::new()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(api, bearer::bearer))
        .layer(middleware::from_fn_with_state(
            per_user,
            rate_limit::per_user,
        ))
        .service(protected);
    let routes = Router::new()
        .route("/openapi.json", get(|| async move { document }))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(protected);
    Ok(match cors::cors(cors_origins)? {
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
