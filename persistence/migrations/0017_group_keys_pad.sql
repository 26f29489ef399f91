-- v18: group_keys gets a trailing column of zeros (pad, a zeroblob) that makes a large
-- row's size a multiple of groupKeysPadQuantum (groups.go, PutGroupKeys), so that the next
-- key event's rewrite of a group's keys usually has the same size (issue 13). sqlite
-- overwrites a record of the same size in place, writing only the pages whose bytes
-- changed; a record of another size is deleted and inserted again: its overflow pages
-- freed (and zeroed: secure_delete), new ones allocated, the freelist and pointer-map
-- pages rewritten — at 1000 members (a 17 KB row) about half of the statement's CPU.
-- The column is never read. Older rows have none (NULL) until their next write.
ALTER TABLE group_keys ADD COLUMN pad BLOB;
