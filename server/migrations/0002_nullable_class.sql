-- A regressor's records have no class: the class column becomes nullable
-- (SQLite changes a column's constraints only by rebuilding its table).
-- Dropping the old table drops its indexes and triggers; the copy fires
-- none, so the counts stay as they are.
CREATE TABLE predictions_new (
    owner TEXT NOT NULL,
    id TEXT NOT NULL,                 -- ULID: sorts by creation time
    class TEXT,                       -- NULL for a regressor's record
    idempotency_key TEXT,
    record TEXT NOT NULL,             -- the whole record, JSON
    PRIMARY KEY (owner, id)
) WITHOUT ROWID;

INSERT INTO predictions_new (owner, id, class, idempotency_key, record)
    SELECT owner, id, class, idempotency_key, record FROM predictions;

DROP TABLE predictions;

ALTER TABLE predictions_new RENAME TO predictions;

CREATE INDEX predictions_by_class ON predictions (owner, class, id);

CREATE UNIQUE INDEX predictions_by_idempotency_key
    ON predictions (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TRIGGER predictions_counted_on_insert AFTER INSERT ON predictions
BEGIN
    INSERT INTO prediction_counts (owner, count) VALUES (NEW.owner, 1)
    ON CONFLICT (owner) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER predictions_counted_on_delete AFTER DELETE ON predictions
BEGIN
    UPDATE prediction_counts SET count = count - 1 WHERE owner = OLD.owner;
END;
