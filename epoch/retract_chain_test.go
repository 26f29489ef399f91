package epoch

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// chainScene is the review 12 scene at late's schedule: F0 applied with its seed, x's
// rekey RX (prev {H}, H never met: held on x's word) applied over it.
func chainScene(t *testing.T) (s *Schedule, f0, heal, rx ID, x Author) {
	t.Helper()
	s = NewSchedule(testID("group"))
	f0, heal = testID("f0"), testID("heal")
	x = testAuthor("x")
	if err := s.Apply(Event{ID: f0}); err != nil {
		t.Fatal(err)
	}
	seed := Seed(testID("seed f0"))
	if err := s.SetSeed(f0, &seed); err != nil {
		t.Fatal(err)
	}
	o := RekeyOrigin{Headed: true, Heads: Frontier{testID("heads of rx")}}
	o.Author[0] = 1
	rx = o.ID(s.Group(), Frontier{heal})
	if err := s.ApplyKnown(Event{ID: rx, Prev: Frontier{heal}, Rekey: &o}, x); err != nil {
		t.Fatal(err)
	}
	if !s.Frontier().Equal(mustFrontier(t, f0, rx)) || !slices.Equal(s.Recorded(), []ID{rx}) {
		t.Fatalf("precondition: frontier %d events, %d recorded", len(s.Frontier()), len(s.Recorded()))
	}
	return s, f0, heal, rx, x
}

// roundTrip decodes s's encoding and checks it re-encodes identically, returning the copy.
func roundTrip(t *testing.T, s *Schedule) *Schedule {
	t.Helper()
	enc := marshalState(t, s)
	back := NewSchedule(ID{})
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if !slices.Equal(marshalState(t, back), enc) {
		t.Fatal("round trip not canonical")
	}
	return back
}

