//! The HTTP surface, exercised in-process with `oneshot`: no port, no browser.
// A test should stop at the first unexpected error.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::{fs, sync::Arc};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, StatusCode, header},
};
use clap::Parser;
use common::test_app::TestApp;
use http_body_util::BodyExt;
use server::Config;
use tower::ServiceExt;

async fn send(app: Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Bytes) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A POST as a browser sends it from Sepal's own page (SEPAL_PUBLIC_URL's default).
fn post(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header(header::ORIGIN, "http://127.0.0.1:3000")
}

fn text(body: &Bytes) -> &str {
    std::str::from_utf8(body).unwrap()
}

#[tokio::test]
async fn healthz_reports_ok() {
    let sepal = TestApp::new();
    let (status, headers, body) = send(sepal.router().await, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(text(&body), r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn start_page_is_rendered_on_the_server() {
    let sepal = TestApp::new();
    let (status, _, body) = send(sepal.router().await, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    let html = text(&body);
    // Said from the served model's manifest, with the way to its form.
    assert!(html.contains("<h1>Iris species</h1>"), "{html}");
    assert!(
        html.contains("from the length and width of its sepals and petals"),
        "{html}"
    );
    assert!(
        html.contains("Fill in the 4 values the model needs."),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/auth/login?return_to=/predict""#),
        "{html}"
    );
    assert!(html.contains("/pkg/sepal.css"), "{html}");
}

#[tokio::test]
async fn unknown_paths_get_the_not_found_page_with_404() {
    let sepal = TestApp::new();
    for request in [
        get("/no/such/page"),
        post("/nope").body(Body::empty()).unwrap(),
    ] {
        let (status, _, body) = send(sepal.router().await, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(text(&body).contains("Page not found"));
    }
}

#[tokio::test]
async fn manifest_server_function_answers_with_the_served_model() {
    let sepal = TestApp::new();
    let request = post("/fn/manifest")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(sepal.router().await, request).await;
    assert_eq!(status, StatusCode::OK, "{}", text(&body));
    let manifest: app::model::Manifest = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (manifest.name.as_str(), manifest.version.as_str()),
        ("iris", "1.0.0")
    );
}

#[tokio::test]
async fn malformed_server_function_call_is_a_400_with_a_reason() {
    let sepal = TestApp::new();
    // `prediction` takes an id, which this body does not give.
    let request = post("/fn/prediction")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"not json"#))
        .unwrap();
    let (status, _, body) = send(sepal.router().await, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", text(&body));
    let error: app::error::AppError = serde_json::from_slice(&body).unwrap();
    assert!(
        matches!(error, app::error::AppError::BadRequest(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn static_files_are_served_precompressed() {
    let sepal = TestApp::new();
    let pkg = sepal.site_root().join("pkg");
    fs::create_dir(&pkg).unwrap();
    fs::write(pkg.join("sepal.js"), "plain").unwrap();
    fs::write(pkg.join("sepal.js.br"), "brotli").unwrap();
    fs::write(pkg.join("sepal.js.gz"), "gzip").unwrap();

    for (accept, encoding, body) in [
        ("br, gzip", Some("br"), "brotli"),
        ("gzip", Some("gzip"), "gzip"),
        ("identity", None, "plain"),
    ] {
        let request = Request::get("/pkg/sepal.js")
            .header(header::ACCEPT_ENCODING, accept)
            .body(Body::empty())
            .unwrap();
        let (status, headers, got) = send(sepal.router().await, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "Accept-Encoding: {accept}"
        );
        assert_eq!(text(&got), body);
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let sepal = TestApp::new();
    for uri in ["/healthz", "/", "/no/such/page"] {
        let (_, headers, _) = send(sepal.router().await, get(uri)).await;
        assert!(!headers["x-request-id"].is_empty(), "{uri}");
    }
    let request = Request::get("/healthz")
        .header("x-request-id", "trace-me-42")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(sepal.router().await, request).await;
    assert_eq!(headers["x-request-id"], "trace-me-42");
}

#[test]
fn config_help_and_defaults() {
    use clap::CommandFactory;
    let command = Config::command();
    command.clone().debug_assert();
    // Read from the definition, so variables set in the environment do not matter.
    let default = |id: &str| {
        let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
        arg.get_default_values()[0].to_str().unwrap().to_owned()
    };
    assert_eq!(default("addr"), "127.0.0.1:3000");
    assert_eq!(default("site_root"), "target/site");
    assert_eq!(default("model_dir"), "models/iris");
    assert_eq!(default("log_format"), "pretty");
    assert_eq!(default("log"), "info");

    let config = Config::parse_from(["sepal", "--log-format", "json", "--addr", "0.0.0.0:8080"]);
    assert_eq!(config.log_format, server::LogFormat::Json);
    assert_eq!(config.addr.port(), 8080);
    assert!(Config::try_parse_from(["sepal", "--log-format", "xml"]).is_err());
}

#[tokio::test]
async fn a_cors_origin_that_is_not_an_origin_stops_the_start_with_a_reason() {
    for bad in [
        "notebooks.example.org",
        "https://notebooks.example.org/path",
        "*",
    ] {
        let sepal = TestApp::new().config(|c| c.api_cors_origins = vec![bad.into()]);
        let Err(err) = sepal.try_router().await else {
            panic!("{bad} was accepted as a CORS origin");
        };
        assert!(err.to_string().contains("SEPAL_API_CORS_ORIGINS"), "{err}");
    }
}

#[tokio::test]
async fn readyz_reports_a_working_store() {
    let sepal = TestApp::new();
    let (status, _, body) = send(sepal.router().await, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text(&body), r#"{"status":"ready","store":"ok"}"#);
}

#[tokio::test]
async fn readyz_is_503_while_the_store_is_unreachable() {
    // A port nobody listens on.
    let port = common::free_port();
    let store = common::dynamo_at(&format!("http://127.0.0.1:{port}"), "sepal").await;
    let app = TestApp::new().store(Arc::new(store)).router().await;
    let (status, _, body) = send(app.clone(), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // Pages still render (signed out) when a session cannot be read.
    let with_session = Request::get("/")
        .header(header::COOKIE, "sepal=AAAAAAAAAAAAAAAAAAAAAA")
        .body(Body::empty())
        .unwrap();
    let (page_status, _, page) = send(app, with_session).await;
    assert_eq!(page_status, StatusCode::OK);
    assert!(text(&page).contains(r#"href="/auth/login""#));
    assert!(
        text(&body).contains(r#""status":"unavailable""#),
        "{}",
        text(&body)
    );
}
