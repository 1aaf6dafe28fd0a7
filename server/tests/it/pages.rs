//! The prediction and history pages over HTTP, as a browser without
//! JavaScript uses them: form posts to server functions, links with cursors,
//! downloads. Sepal runs on a real port; sessions are opened in its store
//! (`TestApp`), as a sign-in leaves them.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{
    browser::Browser,
    test_app::{Sepal, TestApp},
};
use reqwest::{StatusCode, header};
use serde_json::Value;

const SETOSA: [(&str, &str); 4] = [
    ("input[sepal_length]", "5.0"),
    ("input[sepal_width]", "3.4"),
    ("input[petal_length]", "1.5"),
    ("input[petal_width]", "0.2"),
];
const VIRGINICA: [(&str, &str); 4] = [
    ("input[sepal_length]", "6.8"),
    ("input[sepal_width]", "3.0"),
    ("input[petal_length]", "5.5"),
    ("input[petal_width]", "2.1"),
];

/// Posts the prediction form as a browser without JavaScript does, and
/// returns where the server sends the browser.
async fn predict(browser: &Browser, sepal: &Sepal, form: &[(&str, &str)]) -> String {
    let response = post_form(browser, sepal, "/fn/predict", form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn post_form(
    browser: &Browser,
    sepal: &Sepal,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .client
        .post(format!("{}{path}", sepal.url))
        .header(header::ORIGIN, &sepal.url)
        .header(header::ACCEPT, "text/html")
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn get(browser: &Browser, sepal: &Sepal, path: &str) -> (StatusCode, String) {
    let response = browser
        .client
        .get(format!("{}{path}", sepal.url))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The `href` of the link with `rel` in a page, unescaped.
fn link(html: &str, rel: &str) -> Option<String> {
    let end = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&amp;", "&"))
}

fn rows(html: &str) -> usize {
    html.split("<tbody>")
        .nth(1)
        .map_or(0, |body| body.matches("<tr>").count())
}

#[tokio::test]
async fn a_prediction_is_stored_shown_and_only_its_owner_sees_it() {
    let sepal = TestApp::new().start().await;
    let alice = sepal.signed_in_browser("alice").await;

    let location = predict(&alice, &sepal, &VIRGINICA).await;
    let id = location
        .strip_prefix("/predict?result=")
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 26, "{location}");
    let (status, page) = get(&alice, &sepal, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Iris virginica"), "{page}");
    assert!(page.contains("class=\"you\""), "the plot marks the flower");
    assert!(page.contains(&format!("href=\"/history/{id}\"")));

    let (status, record) = get(&alice, &sepal, &format!("/history/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(record.contains("5.5 cm") && record.contains(&id));

    let bob = sepal.signed_in_browser("bob").await;
    for path in [format!("/history/{id}"), format!("/predict?result={id}")] {
        let (status, page) = get(&bob, &sepal, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("5.5 cm"), "{path}");
    }
    // Asked as a script would (JSON), the answer is a plain 404.
    let refused = bob
        .client
        .post(format!("{}/fn/delete_prediction", sepal.url))
        .header(header::ORIGIN, &sepal.url)
        .header(header::ACCEPT, "application/json")
        .form(&[("id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let (status, _) = get(&alice, &sepal, &format!("/history/{id}")).await;
    assert_eq!(status, StatusCode::OK, "bob's delete changed nothing");

    let deleted = post_form(&alice, &sepal, "/fn/delete_prediction", &[("id", &id)]).await;
    assert_eq!(deleted.status(), StatusCode::FOUND);
    assert_eq!(deleted.headers()[header::LOCATION], "/history");
    let (status, _) = get(&alice, &sepal, &format!("/history/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Building a router lists the app's pages by rendering it with data
/// loads suspended process-wide (Leptos), so a page served meanwhile by
/// another router once waited for its data forever. Routers are built
/// here without pause while one page is asked for again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_while_another_router_is_built() {
    let sepal = TestApp::new().start().await;
    let alice = sepal.signed_in_browser("alice").await;
    let location = predict(&alice, &sepal, &VIRGINICA).await;
    let other = TestApp::new();
    let building = tokio::spawn(async move {
        loop {
            drop(other.router().await);
            tokio::task::yield_now().await;
        }
    });
    for _ in 0..50 {
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            get(&alice, &sepal, &location),
        )
        .await;
        let (status, _) = answer.expect("the page answers while a router is built");
        assert_eq!(status, StatusCode::OK);
    }
    building.abort();
}

#[tokio::test]
async fn invalid_input_goes_back_to_the_form_and_stores_nothing() {
    let sepal = TestApp::new().start().await;
    let alice = sepal.signed_in_browser("alice").await;
    let mut form = SETOSA.to_vec();
    form[1].1 = "abc";
    form[2].1 = "99";
    form.push(("input[colour]", "blue"));

    let location = predict(&alice, &sepal, &form).await;
    assert!(location.starts_with("/predict?"), "{location}");
    let (status, page) = get(&alice, &sepal, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Sepal width: must be a number, in cm"),
        "{page}"
    );
    assert!(page.contains("Petal length: must be between 0.1 and 15 cm; got 99"));
    assert!(page.contains("value=\"abc\""), "what was typed stays");
    let (_, history) = get(&alice, &sepal, "/history").await;
    assert!(history.contains("0 in all"), "{history}");

    // Without a session there is no prediction either.
    let stranger = Browser::new();
    let response = post_form(&stranger, &sepal, "/fn/predict", &SETOSA).await;
    assert!(
        matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FOUND
        ),
        "{}",
        response.status()
    );
    let answer = stranger
        .client
        .post(format!("{}/fn/predict", sepal.url))
        .header(header::ORIGIN, &sepal.url)
        .header(header::ACCEPT, "application/json")
        .form(&SETOSA)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let (_, history) = get(&alice, &sepal, "/history").await;
    assert!(history.contains("0 in all"));
}

#[tokio::test]
async fn history_pages_filters_exports_and_delete_all() {
    // 130 predictions in a row are over the default rate limits.
    let sepal = TestApp::new().rate_limits(0, 0, 100).start().await;
    let alice = sepal.signed_in_browser("alice").await;
    for n in 0..130 {
        let form = if n % 13 < 9 { SETOSA } else { VIRGINICA };
        predict(&alice, &sepal, &form).await;
    }

    // Newest first, 50 a page, through the links each page hands out.
    let (status, first) = get(&alice, &sepal, "/history").await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("130 in all"));
    assert_eq!(rows(&first), 50);
    assert_eq!(link(&first, "prev"), None);
    let second_url = link(&first, "next").unwrap();
    let (_, second) = get(&alice, &sepal, &second_url).await;
    assert_eq!(rows(&second), 50);
    let (_, third) = get(&alice, &sepal, &link(&second, "next").unwrap()).await;
    assert_eq!(rows(&third), 30);
    assert_eq!(link(&third, "next"), None);
    let (_, back) = get(&alice, &sepal, &link(&third, "prev").unwrap()).await;
    assert_eq!(rows(&back), 50);
    assert_eq!(link(&back, "next"), Some(link(&second, "next").unwrap()));

    // The filter: 40 virginica, and the cursor links keep it.
    let (_, virginica) = get(&alice, &sepal, "/history?class=virginica").await;
    assert_eq!(rows(&virginica), 40);
    assert!(!virginica.contains("<td>Iris setosa</td>"));
    assert_eq!(link(&virginica, "next"), None);

    for bad in ["/history?cursor=zzz", "/history?class=rose"] {
        let (status, page) = get(&alice, &sepal, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.contains("Start from your newest predictions"), "{bad}");
    }

    // Exports: everything, over more than one store page, newest first.
    let json = alice
        .client
        .get(format!("{}/history/export.json", sepal.url))
        .send()
        .await
        .unwrap();
    assert_eq!(json.headers()[header::CONTENT_TYPE], "application/json");
    let records: Vec<Value> = json.json().await.unwrap();
    assert_eq!(records.len(), 130);
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let csv = alice
        .client
        .get(format!("{}/history/export.csv", sepal.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 131);
    assert_eq!(
        lines[0],
        "id,created_at,class,p_setosa,p_versicolor,p_virginica,sepal_length,sepal_width,\
         petal_length,petal_width,model,model_version,model_sha256,latency_us,source"
    );
    assert!(lines[1].starts_with(ids[0]));

    // Another user's exports hold none of it; signed out, there is no export.
    let bob = sepal.signed_in_browser("bob").await;
    let (_, bobs) = get(&bob, &sepal, "/history/export.json").await;
    assert_eq!(bobs.trim(), "[\n]");
    let (status, _) = get(&Browser::new(), &sepal, "/history/export.csv").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Delete all asks first (a page), then deletes on POST only.
    let (status, confirm) = get(&alice, &sepal, "/history/delete-all").await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("All 130 of your predictions will be deleted"));
    let deleted = post_form(&alice, &sepal, "/fn/delete_history", &[]).await;
    assert_eq!(deleted.status(), StatusCode::FOUND);
    let (_, empty) = get(&alice, &sepal, "/history").await;
    assert!(empty.contains("0 in all") && empty.contains("No predictions yet"));
}

#[tokio::test]
async fn the_model_card_is_public_and_protected_pages_ask_to_sign_in() {
    let sepal = TestApp::new().start().await;
    let stranger = Browser::new();
    let (status, card) = get(&stranger, &sepal, "/model").await;
    assert_eq!(status, StatusCode::OK);
    assert!(card.contains("Confusion matrix") && card.contains("Iris versicolor"));
    for path in ["/predict", "/history", "/history/delete-all"] {
        let (status, _) = get(&stranger, &sepal, path).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
    }
}

#[tokio::test]
async fn a_signed_in_user_is_rate_limited_on_the_pages_too() {
    let sepal = TestApp::new().rate_limits(0, 1, 3).start().await;
    let alice = sepal.signed_in_browser("alice").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&alice, &sepal, "/history").await.0);
    }
    // The burst of three, then one a second.
    assert_eq!(statuses[..3], [StatusCode::OK; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    // Others are not held back.
    let bob = sepal.signed_in_browser("bob").await;
    assert_eq!(get(&bob, &sepal, "/history").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_folder_made_by_model_init_serves_its_form_result_and_card() {
    // An SVC with text labels behind a scaler, with ZipMap: skl2onnx's
    // default export, made into a folder by `sepal model init` alone.
    let work = tempfile::tempdir().unwrap();
    let suite = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/suite");
    let columns = [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ];
    let csv = common::suite_csv("iris_svc_zipmap", work.path(), &columns, Some("class"));
    let out = work.path().join("flowers");
    server::model_folder::init(&server::model_folder::Init {
        onnx: &suite.join("iris_svc_zipmap/model.onnx"),
        data: &csv,
        target: Some("class"),
        name: "flowers",
        version: "1.0.0",
        out: &out,
    })
    .unwrap();

    let sepal = TestApp::new().model(&out).start().await;
    let alice = sepal.signed_in_browser("alice").await;
    let (status, form) = get(&alice, &sepal, "/predict").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Predict: Flowers"), "{form}");
    assert!(
        form.contains("sepal length (cm)") && form.contains("name=\"input[petal_width_cm]\""),
        "{form}"
    );
    assert!(form.contains("Typical Virginica"), "{form}");

    let location = predict(
        &alice,
        &sepal,
        &[
            ("input[sepal_length_cm]", "6.8"),
            ("input[sepal_width_cm]", "3.0"),
            ("input[petal_length_cm]", "5.5"),
            ("input[petal_width_cm]", "2.1"),
        ],
    )
    .await;
    assert!(location.starts_with("/predict?result="), "{location}");
    let (status, page) = get(&alice, &sepal, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Most likely <strong data-testid=\"answer\">Virginica</strong>"),
        "{page}"
    );
    assert!(page.contains("class=\"you\""), "the plot marks the input");

    let (status, card) = get(&alice, &sepal, "/model").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        card.contains("100.0 % of 32 samples: the rows of data.csv"),
        "{card}"
    );
    assert!(card.contains("Confusion matrix"), "{card}");
}

#[tokio::test]
async fn the_regression_model_shows_its_value_plot_history_card_and_export() {
    // models/diabetes: a GradientBoostingRegressor made into a folder by
    // `sepal model init` alone (`make model`).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/diabetes");
    let sepal = TestApp::new().model(&dir).start().await;
    let alice = sepal.signed_in_browser("alice").await;
    let (status, form) = get(&alice, &sepal, "/predict").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Predict: Diabetes"), "{form}");
    assert!(form.contains("Body mass index (kg/m²)"), "{form}");
    assert!(form.contains(">Median</a>"), "{form}");

    let row = [
        ("input[age_years]", "50"),
        ("input[sex]", "1"),
        ("input[body_mass_index_kg_m]", "32.1"),
        ("input[blood_pressure_mm_hg]", "101"),
        ("input[total_cholesterol_mg_dl]", "157"),
        ("input[ldl_cholesterol_mg_dl]", "93.2"),
        ("input[hdl_cholesterol_mg_dl]", "38"),
        ("input[total_over_hdl_cholesterol]", "4"),
        ("input[log_of_triglycerides]", "4.8598"),
        ("input[blood_sugar_mg_dl]", "87"),
    ];
    let location = predict(&alice, &sepal, &row).await;
    assert!(location.starts_with("/predict?result="), "{location}");
    let (_, page) = get(&alice, &sepal, &location).await;
    let value: f64 = page
        .split("Disease progression after one year: <strong data-testid=\"answer\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("no value on the result: {page}"));
    assert!((25.0..=346.0).contains(&value), "{value}");
    assert!(page.contains("ranged from 25 to 346"), "{page}");
    assert!(
        page.contains("Your prediction"),
        "the plot marks the prediction"
    );
    assert!(!page.contains("Probability of each class"), "{page}");

    let (_, history) = get(&alice, &sepal, "/history").await;
    assert_eq!(rows(&history), 1);
    assert!(
        history.contains(">Disease progression after one year</th>"),
        "{history}"
    );
    assert!(
        !history.contains("id=\"class\""),
        "no class filter: {history}"
    );
    let (status, _) = get(&alice, &sepal, "/history?class=anything").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let id = location.trim_start_matches("/predict?result=");
    let (_, record) = get(&alice, &sepal, &format!("/history/{id}")).await;
    assert!(
        record.contains(&format!("Disease progression after one year: {value}")),
        "{record}"
    );

    let (_, csv) = get(&alice, &sepal, "/history/export.csv").await;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,created_at,value,age_years,sex,"),
        "{csv}"
    );
    // The export keeps the value whole; the page rounds it.
    let exported: f64 = lines
        .next()
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (exported - value).abs() < 0.05,
        "{exported} shown as {value}"
    );

    let (_, card) = get(&alice, &sepal, "/model").await;
    assert!(
        card.contains(
            "Disease progression after one year, a number (in the training data 25 to 346)"
        ),
        "{card}"
    );
    assert!(card.contains("R² 0.799, on 442 samples"), "{card}");
    assert!(!card.contains("Confusion matrix"), "{card}");
}
