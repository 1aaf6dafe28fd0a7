//! A prediction as people read it: the class, each class's probability as
//! a bar and in numbers, and the input among the data set on a scatter plot.
//! Plain server-rendered HTML and SVG: no chart library, no WASM.

use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    model::{FeatureSpec, Manifest},
    store::PredictionRecord,
};

/// Plot size in SVG units; the SVG scales to the width of its card.
const WIDTH: f32 = 480.0;
const HEIGHT: f32 = 320.0;
/// Room for the axes' labels.
const LEFT: f32 = 52.0;
const BOTTOM: f32 = 44.0;
const TOP: f32 = 12.0;
const RIGHT: f32 = 12.0;

/// The outcome of one prediction, with a link to it in the history.
#[component]
pub fn ResultCard(record: PredictionRecord, manifest: Manifest) -> impl IntoView {
    let label = class_label(&manifest, &record.class);
    let best = record
        .probabilities
        .get(&record.class)
        .copied()
        .unwrap_or(0.0);
    let link = format!("/history/{}", record.id);
    view! {
        <section class="card result" aria-labelledby="result-title" data-testid="result">
            <h2 id="result-title">"Result"</h2>
            <p class="species">
                "Most likely "<strong data-testid="species">{label}</strong>
                {format!(" ({})", percent(best))}
            </p>
            <Probabilities record=record.clone() manifest=manifest.clone() />
            <ScatterPlot record=record.clone() manifest />
            <p class="hint">
                "Saved "<Time at=record.created_at />" · "
                <a href=link>"Open it in your history"</a>
            </p>
        </section>
    }
}

