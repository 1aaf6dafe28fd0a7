//! The store backends and how `SEPAL_STORE` picks one.

mod dynamo;
mod sqlite;

use std::{fmt, path::PathBuf, str::FromStr, sync::Arc};

use app::store::{Store, StoreError};

pub use dynamo::DynamoStore;
pub use sqlite::SqliteStore;

/// Where records live: `sqlite://PATH` (a file, created on first start) or
/// `dynamodb://TABLE` (with the standard AWS configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(PathBuf),
    Dynamo(String),
}

impl FromStr for StoreUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if let Some(path) = url.strip_prefix("sqlite://").filter(|p| !p.is_empty()) {
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        // DynamoDB's rule for table names: 3 to 255 of [A-Za-z0-9_.-].
        let is_table = |t: &str| {
            (3..=255).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        };
        match url.strip_prefix("dynamodb://") {
            Some(table) if is_table(table) => Ok(StoreUrl::Dynamo(table.to_owned())),
            _ => Err(format!(
                "`{url}` is not a store: use sqlite://PATH (e.g. sqlite://data/sepal.db) \
                 or dynamodb://TABLE"
            )),
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            StoreUrl::Dynamo(table) => write!(f, "dynamodb://{table}"),
        }
    }
}

/// Opens the store. A SQLite file is created and migrated; a DynamoDB table
/// must exist (`sepal store init` creates one), but need not answer yet:
/// requests fail with 503 until it does, and `/readyz` says so.
pub async fn open(url: &StoreUrl) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match url {
        StoreUrl::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        StoreUrl::Dynamo(table) => Arc::new(DynamoStore::connect(table).await),
    })
}

/// `sepal store init`: makes the store ready to use. Returns what it did.
pub async fn init(url: &StoreUrl) -> Result<String, StoreError> {
    match url {
        StoreUrl::Sqlite(path) => {
            SqliteStore::open(path).await?;
            Ok(format!("{url} is ready (schema up to date)"))
        }
        StoreUrl::Dynamo(table) => {
            let store = DynamoStore::connect(table).await;
            Ok(if store.create_table().await? {
                format!(
                    "created DynamoDB table {table} (keys PK/SK, index by_class, TTL on expires_at)"
                )
            } else {
                format!("DynamoDB table {table} already exists; left as it is")
            })
        }
    }
}
