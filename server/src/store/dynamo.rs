//! The store on DynamoDB: one table, keys by access pattern.
//!
//! | item | PK | SK | more |
//! |---|---|---|---|
//! | prediction | `USER#<owner>` | `PRED#<id>` | `LSI1SK = CLASS#<class>#<id>` (classifiers' records), the record's fields |
//! | record count | `USER#<owner>` | `COUNT` | `n` |
//! | idempotency key | `USER#<owner>` | `IDEM#<key>` | `id` of the record |
//! | session | `SESSION#<id>` | `SESSION` | `data`, `expires_at` (the TTL attribute) |
//!
//! Every read is a GetItem or a Query on one partition (never a Scan), so
//! its cost does not depend on how many records there are. Writes that must
//! go together (a record, its count, its idempotency key) are one transaction.

use std::{collections::HashMap, time::Duration};

use app::store::{
    Cursor, ListQuery, Page, PredictionRecord, Put as Outcome, Session, Store, StoreError,
    page_from,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client,
    client::Waiters as _,
    config::http::HttpResponse,
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    operation::{
        put_item::{PutItemError, PutItemOutput},
        transact_write_items::TransactWriteItemsError,
    },
    types::{
        AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType,
        LocalSecondaryIndex, Projection, ProjectionType, Put, ScalarAttributeType,
        TimeToLiveSpecification, TransactWriteItem, Update,
    },
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use time::OffsetDateTime;

type Item = HashMap<String, AttributeValue>;

/// The local secondary index for a class filter: same partition, sorted by class then id.
const BY_CLASS: &str = "by_class";
/// Transactions that lose a race for the same count item are retried this often.
const TRANSACTION_ATTEMPTS: u32 = 8;

pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, configured by the standard AWS chain (region,
    /// credentials, `AWS_ENDPOINT_URL_DYNAMODB`). The SDK retries throttling
    /// and transient errors; a request that cannot finish in 5 s fails.
    pub async fn connect(table: &str) -> Self {
        Self::with_config(
            &Self::config(aws_config::defaults(aws_config::BehaviorVersion::latest())).await,
            table,
        )
    }

    /// Sepal's timeouts on top of an AWS configuration being built.
    pub async fn config(loader: aws_config::ConfigLoader) -> aws_config::SdkConfig {
        loader
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(Duration::from_secs(2))
                    .operation_timeout(Duration::from_secs(5))
                    .build(),
            )
            .load()
            .await
    }

    pub fn with_config(config: &aws_config::SdkConfig, table: &str) -> Self {
        DynamoStore {
            client: Client::new(config),
            table: table.to_owned(),
        }
    }

    /// Creates the table (keys, class index, TTL on `expires_at`) unless it
    /// exists. For local servers; production tables come from the deploy template.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(backend)
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(backend)
        };
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => return Ok(false),
            Err(err) if err.code() == Some("ResourceNotFoundException") => {}
            Err(err) => return Err(sdk(err)),
        }
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("PK")?)
            .attribute_definitions(attribute("SK")?)
            .attribute_definitions(attribute("LSI1SK")?)
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(BY_CLASS)
                    .key_schema(key("PK", KeyType::Hash)?)
                    .key_schema(key("LSI1SK", KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await;
        match created {
            // In use: the SDK retried our own create after a slow answer.
            Ok(_) => {}
            Err(err) if err.code() == Some("ResourceInUseException") => {}
            Err(err) => return Err(sdk(err)),
        }
        // A new table is CREATING for a while; TTL can only be set once it is ACTIVE.
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(120))
            .await
            .map_err(|err| {
                StoreError::Unavailable(format!("DynamoDB: {}", DisplayErrorContext(&err)))
            })?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires_at")
                    .build()
                    .map_err(backend)?,
            )
            .send()
            .await
            .map_err(sdk)?;
        Ok(true)
    }

    async fn get_item(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk))
            .key("SK", AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?
            .item)
    }

    /// Runs a transaction, again when it lost a race with another one for the
    /// same item. `Ok(false)` when a condition failed; then `failed` names
    /// which items' conditions did.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        failed: &mut Vec<usize>,
    ) -> Result<bool, StoreError> {
        for attempt in 1..=TRANSACTION_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(true),
                Err(err) => err,
            };
            let reasons = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    e.cancellation_reasons()
                }
                _ => return Err(sdk(err)),
            };
            let code = |i: usize| reasons.get(i).and_then(|r| r.code());
            failed.clear();
            failed.extend((0..items.len()).filter(|&i| code(i) == Some("ConditionalCheckFailed")));
            if !failed.is_empty() {
                return Ok(false);
            }
            if !reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
            {
                return Err(sdk(err));
            }
            let jitter = rand::random_range(0..10 * u64::from(attempt));
            tokio::time::sleep(Duration::from_millis(5 + jitter)).await;
        }
        Err(StoreError::Unavailable(format!(
            "DynamoDB: a write lost {TRANSACTION_ATTEMPTS} races with concurrent writes"
        )))
    }

    async fn put_session(
        &self,
        session: &Session,
        condition: &str,
    ) -> Result<PutItemOutput, SdkError<PutItemError, HttpResponse>> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("PK", session_key(&session.id))
            .item("SK", AttributeValue::S("SESSION".into()))
            .item("data", AttributeValue::S(session.data.clone()))
            .item(
                "expires_at",
                AttributeValue::N(session.expires_at.unix_timestamp().to_string()),
            )
            .condition_expression(condition)
            .send()
            .await
    }

    fn count_update(&self, owner: &str, by: i64) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", user_key(owner))
            .key("SK", AttributeValue::S("COUNT".into()))
            .update_expression("ADD n :by")
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn delete(
        &self,
        owner: &str,
        sk: String,
        must_exist: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .key("PK", user_key(owner))
            .key("SK", AttributeValue::S(sk));
        if must_exist {
            delete = delete.condition_expression("attribute_exists(PK)");
        }
        Ok(TransactWriteItem::builder()
            .delete(delete.build().map_err(backend)?)
            .build())
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_prediction(&self, record: &PredictionRecord) -> Result<Outcome, StoreError> {
        let mut item: Item = to_item(record).map_err(backend)?;
        item.insert("PK".into(), user_key(&record.owner));
        item.insert("SK".into(), AttributeValue::S(prediction_sk(&record.id)));
        // A regressor's record has no class: it stays out of the (sparse) class index.
        if let Some(class) = record.class() {
            item.insert(
                "LSI1SK".into(),
                AttributeValue::S(class_sk(class, &record.id)),
            );
        }
        let mut items = vec![self.put_new(item)?, self.count_update(&record.owner, 1)?];
        if let Some(key) = &record.idempotency_key {
            items.push(self.put_new(HashMap::from([
                ("PK".into(), user_key(&record.owner)),
                ("SK".into(), AttributeValue::S(format!("IDEM#{key}"))),
                ("id".into(), AttributeValue::S(record.id.clone())),
            ]))?);
        }
        let mut failed = Vec::new();
        if self.transact(items, &mut failed).await? {
            return Ok(Outcome::Created);
        }
        let Some(key) = record
            .idempotency_key
            .as_ref()
            .filter(|_| failed.contains(&2))
        else {
            return Err(StoreError::Conflict);
        };
        let first_id = self
            .get_item(owner_pk(&record.owner), format!("IDEM#{key}"))
            .await?
            .and_then(|item| match item.get("id") {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .ok_or_else(|| StoreError::Backend(format!("idempotency key {key} has no record")))?;
        self.get_prediction(&record.owner, &first_id)
            .await?
            .map(|r| Outcome::Existing(Box::new(r)))
            .ok_or_else(|| StoreError::Backend(format!("record {first_id} is missing")))
    }

    async fn get_prediction(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<PredictionRecord>, StoreError> {
        self.get_item(owner_pk(owner), prediction_sk(id))
            .await?
            .map(|item| from_item(item).map_err(backend))
            .transpose()
    }

    async fn list_predictions(&self, owner: &str, query: &ListQuery) -> Result<Page, StoreError> {
        let (newest_first, from) = match &query.cursor {
            None => (true, None),
            Some(Cursor::Before(id)) => (true, Some(id)),
            Some(Cursor::After(id)) => (false, Some(id)),
        };
        // The page starts just past the cursor's record, which need not exist any more.
        let mut start = from.map(|id| {
            HashMap::from([
                ("PK".to_owned(), user_key(owner)),
                ("SK".to_owned(), AttributeValue::S(prediction_sk(id))),
            ])
        });
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", user_key(owner))
            .scan_index_forward(!newest_first)
            // One more than the page holds tells whether there is a next page.
            .limit(i32::try_from(query.limit() + 1).map_err(backend)?)
            .consistent_read(true);
        request = match &query.class {
            None => request
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S("PRED#".into())),
            Some(class) => {
                if let (Some(start), Some(id)) = (&mut start, from) {
                    start.insert("LSI1SK".into(), AttributeValue::S(class_sk(class, id)));
                }
                request
                    .index_name(BY_CLASS)
                    .key_condition_expression("PK = :pk AND begins_with(LSI1SK, :prefix)")
                    .expression_attribute_values(":prefix", AttributeValue::S(class_sk(class, "")))
            }
        };
        let records = request
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk)?
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item(item).map_err(backend))
            .collect::<Result<_, _>>()?;
        Ok(page_from(records, query, newest_first))
    }

    async fn delete_prediction(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        let Some(record) = self.get_prediction(owner, id).await? else {
            return Ok(false);
        };
        let mut items = vec![
            self.delete(owner, prediction_sk(id), true)?,
            self.count_update(owner, -1)?,
        ];
        if let Some(key) = &record.idempotency_key {
            items.push(self.delete(owner, format!("IDEM#{key}"), false)?);
        }
        self.transact(items, &mut Vec::new()).await
    }

    async fn delete_all_predictions(&self, owner: &str) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            // 48 records and their keys, and the count: within a transaction's 100 items.
            let found = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :pred)")
                .expression_attribute_values(":pk", user_key(owner))
                .expression_attribute_values(":pred", AttributeValue::S("PRED#".into()))
                .projection_expression("SK, idempotency_key")
                .consistent_read(true)
                .limit(48)
                .send()
                .await
                .map_err(sdk)?
                .items
                .unwrap_or_default();
            if found.is_empty() {
                return Ok(deleted);
            }
            let mut items =
                vec![self.count_update(owner, -i64::try_from(found.len()).map_err(backend)?)?];
            for item in &found {
                if let Some(AttributeValue::S(sk)) = item.get("SK") {
                    items.push(self.delete(owner, sk.clone(), true)?);
                }
                if let Some(AttributeValue::S(key)) = item.get("idempotency_key") {
                    items.push(self.delete(owner, format!("IDEM#{key}"), false)?);
                }
            }
            // A record deleted meanwhile fails its condition: read again.
            if self.transact(items, &mut Vec::new()).await? {
                deleted += found.len() as u64;
            }
        }
    }

    async fn count_predictions(&self, owner: &str) -> Result<u64, StoreError> {
        match self.get_item(owner_pk(owner), "COUNT".into()).await? {
            None => Ok(0),
            Some(item) => match item.get("n") {
                Some(AttributeValue::N(n)) => n.parse().map_err(backend),
                _ => Err(StoreError::Backend(format!(
                    "the count of {owner} is not a number"
                ))),
            },
        }
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        match self.put_session(session, "attribute_not_exists(PK)").await {
            Err(err) if is_condition_failure(&err) => Err(StoreError::Conflict),
            other => other.map(|_| ()).map_err(sdk),
        }
    }

    async fn save_session(&self, session: &Session) -> Result<(), StoreError> {
        match self.put_session(session, "attribute_exists(PK)").await {
            // Deleted meanwhile (signed out): stays deleted.
            Err(err) if is_condition_failure(&err) => Ok(()),
            other => other.map(|_| ()).map_err(sdk),
        }
    }

    async fn load_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let Some(item) = self
            .get_item(format!("SESSION#{id}"), "SESSION".into())
            .await?
        else {
            return Ok(None);
        };
        let (Some(AttributeValue::S(data)), Some(AttributeValue::N(expires_at))) =
            (item.get("data"), item.get("expires_at"))
        else {
            return Err(StoreError::Backend(format!("session {id} is malformed")));
        };
        let expires_at = expires_at
            .parse()
            .map_err(backend)
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).map_err(backend))?;
        // DynamoDB deletes expired items late (up to days): check here.
        Ok((expires_at > OffsetDateTime::now_utc()).then(|| Session {
            id: id.to_owned(),
            data: data.clone(),
            expires_at,
        }))
    }

    async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", session_key(id))
            .key("SK", AttributeValue::S("SESSION".into()))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// DynamoDB's TTL deletes them (late: reads filter them meanwhile).
    async fn delete_expired_sessions(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}

fn is_condition_failure(err: &SdkError<PutItemError, HttpResponse>) -> bool {
    matches!(
        err.as_service_error(),
        Some(PutItemError::ConditionalCheckFailedException(_))
    )
}

fn owner_pk(owner: &str) -> String {
    format!("USER#{owner}")
}

fn user_key(owner: &str) -> AttributeValue {
    AttributeValue::S(owner_pk(owner))
}

fn session_key(id: &str) -> AttributeValue {
    AttributeValue::S(format!("SESSION#{id}"))
}

fn prediction_sk(id: &str) -> String {
    format!("PRED#{id}")
}

fn class_sk(class: &str, id: &str) -> String {
    format!("CLASS#{class}#{id}")
}

/// Errors of the connection, timeouts, throttling and DynamoDB's own
/// failures mean the store is unavailable; the rest are ours.
fn sdk<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "ThrottlingException"
                    | "InternalServerError"
                    | "ServiceUnavailable"
            )
        ),
        _ => false,
    };
    let message = format!("DynamoDB: {}", DisplayErrorContext(&err));
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Backend(message)
    }
}

fn backend(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(err.to_string())
}
