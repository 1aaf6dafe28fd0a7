//! HTTP errors as RFC 9457 `application/problem+json`: the JSON API's
//! answers, and the rate limits' on API routes.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use app::{error::AppError, model::InvalidInput, service::PredictError, store::StoreError};

/// An error answer: what went wrong, for people and for programs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For invalid input: every problem, by row (in a batch) and field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// Set as `WWW-Authenticate` on 401 and 403 answers (RFC 6750).
    #[serde(skip)]
    pub challenge: Option<String>,
    /// What failed inside the server: logged when the problem is answered,
    /// never sent.
    #[serde(skip)]
    cause: Option<String>,
}

/// One refused field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// Position of the row in a batch; absent for a single object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    pub field: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            challenge: None,
            cause: None,
        }
    }

    /// A failure inside the server, answered as `shown` says (a 500 or a
    /// 503 and its message for people); `cause` stays in the log.
    fn server_fault(shown: AppError, cause: impl std::fmt::Display) -> Self {
        Problem {
            cause: Some(cause.to_string()),
            ..Problem::from(shown)
        }
    }

    /// 401 or 403 with the `WWW-Authenticate` challenge RFC 6750 asks for.
    pub fn bearer(status: StatusCode, error: Option<&str>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        // A quoted header value: visible ASCII and spaces, no quotes.
        let description: String = detail
            .chars()
            .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .collect();
        let challenge = match error {
            None => "Bearer realm=\"sepal\"".to_owned(),
            Some(error) => format!(
                "Bearer realm=\"sepal\", error=\"{error}\", error_description=\"{description}\""
            ),
        };
        Problem {
            challenge: Some(challenge),
            ..Problem::new(status, detail)
        }
    }

    /// 422 naming every invalid field of the rows (`row` is `Some` in a batch).
    pub fn invalid(problems: impl IntoIterator<Item = (Option<usize>, InvalidInput)>) -> Self {
        let errors = problems
            .into_iter()
            .flat_map(|(row, invalid)| {
                invalid.0.into_iter().map(move |e| FieldProblem {
                    row,
                    detail: format!("{} {}", e.label, e.problem),
                    field: e.field,
                })
            })
            .collect();
        Problem {
            errors,
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the input is not valid; see `errors` (nothing was stored)",
            )
        }
    }
}

impl From<AppError> for Problem {
    fn from(err: AppError) -> Self {
        Problem::new(err.status_code(), err.to_string())
    }
}

impl From<PredictError> for Problem {
    fn from(err: PredictError) -> Self {
        match err {
            PredictError::Invalid(invalid) => Problem::invalid([(None, invalid)]),
            PredictError::KeyReused => Problem::new(StatusCode::CONFLICT, err.to_string()),
            PredictError::Store(err) => err.into(),
            PredictError::Model(_) | PredictError::Unexpected { .. } => {
                Problem::server_fault(AppError::Internal, err)
            }
        }
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => Problem::server_fault(AppError::Unavailable, err),
            StoreError::Conflict | StoreError::Backend(_) => {
                Problem::server_fault(AppError::Internal, err)
            }
        }
    }
}

/// The one place an API error's cause is logged: as it is answered.
impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(cause) = &self.cause {
            if status == StatusCode::SERVICE_UNAVAILABLE {
                tracing::warn!(%cause, "request failed: a service is unavailable");
            } else {
                tracing::error!(%cause, "request failed");
            }
        }
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}
