//! `/history/export.csv` and `/history/export.json`: the signed-in user's
//! whole history as a download, newest first. It is read and sent one store
//! page at a time, so a history of any size streams in constant memory.

use std::{collections::BTreeMap, io, sync::Arc};

use app::{
    auth::User,
    model::{Predictor, Task},
    store::{Cursor, ListQuery, MAX_PAGE_SIZE, Outcome, PredictionRecord, Store},
};
use axum::{
    Extension, Router,
    body::{Body, Bytes},
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::{StreamExt, stream};

#[derive(Clone)]
struct Export {
    store: Arc<dyn Store>,
    model: Arc<dyn Predictor>,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Json,
}

pub fn routes<S: Clone + Send + Sync + 'static>(
    store: Arc<dyn Store>,
    model: Arc<dyn Predictor>,
) -> Router<S> {
    Router::new()
        .route(
            "/history/export.csv",
            get(|state, user| export(state, user, Format::Csv)),
        )
        .route(
            "/history/export.json",
            get(|state, user| export(state, user, Format::Json)),
        )
        .with_state(Export { store, model })
}

/// Where the export is: the next page to read, and whether a record was
/// written yet (JSON needs commas between records).
struct Progress {
    cursor: Option<Cursor>,
    wrote_any: bool,
}

async fn export(
    State(export): State<Export>,
    user: Option<Extension<User>>,
    format: Format,
) -> Response {
    // The sign-in layer sends signed-out browsers away first; this is the backstop.
    let Some(Extension(user)) = user else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let manifest = export.model.manifest();
    let columns = Arc::new(Columns {
        features: manifest.features.iter().map(|f| f.name.clone()).collect(),
        classes: manifest.classes.iter().map(|c| c.name.clone()).collect(),
        task: manifest.task,
    });
    let (content_type, file, head) = match format {
        Format::Csv => (
            "text/csv; charset=utf-8",
            "attachment; filename=\"sepal-history.csv\"",
            columns.csv_header(),
        ),
        Format::Json => (
            "application/json",
            "attachment; filename=\"sepal-history.json\"",
            Ok(Bytes::from_static(b"[")),
        ),
    };
    let owner = user.owner();
    let store = export.store;
    let start = Progress {
        cursor: None,
        wrote_any: false,
    };
    let pages = stream::unfold(Some(start), move |progress| {
        let (store, owner, columns) = (store.clone(), owner.clone(), columns.clone());
        async move {
            let Progress { cursor, wrote_any } = progress?;
            let query = ListQuery::new(cursor, MAX_PAGE_SIZE, None);
            let page = match store.list_predictions(&owner, &query).await {
                Ok(page) => page,
                Err(err) => {
                    // The status is sent already: end the body with an error, so
                    // the download fails visibly instead of looking complete.
                    tracing::error!(%err, "history export stopped");
                    return Some((Err(io::Error::other(err.to_string())), None));
                }
            };
            let next = page.older.as_deref().and_then(|c| c.parse().ok());
            let last = next.is_none();
            let chunk = match format {
                Format::Csv => columns.csv_rows(&page.records),
                Format::Json => json_rows(&page.records, wrote_any, last),
            };
            let progress = (!last).then_some(Progress {
                cursor: next,
                wrote_any: wrote_any || !page.records.is_empty(),
            });
            Some((chunk, progress))
        }
    });
    let body = stream::once(async move { head }).chain(pages);
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, file),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// The CSV columns: the record's facts, the answer (the class and one
/// column per class probability, or the value), one column per feature, in
/// the manifest's order.
struct Columns {
    features: Vec<String>,
    classes: Vec<String>,
    task: Task,
}

impl Columns {
    fn csv_header(&self) -> io::Result<Bytes> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let answer: Vec<String> = match self.task {
            Task::Classification => std::iter::once("class".to_owned())
                .chain(self.classes.iter().map(|c| format!("p_{c}")))
                .collect(),
            Task::Regression => vec!["value".to_owned()],
        };
        let tail = [
            "model",
            "model_version",
            "model_sha256",
            "latency_us",
            "source",
        ];
        out.write_record(
            ["id", "created_at"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain(answer)
                .chain(self.features.iter().cloned())
                .chain(tail.iter().map(|s| (*s).to_owned())),
        )?;
        finish(out)
    }

    fn csv_rows(&self, records: &[PredictionRecord]) -> io::Result<Bytes> {
        let mut out = csv::Writer::from_writer(Vec::new());
        for r in records {
            let created_at = r
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(io::Error::other)?;
            out.write_record(
                [r.id.clone(), created_at]
                    .into_iter()
                    .chain(self.answer(&r.outcome))
                    .chain(self.features.iter().map(|f| number(&r.inputs, f)))
                    .chain([
                        r.model.name.clone(),
                        r.model.version.clone(),
                        r.model.sha256.clone(),
                        r.latency_us.to_string(),
                        r.source.as_str().to_owned(),
                    ]),
            )?;
        }
        finish(out)
    }

    /// The answer's cells; empty ones for a record of a model of the other
    /// task, so every row has the header's width.
    fn answer(&self, outcome: &Outcome) -> Vec<String> {
        match (self.task, outcome) {
            (
                Task::Classification,
                Outcome::Class {
                    class,
                    probabilities,
                },
            ) => std::iter::once(class.clone())
                .chain(self.classes.iter().map(|c| number(probabilities, c)))
                .collect(),
            (Task::Classification, Outcome::Value { .. }) => {
                vec![String::new(); 1 + self.classes.len()]
            }
            (Task::Regression, Outcome::Value { value }) => vec![value.to_string()],
            (Task::Regression, Outcome::Class { .. }) => vec![String::new()],
        }
    }
}

fn number(map: &BTreeMap<String, f32>, key: &String) -> String {
    map.get(key).map(ToString::to_string).unwrap_or_default()
}

fn finish(out: csv::Writer<Vec<u8>>) -> io::Result<Bytes> {
    out.into_inner()
        .map(Bytes::from)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Records as JSON array elements; `after_others` puts a comma first, and
/// `last` closes the array.
fn json_rows(records: &[PredictionRecord], after_others: bool, last: bool) -> io::Result<Bytes> {
    let mut out = Vec::new();
    for (i, record) in records.iter().enumerate() {
        if after_others || i > 0 {
            out.push(b',');
        }
        out.push(b'\n');
        serde_json::to_writer(&mut out, record)?;
    }
    if last {
        out.extend_from_slice(b"\n]\n");
    }
    Ok(Bytes::from(out))
}
