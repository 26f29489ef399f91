package epoch

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// addVectorSeeds adds every hex encoding of the vectors of op.
func addVectorSeeds(f *testing.F, op string, pick func(vectorCase) string) {
	for _, c := range loadVectors(f) {
		if c.Op == op {
			if h := pick(c); h != "" {
				f.Add(unhex(f, h))
			}
		}
	}
}

var fuzzGroup = testID("group")

func FuzzParseKeyBlock(f *testing.F) {
	addVectorSeeds(f, "key_block", func(c vectorCase) string { return c.Encoding })
	var g ID
	for _, c := range loadVectors(f) {
		if c.Op == "key_block" {
			g = hexID(f, c.Group)
			break
		}
	}
	// A lent slice holding an earlier block's slots (the receiver's frame scratch): parsing
	// into it gives what a fresh parse gives, accepted or refused alike.
	var lent []Slot
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		_, _, derr := KeyBlockDigest(g, data) // must not panic on anything
		into, ierr := ParseKeyBlockInto(g, data, lent)
		b, err := ParseKeyBlock(g, data)
		if (ierr == nil) != (err == nil) {
			t.Fatalf("parse into a lent slice: %v, fresh: %v", ierr, err)
		}
		if err == nil {
			x, y := *into, *b
			x.Slots, y.Slots = nil, nil
			if len(into.Slots) != len(b.Slots) || !reflect.DeepEqual(x, y) {
				t.Fatal("a block parsed into a lent slice differs from a fresh parse")
			}
			for i := range b.Slots {
				if !reflect.DeepEqual(into.Slots[i], b.Slots[i]) {
					t.Fatalf("slot %d parsed into a lent slice differs from a fresh parse", i)
				}
			}
			lent = into.Slots[:0]
		}
		if !bytes.Equal(in, data) {
			t.Fatal("parse modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) && !errors.Is(err, ErrMismatch) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		again, err := b.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted encoding is not canonical (%v)", err)
		}
		if derr != nil {
			t.Fatalf("a block that parses has no signature digest: %v", derr)
		}
		if cap(b.Slots) != len(b.Slots) {
			t.Fatalf("%d slots allocated for %d", cap(b.Slots), len(b.Slots))
		}
		h := b.Hinter()
		_ = h.Hint(b.Author)
		_ = b.Context(g)
		_ = b.Confirms(g, &Seed{})
	})
}

func FuzzParseSlotPlaintext(f *testing.F) {
	addVectorSeeds(f, "slot_plaintext", func(c vectorCase) string { return c.Encoding })
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseSlotPlaintext(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted encoding is not canonical (%v)", err)
		}
	})
}

