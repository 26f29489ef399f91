package protocol

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/membership"
)

// TestEventMemoPrefix: the id index's check against a state (prefixOf) matches a state
// holding the very events it indexed (their signatures shared), a copy of them (other
// slices, same bytes: compared byte by byte, as before), and the longer log of a later
// state; it refuses a log whose event at some place differs (another signature, author,
// or a shorter log), as a rolled-back or replaced log is.
func TestEventMemoPrefix(t *testing.T) {
	key, err := crypto.GenerateKey()
	must(t, err)
	const chat = "memo-chat"
	var evs []membership.Event
	for i := range 40 {
		ev, err := membership.SignEvent(key, chat, membership.Event{Clock: uint64(i + 1), Type: membership.NameChanged, Name: "n"})
		must(t, err)
		evs = append(evs, ev)
	}
	st := &membership.State{ChatID: chat, Events: evs[:30]}
	m := (*eventMemo)(nil).extend(st, 0)
	if n := m.prefixOf(st); n != 30 {
		t.Fatalf("the indexed state: prefix %d, want 30", n)
	}
	deep := func(src []membership.Event) []membership.Event {
		out := slices.Clone(src)
		for i := range out {
			out[i].Signature = bytes.Clone(out[i].Signature)
			out[i].From = string([]byte(out[i].From))
		}
		return out
	}
	if n := m.prefixOf(&membership.State{ChatID: chat, Events: deep(evs)}); n != 30 {
		t.Fatalf("a copy of a longer log: prefix %d, want 30", n)
	}
	for i := range 30 {
		changed := deep(evs[:30])
		changed[i].Signature[i%len(changed[i].Signature)] ^= 1
		if n := m.prefixOf(&membership.State{ChatID: chat, Events: changed}); n != -1 {
			t.Fatalf("a log with event %d's signature changed: prefix %d, want -1", i, n)
		}
		other := deep(evs[:30])
		other[i] = evs[30+i%10] // another event at that place
		if n := m.prefixOf(&membership.State{ChatID: chat, Events: other}); n != -1 {
			t.Fatalf("a log with another event at %d: prefix %d, want -1", i, n)
		}
	}
	if n := m.prefixOf(&membership.State{ChatID: chat, Events: evs[:29]}); n != -1 {
		t.Fatalf("a shorter log: prefix %d, want -1", n)
	}
	if n := m.prefixOf(&membership.State{ChatID: "other", Events: evs}); n != -1 {
		t.Fatalf("another chat: prefix %d, want -1", n)
	}
	ext := m.extend(&membership.State{ChatID: chat, Events: evs}, 30)
	for i := range evs {
		if j, ok := ext.lookup([32]byte(evs[i].ID())); !ok || j != i {
			t.Fatalf("extended index: event %d at %d (%v)", i, j, ok)
		}
	}
	if n := m.prefixOf(st); n != 30 {
		t.Fatalf("the memo an extension came from: prefix %d, want 30", n)
	}
}
