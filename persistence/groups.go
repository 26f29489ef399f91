package persistence

import (
	"database/sql"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

type groupRow struct {
	ID          []byte `db:"id"`
	ChatID      string `db:"chat_id"`
	Secret      []byte `db:"secret"`
	Buckets     int64  `db:"buckets"`
	Topic       string `db:"topic"`
	Name        string `db:"name"`
	Description string `db:"description"`
	Color       string `db:"color"`
	Image       []byte `db:"image"`
	Events      []byte `db:"events"`
	Sender      []byte `db:"sender"`
	Rotate      bool   `db:"rotate"`
	Distribute  bool   `db:"distribute"`
	Clock       int64  `db:"clock"`
	History     []byte `db:"history"`
	Status      int    `db:"status"`
	JoinedAt    int64  `db:"joined_at"`
	UpdatedAt   int64  `db:"updated_at"`
	RepeatBlock []byte `db:"repeat_block"`
	RepeatLeft  int    `db:"repeat_left"`
	SenderLease int64  `db:"sender_lease"`
	Schedule    []byte `db:"schedule"`
	EpochMeta   []byte `db:"epoch_meta"`
}

// groupRowCols are chat_groups' columns as PutGroup writes them; groupCols reads a group
// with its keys (groupFrom joins group_keys).
const groupRowCols = `id, chat_id, secret, buckets, topic, name, description, color, image, events, sender, rotate, distribute, clock, history, status, joined_at, updated_at, repeat_block, repeat_left, sender_lease`

const groupCols = groupRowCols + `, schedule, epoch_meta`

// groupFrom is the FROM clause of a group read: its row and its keys (none for a group
// on key schedule v1).
const groupFrom = ` FROM chat_groups LEFT JOIN group_keys ON group_id = id`

func (r *groupRow) rec() storage.GroupRecord {
	g := storage.GroupRecord{ChatID: r.ChatID, Buckets: uint32(r.Buckets), Topic: r.Topic, Name: r.Name,
		Description: r.Description, Color: r.Color, Image: r.Image, Events: r.Events, Sender: r.Sender, Rotate: r.Rotate,
		Distribute: r.Distribute, Clock: uint64(r.Clock), History: r.History, Status: storage.GroupStatus(r.Status),
		JoinedAt: i2t(r.JoinedAt), UpdatedAt: i2t(r.UpdatedAt), Repeat: r.RepeatBlock, RepeatLeft: r.RepeatLeft,
		SenderLease: uint32(r.SenderLease), Schedule: r.Schedule, EpochMeta: r.EpochMeta}
	copy(g.ID[:], r.ID)
	copy(g.Secret[:], r.Secret)
	return g
}

func (t *tx) PutGroup(g *storage.GroupRecord) error {
	if _, err := t.exec(`INSERT INTO chat_groups (`+groupRowCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET chat_id = excluded.chat_id, secret = excluded.secret, buckets = excluded.buckets,
		topic = excluded.topic, name = excluded.name, description = excluded.description, color = excluded.color,
		image = excluded.image, sender = excluded.sender, rotate = excluded.rotate,
		distribute = excluded.distribute, clock = excluded.clock, history = excluded.history, status = excluded.status,
		joined_at = excluded.joined_at, updated_at = excluded.updated_at, repeat_block = excluded.repeat_block,
		repeat_left = excluded.repeat_left, sender_lease = excluded.sender_lease`,
		g.ID[:], g.ChatID, g.Secret[:], int64(g.Buckets), g.Topic, g.Name, g.Description, g.Color, g.Image, g.Sender,
		b2i(g.Rotate), b2i(g.Distribute), int64(g.Clock), g.History, int(g.Status), t2i(g.JoinedAt), t2i(g.UpdatedAt),
		g.Repeat, g.RepeatLeft, int64(g.SenderLease)); err != nil {
		return err
	}
	if err := t.PutGroupKeys(g.ID, g.Schedule, g.EpochMeta); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM group_log WHERE group_id = ?`, g.ID[:]); err != nil {
		return err
	}
	if len(g.Events) == 0 {
		return nil
	}
	_, err := t.exec(`INSERT INTO group_log (group_id, seq, chunk) VALUES (?, 0, ?)`, g.ID[:], g.Events)
	return err
}

func (t *tx) PutGroupExceptLog(g *storage.GroupRecord) error {
	res, err := t.exec(`UPDATE chat_groups SET chat_id = ?, secret = ?, buckets = ?, topic = ?, name = ?, description = ?,
		color = ?, image = ?, sender = ?, rotate = ?, distribute = ?, clock = ?, history = ?, status = ?, joined_at = ?,
		updated_at = ?, repeat_block = ?, repeat_left = ?, sender_lease = ? WHERE id = ?`,
		g.ChatID, g.Secret[:], int64(g.Buckets), g.Topic, g.Name, g.Description, g.Color, g.Image, g.Sender,
		b2i(g.Rotate), b2i(g.Distribute), int64(g.Clock), g.History, int(g.Status), t2i(g.JoinedAt), t2i(g.UpdatedAt),
		g.Repeat, g.RepeatLeft, int64(g.SenderLease), g.ID[:])
	return affected(res, err)
}

// PutGroupKeys writes a group's key schedule and bookkeeping (group_keys: only they are
// rewritten, not the group's row).
func (t *tx) PutGroupKeys(id storage.GroupID, schedule, meta []byte) error {
	res, err := t.exec(`INSERT INTO group_keys (group_id, schedule, epoch_meta) SELECT id, ?, ? FROM chat_groups WHERE id = ?
		ON CONFLICT (group_id) DO UPDATE SET schedule = excluded.schedule, epoch_meta = excluded.epoch_meta`,
		schedule, meta, id[:])
	return affected(res, err)
}

func (t *tx) AppendGroupLog(id storage.GroupID, tail []byte) error {
	if len(tail) == 0 {
		return nil
	}
	res, err := t.exec(`INSERT INTO group_log (group_id, seq, chunk)
		SELECT id, (SELECT COALESCE(MAX(seq), -1) + 1 FROM group_log WHERE group_id = ?), ? FROM chat_groups WHERE id = ?`,
		id[:], tail, id[:])
	return affected(res, err)
}

// groupLog returns a group's stored event log: its chunks in order, concatenated.
func (t *tx) groupLog(id []byte) ([]byte, error) {
	var chunks [][]byte
	if err := t.sel(&chunks, `SELECT chunk FROM group_log WHERE group_id = ? ORDER BY seq`, id); err != nil {
		return nil, err
	}
	switch len(chunks) {
	case 0:
		return nil, nil
	case 1:
		return chunks[0], nil
	}
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	out := make([]byte, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// affected turns an update that matched no row into ErrNotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = storage.ErrNotFound
		}
		return err
	}
	return nil
}

