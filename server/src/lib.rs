//! Sepal's web server: the Leptos pages, their server functions, static files
//! and operational endpoints, on one axum router.

mod api;
pub mod auth;
mod config;
mod http;
pub mod inference;
pub mod model_folder;
mod router;
pub mod store;
pub mod telemetry;

use std::sync::Arc;

use app::model::Predictor;

pub use config::{Command, Config, LogFormat, ModelCommand, StoreCommand};
pub use router::{Services, router};

/// What can stop the server from starting or serving. Each message says what
/// the operator can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not read the .env file: {0}")]
    DotEnv(#[from] dotenvy::Error),
    #[error("invalid log filter (SEPAL_LOG): {0}")]
    LogFilter(String),
    #[error("could not set up logging: {0}")]
    Logging(String),
    #[error("cannot serve the model: {0}")]
    Model(#[from] inference::ModelError),
    #[error("{0}")]
    ModelFolder(#[from] model_folder::FolderError),
    #[error("invalid sign-in settings: {0}")]
    Auth(String),
    #[error("invalid CORS origin in SEPAL_API_CORS_ORIGINS: {0}")]
    CorsOrigin(String),
    #[error("cannot open the store (SEPAL_STORE): {0}")]
    Store(#[from] app::store::StoreError),
    #[error(
        "could not listen on {addr} (is another server using it? set LEPTOS_SITE_ADDR): {source}"
    )]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(config: Config) -> Result<(), Error> {
    let model = inference::Model::load(&config.model_dir)?;
    tracing::info!(
        model = %model.manifest().name,
        version = %model.manifest().version,
        dir = %config.model_dir.display(),
        "model loaded"
    );
    let store = store::open(&config.store).await?;
    tracing::info!(store = %config.store, "store opened");
    tokio::spawn(delete_expired_sessions(store.clone()));
    let services = Services {
        model: Arc::new(model),
        store,
    };
    let app = router(&config, services)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| Error::Bind {
            addr: config.addr,
            source,
        })?;
    // The bound address, not the configured one: port 0 picks a free port.
    let addr = listener.local_addr().map_err(Error::Serve)?;
    tracing::info!(%addr, "Sepal is listening on http://{addr}");
    // The peer address keys the per-address rate limit.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(Error::Serve)?;
    tracing::info!("Sepal stopped");
    Ok(())
}

/// Removes expired sign-in sessions every hour, for ever; a failure is
/// logged and tried again next hour.
async fn delete_expired_sessions(store: Arc<dyn app::store::Store>) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        if let Err(err) = store.delete_expired_sessions().await {
            tracing::warn!(%err, "could not delete expired sessions");
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
