package doubleratchet

import (
	"testing"

	"github.com/chorus-im/chorus/internal/floor"
)

func BenchmarkFloor(b *testing.B) { floor.Run(b) }

var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"1KiB", 1024}}

// BenchmarkEncrypt is one message in an established sending chain.
func BenchmarkEncrypt(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			alice, _ := newPair(b, "bench")
			pt := make([]byte, size.n)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := alice.Encrypt(pt, testAD); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecrypt is one in-order message of the current receiving chain
// (no ratchet turn). Messages are prepared in untimed batches.
func BenchmarkDecrypt(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			alice, bob := newPair(b, "bench")
			pt := make([]byte, size.n)
			rb := testRand("b")
			mustDecrypt(b, bob, rb, mustEncrypt(b, alice, "first"), "first")
			batch := make([][]byte, 0, 1024)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				b.StopTimer()
				batch = batch[:0]
				for j := 0; j < cap(batch) && i+j < b.N; j++ {
					m, err := alice.Encrypt(pt, testAD)
					if err != nil {
						b.Fatal(err)
					}
					batch = append(batch, m)
				}
				b.StartTimer()
				for _, m := range batch {
					if _, err := bob.Decrypt(nil, m, testAD); err != nil {
						b.Fatal(err)
					}
				}
				i += len(batch)
			}
		})
	}
}

// BenchmarkMessage is a whole message without a ratchet turn: Encrypt on one
// side and Decrypt on the other.
func BenchmarkMessage(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			alice, bob := newPair(b, "bench")
			pt := make([]byte, size.n)
			rb := testRand("b")
			mustDecrypt(b, bob, rb, mustEncrypt(b, alice, "first"), "first")
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				m, err := alice.Encrypt(pt, testAD)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bob.Decrypt(rb, m, testAD); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRatchetTurn is a whole message with a DH ratchet turn: the two
// sides alternate, so every Decrypt starts a new receiving chain and a new
// sending chain (3 X25519: receiving DH, new key pair, sending DH).
func BenchmarkRatchetTurn(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			alice, bob := newPair(b, "bench")
			ra, rb := testRand("a"), testRand("b")
			mustDecrypt(b, bob, rb, mustEncrypt(b, alice, "first"), "first")
			pt := make([]byte, size.n)
			sender, receiver, rr := bob, alice, ra
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				m, err := sender.Encrypt(pt, testAD)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := receiver.Decrypt(rr, m, testAD); err != nil {
					b.Fatal(err)
				}
				if rr == ra {
					rr = rb
				} else {
					rr = ra
				}
				sender, receiver = receiver, sender
			}
		})
	}
}

// BenchmarkDecryptSkipped is a late message whose key was stored when a later
// one arrived.
func BenchmarkDecryptSkipped(b *testing.B) {
	alice, bob := newPair(b, "bench")
	rb := testRand("b")
	mustDecrypt(b, bob, rb, mustEncrypt(b, alice, "first"), "first")
	pt := make([]byte, 100)
	late := make([][]byte, 0, 512)
	b.SetBytes(100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		b.StopTimer()
		late = late[:0]
		for j := 0; j < cap(late) && i+j < b.N; j++ {
			m, _ := alice.Encrypt(pt, testAD)
			late = append(late, m)
		}
		mustDecrypt(b, bob, rb, mustEncrypt(b, alice, string(pt)), string(pt))
		b.StartTimer()
		for _, m := range late {
			if _, err := bob.Decrypt(nil, m, testAD); err != nil {
				b.Fatal(err)
			}
		}
		i += len(late)
	}
}

// BenchmarkMarshal and BenchmarkUnmarshal persist and load an established
// session with a few skipped keys.
func BenchmarkMarshal(b *testing.B) {
	s := sessionsAtStages(b)["long-running responder"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	enc := stateBytes(b, sessionsAtStages(b)["long-running responder"])
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var s Session
		if err := s.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}