func (t *tx) PutGroupState(g *storage.GroupRecord) error {
	res, err := t.exec(`UPDATE chat_groups SET sender = ?, rotate = ?, distribute = ?, clock = ?, history = ?, updated_at = ?,
		repeat_block = ?, repeat_left = ?, sender_lease = ? WHERE id = ?`,
		g.Sender, b2i(g.Rotate), b2i(g.Distribute), int64(g.Clock), g.History, t2i(g.UpdatedAt), g.Repeat, g.RepeatLeft,
		int64(g.SenderLease), g.ID[:])
	return affected(res, err)
}

func (t *tx) PutGroupClock(id storage.GroupID, clock uint64, history []byte, updatedAt time.Time) error {
	res, err := t.exec(`UPDATE chat_groups SET clock = ?, history = ?, updated_at = ? WHERE id = ?`,
		int64(clock), history, t2i(updatedAt), id[:])
	return affected(res, err)
}

func (t *tx) Group(id storage.GroupID) (*storage.GroupRecord, error) {
	var r groupRow
	if err := t.get(&r, `SELECT `+groupCols+groupFrom+` WHERE id = ?`, id[:]); err != nil {
		return nil, notFound(err)
	}
	g := r.rec()
	var err error
	if g.Events, err = t.groupLog(r.ID); err != nil {
		return nil, err
	}
	return &g, nil
}

const groupStateCols = `id, chat_id, secret, buckets, topic, name, description, color, NULL AS image, NULL AS events, sender, rotate, distribute, clock, history, status, joined_at, updated_at, repeat_block, repeat_left, sender_lease, schedule, epoch_meta`

