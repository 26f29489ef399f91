package membership_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
)

// statusExtraJSON renders the extra cases in the status-membership vector format.
func statusExtraJSON(t testing.TB, all []*built) []byte {
	type obj = map[string]any
	var actorList []obj
	for _, n := range actorNames {
		a := actors[n]
		actorList = append(actorList, obj{
			"name": n, "key_derivation": `sha256("status-membership-vectors/v1/` + n + `")`,
			"private_key_hex": hex.EncodeToString(a.key.D.FillBytes(make([]byte, 32))), "public_key": a.pub,
		})
	}
	state := func(b *built, s *xState) any {
		if s == nil {
			return nil
		}
		ever := obj{}
		for _, n := range actorNames {
			ever[n] = contains(s.ever, n)
		}
		return obj{
			"chat_id": b.chat, "creator": actors[s.creator].pub, "name": s.name, "color": s.color, "image_hex": s.image,
			"members": pubs(s.members...), "admins": pubs(s.admins...), "last_clock_value": s.last,
			"event_order": s.order, "abridged_event_ids": s.abridged, "was_ever_member": ever,
		}
	}
	outcome := func(b *built, o xOut) obj {
		r := obj{"accepted": o.ok}
		if !o.ok {
			r["stage"] = string(o.stage)
			if o.failed != "" {
				r["failed_event_id"] = o.failed
			} else {
				r["failed_event_id"] = nil
			}
			r["error"] = b.expandErr(t, o.err)
		}
		if o.state != nil {
			r["state"] = state(b, o.state)
		}
		return r
	}
	var cases []obj
	for _, b := range all {
		c := b.c
		var events []obj
		for _, e := range c.events {
			raw := b.raw[e.id]
			signed := e.signedFor
			if signed == "" {
				signed = b.chat
			}
			eo := obj{"id": e.id, "author": e.author, "author_public_key": actors[e.author].pub, "signed_chat_id": signed,
				"raw_hex": hex.EncodeToString(raw)}
			if len(raw) > 65 {
				eo["signature_hex"] = hex.EncodeToString(raw[:65])
				eo["payload_hex"] = hex.EncodeToString(raw[65:])
				var pe pb.MembershipUpdateEvent
				if proto.Unmarshal(raw[65:], &pe) == nil {
					eo["clock"] = pe.Clock
					eo["type_value"] = int32(pe.Type)
					eo["type"] = m.EventType(pe.Type).String()
					if len(pe.Members) > 0 {
						eo["members"] = pe.Members
					}
					if pe.Name != "" {
						eo["name"] = pe.Name
					}
					if pe.Color != "" {
						eo["color"] = pe.Color
					}
					if len(pe.Image) > 0 {
						eo["image_hex"] = hex.EncodeToString(pe.Image)
					}
				}
			}
			if e.note != "" {
				eo["tampering"] = e.note
			}
			events = append(events, eo)
		}
		var msgs, steps []obj
		var after any
		for i, s := range c.steps {
			id := "m" + itoa(i+1)
			mo := obj{"id": id, "event_ids": s.deliver, "membership_update_message_hex": hex.EncodeToString(b.msgs[i])}
			if s.raw == nil {
				chat := s.chat
				if chat == "" {
					chat = b.chat
				}
				mo["chat_id"] = chat
				wrapped, mid, err := m.WrapStatus(b.msgs[i], actors[b.signer[i]].key)
				if err != nil {
					t.Fatal(err)
				}
				var w pb.ApplicationMetadataMessage
				if err := proto.Unmarshal(wrapped, &w); err != nil {
					t.Fatal(err)
				}
				mo["application_metadata_message"] = obj{"signer": b.signer[i], "type": "MEMBERSHIP_UPDATE_MESSAGE", "type_value": 3,
					"signature_hex": hex.EncodeToString(w.Signature), "hex": hex.EncodeToString(wrapped), "message_id_hex": hex.EncodeToString(mid[:])}
			} else {
				mo["event_ids"] = []string{}
			}
			msgs = append(msgs, mo)
			if s.handler.ok {
				after = state(b, s.after)
			} else if s.after == nil {
				after = nil
			}
			steps = append(steps, obj{"deliver": id, "group": outcome(b, s.group), "handler": outcome(b, s.handler), "receiver_state_after": after})
		}
		cases = append(cases, obj{"id": "extra/" + c.id, "description": c.desc, "chat_id": b.chat,
			"receiver": obj{"actor": c.receiver, "public_key": actors[c.receiver].pub, "now_ms": now},
			"events":   events, "messages": msgs, "steps": steps})
	}
	doc := obj{
		"description": "Chorus-written status-membership cases beyond the shared sample (authorization failures, tampered signatures, V=27, chat-id rule, clocks, receiver merges, ties). Outcomes are derived by hand from status-go's source (protocol/v1/membership_update_message.go, protocol/messenger_handler.go, protocol/message_validator.go) and asserted in membership/status_extra_test.go.",
		"source":      obj{"repository": "github.com/status-im/status-go", "commit": "c72f491324909173c83e69c5a86ace7aeb87daaa"},
		"actors":      actorList,
		"cases":       cases,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func itoa(i int) string { return strconv.Itoa(i) }
