package abijson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

func TestContentDecode(t *testing.T) {
	target := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in   string
		want protocol.ContentType
		err  error
	}{
		{`{"type":"text","text":"hi"}`, protocol.ContentText, nil},
		{`{"type":"reply","target":"` + target + `","text":"re"}`, protocol.ContentReply, nil},
		{`{"type":"reaction","target":"` + target + `","emoji":"👍","removed":true}`, protocol.ContentReaction, nil},
		{`{"type":"reply","target":"zz","text":"re"}`, 0, ErrInvalid},
		{`{"type":"membership"}`, 0, protocol.ErrInvalidContent},
		{`{}`, 0, protocol.ErrInvalidContent},
	} {
		var c Content
		if err := json.Unmarshal([]byte(tc.in), &c); err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode()
		if !errors.Is(err, tc.err) || (err == nil && got.Type != tc.want) {
			t.Errorf("%s: got %+v, %v; want type %d, %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && ContentOf(got) != c {
			t.Errorf("%s: round trip %+v", tc.in, ContentOf(got))
		}
	}
}

func TestFilterDecode(t *testing.T) {
	f, err := Filter{Before: 7, Limit: 3, Status: "failed"}.Decode()
	if err != nil || f.Before != 7 || f.Limit != 3 || !f.HasStatus || f.Status != protocol.StatusFailed {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := (Filter{Status: "lost"}).Decode(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown status: %v", err)
	}
}

// TestEventOf checks every event kind's type and keys (spec "bindings", events).
func TestEventOf(t *testing.T) {
	for _, tc := range []struct {
		ev   protocol.Event
		want string
	}{
		{&protocol.MessageReceived{Message: protocol.Message{Content: protocol.Text("x"), Status: protocol.StatusReceived}},
			`{"type":"message_received","message":{"id":"` + strings.Repeat("00", 32) + `","group":"` + strings.Repeat("00", 32) +
				`","seq":0,"sender":"","sender_installation":"` + strings.Repeat("00", 16) +
				`","clock":0,"timestamp_ms":0,"received_at_ms":0,"outgoing":false,"status":"received","content":{"type":"text","text":"x"}}}`},
		{&protocol.MembershipChanged{MembersAdded: []string{"0x04aa"}}, `"members_added":["0x04aa"],"members_removed":[],"admins_added":[],"admins_removed":[],"removed":false,"name":"","description":"","color":""`},
		{&protocol.MessageMissing{From: 2, To: 5}, `"key_id":"0000000000000000","from":2,"to":5,"by_history":false`},
		{&protocol.MessageMissing{ByHistory: true}, `"message_id_prefix":"00000000000000000000000000000000","by_history":true`},
		{&protocol.DeliveryStatusChanged{Status: protocol.StatusPublished}, `"type":"delivery_status_changed","group":"` + strings.Repeat("00", 32) + `","message_id":"` + strings.Repeat("00", 32) + `","status":"published"`},
		{&protocol.GroupJoined{Name: "g", Inviter: "0x04bb"}, `"name":"g","inviter":"0x04bb"`},
		{&protocol.InstallationsChanged{CurrentRevoked: true}, `{"type":"installations_changed","added":[],"revoked":[],"current_revoked":true}`},
		{&protocol.AccountLinked{Account: "0x04cc"}, `{"type":"account_linked","account":"0x04cc","by":"` + strings.Repeat("00", 16) + `"}`},
		{&protocol.EventsDropped{Count: 3}, `{"type":"events_dropped","count":3}`},
	} {
		b, err := json.Marshal(EventOf(tc.ev))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%T: %s\nwant it to contain %s", tc.ev, b, tc.want)
		}
	}
}

// FuzzInputs decodes arbitrary bytes as every JSON input of the C ABI: a clear error or a
// value, never a panic; decoded content converts back to what was decoded.
func FuzzInputs(f *testing.F) {
	for _, s := range []string{
		`{"type":"text","text":"hi"}`,
		`{"type":"reaction","target":"` + strings.Repeat("ab", 32) + `","emoji":"x"}`,
		`{"before":3,"limit":2,"status":"received"}`,
		`{"history":true,"delay_ms":5}`,
		`{"peers":["/ip4/127.0.0.1/tcp/1/p2p/x"],"store":true}`,
		`["0x04aa","0x04bb"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Content
		if json.Unmarshal(data, &c) == nil {
			if pc, err := c.Decode(); err == nil {
				back := ContentOf(pc)
				if back.Type != c.Type || back.Text != c.Text || back.Emoji != c.Emoji {
					t.Fatalf("content round trip: %+v -> %+v", c, back)
				}
			}
		}
		var fl Filter
		if json.Unmarshal(data, &fl) == nil {
			if pf, err := fl.Decode(); err == nil && pf.HasStatus != (fl.Status != "") {
				t.Fatalf("filter status: %+v -> %+v", fl, pf)
			}
		}
		var mc MemoryConfig
		_ = json.Unmarshal(data, &mc)
		var wc WakuConfig
		_ = json.Unmarshal(data, &wc)
		var co ClientOptions
		_ = json.Unmarshal(data, &co)
		var members []string
		_ = json.Unmarshal(data, &members)
		var id [16]byte
		_ = DecodeHex(string(data), id[:])
	})
}
