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
