package transport

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestResumeAt: a caller continues from a TruncatedError's Complete even when the
// answer holds later envelopes; without one, from the last envelope; never at or before
// since.
func TestResumeAt(t *testing.T) {
	since := time.Unix(1000, 0)
	envs := []Envelope{{Timestamp: since.Add(time.Second)}, {Timestamp: since.Add(time.Hour)}}
	te := fmt.Errorf("wrapped: %w", &TruncatedError{Complete: since.Add(time.Minute), Reason: "test"})
	if !errors.Is(te, ErrHistoryTruncated) {
		t.Fatal("a TruncatedError is not ErrHistoryTruncated")
	}
	for _, c := range []struct {
		name string
		err  error
		envs []Envelope
		want time.Time
	}{
		{"complete point before later envelopes", te, envs, since.Add(time.Minute)},
		{"plain sentinel: last envelope", ErrHistoryTruncated, envs, since.Add(time.Hour)},
		{"no envelopes: one ns on", ErrHistoryTruncated, nil, since.Add(time.Nanosecond)},
		{"complete at since: one ns on", &TruncatedError{Complete: since}, envs, since.Add(time.Nanosecond)},
		{"complete before since: one ns on", &TruncatedError{Complete: since.Add(-time.Hour)}, nil, since.Add(time.Nanosecond)},
	} {
		if got := ResumeAt(c.err, since, c.envs); !got.Equal(c.want) {
			t.Errorf("%s: ResumeAt = %v, want %v", c.name, got.Sub(since), c.want.Sub(since))
		}
	}
}
