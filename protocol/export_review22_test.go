package protocol

import (
	"context"
	"fmt"
)

// HeldForTest returns, for c's stored schedule of group g, how many key event ids it holds
// on account's word (epoch.Schedule.Held of keyAuthor(account)), on every author's word
// together (HeldAll), and how many ids it knows only as named as prev (Unseen). A state
// that does not load panics (failing the test): zeros would pass for "nothing held".
func HeldForTest(c *Client, g GroupID, account string) (by, all, unseen int) {
	err := c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, _, err := loadV2(rec)
		if err != nil {
			return err
		}
		by, all, unseen = s.Held(keyAuthor(account)), s.HeldAll(), s.Unseen()
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("HeldForTest: group state: %v", err))
	}
	return by, all, unseen
}

// RefusedForTest returns the refused uncommitted membership key events c lists for group g
// (epochMeta.Refused) and how many of them its schedule does not know yet (panics, as
// HeldForTest, on a state that does not load).
func RefusedForTest(c *Client, g GroupID) (listed, open int) {
	err := c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, m, err := loadV2(rec)
		if err != nil {
			return err
		}
		_, gc, err := t.group(g)
		if err != nil {
			return err
		}
		listed, open = len(m.Refused), len(m.refused(s, t.stateOf(gc)))
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("RefusedForTest: group state: %v", err))
	}
	return listed, open
}
