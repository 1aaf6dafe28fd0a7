//! Sepal's pages, shared by the server (feature `ssr`) and the browser bundle
//! (feature `hydrate`).
//!
//! Sepal renders in Leptos *islands* mode: every page is plain server-rendered
//! HTML, and only components marked `#[island]` ship WASM and hydrate. See the
//! README ("Rendering mode") for the measurements behind that choice.

pub mod error;
pub mod model;
mod pages;
pub mod status;
pub mod store;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{A, Route, Router, Routes},
};

use pages::{home::HomePage, not_found::NotFoundPage};

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <meta name="description" content="Iris species predictions for signed-in users, with a history of every prediction." />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/sepal.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Sepal".to_owned() } else { format!("{page} · Sepal") }
        } />
        <Router>
            <Header />
            <main id="main">
                <Routes fallback=NotFoundPage>
                    <Route path=StaticSegment("") view=HomePage />
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"❀"</span>
                "Sepal"
            </A>
        </header>
    }
}
