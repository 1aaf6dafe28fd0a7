//! tower-sessions' storage on the application's [`Store`]: sessions live
//! where the records do (SQLite, or DynamoDB shared by every instance), so a
//! restart or another instance signs nobody out.

use std::{fmt, sync::Arc};

use app::store::{Session as StoredSession, Store, StoreError};
use async_trait::async_trait;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

#[derive(Clone)]
pub struct StoreSessions(Arc<dyn Store>);

impl StoreSessions {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreSessions(store)
    }
}

impl fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreSessions")
    }
}

#[async_trait]
impl SessionStore for StoreSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        loop {
            match self.0.create_session(&stored(record)?).await {
                // 128 random bits: a clash is next to impossible, but never reuse an id.
                Err(StoreError::Conflict) => record.id = Id::default(),
                other => return other.map_err(|e| Error::Backend(e.to_string())),
            }
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.0
            .save_session(&stored(record)?)
            .await
            .map_err(|e| Error::Backend(e.to_string()))
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(session) = self
            .0
            .load_session(&id.to_string())
            .await
            .map_err(|e| Error::Backend(e.to_string()))?
        else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&session.data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date: session.expires_at,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.0
            .delete_session(&id.to_string())
            .await
            .map_err(|e| Error::Backend(e.to_string()))
    }
}

fn stored(record: &Record) -> Result<StoredSession> {
    Ok(StoredSession {
        id: record.id.to_string(),
        data: serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?,
        expires_at: record.expiry_date,
    })
}
