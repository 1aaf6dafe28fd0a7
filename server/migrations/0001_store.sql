-- Prediction records, clustered by owner and id: a page of one user's
-- history is one range of this table whatever the table's size.
CREATE TABLE predictions (
    owner TEXT NOT NULL,
    id TEXT NOT NULL,                 -- ULID: sorts by creation time
    class TEXT NOT NULL,
    idempotency_key TEXT,
    record TEXT NOT NULL,             -- the whole record, JSON
    PRIMARY KEY (owner, id)
) WITHOUT ROWID;

CREATE INDEX predictions_by_class ON predictions (owner, class, id);

CREATE UNIQUE INDEX predictions_by_idempotency_key
    ON predictions (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Each owner's record count, kept by triggers so counting costs one lookup.
CREATE TABLE prediction_counts (
    owner TEXT PRIMARY KEY,
    count INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER predictions_counted_on_insert AFTER INSERT ON predictions
BEGIN
    INSERT INTO prediction_counts (owner, count) VALUES (NEW.owner, 1)
    ON CONFLICT (owner) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER predictions_counted_on_delete AFTER DELETE ON predictions
BEGIN
    UPDATE prediction_counts SET count = count - 1 WHERE owner = OLD.owner;
END;

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expires_at INTEGER NOT NULL       -- Unix seconds, UTC
) WITHOUT ROWID;

CREATE INDEX sessions_by_expiry ON sessions (expires_at);
