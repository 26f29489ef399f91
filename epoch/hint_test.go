package epoch

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// TestHinter: a Hinter gives the slot hints SlotHint (version 3) and LegacySlotHint
// (version 2) give, a block's Hinter those of its version, and the version 3 hints of one
// event are distinct for distinct installations (one AES block: a permutation).
func TestHinter(t *testing.T) {
	e := testID("event")
	h, l := NewHinter(e), LegacyHinter(e)
	seen := map[[HintSize]byte]bool{}
	for i := range 2000 {
		in := Installation{byte(i), byte(i >> 8), 7}
		if h.Hint(in) != SlotHint(e, in) || l.Hint(in) != LegacySlotHint(e, in) {
			t.Fatal("a Hinter disagrees with its one-shot function")
		}
		if SlotHint(e, in) == LegacySlotHint(e, in) {
			t.Fatal("version 3 and version 2 hints agree")
		}
		if seen[h.Hint(in)] {
			t.Fatal("two installations share a version 3 hint")
		}
		seen[h.Hint(in)] = true
	}
	if SlotHint(testID("other"), Installation{1}) == SlotHint(e, Installation{1}) {
		t.Fatal("hints do not depend on the event")
	}
	kb := KeyBlock{Event: e}
	if kh := kb.Hinter(); kh.Hint(Installation{3}) != SlotHint(e, Installation{3}) {
		t.Fatal("a version 3 block's Hinter")
	}
	kb.LegacyHints = true
	if kh := kb.Hinter(); kh.Hint(Installation{3}) != LegacySlotHint(e, Installation{3}) {
		t.Fatal("a version 2 block's Hinter")
	}
}

// TestKeyBlockVersions: blocks are made as version 5 (a rekey naming membership heads, its
// id committing to its prev and heads) and read as such; a version 4 block (LegacyHeads:
// no heads, the id committing to its prev), a version 3 block (LegacyID: the legacy rekey
// id) and a version 2 block (LegacyHints too) are read and encode as their version again;
// a rekey id of another formula is a mismatch in each; other versions are refused.
func TestKeyBlockVersions(t *testing.T) {
	g := testID("group")
	nonce := [NonceSize]byte{7}
	prev := mustFrontier(t, testID("a"))
	heads := mustFrontier(t, testID("h1"), testID("h2"))
	for _, v := range []byte{BlockVersion, PrevIDVersion, LegacyIDVersion, Version} {
		b := NewRekeyHeads(g, Installation{1}, nonce, prev, heads)
		b.LegacyHeads, b.LegacyID, b.LegacyHints = v != BlockVersion, v <= LegacyIDVersion, v == Version
		switch {
		case b.LegacyID:
			b.Heads, b.Event = nil, LegacyRekeyID(g, Installation{1}, nonce)
		case b.LegacyHeads:
			b.Heads, b.Event = nil, RekeyID(g, Installation{1}, nonce, prev)
		}
		b.Slots = []Slot{{Hint: SlotHint(b.Event, Installation{2}), Kind: SlotSession, Message: []byte{1}}}
		enc, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if enc[0] != v {
			t.Fatalf("version byte %d, want %d", enc[0], v)
		}
		p, err := ParseKeyBlock(g, enc)
		if err != nil || p.LegacyHints != b.LegacyHints || p.LegacyID != b.LegacyID || p.LegacyHeads != b.LegacyHeads ||
			(p.Origin() == nil) != b.LegacyID || !p.Heads.Equal(b.Heads) {
			t.Fatalf("version %d: parsed %+v, %v", v, p, err)
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("version %d: re-encoding differs (%v)", v, err)
		}
		other := RekeyID(g, Installation{1}, nonce, prev) // another formula's id
		if b.LegacyHeads && !b.LegacyID {
			other = RekeyHeadsID(g, Installation{1}, nonce, prev, nil)
		}
		b.Event = other
		wrong, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseKeyBlock(g, wrong); !errors.Is(err, ErrMismatch) {
			t.Fatalf("version %d: a rekey id of the other formula: %v", v, err)
		}
		for _, bad := range []byte{0, 1, 6, 0xff} {
			if _, err := ParseKeyBlock(g, append([]byte{bad}, enc[1:]...)); err == nil {
				t.Fatalf("version %d accepted", bad)
			}
		}
	}
}

