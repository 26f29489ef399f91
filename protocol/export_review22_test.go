package protocol

import "context"

// HeldForTest returns, for c's stored schedule of group g, how many key event ids it holds
// on account's word (epoch.Schedule.Held of keyAuthor(account)), on every author's word
// together (HeldAll), and how many ids it knows only as named as prev (Unseen).
func HeldForTest(c *Client, g GroupID, account string) (by, all, unseen int) {
	_ = c.tx(context.Background(), func(t *txn) error {
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
	return by, all, unseen
}

// RefusedForTest returns the refused uncommitted membership key events c lists for group g
// (epochMeta.Refused) and how many of them its schedule does not know yet.
func RefusedForTest(c *Client, g GroupID) (listed, open int) {
	_ = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, m, err := loadV2(rec)
		if err != nil {
			return err
		}
		listed, open = len(m.Refused), len(m.refused(s))
		return nil
	})
	return listed, open
}
