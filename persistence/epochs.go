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
}

func (r *epochChainRow) rec() storage.EpochChainRecord {
	rec := storage.EpochChainRecord{State: r.State, Lease: uint32(r.Lease)}
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
	if err := t.get(&r, `SELECT group_id, epoch, x'' AS installation, state, lease FROM epoch_senders WHERE group_id = ? AND epoch = ?`,
		group[:], epoch[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) SenderChains(group storage.GroupID) ([]storage.EpochChainRecord, error) {
	var rows []epochChainRow
	if err := t.sel(&rows, `SELECT group_id, epoch, x'' AS installation, state, lease FROM epoch_senders WHERE group_id = ? ORDER BY epoch`,
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
	_, err := t.exec(`INSERT INTO epoch_receivers (group_id, epoch, installation, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, epoch, installation) DO UPDATE SET state = excluded.state`,
		r.Group[:], r.Epoch[:], r.Installation[:], r.State)
	return err
}

func (t *tx) ReceiverChain(group storage.GroupID, epoch [32]byte, inst storage.InstallationID) (*storage.EpochChainRecord, error) {
	var r epochChainRow
	if err := t.get(&r, `SELECT group_id, epoch, installation, state, 0 AS lease FROM epoch_receivers
		WHERE group_id = ? AND epoch = ? AND installation = ?`, group[:], epoch[:], inst[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) ReceiverChains(group storage.GroupID) ([]storage.EpochChainRecord, error) {
	var rows []epochChainRow
	if err := t.sel(&rows, `SELECT group_id, epoch, installation, state, 0 AS lease FROM epoch_receivers
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
	q := ` WHERE group_id = ?`
	args := []any{group[:]}
	if len(keep) > 0 {
		q += ` AND epoch NOT IN (?` + repeatPlaceholders(len(keep)-1) + `)`
		for i := range keep {
			args = append(args, keep[i][:])
		}
	}
	if _, err := t.exec(`DELETE FROM epoch_senders`+q, args...); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM epoch_receivers`+q, args...)
	return err
}

func (t *tx) DeleteReceiverChains(group storage.GroupID, inst storage.InstallationID) error {
	_, err := t.exec(`DELETE FROM epoch_receivers WHERE group_id = ? AND installation = ?`, group[:], inst[:])
	return err
}

func repeatPlaceholders(n int) string {
	out := make([]byte, 0, 3*n)
	for range n {
		out = append(out, ", ?"...)
	}
	return string(out)
}
