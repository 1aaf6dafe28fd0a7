//! The service status card: the first island, and the first server function.

use leptos::{prelude::*, server_fn::codec::Json};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the server says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub version: String,
    pub uptime_secs: u64,
    /// The model being served, as `name version`.
    pub model: String,
}

/// When the server started; the server provides it through Leptos context.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Copy)]
pub struct StartedAt(pub std::time::Instant);

// Server functions live under /fn: /api/* is the bearer-token JSON API,
// which never reads cookies.
// JSON in as well as out, so a malformed body is refused even though the
// function takes no arguments.
#[server(prefix = "/fn", endpoint = "status", input = Json)]
pub async fn service_status() -> Result<StatusReport, AppError> {
    use crate::error::server_context;
    let StartedAt(started) = server_context()?;
    let predictor: std::sync::Arc<dyn crate::model::Predictor> = server_context()?;
    let manifest = predictor.manifest();
    Ok(StatusReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_secs: started.elapsed().as_secs(),
        model: format!("{} {}", manifest.name, manifest.version),
    })
}

/// A button that asks the server how it is doing. Rendered disabled on the
/// server; it becomes usable only once the WASM has hydrated it.
#[island]
pub fn StatusCard() -> impl IntoView {
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser, so this marks hydration as done.
    Effect::new(move || hydrated.set(true));
    let check = Action::new(|_: &()| service_status());

    let message = move || match check.value().get() {
        None => "Not checked yet.".to_owned(),
        Some(Ok(status)) => format!(
            "Sepal {} is up, serving the {} model, and has been running for {} s.",
            status.version, status.model, status.uptime_secs
        ),
        Some(Err(err)) => format!("The server did not answer: {err}"),
    };

    view! {
        <section class="card status" aria-labelledby="status-title">
            <h2 id="status-title">"Service status"</h2>
            <p role="status" data-testid="status-message">{message}</p>
            <button
                type="button"
                disabled=move || !hydrated.get() || check.pending().get()
                on:click=move |_| {
                    check.dispatch(());
                }
            >
                {move || if check.pending().get() { "Checking…" } else { "Check the server" }}
            </button>
            // Shown until hydration, so a browser without JavaScript explains
            // the disabled button (`<noscript>` would miss a script that fails to load).
            <p class="hint" hidden=hydrated>
                "This check needs JavaScript; everything else works without it."
            </p>
        </section>
    }
}
