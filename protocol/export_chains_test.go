package protocol

import (
	"context"
	"slices"

	"github.com/chorus-im/chorus/protocol/storage"
)

// SenderChainsForTest returns the epochs of c's stored sending chains of group g, and
// the epochs a key event keeps chains of now (the openable ones: candidates and live).
func SenderChainsForTest(c *Client, g GroupID) (stored, keep [][32]byte, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		chains, err := t.StoreTx.SenderChains(g)
		if err != nil {
			return err
		}
		for _, r := range chains {
			stored = append(stored, r.Epoch)
		}
		s, m, err := loadV2(rec)
		if err != nil {
			return err
		}
		for _, e := range openable(s, m) {
			if !slices.Contains(keep, [32]byte(e.ID)) {
				keep = append(keep, e.ID)
			}
		}
		return nil
	})
	return stored, keep, err
}

// SetDepartNowForTest makes c record a removal's departure at once (departV2), not with
// the removal's key block.
func SetDepartNowForTest(c *Client, now bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.departNow = now
}

// KeysForTest returns c's stored key schedule and bookkeeping of group g.
func KeysForTest(c *Client, g GroupID) (schedule, meta []byte, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.Group(g)
		if err != nil {
			return err
		}
		schedule, meta = rec.Schedule, rec.EpochMeta
		return nil
	})
	return schedule, meta, err
}

// UncoveredInMetaForTest decodes a stored bookkeeping (KeysForTest's meta; binary or
// JSON) and returns how many departed installations no key event excluded yet.
func UncoveredInMetaForTest(meta []byte) (int, error) {
	m, err := loadMeta(&storage.GroupRecord{EpochMeta: meta})
	if err != nil {
		return 0, err
	}
	return len(m.Uncovered), nil
}
