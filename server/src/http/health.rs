//! The health checks load balancers and orchestrators poll: liveness
//! (`/healthz`) and readiness (`/readyz`). Outside the rate limits.

use std::{sync::Arc, time::Duration};

use app::store::Store;
use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};

/// How long `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: the process is up and answering.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the store answers, so requests can be served. Load balancers
/// stop sending traffic while it does not; the app recovers by itself.
pub async fn readyz(State(store): State<Arc<dyn Store>>) -> impl IntoResponse {
    let state = match tokio::time::timeout(READY_TIMEOUT, store.check()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("the store did not answer within {READY_TIMEOUT:?}")),
    };
    match state {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "store": "ok" })),
        ),
        Err(problem) => {
            tracing::warn!(%problem, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "store": problem })),
            )
        }
    }
}
