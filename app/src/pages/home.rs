use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    model::{Manifest, Task},
    pages::Loaded,
    predictions::load_manifest,
};

/// `/`: what Sepal does with the model it serves, and the way to its form.
#[component]
pub fn HomePage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let signed_in = crate::auth::current_user().is_some();
    #[cfg(not(feature = "ssr"))]
    let signed_in = false;
    let data = Resource::new_blocking(|| (), |()| load_manifest());
    view! {
        <Title text="" />
        <Loaded data render=move |manifest| introduction(manifest, signed_in) />
    }
}

fn introduction(manifest: Manifest, signed_in: bool) -> impl IntoView {
    let start = if signed_in {
        view! { <a class="button" href="/predict">"Make a prediction"</a> }
    } else {
        view! { <a class="button" href="/auth/login?return_to=/predict">"Sign in to predict"</a> }
    };
    let answer = match manifest.task {
        Task::Classification => {
            "Read the answer, how sure the model is, and where your input sits among the training data."
        }
        Task::Regression => {
            "Read the predicted value and where your input sits among the training data."
        }
    };
    view! {
        <section class="hero">
            <h1>{manifest.title}</h1>
            <p class="lead">{manifest.description}</p>
            <ol class="steps">
                <li>"Sign in with your organisation's account."</li>
                <li>{format!("Fill in the {} values the model needs.", manifest.features.len())}</li>
                <li>{answer}</li>
                <li>"Find every prediction you make in a history of your own."</li>
            </ol>
            <p>{start}</p>
        </section>
    }
}