// FuzzScheduleUnmarshal: a state either decodes canonically or leaves the schedule as it
// was; a decoded schedule then accepts operations without panicking.
func FuzzScheduleUnmarshal(f *testing.F) {
	addVectorSeeds(f, "state", func(c vectorCase) string { return c.Encoding })
	// A version 1 state (before welid: frontier entries without origin), one applied event.
	e := testID("e")
	v1 := append(append([]byte{stateMagic, 1}, fuzzGroup[:]...), 0, 0, 0, 1)
	v1 = append(append(v1, e[:]...), flagApplied, 1)
	f.Add(append(append(v1, e[:]...), 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewSchedule(fuzzGroup)
		_ = s.Apply(Event{ID: testID("held")})
		before := marshalState(t, s)
		if err := s.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) && !errors.Is(err, ErrMismatch) {
				t.Fatalf("unclassified error %v", err)
			}
			if !bytes.Equal(before, marshalState(t, s)) {
				t.Fatal("a failed decode changed the schedule")
			}
			return
		}
		if enc := marshalState(t, s); enc[1] == data[1] && !bytes.Equal(enc, data) {
			t.Fatal("accepted state is not canonical")
		} else if enc[1] != data[1] { // version 1, or records without roots (3, 4: before fix27): re-encoded as the current version, canonically
			var again Schedule
			if err := again.UnmarshalBinary(enc); err != nil || !bytes.Equal(marshalState(t, &again), enc) {
				t.Fatalf("a version %d state re-encoded is not canonical (%v)", data[1], err)
			}
		}
		_, _ = s.Current()
		_ = s.Apply(Event{ID: testID("next"), Prev: s.Frontier()})
		_, _ = s.Current()
		// Held ids (a decoded state's authors): held on, released, encoded canonically.
		by := Author{1}
		n := s.Held(by)
		if err := s.ApplyKnown(Event{ID: testID("rekey"), Prev: mustFrontier(t, append(s.Frontier(), testID("unseen"))...)}, by); err == nil && s.Held(by) != n+1 {
			t.Fatalf("held %d after an unknown prev id, was %d", s.Held(by), n)
		}
		// A merged entry with a prev short of its block's: released and completed when seen.
		f0 := s.Frontier()
		if err := s.ApplyWelcomed(Event{ID: testID("entry")}, Author{2}); err == nil {
			pre := marshalState(t, s)
			seen, err := s.SeenPrev(Event{ID: testID("entry"), Prev: f0}, by)
			switch {
			case err == nil && (!seen || slices.ContainsFunc(f0, s.Frontier().Contains)):
				t.Fatalf("a merged entry seen: changed %v, frontier still holds what its block names", seen)
			case err != nil && (!errors.Is(err, ErrMalformed) || !bytes.Equal(pre, marshalState(t, s))):
				t.Fatalf("a merged entry seen: %v (or the schedule changed)", err)
			}
		}
		var back Schedule
		enc := marshalState(t, s)
		if err := back.UnmarshalBinary(enc); err != nil || !bytes.Equal(marshalState(t, &back), enc) || back.Held(by) != s.Held(by) {
			t.Fatalf("round trip after held ids: %v", err)
		}
	})
}

// FuzzOpenOuter: arbitrary payloads never open under a live epoch and never panic.
func FuzzOpenOuter(f *testing.F) {
	addVectorSeeds(f, "outer", func(c vectorCase) string { return c.Payload })
	var live []Epoch
	var genuine, genuineFrame []byte
	for _, c := range loadVectors(f) {
		if c.Op == "epoch" && c.Expect == "success" {
			live = append(live, Epoch{ID: hexID(f, c.EpochID), Secret: [32]byte(hexID(f, c.EpochSecret))})
		}
		if c.Op == "outer" && c.Expect == "success" {
			genuine, genuineFrame = unhex(f, c.Payload), unhex(f, c.Frame)
		}
	}
	if len(live) > MaxLiveEpochs {
		live = live[len(live)-MaxLiveEpochs:]
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, _, err := OpenOuter(live, "/waku/2/chorus-vectors/proto", data)
		if err == nil {
			// Only the genuine vector payload may open.
			if !bytes.Equal(data, genuine) || !bytes.Equal(frame, genuineFrame) {
				t.Fatal("a forged payload opened")
			}
		}
	})
}

// FuzzApply interprets data as key events over a small alphabet of ids (each byte pair: an
// id and a prev bitmask) and checks that the schedule's frontier is S \ P for the events it
// accepted, computed directly, and that an event is refused as malformed only when it
// would leave that frontier empty (a cycle of prev, review 14).
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 1, 3, 6})
	f.Add([]byte{3, 6, 2, 1, 1, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const n = 8
		ids := make([]ID, n)
		for i := range ids {
			ids[i] = testID(string(rune('a' + i)))
		}
		s := NewSchedule(fuzzGroup)
		applied := map[int]bool{}
		superseded := map[int]bool{}
		for i := 0; i+1 < len(data); i += 2 {
			e := int(data[i]) % n
			var prev []ID
			var pi []int
			for j := range n {
				if data[i+1]&(1<<j) != 0 && j != e {
					prev = append(prev, ids[j])
					pi = append(pi, j)
				}
			}
			pf, _ := NewFrontier(prev...)
			err := s.Apply(Event{ID: ids[e], Prev: pf})
			switch {
			case applied[e]:
				if !errors.Is(err, ErrDuplicate) {
					t.Fatalf("re-apply: %v", err)
				}
				continue
			case errors.Is(err, ErrMalformed):
				// Refused only when S ∪ {e} \ P would be empty (a cycle of prev).
				for i := range n {
					if (applied[i] || i == e) && !superseded[i] && !slices.Contains(pi, i) {
						t.Fatalf("refused %d, which leaves %d in the frontier: %v", e, i, err)
					}
				}
				continue
			case err != nil:
				t.Fatalf("apply: %v", err)
			}
			applied[e] = true
			for _, j := range pi {
				superseded[j] = true
			}
		}
		var want []ID
		for i := range n {
			if applied[i] && !superseded[i] {
				want = append(want, ids[i])
			}
		}
		wf, _ := NewFrontier(want...)
		if !s.Frontier().Equal(wf) {
			t.Fatal("frontier is not S \\ P")
		}
	})
}

