package membership

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// UpdateBothWays applies msg to stored as Update does, once through the causal shortcut
// (extendCausal; ok false when it does not apply) and once by deriving the whole log.
func UpdateBothWays(stored *State, msg []byte, now time.Time) (short State, ok bool, full State, err error) {
	m, _, err := decodeMessage(msg, false)
	if err != nil {
		return State{}, false, State{}, err
	}
	nowMs := uint64(now.UnixMilli())
	var incoming []Event
	for _, ev := range m.Events {
		if ev.Clock == 0 || (ev.Clock > nowMs && ev.Clock-nowMs > MaxClockDriftMs) {
			continue
		}
		incoming = append(incoming, ev)
	}
	short, ok = extendCausal(stored, incoming)
	short.room = nil // where the events are held, not what they are
	full, err = chorusRules{}.derive(stored.ChatID, append(stored.Log(), incoming...))
	return short, ok, full, err
}

// SetDiffBothWays returns setDiff(a, b) and the same computed with maps.
func SetDiffBothWays(a, b []string) (onlyA, onlyB, wantA, wantB []string) {
	ma, mb := MembersOf(a...), MembersOf(b...)
	onlyA, onlyB = setDiff(ma, mb)
	return hexesOf(onlyA), hexesOf(onlyB), hexesOf(minus(ma, mb)), hexesOf(minus(mb, ma))
}

// CompactPayload puts payload in compact form (member entries as 65-byte keys) and returns
// its re-encoding, the number of members, the ids it gives and ok (false: held as it is).
func CompactPayload(payload []byte) (again []byte, n int, ids []string, ok bool) {
	c, ok := compactOf(payload)
	if !ok {
		return nil, 0, nil, false
	}
	for i := range c.members() {
		ids = append(ids, c.member(i))
	}
	again = c.appendPayload(nil)
	if len(again) != c.size() {
		panic("compactPayload.size")
	}
	return again, c.members(), ids, true
}

// CheckEntry holds payload as an event entry does (in compact form when it can) and
// returns a difference between what the entry gives and the reference on the payload as
// it is (the payload, its digest, its comparison, its decoded fields), or "".
func CheckEntry(chatID string, payload []byte) string {
	sig := make([]byte, SignatureLength)
	e := newEntry(append(sig, payload...))
	switch {
	case !bytes.Equal(e.payload(), payload) || e.size() != len(payload):
		return "payload"
	case e.digest(chatID) != signingDigest(chatID, payload):
		return "digest"
	case !e.equalPayload(payload):
		return "equal"
	case len(payload) > 0 && e.equalPayload(append(bytes.Clone(payload[:len(payload)-1]), payload[len(payload)-1]^1)):
		return "equal to another payload"
	}
	got, gerr := e.fields()
	want, werr := decodeFields(payload)
	if (gerr == nil) != (werr == nil) {
		return fmt.Sprintf("decoding: %v, want %v", gerr, werr)
	}
	if gerr == nil && (got.clock != want.clock || got.typ != want.typ || !got.members.Equal(want.members) ||
		!slices.Equal(got.members.Strings(), want.members.Strings()) || got.name != want.name || got.color != want.color ||
		got.description != want.description || !bytes.Equal(got.image, want.image) || !slices.Equal(got.parents, want.parents) ||
		got.version != want.version || got.causalErr != want.causalErr) {
		return "fields"
	}
	return ""
}
