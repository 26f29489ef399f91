-- v4: durable send leases and pending accounting (spec: persistence, "Durability"). sender_lease is the
-- iteration of our sender key (chat_groups.sender) up to which iterations are reserved:
-- a restart that may have lost commits resumes at it, so no iteration is sealed twice.
-- A new sender key starts with lease 0.
ALTER TABLE chat_groups ADD COLUMN sender_lease INTEGER NOT NULL DEFAULT 0;
-- The same for the sending chain of a Double Ratchet session: message numbers below
-- send_lease of the chain of our ratchet key lease_key are reserved.
ALTER TABLE sessions ADD COLUMN send_lease INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN lease_key BLOB;

-- Pending envelopes are accounted per claimed sender (spec: protocol, "Delivery"): the
-- sender-key id a group message names, or the installation of an inbox session.
ALTER TABLE pending ADD COLUMN claim BLOB NOT NULL DEFAULT x'';
ALTER TABLE pending ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE pending SET size = LENGTH(payload);
CREATE INDEX pending_usage ON pending (claim, size);
