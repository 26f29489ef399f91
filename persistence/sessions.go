package persistence

import (
	"github.com/chorus-im/chorus/protocol/storage"
)

type sessionRow struct {
	ID            int64  `db:"id"`
	Remote        []byte `db:"remote"`
	RemoteAccount string `db:"remote_account"`
	Initiator     bool   `db:"initiator"`
	Confirmed     bool   `db:"confirmed"`
	Active        bool   `db:"active"`
	BaseKey       []byte `db:"base_key"`
	SendHint      []byte `db:"send_hint"`
	RecvHint      []byte `db:"recv_hint"`
	AD            []byte `db:"ad"`
	InitialHeader []byte `db:"initial_header"`
	State         []byte `db:"state"`
	CreatedAt     int64  `db:"created_at"`
	UpdatedAt     int64  `db:"updated_at"`
	SendLease     int64  `db:"send_lease"`
	LeaseKey      []byte `db:"lease_key"`
	HintChain     []byte `db:"hint_chain"`
}

const sessionCols = `id, remote, remote_account, initiator, confirmed, active, base_key, send_hint, recv_hint, ad, initial_header, state, created_at, updated_at, send_lease, lease_key, hint_chain`

func (r *sessionRow) rec() storage.SessionRecord {
	s := storage.SessionRecord{ID: r.ID, RemoteAccount: r.RemoteAccount, Initiator: r.Initiator, Confirmed: r.Confirmed,
		Active: r.Active, AD: r.AD, InitialHeader: r.InitialHeader, State: r.State, CreatedAt: i2t(r.CreatedAt), UpdatedAt: i2t(r.UpdatedAt)}
	copy(s.Remote[:], r.Remote)
	copy(s.BaseKey[:], r.BaseKey)
	copy(s.SendHint[:], r.SendHint)
	copy(s.RecvHint[:], r.RecvHint)
	s.SendLease = uint32(r.SendLease)
	copy(s.LeaseKey[:], r.LeaseKey)
	if len(r.HintChain) > 0 {
		s.HintChain = r.HintChain
	}
	return s
}

func (t *tx) PutSession(s *storage.SessionRecord) error {
	if s.ID == 0 {
		res, err := t.exec(`INSERT INTO sessions (remote, remote_account, initiator, confirmed, active, base_key, send_hint, recv_hint, ad, initial_header, state, created_at, updated_at, send_lease, lease_key, hint_chain)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.Remote[:], s.RemoteAccount, b2i(s.Initiator), b2i(s.Confirmed), b2i(s.Active), s.BaseKey[:], s.SendHint[:], s.RecvHint[:],
			s.AD, s.InitialHeader, s.State, t2i(s.CreatedAt), t2i(s.UpdatedAt), int64(s.SendLease), s.LeaseKey[:], s.HintChain)
		if err != nil {
			return err
		}
		s.ID, err = res.LastInsertId()
		return err
	}
	_, err := t.exec(`UPDATE sessions SET remote = ?, remote_account = ?, initiator = ?, confirmed = ?, active = ?, base_key = ?,
		send_hint = ?, recv_hint = ?, ad = ?, initial_header = ?, state = ?, created_at = ?, updated_at = ?, send_lease = ?, lease_key = ?, hint_chain = ? WHERE id = ?`,
		s.Remote[:], s.RemoteAccount, b2i(s.Initiator), b2i(s.Confirmed), b2i(s.Active), s.BaseKey[:], s.SendHint[:], s.RecvHint[:],
		s.AD, s.InitialHeader, s.State, t2i(s.CreatedAt), t2i(s.UpdatedAt), int64(s.SendLease), s.LeaseKey[:], s.HintChain, s.ID)
	return err
}

func (t *tx) Session(id int64) (*storage.SessionRecord, error) {
	var r sessionRow
	if err := t.get(&r, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) SessionByBaseKey(remote storage.InstallationID, baseKey [32]byte) (*storage.SessionRecord, error) {
	var r sessionRow
	if err := t.get(&r, `SELECT `+sessionCols+` FROM sessions WHERE remote = ? AND base_key = ?`, remote[:], baseKey[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) SessionsWith(remote storage.InstallationID) ([]storage.SessionRecord, error) {
	var rows []sessionRow
	if err := t.sel(&rows, `SELECT `+sessionCols+` FROM sessions WHERE remote = ? ORDER BY id DESC`, remote[:]); err != nil {
		return nil, err
	}
	out := make([]storage.SessionRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) DeleteSession(id int64) error {
	_, err := t.exec(`DELETE FROM sessions WHERE id = ?`, id)
	return err
}

func (t *tx) RecvHints() ([]storage.HintEntry, error) {
	var rows []struct {
		ID    int64  `db:"id"`
		Hint  []byte `db:"recv_hint"`
		Chain []byte `db:"hint_chain"`
	}
	if err := t.sel(&rows, `SELECT id, recv_hint, hint_chain FROM sessions`); err != nil {
		return nil, err
	}
	out := make([]storage.HintEntry, len(rows))
	for i, r := range rows {
		out[i].SessionID = r.ID
		copy(out[i].Hint[:], r.Hint)
		if len(r.Chain) > 0 {
			out[i].Chain = r.Chain
		}
	}
	return out, nil
}
