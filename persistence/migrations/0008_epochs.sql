-- v8: key schedule v2 (spec: protocol, "Key schedule v2 (epochs)"). chat_groups.schedule is
-- the group's epoch.Schedule (MarshalBinary; NULL for a group of the v1 schedule) and
-- epoch_meta the engine's bookkeeping of its frontier (departing events, recipients of each
-- frontier event, leaves no key event excluded yet). epoch_senders holds our sending chain
-- per (group, epoch) with its durable lease; epoch_receivers one receiver chain per
-- (group, epoch, sender installation). Chains of retired epochs are deleted.
ALTER TABLE chat_groups ADD COLUMN schedule BLOB;
ALTER TABLE chat_groups ADD COLUMN epoch_meta BLOB;
CREATE TABLE epoch_senders (
	group_id BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	epoch    BLOB NOT NULL,
	state    BLOB NOT NULL,
	lease    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (group_id, epoch)
);
CREATE TABLE epoch_receivers (
	group_id     BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	epoch        BLOB NOT NULL,
	installation BLOB NOT NULL,
	state        BLOB NOT NULL,
	PRIMARY KEY (group_id, epoch, installation)
);
