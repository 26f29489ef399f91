package persistence

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

func t2i(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func i2t(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// --- account

func (t *tx) Account() (*storage.AccountRecord, error) {
	var r struct {
		PrivateKey      []byte `db:"private_key"`
		PublicKey       []byte `db:"public_key"`
		Identity        []byte `db:"identity"`
		DeviceListClock int64  `db:"card_clock"`
		DeviceList      []byte `db:"device_list"`
		NextPrekey      int64  `db:"next_prekey"`
		CreatedAt       int64  `db:"created_at"`
		AnnouncedAt     int64  `db:"announced_at"`
		LinkSecret      []byte `db:"link_secret"`
		LinkUntil       int64  `db:"link_until"`
		Secret          []byte `db:"announce_secret"`
		Next            int64  `db:"next_announce"`
		Shared          bool   `db:"secret_shared"`
	}
	if err := t.get(&r, `SELECT private_key, public_key, identity, card_clock, device_list, next_prekey, created_at, announced_at,
		link_secret, link_until, announce_secret, next_announce, secret_shared FROM account WHERE singleton = 1`); err != nil {
		return nil, notFound(err)
	}
	return &storage.AccountRecord{PrivateKey: emptyNil(r.PrivateKey), PublicKey: emptyNil(r.PublicKey), Identity: r.Identity,
		DeviceListClock: uint64(r.DeviceListClock), DeviceList: emptyNil(r.DeviceList), NextPrekeyID: uint32(r.NextPrekey),
		CreatedAt: i2t(r.CreatedAt), AnnouncedAt: i2t(r.AnnouncedAt), LinkSecret: emptyNil(r.LinkSecret), LinkUntil: i2t(r.LinkUntil),
		AnnounceSecret: emptyNil(r.Secret), NextAnnounce: i2t(r.Next), SecretShared: r.Shared}, nil
}

func (t *tx) PutAccount(a *storage.AccountRecord) error {
	priv := a.PrivateKey
	if priv == nil {
		priv = []byte{} // NOT NULL: a linked installation has no account key
	}
	_, err := t.exec(`INSERT INTO account (singleton, private_key, public_key, identity, card_clock, device_list, next_prekey,
		created_at, announced_at, link_secret, link_until, announce_secret, next_announce, secret_shared)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (singleton) DO UPDATE SET private_key = excluded.private_key, public_key = excluded.public_key,
		identity = excluded.identity, card_clock = excluded.card_clock, device_list = excluded.device_list,
		next_prekey = excluded.next_prekey, created_at = excluded.created_at, announced_at = excluded.announced_at,
		link_secret = excluded.link_secret, link_until = excluded.link_until, announce_secret = excluded.announce_secret,
		next_announce = excluded.next_announce, secret_shared = excluded.secret_shared`,
		priv, a.PublicKey, a.Identity, int64(a.DeviceListClock), a.DeviceList, int64(a.NextPrekeyID), t2i(a.CreatedAt), t2i(a.AnnouncedAt),
		a.LinkSecret, t2i(a.LinkUntil), a.AnnounceSecret, t2i(a.NextAnnounce), b2i(a.SecretShared))
	return err
}

// emptyNil maps an empty blob to nil (absent).
func emptyNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// --- prekeys

type prekeyRow struct {
	Signed    bool   `db:"signed"`
	ID        int64  `db:"id"`
	Data      []byte `db:"data"`
	CreatedAt int64  `db:"created_at"`
	ExpiresAt int64  `db:"expires_at"`
}

func (r *prekeyRow) rec() storage.PrekeyRecord {
	return storage.PrekeyRecord{ID: uint32(r.ID), Signed: r.Signed, Data: r.Data, CreatedAt: i2t(r.CreatedAt), ExpiresAt: i2t(r.ExpiresAt)}
}

func (t *tx) PutPrekey(p *storage.PrekeyRecord) error {
	_, err := t.exec(`INSERT OR REPLACE INTO prekeys (signed, id, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		b2i(p.Signed), int64(p.ID), p.Data, t2i(p.CreatedAt), t2i(p.ExpiresAt))
	return err
}

func (t *tx) Prekey(signed bool, id uint32) (*storage.PrekeyRecord, error) {
	var r prekeyRow
	if err := t.get(&r, `SELECT signed, id, data, created_at, expires_at FROM prekeys WHERE signed = ? AND id = ?`, b2i(signed), int64(id)); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) Prekeys(signed bool) ([]storage.PrekeyRecord, error) {
	var rows []prekeyRow
	if err := t.sel(&rows, `SELECT signed, id, data, created_at, expires_at FROM prekeys WHERE signed = ? ORDER BY id`, b2i(signed)); err != nil {
		return nil, err
	}
	out := make([]storage.PrekeyRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) DeletePrekey(signed bool, id uint32) error {
	_, err := t.exec(`DELETE FROM prekeys WHERE signed = ? AND id = ?`, b2i(signed), int64(id))
	return err
}

// --- contacts and installations

type contactRow struct {
	Account    string `db:"account"`
	DeviceList []byte `db:"card"`
	Clock      int64  `db:"clock"`
	Added      bool   `db:"added"`
	UpdatedAt  int64  `db:"updated_at"`
	Name       string `db:"name"`
	NameClock  int64  `db:"name_clock"`
	Secret     []byte `db:"announce_secret"`
}

const contactCols = `account, card, clock, added, updated_at, name, name_clock, announce_secret`

func (r *contactRow) rec() storage.ContactRecord {
	return storage.ContactRecord{Account: r.Account, DeviceList: r.DeviceList, Clock: uint64(r.Clock), Added: r.Added, UpdatedAt: i2t(r.UpdatedAt),
		Name: r.Name, NameClock: uint64(r.NameClock), AnnounceSecret: emptyNil(r.Secret)}
}

func (t *tx) PutContact(c *storage.ContactRecord) error {
	_, err := t.exec(`INSERT OR REPLACE INTO contacts (`+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Account, c.DeviceList, int64(c.Clock), b2i(c.Added), t2i(c.UpdatedAt), c.Name, int64(c.NameClock), c.AnnounceSecret)
	return err
}

func (t *tx) Contact(account string) (*storage.ContactRecord, error) {
	var r contactRow
	if err := t.get(&r, `SELECT `+contactCols+` FROM contacts WHERE account = ?`, account); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) Contacts() ([]storage.ContactRecord, error) {
	var rows []contactRow
	if err := t.sel(&rows, `SELECT `+contactCols+` FROM contacts ORDER BY account`); err != nil {
		return nil, err
	}
	out := make([]storage.ContactRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

type installationRow struct {
	ID        []byte `db:"id"`
	Account   string `db:"account"`
	DH        []byte `db:"dh"`
	Signing   []byte `db:"signing"`
	Bundle    []byte `db:"bundle"`
	Revoked   bool   `db:"revoked"`
	Binding   []byte `db:"binding"`
	UpdatedAt int64  `db:"updated_at"`
	Name      string `db:"name"`
	Platform  string `db:"platform"`
	AddedAt   int64  `db:"added_at"`
}

func (r *installationRow) rec() storage.InstallationRecord {
	rec := storage.InstallationRecord{Account: r.Account, Bundle: r.Bundle, Revoked: r.Revoked, Binding: r.Binding, UpdatedAt: i2t(r.UpdatedAt),
		Name: r.Name, Platform: r.Platform, AddedAt: i2t(r.AddedAt)}
	copy(rec.ID[:], r.ID)
	copy(rec.DH[:], r.DH)
	copy(rec.Signing[:], r.Signing)
	return rec
}

const installationCols = `id, account, dh, signing, bundle, revoked, binding, updated_at, name, platform, added_at`

func (t *tx) PutInstallation(in *storage.InstallationRecord) error {
	_, err := t.exec(`INSERT OR REPLACE INTO installations (`+installationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.ID[:], in.Account, in.DH[:], in.Signing[:], in.Bundle, b2i(in.Revoked), in.Binding, t2i(in.UpdatedAt), in.Name, in.Platform, t2i(in.AddedAt))
	return err
}

func (t *tx) Installation(id storage.InstallationID) (*storage.InstallationRecord, error) {
	var r installationRow
	if err := t.get(&r, `SELECT `+installationCols+` FROM installations WHERE id = ?`, id[:]); err != nil {
		return nil, notFound(err)
	}
	rec := r.rec()
	return &rec, nil
}

func (t *tx) InstallationsByPrefix(prefix [8]byte) ([]storage.InstallationRecord, error) {
	lo := append(prefix[:], make([]byte, 8)...)
	hi := append(prefix[:], bytes.Repeat([]byte{0xff}, 8)...)
	var rows []installationRow
	if err := t.sel(&rows, `SELECT `+installationCols+` FROM installations WHERE id >= ? AND id <= ? ORDER BY id LIMIT 16`, lo, hi); err != nil {
		return nil, err
	}
	out := make([]storage.InstallationRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) MemberInstallations(accounts []string) ([]storage.InstallationRecord, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(accounts)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID      []byte `db:"id"`
		Account string `db:"account"`
		Revoked bool   `db:"revoked"`
	}
	if err := t.sel(&rows, `SELECT id, account, revoked FROM installations WHERE account IN (SELECT value FROM json_each(?)) ORDER BY account, id`, string(list)); err != nil {
		return nil, err
	}
	out := make([]storage.InstallationRecord, len(rows))
	for i := range rows {
		out[i] = storage.InstallationRecord{Account: rows[i].Account, Revoked: rows[i].Revoked}
		copy(out[i].ID[:], rows[i].ID)
	}
	return out, nil
}

func (t *tx) InstallationsOf(account string) ([]storage.InstallationRecord, error) {
	var rows []installationRow
	if err := t.sel(&rows, `SELECT `+installationCols+` FROM installations WHERE account = ? ORDER BY id`, account); err != nil {
		return nil, err
	}
	out := make([]storage.InstallationRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}
