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
//! - **A cause is logged once, where it is dropped.** A `Problem` carries
//!   its cause and logs it as it becomes a response. An `AppError` is
//!   serialized by Leptos (over HTTP) or rendered (during server-side
//!   rendering) with no hook of ours in between, so the conversions into
//!   `AppError` that drop a cause (from `StoreError` and `PredictError`)
//!   are where it is logged, and nothing below them logs it again.
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

/// A value the server provides through Leptos context, such as the model.
/// Missing context is a wiring bug in the server: logged, and a 500.
#[cfg(feature = "ssr")]
pub fn server_context<T: Clone + Send + Sync + 'static>() -> Result<T, AppError> {
    leptos::prelude::use_context::<T>().ok_or_else(|| {
        tracing::error!(
            missing = std::any::type_name::<T>(),
            "server context not provided"
        );
        AppError::Internal
    })
}
