-- v11: a group's key schedule v2 state and its bookkeeping leave its chat_groups row
-- (issue 16/13). Both grow with the group (tens of KiB at 1000 members) and change only
-- with a key event, a heal or a join, while the row's small columns (clock, history,
-- sender state, lease) change with every message; sqlite rewrites a whole record, its
-- overflow pages included, on any update of it, so every message paid for the
-- schedule's size. group_keys holds them, written only when they change (an ordinary
-- rowid table: its rows are far larger than WITHOUT ROWID suits). The old columns are
-- dropped.
CREATE TABLE group_keys (
	group_id   BLOB NOT NULL PRIMARY KEY REFERENCES chat_groups (id) ON DELETE CASCADE,
	schedule   BLOB,
	epoch_meta BLOB
);
INSERT INTO group_keys (group_id, schedule, epoch_meta)
	SELECT id, schedule, epoch_meta FROM chat_groups WHERE schedule IS NOT NULL OR epoch_meta IS NOT NULL;
ALTER TABLE chat_groups DROP COLUMN schedule;
ALTER TABLE chat_groups DROP COLUMN epoch_meta;
