package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/internal/statussample"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
)

// checkCase checks one case: its events, its messages, then every delivery step in order
// with the receiver's stored group carried across steps.
func (c *checker) checkCase(vc *statussample.Case) {
	c.ids = make(map[string]string)
	events := make(map[string]*statussample.Event, len(vc.Events))
	for i := range vc.Events {
		e := &vc.Events[i]
		if e.ID == "" {
			c.failf("malformed case: events[%d] has no id", i)
			continue
		}
		events[e.ID] = e
		raw, ok := c.eventRaw(e)
		if !ok {
			continue
		}
		if _, dup := c.ids[hex.EncodeToString(raw)]; !dup {
			c.ids[hex.EncodeToString(raw)] = e.ID
		}
		c.checkEventBuild(e, raw)
	}
	msgs := make(map[string]*statussample.Message, len(vc.Messages))
	for i := range vc.Messages {
		m := &vc.Messages[i]
		msgs[m.ID] = m
		b, ok := c.unhex("messages["+m.ID+"].membership_update_message_hex", m.Hex)
		if !ok {
			continue
		}
		m.Bytes = b
		c.checkMessage(vc, m, events)
	}
	if len(vc.Steps) == 0 {
		c.failf("malformed case: no steps")
		return
	}
	self := vc.Receiver.PublicKey
	if a := c.actors[vc.Receiver.Actor]; self == "" && a != nil {
		self = a.pub
	}
	// The receiver holds one stored group per chat id, as status-go's chat table does: a
	// message for another chat id takes the new-chat path.
	chats := map[string]*membership.State{}
	for i, step := range vc.Steps {
		field := "steps[" + itoa(i) + "]"
		m := msgs[step.Deliver]
		if m == nil || m.Bytes == nil {
			c.failf("malformed case: %s delivers unknown or undecodable message %q", field, step.Deliver)
			return
		}
		if step.Group != nil {
			var st membership.State
			msg, err := membership.ParseMessage(m.Bytes)
			if err == nil {
				st, err = membership.Derive(msg.ChatID, msg.Events, membership.StatusRules())
			}
			c.checkOutcome(field+".group", step.Group, st, err)
		}
		if step.Handler != nil {
			if vc.Receiver.NowMs == nil || self == "" {
				c.failf("malformed case: receiver needs public_key (or a known actor) and now_ms")
				return
			}
			now := time.UnixMilli(int64(*vc.Receiver.NowMs))
			target := messageChatID(m.Bytes)
			st, _, err := membership.Update(chats[target], m.Bytes, self, now, membership.StatusRules())
			c.checkOutcome(field+".handler", step.Handler, st, err)
			if err == nil {
				chats[st.ChatID] = &st
			}
		}
		stored := chats[vc.ChatID]
		if vc.ChatID == "" {
			stored = chats[messageChatID(m.Bytes)]
		}
		after := strings.TrimSpace(string(step.ReceiverAfter))
		switch {
		case after == "":
		case after == "null":
			if stored != nil {
				c.failf("%s.receiver_state_after: expected no chat, got one", field)
			}
		default:
			var want statussample.State
			if err := json.Unmarshal(step.ReceiverAfter, &want); err != nil {
				c.failf("malformed case: %s.receiver_state_after: %v", field, err)
				continue
			}
			if stored == nil {
				c.failf("%s.receiver_state_after: expected a chat, got none", field)
				continue
			}
			c.checkState(field+".receiver_state_after", &want, *stored)
		}
	}
}

// messageChatID is the chat_id of an encoded MembershipUpdateMessage ("" if undecodable).
func messageChatID(b []byte) string {
	var w pb.MembershipUpdateMessage
	if proto.Unmarshal(b, &w) != nil {
		return ""
	}
	return w.ChatId
}

// eventRaw returns the wire entry of a vector event (raw_hex, or signature || payload).
func (c *checker) eventRaw(e *statussample.Event) ([]byte, bool) {
	field := "events[" + e.ID + "]"
	if e.RawHex != "" {
		raw, ok := c.unhex(field+".raw_hex", e.RawHex)
		if !ok {
			return nil, false
		}
		if e.SignatureHex != "" && e.PayloadHex != "" && e.SignatureHex+e.PayloadHex != e.RawHex {
			c.failf("malformed case: %s: raw_hex is not signature_hex || payload_hex", field)
		}
		return raw, true
	}
	sig, ok1 := c.unhex(field+".signature_hex", e.SignatureHex)
	payload, ok2 := c.unhex(field+".payload_hex", e.PayloadHex)
	return append(sig, payload...), ok1 && ok2
}

