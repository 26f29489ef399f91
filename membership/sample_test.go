package membership_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	m "github.com/chorus-im/chorus/membership"
)

// TestStatusSample checks the shared status-go sample (spec/status-membership, a copy of
// shared/vectors/status-membership): our events, messages and envelopes are byte-identical
// to status-go's, and the status rules give status-go's state. (The conformance runner,
// cmd/chorus, checks every field; this is the package's own guard.)
func TestStatusSample(t *testing.T) {
	data, err := os.ReadFile("../spec/status-membership/valid_flows.json")
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		Creator, Name, Color string
		ImageHex             string `json:"image_hex"`
		Members, Admins      []string
		Last                 uint64   `json:"last_clock_value"`
		Order                []string `json:"event_order"`
		Abridged             []string `json:"abridged_event_ids"`
	}
	var f struct {
		Cases []struct {
			ID       string
			Receiver struct {
				PublicKey string `json:"public_key"`
				NowMs     int64  `json:"now_ms"`
			}
			Events []struct {
				ID, Author   string
				TypeValue    int32 `json:"type_value"`
				Clock        uint64
				Members      []string
				Name, Color  string
				ImageHex     string `json:"image_hex"`
				SignedChatID string `json:"signed_chat_id"`
				RawHex       string `json:"raw_hex"`
			}
			Messages []struct {
				ID       string
				ChatID   string   `json:"chat_id"`
				EventIDs []string `json:"event_ids"`
				Hex      string   `json:"membership_update_message_hex"`
				AMM      struct {
					Signer       string
					Hex          string
					MessageIDHex string `json:"message_id_hex"`
				} `json:"application_metadata_message"`
			}
			Steps []struct {
				Group struct{ State state }
				After *state `json:"receiver_state_after"`
			}
		}
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range f.Cases {
		t.Run(c.ID, func(t *testing.T) {
			built := map[string]m.Event{}
			ids := map[string]string{}
			for _, e := range c.Events {
				img, _ := hex.DecodeString(e.ImageHex)
				ev := sign(t, e.Author, e.SignedChatID, m.Event{Clock: e.Clock, Type: m.EventType(e.TypeValue), Members: e.Members, Name: e.Name, Color: e.Color, Image: img})
				if hex.EncodeToString(ev.Raw) != e.RawHex {
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
				b, err := (&m.Message{ChatID: msg.ChatID, Events: evs}).MarshalBinary()
				if err != nil || hex.EncodeToString(b) != msg.Hex {
					if c.ID != "valid/piggybacked_chat_message" { // carries a ChatMessage we do not build here
						t.Fatalf("message %s: our build differs (%v)", msg.ID, err)
					}
					b, _ = hex.DecodeString(msg.Hex)
				}
				wrapped, id, err := m.WrapStatus(b, actors[msg.AMM.Signer].key)
				if err != nil || hex.EncodeToString(wrapped) != msg.AMM.Hex || hex.EncodeToString(id[:]) != msg.AMM.MessageIDHex {
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
				want := c.Steps[i].Group.State
				var order, abridged []string
				for _, e := range g.Events {
					order = append(order, ids[hex.EncodeToString(e.Raw)])
				}
				for _, e := range g.AbridgedEvents() {
					abridged = append(abridged, ids[hex.EncodeToString(e.Raw)])
				}
				if g.Creator != want.Creator || g.Name != want.Name || g.Color != want.Color || hex.EncodeToString(g.Image) != want.ImageHex ||
					!slices.Equal(g.Members, want.Members) || !slices.Equal(g.Admins, want.Admins) || g.LastClock != want.Last ||
					!slices.Equal(order, want.Order) || !slices.Equal(abridged, want.Abridged) {
					t.Fatalf("message %s: group state differs", msg.ID)
				}
				st, _, err := m.Update(stored, b, c.Receiver.PublicKey, time.UnixMilli(c.Receiver.NowMs), m.StatusRules())
				if err != nil {
					t.Fatal(err)
				}
				stored = &st
				if a := c.Steps[i].After; a == nil || !slices.Equal(st.Members, a.Members) || !slices.Equal(st.Admins, a.Admins) {
					t.Fatalf("message %s: receiver state differs", msg.ID)
				}
			}
		})
	}
}
