pub mod account;
pub mod history;
pub mod home;
pub mod model_card;
pub mod not_found;
pub mod predict;
pub mod result;
pub mod sign_in;

use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::AppError;

/// A page's data once loaded, shown by `render`, or the error card. The
/// routes render `SsrMode::Async`, so the server sends the finished page.
#[component]
pub fn Loaded<T, V, F>(data: Resource<Result<T, AppError>>, render: F) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="card">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(data) => render(data).into_any(),
                        Err(error) => view! { <ErrorCard error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A page whose data could not be loaded: what happened, with the HTTP
/// status that says so, and what to do next.
#[component]
pub fn ErrorCard(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(error.status_code());
    }
    let (title, next) = match &error {
        AppError::NotFound => (
            "Not found",
            view! { <p><a href="/history">"Go to your history"</a></p> }.into_any(),
        ),
        AppError::SignInRequired => (
            "Please sign in",
            view! { <p><a href="/auth/login">"Sign in"</a></p> }.into_any(),
        ),
        AppError::Unavailable => (
            "Temporarily unavailable",
            view! { <p>"Your data is safe. Reload this page in a moment."</p> }.into_any(),
        ),
        AppError::BadRequest(_) => (
            "This address is not valid",
            view! { <p><a href="/history">"Start from your newest predictions"</a></p> }.into_any(),
        ),
        AppError::Network(_) | AppError::Internal => (
            "Something went wrong",
            view! { <p>"Reload the page; if it keeps happening, tell your administrator."</p> }
                .into_any(),
        ),
    };
    view! {
        <section class="card" role="alert" data-testid="error">
            <h1>{title}</h1>
            <p>{error.to_string()}</p>
            {next}
        </section>
    }
}