// checkEventBuild re-creates an honest event from its fields and the author's key and
// checks that our signing digest and our build are byte-identical to the vector's.
func (c *checker) checkEventBuild(e *statussample.Event, raw []byte) {
	field := "events[" + e.ID + "]"
	if e.SignedChatID == nil || len(raw) <= membership.SignatureLength {
		return
	}
	payload := raw[membership.SignatureLength:]
	if e.SignedPayloadHex != nil && e.Tampered() {
		if p, ok := c.unhex(field+".signed_payload_hex", *e.SignedPayloadHex); ok {
			payload = p
		}
	}
	digest := membership.SigningDigest(*e.SignedChatID, payload)
	if e.DigestHex != nil {
		expectEq(c, field+".signing_digest_keccak256_hex", *e.DigestHex, hex.EncodeToString(digest[:]))
	}
	a := c.actors[e.Author]
	if e.Tampered() || a == nil || e.TypeValue == nil || e.Clock == nil || !canonicalEvent(payload) {
		return
	}
	ev := membership.Event{Clock: *e.Clock, Type: membership.EventType(*e.TypeValue)}
	if e.Members != nil {
		ev.Members = membership.MembersOf(*e.Members...)
	}
	ev.Name, ev.Color = deref(e.Name), deref(e.Color)
	if e.ImageHex != nil && *e.ImageHex != "" {
		img, ok := c.unhex(field+".image_hex", *e.ImageHex)
		if !ok {
			return
		}
		ev.Image = img
	}
	built, err := membership.SignEvent(a.key, *e.SignedChatID, ev)
	if err != nil {
		c.failf("%s: build: %v", field, err)
		return
	}
	expectEq(c, field+".payload_hex (our build)", hex.EncodeToString(payload), hex.EncodeToString(built.Payload()))
	expectEq(c, field+".raw_hex (our build)", hex.EncodeToString(raw), hex.EncodeToString(built.Raw()))
	expectEq(c, field+".author (our build)", a.pub, built.From)
}

// canonicalEvent reports whether payload is exactly protobuf-go's encoding of its content
// with no unknown fields, i.e. something status-go's encoder can produce.
func canonicalEvent(payload []byte) bool {
	var m pb.MembershipUpdateEvent
	if proto.Unmarshal(payload, &m) != nil || len(m.ProtoReflect().GetUnknown()) > 0 || len(m.Description) > 0 {
		return false
	}
	b, err := proto.Marshal(&m)
	return err == nil && bytes.Equal(b, payload)
}

// checkMessage checks parsing (authors and fields), re-encoding, the piggybacked entity and
// the ApplicationMetadataMessage wrapping of one message.
func (c *checker) checkMessage(vc *statussample.Case, vm *statussample.Message, events map[string]*statussample.Event) {
	field := "messages[" + vm.ID + "]"
	m, err := membership.ParseMessage(vm.Bytes)
	if err != nil {
		vm.DecodeErr = err // judged by the steps that deliver it
		return
	}
	chatID := vc.ChatID
	if vm.ChatID != nil {
		chatID = *vm.ChatID
	}
	expectEq(c, field+".chat_id", chatID, m.ChatID)
	if vm.EventIDs != nil && len(vm.EventIDs) != len(m.Events) {
		c.failf("%s.event_ids: expected %d events, parsed %d", field, len(vm.EventIDs), len(m.Events))
	} else {
		for i, id := range vm.EventIDs {
			if e := events[id]; e != nil {
				c.checkParsedEvent(field+".events["+id+"]", e, &m.Events[i], m.ChatID)
			} else {
				c.failf("malformed case: %s lists unknown event %q", field, id)
			}
		}
	}
	// Re-encoding: the parsed message round-trips, and a message built afresh from the
	// parsed content is byte-identical whenever status-go's encoder could have produced it.
	if b, err := m.MarshalBinary(); err != nil || !bytes.Equal(b, vm.Bytes) {
		c.failf("%s.membership_update_message_hex: re-encoding differs (%v)", field, err)
	}
	if canonicalMessage(vm.Bytes) {
		fresh := &membership.Message{ChatID: m.ChatID, Events: m.Events, ChatMessage: m.ChatMessage, EmojiReaction: m.EmojiReaction}
		if b, err := fresh.MarshalBinary(); err != nil || !bytes.Equal(b, vm.Bytes) {
			c.failf("%s.membership_update_message_hex: our build differs (%v)", field, err)
		}
	}
	if vm.Piggyback != nil && vm.Piggyback.EncodedHex != nil {
		expectEq(c, field+".piggybacked_chat_message.encoded_hex", *vm.Piggyback.EncodedHex, hex.EncodeToString(m.ChatMessage))
	}
	if vm.AppMeta != nil {
		c.checkAppMeta(field+".application_metadata_message", vm)
	}
}

