package membership_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/internal/statussample"
	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
	"github.com/chorus-im/chorus/spec"
)

// fuzzSeeds returns every message of the sample, the extra status cases and the chorus vectors.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, path := range []string{"../spec/status-membership/valid_flows.json", "testdata/status-extra/extra_flows.json"} {
		f, err := statussample.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		cases, err := f.DecodeCases()
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range cases {
			for _, msg := range c.Messages {
				b, _ := hex.DecodeString(msg.Hex)
				seeds = append(seeds, b)
			}
		}
	}
	data, err := spec.Vectors.ReadFile("vectors/membership.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v struct {
		Cases []struct {
			MessageHex string `json:"message_hex"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	for _, c := range v.Cases {
		b, _ := hex.DecodeString(c.MessageHex)
		seeds = append(seeds, b)
	}
	if len(seeds) == 0 {
		tb.Fatal("no fuzz seeds")
	}
	return seeds
}

// FuzzParseMessage: no panic; an error means nothing (nil message, no state); a parsed
// message re-encodes byte for byte, its canonical encoding parses back to the same content,
// and deriving or updating state from it never panics.
func FuzzParseMessage(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	self := actors["bob"].pub
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := m.ParseMessage(b)
		if err != nil {
			if msg != nil {
				t.Fatal("error with a message")
			}
			if st, _, err2 := m.Update(nil, b, self, time.UnixMilli(int64(now)), m.StatusRules()); err2 == nil || st.ChatID != "" || st.Events != nil {
				t.Fatalf("status update accepted a message ParseMessage rejects: %v", err2)
			}
		} else {
			out, err := msg.MarshalBinary()
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("re-encoding differs: %v", err)
			}
			// A freshly built message with the same content encodes canonically and parses back.
			fresh := &m.Message{ChatID: msg.ChatID, Events: msg.Events, ChatMessage: msg.ChatMessage, EmojiReaction: msg.EmojiReaction}
			canon, err := fresh.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			again, err := m.ParseMessage(canon)
			if err != nil || again.ChatID != msg.ChatID || len(again.Events) != len(msg.Events) {
				t.Fatalf("canonical encoding does not parse back: %v", err)
			}
			for i := range msg.Events {
				if !bytes.Equal(again.Events[i].Raw(), msg.Events[i].Raw()) || again.Events[i].From != msg.Events[i].From {
					t.Fatal("event changed through canonical encoding")
				}
				// The members (which share the entry's bytes) are those the payload decodes to.
				var pe pb.MembershipUpdateEvent
				if err := proto.Unmarshal(msg.Events[i].Payload(), &pe); err != nil || !slices.Equal(pe.Members, msg.Events[i].Members.Strings()) {
					t.Fatalf("event %d: members %q, the payload decodes to %q (%v)", i, msg.Events[i].Members, pe.Members, err)
				}
			}
			if again2, _ := (&m.Message{ChatID: again.ChatID, Events: again.Events, ChatMessage: again.ChatMessage, EmojiReaction: again.EmojiReaction}).MarshalBinary(); !bytes.Equal(again2, canon) {
				t.Fatal("canonical encoding is not a fixed point")
			}
			st, err := m.Derive(msg.ChatID, msg.Events, m.StatusRules())
			if err != nil && (st.ChatID != "" || st.Events != nil) {
				t.Fatal("failed Derive returned a state")
			}
		}
		for _, r := range []m.Rules{m.StatusRules(), m.ChorusRules()} {
			st, pm, err := m.Update(nil, b, self, time.UnixMilli(int64(now)), r)
			if err != nil && (pm != nil || st.ChatID != "" || st.Events != nil) {
				t.Fatalf("%s: failed Update returned output", r.Name())
			}
		}
	})
}
