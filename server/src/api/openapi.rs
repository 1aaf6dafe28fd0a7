//! The API's OpenAPI 3.1 document, served at `/api/v1/openapi.json`: the
//! operations from the handlers' annotations, the bearer scheme, a 429 on
//! every operation, and the request body written from the model's manifest.

use app::model::{Manifest, Task};
use utoipa::OpenApi;

use super::{
    MAX_BATCH, handlers,
    schema::{Batch, Created, ModelInfo, PredictRequest, Prediction, PredictionPage},
};
use crate::http::problem::{FieldProblem, Problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Sepal API"),
    paths(handlers::create, handlers::list, handlers::read, handlers::remove, handlers::model),
    components(schemas(Prediction, ModelInfo, Batch, Created, PredictionPage, Problem, FieldProblem, PredictRequest)),
    modifiers(&BearerScheme, &RateLimited),
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every operation may be refused by the rate limits: a 429 on each.
struct RateLimited;

impl utoipa::Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder, Type};
        let response = ResponseBuilder::new()
            .description(
                "Too many requests from this address or user; retry after `Retry-After` seconds",
            )
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
                    .description(Some("Seconds to wait"))
                    .build(),
            )
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                operation
                    .responses
                    .responses
                    .insert("429".to_owned(), response.clone().into());
            }
        }
    }
}

/// The OpenAPI 3.1 document of this API, with the request body and the
/// `label` filter spelled out from the model's manifest: each feature with
/// its bounds and unit, each class name.
pub(super) fn document(manifest: &Manifest) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{
        ArrayBuilder, ObjectBuilder, OneOfBuilder, Ref, Type, schema::AdditionalProperties,
    };
    let mut input = ObjectBuilder::new()
        .description(Some("One row of the model's features"))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .examples(
            manifest
                .examples
                .iter()
                .map(|e| serde_json::json!(e.values)),
        );
    for feature in &manifest.features {
        let description = format!(
            "{}{}; seen in training: {} to {}",
            feature.label,
            feature.unit_suffix(),
            feature.typical_min,
            feature.typical_max
        );
        input = input
            .property(
                &feature.name,
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(feature.min))
                    .maximum(Some(feature.max))
                    .description(Some(description)),
            )
            .required(&feature.name);
    }
    let request = OneOfBuilder::new()
        .item(Ref::from_schema_name("PredictionInput"))
        .item(
            ArrayBuilder::new()
                .items(Ref::from_schema_name("PredictionInput"))
                .min_items(Some(1))
                .max_items(Some(MAX_BATCH)),
        );
    let mut doc = ApiDoc::openapi();
    doc.info.description = Some(format!(
        "{}: predictions and their history, for a bearer token from Sepal's OpenID provider.",
        manifest.title
    ));
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    schemas.insert("PredictionInput".to_owned(), input.build().into());
    schemas.insert(
        "PredictRequest".to_owned(),
        utoipa::openapi::Schema::OneOf(request.build()).into(),
    );

    let classes = manifest.classes.iter().map(|c| c.name.clone());
    let label: utoipa::openapi::RefOr<_> = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(classes))
        .build()
        .into();
    let list = doc
        .paths
        .paths
        .get_mut("/api/v1/predictions")
        .and_then(|item| item.get.as_mut());
    if let Some(parameters) = list.and_then(|op| op.parameters.as_mut()) {
        match manifest.task {
            Task::Classification => parameters
                .iter_mut()
                .filter(|p| p.name == "label")
                .for_each(|p| p.schema = Some(label.clone())),
            // A regressor's records have no class to filter by.
            Task::Regression => parameters.retain(|p| p.name != "label"),
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn manifest(folder: &str) -> Manifest {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../models")
            .join(folder)
            .join("manifest.json");
        let text = std::fs::read_to_string(path).expect("the committed model folder");
        serde_json::from_str(&text).expect("its manifest")
    }

    /// The whole document, for a classifier and for a regressor: a change
    /// to any operation, schema or parameter shows in review as a change
    /// to `src/api/snapshots/` (docs/api.md says how to accept one).
    #[test]
    fn the_document_is_the_one_reviewed() {
        insta::assert_json_snapshot!("iris", document(&manifest("iris")));
        insta::assert_json_snapshot!("diabetes", document(&manifest("diabetes")));
    }
}