// canonicalMessage reports whether b is exactly protobuf-go's encoding of its content.
func canonicalMessage(b []byte) bool {
	var m pb.MembershipUpdateMessage
	if proto.Unmarshal(b, &m) != nil || len(m.ProtoReflect().GetUnknown()) > 0 {
		return false
	}
	out, err := proto.Marshal(&m)
	return err == nil && bytes.Equal(out, b)
}

// checkParsedEvent compares a parsed event with the vector's decoded fields and author.
func (c *checker) checkParsedEvent(field string, e *statussample.Event, ev *membership.Event, chatID string) {
	if e.RawHex != "" {
		expectEq(c, field+".raw_hex", e.RawHex, hex.EncodeToString(ev.Raw()))
	}
	if e.Clock != nil {
		expectEq(c, field+".clock", *e.Clock, ev.Clock)
	}
	if e.TypeValue != nil {
		expectEq(c, field+".type_value", *e.TypeValue, int32(ev.Type))
	}
	if e.Type != "" && e.TypeValue != nil && *e.TypeValue >= 0 && *e.TypeValue <= 9 { // names status-go knows
		expectEq(c, field+".type", e.Type, ev.Type.String())
	}
	var members []string
	if e.Members != nil {
		members = *e.Members
	}
	expectList(c, field+".members", members, ev.Members.Strings())
	expectEq(c, field+".name", deref(e.Name), ev.Name)
	expectEq(c, field+".color", deref(e.Color), ev.Color)
	expectEq(c, field+".image_hex", deref(e.ImageHex), hex.EncodeToString(ev.Image))
	if !e.Tampered() && e.SignedChatID != nil && *e.SignedChatID == chatID && e.AuthorPublicKey != "" {
		expectEq(c, field+".author", e.AuthorPublicKey, ev.From)
	}
}

// checkAppMeta checks our WrapStatus against the vector's envelope and UnwrapStatus on it.
func (c *checker) checkAppMeta(field string, vm *statussample.Message) {
	a := vm.AppMeta
	if t := strings.TrimSpace(string(a.Tampering)); t != "" && t != "null" && t != "false" {
		return // a deliberately broken envelope: not something we build
	}
	if a.Hex != nil {
		b, ok := c.unhex(field+".hex", *a.Hex)
		if !ok {
			return
		}
		payload, typ, signer, id, err := membership.UnwrapStatus(b)
		if err != nil {
			c.failf("%s: unwrap: %v", field, err)
			return
		}
		if !bytes.Equal(payload, vm.Bytes) {
			c.failf("%s.payload: differs from membership_update_message_hex", field)
		}
		if a.TypeValue != nil {
			expectEq(c, field+".type_value", *a.TypeValue, typ)
		}
		if s := c.actors[a.Signer]; s != nil {
			expectEq(c, field+".signer", s.pub, signer)
		}
		if a.MessageIDHex != nil {
			expectEq(c, field+".message_id_hex", *a.MessageIDHex, hex.EncodeToString(id[:]))
		}
	}
	s := c.actors[a.Signer]
	if s == nil || (a.TypeValue != nil && *a.TypeValue != membership.StatusMessageType) {
		return
	}
	wrapped, id, err := membership.WrapStatus(vm.Bytes, s.key)
	if err != nil {
		c.failf("%s: wrap: %v", field, err)
		return
	}
	if a.Hex != nil {
		expectEq(c, field+".hex (our build)", *a.Hex, hex.EncodeToString(wrapped))
	}
	if a.MessageIDHex != nil {
		expectEq(c, field+".message_id_hex (our build)", *a.MessageIDHex, hex.EncodeToString(id[:]))
	}
	if a.SignatureHex != nil {
		var w pb.ApplicationMetadataMessage
		if proto.Unmarshal(wrapped, &w) == nil {
			expectEq(c, field+".signature_hex (our build)", *a.SignatureHex, hex.EncodeToString(w.Signature))
		}
	}
}

