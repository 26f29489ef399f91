-- v5: installation bindings (spec: protocol, "Identities"). binding is the installation's
-- signature binding it to its account; NULL while not known.
ALTER TABLE installations ADD COLUMN binding BLOB;
