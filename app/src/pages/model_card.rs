use leptos::prelude::*;
use leptos_meta::Title;

use crate::{model::Manifest, pages::Loaded, predictions::load_manifest};

/// `/model`: the model card, from the manifest of the model being served.
#[component]
pub fn ModelPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |()| load_manifest());
    view! {
        <Title text="The model" />
        <Loaded data render=model_card />
    }
}

fn model_card(manifest: Manifest) -> impl IntoView {
    let features = manifest
        .features
        .iter()
        .map(|f| {
            view! {
                <tr>
                    <th scope="row">{f.label.clone()}</th>
                    <td>{if f.unit.is_empty() { "—".to_owned() } else { f.unit.clone() }}</td>
                    <td class="num">{format!("{} – {}", f.min, f.max)}</td>
                    <td class="num">{format!("{} – {}", f.typical_min, f.typical_max)}</td>
                </tr>
            }
        })
        .collect_view();
    let predicted = manifest
        .classes
        .iter()
        .map(|c| view! { <th scope="col" class="num">{c.label.clone()}</th> })
        .collect_view();
    let matrix = manifest
        .classes
        .iter()
        .zip(&manifest.metrics.confusion_matrix)
        .map(|(class, row)| {
            let cells = row
                .iter()
                .map(|n| view! { <td class="num">{*n}</td> })
                .collect_view();
            view! { <tr><th scope="row">{class.label.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    let training = manifest
        .training
        .iter()
        .map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> })
        .collect_view();
    let metrics = &manifest.metrics;
    view! {
        <section class="card" aria-labelledby="model-title">
            <h1 id="model-title">{manifest.title.clone()}</h1>
            <p class="lead">{manifest.description.clone()}</p>
            <dl class="facts">
                <dt>"Name"</dt><dd>{manifest.name.clone()}</dd>
                <dt>"Version"</dt><dd>{manifest.version.clone()}</dd>
                <dt>"ONNX file SHA-256"</dt><dd><code class="hash">{manifest.onnx.sha256.clone()}</code></dd>
                <dt>"Accuracy on held-out data"</dt>
                <dd>{format!("{:.1} % of {} flowers (trained on {})", 100.0 * metrics.test_accuracy, metrics.test_samples, metrics.train_samples)}</dd>
            </dl>
            <h2>"Features"</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Features">
                <table>
                    <thead><tr><th scope="col">"Feature"</th><th scope="col">"Unit"</th><th scope="col" class="num">"Allowed"</th><th scope="col" class="num">"In the data"</th></tr></thead>
                    <tbody>{features}</tbody>
                </table>
            </div>
            <h2>"Confusion matrix"</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Confusion matrix">
                <table data-testid="confusion-matrix">
                    <caption>"Held-out flowers: rows are the true species, columns the predicted one."</caption>
                    <thead><tr><td></td>{predicted}</tr></thead>
                    <tbody>{matrix}</tbody>
                </table>
            </div>
            <h2>"Training"</h2>
            <dl class="facts">{training}</dl>
        </section>
    }
}