// FuzzReceiverChainOpen: arbitrary messages never open (but the genuine vector ones) and a
// failed open leaves the chain unchanged; opened ahead (OpenAhead, OpenTrackedAhead) they
// give exactly what OpenTracked gives.
func FuzzReceiverChainOpen(f *testing.F) {
	var c0 vectorCase
	for _, c := range loadVectors(f) {
		if c.Op == "seal" || c.Op == "open" {
			f.Add(unhex(f, c.Message))
			if c.Op == "open" && c0.Name == "" {
				c0 = c
			}
		}
	}
	ep := Epoch{ID: hexID(f, c0.EpochID), Secret: [32]byte(hexID(f, c0.EpochSecret))}
	inst := hexInst(f, c0.Installation)
	pub := unhex(f, c0.SigningKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReceiverChain(&ep, inst)
		before, _ := r.MarshalBinary()
		if _, ch, err := r.OpenTracked(crypto.VerifySignature, pub, data); err != nil {
			if after, _ := r.MarshalBinary(); !bytes.Equal(before, after) {
				t.Fatal("a failed open changed the chain")
			}
			if ch.Used || len(ch.Added) != 0 {
				t.Fatal("a failed open reported a change")
			}
		}
		want, _ := r.MarshalBinary()
		plain, werr := NewReceiverChain(&ep, inst).Open(pub, data)
		ra := NewReceiverChain(&ep, inst)
		var o *Opened
		if h, err := ParseMessageHeader(data); err == nil && h.Iteration == 0 {
			cur, _ := ra.Cursor()
			o, _ = OpenAhead(ep.ID, 0, &cur, data)
		}
		got, _, gerr := ra.OpenTrackedAhead(crypto.VerifySignature, pub, data, o)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(plain, got) {
			t.Fatalf("opened ahead: %q %v, in order: %q %v", got, gerr, plain, werr)
		}
		if after, _ := ra.MarshalBinary(); !bytes.Equal(after, want) {
			t.Fatal("opened ahead: another chain state")
		}
	})
}

