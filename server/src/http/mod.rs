//! The HTTP surface: one router for pages, server functions, static files
//! and operational endpoints.

mod export;
pub(crate) mod rate_limit;
mod security;
mod server_fn_errors;

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, Instant},
};

use app::{App, model::Predictor, shell, status::StartedAt, store::Store};
use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::StatusCode,
    http::{HeaderValue, Request, header},
    middleware,
    response::IntoResponse,
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list, render_app_to_stream_with_context};
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{
    Config, Error,
    auth::{self, AuthSettings, Oidc},
};

/// What the application is built around.
#[derive(Clone)]
pub struct Services {
    pub model: Arc<dyn Predictor>,
    pub store: Arc<dyn Store>,
    /// When the server started, for the uptime that the status card shows.
    pub started: Instant,
}

/// How long `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds the whole application around its services.
pub fn router(config: &Config, services: Services) -> Result<Router, Error> {
    let settings = Arc::new(AuthSettings::from_config(config).map_err(Error::Auth)?);
    let oidc =
        Arc::new(Oidc::new(settings.as_ref().clone()).map_err(|e| Error::Auth(e.to_string()))?);
    let oidc_for_api = oidc.clone();
    let per_ip = rate_limit::PerIp::new(
        rate_limit::Rate {
            per_second: config.rate_limit_per_ip,
            burst: config.rate_limit_burst,
        },
        config.trust_forwarded_for,
    );
    let per_user = rate_limit::PerUser::new(rate_limit::Rate {
        per_second: config.rate_limit_per_user,
        burst: config.rate_limit_burst,
    });
    let policy = Arc::new(security::Policy {
        origin: settings.public_url.origin().ascii_serialization(),
        // Sign-out forms end at the provider (or Cognito's logout page).
        form_targets: std::iter::once(settings.issuer.url())
            .chain(settings.cognito_logout_url.as_ref())
            .map(|url| url.origin().ascii_serialization())
            .collect::<Vec<_>>()
            .join(" "),
        // cargo-leptos sets LEPTOS_WATCH under `cargo leptos watch`.
        live_reload: std::env::var_os("LEPTOS_WATCH")
            .map(|_| format!("ws://{}:{}", config.addr.ip(), config.reload_port)),
        https: settings.https(),
    });
    // Everything a browser uses with its session cookie: same-origin checks,
    // the session, the signed-in user, and the sign-in requirement.
    let browser = tower::ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(
            policy.clone(),
            security::same_origin_only,
        ))
        .layer(auth::session_layer(&settings, services.store.clone()))
        .layer(middleware::from_fn_with_state(
            settings.clone(),
            auth::current_user,
        ))
        .layer(middleware::from_fn_with_state(
            per_user.clone(),
            rate_limit::per_user,
        ))
        .layer(middleware::from_fn(auth::require_sign_in));

    let leptos = LeptosOptions::builder()
        // cargo-leptos sets this at compile time; plain `cargo` builds (tests) do not.
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("sepal"))
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_addr(config.addr)
        .reload_port(config.reload_port)
        .build();
    let context = {
        let services = services.clone();
        move || {
            provide_context(StartedAt(services.started));
            provide_context(services.model.clone());
            provide_context(services.store.clone());
        }
    };
    let page = {
        let leptos = leptos.clone();
        move || shell(leptos.clone())
    };

    // Any path that is neither a route nor a file renders the app, whose
    // fallback route answers 404 with a page that says what to do next.
    let render = render_app_to_stream_with_context(context.clone(), page.clone());
    let not_found = browser
        .clone()
        .service(tower::service_fn(move |req: Request<Body>| {
            let render = render.clone();
            async move { Ok::<_, Infallible>(render(req).await.into_response()) }
        }));
    // Release builds put a .br and a .gz beside each file; ServeDir picks the
    // one the browser accepts. `no-cache` lets browsers keep files but
    // revalidate them (If-Modified-Since) so a new build is seen at once.
    let site = ServeDir::new(&config.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    let site = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .service(site);

    let pages = Router::new()
        .leptos_routes_with_context(&leptos, generate_route_list(App), context, page)
        .merge(auth::routes(oidc))
        .merge(export::routes(
            services.store.clone(),
            services.model.clone(),
        ))
        .layer(browser);

    // Bearer tokens only: outside the browser layers, no cookies read.
    let api = crate::api::routes(
        oidc_for_api,
        settings.clone(),
        services.model.clone(),
        services.store.clone(),
        per_user,
        &config.api_cors_origins,
    )?;

    // Every route but the health checks (which come often from one
    // address) is rate limited per address.
    let limited = tower::ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(per_ip, rate_limit::per_ip))
        .service(
            Router::new()
                .nest("/api/v1", api)
                .merge(pages)
                .fallback_service(site)
                .with_state(leptos),
        );
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(services.store.clone()))
        .fallback_service(limited);
    // Around the whole router as one service: `Router::layer` would wrap
    // each route in each layer, boxed, and every request clones and drops
    // that whole stack (16% of the worker threads' samples under `make
    // load-bench`'s load, `perf record`).
    Ok(Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUlid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    // One line per request at the default level: status and latency.
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn_with_state(policy, security::headers))
            .layer(middleware::map_response(
                server_fn_errors::status_from_error,
            ))
            .service(app),
    ))
}

/// Liveness: the process is up and answering.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the store answers, so requests can be served. Load balancers
/// stop sending traffic while it does not; the app recovers by itself.
async fn readyz(State(store): State<Arc<dyn Store>>) -> impl IntoResponse {
    let state = match tokio::time::timeout(READY_TIMEOUT, store.check()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("the store did not answer within {READY_TIMEOUT:?}")),
    };
    match state {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "store": "ok" })),
        ),
        Err(problem) => {
            tracing::warn!(%problem, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "store": problem })),
            )
        }
    }
}

/// Request ids are ULIDs: unique, and sorted by time in the logs. Made from
/// the thread's random generator, where tower-http's UUIDs ask the kernel
/// (a `getrandom` call per request).
#[derive(Clone, Copy)]
struct MakeRequestUlid;

impl MakeRequestId for MakeRequestUlid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::try_from(ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// One span per request. Only the path is logged: query strings can carry
/// secrets (an OAuth `code`, for one).
fn request_span(req: &Request<Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
}
