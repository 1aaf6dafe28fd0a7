//! Every request's id (`x-request-id`) and the span its log lines share.

use axum::{
    body::Body,
    http::{HeaderValue, Request},
};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Request ids are ULIDs: unique, and sorted by time in the logs. Made from
/// the thread's random generator, where tower-http's UUIDs ask the kernel
/// (a `getrandom` call per request).
#[derive(Clone, Copy)]
pub struct MakeRequestUlid;

impl MakeRequestId for MakeRequestUlid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::try_from(ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// One span per request. Only the path is logged: query strings can carry
/// secrets (an OAuth `code`, for one).
pub fn request_span(req: &Request<Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
}
