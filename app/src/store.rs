//! What Sepal keeps: prediction records and sign-in sessions, and the
//! `Store` port the server's backends (SQLite, DynamoDB) implement.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The most records one page of history holds.
pub const MAX_PAGE_SIZE: usize = 100;

/// Where a prediction was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Web,
    Api,
}

impl Source {
    /// The name records carry, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Web => "web",
            Source::Api => "api",
        }
    }
}

/// The model that made a prediction, as its manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// One stored prediction. The data is its owner's: who, when, which model,
/// what went in and what came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    /// A ULID: unique, and ordered by creation time.
    pub id: String,
    /// The signed-in user: their provider's issuer and subject.
    pub owner: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub model: ModelRef,
    /// Feature name → value, as validated and given to the model.
    pub inputs: BTreeMap<String, f32>,
    /// What the model answered.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Time spent running the model, in microseconds.
    pub latency_us: u64,
    pub source: Source,
    /// The client's `Idempotency-Key`, when it sent one (for the rows of a
    /// batch after the first: the key, `#`, and the row's position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// On the first row of a batch sent with an idempotency key: how many
    /// rows the batch had, so that a retry is told apart from another batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_rows: Option<u32>,
}

/// What the model answered for a record: in JSON, `class` and
/// `probabilities` for a classifier, `value` for a regressor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome {
    Class {
        /// Name of the predicted class.
        class: String,
        /// Class name → probability.
        probabilities: BTreeMap<String, f32>,
    },
    /// The predicted value, in the target's unit.
    Value { value: f32 },
}

impl PredictionRecord {
    /// The predicted class, for a classifier's record.
    pub fn class(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Class { class, .. } => Some(class),
            Outcome::Value { .. } => None,
        }
    }
}

/// Where a page of history starts: just older or just newer than a record.
/// Its text form is opaque to users; it only ever comes from a previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The records older than this id.
    Before(String),
    /// The records newer than this id.
    After(String),
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cursor::Before(id) => write!(f, "o{id}"),
            Cursor::After(id) => write!(f, "n{id}"),
        }
    }
}

/// A cursor that no page handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a page cursor; use the links of a previous page")]
pub struct InvalidCursor(pub String);

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor(text.chars().take(40).collect());
        let (kind, id) = text.split_at_checked(1).ok_or_else(invalid)?;
        // A ULID: 26 characters of Crockford's base32.
        let is_ulid = id.len() == 26
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)));
        match kind {
            "o" if is_ulid => Ok(Cursor::Before(id.to_owned())),
            "n" if is_ulid => Ok(Cursor::After(id.to_owned())),
            _ => Err(invalid()),
        }
    }
}

/// Which part of a user's history to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub cursor: Option<Cursor>,
    /// Only records of this predicted class.
    pub class: Option<String>,
    limit: usize,
}

impl ListQuery {
    /// A query for at most `limit` records, kept within 1 to [`MAX_PAGE_SIZE`].
    pub fn new(cursor: Option<Cursor>, limit: usize, class: Option<String>) -> Self {
        ListQuery {
            cursor,
            class,
            limit: limit.clamp(1, MAX_PAGE_SIZE),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// One page of a user's history, newest first, with the cursors of its
/// neighbours when there are any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub records: Vec<PredictionRecord>,
    /// Cursor of the page of newer records.
    pub newer: Option<String>,
    /// Cursor of the page of older records.
    pub older: Option<String>,
}

/// The outcome of an idempotent put.
#[derive(Debug, Clone, PartialEq)]
pub enum Put {
    /// The record was stored.
    Created,
    /// The owner already used this idempotency key; here is that record.
    Existing(Box<PredictionRecord>),
}

/// A server-side sign-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The opaque id its cookie carries.
    pub id: String,
    /// Whatever the session layer keeps, serialized.
    pub data: String,
    pub expires_at: OffsetDateTime,
}

/// Why the store could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A put found a record with the same id: nothing was overwritten.
    #[error("a record with this id already exists")]
    Conflict,
    /// The backend did not answer, or not in time; nothing was written.
    #[error("the store is unavailable ({0}); try again shortly")]
    Unavailable(String),
    /// The backend answered with something unexpected.
    #[error("the store failed: {0}")]
    Backend(String),
}

/// Storage for predictions and sessions. Every method is one request's worth
/// of work whose cost does not grow with the size of the user's history.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Stores a new record; never overwrites one with the same id
    /// ([`StoreError::Conflict`]). With an idempotency key, a second put by
    /// the same owner and key stores nothing and returns the first record.
    async fn put_prediction(&self, record: &PredictionRecord) -> Result<Put, StoreError>;

    /// The record with this id, if `owner` owns it.
    async fn get_prediction(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<PredictionRecord>, StoreError>;

    /// A page of `owner`'s records, newest first.
    async fn list_predictions(&self, owner: &str, query: &ListQuery) -> Result<Page, StoreError>;

    /// Deletes one of `owner`'s records; false if there was none.
    async fn delete_prediction(&self, owner: &str, id: &str) -> Result<bool, StoreError>;

    /// Deletes all of `owner`'s records; returns how many.
    async fn delete_all_predictions(&self, owner: &str) -> Result<u64, StoreError>;

    /// How many records `owner` has.
    async fn count_predictions(&self, owner: &str) -> Result<u64, StoreError>;

    /// Creates a session; [`StoreError::Conflict`] if its id is taken.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;

    /// Replaces a session. Does nothing when there is none: a request still
    /// in flight after sign-out must not bring the session back.
    async fn save_session(&self, session: &Session) -> Result<(), StoreError>;

    /// The session with this id, unless it is missing or expired.
    async fn load_session(&self, id: &str) -> Result<Option<Session>, StoreError>;

    /// Deletes a session; deleting a missing one is not an error.
    async fn delete_session(&self, id: &str) -> Result<(), StoreError>;

    /// Deletes expired sessions, where the backend does not do it itself.
    async fn delete_expired_sessions(&self) -> Result<(), StoreError>;

    /// Whether the backend answers; for `/readyz`.
    async fn check(&self) -> Result<(), StoreError>;
}

/// Page bookkeeping both backends share: given the records a query read
/// (`limit + 1` at most, in the order read), the page and its cursors.
/// `newest_first` tells the read's order; a read after a cursor goes oldest
/// first and is reversed here.
pub fn page_from(
    mut records: Vec<PredictionRecord>,
    query: &ListQuery,
    newest_first: bool,
) -> Page {
    let more = records.len() > query.limit;
    records.truncate(query.limit);
    if !newest_first {
        records.reverse();
    }
    let (more_older, more_newer) = match query.cursor {
        None => (more, false),
        Some(Cursor::Before(_)) => (more, true),
        Some(Cursor::After(_)) => (true, more),
    };
    let cursor = |make: fn(String) -> Cursor, record: Option<&PredictionRecord>| {
        record.map(|r| make(r.id.clone()).to_string())
    };
    let older = match (&query.cursor, records.last()) {
        // Nothing newer any more (deleted): offer the way back.
        (Some(Cursor::After(id)), None) => Some(Cursor::Before(id.clone()).to_string()),
        (_, last) => more_older.then(|| cursor(Cursor::Before, last)).flatten(),
    };
    Page {
        newer: more_newer
            .then(|| cursor(Cursor::After, records.first()))
            .flatten(),
        older,
        records,
    }
}
