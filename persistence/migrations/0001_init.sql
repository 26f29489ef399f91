-- Chorus engine schema v1. Times are unix nanoseconds; ids and keys are BLOBs.
CREATE TABLE account (
	singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
	private_key   BLOB NOT NULL,
	identity      BLOB NOT NULL,
	card_clock    INTEGER NOT NULL,
	next_prekey   INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	announced_at  INTEGER NOT NULL
);

CREATE TABLE prekeys (
	signed     INTEGER NOT NULL,
	id         INTEGER NOT NULL,
	data       BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (signed, id)
);

CREATE TABLE contacts (
	account    TEXT PRIMARY KEY,
	card       BLOB NOT NULL,
	clock      INTEGER NOT NULL,
	added      INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE installations (
	id         BLOB PRIMARY KEY,
	account    TEXT NOT NULL,
	dh         BLOB NOT NULL,
	signing    BLOB NOT NULL,
	bundle     BLOB,
	revoked    INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX installations_account ON installations (account);

CREATE TABLE sessions (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	remote         BLOB NOT NULL,
	remote_account TEXT NOT NULL,
	initiator      INTEGER NOT NULL,
	confirmed      INTEGER NOT NULL,
	active         INTEGER NOT NULL,
	base_key       BLOB NOT NULL,
	send_hint      BLOB NOT NULL,
	recv_hint      BLOB NOT NULL,
	ad             BLOB NOT NULL,
	initial_header BLOB,
	state          BLOB NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	UNIQUE (remote, base_key)
);
CREATE INDEX sessions_recv_hint ON sessions (recv_hint);

CREATE TABLE chat_groups (
	id          BLOB PRIMARY KEY,
	chat_id     TEXT NOT NULL,
	secret      BLOB NOT NULL,
	buckets     INTEGER NOT NULL,
	topic       TEXT NOT NULL,
	name        TEXT NOT NULL,
	description TEXT NOT NULL,
	color       TEXT NOT NULL,
	image       BLOB,
	events      BLOB,
	sender      BLOB,
	rotate      INTEGER NOT NULL,
	distribute  INTEGER NOT NULL,
	clock       INTEGER NOT NULL,
	history     BLOB,
	status      INTEGER NOT NULL,
	joined_at   INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE distributed (
	group_id     BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	installation BLOB NOT NULL,
	PRIMARY KEY (group_id, installation)
);

CREATE TABLE receivers (
	group_id     BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	installation BLOB NOT NULL,
	account      TEXT NOT NULL,
	state        BLOB NOT NULL,
	PRIMARY KEY (group_id, installation)
);

CREATE TABLE receiver_keys (
	group_id     BLOB NOT NULL,
	key_id       BLOB NOT NULL,
	installation BLOB NOT NULL,
	PRIMARY KEY (group_id, key_id),
	FOREIGN KEY (group_id, installation) REFERENCES receivers (group_id, installation) ON DELETE CASCADE
);

CREATE TABLE messages (
	seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
	id                  BLOB NOT NULL UNIQUE,
	group_id            BLOB NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	history_entry       BLOB NOT NULL,
	sender_account      TEXT NOT NULL,
	sender_installation BLOB NOT NULL,
	clock               INTEGER NOT NULL,
	timestamp           INTEGER NOT NULL,
	received_at         INTEGER NOT NULL,
	outgoing            INTEGER NOT NULL,
	status              INTEGER NOT NULL,
	type                INTEGER NOT NULL,
	body                BLOB NOT NULL
);
CREATE INDEX messages_group ON messages (group_id, seq);
CREATE INDEX messages_history ON messages (group_id, history_entry);

CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id   BLOB,
	topic        TEXT NOT NULL,
	payload      BLOB NOT NULL,
	status       INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt);
CREATE INDEX outbox_message ON outbox (message_id);

CREATE TABLE seen (
	hash    BLOB PRIMARY KEY,
	seen_at INTEGER NOT NULL
);

CREATE TABLE pending (
	hash        BLOB PRIMARY KEY,
	topic       TEXT NOT NULL,
	payload     BLOB NOT NULL,
	received_at INTEGER NOT NULL
);

CREATE TABLE expected (
	group_id BLOB NOT NULL,
	entry    BLOB NOT NULL,
	since    INTEGER NOT NULL,
	report   INTEGER NOT NULL,
	PRIMARY KEY (group_id, entry)
);

CREATE TABLE reported (
	key         TEXT PRIMARY KEY,
	reported_at INTEGER NOT NULL
);

CREATE TABLE sync_marks (
	topic     TEXT PRIMARY KEY,
	last_sync INTEGER NOT NULL
);
