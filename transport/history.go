package transport

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TruncatedError is the error a transport's History returns with an answer it cut
// short (errors.Is(err, ErrHistoryTruncated)). The answer holds every stored message
// on the topics with since <= Timestamp <= Complete, and may hold later ones (those of
// stores that answered further); messages after Complete may be missing. An answer to
// a call that continued an earlier one with its Resume state (WithResume) is complete
// together with the answers of the calls it continued: a source asked from its own
// resume point, or not asked again because it had answered in full, returned the
// messages before that point in an earlier answer.
type TruncatedError struct {
	// Complete is the time up to which (inclusive) the answer is complete: for a
	// transport with several sources, the earliest point of a source still cut short.
	Complete time.Time
	// Reason says what cut the answer (a message or page bound, a store's deadline).
	Reason string
	// Resume is the transport's opaque state for the call that continues this answer
	// (nil if it keeps none): passed back with WithResume to the History call from
	// ResumeAt on the same topics and until, it lets the transport ask each source from
	// its own point (transport/waku: a store cut short from its own cut, a store that
	// answered in full not again), so that one source cut early does not hold the
	// others back. A transport ignores a state it cannot use (malformed, for other
	// topics, or for an earlier since) and asks every source from since.
	Resume []byte
	// Asked is the number of sources this call asked (transport/waku: the stores not
	// done in the chain), 0 if the transport does not say. A caller can tell from it
	// that sources finished between two calls of a chain.
	Asked int
	// Sources is each source's point at the end of this answer, by the name the
	// transport gives it across restarts (nil if the transport does not say): Done (it
	// answered in full, up to until, in this chain of calls) or At (its answers in the
	// chain are complete before At; it is asked from At next). A source the chain holds
	// no point for (it failed before it was ever cut short, or it was set aside) is not
	// listed. A caller may keep the points between chains and hand them to the first call
	// of a later chain (WithSourcePoints): a Done source's point is then the time the
	// chain began (what it held then was returned), never later.
	Sources []SourcePoint
}

// SourcePoint is one source's place in a chain of History calls (TruncatedError.Sources).
type SourcePoint struct {
	// Source names the source, the same across restarts of the transport
	// (transport/waku: the store peer's id, "local" for the node's own store).
	Source string
	// Done: the source answered in full.
	Done bool
	// At: when not Done, the source's answers are complete before At (at At some may
	// have been cut); it is asked from At next.
	At time.Time
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

// resumeKey is the context key of WithResume's state.
type resumeKey struct{}

// WithResume returns ctx carrying a TruncatedError's Resume state for the History call
// that continues that answer (from ResumeAt, same topics and until). A nil state
// clears the one ctx may carry (the first call of a chain).
func WithResume(ctx context.Context, state []byte) context.Context {
	return context.WithValue(ctx, resumeKey{}, state)
}

// ResumeState returns the Resume state ctx carries (WithResume), or nil.
func ResumeState(ctx context.Context) []byte {
	s, _ := ctx.Value(resumeKey{}).([]byte)
	return s
}

// sourcePointsKey is the context key of WithSourcePoints' points.
type sourcePointsKey struct{}

// WithSourcePoints returns ctx carrying points kept from earlier chains of History calls
// (TruncatedError.Sources), by source name: the caller holds every message the source
// returned before its point. A transport that uses them asks a named source from its
// point when that is later than since, unless the chain's Resume state gives the source
// a point of its own; Complete and Sources are then complete together with those
// earlier answers. A transport ignores names it does not know.
func WithSourcePoints(ctx context.Context, points map[string]time.Time) context.Context {
	return context.WithValue(ctx, sourcePointsKey{}, points)
}

// SourcePointsOf returns the points ctx carries (WithSourcePoints), or nil.
func SourcePointsOf(ctx context.Context) map[string]time.Time {
	p, _ := ctx.Value(sourcePointsKey{}).(map[string]time.Time)
	return p
}

// SourcesOf returns the Sources of err's *TruncatedError, or nil.
func SourcesOf(err error) []SourcePoint {
	var te *TruncatedError
	if errors.As(err, &te) {
		return te.Sources
	}
	return nil
}

// ResumeOf returns the Resume state of err's *TruncatedError, or nil.
func ResumeOf(err error) []byte {
	var te *TruncatedError
	if errors.As(err, &te) {
		return te.Resume
	}
	return nil
}

// AskedOf returns the Asked count of err's *TruncatedError, or 0.
func AskedOf(err error) int {
	var te *TruncatedError
	if errors.As(err, &te) {
		return te.Asked
	}
	return 0
}
