package persistence

import (
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

func (t *tx) Seen(hash [32]byte) (bool, error) {
	var n int
	err := t.get(&n, `SELECT COUNT(*) FROM seen WHERE hash = ?`, hash[:])
	return n > 0, err
}

func (t *tx) MarkSeen(hash [32]byte, at time.Time) error {
	_, err := t.exec(`INSERT OR IGNORE INTO seen (hash, seen_at) VALUES (?, ?)`, hash[:], t2i(at))
	return err
}

func (t *tx) MarkSeenOnce(hash [32]byte, at time.Time) (bool, error) {
	res, err := t.exec(`INSERT OR IGNORE INTO seen (hash, seen_at) VALUES (?, ?)`, hash[:], t2i(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *tx) PutPending(p *storage.PendingRecord) error {
	claim := p.Claim
	if claim == nil {
		claim = []byte{}
	}
	_, err := t.exec(`INSERT OR IGNORE INTO pending (hash, topic, payload, received_at, claim, size) VALUES (?, ?, ?, ?, ?, ?)`,
		p.Hash[:], p.Topic, p.Payload, t2i(p.ReceivedAt), claim, len(p.Payload))
	return err
}

// PendingUsage reads only indexes (pending_usage covers claim and size; the payloads, in
// overflow pages, are never touched).
func (t *tx) PendingUsage(hash [32]byte, claim []byte) (storage.PendingUsage, error) {
	var u storage.PendingUsage
	if claim == nil {
		claim = []byte{}
	}
	var row struct {
		N     int   `db:"n"`
		Bytes int64 `db:"bytes"`
	}
	if err := t.get(&row, `SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM pending INDEXED BY pending_usage`); err != nil {
		return u, err
	}
	u.Count, u.Bytes = row.N, row.Bytes
	if err := t.get(&u.ClaimedBytes, `SELECT COALESCE(SUM(size), 0) FROM pending INDEXED BY pending_usage WHERE claim = ?`, claim); err != nil {
		return u, err
	}
	var n int
	if err := t.get(&n, `SELECT COUNT(*) FROM pending WHERE hash = ?`, hash[:]); err != nil {
		return u, err
	}
	u.Exists = n > 0
	return u, nil
}

func (t *tx) Pending(limit int) ([]storage.PendingRecord, error) {
	var rows []struct {
		Hash       []byte `db:"hash"`
		Topic      string `db:"topic"`
		Payload    []byte `db:"payload"`
		ReceivedAt int64  `db:"received_at"`
		Claim      []byte `db:"claim"`
	}
	if err := t.sel(&rows, `SELECT hash, topic, payload, received_at, claim FROM pending ORDER BY received_at, hash LIMIT ?`, limit); err != nil {
		return nil, err
	}
	out := make([]storage.PendingRecord, len(rows))
	for i, r := range rows {
		copy(out[i].Hash[:], r.Hash)
		out[i].Topic, out[i].Payload, out[i].ReceivedAt, out[i].Claim = r.Topic, r.Payload, i2t(r.ReceivedAt), r.Claim
	}
	return out, nil
}

func (t *tx) DeletePending(hash [32]byte) error {
	_, err := t.exec(`DELETE FROM pending WHERE hash = ?`, hash[:])
	return err
}

func (t *tx) PrunePending(keep int) error {
	_, err := t.exec(`DELETE FROM pending WHERE hash IN (SELECT hash FROM pending ORDER BY received_at DESC, hash LIMIT -1 OFFSET ?)`, keep)
	return err
}

func (t *tx) PruneSeen(before time.Time) error {
	_, err := t.exec(`DELETE FROM seen WHERE seen_at < ?`, t2i(before))
	return err
}

func (t *tx) PutExpected(e *storage.ExpectedRecord) error {
	_, err := t.exec(`INSERT INTO expected (group_id, entry, since, report) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, entry) DO UPDATE SET report = MAX(report, excluded.report)`, e.Group[:], e.Entry[:], t2i(e.Since), b2i(e.Report))
	return err
}

func (t *tx) DeleteExpected(group storage.GroupID, entry [32]byte) error {
	_, err := t.exec(`DELETE FROM expected WHERE group_id = ? AND entry = ?`, group[:], entry[:])
	return err
}

func (t *tx) Expected(group storage.GroupID) ([]storage.ExpectedRecord, error) {
	var rows []struct {
		Entry  []byte `db:"entry"`
		Since  int64  `db:"since"`
		Report bool   `db:"report"`
	}
	if err := t.sel(&rows, `SELECT entry, since, report FROM expected WHERE group_id = ? ORDER BY since, entry`, group[:]); err != nil {
		return nil, err
	}
	out := make([]storage.ExpectedRecord, len(rows))
	for i, r := range rows {
		out[i].Group = group
		copy(out[i].Entry[:], r.Entry)
		out[i].Since, out[i].Report = i2t(r.Since), r.Report
	}
	return out, nil
}

func (t *tx) Reported(key string) (bool, error) {
	var n int
	err := t.get(&n, `SELECT COUNT(*) FROM reported WHERE key = ?`, key)
	return n > 0, err
}

func (t *tx) MarkReported(key string, at time.Time) error {
	_, err := t.exec(`INSERT OR IGNORE INTO reported (key, reported_at) VALUES (?, ?)`, key, t2i(at))
	return err
}

func (t *tx) LastSync(topic string) (time.Time, error) {
	var n []int64
	if err := t.sel(&n, `SELECT last_sync FROM sync_marks WHERE topic = ?`, topic); err != nil || len(n) == 0 {
		return time.Time{}, err
	}
	return i2t(n[0]), nil
}

func (t *tx) SetLastSync(topic string, at time.Time) error {
	_, err := t.exec(`INSERT OR REPLACE INTO sync_marks (topic, last_sync) VALUES (?, ?)`, topic, t2i(at))
	return err
}

func (t *tx) SyncPoints(topic string) (map[string]time.Time, error) {
	var rows []struct {
		Store string `db:"store"`
		Point int64  `db:"point"`
	}
	if err := t.sel(&rows, `SELECT store, point FROM sync_points WHERE topic = ?`, topic); err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.Store] = i2t(r.Point)
	}
	return out, nil
}

func (t *tx) SetSyncPoints(topic string, points map[string]time.Time) error {
	if _, err := t.exec(`DELETE FROM sync_points WHERE topic = ?`, topic); err != nil {
		return err
	}
	for store, at := range points {
		if _, err := t.exec(`INSERT INTO sync_points (topic, store, point) VALUES (?, ?, ?)`, topic, store, t2i(at)); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) PruneSyncPoints(before time.Time) error {
	_, err := t.exec(`DELETE FROM sync_points WHERE point < ?`, t2i(before))
	return err
}
