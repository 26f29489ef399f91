-- v15: the tables keyed by their primary key alone become WITHOUT ROWID (issue 16). As
-- rowid tables each kept its rows in one B-tree and its key in a second (the primary
-- key's index): every replay marker a receive writes dirtied two pages (two 4 KiB WAL
-- frames of a file store) and every chain read or written per message descended two
-- B-trees. Rows, keys and foreign keys are unchanged. epoch_skipped (already WITHOUT
-- ROWID) is rebuilt only because its foreign key names epoch_receivers: dropping the old
-- epoch_receivers with foreign keys on would delete its skipped keys (ON DELETE CASCADE),
-- so the new copy refers to the new table, and the rename of that table rewrites the
-- reference.
CREATE TABLE seen_v15 (
	hash    BLOB PRIMARY KEY,
	seen_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO seen_v15 (hash, seen_at) SELECT hash, seen_at FROM seen;
DROP TABLE seen;
ALTER TABLE seen_v15 RENAME TO seen;

CREATE TABLE sync_marks_v15 (
	topic     TEXT PRIMARY KEY,
	last_sync INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sync_marks_v15 (topic, last_sync) SELECT topic, last_sync FROM sync_marks;
DROP TABLE sync_marks;
ALTER TABLE sync_marks_v15 RENAME TO sync_marks;

CREATE TABLE epoch_senders_v15 (
	group_id BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	epoch    BLOB NOT NULL,
	state    BLOB NOT NULL,
	lease    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (group_id, epoch)
) WITHOUT ROWID;
INSERT INTO epoch_senders_v15 (group_id, epoch, state, lease) SELECT group_id, epoch, state, lease FROM epoch_senders;
DROP TABLE epoch_senders;
ALTER TABLE epoch_senders_v15 RENAME TO epoch_senders;

CREATE TABLE epoch_receivers_v15 (
	group_id     BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	epoch        BLOB NOT NULL,
	installation BLOB NOT NULL,
	state        BLOB NOT NULL,
	skipped      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (group_id, epoch, installation)
) WITHOUT ROWID;
INSERT INTO epoch_receivers_v15 (group_id, epoch, installation, state, skipped)
	SELECT group_id, epoch, installation, state, skipped FROM epoch_receivers;
CREATE TABLE epoch_skipped_v15 (
	group_id     BLOB NOT NULL,
	epoch        BLOB NOT NULL,
	installation BLOB NOT NULL,
	iteration    INTEGER NOT NULL,
	key          BLOB NOT NULL,
	PRIMARY KEY (group_id, epoch, installation, iteration),
	FOREIGN KEY (group_id, epoch, installation) REFERENCES epoch_receivers_v15 (group_id, epoch, installation) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO epoch_skipped_v15 (group_id, epoch, installation, iteration, key)
	SELECT group_id, epoch, installation, iteration, key FROM epoch_skipped;
DROP TABLE epoch_skipped;
DROP TABLE epoch_receivers;
ALTER TABLE epoch_receivers_v15 RENAME TO epoch_receivers;
ALTER TABLE epoch_skipped_v15 RENAME TO epoch_skipped;
