package membership_test

import (
	"bytes"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// FuzzParseSnapshot decodes arbitrary bytes as a snapshot (an add Welcome's based state,
// or a based group as stored): no panic; what decodes is a based state that re-encodes
// to bytes that decode to the same state.
func FuzzParseSnapshot(f *testing.F) {
	d := newDAG(f, "fuzz-snapshot")
	add := d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol"), "genesis")
	st := d.derive()
	snap, err := m.SnapshotOf(&st, []m.Event{add})
	if err != nil {
		f.Fatal(err)
	}
	enc, err := snap.MarshalSnapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	later := d.add("name", "bob", m.Event{Type: m.NameChanged, Name: "x", Clock: 102}, "add")
	if next, err := m.Extend(&snap, []m.Event{later}); err == nil {
		if b, err := next.MarshalSnapshot(); err == nil {
			f.Add(b)
		}
	}
	f.Add(enc[:len(enc)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := m.ParseSnapshot(d.chat, data)
		if err != nil {
			return
		}
		if st.Base == nil {
			t.Fatal("a parsed snapshot is not based")
		}
		b, err := st.MarshalSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		again, err := m.ParseSnapshot(d.chat, b)
		if err != nil || !sameState(st, again) {
			t.Fatalf("re-encoded snapshot does not decode to the same state: %v", err)
		}
		if b2, _ := again.MarshalSnapshot(); !bytes.Equal(b, b2) {
			t.Fatal("encoding not stable")
		}
	})
}
