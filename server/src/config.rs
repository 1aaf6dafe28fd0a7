//! Configuration: command-line flags, each also read from an environment
//! variable (and from a `.env` file, loaded in `main`). `sepal --help` lists them.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::store::StoreUrl;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "sepal",
    version,
    about = "Sepal: iris species predictions for signed-in users"
)]
pub struct Config {
    /// Address to listen on. cargo-leptos sets it from `site-addr` in Cargo.toml.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Directory of the built site: the WASM bundle, CSS and public files
    /// (with their precompressed .br and .gz copies in release builds).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Model folder: `manifest.json` and the ONNX file it names (see models/).
    #[arg(long, env = "SEPAL_MODEL_DIR", default_value = "models/iris")]
    pub model_dir: PathBuf,

    /// Port of cargo-leptos' live-reload socket (`cargo leptos watch` only).
    #[arg(long, env = "LEPTOS_RELOAD_PORT", default_value_t = 3001)]
    pub reload_port: u32,

    /// Log format: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "SEPAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Which logs to keep, in tracing's filter syntax (e.g. `info,server=debug`).
    #[arg(long, env = "SEPAL_LOG", default_value = "info")]
    pub log: String,

    /// Where predictions and sessions are kept: `sqlite://PATH` (created on
    /// first start) or `dynamodb://TABLE` (AWS settings from the environment:
    /// AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB for a local server).
    #[arg(long, env = "SEPAL_STORE", default_value = "sqlite://data/sepal.db")]
    pub store: StoreUrl,

    /// Sepal's address as browsers reach it: the base of the sign-in redirect
    /// URI (`<url>/auth/callback`, registered at the provider) and the origin
    /// that state-changing requests must come from. `https://` makes cookies
    /// `Secure` and `__Host-` prefixed, and adds HSTS.
    #[arg(
        long,
        env = "SEPAL_PUBLIC_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub public_url: url::Url,

    /// The OpenID provider's issuer URL; discovery reads
    /// `<issuer>/.well-known/openid-configuration`. The default is the local
    /// dev provider that `make dev` starts.
    #[arg(
        long,
        env = "SEPAL_OIDC_ISSUER",
        default_value = "http://127.0.0.1:4000"
    )]
    pub oidc_issuer: String,

    /// Sepal's client id at the provider.
    #[arg(long, env = "SEPAL_OIDC_CLIENT_ID", default_value = "sepal")]
    pub oidc_client_id: String,

    /// Sepal's client secret at the provider (the default is the dev provider's).
    #[arg(
        long,
        env = "SEPAL_OIDC_CLIENT_SECRET",
        default_value = "sepal-dev-secret",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub oidc_client_secret: String,

    /// Scopes to ask for, space-separated.
    #[arg(
        long,
        env = "SEPAL_OIDC_SCOPES",
        default_value = "openid email profile"
    )]
    pub oidc_scopes: String,

    /// The ID token claim that lists the user's groups (Cognito: `cognito:groups`).
    #[arg(long, env = "SEPAL_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,

    /// Only members of these groups may use Sepal (comma-separated; empty: any group).
    #[arg(
        long,
        env = "SEPAL_ALLOWED_GROUPS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub allowed_groups: Vec<String>,

    /// Only users with an e-mail address in these domains may use Sepal
    /// (comma-separated; empty: any).
    #[arg(
        long,
        env = "SEPAL_ALLOWED_EMAIL_DOMAINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub allowed_email_domains: Vec<String>,

    /// Members of this group are administrators.
    #[arg(long, env = "SEPAL_ADMIN_GROUP", default_value = "admin")]
    pub admin_group: String,

    /// Cognito's sign-out URL (`https://<domain>/logout`); when set, sign-out
    /// ends there with `client_id` and `logout_uri` instead of at the
    /// provider's `end_session_endpoint`.
    #[arg(long, env = "SEPAL_COGNITO_LOGOUT_URL")]
    pub cognito_logout_url: Option<url::Url>,

    /// The `aud` that bearer tokens for the JSON API must carry: the API's
    /// audience for access tokens, or Sepal's client id (the default) to
    /// accept ID tokens, as Cognito's API gateway authorizer does.
    #[arg(long, env = "SEPAL_API_AUDIENCE")]
    pub api_audience: Option<String>,

    /// Origins whose pages may call the JSON API from a browser (CORS),
    /// comma-separated, e.g. `https://notebooks.example.org`. Empty (the
    /// default): no CORS headers, so only scripts and same-origin pages can.
    #[arg(
        long,
        env = "SEPAL_API_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub api_cors_origins: Vec<String>,

    /// Requests per second one client address may make, on average
    /// (health checks excepted; 0: no limit).
    #[arg(long, env = "SEPAL_RATE_LIMIT_PER_IP", default_value_t = 50)]
    pub rate_limit_per_ip: u32,

    /// Requests per second one signed-in user may make, on average, pages
    /// and API together (0: no limit).
    #[arg(long, env = "SEPAL_RATE_LIMIT_PER_USER", default_value_t = 20)]
    pub rate_limit_per_user: u32,

    /// Requests a client address or a user may send at once above the average.
    #[arg(long, env = "SEPAL_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,

    /// Key the per-address limit on the last `X-Forwarded-For` address (set
    /// it only behind a reverse proxy that appends it; otherwise clients
    /// could pick their own address).
    #[arg(long, env = "SEPAL_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// A session ends after this many minutes without a request.
    #[arg(long, env = "SEPAL_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,

    /// A session ends this many hours after sign-in, active or not.
    #[arg(long, env = "SEPAL_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u64,

    /// What to do; without a command, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Manage the store.
    Store {
        #[command(subcommand)]
        action: StoreCommand,
    },
    /// Make or check a model folder.
    Model {
        #[command(subcommand)]
        action: ModelCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum ModelCommand {
    /// Write a model folder from an ONNX classifier and a CSV of its
    /// training data (a header of column names, then rows of numbers).
    Init {
        /// The ONNX file, as skl2onnx or onnxmltools wrote it.
        #[arg(long)]
        onnx: PathBuf,
        /// The CSV: one column per feature, in the model's input order.
        #[arg(long)]
        data: PathBuf,
        /// The CSV column that holds the true class, if any: set apart from
        /// the features, and used for metrics and examples.
        #[arg(long)]
        target: Option<String>,
        /// The model's name, as records and the API show it.
        #[arg(long)]
        name: String,
        /// The model's version.
        #[arg(long, default_value = "1.0.0")]
        version: String,
        /// The folder to write (new, or without a manifest.json).
        out: PathBuf,
    },
    /// Check a model folder as the server would load it and, with --data,
    /// run every row of a CSV through validation and the model.
    Check {
        /// The model folder.
        dir: PathBuf,
        /// A CSV of rows to run (columns named as the features).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The CSV column that holds the true class, for accuracy.
        #[arg(long, requires = "data")]
        target: Option<String>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum StoreCommand {
    /// Create the SQLite file or the DynamoDB table (keys, index, TTL) if missing.
    Init,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}