func (t *tx) GroupState(id storage.GroupID) (*storage.GroupRecord, error) {
	var r groupRow
	if err := t.get(&r, `SELECT `+groupStateCols+groupFrom+` WHERE id = ?`, id[:]); err != nil {
		return nil, notFound(err)
	}
	g := r.rec()
	return &g, nil
}

func (t *tx) Groups() ([]storage.GroupRecord, error) {
	var rows []groupRow
	if err := t.sel(&rows, `SELECT `+groupCols+groupFrom+` ORDER BY joined_at, id`); err != nil {
		return nil, err
	}
	out := make([]storage.GroupRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
		var err error
		if out[i].Events, err = t.groupLog(rows[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) MarkDistributed(group storage.GroupID, ids []storage.InstallationID) error {
	for _, id := range ids {
		if _, err := t.exec(`INSERT OR IGNORE INTO distributed (group_id, installation) VALUES (?, ?)`, group[:], id[:]); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) Distributed(group storage.GroupID) ([]storage.InstallationID, error) {
	var rows [][]byte
	if err := t.sel(&rows, `SELECT installation FROM distributed WHERE group_id = ? ORDER BY installation`, group[:]); err != nil {
		return nil, err
	}
	out := make([]storage.InstallationID, len(rows))
	for i, r := range rows {
		copy(out[i][:], r)
	}
	return out, nil
}

func (t *tx) ClearDistributed(group storage.GroupID) error {
	_, err := t.exec(`DELETE FROM distributed WHERE group_id = ?`, group[:])
	return err
}

// --- receivers

type receiverRow struct {
	Group        []byte `db:"group_id"`
	Installation []byte `db:"installation"`
	Account      string `db:"account"`
	State        []byte `db:"state"`
}

func (r *receiverRow) rec() storage.ReceiverRecord {
	rec := storage.ReceiverRecord{Account: r.Account, State: r.State}
	copy(rec.Group[:], r.Group)
	copy(rec.Installation[:], r.Installation)
	return rec
}

func (t *tx) PutReceiver(r *storage.ReceiverRecord) error {
	_, err := t.exec(`INSERT INTO receivers (group_id, installation, account, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, installation) DO UPDATE SET account = excluded.account, state = excluded.state`,
		r.Group[:], r.Installation[:], r.Account, r.State)
	return err
}

func (t *tx) Receiver(group storage.GroupID, installation storage.InstallationID) (*storage.ReceiverRecord, error) {
	var r receiverRow
	if err := t.get(&r, `SELECT group_id, installation, account, state FROM receivers WHERE group_id = ? AND installation = ?`, group[:], installation[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) Receivers(group storage.GroupID) ([]storage.ReceiverRecord, error) {
	var rows []receiverRow
	if err := t.sel(&rows, `SELECT group_id, installation, account, state FROM receivers WHERE group_id = ? ORDER BY installation`, group[:]); err != nil {
		return nil, err
	}
	out := make([]storage.ReceiverRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) DeleteReceiver(group storage.GroupID, installation storage.InstallationID) error {
	_, err := t.exec(`DELETE FROM receivers WHERE group_id = ? AND installation = ?`, group[:], installation[:])
	return err
}

func (t *tx) AddReceiverKey(group storage.GroupID, keyID [8]byte, installation storage.InstallationID) error {
	if _, err := t.exec(`INSERT OR IGNORE INTO receiver_keys (group_id, key_id, installation) VALUES (?, ?, ?)`, group[:], keyID[:], installation[:]); err != nil {
		return err
	}
	var owner []byte
	if err := t.get(&owner, `SELECT installation FROM receiver_keys WHERE group_id = ? AND key_id = ?`, group[:], keyID[:]); err != nil {
		return err
	}
	if string(owner) != string(installation[:]) {
		return storage.ErrKeyIDTaken
	}
	return nil
}

func (t *tx) ReceiverByKey(group storage.GroupID, keyID [8]byte) (*storage.ReceiverRecord, error) {
	var r receiverRow
	if err := t.get(&r, `SELECT r.group_id, r.installation, r.account, r.state FROM receiver_keys k
		JOIN receivers r ON r.group_id = k.group_id AND r.installation = k.installation
		WHERE k.group_id = ? AND k.key_id = ?`, group[:], keyID[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}
