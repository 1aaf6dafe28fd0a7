use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    model::{Manifest, Metrics, Task},
    pages::{Loaded, result::with_unit},
    predictions::load_manifest,
};

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
    let confusion: &[Vec<u32>] = match &manifest.metrics {
        Some(Metrics::Classification(m)) => &m.confusion_matrix,
        _ => &[],
    };
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
    let unit = manifest.target_unit();
    let (quality, measured) = match &manifest.metrics {
        None => ("Accuracy", "Not measured".to_owned()),
        Some(Metrics::Classification(m)) => (
            "Accuracy",
            measured_on(
                format!(
                    "{:.1} % of {} samples",
                    100.0 * m.test_accuracy,
                    m.test_samples
                ),
                m.measured_on.as_deref(),
                m.train_samples,
            ),
        ),
        Some(Metrics::Regression(m)) => (
            "Error",
            measured_on(
                format!(
                    "mean absolute {}, root mean square {}, R² {:.3}, on {} samples",
                    with_unit(m.mae, unit),
                    with_unit(m.rmse, unit),
                    m.r2,
                    m.test_samples
                ),
                m.measured_on.as_deref(),
                m.train_samples,
            ),
        ),
    };
    let predicts = match (&manifest.target, manifest.task) {
        (Some(t), Task::Regression) => format!(
            "{}{}, a number (in the training data {} to {})",
            t.label,
            if t.unit.is_empty() {
                String::new()
            } else {
                format!(" in {}", t.unit)
            },
            with_unit(t.typical_min, &t.unit),
            with_unit(t.typical_max, &t.unit)
        ),
        _ => format!(
            "One of {} classes: {}",
            manifest.classes.len(),
            manifest
                .classes
                .iter()
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
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
                <dt>"Predicts"</dt><dd data-testid="predicts">{predicts}</dd>
                <dt>{quality}</dt>
                <dd data-testid="metrics">{measured}</dd>
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

/// The figures, and what they were measured on.
fn measured_on(figures: String, on: Option<&str>, trained: Option<u32>) -> String {
    match (on, trained) {
        (Some(on), _) => format!("{figures}: {on}"),
        (None, Some(trained)) => format!("{figures} held out (trained on {trained})"),
        (None, None) => format!("{figures} held out"),
    }
}
