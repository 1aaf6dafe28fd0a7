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
    let confusion: &[Vec<u32>] = manifest
        .metrics
        .as_ref()
        .map_or(&[], |m| &m.confusion_matrix);
    let matrix = manifest
        .classes
        .iter()
        .zip(confusion)
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
    let accuracy = match &manifest.metrics {
        None => "Not measured".to_owned(),
        Some(m) => {
            let share = format!(
                "{:.1} % of {} samples",
                100.0 * m.test_accuracy,
                m.test_samples
            );
            match (&m.measured_on, m.train_samples) {
                (Some(on), _) => format!("{share}: {on}"),
                (None, Some(trained)) => format!("{share} held out (trained on {trained})"),
                (None, None) => format!("{share} held out"),
            }
        }
    };
    let confusion_section = (!confusion.is_empty()).then(|| {
        view! {
            <h2>"Confusion matrix"</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Confusion matrix">
                <table data-testid="confusion-matrix">
                    <caption>"Rows are the true classes, columns the predicted ones."</caption>
                    <thead><tr><td></td>{predicted}</tr></thead>
                    <tbody>{matrix}</tbody>
                </table>
            </div>
        }
    });
    view! {
        <section class="card" aria-labelledby="model-title">
            <h1 id="model-title">{manifest.title.clone()}</h1>
            <p class="lead">{manifest.description.clone()}</p>
            <dl class="facts">
                <dt>"Name"</dt><dd>{manifest.name.clone()}</dd>
                <dt>"Version"</dt><dd>{manifest.version.clone()}</dd>
                <dt>"ONNX file SHA-256"</dt><dd><code class="hash">{manifest.onnx.sha256.clone()}</code></dd>
                <dt>"Accuracy"</dt>
                <dd>{accuracy}</dd>
            </dl>
            <h2>"Features"</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Features">
                <table>
                    <thead><tr><th scope="col">"Feature"</th><th scope="col">"Unit"</th><th scope="col" class="num">"Allowed"</th><th scope="col" class="num">"In the data"</th></tr></thead>
                    <tbody>{features}</tbody>
                </table>
            </div>
            {confusion_section}
            <h2>"Training"</h2>
            <dl class="facts">{training}</dl>
        </section>
    }
}
