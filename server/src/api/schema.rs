//! What the API reads and writes, as JSON: the shapes of its requests and
//! answers, and their schemas in the OpenAPI document.

use std::collections::BTreeMap;

use app::store::{Outcome, PredictionRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A stored prediction, as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prediction {
    /// A ULID: unique, and ordered by creation time.
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub model: ModelInfo,
    /// Feature name → value, as given to the model.
    pub inputs: BTreeMap<String, f32>,
    /// The predicted class (a classifier's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Class name → probability (a classifier's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<BTreeMap<String, f32>>,
    /// The predicted value, in the target's unit (a regressor's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f32>,
    /// Time the model took, in microseconds (a batch's time shared by its rows).
    pub latency_us: u64,
    /// `web` or `api`.
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

impl From<PredictionRecord> for Prediction {
    fn from(r: PredictionRecord) -> Self {
        let (class, probabilities, value) = match r.outcome {
            Outcome::Class {
                class,
                probabilities,
            } => (Some(class), Some(probabilities), None),
            Outcome::Value { value } => (None, None, Some(value)),
        };
        Prediction {
            created_at: r
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            id: r.id,
            model: ModelInfo {
                name: r.model.name,
                version: r.model.version,
                sha256: r.model.sha256,
            },
            inputs: r.inputs,
            class,
            probabilities,
            value,
            latency_us: r.latency_us,
            source: r.source.as_str().to_owned(),
        }
    }
}

/// The predictions a batch made, in the order of its rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Batch {
    pub predictions: Vec<Prediction>,
}

/// What a POST made: one prediction for one object, a batch for an array.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Created {
    One(Box<Prediction>),
    Many(Batch),
}

/// One object of feature values (`{"sepal_length": 5.1, …}`), or an array
/// of up to 1,000 of them. (Its schema in the OpenAPI document is written
/// from the manifest, in [`document`].)
#[derive(Debug, ToSchema)]
pub enum PredictRequest {
    #[schema(value_type = Object)]
    One(BTreeMap<String, Value>),
    #[schema(value_type = Vec<Object>)]
    Many(Vec<BTreeMap<String, Value>>),
}

/// Read by the body's first token: an object is one row, an array a batch.
/// (serde's `untagged` would first copy the whole body into a tree of its
/// own, then try each variant on it.)
impl<'de> Deserialize<'de> for PredictRequest {
    fn deserialize<D: serde::Deserializer<'de>>(body: D) -> Result<Self, D::Error> {
        use serde::de::{
            MapAccess, SeqAccess, Visitor,
            value::{MapAccessDeserializer, SeqAccessDeserializer},
        };

        struct Rows;

        impl<'de> Visitor<'de> for Rows {
            type Value = PredictRequest;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of feature values, or an array of such objects")
            }

            fn visit_map<M: MapAccess<'de>>(self, row: M) -> Result<PredictRequest, M::Error> {
                Deserialize::deserialize(MapAccessDeserializer::new(row)).map(PredictRequest::One)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, rows: A) -> Result<PredictRequest, A::Error> {
                Deserialize::deserialize(SeqAccessDeserializer::new(rows)).map(PredictRequest::Many)
            }
        }

        body.deserialize_any(Rows)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `next` or `previous` of an earlier page; empty or absent: the newest.
    #[param(pattern = "^([on][0-9A-HJKMNP-TV-Z]{26})?$")]
    pub cursor: Option<String>,
    /// 1 to 100; 50 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// Only predictions of this class (classifiers only).
    pub label: Option<String>,
}

/// A page of the caller's predictions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionPage {
    pub predictions: Vec<Prediction>,
    /// Cursor of the older predictions, if any.
    pub next: Option<String>,
    /// Cursor of the newer predictions, if any.
    pub previous: Option<String>,
}
