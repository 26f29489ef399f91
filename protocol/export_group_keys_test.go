package protocol

import (
	"context"
	"errors"
	"slices"
)

var errKeysRollback = errors.New("rolled back")

// RewriteGroupKeys runs one transaction that writes g's state twice with new bookkeeping
// (the stored one with one, then two, spaces appended: the same JSON), reading the group
// back through the store (Group, which bypasses the view) after the second if read, and
// commits it if commit. It returns the bookkeeping that read saw, the stored one before,
// and the last one written.
func RewriteGroupKeys(c *Client, g GroupID, read, commit bool) (seen, before, last []byte, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		gs, err := t.GroupState(g)
		if err != nil {
			return err
		}
		before = gs.EpochMeta
		for _, pad := range []string{" ", "  "} {
			gs.EpochMeta = append(slices.Clone(before), pad...)
			if err := t.PutGroupState(gs); err != nil {
				return err
			}
		}
		last = gs.EpochMeta
		if read {
			full, err := t.Group(g)
			if err != nil {
				return err
			}
			seen = full.EpochMeta
		}
		if !commit {
			return errKeysRollback
		}
		return nil
	})
	if errors.Is(err, errKeysRollback) {
		err = nil
	}
	return seen, before, last, err
}

// StoredGroupMeta reads g's bookkeeping from the store (not the view).
func StoredGroupMeta(c *Client, g GroupID) ([]byte, error) {
	var meta []byte
	err := c.tx(context.Background(), func(t *txn) error {
		full, err := t.StoreTx.Group(g)
		if err == nil {
			meta = full.EpochMeta
		}
		return err
	})
	return meta, err
}
