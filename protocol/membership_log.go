package protocol

import (
	"bytes"
	"errors"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
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
	if len(old.Overridden)+len(old.Pending)+len(next.Overridden)+len(next.Pending) > 0 || len(next.Events) <= n || next.Base != nil ||
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
		if len(ev.Signature) != membership.SignatureLength || ev.PayloadSize() == 0 {
			return encodeEvents(next) // reports the error
		}
		out = protowire.AppendTag(out, logFieldEvents, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(len(ev.Signature)+ev.PayloadSize()))
		out = ev.AppendEntry(out)
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
		if n < 0 || len(v) != len(ev.Signature)+ev.PayloadSize() || !bytes.HasPrefix(v, ev.Signature) {
			return false
		}
		b = b[n:]
	}
	return len(b) == 0
}

// Appending to the stored log (issue 13): the log is stored apart from the group's other
// fields (StoreTx.AppendGroupLog), so a membership event appends its entries instead of
// reading and rewriting the whole log. That is only right while the stored log is the
// canonical encoding of the state the event extends: a logMark, kept per group
// (hotPath.logs, txn.logs), says so for the state of the marked size and last
// signature. It is set where the log is known (a group cached from its stored record, a
// membership change just stored) and dropped by any other write of the log (PutGroup).

// logMark identifies the state whose canonical encoding the stored log is.
type logMark struct {
	events int
	last   string // signature of the last applied event
}

// markOf returns the mark of st (false: st has overridden or pending events, whose
// encoding is not an appendable one).
func markOf(st *membership.State) (logMark, bool) {
	if len(st.Overridden)+len(st.Pending) > 0 || st.Base != nil { // a based state is stored whole (encodeEvents)
		return logMark{}, false
	}
	m := logMark{events: len(st.Events)}
	if m.events > 0 {
		m.last = string(st.Events[m.events-1].Signature)
	}
	return m, true
}

// logKnown returns the mark of group id's stored log as of this transaction.
func (t *txn) logKnown(id GroupID) (logMark, bool) {
	if m, ok := t.logs[id]; ok {
		return m.mark, m.ok
	}
	m, ok := t.c.hot.logs[id]
	return m, ok
}

// setLogMark records that group id's stored log is the canonical encoding of st (nil:
// unknown) for the rest of the transaction and, at commit, for the client.
func (t *txn) setLogMark(id GroupID, st *membership.State) {
	var m logMark
	ok := false
	if st != nil {
		m, ok = markOf(st)
	}
	if t.logs == nil {
		t.logs = map[GroupID]txnLogMark{}
	}
	t.logs[id] = txnLogMark{mark: m, ok: ok}
	c := t.c
	t.onCommit(func() {
		if !ok {
			delete(c.hot.logs, id)
			return
		}
		if c.hot.logs == nil {
			c.hot.logs = map[GroupID]logMark{}
		}
		c.hot.logs[id] = m
	})
}

type txnLogMark struct {
	mark logMark
	ok   bool
}

// logTail returns the entries to append to group id's stored log, the canonical
// encoding of old, for it to become that of next: when next is old with events appended
// (and the stored log is known to be old's).
func (t *txn) logTail(id GroupID, old, next *membership.State) ([]byte, bool) {
	m, ok := t.logKnown(id)
	if !ok {
		return nil, false
	}
	if om, ok := markOf(old); !ok || om != m {
		return nil, false
	}
	n := len(old.Events)
	if len(next.Overridden)+len(next.Pending) > 0 || len(next.Events) <= n || old.ChatID != next.ChatID {
		return nil, false
	}
	// next's events extend old's in place (membership's extension shares the array: the
	// same elements) or are checked one by one.
	if unsafe.SliceData(old.Events) != unsafe.SliceData(next.Events) {
		for i := range old.Events {
			if !bytes.Equal(old.Events[i].Signature, next.Events[i].Signature) {
				return nil, false
			}
		}
	}
	var out []byte
	for _, ev := range next.Events[n:] {
		if len(ev.Signature) != membership.SignatureLength || ev.PayloadSize() == 0 {
			return nil, false
		}
		out = protowire.AppendTag(out, logFieldEvents, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(len(ev.Signature)+ev.PayloadSize()))
		out = ev.AppendEntry(out)
	}
	return out, true
}

// storeLog stores g (its log is next's) after the membership change from old: by
// appending to the stored log when it allows (logTail), written whole otherwise.
func (t *txn) storeLog(g *storage.GroupRecord, old, next *membership.State) error {
	if tail, ok := t.logTail(g.ID, old, next); ok {
		if len(g.Events) > 0 {
			// The caller holds the whole log (and may use it after): extended too.
			var err error
			if g.Events, err = encodeEventsAfter(g.Events, old, next); err != nil {
				return err
			}
		}
		if err := t.PutGroupExceptLog(g); err != nil {
			return err
		}
		if err := t.AppendGroupLog(g.ID, tail); err != nil {
			return err
		}
	} else {
		var err error
		if g.Events, err = encodeEvents(next); err != nil {
			return err
		}
		if err := t.PutGroup(g); err != nil {
			return err
		}
	}
	t.setLogMark(g.ID, next)
	return nil
}

// deriveState parses a stored event log and derives the state under the chorus rules; a
// group joined from a snapshot add Welcome stores its based state instead (spec: "Welcome
// v2", snapshot add Welcome), never derived from its events alone.
func deriveState(chatID string, events []byte) (membership.State, error) {
	if len(events) == 0 {
		return membership.State{}, errors.New("protocol: group without events")
	}
	if membership.IsSnapshot(events) {
		return membership.ParseSnapshot(chatID, events)
	}
	m, err := membership.ParseMessage(events)
	if err != nil {
		return membership.State{}, err
	}
	return membership.Derive(chatID, m.Events, membership.ChorusRules())
}

// encodeEvents encodes what a group stores of st: its log, or its based state.
func encodeEvents(st *membership.State) ([]byte, error) {
	if st.Base != nil {
		return st.MarshalSnapshot()
	}
	return (&membership.Message{ChatID: st.ChatID, Events: st.Log()}).MarshalBinary()
}

// messageReceived is messageFromRecord for a message just accepted: a membership
// message whose update the key event's check decoded already (pre, if not nil: the same
// update bytes decode to the same events) is not decoded again (a signature recovery per
// event) when that decoding left out no entry (decodeContent's is strict).
func messageReceived(mr *storage.MessageRecord, pre *updateMemo) Message {
	if pre == nil || pre.msg == nil || wire.ContentType(mr.Type) != wire.ContentMembership {
		return messageFromRecord(mr)
	}
	m, err := wire.ParseMembership(mr.Body)
	if err != nil || !bytes.Equal(m.Update, pre.update) || logEntries(m.Update) != len(pre.msg.Events) {
		return messageFromRecord(mr)
	}
	return Message{ID: mr.ID, Group: mr.Group, Seq: mr.Seq, Sender: mr.SenderAccount, SenderInstallation: mr.SenderInstallation,
		Clock: mr.Clock, Timestamp: mr.Timestamp, ReceivedAt: mr.ReceivedAt, Outgoing: mr.Outgoing, Status: mr.Status,
		Content: membershipContent(pre.msg)}
}

// logEntries returns the number of events entries of an encoded membership update (-1 if
// it does not parse).
func logEntries(b []byte) int {
	n := 0
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return -1
		}
		b = b[k:]
		if num == logFieldEvents && typ == protowire.BytesType {
			n++
		}
		if k = protowire.ConsumeFieldValue(num, typ, b); k < 0 {
			return -1
		}
		b = b[k:]
	}
	return n
}
