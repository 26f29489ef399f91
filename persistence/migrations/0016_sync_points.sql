-- v17: each store's own sync point per topic (spec "Resume points per store"), kept
-- between Syncs: a store that answered in full in a Sync cut short by another is asked
-- next time from that Sync's start, one cut short from its own cut, instead of every
-- store from the topic's last sync (sync_marks: still the earliest store's point, which
-- a store without a point of its own is asked from). A point counts only while it is
-- later than the topic's last sync; the engine writes a topic's points with its sync
-- mark, deletes them when the topic's Sync completes or its mark moves back, and keeps
-- few per topic. Older databases have none: every store is asked from the last sync,
-- as before.
CREATE TABLE sync_points (
	topic TEXT NOT NULL,
	store TEXT NOT NULL,
	point INTEGER NOT NULL,
	PRIMARY KEY (topic, store)
) WITHOUT ROWID;