/// Each class's probability: a bar for the eye, the number for everyone.
#[component]
pub fn Probabilities(record: PredictionRecord, manifest: Manifest) -> impl IntoView {
    let rows = manifest
        .classes
        .iter()
        .enumerate()
        .map(|(i, class)| {
            let p = record.probabilities.get(&class.name).copied().unwrap_or(0.0);
            view! {
                <li>
                    <span class="name">{class.label.clone()}</span>
                    <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                        <rect class="track" width="100" height="10" />
                        <rect class=format!("fill c{i}") width=format!("{:.2}", 100.0 * p.clamp(0.0, 1.0)) height="10" />
                    </svg>
                    <span class="number">{percent(p)}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <h3 class="sub">"Probability of each class"</h3>
        <ul class="probabilities">{rows}</ul>
    }
}

/// The data set on the manifest's two plot features, coloured by class,
/// with this record's input marked.
#[component]
pub fn ScatterPlot(record: PredictionRecord, manifest: Manifest) -> impl IntoView {
    let plot = &manifest.plot;
    let (Some(fx), Some(fy)) = (manifest.feature(&plot.x), manifest.feature(&plot.y)) else {
        return ().into_any();
    };
    let you = (
        record.inputs.get(&plot.x).copied(),
        record.inputs.get(&plot.y).copied(),
    );
    let x = Axis::new(fx, you.0);
    let y = Axis::new(fy, you.1);
    let px = |v: f32| LEFT + (v - x.min) / (x.max - x.min) * (WIDTH - LEFT - RIGHT);
    let py = |v: f32| HEIGHT - BOTTOM - (v - y.min) / (y.max - y.min) * (HEIGHT - TOP - BOTTOM);

    let points = plot
        .points
        .iter()
        .map(|&(a, b, class)| {
            view! { <circle class=format!("pt c{class}") cx=format!("{:.1}", px(a)) cy=format!("{:.1}", py(b)) r="3.5" /> }
        })
        .collect_view();
    let x_ticks = x
        .ticks()
        .map(|t| {
            let at = format!("{:.1}", px(t));
            view! {
                <line class="grid" x1=at.clone() x2=at.clone() y1=TOP.to_string() y2=(HEIGHT - BOTTOM).to_string() />
                <text class="tick" x=at y=(HEIGHT - BOTTOM + 16.0).to_string() text-anchor="middle">{tick(t)}</text>
            }
        })
        .collect_view();
    let y_ticks = y
        .ticks()
        .map(|t| {
            let at = format!("{:.1}", py(t));
            view! {
                <line class="grid" x1=LEFT.to_string() x2=(WIDTH - RIGHT).to_string() y1=at.clone() y2=at.clone() />
                <text class="tick" x=(LEFT - 6.0).to_string() y=at dy="4" text-anchor="end">{tick(t)}</text>
            }
        })
        .collect_view();
    let marker = match you {
        (Some(a), Some(b)) => {
            let (cx, cy) = (px(a), py(b));
            view! {
                <circle class="you" cx=format!("{cx:.1}") cy=format!("{cy:.1}") r="8" />
                <text class="you-label" x=format!("{:.1}", cx + 12.0) y=format!("{:.1}", cy - 10.0)>"Your input"</text>
            }
            .into_any()
        }
        _ => ().into_any(),
    };
    let description = format!(
        "{} against {} for the {} samples of the data set, coloured by class{}.",
        fx.label,
        fy.label.to_lowercase(),
        plot.points.len(),
        match you {
            (Some(a), Some(b)) => format!("; your input is at {a} {}, {b} {}", fx.unit, fy.unit),
            _ => String::new(),
        }
    );
    let legend = manifest
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| view! { <li><span class=format!("swatch c{i}") aria-hidden="true"></span>{c.label.clone()}</li> })
        .collect_view();

    view! {
        <figure class="plot">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby="plot-title plot-desc" data-testid="plot">
                <title id="plot-title">{format!("{} and {} of your input among the data set", fx.label, fy.label.to_lowercase())}</title>
                <desc id="plot-desc">{description.clone()}</desc>
                {x_ticks}
                {y_ticks}
                <g class="points">{points}</g>
                {marker}
                <text class="axis" x=((LEFT + WIDTH - RIGHT) / 2.0).to_string() y=(HEIGHT - 6.0).to_string() text-anchor="middle">
                    {axis_title(fx)}
                </text>
                <text class="axis" transform=format!("translate(14 {}) rotate(-90)", (TOP + HEIGHT - BOTTOM) / 2.0) text-anchor="middle">
                    {axis_title(fy)}
                </text>
            </svg>
            <figcaption>
                <ul class="legend">{legend}<li><span class="swatch you" aria-hidden="true"></span>"Your input"</li></ul>
            </figcaption>
        </figure>
    }
    .into_any()
}

/// One axis: the data set's typical range with a margin, widened to show
/// the user's value.
struct Axis {
    min: f32,
    max: f32,
}

impl Axis {
    fn new(feature: &FeatureSpec, value: Option<f32>) -> Self {
        let (mut min, mut max) = (feature.typical_min as f32, feature.typical_max as f32);
        if let Some(v) = value {
            min = min.min(v);
            max = max.max(v);
        }
        let margin = ((max - min) * 0.06).max(0.05);
        Axis {
            min: (min - margin).max(0.0),
            max: max + margin,
        }
    }

    /// Evenly spaced round values inside the axis: about five of them.
    fn ticks(&self) -> impl Iterator<Item = f32> {
        let raw = (self.max - self.min) / 5.0;
        let magnitude = 10f32.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(raw);
        let first = (self.min / step).ceil() as i32;
        let last = (self.max / step).floor() as i32;
        (first..=last).map(move |i| i as f32 * step)
    }
}

fn tick(value: f32) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn axis_title(feature: &FeatureSpec) -> String {
    if feature.unit.is_empty() {
        feature.label.clone()
    } else {
        format!("{} ({})", feature.label, feature.unit)
    }
}

/// The label of a class, or its name for a class the manifest no longer has.
pub fn class_label(manifest: &Manifest, class: &str) -> String {
    manifest
        .classes
        .iter()
        .find(|c| c.name == class)
        .map_or_else(|| class.to_owned(), |c| c.label.clone())
}

pub fn percent(p: f32) -> String {
    format!("{:.1} %", 100.0 * p)
}

/// A moment in UTC, readable and machine-readable.
#[component]
pub fn Time(at: OffsetDateTime) -> impl IntoView {
    let machine = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let human = format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute());
    view! { <time datetime=machine>{human}</time> }
}
