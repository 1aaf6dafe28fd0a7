//! The JSON API over HTTP with signed tokens from the in-process issuer
//! (fetched and checked as a real provider's; a token from the real local
//! provider is in `auth.rs`). Forged and malformed tokens are in
//! `id_token.rs`; here, what each route does for the right user, the wrong
//! user, no user, and bad input of every kind.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::test_app::{Sepal, TestApp};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

fn setosa() -> Value {
    json!({ "sepal_length": 5.0, "sepal_width": 3.4, "petal_length": 1.5, "petal_width": 0.2 })
}

fn virginica() -> Value {
    json!({ "sepal_length": 6.8, "sepal_width": 3.0, "petal_length": 5.5, "petal_width": 2.1 })
}

struct Client<'a> {
    sepal: &'a Sepal,
    http: reqwest::Client,
    token: Option<String>,
}

impl<'a> Client<'a> {
    fn new(sepal: &'a Sepal, token: Option<String>) -> Self {
        Client {
            sepal,
            http: reqwest::Client::new(),
            token,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.sepal.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (StatusCode, header::HeaderMap, Value) {
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                headers[header::CONTENT_TYPE],
                "application/problem+json",
                "{text}"
            );
            assert_eq!(body["status"], status.as_u16(), "{text}");
        }
        (status, headers, body)
    }

    async fn post(&self, body: &Value) -> (StatusCode, header::HeaderMap, Value) {
        self.send(self.request(Method::POST, "/predictions").json(body))
            .await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(self.request(Method::GET, path)).await;
        (status, body)
    }

    async fn count(&self) -> usize {
        let (status, page) = self.get("/predictions?limit=100").await;
        assert_eq!(status, StatusCode::OK);
        page["predictions"].as_array().unwrap().len()
    }
}