// FuzzChainUnmarshal: receiver and sender chain states decode canonically or not at all.
func FuzzChainUnmarshal(f *testing.F) {
	ep := Epoch{ID: testID("e"), Secret: testID("s")}
	r := NewReceiverChain(&ep, Installation{1})
	s := NewSenderChain(&ep, Installation{1})
	rb, _ := r.MarshalBinary()
	sb, _ := s.MarshalBinary()
	f.Add(rb)
	f.Add(sb)
	f.Fuzz(func(t *testing.T, data []byte) {
		var rc ReceiverChain
		if err := rc.UnmarshalBinary(data); err == nil {
			if again, _ := rc.MarshalBinary(); !bytes.Equal(again, data) {
				t.Fatal("receiver chain state not canonical")
			}
			_ = rc.Gaps()
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("unclassified error %v", err)
		}
		var sc SenderChain
		if err := sc.UnmarshalBinary(data); err == nil {
			if again, _ := sc.MarshalBinary(); !bytes.Equal(again, data) {
				t.Fatal("sender chain state not canonical")
			}
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}

// FuzzParseJoin: a join decodes canonically or not at all, and a decoded join either makes a
// newcomer schedule or is refused with a classified error.
func FuzzParseJoin(f *testing.F) {
	addVectorSeeds(f, "join", func(c vectorCase) string { return c.Encoding })
	// A version 2 join (before welid: entries without origin), and a version 3 rekey entry
	// of fuzzGroup (the vectors' are of their own group: a mismatch here).
	a, r := testID("a"), RekeyID(fuzzGroup, Installation{1}, [NonceSize]byte{2}, Frontier{testID("a")})
	v2 := append([]byte{Version, 1}, a[:]...)
	f.Add(append(append(v2, 0, SlotSeed), make([]byte, IDSize)...))
	v3 := append(append([]byte{JoinVersion, 1}, r[:]...), 1)
	v3 = append(append(append(v3, a[:]...), SlotSeed), make([]byte, IDSize)...)
	inst, nonce := Installation{1}, [NonceSize]byte{2}
	f.Add(append(append(append(v3, originRekey), inst[:]...), nonce[:]...))
	// A rekey entry naming membership heads (origin 0x02, version 5 blocks).
	hd := testID("head")
	r5 := RekeyHeadsID(fuzzGroup, inst, nonce, Frontier{a}, Frontier{hd})
	v5 := append(append([]byte{JoinVersion, 1}, r5[:]...), 1)
	v5 = append(append(append(v5, a[:]...), SlotSeed), make([]byte, IDSize)...)
	v5 = append(append(append(v5, originHeads), inst[:]...), nonce[:]...)
	f.Add(append(append(v5, 1), hd[:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := ParseJoin(fuzzGroup, data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) && !errors.Is(err, ErrMismatch) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		again, err := j.MarshalBinary()
		if err != nil || (data[0] == JoinVersion && !bytes.Equal(again, data)) {
			t.Fatal("join not canonical")
		}
		if data[0] != JoinVersion { // version 2: re-encoded as the current version, canonically
			if j2, err := ParseJoin(fuzzGroup, again); err != nil || !slices.EqualFunc(j, j2, func(a, b JoinEntry) bool {
				return a.Event == b.Event && a.Prev.Equal(b.Prev) && a.Kind == b.Kind && a.Value == b.Value && a.Rekey == nil && b.Rekey == nil
			}) {
				t.Fatalf("a version %d join re-encoded differs (%v)", data[0], err)
			}
		}
		s, err := NewScheduleFromJoin(fuzzGroup, j)
		if err != nil {
			t.Fatalf("a canonical join refused: %v", err)
		}
		if _, err := s.Current(); err != nil {
			t.Fatalf("a newcomer from a canonical join has no epoch: %v", err)
		}
	})
}

// FuzzParseKeyBlockView: ParseKeyBlockView accepts what ParseKeyBlock accepts, with the
// same error for what it refuses, and a block accepted is the same block (sameView: the
// header, the slot found for each hint and for one absent, the hints, the re-encoding).
func FuzzParseKeyBlockView(f *testing.F) {
	addVectorSeeds(f, "key_block", func(c vectorCase) string { return c.Encoding })
	var g ID
	for _, c := range loadVectors(f) {
		if c.Op == "key_block" {
			g = hexID(f, c.Group)
			break
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		b, err := ParseKeyBlock(g, data)
		v, verr := ParseKeyBlockView(g, data)
		if (err == nil) != (verr == nil) || err != nil && err.Error() != verr.Error() {
			t.Fatalf("view: %v, ParseKeyBlock: %v", verr, err)
		}
		if _, _, herr := ParseKeyBlockViewHints(g, data, nil); err != nil && (herr == nil || herr.Error() != err.Error()) {
			t.Fatalf("view with hints: %v, ParseKeyBlock: %v", herr, err)
		}
		if !bytes.Equal(in, data) {
			t.Fatal("parse modified its input")
		}
		if err != nil {
			if v != nil {
				t.Fatal("a refused view returned a block")
			}
			return
		}
		var absent [HintSize]byte
		copy(absent[:], data)
		if d := sameView(v, b, data, absent); d != "" {
			t.Fatal(d)
		}
		// The one-pass parse that keeps the hints (ParseKeyBlockViewHints), into a lent
		// buffer holding stale bytes: the same block, its hints b's.
		vh, hints, herr := ParseKeyBlockViewHints(g, data, bytes.Repeat([]byte{0xee}, 3*HintSize))
		if herr != nil {
			t.Fatalf("with hints: %v, ParseKeyBlock: nil", herr)
		}
		if !bytes.Equal(hints, b.AppendHints(nil)) {
			t.Fatal("with hints: hints differ")
		}
		if d := sameView(vh, b, data, absent); d != "" {
			t.Fatal("with hints: " + d)
		}
	})
}
