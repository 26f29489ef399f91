package protocol

import "bytes"

// healedState is the key schedule and bookkeeping of a group last found healed
// (groupCache.healthy): a send skips the heal check while the record's are unchanged.
// It holds the record's slices, not a copy (issue 16: a copy was 23 KiB per client in a
// group of 1000, beside the group view's same bytes): a record's schedule and
// bookkeeping are only ever replaced, never written in place (groupStateView).
type healedState struct{ schedule, meta []byte }

// is reports whether schedule and meta are the ones found healed.
func (h *healedState) is(schedule, meta []byte) bool {
	return bytes.Equal(h.schedule, schedule) && bytes.Equal(h.meta, meta)
}

// set reports whether a state was found healed.
func (h *healedState) set() bool { return h.schedule != nil || h.meta != nil }
