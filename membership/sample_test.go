package membership_test

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/statussample"
	m "github.com/chorus-im/chorus/membership"
)

// TestStatusSample checks the shared status-go sample (spec/status-membership, a copy of
// shared/vectors/status-membership): our events, messages and envelopes are byte-identical
// to status-go's, and the status rules give status-go's state. (The conformance runner,
// cmd/chorus, checks every field; this is the package's own guard.)
func TestStatusSample(t *testing.T) {
	f, err := statussample.ReadFile("../spec/status-membership/valid_flows.json")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := f.DecodeCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			built := map[string]m.Event{}
			ids := map[string]string{}
			for _, e := range c.Events {
				img, _ := hex.DecodeString(val(e.ImageHex))
				ev := sign(t, e.Author, val(e.SignedChatID), m.Event{Clock: val(e.Clock), Type: m.EventType(val(e.TypeValue)), Members: m.MembersOf(val(e.Members)...), Name: val(e.Name), Color: val(e.Color), Image: img})
				if hex.EncodeToString(ev.Raw()) != e.RawHex {
					t.Fatalf("event %s: our build differs", e.ID)
				}
				built[e.ID] = ev
				ids[e.RawHex] = e.ID
			}
			var stored *m.State
			for i, msg := range c.Messages {
				var evs []m.Event
				for _, id := range msg.EventIDs {
					evs = append(evs, built[id])
				}
				b, err := (&m.Message{ChatID: val(msg.ChatID), Events: evs}).MarshalBinary()
				if err != nil || hex.EncodeToString(b) != msg.Hex {
					if c.ID != "valid/piggybacked_chat_message" { // carries a ChatMessage we do not build here
						t.Fatalf("message %s: our build differs (%v)", msg.ID, err)
					}
					b, _ = hex.DecodeString(msg.Hex)
				}
				wrapped, id, err := m.WrapStatus(b, actors[msg.AppMeta.Signer].key)
				if err != nil || hex.EncodeToString(wrapped) != val(msg.AppMeta.Hex) || hex.EncodeToString(id[:]) != val(msg.AppMeta.MessageIDHex) {
					t.Fatalf("message %s: envelope differs (%v)", msg.ID, err)
				}
				pm, err := m.ParseMessage(b)
				if err != nil {
					t.Fatal(err)
				}
				g, err := m.Derive(pm.ChatID, pm.Events, m.StatusRules())
				if err != nil {
					t.Fatal(err)
				}
				if c.Steps[i].Group == nil || c.Steps[i].Group.State == nil {
					t.Fatalf("message %s: the sample has no group state", msg.ID)
				}
				want := c.Steps[i].Group.State
				var order, abridged []string
				for _, e := range g.Events {
					order = append(order, ids[hex.EncodeToString(e.Raw())])
				}
				for _, e := range g.AbridgedEvents() {
					abridged = append(abridged, ids[hex.EncodeToString(e.Raw())])
				}
				if g.Creator != val(want.Creator) || g.Name != val(want.Name) || g.Color != val(want.Color) || hex.EncodeToString(g.Image) != val(want.ImageHex) ||
					!slices.Equal(g.Members.Strings(), val(want.Members)) || !slices.Equal(g.Admins, val(want.Admins)) || g.LastClock != val(want.LastClockValue) ||
					!slices.Equal(order, val(want.EventOrder)) || !slices.Equal(abridged, val(want.Abridged)) {
					t.Fatalf("message %s: group state differs", msg.ID)
				}
				st, _, err := m.Update(stored, b, c.Receiver.PublicKey, time.UnixMilli(int64(val(c.Receiver.NowMs))), m.StatusRules())
				if err != nil {
					t.Fatal(err)
				}
				stored = &st
				var a *statussample.State
				if err := json.Unmarshal(c.Steps[i].ReceiverAfter, &a); err != nil || a == nil || !slices.Equal(st.Members.Strings(), val(a.Members)) || !slices.Equal(st.Admins, val(a.Admins)) {
					t.Fatalf("message %s: receiver state differs", msg.ID)
				}
			}
		})
	}
}

// val is *p, or the zero value for an absent field.
func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
