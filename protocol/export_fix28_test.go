package protocol

import (
	"context"
	"fmt"

	"github.com/chorus-im/chorus/epoch"
)

// KeptForTest returns the ids of the refused key events whose seeds c keeps for opening
// (epochMeta.Kept) in group g, and for each whether c's schedule applied it, knows it
// (applied or superseded) and has it in its frontier (panics on a state that does not load).
func KeptForTest(c *Client, g GroupID) (ids []epoch.ID, applied, known, inFrontier []bool) {
	err := c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, m, err := loadV2(rec)
		if err != nil {
			return err
		}
		for _, k := range m.Kept {
			id, ok := hexID(k.ID)
			if !ok {
				return fmt.Errorf("kept id %q", k.ID)
			}
			ids = append(ids, id)
			applied = append(applied, s.Applied(id))
			known = append(known, s.Applied(id) || s.Superseded(id))
			inFrontier = append(inFrontier, s.Frontier().Contains(id))
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("KeptForTest: group state: %v", err))
	}
	return ids, applied, known, inFrontier
}

// DispatchForTest handles one envelope in a transaction of c's as a receive does, without
// its replay marker (an envelope seen before is handled again: a replay from history).
func DispatchForTest(c *Client, topic string, payload []byte) error {
	return c.tx(context.Background(), func(t *txn) error { return t.dispatch(topic, payload) })
}
