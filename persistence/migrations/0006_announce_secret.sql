-- v6: announcement secrets and contact names (spec: protocol, "Identities", "Announcement";
-- "Multi-device", "Contact sync"). The account's announcement secret, when its next
-- scheduled announcement is due and whether the secret went to its added contacts; per
-- contact our local name, the name's Lamport clock and the contact's announcement secret.
ALTER TABLE account ADD COLUMN announce_secret BLOB;
ALTER TABLE account ADD COLUMN next_announce INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account ADD COLUMN secret_shared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN name_clock INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN announce_secret BLOB;
