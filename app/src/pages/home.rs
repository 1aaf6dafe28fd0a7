use leptos::prelude::*;
use leptos_meta::Title;

use crate::status::StatusCard;

/// `/`: what Sepal does.
#[component]
pub fn HomePage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let signed_in = crate::auth::current_user().is_some();
    #[cfg(not(feature = "ssr"))]
    let signed_in = false;
    let start = if signed_in {
        view! { <a class="button" href="/predict">"Make a prediction"</a> }
    } else {
        view! { <a class="button" href="/auth/login?return_to=/predict">"Sign in to predict"</a> }
    };
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Name that iris."</h1>
            <p class="lead">
                "Sepal predicts the species of an iris flower from four measurements of its "
                "sepals and petals, and keeps every prediction you make in a history of your own."
            </p>
            <ol class="steps">
                <li>"Sign in with your organisation's account."</li>
                <li>"Enter sepal and petal length and width, in centimetres."</li>
                <li>"Read the species, how sure the model is, and where your flower sits among the training data."</li>
            </ol>
            <p>{start}</p>
        </section>
        <StatusCard />
    }
}
