package transport

import (
	"errors"
	"fmt"
	"time"
)

// TruncatedError is the error a transport's History returns with an answer it cut
// short (errors.Is(err, ErrHistoryTruncated)). The answer holds every stored message
// on the topics with since <= Timestamp <= Complete, and may hold later ones (those of
// stores that answered further); messages after Complete may be missing.
type TruncatedError struct {
	// Complete is the time up to which (inclusive) the answer is complete.
	Complete time.Time
	// Reason says what cut the answer (a message or page bound, a store's deadline).
	Reason string
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("transport: history truncated (%s): complete up to %s",
		e.Reason, e.Complete.UTC().Format(time.RFC3339Nano))
}

// Unwrap makes errors.Is(err, ErrHistoryTruncated) hold.
func (e *TruncatedError) Unwrap() error { return ErrHistoryTruncated }

// ResumeAt returns the since of the query that continues a History answer envs cut
// short with err (errors.Is(err, ErrHistoryTruncated)) for a query from since: the
// error's Complete time if it carries a *TruncatedError, else the timestamp of the
// last envelope (envs ordered); one nanosecond after since if that does not advance,
// so that a caller looping on truncated answers always moves forward. Messages at the
// returned time itself are asked for again (some of them may have been cut).
func ResumeAt(err error, since time.Time, envs []Envelope) time.Time {
	var next time.Time
	var te *TruncatedError
	switch {
	case errors.As(err, &te):
		next = te.Complete
	case len(envs) > 0:
		next = envs[len(envs)-1].Timestamp
	}
	if !next.After(since) {
		return since.Add(time.Nanosecond)
	}
	return next
}
