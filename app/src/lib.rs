//! Sepal's pages, shared by the server (feature `ssr`) and the browser bundle
//! (feature `hydrate`).
//!
//! Sepal renders in Leptos *islands* mode: every page is plain server-rendered
//! HTML, and only components marked `#[island]` ship WASM and hydrate. See
//! `docs/decisions/islands.md` for the measurements behind that choice.

pub mod auth;
pub mod error;
pub mod model;
mod pages;
pub mod predictions;
#[cfg(feature = "ssr")]
pub mod service;
pub mod store;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{A, Route, Router, Routes},
};

use pages::{
    account::AccountPage,
    history::{DeleteAllPage, HistoryPage, RecordPage},
    home::HomePage,
    model_card::ModelPage,
    not_found::NotFoundPage,
    predict::PredictPage,
    sign_in::{NoAccessPage, SignInFailedPage},
};

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The scripts Leptos writes carry the nonce of this response's CSP.
    #[cfg(feature = "ssr")]
    if let Some(auth::CspNonce(nonce)) = auth::request_extension::<auth::CspNonce>() {
        provide_context(Nonce::from_value(nonce));
    }
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
                    <Route path=StaticSegment("account") view=AccountPage />
                    // Async: the page is sent once its data is in, as whole
                    // HTML that needs no script to appear.
                    <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async />
                    <Route path=StaticSegment("predict") view=PredictPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("history") view=HistoryPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("history"), StaticSegment("delete-all")) view=DeleteAllPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("history"), ParamSegment("id")) view=RecordPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("model") view=ModelPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("no-access") view=NoAccessPage />
                    <Route path=StaticSegment("sign-in-failed") view=SignInFailedPage />
                </Routes>
            </main>
        </Router>
    }
}

/// The bar on every page: the brand, and who is signed in with a sign-out
/// button, or a sign-in link. Rendered on the server only.
#[component]
fn Header() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let user = auth::current_user();
    #[cfg(not(feature = "ssr"))]
    let user: Option<auth::User> = None;

    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"❀"</span>
                "Sepal"
            </A>
            <nav class="pages" aria-label="Pages">
                <a href="/predict">"Predict"</a>
                <a href="/history">"History"</a>
                <a href="/model">"Model"</a>
            </nav>
            <nav class="session" aria-label="Account">
                {match user {
                    Some(user) => view! {
                        <a href="/account" class="who">{user.name}</a>
                        // A form, not a link: signing out changes state, so never on GET.
                        <form method="post" action="/auth/logout">
                            <button type="submit" class="quiet">"Sign out"</button>
                        </form>
                    }.into_any(),
                    None => view! { <a href="/auth/login">"Sign in"</a> }.into_any(),
                }}
            </nav>
        </header>
    }
}
