//! Rate limits per client address and per signed-in user, with `governor`'s
//! GCRA: each key may send `burst` requests at once, then one every
//! `1/per_second` seconds. A refused request gets `429 Too Many Requests` and
//! `Retry-After`, and reaches nothing behind the limit.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    sync::{Arc, Weak},
    time::Duration,
};

use app::auth::User;
use axum::{
    extract::{ConnectInfo, OriginalUri, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};

use super::problem::Problem;

/// How often keys that are back to a full burst are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// One limit: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    /// `None` when the limit is off (`per_second` is 0).
    fn quota(self) -> Option<Quota> {
        let per_second = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Some(Quota::per_second(per_second).allow_burst(burst))
    }
}

/// Requests per client address: every request but health checks.
#[derive(Clone)]
pub struct PerIp {
    limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    /// Behind a reverse proxy the peer is the proxy: key on the address the
    /// proxy appended to `X-Forwarded-For` instead.
    trust_forwarded_for: bool,
}

/// Requests per signed-in user, browser and API together.
#[derive(Clone)]
pub struct PerUser {
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl PerIp {
    pub fn new(rate: Rate, trust_forwarded_for: bool) -> Self {
        PerIp {
            limiter: rate.quota().map(limiter),
            trust_forwarded_for,
        }
    }

    /// The client's address. Requests served without a peer address (only
    /// in-process tests) share one key.
    fn client(&self, req: &Request) -> IpAddr {
        let forwarded = self
            .trust_forwarded_for
            .then(|| last_forwarded_for(req.headers()))
            .flatten();
        forwarded
            .or_else(|| {
                req.extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(peer)| peer.ip())
            })
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

impl PerUser {
    pub fn new(rate: Rate) -> Self {
        PerUser {
            limiter: rate.quota().map(limiter),
        }
    }
}

/// The rightmost `X-Forwarded-For` address: the one the trusted proxy saw.
/// Addresses left of it are whatever the client chose to send.
fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// A shared limiter, pruned in the background for as long as it is used.
fn limiter<K>(quota: Quota) -> Arc<DefaultKeyedRateLimiter<K>>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
{
    let limiter = Arc::new(RateLimiter::keyed(quota));
    let weak: Weak<DefaultKeyedRateLimiter<K>> = Arc::downgrade(&limiter);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            let Some(limiter) = weak.upgrade() else { break };
            limiter.retain_recent();
        }
    });
    limiter
}

/// The wait before `key` may send again, if it must wait.
fn wait<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Option<Duration>
where
    K: std::hash::Hash + Eq + Clone,
{
    limiter
        .check_key(key)
        .err()
        .map(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

pub async fn per_ip(State(limit): State<PerIp>, req: Request, next: Next) -> Response {
    if let Some(limiter) = &limit.limiter {
        let client = limit.client(&req);
        if let Some(wait) = wait(limiter, &client) {
            tracing::info!(%client, "rate limited (per address)");
            return too_many(&req, wait, "from your address");
        }
    }
    next.run(req).await
}

/// Anonymous requests pass: they are limited per address only.
pub async fn per_user(State(limit): State<PerUser>, req: Request, next: Next) -> Response {
    if let (Some(limiter), Some(user)) = (&limit.limiter, req.extensions().get::<User>())
        && let Some(wait) = wait(limiter, &user.owner())
    {
        tracing::info!(user = %user.owner(), "rate limited (per user)");
        return too_many(&req, wait, "for your account");
    }
    next.run(req).await
}

/// 429 with `Retry-After` in whole seconds (at least 1): a problem document
/// for the API, plain text elsewhere.
fn too_many(req: &Request, wait: Duration, whose: &str) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let detail = format!("too many requests {whose}; try again in {seconds} s");
    // Nested routers see their own part of the path; the original is kept.
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map_or(req.uri().path(), |OriginalUri(uri)| uri.path());
    let mut response = if path.starts_with("/api/") {
        Problem::new(StatusCode::TOO_MANY_REQUESTS, detail).into_response()
    } else {
        (StatusCode::TOO_MANY_REQUESTS, detail).into_response()
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}
