package epoch

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// TestReceiverChainKeysApart: a receiver chain kept as its head (MarshalHead) with its skipped keys in
// a store apart (LoadSkipped before an open below Next, Change applied after: used key
// deleted, added keys inserted, the oldest beyond MaxSkippedKeys evicted) opens exactly
// what the whole chain opens, with the same Next, Gaps and keys, through losses,
// reordering, replays and jumps beyond MaxSkippedKeys.
func TestReceiverChainKeysApart(t *testing.T) {
	ep := testEpoch("apart")
	inst := Installation{3}
	key := testKey(t, "apart")
	pub := crypto.FromECDSAPub(&key.PublicKey)
	rng := rand.New(rand.NewPCG(1, 2))
	s := NewSenderChain(&ep, inst)
	var msgs [][]byte
	for len(msgs) < 400 {
		if rng.IntN(50) == 0 {
			if err := s.SkipTo(s.Iteration() + uint32(rng.IntN(2*MaxSkippedKeys))); err != nil {
				t.Fatal(err)
			}
		}
		m, err := s.Seal(key, []byte{byte(len(msgs))})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	whole := NewReceiverChain(&ep, inst)
	head, _ := NewReceiverChain(&ep, inst).MarshalBinary()
	store := map[uint32][IDSize]byte{}
	evicted := false
	for step := range 1000 {
		// Mostly in order with losses; sometimes an old one (late or a replay).
		i := min(step*2/5+rng.IntN(4), len(msgs)-1)
		if rng.IntN(5) == 0 {
			i = rng.IntN(i + 1)
		}
		msg := msgs[i]
		apart := new(ReceiverChain)
		if err := apart.UnmarshalBinary(head); err != nil || len(apart.skipped) != 0 {
			t.Fatalf("head: %v", err)
		}
		h, _ := ParseMessageHeader(msg)
		if k, ok := store[h.Iteration]; ok && h.Iteration < apart.Next() {
			if err := apart.LoadSkipped(SkippedKey{Iteration: h.Iteration, Key: k}); err != nil {
				t.Fatal(err)
			}
		}
		want, werr := whole.Open(pub, msg)
		got, ch, err := apart.OpenTracked(crypto.VerifySignature, pub, msg)
		if (werr == nil) != (err == nil) || !bytes.Equal(want, got) {
			t.Fatalf("step %d: whole %q %v, apart %q %v", step, want, werr, got, err)
		}
		if err == nil {
			if ch.Used {
				delete(store, ch.Iteration)
			}
			for _, k := range ch.Added {
				store[k.Iteration] = k.Key
			}
			if over := len(store) - MaxSkippedKeys; over > 0 {
				evicted = true
				for _, it := range slices.Sorted(maps.Keys(store))[:over] {
					delete(store, it)
				}
			}
		} else if ch.Used || len(ch.Added) > 0 {
			t.Fatalf("step %d: a failed open reported a change", step)
		}
		head, _ = apart.MarshalHead()
		if apart.Next() != whole.Next() || !maps.Equal(store, whole.skipped) ||
			!slices.Equal(GapsOf(slices.Sorted(maps.Keys(store))), whole.Gaps()) {
			t.Fatalf("step %d: apart next %d, %d keys; whole next %d, %d keys", step, apart.Next(), len(store), whole.Next(), len(whole.skipped))
		}
	}
	if !evicted {
		t.Fatalf("the run evicted no key (%d keys, next %d)", len(store), whole.Next())
	}
}

// TestReceiverChainLoadSkipped: a key at or above Next is refused, the chain unchanged.
func TestReceiverChainLoadSkipped(t *testing.T) {
	ep := testEpoch("load")
	r := NewReceiverChain(&ep, Installation{1})
	if err := r.LoadSkipped(SkippedKey{Iteration: 0}); err == nil || len(r.skipped) != 0 {
		t.Fatalf("a key at Next loaded: %v", err)
	}
}
