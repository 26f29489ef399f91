package epoch

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"
)

func testID(label string) ID { return sha256.Sum256([]byte(label)) }

func testSeed(label string) *Seed {
	s := Seed(sha256.Sum256([]byte("seed/" + label)))
	return &s
}

func mustFrontier(t testing.TB, ids ...ID) Frontier {
	t.Helper()
	f, err := NewFrontier(ids...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func marshalState(t testing.TB, s *Schedule) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unchanged runs fn, which must fail with want, and checks the schedule did not change.
func unchanged(t *testing.T, s *Schedule, want error, fn func() error) {
	t.Helper()
	before := marshalState(t, s)
	if err := fn(); !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if !bytes.Equal(before, marshalState(t, s)) {
		t.Fatal("a failed call changed the schedule")
	}
}

func TestScheduleErrorsLeaveStateUnchanged(t *testing.T) {
	g := testID("group")
	s := NewSchedule(g)
	e0, e1 := testID("e0"), testID("e1")
	if err := s.Apply(Event{ID: e0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSeed(e0, testSeed("e0")); err != nil {
		t.Fatal(err)
	}
	unchanged(t, s, ErrDuplicate, func() error { return s.Apply(Event{ID: e0}) })
	unchanged(t, s, ErrMalformed, func() error { return s.Apply(Event{ID: e1, Prev: Frontier{e1}}) })
	unchanged(t, s, ErrMalformed, func() error {
		return s.Apply(Event{ID: e1, Prev: Frontier{testID("b"), testID("b")}})
	})
	unchanged(t, s, ErrSuperseded, func() error { return s.SetSeed(e1, testSeed("e1")) })
	unchanged(t, s, ErrMismatch, func() error { return s.SetSeed(e0, testSeed("other")) })
	x := testID("x")
	unchanged(t, s, ErrSuperseded, func() error { return s.SetContribution(e0, mustFrontier(t, e0, e1), &x) })
	// Frontier full: MaxFrontier concurrent events fit, one more does not.
	for i := range MaxFrontier - 1 {
		if err := s.Apply(Event{ID: testID(string(rune('A' + i)))}); err != nil {
			t.Fatal(err)
		}
	}
	unchanged(t, s, ErrFrontierFull, func() error { return s.Apply(Event{ID: testID("one too many")}) })
	// An event superseding part of the frontier is still accepted.
	if err := s.Apply(Event{ID: testID("merge"), Prev: mustFrontier(t, e0, testID("A"))}); err != nil {
		t.Fatal(err)
	}
	unchanged(t, s, ErrIncomplete, func() error { _, err := s.Current(); return err })
}

func TestSeedsDeletedWhenSuperseded(t *testing.T) {
	g := testID("group")
	s := NewSchedule(g)
	e0, e1 := testID("e0"), testID("e1")
	_ = s.Apply(Event{ID: e0})
	_ = s.SetSeed(e0, testSeed("e0"))
	if !s.HasSeed(e0) {
		t.Fatal("seed not held")
	}
	if err := s.Apply(Event{ID: e1, Prev: Frontier{e0}}); err != nil {
		t.Fatal(err)
	}
	if s.HasSeed(e0) || bytes.Contains(marshalState(t, s), testSeed("e0")[:]) {
		t.Fatal("the seed of a superseded event is still held")
	}
}

func TestContributionBoundToFrontier(t *testing.T) {
	g := testID("group")
	a, b, c := testID("a"), testID("b"), testID("c")
	f1, f2 := mustFrontier(t, a, b), mustFrontier(t, a, b, c)
	x1, err := Contribution(g, testSeed("b"), b, f1)
	if err != nil {
		t.Fatal(err)
	}
	x2, _ := Contribution(g, testSeed("b"), b, f2)
	xo, _ := Contribution(testID("other group"), testSeed("b"), b, f1)
	if x1 == x2 || x1 == xo {
		t.Fatal("a contribution does not depend on the frontier or the group")
	}
	if _, err := Contribution(g, testSeed("b"), c, f1); !errors.Is(err, ErrMalformed) {
		t.Fatal("contribution for an event outside the frontier accepted")
	}
	// A held contribution is dropped when the frontier changes.
	s := NewSchedule(g)
	_ = s.Apply(Event{ID: a})
	_ = s.Apply(Event{ID: b})
	_ = s.SetSeed(a, testSeed("a"))
	if err := s.SetContribution(b, f1, &x1); err != nil {
		t.Fatal(err)
	}
	e1, err := s.Current()
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Apply(Event{ID: c})
	if m := s.Missing(); len(m) != 2 {
		t.Fatalf("missing %d after the frontier changed, want 2 (b's contribution and c)", len(m))
	}
	// The members' epoch for {a, b} equals the newcomer's.
	m := NewSchedule(g)
	_ = m.Apply(Event{ID: a})
	_ = m.Apply(Event{ID: b})
	_ = m.SetSeed(a, testSeed("a"))
	_ = m.SetSeed(b, testSeed("b"))
	e2, _ := m.Current()
	if e1 != e2 {
		t.Fatal("forwarded contribution gives another epoch")
	}
	fx, ff, err := m.Forward(b)
	if err != nil || fx != x1 || !ff.Equal(f1) {
		t.Fatal("Forward differs from Contribution")
	}
}

func TestLiveEpochs(t *testing.T) {
	g := testID("group")
	s := NewSchedule(g)
	prev := Frontier(nil)
	var all []Epoch
	for i := range MaxLiveEpochs + 2 {
		id := testID(string(rune('a' + i)))
		_ = s.Apply(Event{ID: id, Prev: prev})
		_ = s.SetSeed(id, testSeed(id.String()))
		e, err := s.Current()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := s.Current()
		if again != e {
			t.Fatal("Current not stable")
		}
		all = append(all, e)
		prev = Frontier{id}
	}
	live := s.Live()
	if len(live) != MaxLiveEpochs || live[0] != all[2] || live[MaxLiveEpochs-1] != all[len(all)-1] {
		t.Fatal("live epochs are not the newest MaxLiveEpochs")
	}
	// Outer layer: a payload of a live epoch opens, of a retired one does not.
	rnd := rand.NewChaCha8([32]byte{1})
	p, err := SealOuter(rnd, &all[3], "topic", []byte("frame"))
	if err != nil {
		t.Fatal(err)
	}
	frame, ep, err := OpenOuter(live, "topic", p)
	if err != nil || ep != all[3] || string(frame) != "frame" {
		t.Fatalf("open: %v", err)
	}
	old, _ := SealOuter(rnd, &all[0], "topic", []byte("frame"))
	if _, _, err := OpenOuter(live, "topic", old); !errors.Is(err, ErrDecrypt) {
		t.Fatal("payload of a retired epoch opened")
	}
	s.Retire(all[3].ID)
	if _, _, err := OpenOuter(s.Live(), "topic", p); !errors.Is(err, ErrDecrypt) {
		t.Fatal("payload of a retired epoch opened")
	}
	if _, _, err := OpenOuter(live, "topic", p[:OuterOverhead-1]); !errors.Is(err, ErrMalformed) {
		t.Fatal("short payload accepted")
	}
	// State round trip.
	st := marshalState(t, s)
	r := NewSchedule(ID{})
	if err := r.UnmarshalBinary(st); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshalState(t, r), st) || r.Group() != g {
		t.Fatal("state round trip differs")
	}
	c := s.Clone()
	_ = c.Apply(Event{ID: testID("later"), Prev: s.Frontier()})
	if !bytes.Equal(marshalState(t, s), st) {
		t.Fatal("Clone shares state")
	}
}

func TestKeyBlockRoundTrip(t *testing.T) {
	g := testID("group")
	author := Installation{1}
	var nonce [NonceSize]byte
	b := NewRekey(g, author, nonce, mustFrontier(t, testID("a"), testID("b")))
	for i := range 6 {
		b.Slots = append(b.Slots, Slot{Hint: SlotHint(b.Event, Installation{byte(i + 2)}), Kind: byte(i % 3),
			X3DHHeader: bytes.Repeat([]byte{1}, 38*(i%3)), Message: bytes.Repeat([]byte{2}, 91)})
	}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseKeyBlock(g, enc)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := p.Find(SlotHint(b.Event, Installation{5})); !ok || s.Kind != SlotSession {
		t.Fatal("slot not found")
	}
	if s, ok := p.Find(SlotHint(b.Event, Installation{4})); !ok || s.Kind != SlotInitialCompact || len(s.X3DHHeader) != 76 {
		t.Fatal("compact initial slot not found")
	}
	if _, ok := p.Find(SlotHint(b.Event, Installation{99})); ok {
		t.Fatal("found a slot for a non-recipient")
	}
	if p.Context(g) != b.Context(g) || p.Context(g) == b.Context(testID("other")) {
		t.Fatal("slot context")
	}
	if _, err := ParseKeyBlock(testID("other"), enc); !errors.Is(err, ErrMismatch) {
		t.Fatal("rekey of another group accepted")
	}
	for i := range enc {
		if _, err := ParseKeyBlock(g, enc[:i]); err == nil {
			t.Fatalf("truncation at %d accepted", i)
		}
	}
	// Compact initial slots: u8 length prefix, non-empty, at most 255 bytes; a session
	// slot carries no header; kinds above 0x02 are refused.
	one := func(sl Slot) []byte {
		kb := NewRekey(g, author, nonce, b.Prev)
		kb.Slots = []Slot{sl}
		enc, _ := kb.MarshalBinary()
		return enc
	}
	compact := Slot{Hint: SlotHint(b.Event, Installation{2}), Kind: SlotInitialCompact, X3DHHeader: make([]byte, 38), Message: []byte{2}}
	cenc := one(compact)
	if len(cenc) != b.HeaderSize()+HintSize+1+1+38+2+1 {
		t.Fatalf("compact slot block is %d bytes", len(cenc))
	}
	for _, bad := range []Slot{
		{Kind: SlotInitialCompact, Message: []byte{2}},
		{Kind: SlotInitialCompact, X3DHHeader: make([]byte, 256), Message: []byte{2}},
		{Kind: SlotSession, X3DHHeader: []byte{1}, Message: []byte{2}},
		{Kind: 0x03, Message: []byte{2}},
	} {
		kb := NewRekey(g, author, nonce, b.Prev)
		kb.Slots = []Slot{bad}
		if _, err := kb.MarshalBinary(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("slot kind %d with %d header bytes encoded: %v", bad.Kind, len(bad.X3DHHeader), err)
		}
	}
	kindAt := b.HeaderSize() + HintSize
	for _, k := range []byte{0x03, 0xff} {
		bad := bytes.Clone(cenc)
		bad[kindAt] = k
		if _, err := ParseKeyBlock(g, bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("slot kind %#x accepted: %v", k, err)
		}
	}
	zero := bytes.Clone(cenc[:kindAt+1])
	zero = append(zero, 0, 0, 1, 2) // empty compact header
	if _, err := ParseKeyBlock(g, fixSlotsLen(t, zero, b.HeaderSize())); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty compact header accepted: %v", err)
	}
	// Slot hints are not the inbox session hints and differ per event.
	if SlotHint(testID("e1"), author) == SlotHint(testID("e2"), author) {
		t.Fatal("slot hint does not depend on the event")
	}
}

// fixSlotsLen rewrites the u32 slot-area length of a block encoding whose header is h bytes.
func fixSlotsLen(t *testing.T, enc []byte, h int) []byte {
	t.Helper()
	n := len(enc) - h
	enc[h-4], enc[h-3], enc[h-2], enc[h-1] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return enc
}

func TestSlotPlaintextSizes(t *testing.T) {
	p := SlotPlaintext{Kind: SlotSeed, Seed: *testSeed("s")}
	enc, _ := p.MarshalBinary()
	if len(enc) != SeedSlotSize {
		t.Fatalf("seed slot plaintext %d bytes, want %d", len(enc), SeedSlotSize)
	}
	for i := range enc {
		if _, err := ParseSlotPlaintext(enc[:i]); err == nil {
			t.Fatalf("truncation at %d accepted", i)
		}
	}
}

func TestRules(t *testing.T) {
	if _, ok := Designated(nil); ok {
		t.Fatal("designated among none")
	}
	if d, _ := Designated([]Installation{{3}, {1, 9}, {2}, {1, 2}}); d != (Installation{1, 2}) {
		t.Fatalf("designated %x", d)
	}
	rm, rk := FrontierEvent{ID: testID("rm"), Departs: true}, FrontierEvent{ID: testID("rk")}
	for _, c := range []struct {
		f     []FrontierEvent
		leave bool
		want  bool
	}{
		{[]FrontierEvent{rm}, false, false},     // a removal alone carries its own seed
		{[]FrontierEvent{rk}, true, true},       // a leave not yet covered
		{[]FrontierEvent{rm, rk}, false, true},  // concurrent removal: pooling possible
		{[]FrontierEvent{rk, rk}, false, false}, // concurrent rekeys converge
		{[]FrontierEvent{rk, rk}, true, true},   // still the leave
	} {
		if got := Unhealed(c.f, c.leave); got != c.want {
			t.Errorf("Unhealed(%v, %v) = %v", c.f, c.leave, got)
		}
	}
}
