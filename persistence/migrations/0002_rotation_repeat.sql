-- v2: the last rotation block of our sender key, repeated in the next messages so that a
-- recipient that lost it can still read the sender (spec: protocol, "Rotation repeats").
ALTER TABLE chat_groups ADD COLUMN repeat_block BLOB;
ALTER TABLE chat_groups ADD COLUMN repeat_left INTEGER NOT NULL DEFAULT 0;
