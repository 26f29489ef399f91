package protocol

import (
	"crypto/sha256"
	"strings"
	"testing"
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
