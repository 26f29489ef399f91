package transport

import (
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
