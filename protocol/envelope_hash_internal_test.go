package protocol

import (
	"crypto/sha256"
	"strings"
	"testing"

	"lukechampine.com/blake3"
)

// TestEnvelopeHashStackPath: the replay marker hashed from the stack (small envelopes)
// equals the streamed hash of u16 len(topic) ‖ topic ‖ payload, on both sides of the
// bound, and allocates nothing.
func TestEnvelopeHashStackPath(t *testing.T) {
	topic := "/waku/2/" + strings.Repeat("t", 40)
	for n := envelopeHashStack - len(topic) - 8; n <= envelopeHashStack-len(topic)+8; n++ {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		h := sha256.New()
		h.Write([]byte{byte(len(topic) >> 8), byte(len(topic))})
		h.Write([]byte(topic))
		h.Write(payload)
		if got := envelopeHash(topic, payload); string(got[:]) != string(h.Sum(nil)) {
			t.Fatalf("envelopeHash of a %d-byte payload differs from the streamed hash", n)
		}
	}
	small := make([]byte, 384)
	if a := testing.AllocsPerRun(100, func() { envelopeHash(topic, small) }); a != 0 {
		t.Fatalf("%v allocations hashing a 384-byte envelope", a)
	}
}

// TestEnvelopeHashLarge: an envelope whose hashed bytes are more than envelopeHashBLAKE3
// has the BLAKE3-256 marker, one of at most that many the SHA-256 one (spec "Delivery").
func TestEnvelopeHashLarge(t *testing.T) {
	topic := "/waku/2/" + strings.Repeat("t", 40)
	for n := envelopeHashBLAKE3 - len(topic) - 4; n <= envelopeHashBLAKE3-len(topic)+2; n++ {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 5)
		}
		in := append(append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...), payload...)
		want := sha256.Sum256(in)
		if len(in) > envelopeHashBLAKE3 {
			want = blake3.Sum256(in)
		}
		if got := envelopeHash(topic, payload); got != want {
			t.Fatalf("envelopeHash of %d bytes hashed differs", len(in))
		}
	}
}

// TestEnvelopeHashPooled: a client hashes a key block's envelope (150 KB) with a BLAKE3
// hasher it reuses: the marker equals envelopeHash's, and a second envelope allocates
// nothing (issue 13: each was an 18 KB hasher allocated and zeroed per receiver).
func TestEnvelopeHashPooled(t *testing.T) {
	topic := "/waku/2/" + strings.Repeat("t", 40)
	var hp hasherPool
	for _, n := range []int{300, envelopeHashBLAKE3, 150 << 10, 17, 150<<10 + 3} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i*3 + n)
		}
		if got, want := hp.envelopeHash(topic, payload), envelopeHash(topic, payload); got != want {
			t.Fatalf("pooled marker of a %d-byte payload differs", n)
		}
	}
	big := make([]byte, 150<<10)
	if a := testing.AllocsPerRun(20, func() { hp.envelopeHash(topic, big) }); a != 0 {
		t.Fatalf("%v allocations per 150 KB envelope hashed with the pool", a)
	}
}
