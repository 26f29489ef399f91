package protocol

import (
	"context"
	"slices"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// SnapshotForTest has c sign (without applying or sending it) a MEMBERS_ADDED of account
// add in group g and returns the snapshot an add Welcome would carry for it: the state
// the add leads to from c's, carrying the add. edit (if not nil) changes the base before
// it is encoded.
func SnapshotForTest(c *Client, g GroupID, add string, edit func(*membership.Base)) ([]byte, error) {
	var out []byte
	err := c.tx(context.Background(), func(t *txn) error {
		rec, _, snap, err := t.addSnapshotForTest(g, add)
		if err != nil {
			return err
		}
		b := *snap.Base
		if edit != nil {
			edit(&b)
		}
		out, err = (&membership.State{ChatID: rec.ChatID, Base: &b, Events: b.Events}).MarshalSnapshot()
		return err
	})
	return out, err
}

// SendSnapshotWelcomeForTest has c send installation to a snapshot add Welcome of group g
// (c's record: secret, buckets) carrying snap and a join of a fresh rekey of c's frontier,
// and publishes it.
func SendSnapshotWelcomeForTest(c *Client, to InstallationID, g GroupID, snap []byte) error {
	join, err := JoinForTest(c, g)
	if err != nil {
		return err
	}
	jb, err := join.MarshalBinary()
	if err != nil {
		return err
	}
	var outs []*storage.OutboxRecord
	err = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.Group(g)
		if err != nil {
			return err
		}
		body, err := (&wire.WelcomeV2{GroupID: g, ChatID: rec.ChatID, Secret: rec.Secret, Buckets: rec.Buckets,
			SentAt: uint64(c.now().UnixMilli()), Join: jb, Snapshot: snap}).Marshal()
		if err != nil {
			return err
		}
		in, err := t.Installation(to)
		if err != nil {
			return err
		}
		outs, err = t.sendWelcomesV2([]*storage.InstallationRecord{in}, [][]byte{body}, "")
		return err
	})
	c.publishIDs(context.Background(), outs)
	return err
}

// BasedForTest reports whether c holds group g from a snapshot (its state is based).
func BasedForTest(c *Client, g GroupID) bool {
	based := false
	_ = c.tx(context.Background(), func(t *txn) error {
		_, gc, err := t.group(g)
		if err == nil {
			based = t.stateOf(gc).Base != nil
		}
		return err
	})
	return based
}

// WithSnapshotsAlways makes every add Welcome carry a snapshot, even when the log is
// smaller (small test groups would otherwise never hold a group from a snapshot).
func WithSnapshotsAlways() Option { return func(o *options) { o.snapshots = true } }

// addSnapshotForTest has the client sign (without applying or sending it) a MEMBERS_ADDED of
// account add in group g and returns the group's record, the state the add leads to from
// ours and the snapshot an add Welcome would carry for it (the add and the heads' events).
func (t *txn) addSnapshotForTest(g GroupID, add string) (*storage.GroupRecord, membership.State, membership.State, error) {
	rec, gc, err := t.group(g)
	if err != nil {
		return nil, membership.State{}, membership.State{}, err
	}
	st := gc.state
	signed, err := t.c.signEvents(rec.ChatID, &st, membership.Event{Type: membership.MembersAdded, Members: membership.MembersOf([]string{add}...)})
	if err != nil {
		return nil, membership.State{}, membership.State{}, err
	}
	next, err := membership.Extend(&st, signed)
	if err != nil {
		return nil, membership.State{}, membership.State{}, err
	}
	carry := signed
	for i := range next.Events {
		if slices.Contains(next.Heads, next.Events[i].ID()) {
			carry = append(carry, next.Events[i])
		}
	}
	snap, err := membership.SnapshotOf(&next, carry)
	return rec, next, snap, err
}
