-- v3: multi-device. The account row of a linked installation has no private key (an
-- empty blob); while waiting to be linked it has no public key either. device_list is
-- our account's newest signed device list; link_secret / link_until describe a link in
-- progress. Installations of our own account carry their metadata (name, platform, when
-- added), which only ever travels encrypted between the account's installations.
ALTER TABLE account ADD COLUMN public_key BLOB;
ALTER TABLE account ADD COLUMN device_list BLOB;
ALTER TABLE account ADD COLUMN link_secret BLOB;
ALTER TABLE account ADD COLUMN link_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE installations ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN platform TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0;
