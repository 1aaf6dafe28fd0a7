//! Browser-facing protections: same-origin checks on state changes (CSRF),
//! and the security headers every response carries, with a fresh CSP nonce.

use std::sync::Arc;

use app::auth::CspNonce;
use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// What the headers depend on, fixed at start.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `scheme://host[:port]` of Sepal as browsers reach it.
    pub origin: String,
    /// Origins besides Sepal's where form posts may end (through redirects):
    /// the provider's, for sign-out; space-separated.
    pub form_targets: String,
    /// cargo-leptos' live-reload socket, in `cargo leptos watch` only.
    pub live_reload: Option<String>,
    /// Served over HTTPS: send HSTS.
    pub https: bool,
}

/// Refuses requests that may change state (anything but GET, HEAD, OPTIONS)
/// unless the browser says they come from Sepal's own pages: `Sec-Fetch-Site:
/// same-origin`, or else an `Origin` equal to Sepal's. This sits on top of
/// the SameSite=Lax session cookie.
pub async fn same_origin_only(
    State(policy): State<Arc<Policy>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").map(HeaderValue::as_bytes);
    let origin = headers.get(header::ORIGIN).map(HeaderValue::as_bytes);
    let allowed = match (fetch_site, origin) {
        (Some(site), _) if site != b"same-origin" => false,
        (_, Some(origin)) => origin == policy.origin.as_bytes(),
        (Some(_), None) => true,
        (None, None) => false,
    };
    if allowed {
        return next.run(request).await;
    }
    tracing::warn!(
        method = %request.method(),
        origin = ?origin.map(String::from_utf8_lossy),
        "cross-origin request refused"
    );
    (
        StatusCode::FORBIDDEN,
        "This request came from another site, so Sepal refused it. \
         Go back to Sepal's page and try again from there.",
    )
        .into_response()
}

/// The JSON API's answers run no script and load nothing: they allow nothing.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the security headers, and a CSP: for pages, one whose script nonce
/// the page's scripts carry (the shell reads it from the request's
/// [`CspNonce`]); for the JSON API, [`API_CSP`].
pub async fn headers(
    State(policy): State<Arc<Policy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = (!request.uri().path().starts_with("/api/")).then(|| {
        let nonce = format!("{:032x}", rand::random::<u128>());
        request.extensions_mut().insert(CspNonce(nonce.clone()));
        nonce
    });
    let mut response = next.run(request).await;

    let csp = match nonce {
        None => Some(HeaderValue::from_static(API_CSP)),
        Some(nonce) => {
            let live_reload = policy.live_reload.as_deref().unwrap_or_default();
            HeaderValue::try_from(format!(
                "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
                 style-src 'self'; img-src 'self' data:; connect-src 'self' {live_reload}; \
                 object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                 form-action 'self' {targets}",
                targets = policy.form_targets,
            ))
            .ok()
        }
    };
    let headers = response.headers_mut();
    if let Some(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: with it, browsers send `Origin: null` on form posts.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if policy.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}
