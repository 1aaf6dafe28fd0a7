use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    model::Manifest,
    model::Task,
    pages::{
        Loaded,
        result::{Answer, ScatterPlot, Time, percent, titled, with_unit},
    },
    predictions::{DeleteHistory, DeletePrediction, HistoryPage, load_history, load_prediction},
    store::{Outcome, PredictionRecord},
};

/// `/history?cursor=&class=`: the user's predictions, newest first, 50 a
/// page. The cursor and the filter are in the URL, so every page is a link.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new_blocking(
        move || {
            let q = query.get();
            (q.get("cursor"), q.get("class"))
        },
        |(cursor, class)| load_history(cursor, class),
    );
    view! {
        <Title text="Your history" />
        <Loaded data render=history_view />
    }
}

fn history_view(data: HistoryPage) -> impl IntoView {
    let HistoryPage {
        page,
        total,
        manifest,
    } = data;
    let class = use_query_map()
        .get_untracked()
        .get("class")
        .unwrap_or_default();
    let link = {
        let class = class.clone();
        move |cursor: &str| {
            let mut query = vec![("cursor".to_owned(), cursor.to_owned())];
            if !class.is_empty() {
                query.push(("class".to_owned(), class.clone()));
            }
            let query: leptos_router::params::ParamsMap = query.into_iter().collect();
            format!("/history{}", query.to_query_string())
        }
    };
    let options = manifest
        .classes
        .iter()
        .map(|c| view! { <option value=c.name.clone() selected=c.name == class>{c.label.clone()}</option> })
        .collect_view();
    let newer = page
        .newer
        .as_deref()
        .map(|c| view! { <a href=link(c) rel="prev">"← Newer"</a> });
    let older = page
        .older
        .as_deref()
        .map(|c| view! { <a href=link(c) rel="next">"Older →"</a> });
    let body = if page.records.is_empty() {
        let message = if total == 0 {
            view! { <p>"No predictions yet. "<a href="/predict">"Make your first one"</a>"."</p> }
                .into_any()
        } else {
            view! { <p>"No predictions on this page. "<a href="/history">"Show all, newest first"</a>"."</p> }.into_any()
        };
        view! { <div class="empty" data-testid="history-empty">{message}</div> }.into_any()
    } else {
        let headers = manifest
            .features
            .iter()
            .map(|f| view! { <th scope="col" class="num">{f.label.clone()}</th> })
            .collect_view();
        let rows = page
            .records
            .iter()
            .map(|record| history_row(record, &manifest))
            .collect_view();
        view! {
            <div class="table-scroll" tabindex="0" role="region" aria-label="Predictions">
                <table class="history" data-testid="history-table">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            {answer_headers(&manifest)}
                            {headers}
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="history-title">
            <div class="title-row">
                <h1 id="history-title">"Your predictions"</h1>
                <p class="count" data-testid="history-count">{format!("{total} in all")}</p>
            </div>
            <div class="toolbar">
                {(manifest.task == Task::Classification).then(|| view! {
                    <form method="get" action="/history" class="filter">
                        <label for="class">"Class"</label>
                        <select id="class" name="class">
                            <option value="" selected=class.is_empty()>"All"</option>
                            {options}
                        </select>
                        <button type="submit" class="quiet">"Filter"</button>
                    </form>
                })}
                <p class="exports">
                    "Export all: "<a href="/history/export.csv" download>"CSV"</a>" · "
                    <a href="/history/export.json" download>"JSON"</a>
                </p>
            </div>
            {body}
            <nav class="pager" aria-label="Pages">{newer}{older}</nav>
            {(total > 0).then(|| view! {
                <p><a href="/history/delete-all" class="danger-link">"Delete all predictions…"</a></p>
            })}
        </section>
    }
}

fn history_row(record: &PredictionRecord, manifest: &Manifest) -> impl IntoView + use<> {
    let values = manifest
        .features
        .iter()
        .map(|f| {
            let value = record
                .inputs
                .get(&f.name)
                .map(ToString::to_string)
                .unwrap_or_default();
            view! { <td class="num">{value}</td> }
        })
        .collect_view();
    let answer = match &record.outcome {
        Outcome::Class {
            class,
            probabilities,
        } => {
            let probability = probabilities.get(class).copied().unwrap_or(0.0);
            view! {
                <td>{manifest.class_label(class)}</td>
                <td class="num">{percent(probability)}</td>
            }
            .into_any()
        }
        Outcome::Value { value } => view! {
            <td class="num">{with_unit(f64::from(*value), "")}</td>
        }
        .into_any(),
    };
    let href = format!("/history/{}", record.id);
    view! {
        <tr>
            <td><a href=href><Time at=record.created_at /></a></td>
            {answer}
            {values}
            <td><DeleteButton id=record.id.clone() /></td>
        </tr>
    }
}

/// The answer's column headers: the class and its probability, or the
/// target with its unit.
fn answer_headers(manifest: &Manifest) -> impl IntoView + use<> {
    match &manifest.target {
        Some(target) if manifest.task == Task::Regression => {
            view! { <th scope="col" class="num">{titled(&target.label, &target.unit)}</th> }
                .into_any()
        }
        _ => view! {
            <th scope="col">"Class"</th>
            <th scope="col" class="num">"Probability"</th>
        }
        .into_any(),
    }
}

/// A plain form: deleting works without JavaScript, and never on GET.
#[component]
fn DeleteButton(id: String) -> impl IntoView {
    view! {
        <form method="post" action=DeletePrediction::url() class="inline">
            <input type="hidden" name="id" value=id />
            <button type="submit" class="quiet small">"Delete"</button>
        </form>
    }
}

/// `/history/:id`: one record in full, for its owner only.
#[component]
pub fn RecordPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new_blocking(
        move || params.get().get("id").unwrap_or_default(),
        load_prediction,
    );
    view! {
        <Title text="Prediction" />
        <Loaded data render=|(record, manifest)| record_view(record, manifest) />
    }
}

