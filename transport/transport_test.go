package transport

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// The "empty meta" vector of 14/WAKU2-MESSAGE (deterministic message hashing).
func TestMessageHashWakuVector(t *testing.T) {
	h := MessageHash("/waku/2/default-waku/proto", "/waku/2/default-content/proto",
		[]byte("\x01\x02\x03\x04TEST\x05\x06\x07\x08"), 123456789123456789)
	if got := hex.EncodeToString(h[:]); got != "f0183c2e370e473ff471bbe1028d0d8a940949c02f3007a1ccd21fed356852a0" {
		t.Fatalf("hash %s", got)
	}
}

// TestMessageHashStackPath: the hash of an input up to messageHashStack (from the stack)
// and of a larger one (streamed) is SHA-256 of the same concatenation, around the bound;
// the small one allocates nothing.
func TestMessageHashStackPath(t *testing.T) {
	const ps, ct = "/waku/2/default-waku/proto", "/chorus/1/g/proto"
	for _, n := range []int{0, 1, 400, messageHashStack - len(ps) - len(ct) - 9, messageHashStack - len(ps) - len(ct) - 8,
		messageHashStack - len(ps) - len(ct) - 7, 4096} {
		payload := []byte(strings.Repeat("p", n))
		var ts [8]byte
		binary.BigEndian.PutUint64(ts[:], 987654321)
		want := sha256.Sum256([]byte(ps + string(payload) + ct + string(ts[:])))
		if got := MessageHash(ps, ct, payload, 987654321); got != want {
			t.Fatalf("%d-byte payload: hash %x, want %x", n, got, want)
		}
	}
	payload := make([]byte, 400)
	if a := testing.AllocsPerRun(100, func() { MessageHash(ps, ct, payload, 1) }); a != 0 {
		t.Fatalf("%v allocations per hash of a 400-byte payload, want 0", a)
	}
}

func TestChecks(t *testing.T) {
	long := strings.Repeat("t", MaxTopicLen+1)
	for _, c := range []struct {
		topic   string
		payload []byte
		want    error
	}{
		{"t", []byte{1}, nil},
		{"t", make([]byte, MaxPayload), nil},
		{"t", make([]byte, MaxPayload+1), ErrPayloadTooLarge},
		{"t", nil, ErrEmptyPayload},
		{"", []byte{1}, ErrInvalidTopic},
		{long, []byte{1}, ErrInvalidTopic},
	} {
		if err := CheckPublish(c.topic, c.payload); !errors.Is(err, c.want) {
			t.Errorf("CheckPublish(%.8q, %d bytes) = %v, want %v", c.topic, len(c.payload), err, c.want)
		}
	}
	if CheckTopics(nil) != ErrNoTopics || CheckTopics([]string{"a", ""}) != ErrInvalidTopic ||
		CheckTopics([]string{long}) != ErrInvalidTopic || CheckTopics([]string{"a", "b"}) != nil {
		t.Fatal("CheckTopics")
	}
}
