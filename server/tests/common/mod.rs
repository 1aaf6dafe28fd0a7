//! What the tests and benches share: DynamoDB Local clients.
#![allow(dead_code, clippy::unwrap_used)] // each test crate uses its own part

use server::store::DynamoStore;

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
