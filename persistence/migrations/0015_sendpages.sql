-- v16: the outbox loses its AUTOINCREMENT (issue 16): every send's record read and wrote
-- sqlite_sequence, a page of its own in the WAL of a file store. Ids are now assigned by
-- the store (outboxID: above every id it assigned since it opened and above every id
-- stored), so an id the process may still refer to (a claim, a deferred publish mark) is
-- never given to another record; an id deleted before the store opened may be given
-- again (nothing stored refers to outbox ids). A record queued as its message's only one
-- (sole: an ordinary group send's) stays out of outbox_message, now partial: its outcome
-- is its message's status, nothing looks it up by message, and its send and its publish
-- mark each write one page fewer. Rows and ids are unchanged; the records stored before
-- are not sole.
CREATE TABLE outbox_v16 (
	id           INTEGER PRIMARY KEY,
	message_id   BLOB,
	topic        TEXT NOT NULL,
	payload      BLOB NOT NULL,
	status       INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	sole         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_v16 (id, message_id, topic, payload, status, attempts, next_attempt, created_at)
	SELECT id, message_id, topic, payload, status, attempts, next_attempt, created_at FROM outbox ORDER BY id;
DROP TABLE outbox;
ALTER TABLE outbox_v16 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt);
CREATE INDEX outbox_message ON outbox (message_id) WHERE sole = 0;
