//! CORS for the API, for the origins an operator lists
//! (`SEPAL_API_CORS_ORIGINS`): bearer tokens only, never credentials.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::CorsLayer;

use crate::Error;

/// How long browsers may keep a CORS preflight answer.
const CORS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// CORS for the listed origins: bearer tokens only, never credentials.
pub(super) fn cors(origins: &[String]) -> Result<Option<CorsLayer>, Error> {
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
        CorsLayer::new()
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
