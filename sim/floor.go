package sim

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
)

// floor is the senderkeys cost of one group message, measured in this process.
type floor struct {
	plaintext int     // bytes sealed
	seal      float64 // ns per Sender.Seal
	open      float64 // ns per Receiver.Open
	stateOpen float64 // ns per UnmarshalBinary + Open + MarshalBinary (what the engine does)
}

// groupPlaintextSize is the size of the plaintext the engine seals for a text of n bytes
// with a full causal history.
func groupPlaintextSize(n int) int {
	p := &wire.GroupPlaintext{Clock: 1 << 40, Timestamp: 1 << 40, Type: wire.ContentText, Body: make([]byte, n),
		History: make([][wire.HistoryEntrySize]byte, 5)}
	b, err := p.Marshal()
	if err != nil {
		return n
	}
	return len(b)
}

// measureFloor benchmarks senderkeys Seal and Open of a plaintext of size bytes.
func measureFloor(size int) (floor, error) {
	f := floor{plaintext: size}
	group := make([]byte, 32)
	if _, err := rand.Read(group); err != nil {
		return f, err
	}
	owner, err := crypto.GenerateKey()
	if err != nil {
		return f, err
	}
	var inst [16]byte
	var ownerPub [33]byte
	copy(ownerPub[:], crypto.CompressPubkey(&owner.PublicKey))
	pt := make([]byte, size)
	newPair := func() (*senderkeys.Sender, *senderkeys.Receiver, error) {
		s, err := senderkeys.NewSender(rand.Reader, group)
		if err != nil {
			return nil, nil, err
		}
		d, err := s.Distribution(owner, inst)
		if err != nil {
			return nil, nil, err
		}
		r := senderkeys.NewReceiver(group, inst, ownerPub)
		return s, r, r.Process(d)
	}
	var failure error
	fail := func(b *testing.B, err error) {
		failure = err
		b.SkipNow()
	}
	seal := testing.Benchmark(func(b *testing.B) {
		s, _, err := newPair()
		if err != nil {
			fail(b, err)
		}
		for b.Loop() {
			if _, err := s.Seal(pt); err != nil {
				fail(b, err)
			}
		}
	})
	open := func(roundTrip bool) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			const pool = 512
			var msgs [][]byte
			var r *senderkeys.Receiver
			var state []byte
			next := pool
			for b.Loop() {
				if next == pool {
					b.StopTimer()
					s, rr, err := newPair()
					if err != nil {
						fail(b, err)
					}
					msgs = msgs[:0]
					for range pool {
						m, err := s.Seal(pt)
						if err != nil {
							fail(b, err)
						}
						msgs = append(msgs, m)
					}
					r, next = rr, 0
					if state, err = r.MarshalBinary(); err != nil {
						fail(b, err)
					}
					b.StartTimer()
				}
				if roundTrip {
					r = new(senderkeys.Receiver)
					if err := r.UnmarshalBinary(state); err != nil {
						fail(b, err)
					}
				}
				if _, err := r.Open(msgs[next]); err != nil {
					fail(b, err)
				}
				if roundTrip {
					var err error
					if state, err = r.MarshalBinary(); err != nil {
						fail(b, err)
					}
				}
				next++
			}
		})
	}
	o, rt := open(false), open(true)
	if failure != nil {
		return f, fmt.Errorf("sim: senderkeys floor: %w", failure)
	}
	f.seal, f.open, f.stateOpen = nsPerOp(seal), nsPerOp(o), nsPerOp(rt)
	return f, nil
}

func nsPerOp(r testing.BenchmarkResult) float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}
