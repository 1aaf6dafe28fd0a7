//! The one error type that server functions return to the browser, and
//! the project's error policy.
//!
//! `AppError` crosses the wire as JSON, so its messages are written for the
//! person reading them; internal details are logged on the server, never
//! sent.
//!
//! # Error policy
//!
//! - **Each layer has its own error type**, with `thiserror`, whose message
//!   says what to do: the store's `StoreError`, the model's `ModelFailed`
//!   (and the server's `ModelError` at load), the prediction service's
//!   `PredictError`, sign-in's `AuthError`, start-up's `server::Error`.
//!   These keep their cause and never log.
//! - **An error becomes an answer at the edge**: an `AppError` for the
//!   pages and their server functions, a `Problem` (RFC 9457) for the JSON
//!   API. Both say what the caller can do and leave internals out.
//! - **A cause is logged once, where it is dropped**, as the answer is
//!   made, never in a conversion. A `Problem` logs its cause as it becomes
//!   a response. Server functions run their body with [`answered`]: inside,
//!   `?` turns every error into a [`Failure`] (plain `From` conversions,
//!   no side effect), and [`Failure::answer`] makes the `AppError`, logging
//!   the cause the answer leaves out, once per request.
//! - Invalid input and refusals (4xx) are the caller's business: answered,
//!   not logged as errors.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// The request itself was wrong: malformed, or missing an argument.
    #[error("the request could not be understood: {0}")]
    BadRequest(String),
    /// The browser could not reach the server, or could not read its answer.
    #[error("could not talk to the server ({0}); check your connection and try again")]
    Network(String),
    /// The request needs a signed-in user, and there is none (any more).
    #[error("you are not signed in (or your session ended); sign in and try again")]
    SignInRequired,
    /// What was asked for does not exist, or belongs to someone else.
    #[error("there is no such prediction in your history")]
    NotFound,
    /// A service the server needs (the store) is not answering.
    #[error("the service is temporarily unavailable; please try again in a moment")]
    Unavailable,
    /// Something failed on the server; the details are in the server's log.
    #[error("something went wrong on the server; please try again later")]
    Internal,
}

#[cfg(feature = "ssr")]
impl AppError {
    /// The HTTP status the server answers with for this error.
    pub fn status_code(&self) -> leptos::server_fn::http_export::StatusCode {
        use leptos::server_fn::http_export::StatusCode;
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::SignInRequired => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Network(_) => StatusCode::BAD_GATEWAY,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(err: ServerFnErrorErr) -> Self {
        match err {
            ServerFnErrorErr::Args(detail) => AppError::BadRequest(detail),
            ServerFnErrorErr::MissingArg(arg) => {
                AppError::BadRequest(format!("missing argument `{arg}`"))
            }
            // On the server this is the request body; in the browser, the response.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(detail) => AppError::BadRequest(detail),
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Deserialization(detail) => AppError::Network(detail),
            ServerFnErrorErr::Request(detail) => AppError::Network(detail),
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                AppError::Internal
            }
        }
    }
}

/// Why a server function failed, before it is answered: a ready answer,
/// or a cause from below that [`Failure::answer`] turns into one.
#[cfg(feature = "ssr")]
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Answer(#[from] AppError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Predict(#[from] crate::service::PredictError),
    /// The server did not provide a value through Leptos context: a wiring bug.
    #[error("server context not provided: {0}")]
    MissingContext(&'static str),
}

#[cfg(feature = "ssr")]
impl Failure {
    /// The answer for the browser. Invalid input and refusals are answered
    /// as they are; a store outage is `Unavailable`; anything else is the
    /// server's fault, `Internal`. What the answer leaves out is logged
    /// here, and only here.
    pub fn answer(self) -> AppError {
        use crate::{service::PredictError, store::StoreError};

        match self {
            Failure::Answer(answer) => answer,
            Failure::Predict(PredictError::Invalid(invalid)) => {
                AppError::BadRequest(invalid.to_string())
            }
            Failure::Predict(err @ PredictError::KeyReused) => {
                AppError::BadRequest(err.to_string())
            }
            Failure::Store(err) | Failure::Predict(PredictError::Store(err)) => {
                tracing::error!(%err, "store request failed");
                match err {
                    StoreError::Unavailable(_) => AppError::Unavailable,
                    StoreError::Conflict | StoreError::Backend(_) => AppError::Internal,
                }
            }
            err @ (Failure::Predict(_) | Failure::MissingContext(_)) => {
                tracing::error!(%err, "request failed");
                AppError::Internal
            }
        }
    }
}

/// Runs a server function's `body` and answers its failure (see
/// [`Failure::answer`]).
#[cfg(feature = "ssr")]
pub async fn answered<T>(body: impl Future<Output = Result<T, Failure>>) -> Result<T, AppError> {
    body.await.map_err(Failure::answer)
}

/// A value the server provides through Leptos context, such as the model.
#[cfg(feature = "ssr")]
pub fn server_context<T: Clone + Send + Sync + 'static>() -> Result<T, Failure> {
    leptos::prelude::use_context::<T>()
        .ok_or_else(|| Failure::MissingContext(std::any::type_name::<T>()))
}