// TestRekeyIDCommitsToPrev: a rekey's id depends on its prev set, and a block or a join entry
// giving it another prev is a mismatch (welid; review 5).
func TestRekeyIDCommitsToPrev(t *testing.T) {
	g, a, b := testID("group"), testID("a"), testID("b")
	nonce := [NonceSize]byte{9}
	p1, p2 := mustFrontier(t, a), mustFrontier(t, a, b)
	if RekeyID(g, Installation{1}, nonce, p1) == RekeyID(g, Installation{1}, nonce, p2) ||
		RekeyID(g, Installation{1}, nonce, p1) == RekeyID(g, Installation{1}, nonce, nil) {
		t.Fatal("the rekey id does not depend on the prev")
	}
	kb := NewRekey(g, Installation{1}, nonce, p1)
	kb.Prev = p2
	enc, err := kb.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKeyBlock(g, enc); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a block with another prev: %v", err)
	}
	s := NewSchedule(g)
	if err := s.Apply(Event{ID: a}); err != nil {
		t.Fatal(err)
	}
	kb = NewRekey(g, Installation{1}, nonce, p1)
	if err := s.Apply(Event{ID: kb.Event, Prev: p1, Rekey: kb.Origin()}); err != nil {
		t.Fatal(err)
	}
	seed := Seed{1}
	j, err := s.JoinFor(kb.Event, &seed)
	if err != nil || len(j) != 1 || j[0].Rekey == nil || !reflect.DeepEqual(*j[0].Rekey, *kb.Origin()) {
		t.Fatalf("join %+v, %v", j, err)
	}
	enc, err = j.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseJoin(g, enc); err != nil {
		t.Fatal(err)
	}
	for _, prev := range []Frontier{nil, p2} {
		j[0].Prev = prev
		enc, err := j.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseJoin(g, enc); !errors.Is(err, ErrMismatch) {
			t.Fatalf("a join entry with prev %d ids: %v", len(prev), err)
		}
		if _, err := NewScheduleFromJoin(g, j); !errors.Is(err, ErrMismatch) {
			t.Fatalf("a newcomer's join entry with prev %d ids: %v", len(prev), err)
		}
	}
	// The schedule keeps the origin across its encoding (state version 2).
	enc, err = s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Schedule
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if j2, err := back.JoinFor(kb.Event, &seed); err != nil || j2[0].Rekey == nil || !reflect.DeepEqual(*j2[0].Rekey, *kb.Origin()) {
		t.Fatalf("decoded schedule's join %+v, %v", j2, err)
	}
}

// TestParseKeyBlockSlotsExact: a parsed block's slots are allocated at their number (a
// guess from the smallest slot size allocated about twice what 1000 slots need, issue
// 13), for every slot kind and for slots cut short.
func TestParseKeyBlockSlotsExact(t *testing.T) {
	g := testID("group")
	b := NewRekey(g, Installation{1}, [NonceSize]byte{}, mustFrontier(t, testID("a")))
	for i := range 1000 {
		b.Slots = append(b.Slots, Slot{Hint: SlotHint(b.Event, Installation{byte(i), byte(i >> 8)}), Kind: byte(i % 3),
			X3DHHeader: bytes.Repeat([]byte{1}, 40*(i%3)), Message: bytes.Repeat([]byte{2}, 91)})
	}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseKeyBlock(g, enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Slots) != 1000 || cap(p.Slots) != len(p.Slots) {
		t.Fatalf("%d slots in a slice of capacity %d", len(p.Slots), cap(p.Slots))
	}
	sl := enc[b.HeaderSize():]
	for i := range len(sl) {
		if n := countSlots(sl[:i]); n > 1000 {
			t.Fatalf("%d slots counted in %d bytes", n, i)
		}
	}
}

// TestHinterNoAllocations: a hint costs no allocation (the heal check computes one per
// member installation for every key event received).
func TestHinterNoAllocations(t *testing.T) {
	h := NewHinter(testID("event"))
	var sink [HintSize]byte
	if n := testing.AllocsPerRun(100, func() { sink = h.Hint(Installation{9}) }); n != 0 {
		t.Fatalf("%v allocations per hint", n)
	}
	_ = sink
}

// TestRekeyHeadsKept: a version 5 rekey's membership heads are what its id commits to
// (another head is a mismatch, in a block and in a join entry), and the schedule keeps them
// for the frontier rekey (Heads) across its encoding and into a newcomer's schedule from a
// join (auth9: a receiver judges a later rekey naming it by them).
func TestRekeyHeadsKept(t *testing.T) {
	g, a := testID("group"), testID("a")
	nonce := [NonceSize]byte{5}
	prev, heads := mustFrontier(t, a), mustFrontier(t, testID("h1"), testID("h2"))
	kb := NewRekeyHeads(g, Installation{1}, nonce, prev, heads)
	if kb.Event == NewRekey(g, Installation{1}, nonce, prev).Event {
		t.Fatal("the rekey id does not depend on the heads")
	}
	other := kb
	other.Heads = mustFrontier(t, testID("h1"))
	enc, err := other.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKeyBlock(g, enc); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a block with other heads: %v", err)
	}
	s := NewSchedule(g)
	if err := s.Apply(Event{ID: a}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(Event{ID: kb.Event, Prev: prev, Rekey: kb.Origin()}); err != nil {
		t.Fatal(err)
	}
	if h, au, ok := s.Heads(kb.Event); !ok || !h.Equal(heads) || au != (Installation{1}) {
		t.Fatalf("schedule heads %x, %v", h, ok)
	}
	if _, _, ok := s.Heads(a); ok {
		t.Fatal("heads for an event that left the frontier")
	}
	enc, err = s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Schedule
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if h, _, ok := back.Heads(kb.Event); !ok || !h.Equal(heads) {
		t.Fatalf("decoded schedule heads %x, %v", h, ok)
	}
	seed := Seed{1}
	j, err := s.JoinFor(kb.Event, &seed)
	if err != nil {
		t.Fatal(err)
	}
	enc, err = j.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	pj, err := ParseJoin(g, enc)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewScheduleFromJoin(g, pj)
	if err != nil {
		t.Fatal(err)
	}
	if h, _, ok := n.Heads(kb.Event); !ok || !h.Equal(heads) {
		t.Fatalf("newcomer's schedule heads %x, %v", h, ok)
	}
	j[0].Rekey.Heads = mustFrontier(t, testID("h2"))
	if enc, err = j.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseJoin(g, enc); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a join entry with other heads: %v", err)
	}
}
