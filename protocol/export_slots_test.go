package protocol

import (
	"context"
	"errors"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// OpenSlotForTest opens c's slot in key block block of group g as processKeyBlock does
// (the same openSeedSlot, on the session with the block's author), without applying the
// block's event (c need not hold the group). A slot that does not open keeps what the
// attempt stored (the test checks it stored nothing); one that opens is rolled back.
func OpenSlotForTest(c *Client, g GroupID, block []byte) error {
	var openErr error
	err := c.tx(context.Background(), func(t *txn) error {
		kb, err := epoch.ParseKeyBlock(epoch.ID(g), block)
		if err != nil {
			return err
		}
		author, err := t.Installation(InstallationID(kb.Author))
		if err != nil {
			return err
		}
		sl, ok := kb.Find(epoch.SlotHint(kb.Event, epoch.Installation(c.acct.inst)))
		if !ok {
			return errNotForUs
		}
		if _, openErr = t.openSeedSlot(&storage.GroupRecord{ID: g}, kb, sl, author); openErr != nil {
			return nil // committed, as processKeyBlock commits after a slot that does not open
		}
		return errForgeDone
	})
	switch {
	case errors.Is(err, errForgeDone):
		return nil
	case err != nil:
		return err
	}
	return openErr
}

// ProcessKeyBlockForTest applies key block block of group g at c as a received block
// alone is (processKeyBlock: the event, then our slot).
func ProcessKeyBlockForTest(c *Client, g GroupID, block []byte) error {
	return c.tx(context.Background(), func(t *txn) error {
		rec, gc, err := t.groupHot(g)
		if err != nil {
			return err
		}
		kb, err := epoch.ParseKeyBlock(epoch.ID(g), block)
		if err != nil {
			return err
		}
		return t.processKeyBlock(rec, gc, kb)
	})
}
