-- v9: the membership event log of a group leaves its chat_groups row (issue 13). A row of
-- chat_groups is rewritten whole by any update of it (sqlite), so with the log inside it
-- every message paid for the log's size. group_log holds the log as chunks whose
-- concatenation in seq order is the stored log (a membership.Message encoding): a new
-- event is appended as one more chunk, a log written whole is one chunk.
-- chat_groups.events stays, always NULL.
CREATE TABLE group_log (
	group_id BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	seq      INTEGER NOT NULL,
	chunk    BLOB NOT NULL,
	PRIMARY KEY (group_id, seq)
);
INSERT INTO group_log (group_id, seq, chunk)
	SELECT id, 0, events FROM chat_groups WHERE events IS NOT NULL AND length(events) > 0;
UPDATE chat_groups SET events = NULL;