// checkOutcome compares an accept/reject outcome (and the state when accepted).
func (c *checker) checkOutcome(field string, want *statussample.Outcome, st membership.State, err error) {
	if want.Accepted == nil {
		c.failf("malformed case: %s has no accepted", field)
		return
	}
	if *want.Accepted != (err == nil) {
		if err == nil {
			c.failf("%s.accepted: expected false (stage %s: %s), got true", field, deref(want.Stage), deref(want.Error))
		} else {
			c.failf("%s.accepted: expected true, got false (%v)", field, err)
		}
		return
	}
	if err != nil {
		var re *membership.RejectError
		if !errors.As(err, &re) {
			c.failf("%s: unexpected error type: %v", field, err)
			return
		}
		got := c.eventID(re.Entry)
		if want.Stage != nil {
			expectEq(c, field+".stage", *want.Stage, string(re.Stage))
		}
		if want.FailedEventID != nil {
			expectEq(c, field+".failed_event_id", *want.FailedEventID, got)
		}
		if want.Error != nil && !sameError(*want.Error, re.Err.Error(), got) {
			c.failf("%s.error: expected %q, got %q", field, *want.Error, re.Err.Error())
		}
		return
	}
	if want.State != nil {
		c.checkState(field+".state", want.State, st)
	}
}

// eventID names the event of a wire entry ("" for none, "?" for one not in the case).
func (c *checker) eventID(entry []byte) string {
	if entry == nil {
		return ""
	}
	if id, ok := c.ids[hex.EncodeToString(entry)]; ok {
		return id
	}
	return "?"
}

// sameError compares status-go's error text (whose %#+v event dump the vectors replace by
// an event reference) with ours (which writes "<event-id>" there). protobuf-go may print
// non-breaking spaces in its "proto:" prefix.
func sameError(want, got, failedID string) bool {
	norm := func(s string) string { return strings.ReplaceAll(s, "\u00a0", " ") }
	want, got = norm(want), norm(got)
	if want == got {
		return true
	}
	const ph = "<event-id>"
	if !strings.Contains(got, ph) {
		return false
	}
	if failedID != "" {
		for _, v := range []string{failedID, "<" + failedID + ">"} {
			if strings.ReplaceAll(got, ph, v) == want {
				return true
			}
		}
	}
	parts := strings.SplitN(got, ph, 2)
	return len(want) > len(parts[0])+len(parts[1]) && strings.HasPrefix(want, parts[0]) && strings.HasSuffix(want, parts[1])
}

// checkState compares a derived state with the vector's.
func (c *checker) checkState(field string, want *statussample.State, st membership.State) {
	if want.ChatID != nil {
		expectEq(c, field+".chat_id", *want.ChatID, st.ChatID)
	}
	if want.Creator != nil {
		expectEq(c, field+".creator", *want.Creator, st.Creator)
	}
	if want.Name != nil {
		expectEq(c, field+".name", *want.Name, st.Name)
	}
	if want.Color != nil {
		expectEq(c, field+".color", *want.Color, st.Color)
	}
	if want.ImageHex != nil {
		expectEq(c, field+".image_hex", *want.ImageHex, hex.EncodeToString(st.Image))
	}
	if want.Members != nil {
		expectList(c, field+".members", *want.Members, st.Members.Strings())
	}
	if want.Admins != nil {
		expectList(c, field+".admins", *want.Admins, st.Admins)
	}
	if want.LastClockValue != nil {
		expectEq(c, field+".last_clock_value", *want.LastClockValue, st.LastClock)
	}
	if want.EventOrder != nil {
		expectList(c, field+".event_order", *want.EventOrder, c.eventIDs(st.Events))
	}
	if want.Abridged != nil {
		expectList(c, field+".abridged_event_ids", *want.Abridged, c.eventIDs(st.AbridgedEvents()))
	}
	for _, name := range sortedKeys(want.WasEverMember) {
		a := c.actors[name]
		if a == nil {
			c.failf("malformed case: %s.was_ever_member names unknown actor %q", field, name)
			continue
		}
		expectEq(c, field+".was_ever_member["+name+"]", want.WasEverMember[name], st.WasEverMember(a.pub))
	}
}

func (c *checker) eventIDs(evs []membership.Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = c.eventID(evs[i].Raw())
	}
	return out
}
