-- v7: per-message inbox hints (spec: protocol, "Pairwise messages (inbox)", Hint chain).
-- hint_chain is the session's hint chain state (protocol's encoding); NULL for a session
-- stored before: it keeps its constant hints until a new session replaces it.
ALTER TABLE sessions ADD COLUMN hint_chain BLOB;
