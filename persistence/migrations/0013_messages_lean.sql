-- v13: messages rebuilt lean (issue 16). Every message stored bound and wrote three
-- things nothing reads: history_entry (its installation and the first 16 bytes of its id,
-- found through the id index since v10, never read back), the AUTOINCREMENT of seq (a
-- read and a write of sqlite_sequence per insert; messages are never deleted, so the
-- rowid's max + 1 gives the same numbers) and the foreign key to chat_groups (a lookup
-- per insert; groups are never deleted). seq, ids and every other column keep their
-- values.
CREATE TABLE messages_lean (
	seq                 INTEGER PRIMARY KEY,
	id                  BLOB NOT NULL UNIQUE,
	group_id            BLOB NOT NULL,
	sender_account      TEXT NOT NULL,
	sender_installation BLOB NOT NULL,
	clock               INTEGER NOT NULL,
	timestamp           INTEGER NOT NULL,
	received_at         INTEGER NOT NULL,
	outgoing            INTEGER NOT NULL,
	status              INTEGER NOT NULL,
	type                INTEGER NOT NULL,
	body                BLOB NOT NULL
);
INSERT INTO messages_lean (seq, id, group_id, sender_account, sender_installation, clock, timestamp, received_at, outgoing, status, type, body)
	SELECT seq, id, group_id, sender_account, sender_installation, clock, timestamp, received_at, outgoing, status, type, body FROM messages ORDER BY seq;
DROP TABLE messages;
ALTER TABLE messages_lean RENAME TO messages;
CREATE INDEX messages_group ON messages (group_id, seq);
