package doubleratchet

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// sessionsAtStages returns sessions in every interesting state: fresh
// initiator and responder, with and without chains, skipped keys and
// previous remote keys.
func sessionsAtStages(t testing.TB) map[string]*Session {
	alice, bob := newPair(t, "stages")
	ra, rb := testRand("a"), testRand("b")
	out := map[string]*Session{"fresh initiator": alice.Clone(), "fresh responder": bob.Clone()}
	a0 := mustEncrypt(t, alice, "a0")
	mustEncrypt(t, alice, "a1") // never delivered: a skipped key
	mustDecrypt(t, bob, rb, mustEncrypt(t, alice, "a2"), "a2")
	out["responder after first receive"] = bob.Clone()
	mustDecrypt(t, alice, ra, mustEncrypt(t, bob, "b0"), "b0")
	out["initiator after first receive"] = alice.Clone()
	for i := range 7 { // more turns than MaxPreviousChains
		mustDecrypt(t, bob, rb, mustEncrypt(t, alice, fmt.Sprint("a", i)), fmt.Sprint("a", i))
		mustEncrypt(t, bob, "lost")
		mustDecrypt(t, alice, ra, mustEncrypt(t, bob, fmt.Sprint("b", i)), fmt.Sprint("b", i))
	}
	mustDecrypt(t, bob, rb, a0, "a0")
	out["long-running responder"] = bob
	out["long-running initiator"] = alice
	return out
}

func TestStateRoundTrip(t *testing.T) {
	for name, s := range sessionsAtStages(t) {
		enc := stateBytes(t, s)
		r := new(Session)
		if err := r.UnmarshalBinary(enc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(stateBytes(t, r), enc) {
			t.Fatalf("%s: decode→encode differs", name)
		}
		if r.String() != s.String() {
			t.Fatalf("%s: %v vs %v", name, r, s)
		}
	}
	stages := sessionsAtStages(t)
	if got := len(stateBytes(t, stages["fresh responder"])); got != 2+3*32+12+1+2 {
		t.Fatalf("fresh responder state is %d bytes", got)
	}
	lr := stages["long-running responder"]
	if len(lr.prev) != MaxPreviousChains || lr.skipped.len() == 0 {
		t.Fatalf("long-running responder: %d previous keys, %d skipped", len(lr.prev), lr.skipped.len())
	}
}

// TestRestoredSessionsInteroperate persists both sides between every step.
func TestRestoredSessionsInteroperate(t *testing.T) {
	alice, bob := newPair(t, "restore")
	ra, rb := testRand("a"), testRand("b")
	restore := func(s *Session) *Session {
		r := new(Session)
		if err := r.UnmarshalBinary(stateBytes(t, s)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range 6 {
		m := mustEncrypt(t, alice, fmt.Sprint("a", i))
		alice, bob = restore(alice), restore(bob)
		mustDecrypt(t, bob, rb, m, fmt.Sprint("a", i))
		bob = restore(bob)
		m = mustEncrypt(t, bob, fmt.Sprint("b", i))
		bob = restore(bob)
		mustDecrypt(t, alice, ra, m, fmt.Sprint("b", i))
	}
}

func TestStateRejectsMalformed(t *testing.T) {
	s := sessionsAtStages(t)["long-running responder"]
	enc := stateBytes(t, s)
	check := func(name string, data []byte, want error) {
		t.Helper()
		r := new(Session)
		err := r.UnmarshalBinary(data)
		if err == nil || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
		if r.dhsPub != ([32]byte{}) || r.skipped.len() != 0 {
			t.Fatalf("%s: receiver modified on error", name)
		}
	}
	for n := range len(enc) {
		check(fmt.Sprint("truncated to ", n), enc[:n], nil)
	}
	check("trailing byte", append(bytes.Clone(enc), 0), ErrMalformed)
	bad := bytes.Clone(enc)
	bad[0] = 2
	check("version", bad, ErrVersion)
	bad = bytes.Clone(enc)
	bad[1] |= 0x08
	check("unknown flag", bad, ErrMalformed)

	fresh := stateBytes(t, sessionsAtStages(t)["fresh responder"])
	bad = bytes.Clone(fresh)
	bad[1] = flagRecvChain
	check("receiving chain without remote key", append(bad[:98], append(make([]byte, 32), bad[98:]...)...), ErrMalformed)

	// Counts: previous keys and skipped keys.
	offPrev := 2 + 6*32 + 12
	bad = bytes.Clone(enc)
	bad[offPrev] = MaxPreviousChains + 1
	check("too many previous keys", bad, ErrMalformed)
	offSkipped := offPrev + 1 + 32*MaxPreviousChains
	bad = bytes.Clone(enc[:offSkipped])
	over := MaxSkipTotal + 1
	bad = append(bad, byte(over>>8), byte(over))
	bad = append(bad, make([]byte, (MaxSkipTotal+1)*skippedEntrySz)...)
	check("too many skipped keys", bad, ErrMalformed)
	first := enc[offSkipped+2 : offSkipped+2+skippedEntrySz]
	bad = bytes.Clone(enc[:offSkipped])
	bad = append(bad, 0, 2)
	bad = append(bad, first...)
	bad = append(bad, first...)
	check("duplicate skipped key", bad, ErrMalformed)
}

// TestRestoredKeyPairChecked: the ratchet key pair is parsed lazily, at the
// next turn, and a stored public key that does not match the private key is
// reported then (without changing the session).
func TestRestoredKeyPairChecked(t *testing.T) {
	alice, bob := newPair(t, "lazy")
	enc := stateBytes(t, bob)
	enc[2+32+32] ^= 1 // first byte of our ratchet public key
	r := new(Session)
	if err := r.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	expectFailure(t, r, testRand("b"), mustEncrypt(t, alice, "m"), testAD, ErrMalformed)

	good := new(Session)
	if err := good.UnmarshalBinary(stateBytes(t, bob)); err != nil {
		t.Fatal(err)
	}
	mustDecrypt(t, good, testRand("b"), mustEncrypt(t, alice, "m2"), "m2")
}
