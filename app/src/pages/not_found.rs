use leptos::prelude::*;
use leptos_meta::Title;

/// Every path that matches no route. Answers with HTTP 404, not 200.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(server_fn::http_export::StatusCode::NOT_FOUND);
    }

    view! {
        <Title text="Page not found" />
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
            <p><a href="/">"Go to the start page"</a></p>
        </section>
    }
}
