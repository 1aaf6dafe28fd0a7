//! A prediction as people read it: the class, each class's probability as
//! a bar and in numbers, or the predicted value with its unit; and the input
//! among the data set on a scatter plot.
//! Plain server-rendered HTML and SVG: no chart library, no WASM.

use leptos::prelude::*;
use time::OffsetDateTime;

use std::collections::BTreeMap;

use crate::{
    model::{FeatureSpec, Manifest, PLOT_TARGET, TargetSpec},
    store::{Outcome, PredictionRecord},
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
    let link = format!("/history/{}", record.id);
    view! {
        <section class="card result" aria-labelledby="result-title" data-testid="result">
            <h2 id="result-title">"Result"</h2>
            <Answer record=record.clone() manifest=manifest.clone() />
            <ScatterPlot record=record.clone() manifest />
            <p class="hint">
                "Saved "<Time at=record.created_at />" · "
                <a href=link>"Open it in your history"</a>
            </p>
        </section>
    }
}

/// What the model answered: the class and each class's probability, or
/// the value with its unit and the training data's range.
#[component]
pub fn Answer(record: PredictionRecord, manifest: Manifest) -> impl IntoView {
    match record.outcome {
        Outcome::Class {
            class,
            probabilities,
        } => {
            let best = probabilities.get(&class).copied().unwrap_or(0.0);
            view! {
                <p class="answer">
                    "Most likely "<strong data-testid="answer">{manifest.class_label(&class)}</strong>
                    {format!(" ({})", percent(best))}
                </p>
                <Probabilities probabilities manifest />
            }
            .into_any()
        }
        Outcome::Value { value } => {
            let (label, range) = match &manifest.target {
                Some(t) => (
                    t.label.clone(),
                    format!(
                        "In the training data it ranged from {} to {}.",
                        with_unit(t.typical_min, &t.unit),
                        with_unit(t.typical_max, &t.unit)
                    ),
                ),
                None => ("Predicted value".to_owned(), String::new()),
            };
            view! {
                <p class="answer">
                    {format!("{label}: ")}<strong data-testid="answer">{with_unit(f64::from(value), manifest.target_unit())}</strong>
                </p>
                <p class="hint">{range}</p>
            }
            .into_any()
        }
    }
}