// TestRetractChain (review 12, TestReview12RetractChainedRekey at the schedule): x's second
// rekey RX2 (prev {RX}) takes RX out of the frontier; RX stays recorded (its prev {H} and
// origin), across a state round trip, so that Retract(RX) — RX is no frontier event — takes
// back RX and RX2 with it: the frontier is {F0}, H forgotten, and H applied enters it
// ({H}, as at the members that refused RX). Before: Retract(RX) was ErrSuperseded and H,
// applied, was superseded (late on {RX2} for good). Asserted too: the records, the
// retracted ids' flags, and that H applied without a retraction drops the records.
func TestRetractChain(t *testing.T) {
	s, f0, heal, rx, x := chainScene(t)
	o2 := RekeyOrigin{Headed: true}
	o2.Author[0], o2.Nonce[0] = 1, 2
	rx2 := o2.ID(s.Group(), Frontier{rx})
	if err := s.ApplyKnown(Event{ID: rx2, Prev: Frontier{rx}, Rekey: &o2}, x); err != nil {
		t.Fatal(err)
	}
	seed := Seed(testID("seed rx2"))
	if err := s.SetSeed(rx2, &seed); err != nil {
		t.Fatal(err)
	}
	if !s.Frontier().Equal(mustFrontier(t, f0, rx2)) || !slices.Equal(s.Recorded(), mustFrontier(t, rx, rx2)) {
		t.Fatalf("precondition: frontier %d events, %d recorded", len(s.Frontier()), len(s.Recorded()))
	}
	if prev, o, ok := s.Record(rx); !ok || !prev.Equal(Frontier{heal}) || o == nil || !o.Heads.Equal(Frontier{testID("heads of rx")}) {
		t.Fatalf("RX's record: %v", ok)
	}
	// Without a retraction, H applied ends the records (nothing is provisional any more).
	plain := s.Clone()
	if err := plain.ApplyKnown(Event{ID: heal, Prev: Frontier{f0}}, testAuthor("des")); err != nil {
		t.Fatal(err)
	}
	if len(plain.Recorded()) != 0 || !plain.Frontier().Equal(Frontier{rx2}) {
		t.Fatalf("H applied, no retraction: %d recorded, frontier %d events", len(plain.Recorded()), len(plain.Frontier()))
	}
	if enc := marshalState(t, plain); enc[1] != stateVersionPlain {
		t.Fatalf("a state without records written as version %d", enc[1])
	}

	s = roundTrip(t, s) // the records are stored
	gone, err := s.Retract(rx, x, Frontier{f0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gone, mustFrontier(t, rx, rx2)) {
		t.Fatalf("retracted %d events, want RX and RX2", len(gone))
	}
	for _, id := range []ID{rx, rx2} {
		if s.Applied(id) || !s.Superseded(id) || s.HasSeed(id) {
			t.Fatalf("a retracted event: applied %v superseded %v seed %v", s.Applied(id), s.Superseded(id), s.HasSeed(id))
		}
	}
	if !s.Frontier().Equal(Frontier{f0}) || s.Applied(heal) || s.Superseded(heal) || s.HeldAll() != 0 || len(s.Recorded()) != 0 {
		t.Fatalf("after Retract: frontier %d events, heal superseded %v, held %d, %d recorded", len(s.Frontier()), s.Superseded(heal), s.HeldAll(), len(s.Recorded()))
	}
	s = roundTrip(t, s)
	if err := s.ApplyKnown(Event{ID: heal, Prev: Frontier{f0}}, testAuthor("des")); err != nil {
		t.Fatal(err)
	}
	if !s.Frontier().Equal(Frontier{heal}) {
		t.Fatalf("frontier after the heal: %d events, want {H}", len(s.Frontier()))
	}
	// A later copy of RX2's block, and x's next rekey over RX2 (review 14): refused
	// (ErrRetracted), the schedule unchanged, also after a round trip (state version 4).
	s = roundTrip(t, s)
	if enc := marshalState(t, s); enc[1] != stateVersionRetracted || !s.Retracted(rx) || !s.Retracted(rx2) || s.Retracted(heal) {
		t.Fatalf("state version %d; retracted: RX %v, RX2 %v, H %v", enc[1], s.Retracted(rx), s.Retracted(rx2), s.Retracted(heal))
	}
	before := marshalState(t, s)
	o3 := RekeyOrigin{Headed: true}
	o3.Author[0], o3.Nonce[0] = 1, 3
	rx3 := o3.ID(s.Group(), Frontier{rx2})
	for _, ev := range []Event{{ID: rx2, Prev: Frontier{rx}, Rekey: &o2}, {ID: rx3, Prev: Frontier{rx2}, Rekey: &o3}, {ID: testID("k"), Prev: mustFrontier(t, heal, rx)}} {
		if err := s.ApplyKnown(ev, x); !errors.Is(err, ErrRetracted) || !slices.Equal(marshalState(t, s), before) {
			t.Fatalf("an event naming a retracted one, or one again: %v (changed %v)", err, !slices.Equal(marshalState(t, s), before))
		}
	}
}

// TestRetractDescendant (review 12, TestReview12RetractedRekeyDescendant at the schedule):
// late's own rekey K (prev {F0, RX}, applied with Apply) supersedes both; K is provisional
// (it names the recorded RX). Retract(RX) with next = H's prev {F0} takes back RX and K:
// F0, applied, is named by H (superseded again at once), H forgotten; H then enters the
// frontier. With next nil it is refused (F0's prev set and seed are not kept), the
// schedule unchanged. A member's event naming an unrelated frontier event beside K is
// retracted with K only if it names a retracted id.
func TestRetractDescendant(t *testing.T) {
	s, f0, heal, rx, x := chainScene(t)
	k := testID("k")
	if err := s.Apply(Event{ID: k, Prev: mustFrontier(t, f0, rx)}); err != nil {
		t.Fatal(err)
	}
	if !s.Frontier().Equal(Frontier{k}) || !slices.Equal(s.Recorded(), mustFrontier(t, rx, k)) {
		t.Fatalf("precondition: frontier %d events, %d recorded", len(s.Frontier()), len(s.Recorded()))
	}
	before := marshalState(t, s)
	if _, err := s.Retract(rx, x, nil); !errors.Is(err, ErrMismatch) || !slices.Equal(marshalState(t, s), before) {
		t.Fatalf("Retract without next naming F0: %v (changed %v)", err, !slices.Equal(marshalState(t, s), before))
	}
	if _, err := s.Retract(testID("never"), x, nil); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("Retract of an unknown id: %v", err)
	}
	// A concurrent member event M (prev {}) stays: it names no retracted id.
	m := testID("m")
	if err := s.ApplyKnown(Event{ID: m, Prev: nil}, testAuthor("member")); err != nil {
		t.Fatal(err)
	}
	s = roundTrip(t, s)
	gone, err := s.Retract(rx, x, Frontier{f0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gone, mustFrontier(t, rx, k)) {
		t.Fatalf("retracted %d events, want RX and K", len(gone))
	}
	if !s.Frontier().Equal(Frontier{m}) || s.Applied(k) || !s.Superseded(k) || s.Superseded(heal) || len(s.Recorded()) != 0 {
		t.Fatalf("after Retract: frontier %d events, K applied %v, heal superseded %v, %d recorded", len(s.Frontier()), s.Applied(k), s.Superseded(heal), len(s.Recorded()))
	}
	if err := s.ApplyKnown(Event{ID: heal, Prev: Frontier{f0}}, testAuthor("des")); err != nil {
		t.Fatal(err)
	}
	if !s.Frontier().Equal(mustFrontier(t, heal, m)) {
		t.Fatalf("frontier after the heal: %d events, want {H, M}", len(s.Frontier()))
	}
	roundTrip(t, s)
}

// TestRecordsBounded: provisional events past MaxProvisional are applied without a record;
// the state still round-trips; while the first of them is in the frontier Retract takes it
// with the recorded chain; once it leaves the frontier (kept nowhere) the records it
// descends from are dropped (review 14: Retract would refuse them), and Retract(RX) is
// refused, the schedule unchanged. A decoded state holding a record of an event that is
// not provisional, or version 3 without records, is malformed.
func TestRecordsBounded(t *testing.T) {
	s, f0, _, rx, x := chainScene(t)
	last := rx
	chain := func(i int) {
		t.Helper()
		id := testID("chain " + string(rune('a'+i)))
		if err := s.ApplyKnown(Event{ID: id, Prev: Frontier{last}}, x); err != nil {
			t.Fatal(err)
		}
		last = id
	}
	for i := range MaxProvisional {
		chain(i)
	}
	if n := len(s.Recorded()); n != MaxProvisional {
		t.Fatalf("%d recorded, want %d", n, MaxProvisional)
	}
	back := roundTrip(t, s)
	if len(back.Recorded()) != MaxProvisional {
		t.Fatalf("decoded %d records", len(back.Recorded()))
	}
	// The last chain event, unrecorded, is in the frontier: retracted with the chain.
	if gone, err := back.Retract(rx, x, Frontier{f0}); err != nil || len(gone) != MaxProvisional+1 || !back.Frontier().Equal(Frontier{f0}) {
		t.Fatalf("Retract(RX) with the frontier event past the bound: %v, %d gone", err, len(gone))
	}
	// The next one takes it out of the frontier, kept nowhere: every record of the chain
	// is dropped, and Retract(RX) is refused, unchanged.
	chain(MaxProvisional)
	if n := len(s.Recorded()); n != 0 {
		t.Fatalf("%d recorded after an unrecorded event left the frontier, want 0", n)
	}
	before := marshalState(t, s)
	if _, err := s.Retract(rx, x, nil); !errors.Is(err, ErrSuperseded) || !slices.Equal(marshalState(t, s), before) {
		t.Fatalf("Retract through an unrecorded event: %v (changed %v)", err, !slices.Equal(marshalState(t, s), before))
	}
	// Malformed: version 3 with no records.
	plain := NewSchedule(testID("group"))
	if err := plain.Apply(Event{ID: testID("c")}); err != nil {
		t.Fatal(err)
	}
	enc := marshalState(t, plain)
	bad := append(append([]byte{stateMagic, stateVersionRecords}, enc[2:]...), 0)
	if err := NewSchedule(ID{}).UnmarshalBinary(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("version 3 without records: %v", err)
	}
	// Malformed: a record of an applied event that is not provisional (no root).
	one, f0, heal, rx, _ := chainScene(t)
	enc = marshalState(t, one)
	at := len(enc) - (IDSize + 1 + IDSize + 1 + InstallationSize + NonceSize + 1 + IDSize + 2 + 2) // RX's record, the last
	if enc[1] != stateVersion || enc[at-1] != 1 || [IDSize]byte(enc[at:at+IDSize]) != rx || !slices.Equal(enc[len(enc)-3:len(enc)-2], []byte{1}) {
		t.Fatal("precondition: RX's record (one root) not where expected")
	}
	notProv := append(slices.Clone(enc[:at]), f0[:]...)
	notProv = append(notProv, 0, 0, 0, 0) // F0 (applied, prev {}: not provisional), no origin, no root
	if err := NewSchedule(ID{}).UnmarshalBinary(notProv); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a record of an event not provisional: %v", err)
	}
	// The same state written before fix27 (version 3: records without roots) decodes, RX
	// given the root its prev names, and is written in version 5; F0's record in it is
	// malformed as before.
	v3 := append([]byte{stateMagic, stateVersionRecords}, enc[2:len(enc)-4]...)
	old := NewSchedule(ID{})
	if err := old.UnmarshalBinary(v3); err != nil || !slices.Equal(old.Recorded(), []ID{rx}) || !slices.Equal(old.rec[rx].roots, []ID{heal}) {
		t.Fatalf("a version 3 state: %v, records %d", err, len(old.Recorded()))
	}
	if !bytes.Equal(marshalState(t, old), enc) {
		t.Fatal("a version 3 state is not written as the version 5 one")
	}
	notProv = append(slices.Clone(v3[:at]), f0[:]...)
	if err := NewSchedule(ID{}).UnmarshalBinary(append(notProv, 0, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a version 3 record of an event not provisional: %v", err)
	}
}

// TestSeenPrevRecords: an event applied from a member's Welcome whose signed block then
// names an unseen id (SeenPrev holds it on the block author's word) becomes provisional
// (recorded with the signed prev, which the state round-trips), and its retraction
// forgets that id; the id applied without a retraction ends the record.
func TestSeenPrevRecords(t *testing.T) {
	s := NewSchedule(testID("group"))
	f0, e, u := testID("f0"), testID("entry"), testID("unseen")
	a, b := testAuthor("a"), testAuthor("b")
	if err := s.Apply(Event{ID: f0}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyWelcomed(Event{ID: e, Prev: Frontier{f0}}, b); err != nil {
		t.Fatal(err)
	}
	if len(s.Recorded()) != 0 {
		t.Fatal("a Welcome entry naming only known ids recorded")
	}
	signed := mustFrontier(t, f0, u)
	if changed, err := s.SeenPrev(Event{ID: e, Prev: signed}, a); err != nil || !changed {
		t.Fatalf("SeenPrev: %v %v", changed, err)
	}
	if prev, _, ok := s.Record(e); !ok || !prev.Equal(signed) {
		t.Fatalf("record after SeenPrev: %v", ok)
	}
	s = roundTrip(t, s)
	plain := s.Clone()
	if err := plain.ApplyKnown(Event{ID: u}, b); err != nil || len(plain.Recorded()) != 0 {
		t.Fatalf("the unseen id applied: %v, %d recorded", err, len(plain.Recorded()))
	}
	gone, err := s.Retract(e, a, Frontier{f0})
	if err != nil || !slices.Equal(gone, []ID{e}) || s.Superseded(u) || s.Applied(e) {
		t.Fatalf("Retract: %v, %d gone, unseen id kept %v", err, len(gone), s.Superseded(u))
	}
	roundTrip(t, s)
}
