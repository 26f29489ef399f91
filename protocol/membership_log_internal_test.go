package protocol

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEncodeEventsAfter: the stored log extended by appended events is byte for byte the
// log encoded in full; a stored log that is not the old state's, and states with pending
// events, are encoded in full.
func TestEncodeEventsAfter(t *testing.T) {
	key, err := crypto.GenerateKey()
	must(t, err)
	other, err := crypto.GenerateKey()
	must(t, err)
	member := membership.PublicKeyString(&other.PublicKey)
	chatID, err := membership.NewChatID(rand.Reader, &key.PublicKey)
	must(t, err)
	sign := func(st *membership.State, evs ...membership.Event) membership.State {
		t.Helper()
		c := &Client{acct: &account{key: key}, now: time.Now}
		signed, err := c.signEvents(chatID, st, evs...)
		must(t, err)
		var log []membership.Event
		if st != nil {
			log = st.Log()
		}
		next, err := membership.Derive(chatID, append(log, signed...), membership.ChorusRules())
		must(t, err)
		return next
	}
	s0 := sign(nil, membership.Event{Type: membership.ChatCreated, Name: "g"}, membership.Event{Type: membership.MembersAdded, Members: membership.MembersOf([]string{member}...)})
	s1 := sign(&s0, membership.Event{Type: membership.NameChanged, Name: "h"})
	s2 := sign(&s1, membership.Event{Type: membership.MemberRemoved, Members: membership.MembersOf([]string{member}...)}, membership.Event{Type: membership.NameChanged, Name: "i"})
	enc := func(st *membership.State) []byte {
		b, err := encodeEvents(st)
		must(t, err)
		return b
	}
	for _, c := range []struct {
		name      string
		prev      []byte
		old, next *membership.State
	}{
		{"one appended", enc(&s0), &s0, &s1},
		{"two appended", enc(&s1), &s1, &s2},
		{"three appended", enc(&s0), &s0, &s2},
		{"stored log of another state", enc(&s0), &s1, &s2},
		{"no stored log", nil, &s1, &s2},
		{"truncated stored log", enc(&s1)[:len(enc(&s1))-1], &s1, &s2},
		{"nothing appended", enc(&s1), &s1, &s1},
	} {
		got, err := encodeEventsAfter(c.prev, c.old, c.next)
		must(t, err)
		if want := enc(c.next); !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, want the full encoding (%d bytes)", c.name, len(got), len(want))
		}
	}
	// An event waiting for a parent (pending) in the new state: encoded in full.
	s3 := sign(&s2, membership.Event{Type: membership.NameChanged, Name: "j"})
	withPending, err := membership.Derive(chatID, append(s1.Log(), s3.Events[len(s3.Events)-1]), membership.ChorusRules())
	must(t, err)
	if len(withPending.Pending) != 1 || len(withPending.Events) != len(s1.Events) {
		t.Fatalf("%d pending, %d applied", len(withPending.Pending), len(withPending.Events))
	}
	withPending, err = membership.Derive(chatID, append(s0.Log(), s1.Events[len(s1.Events)-1], s3.Events[len(s3.Events)-1]), membership.ChorusRules())
	must(t, err)
	got, err := encodeEventsAfter(enc(&s0), &s0, &withPending)
	must(t, err)
	if !bytes.Equal(got, enc(&withPending)) {
		t.Error("a state with pending events is not the full encoding")
	}
	if !logHolds(enc(&s2), &s2) || logHolds(enc(&s1), &s2) || logHolds(append(enc(&s2), 0), &s2) {
		t.Error("logHolds misjudges a stored log")
	}
}

// TestKeptCandidatesMemo: candidate epochs composed through the memo of antichains (seeds
// kept one after another, the oldest dropped, prev links between some) are the ones
// composed from scratch.
func TestKeptCandidatesMemo(t *testing.T) {
	var group epoch.ID
	group[0] = 7
	var kept []keptSeed
	c := &Client{candidates: map[epoch.ID]candidateMemo{}}
	tx := &txn{c: c}
	for i := range 12 {
		var id, seed [32]byte
		id[0], id[1], seed[0] = byte(i), 1, byte(i*7+1)
		k := keptSeed{ID: hex.EncodeToString(id[:]), Seed: hex.EncodeToString(seed[:])}
		if i%3 == 1 { // names the seed before it as prev: not an antichain with it
			k.Prev = []string{kept[len(kept)-1].ID}
		}
		kept = append(kept, k)
		if len(kept) > maxKeptSeeds {
			kept = kept[1:]
		}
		s := epoch.NewSchedule(group)
		m := &epochMeta{V: 2, Kept: slices.Clone(kept)}
		got, want := tx.openable(s, m), openable(s, m)
		if len(want) == 0 || !slices.EqualFunc(got, want, func(a, b epoch.Epoch) bool { return a.ID == b.ID && a.Secret == b.Secret }) {
			t.Fatalf("step %d: %d candidates through the memo, %d composed (want > 0)", i, len(got), len(want))
		}
	}
}
