//! The API's JSON request body, whose every refusal is a problem: 415
//! without a JSON content type, 413 over the size limit, 400 for malformed
//! JSON or the wrong shape.

use axum::{
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

use crate::http::problem::Problem;

/// A JSON body whose refusals are problems: 415 without a JSON content
/// type, 413 over the size limit, 400 for malformed JSON or the wrong shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    let status = match rejection {
        JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        // Too large a body is a 413; anything else unreadable, a 400.
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    let detail = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "send the body as JSON, with `Content-Type: application/json`".to_owned()
        }
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the body is larger than {} bytes; send at most {} rows per request",
            super::MAX_BODY_BYTES,
            super::MAX_BATCH
        ),
        _ => format!(
            "the body is not valid JSON of the expected shape: {}",
            rejection.body_text()
        ),
    };
    Problem::new(status, detail)
}
