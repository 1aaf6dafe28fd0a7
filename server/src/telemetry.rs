//! Logs through `tracing`: readable in a terminal, JSON lines in production.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::{Error, config::LogFormat};

pub fn init(format: LogFormat, filter: &str) -> Result<(), Error> {
    let filter = EnvFilter::try_new(filter).map_err(|e| Error::LogFilter(e.to_string()))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Pretty => registry.with(fmt::layer()).try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
    };
    result.map_err(|e| Error::Logging(e.to_string()))
}
