-- v4: durable send leases (spec: persistence, "Durability"). sender_lease is the
-- iteration of our sender key (chat_groups.sender) up to which iterations are reserved:
-- a restart that may have lost commits resumes at it, so no iteration is sealed twice.
-- A new sender key starts with lease 0.
ALTER TABLE chat_groups ADD COLUMN sender_lease INTEGER NOT NULL DEFAULT 0;
