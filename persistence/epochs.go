package persistence

import (
	"github.com/chorus-im/chorus/protocol/storage"
)

type epochChainRow struct {
	Group        []byte `db:"group_id"`
	Epoch        []byte `db:"epoch"`
	Installation []byte `db:"installation"`
	State        []byte `db:"state"`
	Lease        int64  `db:"lease"`
	Skipped      int64  `db:"skipped"`
}

func (r *epochChainRow) rec() storage.EpochChainRecord {
	rec := storage.EpochChainRecord{State: r.State, Lease: uint32(r.Lease), Skipped: int(r.Skipped)}
	copy(rec.Group[:], r.Group)
	copy(rec.Epoch[:], r.Epoch)
	copy(rec.Installation[:], r.Installation)
	return rec
}

func (t *tx) PutSenderChain(r *storage.EpochChainRecord) error {
	_, err := t.exec(`INSERT INTO epoch_senders (group_id, epoch, state, lease) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, epoch) DO UPDATE SET state = excluded.state, lease = excluded.lease`,
		r.Group[:], r.Epoch[:], r.State, int64(r.Lease))
	return err
}

func (t *tx) SenderChain(group storage.GroupID, epoch [32]byte) (*storage.EpochChainRecord, error) {
	var r epochChainRow
	if err := t.get(&r, `SELECT group_id, epoch, x'' AS installation, state, lease, 0 AS skipped FROM epoch_senders WHERE group_id = ? AND epoch = ?`,
		group[:], epoch[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) SenderChains(group storage.GroupID) ([]storage.EpochChainRecord, error) {
	var rows []epochChainRow
	if err := t.sel(&rows, `SELECT group_id, epoch, x'' AS installation, state, lease, 0 AS skipped FROM epoch_senders WHERE group_id = ? ORDER BY epoch`,
		group[:]); err != nil {
		return nil, err
	}
	out := make([]storage.EpochChainRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) PutReceiverChain(r *storage.EpochChainRecord) error {
	_, err := t.exec(`INSERT INTO epoch_receivers (group_id, epoch, installation, state, skipped) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (group_id, epoch, installation) DO UPDATE SET state = excluded.state, skipped = excluded.skipped`,
		r.Group[:], r.Epoch[:], r.Installation[:], r.State, int64(r.Skipped))
	return err
}

func (t *tx) ReceiverChain(group storage.GroupID, epoch [32]byte, inst storage.InstallationID) (*storage.EpochChainRecord, error) {
	var r epochChainRow
	if err := t.get(&r, `SELECT group_id, epoch, installation, state, 0 AS lease, skipped FROM epoch_receivers
		WHERE group_id = ? AND epoch = ? AND installation = ?`, group[:], epoch[:], inst[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) ReceiverChains(group storage.GroupID) ([]storage.EpochChainRecord, error) {
	var rows []epochChainRow
	if err := t.sel(&rows, `SELECT group_id, epoch, installation, state, 0 AS lease, skipped FROM epoch_receivers
		WHERE group_id = ? ORDER BY epoch, installation`, group[:]); err != nil {
		return nil, err
	}
	out := make([]storage.EpochChainRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) DeleteEpochChains(group storage.GroupID, keep [][32]byte) error {
	q, args := retiredEpochs(group, keep)
	if _, err := t.exec(`DELETE FROM epoch_senders`+q, args...); err != nil {
		return err
	}
	// epoch_skipped's rows go with their chains (ON DELETE CASCADE).
	_, err := t.exec(`DELETE FROM epoch_receivers`+q, args...)
	return err
}

func (t *tx) DeleteEpochReceivers(group storage.GroupID, keep [][32]byte) error {
	q, args := retiredEpochs(group, keep)
	// epoch_skipped's rows go with their chains (ON DELETE CASCADE).
	_, err := t.exec(`DELETE FROM epoch_receivers`+q, args...)
	return err
}

func (t *tx) DeleteReceiverEpochs(group storage.GroupID, epochs [][32]byte) error {
	if len(epochs) == 0 {
		return nil
	}
	args := make([]any, 1, 1+len(epochs))
	args[0] = group[:]
	for i := range epochs {
		args = append(args, epochs[i][:])
	}
	// One epoch (a key event retires one, most often) is `epoch = ?` for sqlite: a seek on
	// the primary key, where NOT IN walked the group's chains against a list it built.
	// epoch_skipped's rows go with their chains (ON DELETE CASCADE).
	_, err := t.exec(`DELETE FROM epoch_receivers WHERE group_id = ? AND epoch IN (?`+repeatPlaceholders(len(epochs)-1)+`)`, args...)
	return err
}

// retiredEpochs returns the WHERE clause and arguments naming group's chains of every
// epoch not in keep.
func retiredEpochs(group storage.GroupID, keep [][32]byte) (string, []any) {
	q := ` WHERE group_id = ?`
	args := make([]any, 1, 1+len(keep))
	args[0] = group[:]
	if len(keep) > 0 {
		q += ` AND epoch NOT IN (?` + repeatPlaceholders(len(keep)-1) + `)`
		for i := range keep {
			args = append(args, keep[i][:])
		}
	}
	return q, args
}

func (t *tx) DeleteReceiverChains(group storage.GroupID, inst storage.InstallationID) error {
	// epoch_skipped's rows go with their chains (ON DELETE CASCADE).
	_, err := t.exec(`DELETE FROM epoch_receivers WHERE group_id = ? AND installation = ?`, group[:], inst[:])
	return err
}

func (t *tx) UpdateSkippedKeys(c *storage.SkippedKeysChange) error {
	if c.UsedSet {
		if _, err := t.exec(`DELETE FROM epoch_skipped WHERE group_id = ? AND epoch = ? AND installation = ? AND iteration = ?`,
			c.Group[:], c.Epoch[:], c.Installation[:], int64(c.Used)); err != nil {
			return err
		}
	}
	for i := range c.Add {
		if _, err := t.exec(`INSERT OR REPLACE INTO epoch_skipped (group_id, epoch, installation, iteration, key) VALUES (?, ?, ?, ?, ?)`,
			c.Group[:], c.Epoch[:], c.Installation[:], int64(c.Add[i].Iteration), c.Add[i].Key[:]); err != nil {
			return err
		}
	}
	if c.Evict > 0 {
		_, err := t.exec(`DELETE FROM epoch_skipped WHERE group_id = ?1 AND epoch = ?2 AND installation = ?3 AND iteration IN
			(SELECT iteration FROM epoch_skipped WHERE group_id = ?1 AND epoch = ?2 AND installation = ?3 ORDER BY iteration LIMIT ?4)`,
			c.Group[:], c.Epoch[:], c.Installation[:], int64(c.Evict))
		return err
	}
	return nil
}

func (t *tx) SkippedKey(group storage.GroupID, epoch [32]byte, inst storage.InstallationID, iteration uint32) ([32]byte, error) {
	var key [32]byte
	var b []byte
	if err := t.get(&b, `SELECT key FROM epoch_skipped WHERE group_id = ? AND epoch = ? AND installation = ? AND iteration = ?`,
		group[:], epoch[:], inst[:], int64(iteration)); err != nil {
		return key, notFound(err)
	}
	copy(key[:], b)
	clear(b)
	return key, nil
}

func (t *tx) SkippedIterations(group storage.GroupID) ([]storage.SkippedIteration, error) {
	var rows []struct {
		Epoch        []byte `db:"epoch"`
		Installation []byte `db:"installation"`
		Iteration    int64  `db:"iteration"`
	}
	if err := t.sel(&rows, `SELECT epoch, installation, iteration FROM epoch_skipped WHERE group_id = ?
		ORDER BY epoch, installation, iteration`, group[:]); err != nil {
		return nil, err
	}
	out := make([]storage.SkippedIteration, len(rows))
	for i, r := range rows {
		copy(out[i].Epoch[:], r.Epoch)
		copy(out[i].Installation[:], r.Installation)
		out[i].Iteration = uint32(r.Iteration)
	}
	return out, nil
}

func repeatPlaceholders(n int) string {
	out := make([]byte, 0, 3*n)
	for range n {
		out = append(out, ", ?"...)
	}
	return string(out)
}
