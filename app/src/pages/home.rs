use leptos::prelude::*;
use leptos_meta::Title;

use crate::status::StatusCard;

/// `/`: what Sepal does.
#[component]
pub fn HomePage() -> impl IntoView {
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
        </section>
        <StatusCard />
    }
}
