//! Server functions answer every error with HTTP 500. This gives each error
//! the status its `AppError` variant stands for, so a malformed request is a
//! 400, not a server fault.

use app::error::AppError;
use axum::{
    body::{Body, HttpBody},
    http::StatusCode,
    response::Response,
};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

/// Server-function error bodies are a small JSON `AppError`; a larger body is
/// not one of ours and is passed on unread.
const MAX_ERROR_BODY: u64 = 16 * 1024;

pub async fn status_from_error(response: Response) -> Response {
    // Plain form posts (no JS) are redirected back to the page instead; leave those.
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
        || response
            .body()
            .size_hint()
            .upper()
            .is_none_or(|size| size > MAX_ERROR_BODY)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            // Anything that is not an `AppError` keeps its 500.
            if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
                parts.status = error.status_code();
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(err) => {
            tracing::error!(%err, "could not read a server function's error body");
            Response::from_parts(parts, Body::empty())
        }
    }
}
