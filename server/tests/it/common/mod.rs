//! What the integration tests share: [`TestApp`](test_app::TestApp) and
//! its browser, the OpenID providers (in process, or the real local one),
//! test keys, DynamoDB Local clients and records.
#![allow(clippy::unwrap_used)]

pub mod browser;
pub mod issuer;
pub mod keys;
pub mod test_app;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use serde_json::Value;

use app::store::{ModelRef, Outcome, PredictionRecord, Source};
use server::store::DynamoStore;
use time::OffsetDateTime;
use ulid::Ulid;

pub const CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// The n-th record of `owner`, of `class`: ids grow with n, so a higher n is newer.
pub fn record(owner: &str, n: u64, class: &str) -> PredictionRecord {
    let created_at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
        + time::Duration::milliseconds(i64::try_from(n).unwrap());
    let ms = u64::try_from(created_at.unix_timestamp_nanos() / 1_000_000).unwrap();
    PredictionRecord {
        id: Ulid::from_parts(ms, Ulid::new().random()).to_string(),
        owner: owner.to_owned(),
        created_at,
        model: ModelRef {
            name: "iris".into(),
            version: "1.0.0".into(),
            sha256: "ab".repeat(32),
        },
        inputs: BTreeMap::from([
            ("sepal_length".into(), 5.1),
            ("sepal_width".into(), 3.5),
            ("petal_length".into(), 1.4),
            ("petal_width".into(), 0.2),
        ]),
        outcome: Outcome::Class {
            class: class.to_owned(),
            probabilities: CLASSES
                .iter()
                .map(|c| ((*c).to_owned(), if *c == class { 0.9 } else { 0.05 }))
                .collect(),
        },
        latency_us: 3,
        source: Source::Web,
        idempotency_key: None,
        batch_rows: None,
    }
}

/// The URL of the DynamoDB Local that `make unit` starts (scripts/with-dynamodb-local.sh).
/// Refuses anything else, so tests never touch a real AWS account.
pub fn dynamodb_url() -> String {
    let url = std::env::var("SEPAL_TEST_DYNAMODB").unwrap_or_default();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "SEPAL_TEST_DYNAMODB must be the URL of a DynamoDB Local on 127.0.0.1 (got `{url}`); \
         `make unit` starts one"
    );
    url
}

/// A store on `table` of the DynamoDB at `url`, with the credentials
/// DynamoDB Local accepts. The table is not created.
pub async fn dynamo_at(url: &str, table: &str) -> DynamoStore {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ));
    DynamoStore::with_config(&DynamoStore::config(loader).await, table)
}

/// The local OpenID provider (end2end/oidc/provider.mjs) on a port of its
/// own, with a signing key in a temporary folder; stopped when dropped.
pub struct Provider {
    child: std::process::Child,
    pub issuer: String,
    port: u16,
    app_url: String,
    keys: tempfile::TempDir,
}

impl Provider {
    /// Starts the provider for a Sepal reachable at `app_url`.
    pub fn start(app_url: &str) -> Provider {
        let keys = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Self::spawn(port, app_url, keys.path());
        Provider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            port,
            app_url: app_url.to_owned(),
            keys,
        }
    }

    /// Restarts the provider on the same address with a new signing key, as
    /// a key rotation does.
    pub fn restart_with_a_new_key(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        fs::remove_file(self.keys.path().join("keys.json")).unwrap();
        self.child = Self::spawn(self.port, &self.app_url, self.keys.path());
    }

    fn spawn(port: u16, app_url: &str, keys: &Path) -> std::process::Child {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/provider.mjs");
        let child = std::process::Command::new("node")
            .arg(script)
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_KEY_FILE", keys.join("keys.json"))
            .env("OIDC_APP_URLS", app_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs end2end/oidc/provider.mjs (run `npm --prefix end2end ci`)");
        wait_for_port(port);
        child
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "nothing listens on port {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A suite model's rows as a CSV under the header `columns`, with
/// onnxruntime's answer for each row (a classifier's class, a regressor's
/// value) as a last column named `target` when one is given.
pub fn suite_csv(suite_name: &str, dir: &Path, columns: &[&str], target: Option<&str>) -> PathBuf {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/suite");
    let expected: Value =
        serde_json::from_slice(&fs::read(suite.join(suite_name).join("expected.json")).unwrap())
            .unwrap();
    let mut text = columns.join(",");
    if let Some(target) = target {
        text.push_str(&format!(",{target}"));
    }
    text.push('\n');
    let answers = expected
        .get("labels")
        .or_else(|| expected.get("values"))
        .unwrap();
    for (row, answer) in expected["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(answers.as_array().unwrap())
    {
        let values: Vec<String> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        text.push_str(&values.join(","));
        if target.is_some() {
            match answer {
                Value::String(label) => text.push_str(&format!(",{label}")),
                // A regressor's value may be `[v]`, one per target.
                Value::Array(values) => text.push_str(&format!(",{}", values[0])),
                answer => text.push_str(&format!(",{answer}")),
            }
        }
        text.push('\n');
    }
    let path = dir.join("data.csv");
    fs::write(&path, text).unwrap();
    path
}
