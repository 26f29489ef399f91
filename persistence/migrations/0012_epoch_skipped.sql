-- v12: the skipped keys of a v2 receiver chain leave its epoch_receivers row (issue 16).
-- The row was rewritten whole on every received message, with up to
-- epoch.MaxSkippedKeys (2000) keys of 36 bytes: on a lossy network every message paid
-- for the losses before it. epoch_skipped holds one row per skipped key (deleted when
-- used or evicted, in the transaction of the receive; with its chain); the chain row
-- keeps the chain's encoding without skipped keys (k = 0) and their count (skipped).
ALTER TABLE epoch_receivers ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
CREATE TABLE epoch_skipped (
	group_id     BLOB NOT NULL,
	epoch        BLOB NOT NULL,
	installation BLOB NOT NULL,
	iteration    INTEGER NOT NULL,
	key          BLOB NOT NULL,
	PRIMARY KEY (group_id, epoch, installation, iteration),
	FOREIGN KEY (group_id, epoch, installation) REFERENCES epoch_receivers (group_id, epoch, installation) ON DELETE CASCADE
) WITHOUT ROWID;
-- Existing chains: state is 0x43 || 0x01 || epoch(32) || installation(16) || u32 next ||
-- chain(32) || u16 k || k × (u32 iteration || key(32)); the u16 is at byte 87 (1-based),
-- entry j at 89 + 36j. Hex digits are read with instr (sqlite has no blob-to-integer).
WITH RECURSIVE
	chains(group_id, epoch, installation, state, k) AS (
		SELECT group_id, epoch, installation, state,
			(instr('0123456789ABCDEF', substr(hex(substr(state, 87, 2)), 1, 1)) - 1) * 4096 +
			(instr('0123456789ABCDEF', substr(hex(substr(state, 87, 2)), 2, 1)) - 1) * 256 +
			(instr('0123456789ABCDEF', substr(hex(substr(state, 87, 2)), 3, 1)) - 1) * 16 +
			(instr('0123456789ABCDEF', substr(hex(substr(state, 87, 2)), 4, 1)) - 1)
		FROM epoch_receivers WHERE length(state) > 88),
	entries(group_id, epoch, installation, state, k, j) AS (
		SELECT group_id, epoch, installation, state, k, 0 FROM chains WHERE k > 0
		UNION ALL
		SELECT group_id, epoch, installation, state, k, j + 1 FROM entries WHERE j + 1 < k)
INSERT INTO epoch_skipped (group_id, epoch, installation, iteration, key)
	SELECT group_id, epoch, installation,
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 1, 1)) - 1) * 268435456 +
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 2, 1)) - 1) * 16777216 +
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 3, 1)) - 1) * 1048576 +
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 4, 1)) - 1) * 65536 +
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 5, 1)) - 1) * 4096 +
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 6, 1)) - 1) * 256 +
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 7, 1)) - 1) * 16 +
		(instr('0123456789ABCDEF', substr(hex(substr(state, 89 + 36 * j, 4)), 8, 1)) - 1),
		substr(state, 93 + 36 * j, 32)
	FROM entries;
UPDATE epoch_receivers SET
	skipped = (SELECT count(*) FROM epoch_skipped s WHERE s.group_id = epoch_receivers.group_id
		AND s.epoch = epoch_receivers.epoch AND s.installation = epoch_receivers.installation),
	state = CAST(substr(state, 1, 86) || x'0000' AS BLOB) -- || gives TEXT
	WHERE length(state) > 88;