#[tokio::test]
async fn every_route_needs_a_valid_bearer_token_and_reads_no_cookies() {
    let sepal = TestApp::new().start().await;
    let routes = [
        (Method::GET, "/predictions"),
        (Method::POST, "/predictions"),
        (Method::GET, "/predictions/01J0000000000000000000000A"),
        (Method::DELETE, "/predictions/01J0000000000000000000000A"),
        (Method::GET, "/model"),
        // Paths and methods no route has: nothing is told without a token.
        (Method::GET, "/nowhere"),
        (Method::PUT, "/predictions"),
    ];
    let nobody = Client::new(&sepal, None);
    let forged = Client::new(&sepal, Some("not.a.token".into()));
    // A signed-in browser's cookie is no credential here.
    let browser = sepal.signed_in_browser("alice").await;
    for (method, path) in routes {
        let (status, headers, _) = nobody
            .send(nobody.request(method.clone(), path).json(&setosa()))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer realm=\"sepal\"");

        let (status, headers, _) = forged.send(forged.request(method.clone(), path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let challenge = headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"sepal\", error=\"invalid_token\""),
            "{challenge}"
        );

        let response = browser
            .client
            .request(method.clone(), format!("{}/api/v1{path}", sepal.url))
            .header(header::ORIGIN, &sepal.url)
            .json(&setosa())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "cookie only: {method} {path}"
        );
    }

    // Outside the allowed groups: 403.
    let mallory = Client::new(&sepal, Some(sepal.token_in_groups("mallory", &["guests"])));
    let (status, headers, _) = mallory.post(&setosa()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    // The OpenAPI document is public.
    let (status, doc) = nobody.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/predictions",
        "/api/v1/predictions/{id}",
        "/api/v1/model",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_its_key_is_gone_from_the_provider() {
    let mut sepal = TestApp::new().start().await;
    let old = Client::new(&sepal, Some(sepal.token("alice")));
    // The second request finds the token already verified.
    for _ in 0..2 {
        assert_eq!(old.get("/model").await.0, StatusCode::OK);
    }
    let old_token = old.token.clone();

    sepal.rotate_keys();
    tokio::time::sleep(server::auth::JWKS_REFRESH_INTERVAL).await;
    // A token signed with the new key makes Sepal fetch the keys again.
    let new = Client::new(&sepal, Some(sepal.token("alice")));
    assert_eq!(new.get("/model").await.0, StatusCode::OK);
    let old = Client::new(&sepal, old_token);
    let (status, problem) = old.get("/model").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let sepal = TestApp::new()
        .config(|c| c.api_audience = Some("some-other-api".into()))
        .start()
        .await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let (status, headers, body) = alice.post(&setosa()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn predictions_are_made_listed_read_and_deleted_by_their_owner_only() {
    let sepal = TestApp::new().start().await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let bob = Client::new(&sepal, Some(sepal.token("bob")));

    let (status, headers, made) = alice.post(&virginica()).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(
        headers[header::LOCATION],
        format!("/api/v1/predictions/{id}")
    );
    // JSON runs no script and loads nothing: its CSP allows nothing.
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(made["class"], "virginica");
    assert_eq!(made["source"], "api");
    assert_eq!(made["model"]["name"], "iris");
    assert_eq!(made["inputs"]["petal_length"], 5.5);
    let total: f64 = made["probabilities"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-5);

    let (status, read) = alice.get(&format!("/predictions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, made);
    alice.post(&setosa()).await;
    let (_, page) = alice.get("/predictions").await;
    let ids: Vec<&str> = page["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1], id, "newest first");
    let (_, only) = alice.get("/predictions?label=virginica").await;
    assert_eq!(only["predictions"].as_array().unwrap().len(), 1);
    let (_, first) = alice.get("/predictions?limit=1").await;
    let (_, second) = alice
        .get(&format!(
            "/predictions?limit=1&cursor={}",
            first["next"].as_str().unwrap()
        ))
        .await;
    assert_eq!(second["predictions"][0]["id"], id);
    assert_eq!(second["next"], Value::Null);

    // Bob sees none of it, and cannot delete it.
    assert_eq!(
        bob.get(&format!("/predictions/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = bob
        .send(bob.request(Method::DELETE, &format!("/predictions/{id}")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(bob.count().await, 0);

    let (status, _, _) = alice
        .send(alice.request(Method::DELETE, &format!("/predictions/{id}")))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        alice.get(&format!("/predictions/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(alice.count().await, 1);

    let (status, model) = alice.get("/model").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["name"], "iris");
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_stores_nothing_new() {
    let sepal = TestApp::new().start().await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let post = |body: Value, key: &'static str| {
        let request = alice
            .request(Method::POST, "/predictions")
            .header("Idempotency-Key", key)
            .json(&body);
        alice.send(request)
    };
    let (status, _, first) = post(setosa(), "order-42").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, again) = post(setosa(), "order-42").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first);
    assert_eq!(alice.count().await, 1);

    let (status, _, problem) = post(virginica(), "order-42").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(alice.count().await, 1);

    // A batch with a key: a retry gets the same records; another batch, or
    // the key of a single prediction, is a conflict and stores nothing.
    let batch = json!([setosa(), virginica()]);
    let (status, _, first_batch) = post(batch.clone(), "batch-7").await;
    assert_eq!(status, StatusCode::CREATED, "{first_batch}");
    assert_eq!(alice.count().await, 3);
    let (status, _, again) = post(batch, "batch-7").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first_batch);
    for (other, why) in [
        (json!([setosa()]), "fewer rows"),
        (json!([setosa(), virginica(), setosa()]), "more rows"),
        (json!([setosa(), setosa()]), "another second row"),
        (setosa(), "one object for a batch's key"),
        (json!([setosa()]), "a batch for a single's key"),
    ] {
        let key = if why.contains("single's") {
            "order-42"
        } else {
            "batch-7"
        };
        let (status, _, problem) = post(other, key).await;
        assert_eq!(status, StatusCode::CONFLICT, "{why}: {problem}");
    }
    assert_eq!(alice.count().await, 3);

    // Keys are per user: bob's "order-42" is his own.
    let bob = Client::new(&sepal, Some(sepal.token("bob")));
    let request = bob
        .request(Method::POST, "/predictions")
        .header("Idempotency-Key", "order-42")
        .json(&virginica());
    let (status, _, bobs) = bob.send(request).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(bobs["id"], first["id"]);
}

#[tokio::test]
async fn a_batch_is_predicted_in_order_and_all_or_nothing() {
    let sepal = TestApp::new().start().await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let versicolor =
        json!({ "sepal_length": 5.7, "sepal_width": 2.8, "petal_length": 4.1, "petal_width": 1.3 });
    let (status, _, batch) = alice
        .post(&json!([setosa(), versicolor, virginica()]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    let classes: Vec<&str> = batch["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["setosa", "versicolor", "virginica"]);
    assert_eq!(alice.count().await, 3);

    let mut bad = virginica();
    bad["petal_width"] = json!(-1);
    let (status, _, problem) = alice
        .post(&json!([setosa(), bad, { "colour": "blue" }]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = problem["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 1 && e["field"] == "petal_width"),
        "{problem}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 2 && e["field"] == "colour"),
        "{problem}"
    );
    assert!(!errors.iter().any(|e| e["row"] == 0));
    assert_eq!(
        alice.count().await,
        3,
        "nothing of an invalid batch is stored"
    );

    let too_many = Value::Array(vec![setosa(); 1001]);
    assert_eq!(
        alice.post(&too_many).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        alice.post(&json!([])).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(alice.count().await, 3);
}

#[tokio::test]
async fn bad_input_of_every_kind_is_a_clear_4xx_and_changes_nothing() {
    let sepal = TestApp::new().start().await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let raw = |body: &'static str, content_type: &'static str| {
        alice
            .request(Method::POST, "/predictions")
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
    };
    let cases = [
        (
            "malformed JSON",
            raw("{\"sepal_length\": ", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not JSON",
            raw("sepal_length=5", "application/x-www-form-urlencoded"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "no content type",
            alice.request(Method::POST, "/predictions").body("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a number",
            raw("42", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a string",
            raw("\"iris\"", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "too large",
            alice
                .request(Method::POST, "/predictions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(format!("[{}]", vec![setosa().to_string(); 4000].join(","))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (why, request, expected) in cases {
        let (status, _, problem) = alice.send(request).await;
        assert_eq!(status, expected, "{why}: {problem}");
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{why}");
    }
    // A body of the wrong shape is told the shape it should have.
    let (_, _, problem) = alice.send(raw("42", "application/json")).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("expected an object of feature values, or an array of such objects"),
        "{problem}"
    );

    let mut invalid = setosa();
    invalid["sepal_length"] = json!("five");
    invalid["petal_width"] = json!(1e9);
    invalid.as_object_mut().unwrap().remove("sepal_width");
    invalid["colour"] = json!("blue");
    let (status, _, problem) = alice.post(&invalid).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["sepal_length", "sepal_width", "petal_width", "colour"] {
        assert!(fields.contains(&field), "{field} named in {problem}");
    }

    for (query, why) in [
        ("cursor=zzz", "bad cursor"),
        ("limit=0", "limit 0"),
        ("limit=101", "limit 101"),
        ("limit=x", "limit not a number"),
        ("label=rose", "unknown label"),
    ] {
        let (status, problem) = alice.get(&format!("/predictions?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {problem}");
    }
    for key in ["k".repeat(200), "order 42".to_owned()] {
        let request = alice
            .request(Method::POST, "/predictions")
            .header("Idempotency-Key", &key)
            .json(&setosa());
        assert_eq!(
            alice.send(request).await.0,
            StatusCode::BAD_REQUEST,
            "{key}"
        );
    }
    assert_eq!(alice.get("/nowhere").await.0, StatusCode::NOT_FOUND);
    let put = alice.request(Method::PUT, "/predictions").json(&setosa());
    assert_eq!(alice.send(put).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(alice.count().await, 0);
}

/// Seconds in a 429's `Retry-After`.
fn retry_after(headers: &header::HeaderMap) -> u64 {
    headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn each_user_is_rate_limited_on_their_own_and_a_refused_request_stores_nothing() {
    let sepal = TestApp::new().rate_limits(0, 1, 3).start().await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let bob = Client::new(&sepal, Some(sepal.token("bob")));
    for _ in 0..3 {
        assert_eq!(alice.post(&setosa()).await.0, StatusCode::CREATED);
    }
    let (status, headers, problem) = alice.post(&setosa()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("your account"),
        "{problem}"
    );
    let wait = retry_after(&headers);
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    // Another user is not held back by Alice's requests.
    assert_eq!(bob.get("/model").await.0, StatusCode::OK);

    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(alice.count().await, 3);
}

#[tokio::test]
async fn each_address_is_rate_limited_on_its_own_before_any_token_is_checked() {
    let sepal = TestApp::new().rate_limits(1, 0, 2).start().await;
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let (first, second) = (from("127.0.0.1"), from("127.0.0.2"));
    let model = format!("{}/api/v1/model", sepal.url);
    for _ in 0..2 {
        let response = first.get(&model).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = first.get(&model).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(retry_after(refused.headers()) >= 1);
    // Pages too: each sign-in start would otherwise write a session.
    let login = first
        .get(format!("{}/auth/login", sepal.url))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(login.headers().contains_key(header::RETRY_AFTER));
    assert!(login.headers().get(header::SET_COOKIE).is_none());
    // Health checks are not limited; another address is not held back.
    let health = first.get(format!("{}/healthz", sepal.url)).send().await;
    assert_eq!(health.unwrap().status(), StatusCode::OK);
    let other = second.get(&model).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let statuses = |sepal: &Sepal, forwarded: &[&'static str]| {
        let url = format!("{}/api/v1/model", sepal.url);
        let forwarded = forwarded.to_vec();
        async move {
            let client = reqwest::Client::new();
            let mut statuses = Vec::new();
            for header in forwarded {
                let response = client
                    .get(&url)
                    .header("x-forwarded-for", header)
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        }
    };
    // Without a proxy, a client cannot pick a new address per request.
    let direct = TestApp::new().rate_limits(1, 0, 1).start().await;
    assert_eq!(
        statuses(&direct, &["10.0.0.1", "10.0.0.2"]).await,
        [401, 429]
    );
    // Behind one, the address the proxy appended (the last) is the key;
    // what the client put before it is ignored.
    let proxied = TestApp::new()
        .rate_limits(1, 0, 1)
        .config(|c| c.trust_forwarded_for = true)
        .start()
        .await;
    assert_eq!(
        statuses(
            &proxied,
            &[
                "1.2.3.4, 10.0.0.1",
                "1.2.3.4, 10.0.0.2",
                "9.9.9.9, 10.0.0.1"
            ]
        )
        .await,
        [401, 401, 429]
    );
}

#[tokio::test]
async fn cors_is_off_by_default_and_allows_only_the_configured_origins() {
    let preflight = |sepal: &Sepal, origin: &'static str| {
        let url = format!("{}/api/v1/predictions", sepal.url);
        async move {
            reqwest::Client::new()
                .request(Method::OPTIONS, url)
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let allowed = "https://notebooks.example.org";
    let closed = TestApp::new().start().await;
    let answer = preflight(&closed, allowed).await;
    assert!(
        answer
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    let open = TestApp::new()
        .config(|c| c.api_cors_origins = vec![allowed.into()])
        .start()
        .await;
    let answer = preflight(&open, allowed).await;
    assert!(answer.status().is_success(), "{}", answer.status());
    let headers = answer.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], allowed);
    let allow_headers = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert!(allow_headers.contains("authorization"), "{allow_headers}");
    // Bearer tokens only: browsers are never told to send cookies.
    assert!(
        headers
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none()
    );
    let answer = preflight(&open, "https://evil.example").await;
    assert!(
        answer
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    // A real request from the allowed origin can read the answer.
    let alice = open.token("alice");
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/model", open.url))
        .header(header::ORIGIN, allowed)
        .bearer_auth(alice)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        allowed
    );
}

#[tokio::test]
async fn a_folder_made_by_model_init_is_served_without_edits() {
    // A LightGBM classifier with int64 labels and skl2onnx's ZipMap output,
    // and a CSV of its rows: what a team exports, as it exports it.
    let work = tempfile::tempdir().unwrap();
    let suite = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/suite");
    let columns: Vec<String> = (1..=30).map(|i| format!("measurement {i}")).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let csv = common::suite_csv(
        "binary_lightgbm_zipmap",
        work.path(),
        &columns,
        Some("class"),
    );
    let out = work.path().join("cancer");
    server::model_folder::init(&server::model_folder::Init {
        onnx: &suite.join("binary_lightgbm_zipmap/model.onnx"),
        data: &csv,
        target: Some("class"),
        name: "cancer",
        version: "1.0.0",
        out: &out,
    })
    .unwrap();

    let sepal = TestApp::new().model(&out).start().await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let expected: Value = serde_json::from_slice(
        &std::fs::read(suite.join("binary_lightgbm_zipmap/expected.json")).unwrap(),
    )
    .unwrap();
    for (row, label) in expected["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["labels"].as_array().unwrap())
        .take(4)
    {
        let body: serde_json::Map<String, Value> = (1..=30)
            .map(|i| format!("measurement_{i}"))
            .zip(row.as_array().unwrap().iter().cloned())
            .collect();
        let (status, _, made) = alice.post(&Value::Object(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["model"]["name"], "cancer");
        assert_eq!(made["class"], label.to_string(), "{made}");
        assert_eq!(
            made["probabilities"].as_object().unwrap().len(),
            2,
            "{made}"
        );
    }
    // The form's keys come from the CSV header; another key is refused.
    let (status, _, problem) = alice.post(&json!({ "measurement 1": 1.0 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(alice.count().await, 4);
}

#[tokio::test]
async fn a_regressor_answers_values_and_its_document_says_so() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/diabetes");
    let sepal = TestApp::new().model(&dir).start().await;
    let alice = Client::new(&sepal, Some(sepal.token("alice")));
    let row = |bmi: f64| {
        serde_json::json!({
            "age_years": 50, "sex": 1, "body_mass_index_kg_m": bmi, "blood_pressure_mm_hg": 101,
            "total_cholesterol_mg_dl": 157, "ldl_cholesterol_mg_dl": 93.2,
            "hdl_cholesterol_mg_dl": 38, "total_over_hdl_cholesterol": 4,
            "log_of_triglycerides": 4.8598, "blood_sugar_mg_dl": 87
        })
    };
    let (status, _, made) = alice.post(&row(32.1)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let value = made["value"].as_f64().unwrap();
    assert!((25.0..=346.0).contains(&value), "{made}");
    assert!(
        made.get("class").is_none() && made.get("probabilities").is_none(),
        "{made}"
    );

    // A batch: the same row again answers the same value; a leaner one less.
    let (status, _, batch) = alice.post(&Value::Array(vec![row(32.1), row(20.0)])).await;
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    let values: Vec<f64> = batch["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values[0], value);
    assert!(values[1] < value, "{values:?}");

    let (status, read) = alice
        .get(&format!("/predictions/{}", made["id"].as_str().unwrap()))
        .await;
    assert_eq!((status, &read["value"]), (StatusCode::OK, &made["value"]));
    let (status, problem) = alice.get("/predictions?label=high").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("predicts a value, not a class"),
        "{problem}"
    );
    assert_eq!(alice.count().await, 3);

    let (_, document) = Client::new(&sepal, None).get("/openapi.json").await;
    let parameters = &document["paths"]["/api/v1/predictions"]["get"]["parameters"];
    assert!(
        parameters
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "label"),
        "{parameters}"
    );
    let prediction = &document["components"]["schemas"]["Prediction"]["properties"];
    assert!(prediction.get("value").is_some(), "{prediction}");
    let input = &document["components"]["schemas"]["PredictionInput"]["properties"];
    assert_eq!(input["body_mass_index_kg_m"]["maximum"], 66.4, "{input}");
}
