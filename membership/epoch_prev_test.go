package membership_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
)

// TestEpochPrevField: field 103 (the epoch prev digest of a membership key event's key
// block) is written after 101 and 102 as 35 bytes (tag 2, length 1, digest 32), read back
// into EpochPrev from the signed payload, kept by status-go's decoder as an unknown field
// (its fields 1-6 unchanged), and so part of the event id. A field 103 that is not 32
// bytes, comes twice or has another wire type reads as none (EpochPrev nil: the engine
// refuses such an event's key block as uncommitted) and the rules apply the event as
// versions before field 103 do, so that versions agree on the membership. An event without
// it is the bytes it was before field 103 existed.
func TestEpochPrevField(t *testing.T) {
	d := newDAG(t, "epoch-prev")
	g := d.evs["genesis"]
	digest := bytes.Repeat([]byte{0xd1}, m.EpochPrevSize)
	plain := m.Event{Type: m.MembersAdded, Clock: 200, Members: m.MembersOf(pubs("bob")...), Parents: []m.EventID{g.ID()}}
	without := sign(t, "alice", d.chat, plain)
	with := plain
	with.EpochPrev = digest
	signed := sign(t, "alice", d.chat, with)
	if got := len(signed.Payload()) - len(without.Payload()); got != 35 {
		t.Fatalf("field 103 adds %d bytes, want 35", got)
	}
	if !bytes.HasPrefix(signed.Payload(), without.Payload()) {
		t.Fatal("field 103 not appended after the other fields")
	}
	if signed.ID() == without.ID() {
		t.Fatal("the event id does not commit to field 103")
	}
	msg, err := m.ParseMessage(encodeRaw(t, d.chat, signed.Raw()))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Events[0].EpochPrev; !bytes.Equal(got, digest) {
		t.Fatalf("EpochPrev read back %x, want %x", got, digest)
	}
	if got := msg.Events[0].ID(); got != signed.ID() {
		t.Fatal("parsed event id differs")
	}
	// status-go's view: fields 1-6 as without it, 103 kept inside the payload.
	var sg, sgPlain pb.MembershipUpdateEvent
	if err := proto.Unmarshal(signed.Payload(), &sg); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(without.Payload(), &sgPlain); err != nil {
		t.Fatal(err)
	}
	if sg.Clock != sgPlain.Clock || sg.Type != sgPlain.Type || len(sg.Members) != len(sgPlain.Members) {
		t.Fatal("status-go fields changed by field 103")
	}
	if re, err := (proto.MarshalOptions{Deterministic: true}).Marshal(&sg); err != nil || !bytes.Equal(re, signed.Payload()) {
		t.Fatalf("status-go re-encoding drops or moves field 103 (%v)", err)
	}
	if st := d.derive(g, signed); len(st.Events) != 2 {
		t.Fatalf("an event with field 103 not applied: %d events", len(st.Events))
	}
	bad := func(extra []byte) []byte { return append(bytes.Clone(without.Payload()), extra...) }
	tag := protowire.AppendTag(nil, m.FieldEpochPrev, protowire.BytesType)
	one := protowire.AppendBytes(bytes.Clone(tag), digest)
	for name, payload := range map[string][]byte{
		"31 bytes": bad(protowire.AppendBytes(bytes.Clone(tag), digest[:31])),
		"33 bytes": bad(protowire.AppendBytes(bytes.Clone(tag), append(bytes.Clone(digest), 0))),
		"twice":    bad(append(bytes.Clone(one), one...)),
		"varint":   bad(protowire.AppendVarint(protowire.AppendTag(nil, m.FieldEpochPrev, protowire.VarintType), 7)),
	} {
		e := signPayload(t, "alice", d.chat, payload)
		if e.EpochPrev != nil {
			t.Errorf("%s: a malformed field 103 read as %x", name, e.EpochPrev)
		}
		if st := d.derive(g, e); len(st.Events) != 2 {
			t.Errorf("%s: an event with a malformed field 103 not applied (%d events)", name, len(st.Events))
		}
	}
	for _, n := range []int{1, 31, 33} {
		if _, err := m.SignEvent(actors["alice"].key, d.chat, m.Event{Type: m.NameChanged, Name: "x", Clock: 1, EpochPrev: make([]byte, n)}); err == nil {
			t.Errorf("signed an event with a field 103 of %d bytes", n)
		}
	}
}
