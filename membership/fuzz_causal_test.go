package membership_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	m "github.com/chorus-im/chorus/membership"
)

// FuzzCausalEvent signs an arbitrary event payload by an admin of a causal group and
// derives the group with it (decoding of the parents, version and epoch prev fields, the
// causal rules): no panic; the state re-derives to itself; a parsed event's parents and
// epoch prev re-encode to themselves.
func FuzzCausalEvent(f *testing.F) {
	d := newDAG(f, "fuzz")
	add := d.add("add", "alice", ev(m.MembersAdded, 200, "bob"), "genesis")
	for _, e := range []m.Event{add, d.evs["genesis"]} {
		f.Add(e.Payload())
	}
	f.Add(append(encodeEvent(f, ev(m.MembersAdded, 300, "carol")), 0xaa, 0x06, 32))
	gid := d.evs["genesis"].ID()
	f.Add(append(append(encodeEvent(f, ev(m.MembersAdded, 300, "carol")), 0xaa, 0x06, 32), gid[:]...))
	f.Add([]byte{0xb0, 0x06, 0x02})
	withPrev := append(encodeEvent(f, ev(m.MembersAdded, 300, "carol")), 0xba, 0x06, 32) // field 103
	f.Add(append(withPrev, gid[:]...))
	f.Add(append(append(withPrev, gid[:]...), append([]byte{0xba, 0x06, 32}, gid[:]...)...)) // twice: none
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) == 0 {
			return
		}
		sig, err := crypto.Sign(crypto.Keccak256([]byte(d.chat), payload), actors["alice"].key)
		if err != nil {
			t.Fatal(err)
		}
		// Unparsed: Derive verifies and decodes it (and discards what does not decode).
		e := entryEvent(append(sig, payload...), m.Event{ChatID: d.chat})
		if msg, err := m.ParseMessage(encodeRaw(t, d.chat, e.Raw())); err == nil {
			e = msg.Events[0]
		}
		st, err := m.Derive(d.chat, []m.Event{d.evs["genesis"], add, e}, m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		again, err := m.Derive(d.chat, st.Log(), m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		if !sameState(st, again) {
			t.Fatal("state does not re-derive to itself")
		}
		if e.EpochPrev != nil {
			re, err := m.SignEvent(actors["alice"].key, d.chat, m.Event{Type: m.NameChanged, Name: "x", Clock: 1, EpochPrev: e.EpochPrev})
			if err != nil || !bytes.Equal(re.EpochPrev, e.EpochPrev) || len(e.EpochPrev) != m.EpochPrevSize {
				t.Fatalf("epoch prev does not round-trip: %v", err)
			}
		}
		if len(e.Parents) > 0 {
			re, err := m.SignEvent(actors["alice"].key, d.chat, m.Event{Type: m.NameChanged, Name: "x", Clock: 1, Parents: e.Parents})
			if err != nil || !slices.Equal(re.Parents, e.Parents) {
				t.Fatalf("parents do not round-trip: %v", err)
			}
		}
	})
}
