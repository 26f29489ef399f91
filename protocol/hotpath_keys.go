// A group's keys (its key schedule v2 and bookkeeping: tens of KiB in a large group)
// are stored apart from its row (issue 16/13): the view's writes put each only when it
// changed (hotpath.go, PutGroupState and PutGroupExceptLog), the keys once per
// transaction.

package protocol

import (
	"bytes"

	"github.com/chorus-im/chorus/protocol/storage"
)

// A key event's receive changes the keys twice (the membership event's departure
// bookkeeping, then the key block's schedule), and a send that heals or rekeys writes
// its group's state more than once too: the keys a transaction writes are stored once,
// the last of them, before it commits (flushKeys, from runTx). Until then the view holds
// them, and every read of a group that bypasses the view stores its keys first
// (flushKeysOf: Group, Groups, GroupState of a group not in view).

// groupKeys are a group's Schedule and EpochMeta.
type groupKeys struct{ schedule, meta []byte }

// putKeysLater records id's keys to be stored before the transaction commits.
func (t *txn) putKeysLater(id GroupID, schedule, meta []byte) {
	if t.keys == nil {
		t.keys = map[GroupID]groupKeys{}
	}
	t.keys[id] = groupKeys{schedule: schedule, meta: meta}
}

// flushKeysOf stores id's keys if this transaction holds them unwritten.
func (t *txn) flushKeysOf(id GroupID) error {
	k, ok := t.keys[id]
	if !ok {
		return nil
	}
	if err := t.StoreTx.PutGroupKeys(id, k.schedule, k.meta); err != nil {
		return err
	}
	delete(t.keys, id)
	return nil
}

// flushKeys stores every group's keys this transaction holds unwritten.
func (t *txn) flushKeys() error {
	for id := range t.keys {
		if err := t.flushKeysOf(id); err != nil {
			return err
		}
	}
	return nil
}

// Group is StoreTx.Group of what this transaction wrote.
func (t *txn) Group(id GroupID) (*storage.GroupRecord, error) {
	if err := t.flushKeysOf(id); err != nil {
		return nil, err
	}
	return t.StoreTx.Group(id)
}

// Groups is StoreTx.Groups of what this transaction wrote.
func (t *txn) Groups() ([]storage.GroupRecord, error) {
	if err := t.flushKeys(); err != nil {
		return nil, err
	}
	return t.StoreTx.Groups()
}

// PutGroupKeys is StoreTx.PutGroupKeys, followed by the view.
func (t *txn) PutGroupKeys(id GroupID, schedule, meta []byte) error {
	if err := t.StoreTx.PutGroupKeys(id, schedule, meta); err != nil {
		return err
	}
	delete(t.keys, id)
	if base, ok := t.knownGroup(id); ok {
		v := *base
		v.Schedule, v.EpochMeta = schedule, meta
		t.setGroupView(id, &v)
	}
	return nil
}

// sameGroupState reports whether g's per-message fields (those StoreTx.PutGroupState
// writes) are v's, as stored.
func sameGroupState(v, g *storage.GroupRecord) bool {
	return sameBytes(v.Sender, g.Sender) && sameBytes(v.History, g.History) && sameBytes(v.Repeat, g.Repeat) &&
		v.Rotate == g.Rotate && v.Distribute == g.Distribute && v.Clock == g.Clock &&
		v.UpdatedAt.Equal(storedTime(g.UpdatedAt)) && v.RepeatLeft == g.RepeatLeft && v.SenderLease == g.SenderLease
}

// sameButClock reports whether g differs from v at most in the columns an ordinary
// message changes (Clock, History, UpdatedAt: PutGroupClock).
func sameButClock(v, g *storage.GroupRecord) bool {
	return sameBytes(v.Sender, g.Sender) && sameBytes(v.Repeat, g.Repeat) && v.Rotate == g.Rotate &&
		v.Distribute == g.Distribute && v.RepeatLeft == g.RepeatLeft && v.SenderLease == g.SenderLease
}

// sameKeys reports whether g's Schedule and EpochMeta are v's (the same slices, the
// usual case, or equal bytes).
func sameKeys(v, g *storage.GroupRecord) bool {
	return sameBytes(v.Schedule, g.Schedule) && sameBytes(v.EpochMeta, g.EpochMeta)
}

func sameBytes(a, b []byte) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0] || bytes.Equal(a, b)
}