/// Each class's probability: a bar for the eye, the number for everyone.
#[component]
pub fn Probabilities(probabilities: BTreeMap<String, f32>, manifest: Manifest) -> impl IntoView {
    let rows = manifest
        .classes
        .iter()
        .enumerate()
        .map(|(i, class)| {
            let p = probabilities.get(&class.name).copied().unwrap_or(0.0);
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

/// The data set as the manifest plots it, with this record marked: a
/// classifier's on two features, coloured by class; a regressor's as a
/// feature against the target, with the predicted value.
#[component]
pub fn ScatterPlot(record: PredictionRecord, manifest: Manifest) -> impl IntoView {
    let plot = &manifest.plot;
    let Some(fx) = manifest.feature(&plot.x).map(Scale::of_feature) else {
        return ().into_any();
    };
    let regression = plot.y == PLOT_TARGET;
    let (fy, you_y) = match (&manifest.target, &record.outcome) {
        (Some(target), Outcome::Value { value }) if regression => {
            (Scale::of_target(target), Some(*value))
        }
        (_, _) if regression => return ().into_any(),
        _ => match manifest.feature(&plot.y) {
            Some(f) => (Scale::of_feature(f), record.inputs.get(&plot.y).copied()),
            None => return ().into_any(),
        },
    };
    let you = (record.inputs.get(&plot.x).copied(), you_y);
    let x = Axis::new(&fx, you.0);
    let y = Axis::new(&fy, you.1);
    let px = |v: f32| LEFT + (v - x.min) / (x.max - x.min) * (WIDTH - LEFT - RIGHT);
    let py = |v: f32| HEIGHT - BOTTOM - (v - y.min) / (y.max - y.min) * (HEIGHT - TOP - BOTTOM);

    let points = plot
        .points
        .iter()
        .map(|&point| {
            let class = point.class().map_or_else(|| "pt sample".to_owned(), |c| format!("pt c{c}"));
            view! { <circle class=class cx=format!("{:.1}", px(point.x())) cy=format!("{:.1}", py(point.y())) r="3.5" /> }
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
    let yours = if regression {
        "Your prediction"
    } else {
        "Your input"
    };
    let marker = match you {
        (Some(a), Some(b)) => {
            let (cx, cy) = (px(a), py(b));
            view! {
                <circle class="you" cx=format!("{cx:.1}") cy=format!("{cy:.1}") r="8" />
                <text class="you-label" x=format!("{:.1}", cx + 12.0) y=format!("{:.1}", cy - 10.0)>{yours}</text>
            }
            .into_any()
        }
        _ => ().into_any(),
    };
    let description = format!(
        "{} against {} for the {} samples of the data set{}{}.",
        fy.label,
        fx.label.to_lowercase(),
        plot.points.len(),
        if regression {
            ""
        } else {
            ", coloured by class"
        },
        match you {
            (Some(a), Some(b)) if regression => format!(
                "; your prediction is {} at {}",
                with_unit(f64::from(b), &fy.unit),
                with_unit(f64::from(a), &fx.unit)
            ),
            (Some(a), Some(b)) => format!(
                "; your input is at {}, {}",
                with_unit(f64::from(a), &fx.unit),
                with_unit(f64::from(b), &fy.unit)
            ),
            _ => String::new(),
        }
    );
    let legend = if regression {
        view! { <li><span class="swatch sample" aria-hidden="true"></span>"Training data"</li> }
            .into_any()
    } else {
        manifest
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| view! { <li><span class=format!("swatch c{i}") aria-hidden="true"></span>{c.label.clone()}</li> })
            .collect_view()
            .into_any()
    };
    let title = if regression {
        format!(
            "Your prediction among the data set: {} against {}",
            fy.label.to_lowercase(),
            fx.label.to_lowercase()
        )
    } else {
        format!(
            "{} and {} of your input among the data set",
            fx.label,
            fy.label.to_lowercase()
        )
    };

    view! {
        <figure class="plot">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby="plot-title plot-desc" data-testid="plot">
                <title id="plot-title">{title}</title>
                <desc id="plot-desc">{description}</desc>
                {x_ticks}
                {y_ticks}
                <g class="points">{points}</g>
                {marker}
                <text class="axis" x=((LEFT + WIDTH - RIGHT) / 2.0).to_string() y=(HEIGHT - 6.0).to_string() text-anchor="middle">
                    {fx.title()}
                </text>
                <text class="axis" transform=format!("translate(14 {}) rotate(-90)", (TOP + HEIGHT - BOTTOM) / 2.0) text-anchor="middle">
                    {fy.title()}
                </text>
            </svg>
            <figcaption>
                <ul class="legend">{legend}<li><span class="swatch you" aria-hidden="true"></span>{yours}</li></ul>
            </figcaption>
        </figure>
    }
    .into_any()
}

/// What one axis shows: a feature, or a regressor's target.
struct Scale {
    label: String,
    unit: String,
    typical_min: f64,
    typical_max: f64,
}

impl Scale {
    fn of_feature(f: &FeatureSpec) -> Self {
        Scale {
            label: f.label.clone(),
            unit: f.unit.clone(),
            typical_min: f.typical_min,
            typical_max: f.typical_max,
        }
    }

    fn of_target(t: &TargetSpec) -> Self {
        Scale {
            label: t.label.clone(),
            unit: t.unit.clone(),
            typical_min: t.typical_min,
            typical_max: t.typical_max,
        }
    }

    fn title(&self) -> String {
        titled(&self.label, &self.unit)
    }
}

/// A quantity's name for a heading: `Body mass index (kg/m²)`, or the label
/// alone when it has no unit.
pub fn titled(label: &str, unit: &str) -> String {
    if unit.is_empty() {
        label.to_owned()
    } else {
        format!("{label} ({unit})")
    }
}

/// One axis: the data set's typical range with a margin, widened to show
/// the user's value.
struct Axis {
    min: f32,
    max: f32,
}

impl Axis {
    fn new(scale: &Scale, value: Option<f32>) -> Self {
        let (mut min, mut max) = (scale.typical_min as f32, scale.typical_max as f32);
        if let Some(v) = value {
            min = min.min(v);
            max = max.max(v);
        }
        let margin = ((max - min) * 0.06).max(0.05);
        Axis {
            // Data that is never negative keeps its axis at zero and above.
            min: if min >= 0.0 {
                (min - margin).max(0.0)
            } else {
                min - margin
            },
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

/// A number as people read it (four significant digits at most), with its
/// unit when it has one.
pub fn with_unit(value: f64, unit: &str) -> String {
    let digits = if value == 0.0 {
        0
    } else {
        (3 - value.abs().log10().floor() as i32).clamp(0, 6) as usize
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if unit.is_empty() {
        text.to_owned()
    } else {
        format!("{text} {unit}")
    }
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
