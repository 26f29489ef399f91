package transport

import (
	"context"
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

// TestWithResume: the state rides in ctx to History; a nil state clears an outer one
// (the first call of a chain never continues someone else's).
func TestWithResume(t *testing.T) {
	ctx := WithResume(context.Background(), []byte{1, 2})
	if got := ResumeState(ctx); string(got) != "\x01\x02" {
		t.Fatalf("ResumeState = %v", got)
	}
	if got := ResumeState(WithResume(ctx, nil)); got != nil {
		t.Errorf("ResumeState after WithResume(nil) = %v, want nil", got)
	}
	if ResumeState(context.Background()) != nil || ResumeOf(errors.New("x")) != nil || AskedOf(nil) != 0 {
		t.Error("no state: want nil / 0")
	}
	te := fmt.Errorf("w: %w", &TruncatedError{Resume: []byte{3}, Asked: 2})
	if string(ResumeOf(te)) != "\x03" || AskedOf(te) != 2 {
		t.Errorf("ResumeOf/AskedOf of a wrapped TruncatedError: %v, %d", ResumeOf(te), AskedOf(te))
	}
}
