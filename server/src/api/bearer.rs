//! The API's sign-in: a bearer token from Sepal's OpenID provider, checked
//! on every request, and the user's group.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::Api;
use crate::{auth::AuthError, http::problem::Problem};

/// The user of a valid bearer token, into the request's extensions; 401
/// without a valid token, 403 for a user outside the allowed groups.
pub(super) async fn bearer(State(api): State<Arc<Api>>, mut req: Request, next: Next) -> Response {
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
