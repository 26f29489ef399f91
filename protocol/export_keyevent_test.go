package protocol

import (
	"context"
	"errors"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// SetCommitHookForTest makes every transaction of c run f last: an error fails the
// transaction (rolled back, as a store refusing the commit would). nil removes it.
func SetCommitHookForTest(c *Client, f func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookCommit = f
}

// CachedGroupForTest returns what c's in-memory cache holds of group g: its members and
// the id of its current epoch (zero: none).
func CachedGroupForTest(c *Client, g GroupID) (members []string, current epoch.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gc := c.groups[g]
	if gc == nil {
		return nil, epoch.ID{}
	}
	if gc.cur != nil {
		current = gc.cur.ID
	}
	return gc.state.Members.Strings(), current
}

// MemberInstallationsForTest returns the unrevoked installations of group g's members
// as the key-event checks see them (through the group's cache).
func MemberInstallationsForTest(c *Client, g GroupID) ([]storage.InstallationRecord, error) {
	var out []storage.InstallationRecord
	err := c.tx(context.Background(), func(t *txn) error {
		gc := c.groups[g]
		var err error
		out, err = t.memberInstallationsOf(gc, gc.state.Members)
		return err
	})
	return out, err
}

// FailedInstallationWriteForTest runs a transaction that stores rec, reads the
// installations of group g's members (as the key-event checks do) and then fails; it
// returns what that read saw.
func FailedInstallationWriteForTest(c *Client, g GroupID, rec storage.InstallationRecord) []storage.InstallationRecord {
	var seen []storage.InstallationRecord
	_ = c.tx(context.Background(), func(t *txn) error {
		if err := t.PutInstallation(&rec); err != nil {
			return err
		}
		gc := c.groups[g]
		seen, _ = t.memberInstallationsOf(gc, gc.state.Members)
		return errors.New("injected failure")
	})
	return seen
}

// InstallationForTest returns c's stored record of installation id.
func InstallationForTest(c *Client, id InstallationID) (*storage.InstallationRecord, error) {
	var out *storage.InstallationRecord
	err := c.tx(context.Background(), func(t *txn) error {
		var err error
		out, err = t.Installation(id)
		return err
	})
	return out, err
}

// PutInstallationForTest stores rec in a transaction of its own.
func PutInstallationForTest(c *Client, rec storage.InstallationRecord) error {
	return c.tx(context.Background(), func(t *txn) error { return t.PutInstallation(&rec) })
}

// StoredLogForTest returns group g's stored event log and the encoding of the membership
// state c's cache holds of it.
func StoredLogForTest(c *Client, g GroupID) (stored, cached []byte, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		r, err := t.Group(g)
		if err != nil {
			return err
		}
		stored = r.Events
		cached, err = encodeEvents(&c.groups[g].state)
		return err
	})
	return stored, cached, err
}

// LogMarkForTest returns how many applied events c's mark of group g's stored log names
// (-1: none; membership_log.go).
func LogMarkForTest(c *Client, g GroupID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.hot.logs[g]; ok {
		return m.events
	}
	return -1
}

// EventMemoForTest returns how many events c's id index of group g's applied events
// holds (-1: none; event_memo.go), its ids, and whether it indexes exactly the events of
// the cached state (each under its id).
func EventMemoForTest(c *Client, g GroupID) (n int, ids []epoch.ID, exact bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.hot.events[g]
	if m == nil {
		return -1, nil, false
	}
	gc := c.groups[g]
	exact = gc != nil && m.prefixOf(&gc.state) == len(gc.state.Events)
	if exact {
		for i := range gc.state.Events {
			id := epoch.ID(gc.state.Events[i].ID())
			if j, ok := m.lookup(id); !ok || j != i {
				exact = false
			}
		}
	}
	return m.n, slices.Clone(m.ids[:m.n]), exact
}

// DepartureInstallationsForTest returns account's installations as a departure in group g
// finds them (departV2: from the group's cached member installations; hit false when that
// cache does not answer) and as the store holds them (ID, Account and Revoked only).
func DepartureInstallationsForTest(c *Client, g GroupID, account string) (cached []storage.InstallationRecord, hit bool, stored []storage.InstallationRecord, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		cached, hit = t.accountInstallations(c.groups[g], account)
		ins, err := t.InstallationsOf(account)
		for _, in := range ins {
			stored = append(stored, storage.InstallationRecord{ID: in.ID, Account: in.Account, Revoked: in.Revoked})
		}
		return err
	})
	return cached, hit, stored, err
}
