-- v10: messages lose their index by causal-history entry (issue 16). An entry is the
-- sender installation and the first 16 bytes of the message id, so HasHistoryEntry finds
-- it as a range of the unique index of ids; the extra index was one more b-tree written
-- by every message stored (a random position: one more page per message in a batch's
-- commit). messages.history_entry stays, written as before.
DROP INDEX IF EXISTS messages_history;
