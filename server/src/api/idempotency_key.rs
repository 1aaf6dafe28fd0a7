//! The `Idempotency-Key` header: a retry with the same key returns the
//! first answer and stores nothing new.

use axum::{
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
};

use crate::http::problem::Problem;

/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LENGTH: usize = 128;

/// The request's `Idempotency-Key`, if it sent one; 400 for one that is not
/// 1 to [`MAX_KEY_LENGTH`] visible ASCII characters.
pub(super) struct IdempotencyKey(pub Option<String>);

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
