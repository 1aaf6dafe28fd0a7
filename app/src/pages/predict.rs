use std::collections::BTreeMap;

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    model::{FieldError, Manifest},
    pages::{Loaded, result::ResultCard},
    predictions::{Predict, PredictForm, load_predict_form},
};

/// `/predict`: the form made from the model's manifest, and the result of
/// the last prediction. Every state (filled from an example, sent back with
/// mistakes, showing a result) is a URL the server renders, so the page
/// works the same without JavaScript.
#[component]
pub fn PredictPage() -> impl IntoView {
    let query = use_query_map();
    let form = Resource::new_blocking(
        move || {
            query
                .get()
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect::<BTreeMap<_, _>>()
        },
        load_predict_form,
    );
    view! {
        <Title text="Predict" />
        <Loaded data=form render=form_and_result />
    }
}

fn form_and_result(form: PredictForm) -> impl IntoView {
    let PredictForm {
        manifest,
        values,
        errors,
        result,
    } = form;
    let examples = manifest
        .examples
        .iter()
        .map(|example| {
            let query: leptos_router::params::ParamsMap = example
                .values
                .iter()
                .map(|(name, value)| (name.clone(), value.to_string()))
                .collect();
            view! { <li><a href=format!("/predict{}", query.to_query_string())>{example.label.clone()}</a></li> }
        })
        .collect_view();
    let summary = (!errors.is_empty()).then(|| {
        let items = errors
            .iter()
            .map(|e| view! { <li><a href=format!("#{}", field_id(&e.field))>{e.to_string()}</a></li> })
            .collect_view();
        view! {
            <div class="error-summary" role="alert" data-testid="form-errors">
                <h2>"Please correct the measurements"</h2>
                <ul>{items}</ul>
                <p>"Nothing was predicted or saved."</p>
            </div>
        }
    });
    let fields = fields(&manifest, &values, &errors);
    let result = result.map(|record| view! { <ResultCard record manifest=manifest.clone() /> });
    view! {
        <div class="predict">
            <section class="card" aria-labelledby="predict-title">
                <h1 id="predict-title">{format!("Predict: {}", manifest.title)}</h1>
                <p class="hint">{format!("{} Enter the measurements, or start from an example:", manifest.description)}</p>
                <ul class="examples" aria-label="Fill with an example">{examples}</ul>
                {summary}
                <PredictFormIsland>{fields}</PredictFormIsland>
            </section>
            {result}
        </div>
    }
}

fn fields(
    manifest: &Manifest,
    values: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> impl IntoView + use<> {
    manifest
        .features
        .iter()
        .map(|feature| {
            let id = field_id(&feature.name);
            let help = format!("{id}-help");
            let error = errors.iter().find(|e| e.field == feature.name).map(|e| e.problem.clone());
            let invalid = error.is_some();
            let described = if invalid { format!("{help} {id}-error") } else { help.clone() };
            let unit = if feature.unit.is_empty() { String::new() } else { format!(" ({})", feature.unit) };
            let example = manifest
                .examples
                .first()
                .and_then(|e| e.values.get(&feature.name))
                .map(|v| format!("; for example {v:?}"))
                .unwrap_or_default();
            view! {
                <div class="field" class:invalid=invalid>
                    <label for=id.clone()>{format!("{}{unit}", feature.label)}</label>
                    <input
                        id=id.clone()
                        name=format!("input[{}]", feature.name)
                        type="text"
                        inputmode="decimal"
                        autocomplete="off"
                        required
                        value=values.get(&feature.name).cloned().unwrap_or_default()
                        aria-invalid=invalid.then_some("true")
                        aria-describedby=described
                    />
                    <p class="hint" id=help>
                        {format!(
                            "Allowed {} to {}{}; usually {} to {}{example}.",
                            feature.min, feature.max, feature.unit_suffix(), feature.typical_min, feature.typical_max,
                        )}
                    </p>
                    {error.map(|problem| view! {
                        <p class="field-error" id=format!("{id}-error")>{format!("{} {problem}", feature.label)}</p>
                    })}
                </div>
            }
        })
        .collect_view()
}

fn field_id(feature: &str) -> String {
    format!("field-{feature}")
}

/// The form, posted to the `predict` server function by the browser itself,
/// with or without JavaScript; the server answers with the page to show.
/// Once hydrated, the button says the prediction is on its way and cannot
/// be pressed twice. (Leptos' `ActionForm` would post in the background
/// instead, but it adds ~39 KB of WASM, brotli, for no visible gain here;
/// see `docs/decisions/plain-form-post.md`.)
#[island]
fn PredictFormIsland(children: Children) -> impl IntoView {
    let pending = RwSignal::new(false);
    // Back from the result, a page restored from the browser's cache must
    // not keep its button disabled.
    let _ = window_event_listener(leptos::ev::pageshow, move |_| pending.set(false));
    view! {
        <form
            method="post"
            action=Predict::url()
            class="predict-form"
            novalidate
            on:submit=move |_| pending.set(true)
        >
            {children()}
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Predicting…" } else { "Predict" }}
            </button>
        </form>
    }
}
