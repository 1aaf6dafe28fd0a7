//! The whole application on one axum router: the pages and their server
//! functions, sign-in, the JSON API, static files and the health checks,
//! inside the layers every request goes through. The pieces live in
//! `http` (shared by pages and API), `auth` and `api`; this file only
//! puts them together.

use std::{
    convert::Infallible,
    sync::{Arc, OnceLock},
};

use app::{App, model::Predictor, shell, store::Store};
use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Request, header},
    middleware,
    response::IntoResponse,
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, generate_route_list, render_app_to_stream_with_context,
};
use tower_http::{
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{
    Config, Error, api,
    auth::{self, AuthSettings, Oidc},
    http::{export, health, rate_limit, request_id, security, server_fn_errors},
};

/// What the application is built around.
#[derive(Clone)]
pub struct Services {
    pub model: Arc<dyn Predictor>,
    pub store: Arc<dyn Store>,
}

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
        // Set at compile time by cargo-leptos, and by .cargo/config.toml for plain cargo.
        .output_name(env!("LEPTOS_OUTPUT_NAME"))
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_addr(config.addr)
        .reload_port(config.reload_port)
        .build();
    let context = {
        let services = services.clone();
        move || {
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
        .leptos_routes_with_context(&leptos, page_routes(), context, page)
        .merge(auth::routes(oidc))
        .merge(export::routes(
            services.store.clone(),
            services.model.clone(),
        ))
        .layer(browser);

    // Bearer tokens only: outside the browser layers, no cookies read.
    let api = api::routes(
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
        .route("/healthz", get(health::healthz))
        .route(
            "/readyz",
            get(health::readyz).with_state(services.store.clone()),
        )
        .fallback_service(limited);
    // Around the whole router as one service: `Router::layer` would wrap
    // each route in each layer, boxed, and every request clones and drops
    // that whole stack (16% of the worker threads' samples under `make
    // load-bench`'s load, `perf record`).
    Ok(Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(request_id::MakeRequestUlid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_id::request_span)
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

/// The app's page routes, listed once per process. Listing them renders the
/// app with Leptos' data loads suspended for the whole process (a global
/// flag), so a page rendered meanwhile by a router built earlier would wait
/// for its data forever: tests build many routers in one process.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}
