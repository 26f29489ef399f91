package protocol

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/chorus-im/chorus/membership"
)

// Field numbers of MembershipUpdateMessage (membership/pb): a stored event log is its
// chat id, then one events entry (Signature || Payload) per event, in State.Log order.
const (
	logFieldChatID protowire.Number = 1
	logFieldEvents protowire.Number = 2
)

// encodeEventsAfter is encodeEvents(next) for a group whose stored log prev encodes old:
// when next's log is old's with events appended (neither has overridden or pending
// events) the new entries are appended to prev instead of encoding the whole log again
// (a large group's log holds a MEMBERS_ADDED naming every member). prev is checked entry
// by entry against old first; anything else is encoded in full.
func encodeEventsAfter(prev []byte, old, next *membership.State) ([]byte, error) {
	n := len(old.Events)
	if len(old.Overridden)+len(old.Pending)+len(next.Overridden)+len(next.Pending) > 0 || len(next.Events) <= n ||
		old.ChatID != next.ChatID || !logHolds(prev, old) {
		return encodeEvents(next)
	}
	for i := range old.Events {
		if !bytes.Equal(old.Events[i].Signature, next.Events[i].Signature) {
			return encodeEvents(next)
		}
	}
	out := make([]byte, len(prev), len(prev)+(len(next.Events)-n)*256)
	copy(out, prev)
	for _, ev := range next.Events[n:] {
		if len(ev.Signature) != membership.SignatureLength || len(ev.Payload) == 0 {
			return encodeEvents(next) // reports the error
		}
		out = protowire.AppendTag(out, logFieldEvents, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(len(ev.Signature)+len(ev.Payload)))
		out = append(append(out, ev.Signature...), ev.Payload...)
	}
	return out, nil
}

// logHolds reports whether b is exactly the canonical encoding of st's applied events (chat
// id field, then one entry per event whose signature is the event's, nothing else).
func logHolds(b []byte, st *membership.State) bool {
	if st.ChatID != "" {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != logFieldChatID || typ != protowire.BytesType {
			return false
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 || string(v) != st.ChatID {
			return false
		}
		b = b[n:]
	}
	for i := range st.Events {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != logFieldEvents || typ != protowire.BytesType {
			return false
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		ev := &st.Events[i]
		if n < 0 || len(v) != len(ev.Signature)+len(ev.Payload) || !bytes.HasPrefix(v, ev.Signature) {
			return false
		}
		b = b[n:]
	}
	return len(b) == 0
}
