package doubleratchet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"
)

// TestModel drives two sessions with random schedules — sends in both
// directions, deliveries in random order, drops, duplicates, tampered copies
// and persistence round trips — and checks them against a simple model of
// the network: every message delivered for the first time decrypts to what
// was sent; every duplicate or tampered delivery fails and leaves the
// receiver byte-identical; the responder cannot send before it has received.
// Schedules stay within MaxSkip and MaxSkipTotal (the bounds have their own
// tests), so the model needs no key bookkeeping.
func TestModel(t *testing.T) {
	seeds, steps := 40, 400
	if testing.Short() {
		seeds = 8
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, uint64(seed), steps) })
	}
}

type flight struct {
	from int // 0: alice (initiator), 1: bob (responder)
	msg  []byte
	pt   string
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := mrand.New(mrand.NewPCG(seed, 0xd0b1e))
	alice, bob := newPair(t, fmt.Sprint("model/", seed))
	sessions := [2]*Session{alice, bob}
	rands := [2]io.Reader{testRand(fmt.Sprint("model/a/", seed)), testRand(fmt.Sprint("model/b/", seed))}
	bobReceived := false
	var inflight, delivered []*flight
	stats := map[string]int{}
	take := func(list *[]*flight) *flight {
		i := rng.IntN(len(*list))
		f := (*list)[i]
		*list = append((*list)[:i], (*list)[i+1:]...)
		return f
	}
	for step := range steps {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d step %d: %s", seed, step, fmt.Sprintf(format, args...))
		}
		switch op := rng.IntN(100); {
		case op < 35: // send; senders often send several in a row
			from := rng.IntN(2)
			for range 1 + rng.IntN(3) {
				pt := fmt.Sprintf("%d/%d/%d", from, step, len(inflight))
				msg, err := sessions[from].Encrypt([]byte(pt), testAD)
				if from == 1 && !bobReceived {
					if !errors.Is(err, ErrNoSendingChain) {
						fail("responder sent before receiving: %v", err)
					}
					break
				}
				if err != nil {
					fail("Encrypt: %v", err)
				}
				inflight = append(inflight, &flight{from: from, msg: msg, pt: pt})
				stats["sent"]++
			}
		case op < 70: // deliver any in-flight message: reordering
			if len(inflight) == 0 {
				continue
			}
			f := take(&inflight)
			to := 1 - f.from
			remote := sessions[to].dhr
			pt, err := sessions[to].Decrypt(rands[to], f.msg, testAD)
			if err != nil || string(pt) != f.pt {
				fail("first delivery of %q: %q, %v", f.pt, pt, err)
			}
			if sessions[to].dhr != remote {
				stats["turns"]++
			}
			if to == 1 {
				bobReceived = true
			}
			delivered = append(delivered, f)
			stats["delivered"]++
		case op < 80: // duplicate
			if len(delivered) == 0 {
				continue
			}
			f := delivered[rng.IntN(len(delivered))]
			to := 1 - f.from
			err := expectFailure(t, sessions[to], rands[to], f.msg, testAD, nil)
			if !errors.Is(err, ErrReplay) && !errors.Is(err, ErrDecrypt) {
				fail("duplicate of %q: %v", f.pt, err)
			}
			stats["duplicates"]++
		case op < 88: // drop
			if len(inflight) == 0 {
				continue
			}
			take(&inflight)
			stats["dropped"]++
		case op < 95: // tampered copy of an in-flight message or of the ad
			if len(inflight) == 0 {
				continue
			}
			f := inflight[rng.IntN(len(inflight))]
			msg, ad := bytes.Clone(f.msg), bytes.Clone(testAD)
			if rng.IntN(4) == 0 {
				ad[rng.IntN(len(ad))] ^= 1 << rng.IntN(8)
			} else {
				msg[rng.IntN(len(msg))] ^= 1 << rng.IntN(8)
			}
			expectFailure(t, sessions[1-f.from], rands[1-f.from], msg, ad, nil)
			stats["tampered"]++
		default: // persist and restore one side
			p := rng.IntN(2)
			enc := stateBytes(t, sessions[p])
			restored := new(Session)
			if err := restored.UnmarshalBinary(enc); err != nil {
				fail("restore: %v", err)
			}
			if !bytes.Equal(stateBytes(t, restored), enc) {
				fail("restored state differs")
			}
			sessions[p] = restored
			stats["restored"]++
		}
	}
	// Drain: everything still in flight arrives, in random order.
	for len(inflight) > 0 {
		f := take(&inflight)
		to := 1 - f.from
		if pt, err := sessions[to].Decrypt(rands[to], f.msg, testAD); err != nil || string(pt) != f.pt {
			t.Fatalf("seed %d drain %q: %q, %v", seed, f.pt, pt, err)
		}
	}
	if stats["turns"] < 10 || stats["duplicates"] == 0 || stats["tampered"] == 0 || stats["restored"] == 0 {
		t.Fatalf("seed %d: degenerate schedule %v", seed, stats)
	}
}