fn record_view(record: PredictionRecord, manifest: Manifest) -> impl IntoView {
    let inputs = manifest
        .features
        .iter()
        .map(|f| {
            let value = record
                .inputs
                .get(&f.name)
                .map(|v| format!("{v}{}", f.unit_suffix()));
            view! { <dt>{f.label.clone()}</dt><dd>{value.unwrap_or_default()}</dd> }
        })
        .collect_view();
    let source = match record.source {
        crate::store::Source::Web => "this website",
        crate::store::Source::Api => "the API",
    };
    view! {
        <section class="card" aria-labelledby="record-title" data-testid="record">
            <p><a href="/history">"← Your predictions"</a></p>
            <h1 id="record-title">{headline(&record, &manifest)}</h1>
            <dl class="facts">
                <dt>"When"</dt><dd><Time at=record.created_at /></dd>
                {inputs}
                <dt>"Model"</dt>
                <dd>{format!("{} {}", record.model.name, record.model.version)}" "<code class="hash">{record.model.sha256.clone()}</code></dd>
                <dt>"Model time"</dt><dd>{format!("{} µs", record.latency_us)}</dd>
                <dt>"Made through"</dt><dd>{source}</dd>
                <dt>"Id"</dt><dd><code>{record.id.clone()}</code></dd>
            </dl>
            <Answer record=record.clone() manifest=manifest.clone() />
            <ScatterPlot record=record.clone() manifest />
            <DeleteButton id=record.id.clone() />
        </section>
    }
}

/// A record's answer in a few words: its class, or its value with the unit.
fn headline(record: &PredictionRecord, manifest: &Manifest) -> String {
    match &record.outcome {
        Outcome::Class { class, .. } => manifest.class_label(class),
        Outcome::Value { value } => match &manifest.target {
            Some(t) => format!("{}: {}", t.label, with_unit(f64::from(*value), &t.unit)),
            None => with_unit(f64::from(*value), ""),
        },
    }
}

/// `/history/delete-all`: asks before deleting everything.
#[component]
pub fn DeleteAllPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |()| load_history(None, None));
    view! {
        <Title text="Delete all predictions" />
        <Loaded data render=delete_all_view />
    }
}

fn delete_all_view(data: HistoryPage) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="delete-title">
            <h1 id="delete-title">"Delete all predictions?"</h1>
            <p>{format!("All {} of your predictions will be deleted. This cannot be undone.", data.total)}</p>
            <form method="post" action=DeleteHistory::url() class="actions">
                <button type="submit" class="danger">"Delete all"</button>
                <a href="/history">"Cancel"</a>
            </form>
        </section>
    }
}
