package membership

import "time"

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
	onlyA, onlyB = setDiff(a, b)
	return onlyA, onlyB, minus(a, b), minus(b, a)
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
