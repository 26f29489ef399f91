package membership_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/spec"
)

// chorusVectors is spec/vectors/membership.json (written by spec/gen/membership).
type chorusVectors struct {
	Rules      string `json:"rules"`
	OrderLabel string `json:"order_label"`
	Actors     []struct {
		Name      string `json:"name"`
		PublicKey string `json:"public_key"`
	} `json:"actors"`
	Cases []struct {
		Name     string `json:"name"`
		Expect   string `json:"expect"`
		ChatID   string `json:"chat_id"`
		Receiver string `json:"receiver"`
		NowMs    int64  `json:"now_ms"`
		Entries  []struct {
			Label  string `json:"label"`
			Author string `json:"author"`
			RawHex string `json:"raw_hex"`
			HHex   string `json:"h_hex"`
		} `json:"entries"`
		MessageHex string `json:"message_hex"`
		State      *struct {
			Creator, Name, Color, Description string
			ImageHex                          string   `json:"image_hex"`
			Members                           []string `json:"members"`
			Admins                            []string `json:"admins"`
			LastClock                         uint64   `json:"last_clock"`
			Applied, Pending                  []string
			Overridden, Heads                 []string
		} `json:"state"`
	} `json:"cases"`
}

func TestChorusVectors(t *testing.T) {
	data, err := spec.Vectors.ReadFile("vectors/membership.json")
	if err != nil {
		t.Fatal(err)
	}
	var v chorusVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no vectors loaded")
	}
	if v.Rules != "chorus" || v.OrderLabel != m.OrderLabel {
		t.Fatalf("rules %q, order label %q", v.Rules, v.OrderLabel)
	}
	keys := map[string]string{}
	for _, a := range v.Actors {
		keys[a.Name] = a.PublicKey
	}
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			msg, err := hex.DecodeString(c.MessageHex)
			if err != nil {
				t.Fatal(err)
			}
			raw := map[string]string{}
			byH := map[string]string{}
			for _, e := range c.Entries {
				raw[e.RawHex] = e.Label
				if e.HHex == "" {
					continue
				}
				b, _ := hex.DecodeString(e.RawHex)
				ev, err := m.ParseMessage(encodeRaw(t, c.ChatID, b))
				if err != nil || ev.Events[0].From != keys[e.Author] {
					t.Fatalf("entry %s: %v", e.Label, err)
				}
				if id := ev.Events[0].ID(); id.String() != e.HHex {
					t.Fatalf("entry %s: H %s, vector %s", e.Label, id, e.HHex)
				}
				byH[e.HHex] = e.Label
			}
			labels := func(evs []m.Event) []string {
				out := []string{}
				for _, e := range evs {
					out = append(out, raw[hex.EncodeToString(e.Raw())])
				}
				return out
			}
			st, _, err := m.Update(nil, msg, keys[c.Receiver], time.UnixMilli(c.NowMs), m.ChorusRules())
			if c.Expect != "success" {
				var re *m.RejectError
				if !errors.As(err, &re) || string(re.Stage) != c.Expect {
					t.Fatalf("got %v, want %s", err, c.Expect)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := c.State
			var heads []string
			for _, h := range st.Heads {
				heads = append(heads, byH[h.String()])
			}
			got := []string{st.Creator, st.Name, st.Color, st.Description, hex.EncodeToString(st.Image),
				strings.Join(st.Members.Strings(), ","), strings.Join(st.Admins, ","), strings.Join(labels(st.Events), ","), strings.Join(labels(st.Pending), ","),
				strings.Join(labels(st.Overridden), ","), strings.Join(heads, ",")}
			want := []string{w.Creator, w.Name, w.Color, w.Description, w.ImageHex,
				strings.Join(w.Members, ","), strings.Join(w.Admins, ","), strings.Join(w.Applied, ","), strings.Join(w.Pending, ","),
				strings.Join(w.Overridden, ","), strings.Join(w.Heads, ",")}
			if !slices.Equal(got, want) || st.LastClock != w.LastClock {
				t.Fatalf("state\n got %q %d\nwant %q %d", got, st.LastClock, want, w.LastClock)
			}
			// The stored state re-derives to itself (Log is the full kept log).
			again, err := m.Derive(c.ChatID, st.Log(), m.ChorusRules())
			if err != nil || !sameState(again, st) {
				t.Fatalf("re-derive differs: %v", err)
			}
		})
	}
}

// sameState compares two states completely (events by their wire bytes).
func sameState(a, b m.State) bool {
	return summary(a) == summary(b)
}

func summary(s m.State) string {
	parts := []string{s.ChatID, s.Creator, s.Name, s.Color, s.Description, hex.EncodeToString(s.Image),
		strings.Join(s.Members.Strings(), ","), strings.Join(s.Admins, ","), strconv.FormatUint(s.LastClock, 10)}
	for _, h := range s.Heads {
		parts = append(parts, h.String())
	}
	for _, list := range [][]m.Event{s.Events, s.Overridden, s.Pending} {
		var raws []string
		for _, e := range list {
			raws = append(raws, hex.EncodeToString(e.Raw()))
		}
		parts = append(parts, "["+strings.Join(raws, ",")+"]")
	}
	return strings.Join(parts, "|")
}
