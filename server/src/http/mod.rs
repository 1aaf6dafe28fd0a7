//! The HTTP pieces the pages and the JSON API share: error answers
//! ([`problem`]), rate limits, security headers and the same-origin check,
//! request ids, health checks, and the pages' CSV exports. `crate::router`
//! puts them together with `auth` and `api`; nothing here depends on
//! either of those.

pub(crate) mod export;
pub(crate) mod health;
pub(crate) mod problem;
pub(crate) mod rate_limit;
pub(crate) mod request_id;
pub(crate) mod security;
pub(crate) mod server_fn_errors;
