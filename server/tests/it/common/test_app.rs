//! `TestApp`: Sepal as a test wants it, set by methods (crates.io's test
//! harness is the model). `router` builds the app for `oneshot`; `start`
//! serves it on a port of 127.0.0.1 with an OpenID provider: the in-process
//! [`Issuer`] by default, the real local provider for the sign-in tests.

use std::{collections::HashMap, path::Path, sync::Arc};

use app::{
    auth::User,
    store::{Session, Store},
};
use axum::Router;
use clap::Parser;
use serde_json::json;
use server::{Config, Services};
use time::OffsetDateTime;

use super::{Provider, browser::Browser, issuer::Issuer};

pub struct TestApp {
    config: Config,
    public_url: Option<String>,
    real_provider: bool,
    store: Option<Arc<dyn Store>>,
    site: tempfile::TempDir,
}

impl TestApp {
    /// The iris model, a SQLite store in a temporary site folder, and the
    /// group `sepal-users` allowed in; every other setting at its default.
    pub fn new() -> Self {
        let site = tempfile::tempdir().unwrap();
        let mut config = Config::parse_from(["sepal"]);
        config.site_root = site.path().to_owned();
        config.model_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/iris");
        config.allowed_groups = vec!["sepal-users".into()];
        TestApp {
            config,
            public_url: None,
            real_provider: false,
            store: None,
            site,
        }
    }

    /// Signs in at the real local OpenID provider (end2end/oidc/provider.mjs),
    /// for the tests of the sign-in flow itself.
    pub fn with_real_provider(mut self) -> Self {
        self.real_provider = true;
        self
    }

    pub fn model(mut self, dir: &Path) -> Self {
        self.config.model_dir = dir.to_owned();
        self
    }

    /// Requests a second per address and per user, and the burst of both
    /// (0 turns a limit off).
    pub fn rate_limits(mut self, per_ip: u32, per_user: u32, burst: u32) -> Self {
        self.config.rate_limit_per_ip = per_ip;
        self.config.rate_limit_per_user = per_user;
        self.config.rate_limit_burst = burst;
        self
    }

    /// The address Sepal is told it is served at (its own, unless set).
    pub fn public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.to_owned());
        self
    }

    /// Any other setting.
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Another store than SQLite in the site folder.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The folder static files are served from.
    pub fn site_root(&self) -> &Path {
        self.site.path()
    }

    /// The whole application, for `oneshot`.
    pub async fn router(&self) -> Router {
        self.try_router().await.unwrap()
    }

    /// The application, or why it refuses to start.
    pub async fn try_router(&self) -> Result<Router, server::Error> {
        router(&self.config, self.open_store().await)
    }

    /// Serves Sepal on a free port of 127.0.0.1.
    pub async fn start(mut self) -> Sepal {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        // Bound before the provider picks its port, so the two cannot be the same.
        let listener = listen().await;
        let url = format!("http://{}", listener.local_addr().unwrap());
        let identity = if self.real_provider {
            Identity::Provider(Provider::start(&url))
        } else {
            Identity::Issuer(Issuer::start().await)
        };
        self.config.oidc_issuer = identity.url().to_owned();
        self.config.public_url = self.public_url.as_deref().unwrap_or(&url).parse().unwrap();
        let store = self.open_store().await;
        serve(listener, router(&self.config, store.clone()).unwrap());
        Sepal {
            url,
            identity,
            store,
            config: self.config,
            _site: self.site,
        }
    }

    async fn open_store(&self) -> Arc<dyn Store> {
        match &self.store {
            Some(store) => store.clone(),
            None => Arc::new(
                server::store::SqliteStore::open(&self.site.path().join("sepal.db"))
                    .await
                    .unwrap(),
            ),
        }
    }
}

fn router(config: &Config, store: Arc<dyn Store>) -> Result<Router, server::Error> {
    let services = Services {
        model: Arc::new(server::inference::Model::load(&config.model_dir)?),
        store,
    };
    server::router(config, services)
}

async fn listen() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap()
}

fn serve(listener: tokio::net::TcpListener, app: Router) {
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// Where Sepal's users sign in.
enum Identity {
    Issuer(Issuer),
    Provider(Provider),
}

impl Identity {
    fn url(&self) -> &str {
        match self {
            Identity::Issuer(issuer) => &issuer.url,
            Identity::Provider(provider) => &provider.issuer,
        }
    }
}

/// A running Sepal.
pub struct Sepal {
    pub url: String,
    pub store: Arc<dyn Store>,
    identity: Identity,
    config: Config,
    _site: tempfile::TempDir,
}

impl Sepal {
    /// The OpenID provider's issuer URL.
    pub fn issuer(&self) -> &str {
        self.identity.url()
    }

    /// A bearer token for `user`, a member of `sepal-users`.
    pub fn token(&self, user: &str) -> String {
        self.token_in_groups(user, &["sepal-users"])
    }

    /// A bearer token for `user`, a member of `groups` only.
    pub fn token_in_groups(&self, user: &str, groups: &[&str]) -> String {
        match &self.identity {
            Identity::Issuer(issuer) => issuer.id_token(user, groups),
            Identity::Provider(_) => panic!("tokens come from the in-process issuer only"),
        }
    }

    /// The provider starts signing with a new key.
    pub fn rotate_keys(&mut self) {
        match &mut self.identity {
            Identity::Issuer(issuer) => issuer.rotate_key(),
            Identity::Provider(provider) => provider.restart_with_a_new_key(),
        }
    }

    /// A browser with a session of `user` (in `sepal-users`), written to
    /// the store as a sign-in leaves it, for tests of what comes after.
    pub async fn signed_in_browser(&self, user: &str) -> Browser {
        let user = User {
            issuer: self.issuer().to_owned(),
            subject: user.to_owned(),
            name: user.to_owned(),
            email: Some(format!("{user}@example.org")),
            groups: vec!["sepal-users".into()],
            is_admin: false,
        };
        let id = tower_sessions::session::Id::default().to_string();
        let data = HashMap::from([
            (server::auth::USER, json!(user)),
            (
                server::auth::SIGNED_IN_AT,
                json!(OffsetDateTime::now_utc().unix_timestamp()),
            ),
        ]);
        let session = Session {
            id: id.clone(),
            data: serde_json::to_string(&data).unwrap(),
            expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(30),
        };
        self.store.create_session(&session).await.unwrap();
        let browser = Browser::new();
        browser
            .jar
            .add_cookie_str(&format!("sepal={id}; Path=/"), &self.url.parse().unwrap());
        browser
    }

    /// Serves the same configuration and store on another port, as a
    /// restarted or second instance would; returns its URL.
    pub async fn serve_again(&self) -> String {
        let listener = listen().await;
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = self.config.clone();
        config.public_url = url.parse().unwrap();
        serve(listener, router(&config, self.store.clone()).unwrap());
        url
    }
}
